//! Sorting rows by numbers first and text only where the numbers tie.
//!
//! The identity tables are ordered by entity, then identifier type, then value. Sorting
//! tens of millions of identifiers with one comparator that looks up each side's entity,
//! type name and value costs a few cache misses per comparison (the values live behind
//! pointers), `n log n` times: at a million persons it was most of the `write warehouse`
//! stage, on one core. Here each row's numbers are taken once, the rows are sorted by
//! them, and only the short runs that tie (one person's identifiers of one type) compare
//! their text.

use std::cmp::Ordering;

/// Sorts `items` as `sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| tie(a, b)))` would,
/// stably, calling `key` once per item and `tie` only within runs of equal keys.
pub(crate) fn sort_keyed<T: Copy, K: Ord + Copy>(
    items: &mut Vec<T>,
    key: impl Fn(T) -> K,
    mut tie: impl FnMut(T, T) -> Ordering,
) {
    let mut keyed: Vec<(K, T)> = items.iter().map(|&t| (key(t), t)).collect();
    keyed.sort_by_key(|&(k, _)| k);
    for run in keyed.chunk_by_mut(|a, b| a.0 == b.0) {
        if run.len() > 1 {
            run.sort_by(|a, b| tie(a.1, b.1));
        }
    }
    items.clear();
    items.extend(keyed.into_iter().map(|(_, t)| t));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn same_order_as_one_comparator(rows in prop::collection::vec((0u8..6, 0u8..3, "[ab]{0,3}", 0u16..1000), 0..200)) {
            let text: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
            let mut expected: Vec<usize> = (0..rows.len()).collect();
            expected.sort_by(|&a, &b| {
                (rows[a].0, rows[a].1)
                    .cmp(&(rows[b].0, rows[b].1))
                    .then_with(|| text[a].cmp(&text[b]))
            });
            let mut got: Vec<usize> = (0..rows.len()).collect();
            sort_keyed(&mut got, |i| (rows[i].0, rows[i].1), |a, b| text[a].cmp(&text[b]));
            prop_assert_eq!(got, expected);
        }
    }
}
