//! Byte buffers that the reader thread fills with runs of a file and that go back to their
//! pool when the worker that parsed the run drops them.
//!
//! A run is tens of megabytes. Allocated afresh for each run, its memory came straight from
//! the operating system, which zeroes every page on first touch: page faults were a quarter
//! of those of a 1,000,000-call Segment build (`perf record -e page-faults`) and the reader
//! thread spent half its time in them. Reused, a buffer is touched once per file.
//!
//! The pool lives as long as the reading of one file: a buffer dropped after its pool is
//! gone is simply freed, so no memory stays held once a file is read.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, Weak};

/// Buffers kept for reuse at most: about the runs in flight at once (the build's
/// `IN_FLIGHT` batches and one per worker); more would only hold memory.
const KEEP: usize = 8;

/// A stack of emptied buffers, owned by the code that reads one file.
#[derive(Debug, Default)]
pub(crate) struct BufferPool(Arc<Mutex<Vec<Vec<u8>>>>);

impl BufferPool {
    /// An empty buffer: a returned one (with its capacity) if there is one, else new.
    pub(crate) fn take(&self) -> PooledBytes {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_default();
        PooledBytes {
            bytes,
            pool: Arc::downgrade(&self.0),
        }
    }

    /// Buffers waiting for reuse (tests).
    #[cfg(test)]
    fn kept(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// A buffer of a [`BufferPool`]: a `Vec<u8>` that goes back to the pool, emptied, when
/// dropped (or is freed, if the pool is gone).
pub(crate) struct PooledBytes {
    bytes: Vec<u8>,
    pool: Weak<Mutex<Vec<Vec<u8>>>>,
}

impl std::fmt::Debug for PooledBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBytes")
            .field("len", &self.bytes.len())
            .field("capacity", &self.bytes.capacity())
            .finish()
    }
}

impl Deref for PooledBytes {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.bytes
    }
}

impl DerefMut for PooledBytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }
}

impl Drop for PooledBytes {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.bytes);
        let Some(pool) = self.pool.upgrade() else {
            return;
        };
        if bytes.capacity() == 0 {
            return;
        }
        bytes.clear();
        let mut kept = pool.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < KEEP {
            kept.push(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_buffer_comes_back_empty_with_its_capacity() {
        let pool = BufferPool::default();
        let mut a = pool.take();
        a.extend_from_slice(&[1; 1000]);
        let capacity = a.capacity();
        drop(a);
        assert_eq!(pool.kept(), 1);
        let b = pool.take();
        assert!(b.is_empty());
        assert_eq!(b.capacity(), capacity);
        assert_eq!(pool.kept(), 0);
    }

    #[test]
    fn the_pool_keeps_at_most_a_few_buffers_and_no_empty_ones() {
        let pool = BufferPool::default();
        let never_filled = pool.take();
        drop(never_filled);
        assert_eq!(pool.kept(), 0);
        let held: Vec<PooledBytes> = (0..KEEP + 3)
            .map(|_| {
                let mut b = pool.take();
                b.push(7);
                b
            })
            .collect();
        drop(held);
        assert_eq!(pool.kept(), KEEP);
    }

    #[test]
    fn a_buffer_outliving_its_pool_is_freed() {
        let pool = BufferPool::default();
        let mut a = pool.take();
        a.push(1);
        drop(pool);
        drop(a);
    }
}
