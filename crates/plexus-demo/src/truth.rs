//! The ground truth (`ground_truth/records.csv`) and the reference identity
//! engine that says how many resolved persons a correct engine finds.
//!
//! Sources report every valid record here with its true person and the
//! identifiers of that person it carries, *after* what a correct engine does
//! to them: values are normalised (so case, spaces, gmail dots and `+tags`,
//! phone formats and `googlemail.com` vanish), and what the guards keep from
//! linking is left out. A record reports an identifier only if it is one of
//! its true person's own, so the list never includes:
//! - blocklisted junk (`test@test.com`, `0000000000`, ...),
//! - quarantined identifiers: role mailboxes (`billing@acme.io`) and a
//!   reseller's address seen with more than 3 `user_id`s,
//! - the other person's identifier in a never-merge trap (the mistyped
//!   `user_id` of a CRM row, the family partner's phone), which the
//!   never-merge pairs and the `user_id` limit refuse.
//!
//! Identifiers are dense node numbers: per person three email nodes (work,
//! work at the old domain, personal) and a phone node, then one node per app
//! account (`user_id`), then one per Stripe customer (added as the billing
//! writer makes them). Union-find over the records' identifiers gives the
//! clusters; domain aliases and manual merges are applied on top, in four
//! combinations, to report what each rule contributes. Web events attach to
//! their login's `user_id` (the hops of a chain are all in the record stream,
//! so the chain is one cluster with the account); anonymous visitors who never
//! log in are one cluster each.
//!
//! Each record is counted on one of its identifiers (the first one that is
//! not a phone), so the clusters and the best achievable pairwise precision
//! and recall over the records of `records.csv` follow exactly.

use std::path::Path;

use crate::DemoError;
use crate::out::{LinesOut, io_err};
use crate::rng::{chance, stream};
use crate::sources::Written;
use crate::text::push_padded;
use crate::world::{Addr, DUAL, NONE, World};

/// An identifier of a true person, as a correct engine holds it after
/// normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Id {
    /// One of the person's addresses.
    Email(u32, Addr),
    /// The person's own phone.
    Phone(u32),
    /// The `user_id` of an account (index into `World::accounts`).
    User(u32),
    /// A Stripe customer id (as numbered by [`Truth::customer`]); each
    /// customer is one person's.
    Customer(u32),
}

/// The true person behind a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    /// A customer's person (index into `World::persons`), `P000123`.
    Person(u32),
    /// An anonymous web visitor who never logs in, `V000123`.
    Visitor(u32),
}

/// Writes `records.csv` and collects the links of every valid record.
pub(crate) struct Truth {
    out: LinesOut,
    line: Vec<u8>,
    n: usize,
    width: usize,
    seen: Vec<u8>,
    full: Vec<u32>,
    no_phone: Vec<u32>,
    count: Vec<u32>,
    /// The person of each Stripe customer.
    customers: Vec<u32>,
    visitors: u64,
    visitor_rows: u64,
    visitor_pairs: u64,
}

/// Fills `line` with one `records.csv` line: `source,key,P000123,role` (role empty
/// unless the record has several participants).
pub(crate) fn truth_line(
    line: &mut Vec<u8>,
    source: &str,
    key: &[u8],
    who: Who,
    role: &str,
    width: usize,
) {
    line.clear();
    line.extend_from_slice(source.as_bytes());
    line.push(b',');
    line.extend_from_slice(key);
    let (letter, number) = match who {
        Who::Person(p) => (b'P', u64::from(p) + 1),
        Who::Visitor(v) => (b'V', u64::from(v) + 1),
    };
    line.extend_from_slice(&[b',', letter]);
    push_padded(line, number, width);
    line.push(b',');
    line.extend_from_slice(role.as_bytes());
    line.push(b'\n');
}

/// `k choose 2`: pairs among `k` records.
pub(crate) fn pairs(k: u64) -> u64 {
    k * k.saturating_sub(1) / 2
}

