//! What the store wrote to disk and read back, kept until the next heartbeat takes it to the
//! scheduler (the task stream shows spilling as `disk-write-*`/`disk-read-*`).

use std::time::Instant;

use oxdask_graph::Key;
use oxdask_protocol::messages::{epoch_us, DiskSpan};
use parking_lot::Mutex;

/// Spans kept between heartbeats at most; later ones are dropped until the log is taken.
const MOST: usize = 10_000;

#[derive(Debug, Default)]
pub(crate) struct DiskLog(Mutex<Vec<DiskSpan>>);

impl DiskLog {
    /// `count` results (`nbytes`, the first `key`) were written (`read`: read back) since
    /// `started`.
    pub(crate) fn note(&self, read: bool, key: &Key, count: u32, nbytes: u64, started: Instant) {
        let mut spans = self.0.lock();
        if spans.len() < MOST {
            spans.push(DiskSpan {
                read,
                key: key.clone(),
                count,
                nbytes,
                duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                stop_us: epoch_us(),
            });
        }
    }

    /// The spans noted since the last call, oldest first.
    pub(crate) fn take(&self) -> Vec<DiskSpan> {
        std::mem::take(&mut *self.0.lock())
    }
}
