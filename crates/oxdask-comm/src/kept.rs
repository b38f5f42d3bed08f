//! Freed buffers kept for the next request of about their size: the policy shared by the
//! receive buffers of large frames (`recycle`) and a worker's NumPy allocator.
//!
//! A request takes the smallest kept buffer that holds it without wasting more than a
//! quarter; what is kept is bounded by a byte limit and a count, the oldest leaving first, and
//! a buffer unused for the given age leaves at the next call. Buffers that leave go to the
//! caller's `evict`, which frees them (or collects them to free outside a lock). The caller
//! holds the lock; nothing here allocates once [`Kept::reserve`] has run, so a memory
//! allocator's own hooks may use it.

use std::time::{Duration, Instant};

/// Kept buffers of type `T` (an owned buffer, or the address of a block).
#[derive(Debug)]
pub struct Kept<T> {
    items: Vec<Entry<T>>,
    bytes: usize,
    limit: usize,
    max_items: usize,
    max_age: Duration,
}

#[derive(Debug)]
struct Entry<T> {
    item: T,
    capacity: usize,
    freed: Instant,
}

impl<T> Kept<T> {
    /// Nothing kept yet; at most `limit` bytes in at most `max_items` buffers, each for at
    /// most `max_age`.
    pub const fn new(limit: usize, max_items: usize, max_age: Duration) -> Self {
        Self {
            items: Vec::new(),
            bytes: 0,
            limit,
            max_items,
            max_age,
        }
    }

    /// Makes room for `max_items` entries now, so that keeping never allocates.
    pub fn reserve(&mut self) {
        self.items
            .reserve_exact(self.max_items.saturating_sub(self.items.len()));
    }

    /// The smallest kept buffer of at least `need` bytes and at most a quarter more, and its
    /// capacity.
    pub fn take(&mut self, need: usize) -> Option<(T, usize)> {
        let most = need.saturating_add(need / 4);
        let best = (0..self.items.len())
            .filter(|&i| (need..=most).contains(&self.items[i].capacity))
            .min_by_key(|&i| self.items[i].capacity)?;
        let entry = self.remove(best);
        Some((entry.item, entry.capacity))
    }

    /// Keeps `item` of `capacity` bytes, freed at `now`, making room by evicting the expired
    /// and then the oldest buffers. `Err(item)` when it is larger than the limit by itself.
    pub fn keep(
        &mut self,
        item: T,
        capacity: usize,
        now: Instant,
        mut evict: impl FnMut(T),
    ) -> Result<(), T> {
        if capacity > self.limit || self.max_items == 0 {
            return Err(item);
        }
        self.expire(now, &mut evict);
        while self.bytes + capacity > self.limit || self.items.len() >= self.max_items {
            self.evict_oldest(&mut evict);
        }
        self.items.push(Entry {
            item,
            capacity,
            freed: now,
        });
        self.bytes += capacity;
        Ok(())
    }

    /// Evicts the buffers unused for longer than the age limit.
    pub fn expire(&mut self, now: Instant, mut evict: impl FnMut(T)) {
        let mut i = 0;
        while i < self.items.len() {
            if now.saturating_duration_since(self.items[i].freed) > self.max_age {
                evict(self.remove(i).item);
            } else {
                i += 1;
            }
        }
    }

    /// Keeps at most `limit` bytes from now on, evicting the oldest beyond it now.
    pub fn set_limit(&mut self, limit: usize, mut evict: impl FnMut(T)) {
        self.limit = limit;
        while self.bytes > limit {
            self.evict_oldest(&mut evict);
        }
    }

    /// Evicts everything.
    pub fn drain(&mut self, mut evict: impl FnMut(T)) {
        self.bytes = 0;
        for entry in self.items.drain(..) {
            evict(entry.item);
        }
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Buffers kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn remove(&mut self, i: usize) -> Entry<T> {
        let entry = self.items.swap_remove(i);
        self.bytes -= entry.capacity;
        entry
    }

    fn evict_oldest(&mut self, evict: &mut impl FnMut(T)) {
        let oldest = (0..self.items.len()).min_by_key(|&i| self.items[i].freed);
        match oldest {
            Some(i) => evict(self.remove(i).item),
            None => self.bytes = 0, // nothing left: only reached with a zero limit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;
    const AGE: Duration = Duration::from_secs(1);

    #[test]
    fn the_smallest_buffer_that_fits_without_much_waste_is_taken() {
        let mut k = Kept::new(100 * MB, 8, AGE);
        let now = Instant::now();
        assert!(k.keep("a", 50 * MB, now, |_| {}).is_ok());
        assert!(k.keep("b", 10 * MB, now, |_| {}).is_ok());
        assert_eq!(k.take(10 * MB - 100), Some(("b", 10 * MB)));
        assert_eq!(
            k.take(30 * MB),
            None,
            "50 MB would waste more than a quarter"
        );
        assert_eq!(k.take(60 * MB), None, "too small");
        assert_eq!(k.take(45 * MB), Some(("a", 50 * MB)));
        assert_eq!((k.bytes(), k.len()), (0, 0));
    }

    #[test]
    fn limits_evict_the_oldest_and_age_evicts_the_unused() {
        let mut evicted = Vec::new();
        let mut k = Kept::new(20 * MB, 3, AGE);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(
            k.keep(0, 21 * MB, t0, |_| {}),
            Err(0),
            "over the limit by itself"
        );
        for i in 1..=3 {
            assert!(k.keep(i, 8 * MB, at(i), |x| evicted.push(x)).is_ok());
        }
        assert_eq!(evicted, vec![1], "bytes: the oldest made room");
        assert!(k.keep(4, MB, at(4), |x| evicted.push(x)).is_ok());
        assert!(k.keep(5, MB, at(5), |x| evicted.push(x)).is_ok());
        assert_eq!(evicted, vec![1, 2], "count: the oldest made room");
        k.expire(at(4) + AGE + Duration::from_millis(1), |x| evicted.push(x));
        assert_eq!(evicted.len(), 4, "3 and 4 expired");
        k.set_limit(0, |x| evicted.push(x));
        assert_eq!((k.bytes(), evicted.len()), (0, 5));
        assert!(k.is_empty());
    }
}
