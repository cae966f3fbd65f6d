//! Deterministic random helpers on top of ChaCha8 (same stream on every platform).

use rand::{Rng as _, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The generator every part of the renderer draws from.
pub(crate) type Rng = ChaCha8Rng;

/// The splitmix64 finaliser: a bijection on `u64` that scrambles bits well.
pub(crate) const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An independent generator for one part of the renderer, so that changing how one part
/// draws numbers does not shift the others.
pub(crate) fn stream(seed: u64, part: u64) -> Rng {
    ChaCha8Rng::seed_from_u64(splitmix64(seed ^ splitmix64(part.wrapping_add(0xA5A5_0000))))
}

/// Uniform in `[lo, hi)`.
pub(crate) fn uniform(rng: &mut Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

/// Uniform in `[lo, hi)`, double precision.
pub(crate) fn uniform64(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// Log-uniform in `[lo, hi)` (both positive).
pub(crate) fn log_uniform(rng: &mut Rng, lo: f32, hi: f32) -> f32 {
    (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f32>()).exp()
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut Rng, p: f32) -> bool {
    rng.random::<f32>() < p
}

/// A uniformly chosen index below `n` (0 when `n` is 0).
pub(crate) fn index(rng: &mut Rng, n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        // Multiply-shift: unbiased enough for musical choices, identical on every platform.
        ((u64::from(rng.next_u32()) * n as u64) >> 32) as usize
    }
}

/// An index drawn with probability proportional to `weights` (0 when all are 0).
pub(crate) fn weighted(rng: &mut Rng, weights: &[f32]) -> usize {
    let total: f32 = weights.iter().map(|w| w.max(0.0)).sum();
    if total <= 0.0 {
        return 0;
    }
    let mut x = rng.random::<f32>() * total;
    for (i, w) in weights.iter().enumerate() {
        x -= w.max(0.0);
        if x < 0.0 {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

/// A standard normal sample (Box–Muller).
pub(crate) fn gauss(rng: &mut Rng) -> f32 {
    let u1 = rng.random::<f32>().max(1e-7);
    let u2 = rng.random::<f32>();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// White noise in `[-1, 1)`.
pub(crate) fn white(rng: &mut Rng) -> f32 {
    rng.random::<f32>() * 2.0 - 1.0
}
