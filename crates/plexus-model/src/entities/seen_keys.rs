//! The row keys a source has loaded, to reject duplicates with where the key was first
//! seen.
//!
//! Every row of a source passes through [`SeenKeys::first_or_insert`] once, so this table
//! is on the load's hot path: on two cores a general-purpose hash table spent most of its
//! time waiting on two cache misses per row (its control bytes, then its 32-byte entries)
//! and on the first touch of its pages. Here a slot is one `u128` (the key hash's top 88
//! bits and the row's ordinal), probed linearly in place, so a row costs one cache line,
//! and the table is half the size at a higher load. Where each key was first seen lives
//! beside it, in the order rows loaded, written one after the other.

use std::hash::BuildHasher;

/// Bits of a slot holding the loaded row's ordinal plus one (0 marks an empty slot).
const ORDINAL_BITS: u32 = 40;
/// The most rows one source can load: ordinals must fit in [`ORDINAL_BITS`].
pub(super) const MAX_KEYS: u64 = (1 << ORDINAL_BITS) - 2;
/// Slots kept per key at most before the table doubles (a load of at most 4/5).
const GROW_AT_LOAD: (usize, usize) = (4, 5);
/// Slots reserved per key hinted (a load of 2/3 when the hint is right).
const SLOTS_PER_HINTED_KEY: (usize, usize) = (3, 2);

/// Row keys loaded so far, each by the top 88 bits of its 128-bit hash, and where each
/// was first seen.
///
/// Two keys are taken as equal when those 88 bits are: among a billion keys the chance
/// that two distinct ones are is about 10^-9.
#[derive(Debug)]
pub(super) struct SeenKeys {
    /// Open addressing with linear probing; 0 is empty, otherwise `tag << 40 | ordinal + 1`.
    slots: Vec<u128>,
    len: u64,
    /// Picks a key's first slot with a per-build seed, so that keys crafted to share
    /// slots cannot make loading quadratic.
    seed: foldhash::fast::RandomState,
    /// The line each loaded row starts on, by ordinal.
    lines: Vec<u64>,
    /// Runs of ordinals from the same file: (first ordinal, file index), in order.
    files: Vec<(u64, u32)>,
}

/// Where a key was first loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FirstSeen {
    /// The caller's file index passed to [`SeenKeys::first_or_insert`].
    pub file: u32,
    /// The line.
    pub line: u64,
}

/// A key's place in the table: found, or the empty slot it goes to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Probe {
    /// Loaded before.
    Seen(FirstSeen),
    /// Not loaded yet: pass this to [`SeenKeys::insert`] if the row loads.
    Vacant(Vacant),
}

/// An empty slot found for a key (valid until the table changes).
#[derive(Debug, Clone, Copy)]
pub(super) struct Vacant {
    slot: usize,
    tag: u128,
}

impl SeenKeys {
    /// A table with room for about `hint` keys before it grows; slots are zeroed pages
    /// the kernel only backs once a key lands on them.
    pub fn with_hint(hint: usize) -> SeenKeys {
        let slots = (hint.saturating_mul(SLOTS_PER_HINTED_KEY.0) / SLOTS_PER_HINTED_KEY.1).max(16);
        SeenKeys {
            slots: vec![0; slots],
            len: 0,
            seed: foldhash::fast::RandomState::default(),
            lines: Vec::with_capacity(hint),
            files: Vec::new(),
        }
    }

    /// Keys loaded.
    #[cfg(test)]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Finds the key of 128-bit hash `hash`: where it was first seen, or the slot it goes
    /// to.
    pub fn probe(&self, hash: u128) -> Probe {
        let tag = hash >> ORDINAL_BITS;
        let mut slot = self.home(tag);
        loop {
            let s = self.slots[slot];
            if s == 0 {
                return Probe::Vacant(Vacant { slot, tag });
            }
            if s >> ORDINAL_BITS == tag {
                let ordinal = (s & ((1 << ORDINAL_BITS) - 1)) as u64 - 1;
                return Probe::Seen(self.first_seen(ordinal));
            }
            slot += 1;
            if slot == self.slots.len() {
                slot = 0;
            }
        }
    }

