//! The identity side of the ground truth: how many resolved persons a
//! correct engine should find, computed exactly from which of each person's
//! addresses appear in valid records.
//!
//! Every address belongs to exactly one true person (the generator makes them
//! unique), so clusters never span two persons; per person, the addresses
//! that appear form 1 to 3 clusters depending on which links the engine uses:
//! - emails match after trimming and lower-casing (always),
//! - an app account's `user_id` ties its events to its email (always),
//! - `identity/merges.csv` ties a personal account's address to the work one,
//! - `identity/domain_aliases.csv` makes `x@old.com` the same as `x@new.com`.

use crate::world::{Addr, NONE, World};

/// Cluster counts and the persons that need each kind of link.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct IdentityStats {
    /// Persons with at least one valid record.
    pub persons_in_records: usize,
    /// Resolved persons expected with every rule (merges and domain aliases).
    pub clusters_all: usize,
    /// ... without applying `identity/merges.csv`.
    pub clusters_without_merges: usize,
    /// ... without applying `identity/domain_aliases.csv` to emails.
    pub clusters_without_domain_aliases: usize,
    /// ... with neither.
    pub clusters_without_either: usize,
    /// Persons that are one cluster only thanks to the merges file.
    pub only_via_merges: usize,
    /// Persons that are one cluster only thanks to the domain aliases.
    pub only_via_domain_aliases: usize,
    /// Persons whose records stay split in 2+ clusters even with every rule
    /// (e.g. a ticket from a personal address never tied to the work one).
    pub split: usize,
}

/// Number of connected components among the present address bits.
fn components(present: u8, edges: &[(u8, u8)]) -> usize {
    let mut parent = [0usize, 1, 2];
    fn root(parent: &[usize; 3], mut i: usize) -> usize {
        while parent[i] != i {
            i = parent[i];
        }
        i
    }
    for &(a, b) in edges {
        if present & a != 0 && present & b != 0 {
            let (ra, rb) = (
                root(&parent, a.trailing_zeros() as usize),
                root(&parent, b.trailing_zeros() as usize),
            );
            parent[ra] = rb;
        }
    }
    (0..3)
        .filter(|&i| present & (1 << i) != 0 && root(&parent, i) == i)
        .count()
}

/// Computes the identity statistics from [`World::seen`].
pub(crate) fn identity_stats(world: &World) -> IdentityStats {
    // The address kind of the work account each merged person was merged into.
    let mut merged_into: Vec<u8> = vec![0; world.n];
    for &(personal, work) in &world.merges {
        let a = &world.accounts[personal as usize];
        merged_into[a.person as usize] = world.accounts[work as usize].addr.bit();
    }
    let mut s = IdentityStats::default();
    for (p, &present) in world.seen.iter().enumerate() {
        if present == 0 {
            continue;
        }
        s.persons_in_records += 1;
        let company = world.persons[p].company;
        let renamed = company != NONE && world.companies[company as usize].old.is_some();
        let alias = renamed.then_some((Addr::Work.bit(), Addr::WorkOld.bit()));
        let merge = (merged_into[p] != 0).then_some((Addr::Personal.bit(), merged_into[p]));
        let all: Vec<(u8, u8)> = alias.into_iter().chain(merge).collect();
        let c_all = components(present, &all);
        let c_nm = components(present, &alias.into_iter().collect::<Vec<_>>());
        let c_na = components(present, &merge.into_iter().collect::<Vec<_>>());
        let c_none = components(present, &[]);
        s.clusters_all += c_all;
        s.clusters_without_merges += c_nm;
        s.clusters_without_domain_aliases += c_na;
        s.clusters_without_either += c_none;
        if c_all == 1 && c_nm > 1 {
            s.only_via_merges += 1;
        }
        if c_all == 1 && c_na > 1 {
            s.only_via_domain_aliases += 1;
        }
        if c_all > 1 {
            s.split += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_counts() {
        assert_eq!(components(0, &[]), 0);
        assert_eq!(components(0b111, &[]), 3);
        assert_eq!(components(0b111, &[(1, 2)]), 2);
        assert_eq!(components(0b111, &[(1, 2), (4, 2)]), 1);
        assert_eq!(components(0b101, &[(1, 2), (4, 2)]), 2);
        assert_eq!(components(0b101, &[(4, 1)]), 1);
    }
}
