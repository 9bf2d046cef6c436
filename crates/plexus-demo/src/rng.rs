//! Seeded randomness helpers.
//!
//! Every part of the output draws from its own ChaCha8 stream of the same
//! seed, so changing how one file is generated leaves the others unchanged,
//! and the output depends on nothing but the seed (no platform-width draws).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random stream number `k` of `seed`.
pub(crate) fn stream(seed: u64, k: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(k);
    rng
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A Pareto(alpha) draw with minimum 1: heavy-tailed, mean alpha/(alpha-1).
pub(crate) fn pareto(rng: &mut impl Rng, alpha: f64) -> f64 {
    let u = 1.0 - rng.random::<f64>(); // in (0, 1]
    u.powf(-1.0 / alpha)
}

/// A uniformly chosen element of a non-empty list.
pub(crate) fn pick<T: Copy>(rng: &mut impl Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len() as u32) as usize]
}

/// An element chosen with probability proportional to its weight.
pub(crate) fn weighted<T: Copy>(rng: &mut impl Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut x = rng.random_range(0..total);
    for &(item, w) in items {
        if x < w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}
