//! The identity graph: interned identifiers as nodes, assertions as union-find links.
//!
//! Identifiers are interned once into dense `u32` node ids, so the hot loop (linking the
//! identifiers of one participant) never hashes a string twice. Entities are the exact
//! connected components: no depth cap, and the result does not depend on the order in which
//! identifiers and links arrive (see the property tests).

use std::cmp::Ordering;
use std::hash::BuildHasher;

use hashbrown::HashTable;

/// A dense id of one interned identifier.
pub type NodeId = u32;

/// "Never seen at a known time" for `first_seen`.
const UNSEEN_FIRST: i64 = i64::MAX;
/// "Never seen at a known time" for `last_seen`.
const UNSEEN_LAST: i64 = i64::MIN;

/// Hashes identifiers for the graph's table: fixed, so that any thread can hash an
/// identifier before it reaches the graph (see [`identifier_hash`]).
const HASHER: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x005e_ed1d);

/// The hash the graph files identifier (`type_id`, `value`) under: the same on every
/// thread, so that the threads preparing a batch can hash its identifiers and the thread
/// building the graph need not ([`IdentityGraph::intern_hashed`]).
pub fn identifier_hash(type_id: u16, value: &str) -> u64 {
    HASHER.hash_one((type_id, value))
}

/// Interned identifiers of typed values, with first/last-seen times and a union-find forest.
#[derive(Debug, Clone)]
pub struct IdentityGraph {
    /// `(hash, node)`: the hash is kept so that growing the table never rehashes strings.
    table: HashTable<(u64, NodeId)>,
    type_names: Vec<String>,
    node_type: Vec<u16>,
    node_value: Vec<Box<str>>,
    first_seen: Vec<i64>,
    last_seen: Vec<i64>,
    observations: Vec<u32>,
    demoted: Vec<bool>,
    parent: Vec<NodeId>,
    rank: Vec<u8>,
    type_priority: Vec<String>,
    links: u64,
}

impl Default for IdentityGraph {
    fn default() -> Self {
        Self::new()
    }
}

impl IdentityGraph {
    /// An empty graph with the default type priority (`user_id`, `email`, `phone`, then the
    /// other types by name) for choosing anchors.
    pub fn new() -> Self {
        Self {
            table: HashTable::new(),
            type_names: Vec::new(),
            node_type: Vec::new(),
            node_value: Vec::new(),
            first_seen: Vec::new(),
            last_seen: Vec::new(),
            observations: Vec::new(),
            demoted: Vec::new(),
            parent: Vec::new(),
            rank: Vec::new(),
            type_priority: vec!["user_id".into(), "email".into(), "phone".into()],
            links: 0,
        }
    }

    /// Sets the identifier types that win anchor ties, most preferred first.
    pub fn set_type_priority(&mut self, types: Vec<String>) {
        self.type_priority = types;
    }

    /// The id of identifier type `name`, creating it if new.
    pub fn type_id(&mut self, name: &str) -> u16 {
        match self.type_names.iter().position(|t| t == name) {
            Some(i) => i as u16,
            None => {
                self.type_names.push(name.to_string());
                (self.type_names.len() - 1) as u16
            }
        }
    }

    /// The node of identifier (`type_id`, `value`), creating it if new. `value` must be
    /// normalised already.
    pub fn intern(&mut self, type_id: u16, value: &str) -> NodeId {
        self.intern_hashed(type_id, value, identifier_hash(type_id, value))
    }

    /// [`IdentityGraph::intern`] of an identifier whose [`identifier_hash`] is `hash`.
    pub fn intern_hashed(&mut self, type_id: u16, value: &str, hash: u64) -> NodeId {
        debug_assert_eq!(hash, identifier_hash(type_id, value));
        if let Some(id) = self.node_of(type_id, value, hash) {
            return id;
        }
        let id = self.node_type.len() as NodeId;
        self.node_type.push(type_id);
        self.node_value.push(value.into());
        self.first_seen.push(UNSEEN_FIRST);
        self.last_seen.push(UNSEEN_LAST);
        self.observations.push(0);
        self.demoted.push(false);
        self.parent.push(id);
        self.rank.push(0);
        self.table.insert_unique(hash, (hash, id), |&(h, _)| h);
        id
    }

    /// The node of an identifier if it exists.
    pub fn lookup(&self, type_name: &str, value: &str) -> Option<NodeId> {
        let type_id = self.type_names.iter().position(|t| t == type_name)? as u16;
        self.node_of(type_id, value, identifier_hash(type_id, value))
    }