/// Index of an address kind among a person's three email nodes.
fn addr_index(a: Addr) -> usize {
    match a {
        Addr::Work => 0,
        Addr::WorkOld => 1,
        Addr::Personal => 2,
    }
}

/// Root of `x`, halving paths on the way.
fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let g = parent[parent[x as usize] as usize];
        parent[x as usize] = g;
        x = g;
    }
    x
}

/// Links the clusters of `a` and `b` (the smaller root wins).
fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb) as usize] = ra.min(rb);
    }
}

impl Truth {
    /// Creates `ground_truth/records.csv` for the persons and accounts of `world`.
    pub(crate) fn create(root: &Path, world: &World) -> Result<Truth, DemoError> {
        let mut out = LinesOut::create(root, "ground_truth/records.csv")?;
        out.header(b"source,record_key,person,role\n")?;
        let nodes = 4 * world.n + world.accounts.len();
        let nodes32 = u32::try_from(nodes).unwrap_or(u32::MAX);
        Ok(Truth {
            out,
            line: Vec::with_capacity(64),
            n: world.n,
            width: world.id_width,
            seen: vec![0; world.n],
            full: (0..nodes32).collect(),
            no_phone: (0..nodes32).collect(),
            count: vec![0; nodes],
            customers: Vec::new(),
            visitors: 0,
            visitor_rows: 0,
            visitor_pairs: 0,
        })
    }

    /// Node number of an identifier.
    fn node(&self, id: Id) -> u32 {
        (match id {
            Id::Email(p, a) => 3 * p as usize + addr_index(a),
            Id::Phone(p) => 3 * self.n + p as usize,
            Id::User(a) => 4 * self.n + a as usize,
            Id::Customer(c) => self.count.len() - self.customers.len() + c as usize,
        }) as u32
    }

    /// A new Stripe customer of person `p`: its identifier (a node of its own).
    pub(crate) fn customer(&mut self, p: u32) -> Id {
        let node = u32::try_from(self.count.len()).unwrap_or(u32::MAX);
        self.full.push(node);
        self.no_phone.push(node);
        self.count.push(0);
        self.customers.push(p);
        Id::Customer(self.customers.len() as u32 - 1)
    }

    /// Writes one `records.csv` line.
    fn line(&mut self, source: &str, key: &[u8], who: Who, role: &str) -> Result<(), DemoError> {
        truth_line(&mut self.line, source, key, who, role, self.width);
        self.out.line(&self.line)
    }

    /// Appends the truth lines another writer put in `path` (`rows` of them,
    /// in [`truth_line`] form) and deletes that file.
    pub(crate) fn append(&mut self, path: &Path, rows: u64) -> Result<(), DemoError> {
        let mut src = std::fs::File::open(path).map_err(io_err(path))?;
        self.out.append(&mut src, rows)?;
        drop(src);
        std::fs::remove_file(path).map_err(io_err(path))
    }

    /// Records a valid record of person `p` carrying identifiers `ids` (at
    /// least one): writes its truth line and links the identifiers.
    pub(crate) fn record(
        &mut self,
        source: &str,
        key: &str,
        p: u32,
        ids: &[Id],
    ) -> Result<(), DemoError> {
        self.line(source, key.as_bytes(), Who::Person(p), "")?;
        self.link(ids);
        Ok(())
    }

    /// [`Truth::record`] for a record with several participants: `role` names the one
    /// that is person `p` (e.g. the customer side of an email).
    pub(crate) fn record_as(
        &mut self,
        source: &str,
        key: &str,
        p: u32,
        role: &str,
        ids: &[Id],
    ) -> Result<(), DemoError> {
        self.line(source, key.as_bytes(), Who::Person(p), role)?;
        self.link(ids);
        Ok(())
    }

