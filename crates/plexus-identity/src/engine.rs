//! The guarded resolver: from assertions to entities, with every guard decision recorded.
//!
//! Steps, each deterministic whatever the order records arrived in:
//! 1. **Quarantine**: identifiers that behave like shared ones (role mailboxes such as
//!    `info@`, identifiers asserted with more than `max_strong_ids` distinct values of one
//!    strong type) stay on their records but never link anything (only a human rule can
//!    link them).
//! 2. **Links**: each set's members are linked to its *head* (its best identifier by type
//!    priority, then value). Human rule pairs come first and always apply, then sets in
//!    the order of their first record (time, source, key). A link that would give an
//!    entity more identifiers of a type than its limit allows is refused (earliest links
//!    win).
//! 3. **Never-merge**: for each never-merge pair still in one component, the accepted links
//!    are cut on a minimum cut between the two (unit capacity per record link, merge-file
//!    links cannot be cut).
//! 4. **Entities**: the exact connected components of the links left (no depth cap), each
//!    named by a stable id derived from its anchor identifier.

use std::cmp::Ordering;
use std::collections::VecDeque;

use crate::assertions::{Assertions, RuleKind, SetId};
use crate::graph::{IdentityGraph, NodeId};
use crate::ids::stable_id;

/// `entity_of` of an identifier that belongs to no entity of its own (a quarantined
/// identifier that always appeared next to others).
pub const NO_ENTITY: u32 = u32::MAX;

/// Guard settings.
#[derive(Debug, Clone, Default)]
pub struct GuardOptions {
    /// `(type, max)`: an entity holds at most `max` identifiers of `type`.
    pub limits: Vec<(String, u32)>,
    /// An identifier asserted with more than this many distinct values of one strong type
    /// is quarantined as shared. `None`: no degree check.
    pub max_strong_ids: Option<u32>,
    /// The strong types counted by `max_strong_ids`.
    pub strong_types: Vec<String>,
}

/// What asserted a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOrigin {
    /// A record's identifier set.
    Set(SetId),
    /// A rule pair (index into [`Assertions::rules`]).
    Rule(u32),
}

/// One accepted link between two identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The head identifier of the assertion.
    pub a: NodeId,
    /// The other identifier.
    pub b: NodeId,
    /// What asserted it.
    pub by: LinkOrigin,
}

/// Why a guard refused a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockReason {
    /// The entity would hold more than `max` identifiers of `type_name`.
    Limit {
        /// The limited type.
        type_name: String,
        /// Its limit.
        max: u32,
    },
    /// One side is quarantined.
    Quarantined,
    /// Cut to separate a never-merge pair (index into [`Assertions::never`]).
    NeverMerge(u32),
}

impl BlockReason {
    /// The guard's name: `limit`, `quarantine` or `never_merge`.
    pub fn guard(&self) -> &'static str {
        match self {
            BlockReason::Limit { .. } => "limit",
            BlockReason::Quarantined => "quarantine",
            BlockReason::NeverMerge(_) => "never_merge",
        }
    }
}

/// A link a guard refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The link that was refused.
    pub link: Link,
    /// Why.
    pub reason: BlockReason,
}

/// Why an identifier is quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineReason {
    /// A role mailbox (`info@`, `support@`, ...).
    RoleMailbox,
    /// Asserted with `count` distinct identifiers of strong type `type_name`.
    Shared {
        /// The strong type.
        type_name: String,
        /// How many distinct values of it.
        count: u32,
    },
}

/// A quarantined identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantine {
    /// The identifier.
    pub node: NodeId,
    /// Why.
    pub reason: QuarantineReason,
    /// How many distinct identifiers it was asserted with.
    pub degree: u32,
}

/// One resolved entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedEntity {
    /// Stable id, e.g. `per_3f2a…`.
    pub id: String,
    /// The identifier the id derives from.
    pub anchor: NodeId,
}

