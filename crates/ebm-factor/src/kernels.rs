//! Table kernels over contiguous memory for exact inference: broadcast product (a sum of
//! log-potentials), per-block log-sum-exp and max-out of the innermost variable, and
//! weighted marginalization onto a sub-scope.
//!
//! A table's layout puts the variable eliminated from it last (innermost), so summing or
//! maxing it out reads contiguous blocks, and every input is laid out in the same variable
//! order as the table it is added into, so each input covers contiguous runs (copied) or
//! is constant over them (broadcast): the inner loops are plain slices the compiler
//! vectorizes. Tables above [`PARALLEL_MIN`] entries are split across the rayon pool in
//! chunks of a fixed size, each entry computed by the same operations in the same order
//! whatever the thread count, so results do not depend on the number of threads.

use crate::rows::{Strided, strides, strides_along};
use crate::table::LogTable;
use rayon::prelude::*;

/// Tables of at least this many entries are split across threads.
pub const PARALLEL_MIN: usize = 1 << 16;

/// Entries per parallel chunk (fixed, so the results do not depend on the thread count).
pub(crate) const CHUNK: usize = 1 << 14;

/// The values of a table over `vars` (row-major) re-laid out over `order`, a permutation
/// of `vars`.
pub fn relayout(values: &[f64], vars: &[usize], cards: &[usize], order: &[usize]) -> Vec<f64> {
    if vars == order {
        return values.to_vec();
    }
    let source = strides(cards);
    let (along, out_cards): (Vec<usize>, Vec<usize>) = order
        .iter()
        .map(|v| {
            let k = vars.iter().position(|w| w == v).expect("a permutation");
            (source[k], cards[k])
        })
        .unzip();
    let mut out = Vec::with_capacity(values.len());
    let mut assignment = vec![0usize; order.len()];
    let mut index = 0usize;
    for _ in 0..values.len() {
        out.push(values[index]);
        for k in (0..order.len()).rev() {
            assignment[k] += 1;
            if assignment[k] < out_cards[k] {
                index += along[k];
                break;
            }
            assignment[k] = 0;
            index -= (out_cards[k] - 1) * along[k];
        }
    }
    out
}

/// How an input table maps onto a layout it is added into: its stride along every layout
/// position (0 where it does not depend on it), and the innermost run of positions over
/// which it is either contiguous or constant.
#[derive(Clone, Debug)]
pub struct Broadcast {
    /// Stride of the input along each layout position (0: absent).
    strides: Vec<usize>,
    /// Layout positions outside the inner run.
    outer: usize,
    /// Entries of the inner run.
    run: usize,
    /// True when the input depends on the run's positions (contiguous), false when it is
    /// constant over them.
    present: bool,
}

impl Broadcast {
    /// The map of an input over `input_vars`, laid out in the order they have in `layout`
    /// (a subsequence of it), onto a table over `layout` with `cards`.
    pub fn new(layout: &[usize], cards: &[usize], input_vars: &[usize]) -> Self {
        let input_cards: Vec<usize> = input_vars
            .iter()
            .map(|v| cards[layout.iter().position(|w| w == v).expect("in the layout")])
            .collect();
        let input_strides = strides(&input_cards);
        let along: Vec<usize> = layout
            .iter()
            .map(|v| {
                input_vars
                    .iter()
                    .position(|w| w == v)
                    .map_or(0, |k| input_strides[k])
            })
            .collect();
        let has = |k: usize| input_vars.contains(&layout[k]);
        let present = layout.last().is_some_and(|_| has(layout.len() - 1));
        let mut outer = layout.len();
        while outer > 0 && has(outer - 1) == present {
            outer -= 1;
        }
        let run = cards[outer..].iter().product();
        Self {
            strides: along,
            outer,
            run,
            present,
        }
    }
}

/// Walk the entries `offset..offset + len` of a table over `cards` in the runs of `map`:
/// `f(done, run_len, input_index)` for each piece, where `done` counts the entries
/// before it and `input_index` is where the piece starts in the input (present) or the
/// input's one value over it (absent).
fn for_each_run(
    len: usize,
    offset: usize,
    cards: &[usize],
    map: &Broadcast,
    mut f: impl FnMut(usize, usize, usize),
) {
    let outer_cards = &cards[..map.outer];
    let mut assignment = vec![0usize; map.outer];
    let mut rest = offset / map.run;
    for k in (0..map.outer).rev() {
        assignment[k] = rest % outer_cards[k];
        rest /= outer_cards[k];
    }
    let mut index: usize = assignment
        .iter()
        .zip(&map.strides)
        .map(|(&x, &s)| x * s)
        .sum();
    let mut within = offset % map.run;
    let mut done = 0;
    while done < len {
        let piece = (map.run - within).min(len - done);
        f(
            done,
            piece,
            if map.present { index + within } else { index },
        );
        done += piece;
        within = 0;
        for k in (0..map.outer).rev() {
            assignment[k] += 1;
            if assignment[k] < outer_cards[k] {
                index += map.strides[k];
                break;
            }
            assignment[k] = 0;
            index -= (outer_cards[k] - 1) * map.strides[k];
        }
    }
}