    /// Links the identifiers of one record and counts the record on the first
    /// that is not a phone (or on the phone if that is all there is).
    fn link(&mut self, ids: &[Id]) {
        debug_assert!(!ids.is_empty(), "a record without identifiers");
        let Some(&first) = ids.first() else { return };
        let primary = ids
            .iter()
            .copied()
            .find(|i| !matches!(i, Id::Phone(_)))
            .unwrap_or(first);
        let pn = self.node(primary);
        let phone_primary = matches!(primary, Id::Phone(_));
        for &id in ids {
            if let Id::Email(p, a) = id {
                self.seen[p as usize] |= a.bit();
            }
            if id == primary {
                continue;
            }
            let node = self.node(id);
            union(&mut self.full, pn, node);
            if !phone_primary && !matches!(id, Id::Phone(_)) {
                union(&mut self.no_phone, pn, node);
            }
        }
        self.count[pn as usize] += 1;
    }

    /// Counts `rows` records (appended with [`Truth::append`]) that resolve
    /// through identifier `id` (the web events of a chain ending in a login).
    pub(crate) fn count_rows(&mut self, id: Id, rows: u32) {
        let node = self.node(id) as usize;
        self.count[node] += rows;
    }

    /// Counts `visitors` anonymous visitors, one cluster each, with `rows`
    /// records in all and `pairs` pairs of records of one visitor.
    pub(crate) fn visitors(&mut self, visitors: u64, rows: u64, pairs: u64) {
        self.visitors += visitors;
        self.visitor_rows += rows;
        self.visitor_pairs += pairs;
    }

    /// Address kinds ([`Addr::bit`]) of person `p` seen in records so far.
    pub(crate) fn seen(&self, p: u32) -> u8 {
        self.seen[p as usize]
    }

    /// Closes `records.csv`.
    pub(crate) fn finish(self) -> Result<(Written, Graph), DemoError> {
        let written = self.out.finish()?;
        Ok((
            written,
            Graph {
                n: self.n,
                seen: self.seen,
                full: self.full,
                no_phone: self.no_phone,
                count: self.count,
                customers: self.customers,
                visitors: self.visitors,
                visitor_rows: self.visitor_rows,
                visitor_pairs: self.visitor_pairs,
            },
        ))
    }
}

/// The links of all records, once `records.csv` is written.
pub(crate) struct Graph {
    n: usize,
    seen: Vec<u8>,
    full: Vec<u32>,
    no_phone: Vec<u32>,
    count: Vec<u32>,
    customers: Vec<u32>,
    visitors: u64,
    visitor_rows: u64,
    visitor_pairs: u64,
}

/// A manual merge: the person's personal address folded into their work
/// address of the given kind.
pub(crate) type Merge = (u32, Addr);

/// Cluster counts, what each rule contributes, and the best achievable
/// pairwise scores.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct IdentityStats {
    /// True persons with at least one valid record (customers' persons and
    /// anonymous visitors).
    pub persons_in_records: usize,
    /// Resolved persons expected with every rule.
    pub clusters_all: usize,
    /// ... without applying `identity/merges.csv`.
    pub clusters_without_merges: usize,
    /// ... without applying `identity/domain_aliases.csv` to emails.
    pub clusters_without_domain_aliases: usize,
    /// ... with neither.
    pub clusters_without_either: usize,
    /// ... with every rule but no phone identifiers.
    pub clusters_without_phones: usize,
    /// Persons that are one cluster only thanks to the merges file.
    pub only_via_merges: usize,
    /// Persons that are one cluster only thanks to the domain aliases.
    pub only_via_domain_aliases: usize,
    /// Persons that are one cluster only thanks to their phone.
    pub only_via_phones: usize,
    /// Persons whose records stay split in 2+ clusters even with every rule.
    pub split: usize,
    /// Anonymous visitors (one cluster each) and their records.
    pub visitors: (u64, u64),
    /// Pairs of records of one true person.
    pub true_pairs: u64,
    /// Pairs of records in one cluster.
    pub predicted_pairs: u64,
    /// Pairs of records of one true person in one cluster.
    pub correct_pairs: u64,
}

impl IdentityStats {
    /// Best achievable pairwise precision, recall and F1.
    pub(crate) fn best_possible(&self) -> (f64, f64, f64) {
        let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let p = ratio(self.correct_pairs, self.predicted_pairs);
        let r = ratio(self.correct_pairs, self.true_pairs);
        let f = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f)
    }
}