/// The outcome of [`resolve`].
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    /// Entity index of each identifier, or [`NO_ENTITY`].
    pub entity_of: Vec<u32>,
    /// Entities sorted by id.
    pub entities: Vec<ResolvedEntity>,
    /// Entity index of each assertion set (the entity its record belongs to).
    pub set_entity: Vec<u32>,
    /// The accepted links: the edges of the entities.
    pub links: Vec<Link>,
    /// Links the guards refused.
    pub blocked: Vec<Blocked>,
    /// Quarantined identifiers, by node.
    pub quarantined: Vec<Quarantine>,
    /// `(quarantined identifier, entity)`: the entities whose records carry it.
    pub attached: Vec<(NodeId, u32)>,
    /// Never-merge pairs (indexes into [`Assertions::never`]) that merge files join
    /// directly, so no cut can separate them.
    pub conflicts: Vec<u32>,
}

/// Capacity of a link no cut may remove (a merge-file row).
const UNCUTTABLE: i64 = 1 << 40;

struct UnionFind {
    parent: Vec<NodeId>,
    rank: Vec<u8>,
    /// `counts[root * k + i]`: identifiers of limited type `i` in the set of `root`.
    counts: Vec<u32>,
    k: usize,
}

impl UnionFind {
    fn new(n: usize, k: usize) -> Self {
        UnionFind {
            parent: (0..n as NodeId).collect(),
            rank: vec![0; n],
            counts: vec![0; n * k],
            k,
        }
    }

    fn find(&mut self, mut x: NodeId) -> NodeId {
        while self.parent[x as usize] != x {
            let g = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = g;
            x = g;
        }
        x
    }

    /// The first limited type (index) the union of `ra` and `rb` would exceed.
    fn exceeds(&self, ra: NodeId, rb: NodeId, max: &[u32]) -> Option<usize> {
        let (a, b) = (ra as usize * self.k, rb as usize * self.k);
        (0..self.k).find(|&i| self.counts[a + i] + self.counts[b + i] > max[i])
    }

    fn union_roots(&mut self, ra: NodeId, rb: NodeId) {
        let (keep, gone) = match self.rank[ra as usize].cmp(&self.rank[rb as usize]) {
            Ordering::Less => (rb, ra),
            Ordering::Greater => (ra, rb),
            Ordering::Equal => {
                self.rank[ra as usize] += 1;
                (ra, rb)
            }
        };
        self.parent[gone as usize] = keep;
        for i in 0..self.k {
            let c = self.counts[gone as usize * self.k + i];
            self.counts[keep as usize * self.k + i] += c;
        }
    }
}

