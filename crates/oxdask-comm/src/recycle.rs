//! Receive buffers of large frames, recycled.
//!
//! A frame of many megabytes (an array sent between workers or gathered by a client) is read
//! into a buffer of its own, which becomes the received value's memory without a copy. A
//! fresh buffer costs a page fault per page as the socket fills it, the kernel zero-filling
//! each: about as long as the copy from the socket itself. So when every part of a received
//! frame is dropped, its buffer comes back here, and the next large frame of at most its
//! size reuses it.
//!
//! Bounded: at most [`MAX_KEPT`] buffers and a byte limit (see [`set_limit`], which a worker
//! lowers to what is left below its spill threshold); a buffer unused for [`MAX_AGE`] is
//! freed by a janitor thread, so an idle process gives its memory back.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::huge::advise_huge;
use crate::kept::Kept;

/// Frames with bodies at least this large are read into recycled buffers.
pub(crate) const RECYCLE_FROM: usize = 8 << 20;
const MAX_KEPT: usize = 2;
const MAX_AGE: Duration = Duration::from_secs(1);
/// The byte limit until [`set_limit`] says otherwise.
const DEFAULT_LIMIT: usize = 1 << 30;

static POOL: Mutex<Kept<Vec<u8>>> = Mutex::new(Kept::new(DEFAULT_LIMIT, MAX_KEPT, MAX_AGE));
static JANITOR: OnceLock<()> = OnceLock::new();

/// An empty buffer able to hold `need` bytes without waste of more than a quarter: a kept one
/// if any fits, else a new one of `capacity` (at most `need`, rounded up to whole mebibytes;
/// the caller grows it as bytes arrive).
pub(crate) fn take(need: usize, capacity: usize) -> Vec<u8> {
    let found = POOL.lock().take(need);
    match found {
        Some((mut buf, _)) => {
            buf.clear();
            buf
        }
        None => {
            let mut buf = Vec::new();
            grow(&mut buf, rounded(capacity.min(need)));
            buf
        }
    }
}

/// Makes room in `buf` for `capacity` bytes in all, on huge pages (see [`crate::huge`]):
/// growing moves the buffer or extends its mapping, so the new range is advised again.
pub(crate) fn grow(buf: &mut Vec<u8>, capacity: usize) {
    if capacity <= buf.capacity() {
        return;
    }
    buf.reserve_exact(capacity - buf.len());
    advise_huge(buf.as_mut_ptr(), buf.capacity());
}

/// `n` rounded up to whole mebibytes, so that a buffer also fits a slightly larger next frame.
pub(crate) fn rounded(n: usize) -> usize {
    n.div_ceil(1 << 20).saturating_mul(1 << 20)
}

/// A frame body whose buffer returns to the pool when the last part of the frame is dropped.
pub(crate) struct Recycled(pub(crate) Vec<u8>);

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.0);
        let capacity = buf.capacity();
        if capacity < RECYCLE_FROM {
            return;
        }
        // What leaves the pool is freed outside the lock.
        let mut freed = Vec::new();
        let refused = POOL
            .lock()
            .keep(buf, capacity, Instant::now(), |b| freed.push(b))
            .err();
        drop((freed, refused));
        start_janitor();
    }
}

/// The body's bytes, recycled when the last slice of them is dropped.
pub(crate) fn into_bytes(body: Vec<u8>) -> Bytes {
    Bytes::from_owner(Recycled(body))
}

fn start_janitor() {
    JANITOR.get_or_init(|| {
        let spawned = std::thread::Builder::new()
            .name("oxdask-recycle".into())
            .spawn(|| loop {
                std::thread::sleep(MAX_AGE / 2);
                let mut freed = Vec::new();
                POOL.lock().expire(Instant::now(), |b| freed.push(b));
                drop(freed);
            });
        if let Err(e) = spawned {
            tracing::debug!(error = %e, "no janitor thread: kept receive buffers age only on use");
        }
    });
}

/// Bytes of receive buffers kept for reuse.
pub fn recycled_bytes() -> usize {
    POOL.lock().bytes()
}

/// Keeps at most `limit` bytes of receive buffers from now on, freeing the excess now.
pub fn set_limit(limit: usize) {
    let mut freed = Vec::new();
    POOL.lock().set_limit(limit, |b| freed.push(b));
    drop(freed);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test, as the pool is global to the process.
    #[test]
    fn buffers_come_back_when_the_last_part_is_dropped_and_stay_bounded() {
        set_limit(DEFAULT_LIMIT);
        let mut body = take(10 << 20, usize::MAX);
        body.resize(10 << 20, 7);
        let addr = body.as_ptr() as usize;
        let bytes = into_bytes(body);
        let part = bytes.slice(100..200);
        drop(bytes);
        assert_eq!(recycled_bytes(), 0, "a part is still alive");
        drop(part);
        assert!(recycled_bytes() >= 10 << 20);
        let again = take(9 << 20, usize::MAX);
        assert_eq!(again.as_ptr() as usize, addr, "reused");
        assert!(again.is_empty());
        assert_eq!(recycled_bytes(), 0);
        let small = take(2 << 20, usize::MAX);
        assert_ne!(small.as_ptr() as usize, addr);
        drop(into_bytes(again));
        // too small a request for the kept 10 MiB: a new buffer, capacity as asked
        let fresh = take(4 << 20, 1 << 20);
        assert!(fresh.capacity() < 4 << 20);
        assert_eq!(rounded((1 << 20) + 1), 2 << 20);
        // at most MAX_KEPT buffers; a lower limit frees at once
        for _ in 0..3 {
            drop(into_bytes(Vec::with_capacity(RECYCLE_FROM)));
        }
        assert!(recycled_bytes() <= MAX_KEPT * (10 << 20));
        set_limit(0);
        assert_eq!(recycled_bytes(), 0);
        drop(into_bytes(Vec::with_capacity(RECYCLE_FROM)));
        assert_eq!(recycled_bytes(), 0, "over the limit: not kept");
        set_limit(DEFAULT_LIMIT);
    }
}
