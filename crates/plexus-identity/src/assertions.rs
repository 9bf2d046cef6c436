//! Assertions: "these identifiers are one entity", each with where it came from.
//!
//! Every participant of every record asserts its set of identifiers. Millions of records
//! repeat the same few sets (every product event of one user carries the same `user_id`),
//! so sets are interned: each distinct set is stored once, with the earliest record that
//! asserted it as its provenance. Memory is bounded by the identifier graph, not by the
//! number of records. Human rules (merge files, domain aliases) are pair assertions.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use crate::graph::NodeId;

/// A dense id of one distinct identifier set.
pub type SetId = u32;

/// Where a set was first asserted: the record with the smallest `(time, source, key)`, so
/// the provenance does not depend on the order in which records arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    /// Event or observation time (microseconds since the epoch), if the record had one.
    pub time: Option<i64>,
    /// Source index (the order of sources in the project).
    pub source: u32,
    /// The record's key within its source.
    pub key: Arc<str>,
}

impl RecordRef {
    /// The canonical order of provenance: known times first, earliest first, then source,
    /// then key.
    fn sort_key(&self) -> (i64, u32, &str) {
        (self.time.unwrap_or(i64::MAX), self.source, &self.key)
    }
}

/// What kind of human rule asserted a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKind {
    /// A row of a merge file: these identifiers are one.
    Merge,
    /// A company domain alias: `x@old` and `x@new` are one mailbox.
    DomainAlias,
}

impl RuleKind {
    /// The name used in the warehouse (`merge`, `domain_alias`).
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Merge => "merge",
            RuleKind::DomainAlias => "domain_alias",
        }
    }
}

/// A pair asserted by a human rule, with the file and line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePair {
    /// One identifier.
    pub a: NodeId,
    /// The other.
    pub b: NodeId,
    /// Which kind of rule.
    pub kind: RuleKind,
    /// The rule's file (relative to the project).
    pub file: Arc<str>,
    /// Its line.
    pub line: u64,
}

/// Interned identifier sets with their first provenance, plus rule pairs.
#[derive(Debug, Clone, Default)]
pub struct Assertions {
    hasher: foldhash::fast::FixedState,
    /// `(hash, set)`: the hash is kept so that growing the table never rehashes sets.
    table: HashTable<(u64, SetId)>,
    /// All sets' members, concatenated; set `s` is `members[start[s]..start[s + 1]]`.
    members: Vec<NodeId>,
    start: Vec<u32>,
    first: Vec<RecordRef>,
    times: Vec<u32>,
    /// The set holding exactly one identifier, by node (`SetId::MAX`: none yet). Most
    /// records (every product event of one user) name one identifier: an array lookup
    /// instead of hashing a set.
    single: Vec<SetId>,
    scratch: Vec<NodeId>,
    /// Pairs asserted by merge files and domain aliases, in rule order.
    pub rules: Vec<RulePair>,
    /// Pairs that must never be one entity, with the file and line they came from.
    pub never: Vec<RulePair>,
}

impl Assertions {
    /// No assertions.
    pub fn new() -> Self {
        Assertions {
            hasher: foldhash::fast::FixedState::with_seed(0x5e75),
            start: vec![0],
            ..Default::default()
        }
    }

    /// Records that one record (at `time`, from source `source`, with key `key`) asserted
    /// `nodes` (in any order, duplicates allowed) and returns the set's id. `nodes` must not
    /// be empty. The key is only copied when it becomes a set's provenance.
    pub fn assert(&mut self, nodes: &[NodeId], time: Option<i64>, source: u32, key: &str) -> SetId {
        let scratch = &mut self.scratch;
        scratch.clear();
        scratch.extend_from_slice(nodes);
        if scratch.len() > 1 {
            scratch.sort_unstable();
            scratch.dedup();
        }
        let single = scratch.len() == 1;
        let hash = if single {
            0
        } else {
            self.hasher.hash_one(&scratch[..])
        };
        let found = if single {
            self.single
                .get(scratch[0] as usize)
                .copied()
                .filter(|&s| s != SetId::MAX)
        } else {
            let (members, start) = (&self.members, &self.start);
            let slice =
                |s: SetId| &members[start[s as usize] as usize..start[s as usize + 1] as usize];
            self.table
                .find(hash, |&(h, s)| h == hash && slice(s) == &scratch[..])
                .map(|&(_, s)| s)
        };
        if let Some(s) = found {
            let i = s as usize;
            self.times[i] = self.times[i].saturating_add(1);
            let candidate = (time.unwrap_or(i64::MAX), source, key);
            if candidate < self.first[i].sort_key() {
                self.first[i] = RecordRef {
                    time,
                    source,
                    key: Arc::from(key),
                };
            }
            return s;
        }
        let s = self.first.len() as SetId;
        self.members.extend_from_slice(scratch);
        self.start.push(self.members.len() as u32);
        self.first.push(RecordRef {
            time,
            source,
            key: Arc::from(key),
        });
        self.times.push(1);
        if single {
            let i = self.scratch[0] as usize;
            if i >= self.single.len() {
                self.single.resize(i + 1, SetId::MAX);
            }
            self.single[i] = s;
        } else {
            self.table.insert_unique(hash, (hash, s), |&(h, _)| h);
        }
        s
    }

    /// Number of distinct sets.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// True if no set was asserted.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// The members of set `s`, sorted by node id.
    pub fn members(&self, s: SetId) -> &[NodeId] {
        &self.members[self.start[s as usize] as usize..self.start[s as usize + 1] as usize]
    }

    /// The members of every set, concatenated (an identifier appears once per set holding
    /// it).
    pub fn all_members(&self) -> &[NodeId] {
        &self.members
    }

    /// The earliest record that asserted set `s`.
    pub fn first(&self, s: SetId) -> &RecordRef {
        &self.first[s as usize]
    }

    /// How many records asserted set `s`.
    pub fn times(&self, s: SetId) -> u32 {
        self.times[s as usize]
    }

    /// Total number of identifier occurrences across all distinct sets.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: i64, key: &str) -> RecordRef {
        RecordRef {
            time: Some(time),
            source: 0,
            key: key.into(),
        }
    }

    fn assert_at(a: &mut Assertions, nodes: &[NodeId], time: i64, key: &str) -> SetId {
        a.assert(nodes, Some(time), 0, &Arc::from(key))
    }

    #[test]
    fn sets_are_interned_whatever_the_order() {
        let mut a = Assertions::new();
        let s = assert_at(&mut a, &[3, 1, 2], 5, "k5");
        assert_eq!(assert_at(&mut a, &[2, 3, 1, 1], 9, "k9"), s);
        assert_ne!(assert_at(&mut a, &[1, 2], 1, "k1"), s);
        assert_eq!(a.members(s), &[1, 2, 3]);
        assert_eq!(a.times(s), 2);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn provenance_is_the_earliest_record() {
        let mut a = Assertions::new();
        let s = assert_at(&mut a, &[1, 2], 5, "b");
        assert_at(&mut a, &[1, 2], 3, "z");
        assert_at(&mut a, &[1, 2], 3, "a");
        assert_at(&mut a, &[1, 2], 4, "a");
        assert_eq!(a.first(s), &at(3, "a"));
    }
}