/// Resolves `graph`'s identifiers into entities from `assertions`, applying the guards.
/// `is_role(type, value)` says whether an identifier is a role mailbox; `prefix` starts
/// every entity id (`per` gives `per_…`).
pub fn resolve(
    graph: &IdentityGraph,
    assertions: &Assertions,
    guards: &GuardOptions,
    is_role: impl Fn(&str, &str) -> bool,
    prefix: &str,
) -> Resolved {
    let n = graph.len();
    let ranks = graph.type_ranks();
    let type_rank = |node: NodeId| ranks[graph.node_type(node) as usize];
    // The canonical order of identifiers: type priority, then value.
    let canonical = |a: NodeId, b: NodeId| {
        type_rank(a)
            .cmp(&type_rank(b))
            .then_with(|| graph.value(a).cmp(graph.value(b)))
    };

    // 1. Quarantine.
    let quarantined = quarantine(graph, assertions, guards, &is_role);
    let mut is_q = vec![false; n];
    for q in &quarantined {
        is_q[q.node as usize] = true;
    }

    // The head of each set: its best non-quarantined member (or best member if all are).
    let heads: Vec<NodeId> = (0..assertions.len() as SetId)
        .map(|s| {
            let m = assertions.members(s);
            if let [only] = m {
                return *only;
            }
            let pick = |ok: &dyn Fn(NodeId) -> bool| {
                m.iter()
                    .copied()
                    .filter(|&x| ok(x))
                    .min_by(|&a, &b| canonical(a, b))
            };
            pick(&|x| !is_q[x as usize])
                .or_else(|| pick(&|_| true))
                .expect("sets are never empty")
        })
        .collect();

    // 2. Links, in canonical order when limits make the order matter.
    let limited: Vec<(u16, u32, &str)> = guards
        .limits
        .iter()
        .filter_map(|(t, max)| {
            let id = graph.type_names().iter().position(|x| x == t)?;
            Some((id as u16, *max, t.as_str()))
        })
        .collect();
    let k = limited.len();
    let mut uf = UnionFind::new(n, k);
    let max: Vec<u32> = limited.iter().map(|l| l.1).collect();
    if k > 0 {
        for node in 0..n as NodeId {
            if let Some(i) = limited.iter().position(|l| l.0 == graph.node_type(node)) {
                uf.counts[node as usize * k + i] = 1;
            }
        }
    }
    let mut links = Vec::new();
    let mut blocked = Vec::new();
    // Human rules are applied whatever the guards say: a person checked them.
    let mut ruled = vec![false; n];
    for (i, rule) in assertions.rules.iter().enumerate() {
        ruled[rule.a as usize] = true;
        ruled[rule.b as usize] = true;
        let (ra, rb) = (uf.find(rule.a), uf.find(rule.b));
        if ra != rb {
            uf.union_roots(ra, rb);
        }
        links.push(Link {
            a: rule.a,
            b: rule.b,
            by: LinkOrigin::Rule(i as u32),
        });
    }
    let mut order: Vec<SetId> = (0..assertions.len() as SetId)
        .filter(|&s| assertions.members(s).len() > 1)
        .collect();
    if k > 0 {
        order.sort_by(|&a, &b| {
            let (fa, fb) = (assertions.first(a), assertions.first(b));
            (fa.time.unwrap_or(i64::MAX), fa.source, &*fa.key)
                .cmp(&(fb.time.unwrap_or(i64::MAX), fb.source, &*fb.key))
                .then_with(|| canonical(heads[a as usize], heads[b as usize]))
        });
    }
    let mut others: Vec<NodeId> = Vec::new();
    for s in order {
        let head = heads[s as usize];
        others.clear();
        others.extend(assertions.members(s).iter().copied().filter(|&m| m != head));
        if k > 0 {
            others.sort_by(|&a, &b| canonical(a, b));
        }
        for &m in &others {
            let link = Link {
                a: head,
                b: m,
                by: LinkOrigin::Set(s),
            };
            if is_q[m as usize] || is_q[head as usize] {
                blocked.push(Blocked {
                    link,
                    reason: BlockReason::Quarantined,
                });
                continue;
            }
            let (ra, rb) = (uf.find(head), uf.find(m));
            if ra != rb {
                if let Some(i) = uf.exceeds(ra, rb, &max) {
                    blocked.push(Blocked {
                        link,
                        reason: BlockReason::Limit {
                            type_name: limited[i].2.to_string(),
                            max: limited[i].1,
                        },
                    });
                    continue;
                }
                uf.union_roots(ra, rb);
            }
            links.push(link);
        }
    }

    // 3. Never-merge pairs: cut links on a minimum cut.
    let mut conflicts = Vec::new();
    let pending: Vec<u32> = assertions
        .never
        .iter()
        .enumerate()
        .filter(|(_, p)| p.a != p.b && uf.find(p.a) == uf.find(p.b))
        .map(|(i, _)| i as u32)
        .collect();
    if !pending.is_empty() {
        let mut cutter = MinCut::new(n, &links, assertions);
        for i in pending {
            let pair = &assertions.never[i as usize];
            match cutter.cut(pair.a, pair.b) {
                Some(cut) => {
                    for e in cut {
                        blocked.push(Blocked {
                            link: links[e],
                            reason: BlockReason::NeverMerge(i),
                        });
                    }
                }
                None => conflicts.push(i),
            }
        }
        let removed = cutter.removed;
        let mut kept = Vec::with_capacity(links.len());
        for (e, l) in links.into_iter().enumerate() {
            if !removed[e] {
                kept.push(l);
            }
        }
        links = kept;
        uf = UnionFind::new(n, 0);
        for l in &links {
            let (ra, rb) = (uf.find(l.a), uf.find(l.b));
            if ra != rb {
                uf.union_roots(ra, rb);
            }
        }
    }

    // 4. Entities: components with a non-quarantined member, and quarantined identifiers
    // that head a set of their own.
    let mut standalone = ruled;
    for &h in &heads {
        if is_q[h as usize] {
            standalone[h as usize] = true;
        }
    }
    let mut component_of_root = vec![u32::MAX; n];
    let mut anchors: Vec<NodeId> = Vec::new();
    let mut entity_of = vec![NO_ENTITY; n];
    // Identifiers no record or rule uses (e.g. interned, then blocklisted) form nothing.
    let mut used = vec![false; n];
    for &m in assertions.all_members() {
        used[m as usize] = true;
    }
    for rule in &assertions.rules {
        used[rule.a as usize] = true;
        used[rule.b as usize] = true;
    }
    for node in 0..n as NodeId {
        if !used[node as usize] || (is_q[node as usize] && !standalone[node as usize]) {
            continue;
        }
        let root = uf.find(node) as usize;
        let c = component_of_root[root];
        let c = if c == u32::MAX {
            anchors.push(node);
            component_of_root[root] = (anchors.len() - 1) as u32;
            (anchors.len() - 1) as u32
        } else {
            if anchor_cmp(graph, &ranks, node, anchors[c as usize]) == Ordering::Less {
                anchors[c as usize] = node;
            }
            c
        };
        entity_of[node as usize] = c;
    }
    let entities = number_by_id(graph, prefix, &anchors, &mut entity_of)
        .into_iter()
        .map(|(id, anchor)| ResolvedEntity { id, anchor })
        .collect();
    // A record belongs to the entity holding most of its identifiers (ties: the head's).
    let set_entity: Vec<u32> = (0..assertions.len() as SetId)
        .map(|s| {
            let head = entity_of[heads[s as usize] as usize];
            let members = assertions.members(s);
            if members.len() == 1 {
                return head;
            }
            let entities = members
                .iter()
                .filter(|&&m| !is_q[m as usize])
                .map(|&m| entity_of[m as usize]);
            if entities.clone().all(|e| e == head) {
                return head;
            }
            let mut counts: Vec<(u32, u32)> = Vec::new();
            for e in entities {
                match counts.iter_mut().find(|(x, _)| *x == e) {
                    Some((_, c)) => *c += 1,
                    None => counts.push((e, 1)),
                }
            }
            let best = counts.iter().map(|&(_, c)| c).max().unwrap_or(0);
            let tied: Vec<u32> = counts
                .iter()
                .filter(|&&(_, c)| c == best)
                .map(|&(e, _)| e)
                .collect();
            if tied.len() == 1 {
                return tied[0];
            }
            // A tie: a guard refused a link of this record. Its limited identifiers (a
            // second user_id) are what conflicted, so the record goes with its best
            // identifier of an unlimited type.
            members
                .iter()
                .copied()
                .filter(|&m| {
                    !is_q[m as usize]
                        && !limited.iter().any(|l| l.0 == graph.node_type(m))
                        && tied.contains(&entity_of[m as usize])
                })
                .min_by(|&a, &b| canonical(a, b))
                .map_or(head, |m| entity_of[m as usize])
        })
        .collect();
    let mut attached: Vec<(NodeId, u32)> = Vec::new();
    if !quarantined.is_empty() {
        for s in 0..assertions.len() as SetId {
            let e = set_entity[s as usize];
            for &m in assertions.members(s) {
                if is_q[m as usize] && entity_of[m as usize] != e {
                    attached.push((m, e));
                }
            }
        }
        attached.sort_unstable();
        attached.dedup();
    }
    Resolved {
        entity_of,
        entities,
        set_entity,
        links,
        blocked,
        quarantined,
        attached,
        conflicts,
    }
}

