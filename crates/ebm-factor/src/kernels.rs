//! Table kernels over contiguous memory for exact inference: the product of a clique's
//! tables (a sum of log-potentials, row by row: [`crate::rows::product`]), per-block
//! log-sum-exp and max-out of the innermost variable, and block scaling.
//!
//! A table's layout puts the variable eliminated from it last (innermost), so summing or
//! maxing it out reads contiguous blocks: the inner loops are plain slices the compiler
//! vectorizes, the exponential included ([`exp_nonpositive`], a polynomial instead of a
//! library call per entry). Tables above [`PARALLEL_MIN`] entries are split across the
//! rayon pool in chunks of a fixed size, each entry computed by the same operations in the
//! same order whatever the thread count, so results do not depend on the number of
//! threads.

use crate::rows::{Strided, strides_along};
use crate::table::LogTable;
use rayon::prelude::*;

/// Tables of at least this many entries are split across threads.
pub const PARALLEL_MIN: usize = 1 << 16;

/// Entries per parallel chunk (fixed, so the results do not depend on the thread count).
pub(crate) const CHUNK: usize = 1 << 14;

/// The product of `tables` (each over a sub-scope of `layout`, any order of its
/// variables) laid out over `layout` with `cards`, row by row ([`crate::rows::product`]),
/// written into `out` (its memory reused).
pub fn product_of<'a>(
    layout: &[usize],
    cards: &[usize],
    tables: impl IntoIterator<Item = &'a LogTable>,
    out: &mut Vec<f64>,
) {
    let inputs: Vec<Strided> = tables
        .into_iter()
        .map(|t| Strided {
            values: &t.values,
            strides: strides_along(layout, &t.vars, &t.cards),
        })
        .collect();
    crate::rows::product(cards, &inputs, out);
}

/// `ln 2` split in two: `n * LN2_HI` is exact for `|n| < 2^20` and `LN2_HI + LN2_LO` is
/// `ln 2` to about 1e-27.
const LN2_HI: f64 = 0.693_147_180_369_123_8;
/// The rest of `ln 2` after [`LN2_HI`].
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// Below this, [`exp_nonpositive`] gives 0 (its power of two would be subnormal): an
/// entry `e^-708` times its block's maximum, which is far below the block's sum.
const EXP_ZERO: f64 = -708.0;

/// `exp(x)` for `x <= 0` (`-inf` included), 0 below -708 (`EXP_ZERO`): `2^n e^r` with `n` the
/// nearest integer to `x / ln 2` (Cody-Waite, `|r| <= ln 2 / 2`) and `e^r` by its Taylor
/// polynomial of degree 13 (truncation below `r^14 / 14! < 5e-18`), so within a few ulp
/// of the library's `exp`. Branch-free, so a loop over a slice vectorizes; the
/// polynomial is evaluated by Estrin's scheme (pairs, then powers `r^2`, `r^4`, `r^8`), a
/// short dependency chain where Horner's would make the loop wait on each step.
#[inline(always)]
pub fn exp_nonpositive(x: f64) -> f64 {
    /// `1.5 * 2^52`: adding it rounds to an integer held in the low mantissa bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    /// `1 / k!` for `k <= 13`.
    const C: [f64; 14] = [
        1.0,
        1.0,
        1.0 / 2.0,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let clamped = x.max(EXP_ZERO);
    let shifted = clamped * std::f64::consts::LOG2_E + SHIFT;
    let n = shifted - SHIFT;
    let r = (clamped - n * LN2_HI) - n * LN2_LO;
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let pair = |k: usize| C[k] + C[k + 1] * r;
    let low = (pair(0) + pair(2) * r2) + (pair(4) + pair(6) * r2) * r4;
    let high = (pair(8) + pair(10) * r2) + pair(12) * r4;
    let p = low + high * r8;
    // The integer `n` (two's complement in the shifted mantissa), moved into the exponent.
    let exponent = (shifted.to_bits() as i64 - SHIFT.to_bits() as i64 + 1023) << 52;
    let y = p * f64::from_bits(exponent as u64);
    if x < EXP_ZERO { 0.0 } else { y }
}

/// `ln(x)` for a positive normal `x` (a block's sum of `exp(x - max)`, at least 1):
/// `e ln 2 + ln m` with `x = 2^e m`, `m` in `[sqrt(1/2), sqrt 2)`, and
/// `ln m = 2 atanh(f)`, `f = (m - 1) / (m + 1)` (`|f| < 0.172`), by its series to `f^21`
/// (truncation below `0.172^23 / 23 < 2e-19`), so within a few ulp of the library's
/// `ln`. Branch-free, so a loop over a slice vectorizes; other inputs give garbage, not
/// a panic.
#[inline(always)]
pub fn ln_positive(x: f64) -> f64 {
    /// `2^52`, as bits and as a float: the biased exponent read as a float.
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let bits = x.to_bits();
    let mantissa = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    let biased = f64::from_bits(TWO52.to_bits() | (bits >> 52)) - TWO52;
    let high = mantissa > std::f64::consts::SQRT_2;
    let m = if high { mantissa * 0.5 } else { mantissa };
    let e = biased - 1023.0 + if high { 1.0 } else { 0.0 };
    let f = (m - 1.0) / (m + 1.0);
    // The sum of f2^k / (2k + 1) for k <= 10, by Estrin's scheme (see
    // [`exp_nonpositive`]).
    let f2 = f * f;
    let f4 = f2 * f2;
    let f8 = f4 * f4;
    let pair = |k: u32| 1.0 / f64::from(2 * k + 1) + f2 / f64::from(2 * k + 3);
    let low = (pair(0) + pair(2) * f4) + (pair(4) + pair(6) * f4) * f8;
    let high = pair(8) + f4 / 21.0;
    let p = low + high * (f8 * f8);
    e * LN2_HI + (e * LN2_LO + 2.0 * f * p)
}

/// Every entry of `values` (all `<= 0`) to its [`exp_nonpositive`]: compiled for AVX2
/// where the processor has it (4 lanes instead of SSE2's 2; the same operations, and no
/// fused multiply-add is formed, so the same bits either way).
fn exp_all(values: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `exp_all_avx2` only needs AVX2, which this processor was just found to
        // have.
        unsafe { exp_all_avx2(values) };
        return;
    }
    exp_all_portable(values);
}