    /// Looks up identifiers about to be interned, each with its [`identifier_hash`], so
    /// that the cache misses of their lookups overlap, where
    /// [`IdentityGraph::intern_hashed`] one at a time waits for each before the next.
    pub fn load_ahead<'a>(&self, identifiers: impl Iterator<Item = (u16, &'a str, u64)>) {
        let mut found = 0;
        for (type_id, value, hash) in identifiers {
            found += usize::from(self.node_of(type_id, value, hash).is_some());
        }
        std::hint::black_box(found);
    }

    fn node_of(&self, type_id: u16, value: &str, hash: u64) -> Option<NodeId> {
        let (types, values) = (&self.node_type, &self.node_value);
        self.table
            .find(hash, |&(h, id)| {
                h == hash && types[id as usize] == type_id && &*values[id as usize] == value
            })
            .map(|&(_, id)| id)
    }

    /// Records that `node` was asserted by a record at `time` (microseconds since the epoch),
    /// or at an unknown time.
    pub fn observe(&mut self, node: NodeId, time: Option<i64>) {
        let n = node as usize;
        self.observations[n] = self.observations[n].saturating_add(1);
        if let Some(t) = time {
            self.first_seen[n] = self.first_seen[n].min(t);
            self.last_seen[n] = self.last_seen[n].max(t);
        }
    }

    /// Marks `node` as a poor anchor (e.g. the old side of a domain alias), so another
    /// identifier of its entity names the entity.
    pub fn demote(&mut self, node: NodeId) {
        self.demoted[node as usize] = true;
    }

    /// Asserts that `a` and `b` are one entity.
    pub fn link(&mut self, a: NodeId, b: NodeId) {
        self.links += 1;
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (ra_rank, rb_rank) = (self.rank[ra as usize], self.rank[rb as usize]);
        match ra_rank.cmp(&rb_rank) {
            Ordering::Less => self.parent[ra as usize] = rb,
            Ordering::Greater => self.parent[rb as usize] = ra,
            Ordering::Equal => {
                self.parent[rb as usize] = ra;
                self.rank[ra as usize] += 1;
            }
        }
    }

    /// The representative of `node`'s set (path halving; iterative, so any depth is fine).
    pub fn find(&mut self, mut node: NodeId) -> NodeId {
        while self.parent[node as usize] != node {
            let grand = self.parent[self.parent[node as usize] as usize];
            self.parent[node as usize] = grand;
            node = grand;
        }
        node
    }

    /// Number of interned identifiers.
    pub fn len(&self) -> usize {
        self.node_type.len()
    }

    /// True if nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.node_type.is_empty()
    }

    /// Number of `link` calls so far.
    pub fn link_count(&self) -> u64 {
        self.links
    }

    /// The rank of each type's name in name order, by type number: sorting nodes by the
    /// rank of their type sorts them by type name, without comparing text.
    pub fn name_ranks(&self) -> Vec<u16> {
        let mut by_name: Vec<usize> = (0..self.type_names.len()).collect();
        by_name.sort_by(|&a, &b| self.type_names[a].cmp(&self.type_names[b]));
        let mut ranks = vec![0u16; by_name.len()];
        for (rank, &t) in by_name.iter().enumerate() {
            ranks[t] = rank as u16;
        }
        ranks
    }

    /// The type number of `node`: its name is `type_names()[type_of(node)]`.
    pub fn type_of(&self, node: NodeId) -> u16 {
        self.node_type[node as usize]
    }

    /// The type name of `node`.
    pub fn type_name(&self, node: NodeId) -> &str {
        &self.type_names[self.node_type[node as usize] as usize]
    }

    /// The normalised value of `node`.
    pub fn value(&self, node: NodeId) -> &str {
        &self.node_value[node as usize]
    }

    /// Earliest time `node` was seen, if any record gave a time.
    pub fn first_seen(&self, node: NodeId) -> Option<i64> {
        Some(self.first_seen[node as usize]).filter(|t| *t != UNSEEN_FIRST)
    }

    /// Latest time `node` was seen, if any record gave a time.
    pub fn last_seen(&self, node: NodeId) -> Option<i64> {
        Some(self.last_seen[node as usize]).filter(|t| *t != UNSEEN_LAST)
    }

    /// How many records asserted `node`.
    pub fn observations(&self, node: NodeId) -> u32 {
        self.observations[node as usize]
    }

    /// Rank of each type id for choosing anchors and heads: configured priority first, then
    /// type name.
    pub(crate) fn type_ranks(&self) -> Vec<u32> {
        let mut order: Vec<u16> = (0..self.type_names.len() as u16).collect();
        order.sort_by_key(|&t| {
            let name = &self.type_names[t as usize];
            let p = self
                .type_priority
                .iter()
                .position(|x| x == name)
                .unwrap_or(self.type_priority.len());
            (p, name.clone())
        });
        let mut ranks = vec![0u32; order.len()];
        for (rank, t) in order.into_iter().enumerate() {
            ranks[t as usize] = rank as u32;
        }
        ranks
    }

    /// The type id of `node`.
    pub(crate) fn node_type(&self, node: NodeId) -> u16 {
        self.node_type[node as usize]
    }

    /// Whether `node` was demoted (a poor anchor).
    pub(crate) fn is_demoted(&self, node: NodeId) -> bool {
        self.demoted[node as usize]
    }

    /// Raw first-seen time (`i64::MAX` when unknown), for ordering.
    pub(crate) fn first_seen_raw(&self, node: NodeId) -> i64 {
        self.first_seen[node as usize]
    }

    /// The type names by type id.
    pub fn type_names(&self) -> &[String] {
        &self.type_names
    }

    /// Resolves the graph into entities: exact connected components, each named by a stable
    /// id derived from its anchor identifier (`prefix` + hash of the anchor's type and value).
    pub fn resolve(&mut self, prefix: &str) -> Resolution {
        let n = self.len();
        let ranks = self.type_ranks();
        let mut component_of_root = vec![u32::MAX; n];
        let mut anchors: Vec<NodeId> = Vec::new();
        let mut entity_of = vec![0u32; n];
        for node in 0..n as NodeId {
            let root = self.find(node) as usize;
            let c = component_of_root[root];
            let c = if c == u32::MAX {
                anchors.push(node);
                component_of_root[root] = (anchors.len() - 1) as u32;
                (anchors.len() - 1) as u32
            } else {
                if crate::engine::anchor_cmp(self, &ranks, node, anchors[c as usize])
                    == Ordering::Less
                {
                    anchors[c as usize] = node;
                }
                c
            };
            entity_of[node as usize] = c;
        }
        let entities = crate::engine::number_by_id(self, prefix, &anchors, &mut entity_of)
            .into_iter()
            .map(|(id, anchor)| Entity { id, anchor })
            .collect();
        Resolution {
            entity_of,
            entities,
        }
    }
}