/// Names each component by its anchor's stable id and renumbers the components in id
/// order (so the output does not depend on input order), updating `entity_of` (entries
/// equal to [`NO_ENTITY`] are left alone). Returns `(id, anchor)` per entity, in id order.
pub(crate) fn number_by_id(
    graph: &IdentityGraph,
    prefix: &str,
    anchors: &[NodeId],
    entity_of: &mut [u32],
) -> Vec<(String, NodeId)> {
    let ids: Vec<String> = anchors
        .iter()
        .map(|&a| stable_id(prefix, graph.type_name(a), graph.value(a)))
        .collect();
    let mut order: Vec<u32> = (0..anchors.len() as u32).collect();
    order.sort_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]));
    let mut rank = vec![0u32; anchors.len()];
    for (new, &old) in order.iter().enumerate() {
        rank[old as usize] = new as u32;
    }
    for e in entity_of.iter_mut().filter(|e| **e != NO_ENTITY) {
        *e = rank[*e as usize];
    }
    order
        .iter()
        .map(|&old| (ids[old as usize].clone(), anchors[old as usize]))
        .collect()
}

/// The anchor order: not demoted first, then earliest seen, then type priority (`ranks`,
/// from [`IdentityGraph::type_ranks`]), then value. A total order on identifiers, so every
/// entity has one anchor.
pub(crate) fn anchor_cmp(graph: &IdentityGraph, ranks: &[u32], a: NodeId, b: NodeId) -> Ordering {
    graph
        .is_demoted(a)
        .cmp(&graph.is_demoted(b))
        .then(graph.first_seen_raw(a).cmp(&graph.first_seen_raw(b)))
        .then(ranks[graph.node_type(a) as usize].cmp(&ranks[graph.node_type(b) as usize]))
        .then_with(|| graph.value(a).cmp(graph.value(b)))
}

