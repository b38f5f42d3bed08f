//! What a process reports about its own use of the machine (workers in their heartbeats, the
//! scheduler for its system page): cumulative CPU time and bytes read and written, from
//! `/proc/self` on Linux (zeros elsewhere). Rates come from the difference of two samples.

use serde::{Deserialize, Serialize};

/// Cumulative counters of this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessUsage {
    /// User plus system CPU time, seconds.
    pub cpu_s: f64,
    /// Bytes read through any file descriptor (sockets, files).
    pub read_bytes: u64,
    /// Bytes written through any file descriptor.
    pub write_bytes: u64,
    /// Of those, bytes read from storage.
    pub disk_read: u64,
    /// Of those, bytes written to storage.
    pub disk_write: u64,
}

impl ProcessUsage {
    /// The counters now.
    #[must_use]
    pub fn sample() -> Self {
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        Self {
            cpu_s: cpu_seconds().unwrap_or(0.0),
            read_bytes: field(&io, "rchar:"),
            write_bytes: field(&io, "wchar:"),
            disk_read: field(&io, "read_bytes:"),
            disk_write: field(&io, "write_bytes:"),
        }
    }

    /// Rates between `earlier` and `self`, `seconds` apart: `(cpu percent of one core, read
    /// bytes/s, write bytes/s, disk read bytes/s, disk write bytes/s)`.
    #[must_use]
    pub fn rates(&self, earlier: &Self, seconds: f64) -> (f64, f64, f64, f64, f64) {
        if seconds <= 0.0 {
            return (0.0, 0.0, 0.0, 0.0, 0.0);
        }
        let per = |now: u64, then: u64| now.saturating_sub(then) as f64 / seconds;
        (
            100.0 * (self.cpu_s - earlier.cpu_s).max(0.0) / seconds,
            per(self.read_bytes, earlier.read_bytes),
            per(self.write_bytes, earlier.write_bytes),
            per(self.disk_read, earlier.disk_read),
            per(self.disk_write, earlier.disk_write),
        )
    }
}

/// The first number after `name` on its line of `text`.
#[must_use]
pub fn field(text: &str, name: &str) -> u64 {
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
    fn samples_read_this_process_and_rates_are_per_second() {
        let mut spin = 0u64;
        for i in 0..2_000_000u64 {
            spin = spin.wrapping_add(i * i);
        }
        let a = ProcessUsage::sample();
        assert!(a.cpu_s >= 0.0 && spin > 0);
        let later = ProcessUsage {
            cpu_s: a.cpu_s + 0.5,
            read_bytes: a.read_bytes + 2000,
            ..a
        };
        let (cpu, read, write, _, _) = later.rates(&a, 2.0);
        assert!((cpu - 25.0).abs() < 1e-9);
        assert!((read - 1000.0).abs() < 1e-9);
        assert_eq!(write, 0.0);
        assert_eq!(field("VmRSS:\t  1234 kB\n", "VmRSS:"), 1234);
    }
}