/// One resolved entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Stable id, e.g. `per_3f2a…`.
    pub id: String,
    /// The identifier the id derives from.
    pub anchor: NodeId,
}

/// The entities of a graph: which entity each identifier belongs to.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// Entity index of each node.
    pub entity_of: Vec<u32>,
    /// Entities sorted by id.
    pub entities: Vec<Entity>,
}

impl Resolution {
    /// The entity `node` belongs to.
    pub fn entity(&self, node: NodeId) -> &Entity {
        &self.entities[self.entity_of[node as usize] as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph_of(links: &[(&str, &str)]) -> (IdentityGraph, Resolution) {
        let mut g = IdentityGraph::new();
        let t = g.type_id("email");
        for (a, b) in links {
            let (a, b) = (g.intern(t, a), g.intern(t, b));
            g.link(a, b);
        }
        let r = g.resolve("per");
        (g, r)
    }

    #[test]
    fn interning_is_idempotent_and_typed() {
        let mut g = IdentityGraph::new();
        let (e, u) = (g.type_id("email"), g.type_id("user_id"));
        let a = g.intern(e, "x");
        assert_eq!(g.intern(e, "x"), a);
        assert_ne!(g.intern(u, "x"), a);
        assert_eq!(g.lookup("email", "x"), Some(a));
        assert_eq!(g.lookup("phone", "x"), None);
    }

    #[test]
    fn transitive_links_form_one_entity() {
        let (g, r) = graph_of(&[("a", "b"), ("c", "d"), ("b", "c"), ("x", "y")]);
        assert_eq!(r.entities.len(), 2);
        let a = g.lookup("email", "a").unwrap();
        let d = g.lookup("email", "d").unwrap();
        let x = g.lookup("email", "x").unwrap();
        assert_eq!(r.entity(a), r.entity(d));
        assert_ne!(r.entity(a), r.entity(x));
    }

    #[test]
    fn anchor_prefers_earliest_seen_then_type_priority() {
        let mut g = IdentityGraph::new();
        let (e, u) = (g.type_id("email"), g.type_id("user_id"));
        let (a, b) = (g.intern(e, "a@x.com"), g.intern(u, "7"));
        g.link(a, b);
        let r = g.resolve("per");
        assert_eq!(r.entity(a).anchor, b, "user_id wins a tie on time");
        g.observe(a, Some(10));
        g.observe(b, Some(20));
        let r = g.resolve("per");
        assert_eq!(r.entity(a).anchor, a, "earliest seen wins");
        g.demote(a);
        assert_eq!(g.resolve("per").entity(a).anchor, b, "demoted loses");
    }

    #[test]
    fn a_million_hop_chain_resolves_to_one_entity() {
        let mut g = IdentityGraph::new();
        let t = g.type_id("anonymous_id");
        let mut prev = g.intern(t, "0");
        for i in 1..1_000_000u32 {
            let next = g.intern(t, &i.to_string());
            g.link(prev, next);
            prev = next;
        }
        let r = g.resolve("per");
        assert_eq!(r.entities.len(), 1);
        assert_eq!(g.len(), 1_000_000);
    }
}