/// `out[i] (+)= input[...]` for the entries `offset..offset + out.len()` of a table over
/// `cards`: `assign` overwrites instead of adding.
#[cfg(test)]
fn broadcast_range(
    out: &mut [f64],
    offset: usize,
    cards: &[usize],
    map: &Broadcast,
    input: &[f64],
    assign: bool,
) {
    for_each_run(out.len(), offset, cards, map, |done, len, at| {
        let target = &mut out[done..done + len];
        match (map.present, assign) {
            (true, true) => target.copy_from_slice(&input[at..at + len]),
            (true, false) => target
                .iter_mut()
                .zip(&input[at..at + len])
                .for_each(|(o, &x)| *o += x),
            (false, true) => target.fill(input[at]),
            (false, false) => {
                let x = input[at];
                target.iter_mut().for_each(|o| *o += x);
            }
        }
    });
}

/// The product (sum of log-potentials) of `inputs` over a layout with `cards`: each input
/// is its values (laid out in the layout's variable order) with its [`Broadcast`] map.
/// An empty list gives the table of zeros. Exact inference builds its tables with
/// [`crate::rows::product`]; this direct broadcast is the independent reference the
/// tests check it against.
#[cfg(test)]
pub(crate) fn product(cards: &[usize], inputs: &[(&[f64], &Broadcast)]) -> Vec<f64> {
    let len: usize = cards.iter().product();
    let mut out = vec![0.0; len];
    for (k, (values, map)) in inputs.iter().enumerate() {
        let assign = k == 0;
        if len >= PARALLEL_MIN {
            out.par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(c, chunk)| {
                    broadcast_range(chunk, c * CHUNK, cards, map, values, assign)
                });
        } else {
            broadcast_range(&mut out, 0, cards, map, values, assign);
        }
    }
    out
}

/// The product of `tables` (each over a sub-scope of `layout`, any order of its
/// variables) laid out over `layout` with `cards`, row by row ([`crate::rows::product`]).
pub fn product_of<'a>(
    layout: &[usize],
    cards: &[usize],
    tables: impl IntoIterator<Item = &'a LogTable>,
) -> Vec<f64> {
    let inputs: Vec<Strided> = tables
        .into_iter()
        .map(|t| Strided {
            values: &t.values,
            strides: strides_along(layout, &t.vars, &t.cards),
        })
        .collect();
    crate::rows::product(cards, &inputs)
}

/// Below this, `exp` is 0 in f64.
const EXP_ZERO: f64 = -746.0;

/// Blocks' log-sum-exp, turning each block into `exp(x - max)` and writing its `max` and
/// log-sum-exp (`-inf`, `-inf` for a block of zeros): the maxima subtracted block by
/// block, then one flat exponential pass.
fn exp_blocks(values: &mut [f64], block: usize, maxima: &mut [f64], sums: &mut [f64]) {
    for (b, m) in values.chunks_mut(block).zip(maxima.iter_mut()) {
        *m = b.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if *m == f64::NEG_INFINITY {
            b.fill(f64::NEG_INFINITY);
        } else {
            let max = *m;
            b.iter_mut().for_each(|x| *x -= max);
        }
    }
    // Entries at zero (`-inf`, common in deterministic models) skip the library call.
    values
        .iter_mut()
        .for_each(|x| *x = if *x < EXP_ZERO { 0.0 } else { x.exp() });
    for ((b, &m), s) in values.chunks(block).zip(maxima.iter()).zip(sums) {
        *s = if m == f64::NEG_INFINITY {
            m
        } else {
            m + b.iter().sum::<f64>().ln()
        };
    }
}