/// Finds role mailboxes and identifiers shared by many strong ids.
fn quarantine(
    graph: &IdentityGraph,
    assertions: &Assertions,
    guards: &GuardOptions,
    is_role: &impl Fn(&str, &str) -> bool,
) -> Vec<Quarantine> {
    let n = graph.len();
    let mut reason: Vec<Option<QuarantineReason>> = vec![None; n];
    for node in 0..n as NodeId {
        if is_role(graph.type_name(node), graph.value(node)) {
            reason[node as usize] = Some(QuarantineReason::RoleMailbox);
        }
    }
    let strong: Vec<bool> = graph
        .type_names()
        .iter()
        .map(|t| guards.strong_types.contains(t))
        .collect();
    let is_strong = |x: NodeId| strong[graph.node_type(x) as usize];
    if let Some(max) = guards.max_strong_ids {
        // (identifier, strong neighbour) pairs, distinct.
        let mut pairs: Vec<(NodeId, NodeId)> = Vec::new();
        for s in 0..assertions.len() as SetId {
            let m = assertions.members(s);
            if m.len() < 2 || !m.iter().any(|&x| is_strong(x)) {
                continue;
            }
            for &x in m.iter().filter(|&&x| !is_strong(x)) {
                for &y in m.iter().filter(|&&y| is_strong(y)) {
                    pairs.push((x, y));
                }
            }
        }
        pairs.sort_unstable_by_key(|&(x, y)| (x, graph.node_type(y), y));
        pairs.dedup();
        let mut i = 0;
        while i < pairs.len() {
            let (x, y) = pairs[i];
            let t = graph.node_type(y);
            let mut j = i;
            while j < pairs.len() && pairs[j].0 == x && graph.node_type(pairs[j].1) == t {
                j += 1;
            }
            let count = (j - i) as u32;
            if count > max && reason[x as usize].is_none() {
                reason[x as usize] = Some(QuarantineReason::Shared {
                    type_name: graph.type_name(y).to_string(),
                    count,
                });
            }
            i = j;
        }
    }
    let flagged: Vec<NodeId> = (0..n as NodeId)
        .filter(|&x| reason[x as usize].is_some())
        .collect();
    if flagged.is_empty() {
        return Vec::new();
    }
    // Degree: distinct identifiers each quarantined one was asserted with.
    let mut co: Vec<(NodeId, NodeId)> = Vec::new();
    for s in 0..assertions.len() as SetId {
        let m = assertions.members(s);
        for &x in m.iter().filter(|&&x| reason[x as usize].is_some()) {
            co.extend(m.iter().filter(|&&y| y != x).map(|&y| (x, y)));
        }
    }
    co.sort_unstable();
    co.dedup();
    let mut degree = vec![0u32; n];
    for (x, _) in co {
        degree[x as usize] += 1;
    }
    flagged
        .into_iter()
        .map(|node| Quarantine {
            node,
            reason: reason[node as usize].take().expect("flagged"),
            degree: degree[node as usize],
        })
        .collect()
}

