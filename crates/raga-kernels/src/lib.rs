//! The innermost loops of the features, alone in a crate so that a build for size can still
//! compile them for speed.
//!
//! The npm package is built at `opt-level = "z"`, where LLVM vectorises no loops (its
//! functions carry `minsize`), and pYIN's Viterbi spent most of the browser's feature time
//! in a loop that AVX2 does eight lanes at a time natively. The workspace builds this crate
//! at `opt-level = 3` in every profile (`[profile.*.package.raga-kernels]`); its entry
//! points are `#[inline(never)]` so their loops are not inlined into — and compiled like — a
//! size-optimised caller. Each call does a whole frame's work, so the call costs nothing.
//!
//! **Invariant:** plain, portable Rust with exactly the scalar semantics the callers
//! document (bit-for-bit results); no I/O, no allocation, no dependencies.

/// One frame of pYIN's banded max-plus transition, voiced (`p`) and unvoiced (`q`) sources:
/// for every offset `j` of `0..span`, `p[to] = max(p[to], dv[from] + lt[k][from])` and the
/// same for `q` from `du`, where `k = span − 1 − j`, `from = to + j − reach`, over the `to`
/// whose `from` is a bin. `lt` holds `span` rows of `n` values (`n = dv.len()`).
///
/// `p` and `q` are overwritten: they start at −∞.
#[inline(never)]
pub fn max_plus_band(dv: &[f32], du: &[f32], lt: &[f32], reach: usize, p: &mut [f32], q: &mut [f32]) {
    let n = dv.len();
    let span = 2 * reach + 1;
    if du.len() != n || p.len() != n || q.len() != n || lt.len() < span * n {
        return;
    }
    p.fill(f32::NEG_INFINITY);
    q.fill(f32::NEG_INFINITY);
    for j in 0..span {
        let k = span - 1 - j;
        let to_lo = reach.saturating_sub(j);
        let to_hi = (n + reach).saturating_sub(j).min(n);
        if to_lo >= to_hi {
            continue;
        }
        let from_lo = to_lo + j - reach;
        let len = to_hi - to_lo;
        let (dv, du, lt) = (&dv[from_lo..][..len], &du[from_lo..][..len], &lt[k * n + from_lo..][..len]);
        let (p, q) = (&mut p[to_lo..to_hi], &mut q[to_lo..to_hi]);
        for i in 0..len {
            let (cp, cq) = (dv[i] + lt[i], du[i] + lt[i]);
            // A plain compare-and-select (not `f32::max`, a libm call on wasm) is one `max`.
            p[i] = if cp > p[i] { cp } else { p[i] };
            q[i] = if cq > q[i] { cq } else { q[i] };
        }
    }
}

/// pYIN's switch between voiced and unvoiced for one frame: with `p`/`q` the best scores
/// into each bin from voiced/unvoiced sources (see [`max_plus_band`]),
/// `cv[i] = max(p[i] + stay, q[i] + change) + lv[i]` and
/// `cu[i] = max(p[i] + change, q[i] + stay) + lu[i]`. Scores are never NaN (−∞ at worst), so
/// the compare-and-select below is `f32::max` (which on wasm is a libm call per value).
#[inline(never)]
pub fn switch_states(
    (p, q): (&[f32], &[f32]),
    (stay, change): (f32, f32),
    (lv, lu): (&[f32], &[f32]),
    cv: &mut [f32],
    cu: &mut [f32],
) {
    let n = p.len().min(q.len()).min(lv.len()).min(lu.len()).min(cv.len()).min(cu.len());
    let (p, q, lv, lu, cv, cu) = (&p[..n], &q[..n], &lv[..n], &lu[..n], &mut cv[..n], &mut cu[..n]);
    let max = |a: f32, b: f32| if a > b { a } else { b };
    for i in 0..n {
        cv[i] = max(p[i] + stay, q[i] + change) + lv[i];
        cu[i] = max(p[i] + change, q[i] + stay) + lu[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition() {
        let (n, reach) = (7, 2);
        let span = 2 * reach + 1;
        let dv: Vec<f32> = (0..n).map(|i| (i as f32 * 1.7).sin()).collect();
        let du: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).cos()).collect();
        let lt: Vec<f32> = (0..span * n).map(|i| -((i % 5) as f32) * 0.25).collect();
        let (mut p, mut q) = (vec![0f32; n], vec![0f32; n]);
        max_plus_band(&dv, &du, &lt, reach, &mut p, &mut q);
        for to in 0..n {
            let (mut bp, mut bq) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
            for from in to.saturating_sub(reach)..=(to + reach).min(n - 1) {
                let k = to + reach - from;
                bp = bp.max(dv[from] + lt[k * n + from]);
                bq = bq.max(du[from] + lt[k * n + from]);
            }
            assert_eq!((p[to], q[to]), (bp, bq), "bin {to}");
        }
    }
}
