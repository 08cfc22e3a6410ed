//! The caching allocator's bookkeeping: freed buffers kept by length for the next request of
//! that length, so a steady-state training step makes no `cudaMalloc`. When an allocation
//! fails, every cached buffer is released and the allocation tried once more, so memory held
//! for sizes no longer used cannot starve a new one. Generic over the buffer so the policy is
//! tested without a GPU.

use std::collections::BTreeMap;

/// Buffers of type `B` cached by length.
#[derive(Debug)]
pub(crate) struct Cache<B> {
    free: BTreeMap<usize, Vec<B>>,
    /// Elements held in `free`.
    held: usize,
}

impl<B> Default for Cache<B> {
    fn default() -> Self {
        Cache { free: BTreeMap::new(), held: 0 }
    }
}

impl<B> Cache<B> {
    /// A cached buffer of exactly `len` elements, else one from `alloc`; when `alloc` fails,
    /// the cache is emptied (its buffers dropped, which frees them) and `alloc` tried again.
    /// The second failure is returned.
    pub fn take<E>(
        &mut self,
        len: usize,
        mut alloc: impl FnMut(usize) -> Result<B, E>,
    ) -> Result<B, E> {
        if let Some(b) = self.take_cached(len) {
            return Ok(b);
        }
        match alloc(len) {
            Ok(b) => Ok(b),
            Err(_) if self.held > 0 => {
                self.clear();
                alloc(len)
            }
            Err(e) => Err(e),
        }
    }

    /// A cached buffer of exactly `len` elements, if one is held (never allocates).
    pub fn take_cached(&mut self, len: usize) -> Option<B> {
        let b = self.free.get_mut(&len).and_then(Vec::pop)?;
        self.held -= len;
        Some(b)
    }

    /// Removes and returns every cached buffer.
    pub fn drain(&mut self) -> impl Iterator<Item = B> {
        self.held = 0;
        std::mem::take(&mut self.free).into_values().flatten()
    }

    /// Keeps `buf` (of `len` elements) for a later [`Cache::take`].
    pub fn give(&mut self, len: usize, buf: B) {
        self.free.entry(len).or_default().push(buf);
        self.held += len;
    }

    /// Drops every cached buffer.
    pub fn clear(&mut self) {
        self.free.clear();
        self.held = 0;
    }

    /// Elements held by cached buffers.
    pub fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::Cache;
    use std::cell::Cell;
    use std::rc::Rc;

    /// A fake device of `capacity` elements; a buffer returns its elements when dropped.
    struct Fake {
        used: Rc<Cell<usize>>,
        capacity: usize,
    }
    struct Buf(usize, Rc<Cell<usize>>);
    impl Drop for Buf {
        fn drop(&mut self) {
            self.1.set(self.1.get() - self.0);
        }
    }
    impl Fake {
        fn alloc(&self, len: usize) -> Result<Buf, String> {
            if self.used.get() + len > self.capacity {
                return Err(format!("out of memory for {len}"));
            }
            self.used.set(self.used.get() + len);
            Ok(Buf(len, self.used.clone()))
        }
    }

    #[test]
    fn a_cached_buffer_of_the_same_length_is_reused() {
        let dev = Fake { used: Rc::new(Cell::new(0)), capacity: 100 };
        let mut cache = Cache::default();
        let a = cache.take(40, |n| dev.alloc(n)).unwrap();
        cache.give(40, a);
        assert_eq!((cache.held(), dev.used.get()), (40, 40));
        let _b = cache.take(40, |n| dev.alloc(n)).unwrap();
        assert_eq!((cache.held(), dev.used.get()), (0, 40), "no second allocation");
    }

    #[test]
    fn take_cached_never_allocates_and_drain_empties() {
        let dev = Fake { used: Rc::new(Cell::new(0)), capacity: 100 };
        let mut cache = Cache::default();
        assert!(cache.take_cached(10).is_none());
        for len in [10, 10, 20] {
            let b = dev.alloc(len).unwrap();
            cache.give(len, b);
        }
        assert!(cache.take_cached(10).is_some());
        assert!(cache.take_cached(30).is_none());
        assert_eq!(cache.held(), 30);
        assert_eq!(cache.drain().count(), 2);
        assert_eq!((cache.held(), dev.used.get()), (0, 0));
    }

    #[test]
    fn a_failed_allocation_empties_the_cache_and_retries() {
        let dev = Fake { used: Rc::new(Cell::new(0)), capacity: 100 };
        let mut cache = Cache::default();
        // 90 elements cached in sizes the next request does not use.
        for len in [30, 60] {
            let b = cache.take(len, |n| dev.alloc(n)).unwrap();
            cache.give(len, b);
        }
        assert_eq!(dev.used.get(), 90);
        let big = cache.take(80, |n| dev.alloc(n)).expect("retried after emptying the cache");
        assert_eq!((cache.held(), dev.used.get()), (0, 80));
        // Nothing cached to release: the failure is returned.
        let err = cache.take(50, |n| dev.alloc(n)).map(|_| ()).unwrap_err();
        assert_eq!(err, "out of memory for 50");
        drop(big);
        assert!(cache.take(50, |n| dev.alloc(n)).is_ok(), "usable again once memory is free");
    }
}