/// Clusters of one rule set: how many, and per person how many.
struct Clusters {
    total: usize,
    per_person: Vec<u8>,
}

impl Graph {
    /// True person of a node.
    fn person(&self, world: &World, node: usize) -> u32 {
        if node < 3 * self.n {
            (node / 3) as u32
        } else if node < 4 * self.n {
            (node - 3 * self.n) as u32
        } else if node < 4 * self.n + world.accounts.len() {
            world.accounts[node - 4 * self.n].person
        } else {
            self.customers[node - 4 * self.n - world.accounts.len()]
        }
    }

    /// `parent` with the domain aliases and/or merges applied.
    fn with_rules(&self, world: &World, base: &[u32], aliases: bool, merges: &[Merge]) -> Vec<u32> {
        let mut parent = base.to_vec();
        if aliases {
            for (p, person) in world.persons.iter().enumerate() {
                if person.company != NONE && world.companies[person.company as usize].old.is_some()
                {
                    union(&mut parent, (3 * p) as u32, (3 * p + 1) as u32);
                }
            }
        }
        for &(p, work) in merges {
            let p = p as usize;
            union(
                &mut parent,
                (3 * p + 2) as u32,
                (3 * p + addr_index(work)) as u32,
            );
        }
        parent
    }

    /// Clusters of the counted nodes under `parent` (one pass, no sort):
    /// distinct roots, and per person 0, 1 or 2 (= more than one).
    fn clusters(&self, world: &World, parent: &mut [u32]) -> Clusters {
        let mut root_seen = vec![false; parent.len()];
        let mut first_root = vec![u32::MAX; self.n];
        let mut per_person = vec![0u8; self.n];
        let mut total = 0;
        for node in 0..self.count.len() {
            if self.count[node] == 0 {
                continue;
            }
            let root = find(parent, node as u32);
            if !root_seen[root as usize] {
                root_seen[root as usize] = true;
                total += 1;
            }
            let p = self.person(world, node) as usize;
            if per_person[p] == 0 {
                per_person[p] = 1;
                first_root[p] = root;
            } else if first_root[p] != root {
                per_person[p] = 2;
            }
        }
        Clusters {
            total: total + self.visitors as usize,
            per_person,
        }
    }

    /// Chooses the manual merges: about 80% of the persons whose personal
    /// address stays apart from their work address with every other rule
    /// (dual-account persons excluded: their two `user_id`s stay apart).
    pub(crate) fn choose_merges(&self, world: &World, seed: u64) -> Vec<Merge> {
        let mut rng = stream(seed, 7);
        let mut parent = self.with_rules(world, &self.full, true, &[]);
        let mut merges = Vec::new();
        for (p, person) in world.persons.iter().enumerate() {
            let seen = self.seen[p];
            if person.company == NONE
                || person.flags & DUAL != 0
                || seen & Addr::Personal.bit() == 0
                || seen & (Addr::Work.bit() | Addr::WorkOld.bit()) == 0
            {
                continue;
            }
            let work = if seen & Addr::Work.bit() != 0 {
                Addr::Work
            } else {
                Addr::WorkOld
            };
            let a = find(&mut parent, (3 * p + 2) as u32);
            let b = find(&mut parent, (3 * p + addr_index(work)) as u32);
            // Draw for every candidate so the choice is stable.
            let pick = chance(&mut rng, 0.8);
            if a != b && pick {
                merges.push((p as u32, work));
            }
        }
        merges
    }