/// [`exp_all`]'s loop, inlined into each instruction-set version.
#[inline(always)]
fn exp_all_portable(values: &mut [f64]) {
    values.iter_mut().for_each(|x| *x = exp_nonpositive(*x));
}

/// [`exp_all_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn exp_all_avx2(values: &mut [f64]) {
    exp_all_portable(values);
}

/// `values` folded by `f` from `init` in four interleaved lanes (entries `i mod 4`, then
/// the lanes in order): four independent chains the processor overlaps, where one fold
/// waits on every step. A fixed order, so the result depends on the values alone.
#[inline(always)]
fn lanes(values: &[f64], init: f64, f: impl Fn(f64, f64) -> f64) -> f64 {
    let mut acc = [init; 4];
    let quads = values.chunks_exact(4);
    let rest = quads.remainder();
    for q in quads {
        for (a, &x) in acc.iter_mut().zip(q) {
            *a = f(*a, x);
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a = f(*a, x);
    }
    f(f(acc[0], acc[1]), f(acc[2], acc[3]))
}

/// Blocks whose inverse sums [`exp_blocks`] computes at a time when keeping.
const INVERSES: usize = 256;

/// Blocks' log-sum-exp, turning each block into `exp(x - max)` and writing its `max` and
/// log-sum-exp (`-inf`, `-inf` for a block of zeros): the maxima subtracted block by
/// block, then one flat exponential pass, the blocks' sums, one flat logarithm pass.
/// With `keep`, each block divided by its sum (zeros for a block of zeros) is also written
/// there in f32, while the chunk is in cache.
fn exp_blocks<K: KeptEntry>(
    values: &mut [f64],
    block: usize,
    maxima: &mut [f64],
    sums: &mut [f64],
    keep: Option<&mut [K]>,
) {
    for (b, m) in values.chunks_mut(block).zip(maxima.iter_mut()) {
        *m = lanes(b, f64::NEG_INFINITY, |a, x| if x > a { x } else { a });
        if *m == f64::NEG_INFINITY {
            b.fill(f64::NEG_INFINITY);
        } else {
            let max = *m;
            b.iter_mut().for_each(|x| *x -= max);
        }
    }
    exp_all(values);
    for (b, s) in values.chunks(block).zip(sums.iter_mut()) {
        *s = lanes(b, 0.0, |a, x| a + x);
    }
    if let Some(keep) = keep {
        // The blocks' inverse sums a group at a time (a flat division loop that
        // vectorizes, where one division per block of two waits on each), then the
        // scaled copy.
        let mut inverses = [0.0f64; INVERSES];
        let groups = values
            .chunks(INVERSES * block)
            .zip(keep.chunks_mut(INVERSES * block))
            .zip(sums.chunks(INVERSES));
        for ((values, keep), sums) in groups {
            let inverses = &mut inverses[..sums.len()];
            inverses
                .iter_mut()
                .zip(sums)
                .for_each(|(i, &s)| *i = if s > 0.0 { 1.0 / s } else { 0.0 });
            if block == 2 {
                let pairs = keep.chunks_exact_mut(2).zip(values.chunks_exact(2));
                for ((k, x), &i) in pairs.zip(&*inverses) {
                    k[0] = K::from_f64(x[0] * i);
                    k[1] = K::from_f64(x[1] * i);
                }
            } else {
                let blocks = keep.chunks_mut(block).zip(values.chunks(block));
                for ((k, x), &i) in blocks.zip(&*inverses) {
                    k.iter_mut()
                        .zip(x)
                        .for_each(|(k, &x)| *k = K::from_f64(x * i));
                }
            }
        }
    }
    for (s, &m) in sums.iter_mut().zip(maxima.iter()) {
        *s = if m == f64::NEG_INFINITY {
            m
        } else {
            m + ln_positive(*s)
        };
    }
}

/// Sum out the innermost variable (`block` values) of a log table in log space: turns
/// `values` into `exp(x - max_b)` per block `b`, writes each block's `max_b` into
/// `maxima` (resized; its memory reused) and returns each block's log-sum-exp.
pub fn sum_out_blocks(values: &mut [f64], block: usize, maxima: &mut Vec<f64>) -> Vec<f64> {
    sum_out_blocks_keeping::<f32>(values, block, maxima, None)
}

/// An element type a kept linear table is stored in (f32 to halve the memory of large
/// cliques, f64 for small ones).
pub trait KeptEntry: Copy + Send + Sync + Into<f64> {
    /// `x` rounded to this type.
    fn from_f64(x: f64) -> Self;
}

impl KeptEntry for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}

