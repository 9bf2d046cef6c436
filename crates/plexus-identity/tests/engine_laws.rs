//! Properties of the guarded resolver: order independence, idempotence, exactness, the
//! merge and never-merge laws, limits, and id stability under unrelated additions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use plexus_identity::{
    Assertions, GuardOptions, IdentityGraph, NO_ENTITY, RuleKind, RulePair, resolve,
};
use proptest::prelude::*;

/// One record: its time and its identifiers as `(type, value)` indexes.
type Record = (i64, Vec<(u8, u8)>);

const TYPES: [&str; 3] = ["user_id", "email", "phone"];

fn ident((t, v): (u8, u8)) -> (&'static str, String) {
    let t = TYPES[t as usize % TYPES.len()];
    let v = if t == "email" && v == 0 {
        "info@x.io".to_string() // a role mailbox
    } else {
        format!("{v}")
    };
    (t, v)
}

fn records() -> impl Strategy<Value = Vec<Record>> {
    prop::collection::vec(
        (0i64..50, prop::collection::vec((0u8..3, 0u8..8), 1..4)),
        0..40,
    )
}

fn guards() -> GuardOptions {
    GuardOptions {
        limits: vec![("user_id".into(), 1)],
        max_strong_ids: Some(3),
        strong_types: vec!["user_id".into()],
    }
}

/// The partition: entity id -> its identifiers, plus the number of blocked links.
type Partition = (BTreeMap<String, BTreeSet<String>>, usize);

/// A pair of identifiers, as `(type, value)` indexes.
type Pair = ((u8, u8), (u8, u8));

struct Input<'a> {
    records: &'a [Record],
    merges: &'a [Pair],
    never: &'a [Pair],
}

fn run(input: &Input, guards: &GuardOptions) -> Partition {
    let mut g = IdentityGraph::new();
    let mut a = Assertions::new();
    for (time, ids) in input.records {
        let nodes: Vec<u32> = ids
            .iter()
            .map(|&x| {
                let (t, v) = ident(x);
                let t = g.type_id(t);
                let n = g.intern(t, &v);
                g.observe(n, Some(*time));
                n
            })
            .collect();
        // The key depends on the content, not the position, so that shuffling the records
        // shuffles their provenance with them.
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        let key = format!("{time}-{sorted:?}");
        a.assert(&nodes, Some(*time), 0, &Arc::from(key));
    }
    let node = |g: &mut IdentityGraph, x: (u8, u8)| {
        let (t, v) = ident(x);
        let t = g.type_id(t);
        g.intern(t, &v)
    };
    for (line, &(x, y)) in input.merges.iter().enumerate() {
        let (p, q) = (node(&mut g, x), node(&mut g, y));
        a.rules.push(RulePair {
            a: p,
            b: q,
            kind: RuleKind::Merge,
            file: "m.csv".into(),
            line: line as u64,
        });
    }
    for (line, &(x, y)) in input.never.iter().enumerate() {
        let (p, q) = (node(&mut g, x), node(&mut g, y));
        a.never.push(RulePair {
            a: p,
            b: q,
            kind: RuleKind::Merge,
            file: "n.csv".into(),
            line: line as u64,
        });
    }
    let r = resolve(
        &g,
        &a,
        guards,
        |t, v| t == "email" && v.starts_with("info@"),
        "per",
    );
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for n in 0..g.len() as u32 {
        let e = r.entity_of[n as usize];
        if e != NO_ENTITY {
            out.entry(r.entities[e as usize].id.clone())
                .or_default()
                .insert(format!("{}:{}", g.type_name(n), g.value(n)));
        }
    }
    (out, r.blocked.len())
}

fn shuffle<T: Clone>(v: &[T], seed: u64) -> Vec<T> {
    let mut v = v.to_vec();
    let mut s = seed | 1;
    for i in (1..v.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
    v
}

fn entity_of<'a>(p: &'a Partition, id: &str) -> Option<&'a String> {
    p.0.iter().find(|(_, s)| s.contains(id)).map(|(k, _)| k)
}

fn key((t, v): (u8, u8)) -> String {
    let (t, v) = ident((t, v));
    format!("{t}:{v}")
}