/// Minimum s-t cuts over the accepted links (Edmonds-Karp on an undirected graph, unit
/// capacity per record link). Only the component of `s` is ever visited.
struct MinCut {
    /// CSR adjacency: `adj[start[v]..start[v + 1]]` are `(neighbour, link index)`.
    start: Vec<u32>,
    adj: Vec<(NodeId, u32)>,
    capacity: Vec<i64>,
    ends: Vec<(NodeId, NodeId)>,
    /// Flow on each link in the direction `a -> b` (negative: `b -> a`).
    flow: Vec<i64>,
    touched: Vec<u32>,
    removed: Vec<bool>,
    seen: Vec<u32>,
    stamp: u32,
    via: Vec<u32>,
    visited: Vec<NodeId>,
}

impl MinCut {
    fn new(n: usize, links: &[Link], assertions: &Assertions) -> Self {
        let mut degree = vec![0u32; n + 1];
        for l in links {
            degree[l.a as usize] += 1;
            degree[l.b as usize] += 1;
        }
        let mut start = vec![0u32; n + 1];
        for v in 0..n {
            start[v + 1] = start[v] + degree[v];
        }
        let mut fill = start.clone();
        let mut adj = vec![(0, 0); start[n] as usize];
        for (e, l) in links.iter().enumerate() {
            adj[fill[l.a as usize] as usize] = (l.b, e as u32);
            fill[l.a as usize] += 1;
            adj[fill[l.b as usize] as usize] = (l.a, e as u32);
            fill[l.b as usize] += 1;
        }
        let capacity = links
            .iter()
            .map(|l| match l.by {
                LinkOrigin::Rule(r) if assertions.rules[r as usize].kind == RuleKind::Merge => {
                    UNCUTTABLE
                }
                _ => 1,
            })
            .collect();
        MinCut {
            start,
            adj,
            capacity,
            ends: links.iter().map(|l| (l.a, l.b)).collect(),
            flow: vec![0; links.len()],
            touched: Vec::new(),
            removed: vec![false; links.len()],
            seen: vec![0; n],
            stamp: 0,
            via: vec![u32::MAX; n],
            visited: Vec::new(),
        }
    }

    /// Residual capacity of link `e` when leaving `from`.
    fn residual(&self, e: u32, from: NodeId) -> i64 {
        let (a, _) = self.ends[e as usize];
        let f = self.flow[e as usize];
        let c = self.capacity[e as usize];
        if from == a { c - f } else { c + f }
    }

    /// Breadth-first search from `s` in the residual graph; marks reached nodes with the
    /// current stamp and records the link each was reached by.
    fn bfs(&mut self, s: NodeId, t: Option<NodeId>) -> bool {
        self.stamp += 1;
        let stamp = self.stamp;
        self.seen[s as usize] = stamp;
        self.visited.clear();
        self.visited.push(s);
        let mut queue = VecDeque::from([s]);
        while let Some(v) = queue.pop_front() {
            for i in self.start[v as usize]..self.start[v as usize + 1] {
                let (w, e) = self.adj[i as usize];
                if self.removed[e as usize]
                    || self.seen[w as usize] == stamp
                    || self.residual(e, v) <= 0
                {
                    continue;
                }
                self.seen[w as usize] = stamp;
                self.via[w as usize] = e;
                self.visited.push(w);
                if Some(w) == t {
                    return true;
                }
                queue.push_back(w);
            }
        }
        false
    }