    /// Reads the first slot of each key hash, so that the probes that follow find their
    /// lines in the cache: these reads do not depend on one another, so the processor
    /// waits for many of them at once instead of one per row.
    pub fn load_ahead(&self, hashes: impl Iterator<Item = u128>) {
        let mut any = 0u128;
        for hash in hashes {
            any |= self.slots[self.home(hash >> ORDINAL_BITS)];
        }
        std::hint::black_box(any);
    }

    /// Whether the table holds [`MAX_KEYS`] keys: no other can be inserted.
    pub fn is_full(&self) -> bool {
        self.len >= MAX_KEYS
    }

    /// Records a key at the slot [`SeenKeys::probe`] found, first seen in `file` at
    /// `line`. The table must not be full ([`SeenKeys::is_full`]).
    pub fn insert(&mut self, at: Vacant, file: u32, line: u64) {
        debug_assert!(!self.is_full(), "{MAX_KEYS} keys at most");
        let ordinal = self.len;
        self.slots[at.slot] = at.tag << ORDINAL_BITS | u128::from(ordinal + 1);
        self.len += 1;
        self.lines.push(line);
        if self.files.last().is_none_or(|&(_, f)| f != file) {
            self.files.push((ordinal, file));
        }
        if self.len as usize * GROW_AT_LOAD.1 > self.slots.len() * GROW_AT_LOAD.0 {
            self.grow();
        }
    }

    /// The first slot a tag is looked for in (multiply-shift onto the table's size, so
    /// any size works).
    fn home(&self, tag: u128) -> usize {
        let h = self.seed.hash_one(tag);
        ((u128::from(h) * self.slots.len() as u128) >> 64) as usize
    }

    fn first_seen(&self, ordinal: u64) -> FirstSeen {
        let run = self.files.partition_point(|&(first, _)| first <= ordinal);
        FirstSeen {
            file: self.files[run.saturating_sub(1)].1,
            line: self.lines[ordinal as usize],
        }
    }

    /// Doubles the table, placing every key again.
    fn grow(&mut self) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        for s in old.into_iter().filter(|&s| s != 0) {
            let mut slot = self.home(s >> ORDINAL_BITS);
            while self.slots[slot] != 0 {
                slot += 1;
                if slot == self.slots.len() {
                    slot = 0;
                }
            }
            self.slots[slot] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(key: &str) -> u128 {
        xxhash_rust::xxh3::xxh3_128(key.as_bytes())
    }

    /// Loads `keys` in order (file `key.len() % 3`, line = position + 2): the first
    /// place of each, or `None` for keys loaded there.
    fn load(table: &mut SeenKeys, keys: &[String]) -> Vec<Option<FirstSeen>> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| match table.probe(hash(k)) {
                Probe::Seen(first) => Some(first),
                Probe::Vacant(at) => {
                    table.insert(at, (k.len() % 3) as u32, i as u64 + 2);
                    None
                }
            })
            .collect()
    }

    #[test]
    fn finds_duplicates_with_where_they_were_first_seen() {
        let mut table = SeenKeys::with_hint(4);
        let keys: Vec<String> = ["a", "bb", "a", "ccc", "bb", "a"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let found = load(&mut table, &keys);
        let at = |file, line| Some(FirstSeen { file, line });
        assert_eq!(found, vec![None, None, at(1, 2), None, at(2, 3), at(1, 2)]);
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn grows_past_its_hint_and_keeps_every_key() {
        // Hinted at 10 keys, given 100,000: the table doubles many times.
        let mut table = SeenKeys::with_hint(10);
        let keys: Vec<String> = (0..100_000).map(|i| format!("order-{i}")).collect();
        assert!(load(&mut table, &keys).iter().all(Option::is_none));
        assert_eq!(table.len(), 100_000);
        let again = load(&mut table, &keys);
        for (i, first) in again.iter().enumerate() {
            let key = &keys[i];
            assert_eq!(
                *first,
                Some(FirstSeen {
                    file: (key.len() % 3) as u32,
                    line: i as u64 + 2
                }),
                "{key}"
            );
        }
        assert_eq!(table.len(), 100_000);
    }

    #[test]
    fn an_empty_hint_still_works() {
        let mut table = SeenKeys::with_hint(0);
        let keys: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        assert!(load(&mut table, &keys).iter().all(Option::is_none));
        assert_eq!(
            load(&mut table, &keys[..1]),
            vec![Some(FirstSeen { file: 1, line: 2 })]
        );
    }
}