    /// Everything `summary.json` says about identity.
    pub(crate) fn stats(&self, world: &World, merges: &[Merge]) -> IdentityStats {
        let mut all = self.with_rules(world, &self.full, true, merges);
        let c_all = self.clusters(world, &mut all);
        let c_nm = self.clusters(world, &mut self.with_rules(world, &self.full, true, &[]));
        let c_na = self.clusters(
            world,
            &mut self.with_rules(world, &self.full, false, merges),
        );
        let c_none = self.clusters(world, &mut self.with_rules(world, &self.full, false, &[]));
        let c_np = self.clusters(
            world,
            &mut self.with_rules(world, &self.no_phone, true, merges),
        );
        let mut s = IdentityStats {
            clusters_all: c_all.total,
            clusters_without_merges: c_nm.total,
            clusters_without_domain_aliases: c_na.total,
            clusters_without_either: c_none.total,
            clusters_without_phones: c_np.total,
            visitors: (self.visitors, self.visitor_rows),
            ..IdentityStats::default()
        };
        for p in 0..self.n {
            let k = c_all.per_person[p];
            if k == 0 {
                continue;
            }
            s.persons_in_records += 1;
            if k > 1 {
                s.split += 1;
            } else {
                s.only_via_merges += usize::from(c_nm.per_person[p] > 1);
                s.only_via_domain_aliases += usize::from(c_na.per_person[p] > 1);
                s.only_via_phones += usize::from(c_np.per_person[p] > 1);
            }
        }
        s.persons_in_records += self.visitors as usize;

        // Pairwise counts: cells of (cluster, true person).
        let mut cells: Vec<(u32, u32, u32)> = Vec::new();
        let mut per_person = vec![0u64; self.n];
        for node in 0..self.count.len() {
            let k = self.count[node];
            if k > 0 {
                let p = self.person(world, node);
                per_person[p as usize] += u64::from(k);
                cells.push((find(&mut all, node as u32), p, k));
            }
        }
        cells.sort_unstable();
        let (mut correct, mut predicted) = (0u64, 0u64);
        let mut i = 0;
        while i < cells.len() {
            let root = cells[i].0;
            let mut in_cluster = 0u64;
            while i < cells.len() && cells[i].0 == root {
                let person = cells[i].1;
                let mut in_cell = 0u64;
                while i < cells.len() && cells[i].0 == root && cells[i].1 == person {
                    in_cell += u64::from(cells[i].2);
                    i += 1;
                }
                correct += pairs(in_cell);
                in_cluster += in_cell;
            }
            predicted += pairs(in_cluster);
        }
        s.true_pairs = per_person.iter().map(|&k| pairs(k)).sum::<u64>() + self.visitor_pairs;
        s.predicted_pairs = predicted + self.visitor_pairs;
        s.correct_pairs = correct + self.visitor_pairs;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_find_basics() {
        let mut parent: Vec<u32> = (0..6).collect();
        union(&mut parent, 4, 2);
        union(&mut parent, 2, 5);
        assert_eq!(find(&mut parent, 5), 2);
        assert_eq!(find(&mut parent, 4), 2);
        assert_ne!(find(&mut parent, 1), 2);
        assert_eq!(pairs(0), 0);
        assert_eq!(pairs(1), 0);
        assert_eq!(pairs(4), 6);
    }

    #[test]
    fn truth_lines() {
        let mut line = Vec::new();
        truth_line(&mut line, "web_events", b"wev_1", Who::Visitor(2), "", 6);
        assert_eq!(line, b"web_events,wev_1,V000003,\n");
        truth_line(
            &mut line,
            "emails",
            b"m1",
            Who::Person(1_234_566),
            "sender",
            6,
        );
        assert_eq!(line, b"emails,m1,P1234567,sender\n");
    }

    /// A world small enough to count by hand: person A with an account, a
    /// personal address and a phone; person B whose address and phone are
    /// never seen together; two anonymous visitors.
    #[test]
    fn tiny_graph_counts_by_hand() {
        let world = World::build(40, 9);
        let a = world.accounts[0].person;
        let b = (0..world.n as u32)
            .find(|&p| p != a && world.persons[p as usize].company == NONE)
            .expect("a personal-only person");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut t = Truth::create(dir.path(), &world).expect("create");
        let (pa, pb) = (Addr::Personal, Addr::Personal);
        let rec = |t: &mut Truth, key: &str, p: u32, ids: &[Id]| {
            t.record("test", key, p, ids).expect("record");
        };
        rec(
            &mut t,
            "r1",
            a,
            &[Id::User(0), Id::Email(a, pa), Id::Phone(a)],
        );
        rec(&mut t, "r2", a, &[Id::Email(a, pa)]);
        rec(&mut t, "r3", a, &[Id::Phone(a)]); // e.g. a role-mailbox ticket
        t.count_rows(Id::User(0), 4); // four web events of A's chain
        rec(&mut t, "r4", b, &[Id::Email(b, pb)]);
        rec(&mut t, "r5", b, &[Id::Phone(b)]); // never seen with B's address
        t.visitors(2, 4, 3); // visitors with 3 and 1 rows
        assert_eq!(t.seen(a), Addr::Personal.bit());
        let (written, graph) = t.finish().expect("finish");
        assert_eq!(written.1, 5);
        let text = std::fs::read_to_string(dir.path().join("ground_truth/records.csv"))
            .expect("records.csv");
        assert_eq!(text.lines().count(), 6);
        assert!(text.starts_with("source,record_key,person,role\ntest,r1,P0000"));
        let merges = graph.choose_merges(&world, 1);
        assert!(merges.is_empty());
        let s = graph.stats(&world, &merges);
        // A: 1 cluster; B: 2; visitors: 2.
        assert_eq!(s.clusters_all, 5);
        assert_eq!(s.clusters_without_merges, 5);
        assert_eq!(s.clusters_without_domain_aliases, 5);
        assert_eq!(s.persons_in_records, 4);
        assert_eq!(s.split, 1);
        // Without phones A's role-mailbox ticket is on its own.
        assert_eq!(s.clusters_without_phones, 6);
        assert_eq!(s.only_via_phones, 1);
        // A: 7 records, 21 pairs, all found; B: 1 pair, lost; visitors: 3.
        assert_eq!(s.true_pairs, 21 + 1 + 3);
        assert_eq!(s.predicted_pairs, 21 + 3);
        assert_eq!(s.correct_pairs, 21 + 3);
        assert_eq!(s.visitors, (2, 4));
    }

    #[test]
    fn merges_join_personal_and_work_clusters() {
        let world = World::build(400, 3);
        let p = (0..world.n as u32)
            .find(|&p| {
                let person = &world.persons[p as usize];
                person.company != NONE
                    && !person.personal.is_empty()
                    && person.flags & DUAL == 0
                    && world.companies[person.company as usize].old.is_none()
            })
            .expect("a work person with a personal address");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut t = Truth::create(dir.path(), &world).expect("create");
        t.record("test", "w", p, &[Id::Email(p, Addr::Work)])
            .expect("record");
        t.record("test", "g", p, &[Id::Email(p, Addr::Personal)])
            .expect("record");
        let (_, graph) = t.finish().expect("finish");
        // Most candidates are merged: find a seed that picks this one.
        let merges = (0..64)
            .map(|seed| graph.choose_merges(&world, seed))
            .find(|m| !m.is_empty())
            .expect("some seed merges");
        assert_eq!(merges, vec![(p, Addr::Work)]);
        let s = graph.stats(&world, &merges);
        assert_eq!(s.clusters_all, 1);
        assert_eq!(s.clusters_without_merges, 2);
        assert_eq!(s.only_via_merges, 1);
        assert_eq!((s.true_pairs, s.correct_pairs), (1, 1));
    }

    #[test]
    fn scores() {
        let s = IdentityStats {
            true_pairs: 10,
            predicted_pairs: 8,
            correct_pairs: 8,
            ..IdentityStats::default()
        };
        let (p, r, f) = s.best_possible();
        assert_eq!(p, 1.0);
        assert!((r - 0.8).abs() < 1e-12);
        assert!((f - 2.0 * 0.8 / 1.8).abs() < 1e-12);
        assert_eq!(IdentityStats::default().best_possible(), (1.0, 1.0, 1.0));
    }
}