    /// Cuts `s` from `t`: the links removed, or `None` if only uncuttable links join them.
    fn cut(&mut self, s: NodeId, t: NodeId) -> Option<Vec<usize>> {
        let mut total = 0i64;
        while self.bfs(s, Some(t)) {
            // Bottleneck along the path, then push it.
            let mut v = t;
            let mut bottleneck = i64::MAX;
            while v != s {
                let e = self.via[v as usize];
                let (a, b) = self.ends[e as usize];
                let from = if v == b { a } else { b };
                bottleneck = bottleneck.min(self.residual(e, from));
                v = from;
            }
            let mut v = t;
            while v != s {
                let e = self.via[v as usize];
                let (a, b) = self.ends[e as usize];
                let from = if v == b { a } else { b };
                self.flow[e as usize] += if from == a { bottleneck } else { -bottleneck };
                self.touched.push(e);
                v = from;
            }
            total += bottleneck;
            if total >= UNCUTTABLE {
                break;
            }
        }
        let result = if total >= UNCUTTABLE {
            None
        } else {
            // The source side: nodes reachable in the residual graph; the cut is every
            // link leaving it.
            self.bfs(s, None);
            let stamp = self.stamp;
            let mut cut = Vec::new();
            for &v in &self.visited {
                for i in self.start[v as usize]..self.start[v as usize + 1] {
                    let (w, e) = self.adj[i as usize];
                    if !self.removed[e as usize] && self.seen[w as usize] != stamp {
                        cut.push(e as usize);
                    }
                }
            }
            cut.sort_unstable();
            cut.dedup();
            for &e in &cut {
                self.removed[e] = true;
            }
            Some(cut)
        };
        for e in self.touched.drain(..) {
            self.flow[e as usize] = 0;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::assertions::RulePair;

    struct World {
        graph: IdentityGraph,
        assertions: Assertions,
    }

    impl World {
        fn new() -> Self {
            World {
                graph: IdentityGraph::new(),
                assertions: Assertions::new(),
            }
        }

        fn node(&mut self, id: &str) -> NodeId {
            let (t, v) = id.split_once(':').expect("type:value");
            let t = self.graph.type_id(t);
            self.graph.intern(t, v)
        }

        /// A record at `time` asserting `ids`.
        fn record(&mut self, time: i64, ids: &[&str]) -> SetId {
            let nodes: Vec<NodeId> = ids.iter().map(|i| self.node(i)).collect();
            for &n in &nodes {
                self.graph.observe(n, Some(time));
            }
            self.assertions
                .assert(&nodes, Some(time), 0, &Arc::from(format!("r{time}")))
        }

        fn never(&mut self, a: &str, b: &str) {
            let (a, b) = (self.node(a), self.node(b));
            self.assertions.never.push(RulePair {
                a,
                b,
                kind: RuleKind::Merge,
                file: "never.csv".into(),
                line: 2,
            });
        }

        fn merge(&mut self, a: &str, b: &str) {
            let (a, b) = (self.node(a), self.node(b));
            self.assertions.rules.push(RulePair {
                a,
                b,
                kind: RuleKind::Merge,
                file: "merges.csv".into(),
                line: 2,
            });
        }

        fn resolve(&self, guards: &GuardOptions) -> Resolved {
            resolve(
                &self.graph,
                &self.assertions,
                guards,
                |t, v| t == "email" && v.starts_with("info@"),
                "per",
            )
        }

        fn same(&self, r: &Resolved, a: &str, b: &str) -> bool {
            let look = |id: &str| {
                let (t, v) = id.split_once(':').expect("type:value");
                self.graph.lookup(t, v).expect("known identifier")
            };
            let (ea, eb) = (r.entity_of[look(a) as usize], r.entity_of[look(b) as usize]);
            ea != NO_ENTITY && ea == eb
        }
    }

    #[test]
    fn records_link_their_identifiers_transitively() {
        let mut w = World::new();
        w.record(1, &["user_id:1", "email:a@x.com"]);
        w.record(2, &["email:a@x.com", "phone:+1"]);
        w.record(3, &["email:b@x.com"]);
        let r = w.resolve(&GuardOptions::default());
        assert_eq!(r.entities.len(), 2);
        assert!(w.same(&r, "user_id:1", "phone:+1"));
        assert!(!w.same(&r, "user_id:1", "email:b@x.com"));
        assert_eq!(r.links.len(), 2);
    }

    #[test]
    fn a_limit_refuses_the_later_link() {
        let mut w = World::new();
        w.record(2, &["user_id:2", "email:a@x.com"]);
        w.record(1, &["user_id:1", "email:a@x.com"]);
        let guards = GuardOptions {
            limits: vec![("user_id".into(), 1)],
            ..Default::default()
        };
        let r = w.resolve(&guards);
        assert!(w.same(&r, "user_id:1", "email:a@x.com"), "earliest wins");
        assert!(!w.same(&r, "user_id:2", "email:a@x.com"));
        assert_eq!(r.blocked.len(), 1);
        assert_eq!(r.blocked[0].reason.guard(), "limit");
        // The refused record goes with its unlimited identifier: the user_id conflicted.
        let s2 = w.record(2, &["user_id:2", "email:a@x.com"]);
        let a = w.graph.lookup("email", "a@x.com").unwrap();
        assert_eq!(r.set_entity[s2 as usize], r.entity_of[a as usize]);
    }

    #[test]
    fn role_mailboxes_never_bridge_but_stay_attached() {
        let mut w = World::new();
        let s1 = w.record(1, &["user_id:1", "email:info@acme.com"]);
        w.record(2, &["user_id:2", "email:info@acme.com"]);
        let alone = w.record(3, &["email:info@acme.com"]);
        let r = w.resolve(&GuardOptions::default());
        assert!(!w.same(&r, "user_id:1", "user_id:2"));
        assert_eq!(r.quarantined.len(), 1);
        assert_eq!(r.quarantined[0].degree, 2);
        assert_eq!(r.attached.len(), 2);
        let info = w.graph.lookup("email", "info@acme.com").unwrap();
        assert_eq!(r.set_entity[alone as usize], r.entity_of[info as usize]);
        assert_ne!(r.set_entity[s1 as usize], r.entity_of[info as usize]);
        assert_eq!(r.entities.len(), 3);
    }

    #[test]
    fn shared_identifiers_are_quarantined_by_degree() {
        let mut w = World::new();
        for i in 0..5 {
            w.record(i, &[&format!("user_id:{i}"), "phone:+10000000000"]);
        }
        w.record(9, &["user_id:0", "phone:+14155550100"]);
        let guards = GuardOptions {
            max_strong_ids: Some(3),
            strong_types: vec!["user_id".into()],
            ..Default::default()
        };
        let r = w.resolve(&guards);
        assert_eq!(r.entities.len(), 5);
        assert!(matches!(
            r.quarantined[0].reason,
            QuarantineReason::Shared { count: 5, .. }
        ));
        assert!(w.same(&r, "user_id:0", "phone:+14155550100"));
    }

    #[test]
    fn never_merge_cuts_the_weakest_links() {
        // a - b - c = d - e, with c-d asserted twice (two records) and b-c once.
        let mut w = World::new();
        w.record(1, &["email:a@x.com", "user_id:b"]);
        w.record(2, &["user_id:b", "phone:+1c"]);
        w.record(3, &["phone:+1c", "anonymous_id:d"]);
        w.record(4, &["anonymous_id:d", "device_id:e"]);
        w.never("email:a@x.com", "device_id:e");
        let r = w.resolve(&GuardOptions::default());
        assert!(!w.same(&r, "email:a@x.com", "device_id:e"));
        assert_eq!(r.entities.len(), 2);
        let cut: Vec<_> = r
            .blocked
            .iter()
            .filter(|b| b.reason.guard() == "never_merge")
            .collect();
        assert_eq!(cut.len(), 1, "a single link is the minimum cut");
    }

    #[test]
    fn never_merge_against_a_merge_is_a_conflict() {
        let mut w = World::new();
        w.merge("email:a@x.com", "email:b@x.com");
        w.never("email:a@x.com", "email:b@x.com");
        let r = w.resolve(&GuardOptions::default());
        assert_eq!(r.conflicts, vec![0]);
        assert!(w.same(&r, "email:a@x.com", "email:b@x.com"));
    }

    #[test]
    fn a_million_hop_chain_resolves() {
        let mut w = World::new();
        let t = w.graph.type_id("anonymous_id");
        let nodes: Vec<NodeId> = (0..1_000_000u32)
            .map(|i| w.graph.intern(t, &i.to_string()))
            .collect();
        for pair in nodes.windows(2) {
            w.assertions.assert(pair, None, 0, &Arc::from("k"));
        }
        let r = w.resolve(&GuardOptions::default());
        assert_eq!(r.entities.len(), 1);
    }
}
