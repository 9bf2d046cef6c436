//! Property: entities do not depend on the order of identifiers and links.

use std::collections::BTreeSet;

use plexus_identity::IdentityGraph;
use proptest::prelude::*;

/// Resolves `links` (pairs of small ints as emails) and returns the partition as sorted
/// sets of values plus each value's entity id.
fn partition(links: &[(u8, u8)]) -> BTreeSet<(String, BTreeSet<String>)> {
    let mut g = IdentityGraph::new();
    let t = g.type_id("email");
    for (a, b) in links {
        let (a, b) = (
            g.intern(t, &format!("{a}@x.io")),
            g.intern(t, &format!("{b}@x.io")),
        );
        g.link(a, b);
    }
    let r = g.resolve("per");
    let mut sets: Vec<BTreeSet<String>> = vec![BTreeSet::new(); r.entities.len()];
    for node in 0..g.len() as u32 {
        sets[r.entity_of[node as usize] as usize].insert(g.value(node).to_string());
    }
    r.entities.iter().map(|e| e.id.clone()).zip(sets).collect()
}

proptest! {
    #[test]
    fn same_entities_and_ids_in_any_order(
        links in prop::collection::vec((0u8..40, 0u8..40), 0..120),
        seed in any::<u64>(),
    ) {
        let mut shuffled = links.clone();
        // Deterministic shuffle from the seed, and flip each pair's direction.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let flipped: Vec<_> = shuffled.iter().map(|&(a, b)| (b, a)).collect();
        prop_assert_eq!(partition(&links), partition(&flipped));
    }

    #[test]
    fn components_match_a_naive_closure(links in prop::collection::vec((0u8..20, 0u8..20), 0..40)) {
        // Naive fixed-point closure as the oracle.
        let mut label: std::collections::BTreeMap<u8, u8> = BTreeMap::new();
        for &(a, b) in &links { label.insert(a, a); label.insert(b, b); }
        loop {
            let mut changed = false;
            for &(a, b) in &links {
                let m = label[&a].min(label[&b]);
                if label[&a] != m { label.insert(a, m); changed = true; }
                if label[&b] != m { label.insert(b, m); changed = true; }
            }
            if !changed { break; }
        }
        let expected: BTreeSet<BTreeSet<String>> = label.values().collect::<BTreeSet<_>>().into_iter()
            .map(|l| label.iter().filter(|(_, v)| *v == l).map(|(k, _)| format!("{k}@x.io")).collect())
            .collect();
        let got: BTreeSet<BTreeSet<String>> = partition(&links).into_iter().map(|(_, s)| s).collect();
        prop_assert_eq!(got, expected);
    }
}

use std::collections::BTreeMap;