impl KeptEntry for f64 {
    fn from_f64(x: f64) -> Self {
        x
    }
}

/// [`sum_out_blocks`], also writing into `keep` (as long as `values`) each block of
/// `exp(x - max_b)` divided by its sum: the clique table normalized per block ([`KeptEntry`]),
/// that the downward pass reuses (each block's belief is its block times the block's
/// weight, with no maxima or upward messages kept). Written chunk by chunk while the
/// chunk is in cache, so keeping costs the f32 writes, not another pass over the table.
pub fn sum_out_blocks_keeping<K: KeptEntry>(
    values: &mut [f64],
    block: usize,
    maxima: &mut Vec<f64>,
    keep: Option<&mut [K]>,
) -> Vec<f64> {
    let blocks = values.len() / block;
    maxima.resize(blocks, 0.0);
    let mut sums = vec![0.0; blocks];
    let per_chunk = (CHUNK / block).max(1);
    let run = |values: &mut [f64], maxima: &mut [f64], sums: &mut [f64], keep| {
        exp_blocks(values, block, maxima, sums, keep);
    };
    let parallel = values.len() >= PARALLEL_MIN;
    match keep {
        Some(keep) if parallel => values
            .par_chunks_mut(per_chunk * block)
            .zip(keep.par_chunks_mut(per_chunk * block))
            .zip(
                maxima
                    .par_chunks_mut(per_chunk)
                    .zip(sums.par_chunks_mut(per_chunk)),
            )
            .for_each(|((v, k), (m, s))| run(v, m, s, Some(k))),
        None if parallel => values
            .par_chunks_mut(per_chunk * block)
            .zip(
                maxima
                    .par_chunks_mut(per_chunk)
                    .zip(sums.par_chunks_mut(per_chunk)),
            )
            .for_each(|(v, (m, s))| run(v, m, s, None)),
        keep => run(values, maxima, &mut sums, keep),
    }
    sums
}