/// Sum out the innermost variable (`block` values) of a log table in log space: turns
/// `values` into `exp(x - max_b)` per block `b` (the linear table the downward pass
/// reuses) and returns each block's `max_b` and log-sum-exp.
pub fn sum_out_blocks(values: &mut [f64], block: usize) -> (Vec<f64>, Vec<f64>) {
    let blocks = values.len() / block;
    let mut maxima = vec![0.0; blocks];
    let mut sums = vec![0.0; blocks];
    let per_chunk = (CHUNK / block).max(1);
    let run = |(values, (maxima, sums)): (&mut [f64], (&mut [f64], &mut [f64]))| {
        exp_blocks(values, block, maxima, sums);
    };
    if values.len() >= PARALLEL_MIN {
        values
            .par_chunks_mut(per_chunk * block)
            .zip(
                maxima
                    .par_chunks_mut(per_chunk)
                    .zip(sums.par_chunks_mut(per_chunk)),
            )
            .for_each(run);
    } else {
        run((&mut values[..], (&mut maxima[..], &mut sums[..])));
    }
    (maxima, sums)
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

/// Sum `values` (the entries from `offset` on of a table over `cards`) into `out`, a
/// table over the sub-scope `map` describes (the reverse of [`product`]'s broadcast).
fn gather_range(values: &[f64], offset: usize, cards: &[usize], map: &Broadcast, out: &mut [f64]) {
    for_each_run(values.len(), offset, cards, map, |done, len, at| {
        let source = &values[done..done + len];
        if map.present {
            out[at..at + len]
                .iter_mut()
                .zip(source)
                .for_each(|(o, &x)| *o += x);
        } else {
            out[at] += source.iter().sum::<f64>();
        }
    });
}

/// The marginal of a linear table over `layout` (with `cards`) on the sub-scope
/// `target_vars` (ascending): sums over every other variable. Chunks of fixed size are
/// summed apart and added in chunk order, so the result does not depend on the number
/// of threads.
pub fn marginalize(
    values: &[f64],
    layout: &[usize],
    cards: &[usize],
    target_vars: &[usize],
) -> Vec<f64> {
    let in_layout: Vec<usize> = layout
        .iter()
        .copied()
        .filter(|v| target_vars.contains(v))
        .collect();
    let map = Broadcast::new(layout, cards, &in_layout);
    let target_cards: Vec<usize> = in_layout
        .iter()
        .map(|v| cards[layout.iter().position(|w| w == v).expect("a sub-scope")])
        .collect();
    let target_len: usize = target_cards.iter().product();
    let part = |(c, chunk): (usize, &[f64])| -> Vec<f64> {
        let mut out = vec![0.0; target_len];
        gather_range(chunk, c * CHUNK, cards, &map, &mut out);
        out
    };
    let add = |mut a: Vec<f64>, b: Vec<f64>| {
        a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
        a
    };
    let chunks = values.len().div_ceil(CHUNK);
    // Partial sums in parallel only when they are small next to the table (the choice
    // depends on the sizes alone); otherwise one pass.
    let sums = if values.len() >= PARALLEL_MIN && 4 * chunks * target_len <= values.len() {
        let parts: Vec<Vec<f64>> = values.par_chunks(CHUNK).enumerate().map(part).collect();
        parts.into_iter().reduce(add).unwrap_or_default()
    } else {
        part((0, values))
    };
    // Back to ascending order.
    relayout(&sums, &in_layout, &target_cards, target_vars)
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
        let mut joint = product_of(&layout, &cards, &tables);
        let want = generic_product(&refs);
        let want_laid = relayout(&want.values, &want.vars, &want.cards, &layout);
        assert_eq!(joint.len(), want_laid.len());
        for (a, b) in joint.iter().zip(&want_laid) {
            assert!((a - b).abs() < 1e-12);
        }
        let block = cards_of[eliminated];
        let (maxima, _) = max_out_blocks(&joint, block);
        let (want_max, _) = combine_and_eliminate(&refs, eliminated, true);
        let (want_sum, _) = combine_and_eliminate(&refs, eliminated, false);
        let (_, sums) = sum_out_blocks(&mut joint, block);
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
        let marg = marginalize(&joint, &layout, &cards, &target);
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
        let map = Broadcast::new(&all, &cards, &all);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut joint = product(&cards, &[(&t.values, &map)]);
                let (_, sums) = sum_out_blocks(&mut joint, 4);
                let w = vec![0.5; joint.len() / 4];
                scale_blocks(&mut joint, 4, &w);
                (sums, marginalize(&joint, &all, &cards, &[0, 5]))
            })
        };
        assert_eq!(run(1), run(3));
    }
}