proptest! {
    #[test]
    fn same_result_in_any_order(recs in records(), seed in any::<u64>()) {
        let shuffled: Vec<Record> = shuffle(&recs, seed)
            .into_iter()
            .map(|(t, ids)| (t, shuffle(&ids, seed ^ 7)))
            .collect();
        let input = |r| Input { records: r, merges: &[], never: &[] };
        prop_assert_eq!(run(&input(&recs), &guards()), run(&input(&shuffled), &guards()));
    }

    #[test]
    fn asserting_everything_twice_changes_nothing(recs in records()) {
        let twice: Vec<Record> = recs.iter().chain(recs.iter()).cloned().collect();
        let a = run(&Input { records: &recs, merges: &[], never: &[] }, &guards());
        let b = run(&Input { records: &twice, merges: &[], never: &[] }, &guards());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn without_guards_entities_are_the_exact_components(recs in records()) {
        let none = GuardOptions::default();
        let (got, blocked) = run(&Input { records: &recs, merges: &[], never: &[] }, &none);
        // Role mailboxes are still quarantined: leave them out of the oracle.
        let ids: Vec<Vec<String>> = recs.iter()
            .map(|(_, ids)| ids.iter().map(|&x| key(x)).filter(|k| k != "email:info@x.io").collect())
            .collect();
        let mut label: BTreeMap<String, String> = BTreeMap::new();
        for set in &ids { for k in set { label.insert(k.clone(), k.clone()); } }
        loop {
            let mut changed = false;
            for set in &ids {
                let Some(m) = set.iter().map(|k| label[k].clone()).min() else { continue };
                for k in set {
                    if label[k] != m { label.insert(k.clone(), m.clone()); changed = true; }
                }
            }
            if !changed { break; }
        }
        let expected: BTreeSet<BTreeSet<String>> = label.values().collect::<BTreeSet<_>>().into_iter()
            .map(|l| label.iter().filter(|(_, v)| *v == l).map(|(k, _)| k.clone()).collect())
            .collect();
        let got: BTreeSet<BTreeSet<String>> = got.into_values()
            .map(|s| s.into_iter().filter(|k| k != "email:info@x.io").collect::<BTreeSet<_>>())
            .filter(|s| !s.is_empty())
            .collect();
        prop_assert_eq!(got, expected);
        let _ = blocked;
    }

    #[test]
    fn no_entity_exceeds_a_limit(recs in records()) {
        let (p, _) = run(&Input { records: &recs, merges: &[], never: &[] }, &guards());
        for set in p.values() {
            prop_assert!(set.iter().filter(|k| k.starts_with("user_id:")).count() <= 1);
        }
    }

    #[test]
    fn merged_identifiers_are_one(recs in records(), x in (0u8..3, 1u8..8), y in (0u8..3, 1u8..8)) {
        let merges = [(x, y)];
        let p = run(&Input { records: &recs, merges: &merges, never: &[] }, &guards());
        prop_assert_eq!(entity_of(&p, &key(x)), entity_of(&p, &key(y)));
    }

    #[test]
    fn never_merged_identifiers_are_apart(recs in records(), x in (0u8..3, 1u8..8), y in (0u8..3, 1u8..8)) {
        prop_assume!(key(x) != key(y));
        let never = [(x, y)];
        let p = run(&Input { records: &recs, merges: &[], never: &never }, &guards());
        let (a, b) = (entity_of(&p, &key(x)), entity_of(&p, &key(y)));
        // Identifiers no record uses belong to no one; the others must be apart.
        prop_assert!(a.is_none() || a != b, "{:?} and {:?} are one", x, y);
    }

    #[test]
    fn unrelated_additions_rename_no_one(recs in records(), extra in records()) {
        let before = run(&Input { records: &recs, merges: &[], never: &[] }, &guards());
        // The same shapes with values no existing record uses.
        let unrelated: Vec<Record> = extra.into_iter()
            .map(|(t, ids)| (t, ids.into_iter().map(|(ty, v)| (ty, v + 100)).collect()))
            .collect();
        let all: Vec<Record> = recs.iter().cloned().chain(unrelated).collect();
        let after = run(&Input { records: &all, merges: &[], never: &[] }, &guards());
        for (id, set) in &before.0 {
            prop_assert_eq!(after.0.get(id), Some(set), "entity {} changed", id);
        }
    }
}
