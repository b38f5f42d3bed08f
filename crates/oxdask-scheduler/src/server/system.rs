//! The scheduler process's own use of the machine (`/json/system`), read from `/proc/self`
//! (Linux; zeros elsewhere).

use std::time::Instant;

use serde_json::{json, Value};

/// CPU is a rate: the sampler keeps the previous reading.
#[derive(Debug)]
pub(crate) struct SystemSampler {
    started: Instant,
    last: Option<(Instant, f64)>,
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
        let cpu_s = cpu_seconds().unwrap_or(0.0);
        let cpu = match self.last {
            Some((then, used)) if now > then => {
                100.0 * (cpu_s - used).max(0.0) / now.duration_since(then).as_secs_f64()
            }
            _ => 0.0,
        };
        self.last = Some((now, cpu_s));
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        json!({
            "now": now.duration_since(self.started).as_secs_f64(),
            "cpu": cpu,
            "rss": field(&std::fs::read_to_string("/proc/self/status").unwrap_or_default(), "VmRSS:") * 1024,
            "fds": std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count),
            "read_bytes": field(&io, "rchar:"),
            "write_bytes": field(&io, "wchar:"),
        })
    }
}

/// The first number after `name` on its line.
fn field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// User plus system CPU time of this process, in seconds (clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
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
        assert_eq!(field("VmRSS:\t  1234 kB\n", "VmRSS:"), 1234);
    }
}