/// Max out the innermost variable (`block` values) of a log table: each block's maximum
/// and its first argmax.
pub fn max_out_blocks(values: &[f64], block: usize) -> (Vec<f64>, Vec<u32>) {
    let one = |b: &[f64]| {
        b.iter()
            .enumerate()
            .fold((f64::NEG_INFINITY, 0u32), |best, (x, &v)| {
                if v > best.0 { (v, x as u32) } else { best }
            })
    };
    if values.len() >= PARALLEL_MIN {
        values.par_chunks(block).map(one).unzip()
    } else {
        values.chunks(block).map(one).unzip()
    }
}

/// Multiply each block of `block` entries of `values` by its weight (in place).
pub fn scale_blocks(values: &mut [f64], block: usize, weights: &[f64]) {
    let one = |(rows, w): (&mut [f64], &[f64])| {
        for (row, &w) in rows.chunks_mut(block).zip(w) {
            row.iter_mut().for_each(|p| *p *= w);
        }
    };
    if values.len() >= PARALLEL_MIN {
        let per_chunk = (CHUNK / block).max(1);
        values
            .par_chunks_mut(per_chunk * block)
            .zip(weights.par_chunks(per_chunk))
            .for_each(one);
    } else {
        one((values, weights));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::marginals_onto;
    use crate::table::{combine_and_eliminate, product as generic_product};

    /// A table over `vars` with deterministic pseudo-random log values.
    fn table(vars: &[usize], cards: &[usize], seed: u64) -> LogTable {
        let len: usize = cards.iter().product();
        let mut s = seed;
        let values = (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) % 1000) as f64 / 250.0 - 2.0
            })
            .collect();
        LogTable::new(vars, cards, values)
    }

    /// The layout (ascending, `last` moved innermost) of a union scope.
    fn layout_of(vars: &[usize], last: usize) -> Vec<usize> {
        let mut l: Vec<usize> = vars.iter().copied().filter(|&v| v != last).collect();
        l.push(last);
        l
    }

    /// Product, sum-out and max-out against the generic index loops of `table`, on scopes
    /// that need broadcasting and re-layout, small and split across threads.
    fn check(cards_of: &[usize], eliminated: usize) {
        let all: Vec<usize> = (0..cards_of.len()).collect();
        let tables = [
            table(&[0, eliminated], &[cards_of[0], cards_of[eliminated]], 1),
            table(&all, cards_of, 2),
            table(&[1, 2], &[cards_of[1], cards_of[2]], 3),
            table(&[eliminated], &[cards_of[eliminated]], 4),
        ];
        let refs: Vec<&LogTable> = tables.iter().collect();
        let layout = layout_of(&all, eliminated);
        let cards: Vec<usize> = layout.iter().map(|&v| cards_of[v]).collect();
        let mut joint = Vec::new();
        product_of(&layout, &cards, &tables, &mut joint);
        let want = generic_product(&refs);
        let got = LogTable::new(&layout, &cards, joint.clone());
        assert_eq!((&got.vars, got.len()), (&want.vars, want.len()));
        for (a, b) in got.values.iter().zip(&want.values) {
            assert!((a - b).abs() < 1e-12);
        }
        let block = cards_of[eliminated];
        let (maxima, _) = max_out_blocks(&joint, block);
        let (want_max, _) = combine_and_eliminate(&refs, eliminated, true);
        let (want_sum, _) = combine_and_eliminate(&refs, eliminated, false);
        let sums = sum_out_blocks(&mut joint, block, &mut Vec::new());
        for ((m, s), (wm, ws)) in maxima
            .iter()
            .zip(&sums)
            .zip(want_max.values.iter().zip(&want_sum.values))
        {
            assert!((m - wm).abs() < 1e-12 && (s - ws).abs() < 1e-10, "{s} {ws}");
        }
        // Marginal of (other, eliminated) of the linear table, against its sums.
        let other = usize::from(eliminated == 0);
        let target = [other.min(eliminated), other.max(eliminated)];
        let target_cards = [cards_of[target[0]], cards_of[target[1]]];
        let along = crate::rows::strides_along(&layout, &target, &target_cards);
        let marg = marginals_onto(&joint, &cards, &[(along, cards_of[other] * block)], None);
        let marg = &marg[0];
        assert_eq!(marg.len(), cards_of[other] * block);
        let (stride_o, stride_e) = if other < eliminated {
            (block, 1)
        } else {
            (1, cards_of[other])
        };
        for xo in 0..cards_of[other] {
            for xe in 0..block {
                let want: f64 = joint
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| {
                        let mut rest = *i;
                        let mut value = [0usize; 8];
                        for k in (0..layout.len()).rev() {
                            value[layout[k]] = rest % cards[k];
                            rest /= cards[k];
                        }
                        value[other] == xo && value[eliminated] == xe
                    })
                    .map(|(_, p)| p)
                    .sum();
                let got = marg[xo * stride_o + xe * stride_e];
                assert!((got - want).abs() < 1e-9 * want.max(1.0), "{got} {want}");
            }
        }
        let total: f64 = joint.iter().sum();
        assert!((marg.iter().sum::<f64>() - total).abs() < 1e-9 * total);
    }

    /// The polynomial exponential against the library's, relative error within 1e-15
    /// (about five ulp: a few roundings of a polynomial whose truncation error is below
    /// 5e-18; a wrong coefficient or reduction is off by far more),
    /// on a fine grid of `[-708, 0]`; 0 below that and at `-inf`.
    #[test]
    fn exp_nonpositive_matches_the_library() {
        for i in 0..=2_000_000 {
            let x = -708.0 * f64::from(i) / 2e6;
            let (got, want) = (exp_nonpositive(x), x.exp());
            assert!((got - want).abs() <= 1e-15 * want, "{x}: {got} {want}");
        }
        assert_eq!(exp_nonpositive(0.0), 1.0);
        for x in [-708.5, -745.0, -1e300, f64::NEG_INFINITY] {
            assert_eq!(exp_nonpositive(x), 0.0);
        }
    }

    /// The series logarithm against the library's, within 1e-15 absolute where `|ln|`
    /// is below 1 and 1e-15 relative above (a few roundings; truncation below 2e-19), on
    /// the range a block's sum takes (1 to a clique's size) and a wider one.
    #[test]
    fn ln_positive_matches_the_library() {
        let mut x = 1e-300;
        while x < 1e300 {
            for k in 0..64 {
                let y = x * (1.0 + f64::from(k) / 64.0);
                let (got, want) = (ln_positive(y), y.ln());
                let tolerance = 1e-15 * want.abs().max(1.0);
                assert!((got - want).abs() <= tolerance, "{y}: {got} {want}");
            }
            x *= 1.37;
        }
        for i in 0..=1_000_000 {
            let y = 1.0 + f64::from(i) / 1e4;
            let (got, want) = (ln_positive(y), y.ln());
            assert!(
                (got - want).abs() <= 1e-15 * want.max(1.0),
                "{y}: {got} {want}"
            );
        }
        assert_eq!(ln_positive(1.0), 0.0);
    }

    /// The dispatched exponential pass (AVX2 where available, the `unsafe` call) gives
    /// the same bits as the portable loop, entry by entry.
    #[test]
    fn exp_all_matches_the_portable_loop() {
        let grid: Vec<f64> = (0..10_007)
            .map(|i| -750.0 * f64::from(i) / 10_000.0)
            .chain([f64::NEG_INFINITY, -0.0])
            .collect();
        let (mut fast, mut portable) = (grid.clone(), grid.clone());
        exp_all(&mut fast);
        exp_all_portable(&mut portable);
        for ((a, b), &x) in fast.iter().zip(&portable).zip(&grid) {
            assert_eq!(a.to_bits(), b.to_bits(), "{x}");
            assert_eq!(a.to_bits(), exp_nonpositive(x).to_bits(), "{x}");
        }
    }

    #[test]
    fn kernels_match_the_generic_loops() {
        check(&[2, 3, 2, 4], 1);
        check(&[3, 2, 2], 2);
        check(&[2, 2, 2], 0);
        // Above PARALLEL_MIN: the chunked paths.
        check(&[4, 8, 8, 8, 4, 8, 2], 3);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let all: Vec<usize> = (0..8).collect();
        let cards = vec![4; 8];
        let t = table(&all, &cards, 9);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut joint = Vec::new();
                product_of(&all, &cards, [&t], &mut joint);
                let sums = sum_out_blocks(&mut joint, 4, &mut vec![1.0; 3]);
                let w = vec![0.5; joint.len() / 4];
                scale_blocks(&mut joint, 4, &w);
                let target = (strides_along(&all, &[0, 5], &[4, 4]), 16);
                (sums, marginals_onto(&joint, &cards, &[target], None))
            })
        };
        assert_eq!(run(1), run(3));
    }
}
