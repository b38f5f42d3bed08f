//! The scheduler process's own use of the machine (`/json/system`), read from `/proc/self`
//! (Linux; zeros elsewhere).

use std::time::Instant;

use oxdask_protocol::{proc_field, ProcessUsage};
use serde_json::{json, Value};

/// CPU is a rate: the sampler keeps the previous reading.
#[derive(Debug)]
pub(crate) struct SystemSampler {
    started: Instant,
    last: Option<(Instant, ProcessUsage)>,
}

impl SystemSampler {
    pub(crate) fn new(started: Instant) -> Self {
        Self {
            started,
            last: None,
        }
    }

    /// `{"now", "cpu" (percent of one core since the last sample), "rss", "fds", "read_bytes",
    /// "write_bytes"}`.
    pub(crate) fn sample(&mut self) -> Value {
        let now = Instant::now();
        let usage = ProcessUsage::sample();
        let cpu = match self.last {
            Some((then, earlier)) => {
                let seconds = now.duration_since(then).as_secs_f64();
                usage.rates(&earlier, seconds).0
            }
            None => 0.0,
        };
        self.last = Some((now, usage));
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        json!({
            "now": now.duration_since(self.started).as_secs_f64(),
            "cpu": cpu,
            "rss": proc_field(&status, "VmRSS:") * 1024,
            "fds": std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count),
            "read_bytes": usage.read_bytes,
            "write_bytes": usage.write_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_reads_this_process() {
        let mut s = SystemSampler::new(Instant::now());
        let v = s.sample();
        assert!(v["rss"].as_u64().unwrap_or(0) > 0);
        assert!(v["fds"].as_u64().unwrap_or(0) > 0);
    }
}
