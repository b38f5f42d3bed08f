//! Large freed buffers kept for the next allocation of about the same size.
//!
//! A worker runs chunk after chunk of the same shape: each task allocates arrays of the
//! sizes the previous one freed. The C heap gives such blocks (hundreds of kilobytes and up)
//! straight back to the operating system, so every new chunk faults its pages in again and
//! the kernel zero-fills them, which costs a quarter of generating a random chunk. The pool
//! keeps a few freed blocks instead and hands one back when a request fits it.
//!
//! The pool only does bookkeeping on addresses: the caller allocates and frees (see
//! [`crate::numpy_alloc`]). It is bounded by a byte limit and a block count, and forgets
//! blocks unused for [`MAX_AGE`], so an idle worker gives its memory back.

use std::time::{Duration, Instant};

use oxdask_comm::Kept;
use parking_lot::Mutex;

/// Blocks smaller than this are left to the C heap.
pub(crate) const MIN_BLOCK: usize = 256 << 10;
/// At most this many blocks are kept.
const MAX_BLOCKS: usize = 32;
/// A block not reused within this time is freed.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(1);

/// Counters for tests and diagnostics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    pub(crate) blocks: usize,
    pub(crate) bytes: usize,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

/// Kept block addresses (the policy is [`Kept`]'s) and the hit counters.
#[derive(Debug)]
pub(crate) struct Pool {
    inner: Mutex<(Kept<usize>, Stats)>,
}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

impl Pool {
    pub(crate) const fn new() -> Self {
        Self {
            inner: Mutex::new((
                Kept::new(0, MAX_BLOCKS, MAX_AGE),
                Stats {
                    blocks: 0,
                    bytes: 0,
                    hits: 0,
                    misses: 0,
                },
            )),
        }
    }

    /// Keeps at most `limit` bytes from now on; blocks beyond it go to `free`.
    pub(crate) fn set_limit(&self, limit: usize, free: impl Fn(usize)) {
        let mut inner = self.inner.lock();
        inner.0.reserve(); // keeping never allocates afterwards (it runs inside the allocator)
        inner.0.set_limit(limit, free);
    }

    /// A kept block able to hold `size` bytes without wasting more than a quarter of it:
    /// the smallest such one. Counts a hit or a miss.
    pub(crate) fn take(&self, size: usize) -> Option<usize> {
        if size < MIN_BLOCK {
            return None;
        }
        let mut inner = self.inner.lock();
        let found = inner.0.take(size).map(|(addr, _)| addr);
        if found.is_some() {
            inner.1.hits += 1;
        } else {
            inner.1.misses += 1;
        }
        found
    }

    /// Keeps the freed block `addr` of `capacity` bytes, making room by freeing the oldest
    /// and the expired ones (through `free`). Returns false when the block is not kept (too
    /// small, or larger than the limit): the caller frees it.
    pub(crate) fn keep(
        &self,
        addr: usize,
        capacity: usize,
        now: Instant,
        free: impl Fn(usize),
    ) -> bool {
        capacity >= MIN_BLOCK && self.inner.lock().0.keep(addr, capacity, now, free).is_ok()
    }

    /// Frees every kept block.
    pub(crate) fn drain(&self, free: impl Fn(usize)) {
        self.inner.lock().0.drain(free);
    }

    /// Bytes kept.
    pub(crate) fn bytes(&self) -> usize {
        self.inner.lock().0.bytes()
    }

    pub(crate) fn stats(&self) -> Stats {
        let inner = self.inner.lock();
        Stats {
            blocks: inner.0.len(),
            bytes: inner.0.bytes(),
            ..inner.1
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    const MB: usize = 1 << 20;

    fn pool(limit: usize) -> (Pool, RefCell<Vec<usize>>) {
        let p = Pool::default();
        p.set_limit(limit, |_| {});
        (p, RefCell::new(Vec::new()))
    }

    #[test]
    fn a_freed_block_serves_the_next_request_it_fits() {
        let (p, freed) = pool(100 * MB);
        let now = Instant::now();
        let free = |a| freed.borrow_mut().push(a);
        assert!(p.keep(1, 50 * MB, now, free));
        assert!(p.keep(2, 10 * MB, now, free));
        assert_eq!(p.take(10 * MB - 100), Some(2), "the smallest that fits");
        assert_eq!(
            p.take(30 * MB),
            None,
            "50 MB would waste more than a quarter"
        );
        assert_eq!(p.take(60 * MB), None, "too small");
        assert_eq!(p.take(45 * MB), Some(1));
        assert_eq!(p.bytes(), 0);
        let s = p.stats();
        assert_eq!((s.hits, s.misses, s.blocks), (2, 2, 0));
        assert!(freed.borrow().is_empty());
    }

    #[test]
    fn small_blocks_and_blocks_over_the_limit_are_not_kept() {
        let (p, _) = pool(20 * MB);
        let now = Instant::now();
        assert!(!p.keep(1, MIN_BLOCK - 1, now, |_| {}));
        assert!(!p.keep(2, 21 * MB, now, |_| {}));
        assert_eq!(p.take(MIN_BLOCK - 1), None);
        assert_eq!(p.stats().misses, 0, "small requests are not the pool's");
    }

    #[test]
    fn the_oldest_blocks_make_room_and_old_ones_expire() {
        let (p, freed) = pool(20 * MB);
        let t0 = Instant::now();
        let free = |a| freed.borrow_mut().push(a);
        assert!(p.keep(1, 8 * MB, t0, free));
        assert!(p.keep(2, 8 * MB, t0 + Duration::from_millis(1), free));
        assert!(p.keep(3, 8 * MB, t0 + Duration::from_millis(2), free));
        assert_eq!(*freed.borrow(), vec![1], "the oldest made room");
        assert_eq!(p.bytes(), 16 * MB);
        let later = t0 + MAX_AGE + Duration::from_millis(2);
        assert!(p.keep(4, MB, later, free));
        assert_eq!(*freed.borrow(), vec![1, 2], "kept past MAX_AGE: freed");
        p.drain(free);
        assert_eq!(freed.borrow()[2..].len(), 2);
        assert_eq!(p.bytes(), 0);
    }

    #[test]
    fn the_block_count_is_bounded_and_a_lower_limit_frees_at_once() {
        let (p, freed) = pool(1 << 40);
        let now = Instant::now();
        let free = |a| freed.borrow_mut().push(a);
        for a in 0..MAX_BLOCKS + 3 {
            assert!(p.keep(a, MB, now + Duration::from_micros(a as u64), free));
        }
        assert_eq!(p.stats().blocks, MAX_BLOCKS);
        assert_eq!(*freed.borrow(), vec![0, 1, 2]);
        p.set_limit(4 * MB, free);
        assert_eq!(p.bytes(), 4 * MB);
        assert_eq!(freed.borrow().len(), MAX_BLOCKS + 3 - 4);
    }
}
