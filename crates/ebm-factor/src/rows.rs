//! Tables as rows of a fixed inner run, for the product of many small tables into one
//! clique table and for the marginals of one clique table onto many sub-scopes in a
//! single pass.
//!
//! A table over a layout (positions `0..L`, last fastest) is split at the position `p`
//! where the trailing cards first reach [`RUN_MIN`] entries: each row is `R` contiguous
//! entries (the inner positions `p..L`), rows are indexed by the outer positions. An input
//! is described by its stride along every layout position (0 where it does not depend on
//! it), so it may be laid out in any variable order. Inputs over the same outer positions
//! are summed once into rows of `R` (or into one scalar per row when they miss the inner
//! positions), and each output row is a handful of contiguous vector adds; an input with
//! too many outer assignments to expand is gathered through a precomputed inner pattern.
//! Marginals are the transpose: each target accumulates whole rows (or gathers through
//! the pattern) and is reduced once at the end.
//!
//! Every entry is computed by the same operations in the same order whatever the number
//! of threads: rows are split into chunks of a fixed size, and partial marginals are added
//! in chunk order.

use crate::kernels::{CHUNK, PARALLEL_MIN};
use crate::spare::Spare;
use rayon::prelude::*;

/// Smallest inner run (entries) a row spans when the table is that large.
pub const RUN_MIN: usize = 64;

/// Largest expansion (outer assignments times `R`) of one input group, next to the
/// table's own size: above `max(len / 4, EXPAND_MIN)` an input is gathered instead.
const EXPAND_MIN: usize = 1 << 12;

/// Row-major strides (last fastest) of `cards`.
pub(crate) fn strides(cards: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; cards.len()];
    for i in (0..cards.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * cards[i + 1];
    }
    s
}

/// An input (or target) table: its values and its stride along every layout position
/// (0 where it does not depend on it).
pub struct Strided<'a> {
    /// The table's values.
    pub values: &'a [f64],
    /// Stride along each layout position (0: absent).
    pub strides: Vec<usize>,
}

/// The stride along each position of `layout` of a table over `vars` (any order, with
/// `cards`): 0 for a layout variable the table does not have.
pub fn strides_along(layout: &[usize], vars: &[usize], cards: &[usize]) -> Vec<usize> {
    let own = strides(cards);
    layout
        .iter()
        .map(|v| vars.iter().position(|w| w == v).map_or(0, |k| own[k]))
        .collect()
}

/// The split of a layout into outer positions and an inner run.
struct Split {
    /// First inner position.
    p: usize,
    /// Entries of a row.
    run: usize,
}

impl Split {
    fn new(cards: &[usize]) -> Self {
        let mut p = cards.len();
        let mut run = 1usize;
        while p > 0 && run < RUN_MIN {
            p -= 1;
            run *= cards[p];
        }
        Self { p, run }
    }

    /// The offset of every inner assignment (row-major) under `strides` (inner part).
    fn pattern(&self, cards: &[usize], strides: &[usize]) -> Vec<usize> {
        let mut out = vec![0usize; 1];
        for (&c, &s) in cards[self.p..].iter().zip(&strides[self.p..]) {
            out = out
                .iter()
                .flat_map(|&o| (0..c).map(move |x| o + x * s))
                .collect();
        }
        out
    }
}

/// An odometer over the outer positions keeping a set of offsets in step.
struct Odometer<'a> {
    cards: &'a [usize],
    assignment: Vec<usize>,
    strides: Vec<&'a [usize]>,
    offsets: Vec<usize>,
}

impl<'a> Odometer<'a> {
    /// At `row`, tracking one offset per stride vector (over the outer positions).
    fn new(cards: &'a [usize], strides: Vec<&'a [usize]>, row: usize) -> Self {
        let mut assignment = vec![0usize; cards.len()];
        let mut rest = row;
        for k in (0..cards.len()).rev() {
            assignment[k] = rest % cards[k];
            rest /= cards[k];
        }
        let offsets = strides
            .iter()
            .map(|s| assignment.iter().zip(*s).map(|(&x, &st)| x * st).sum())
            .collect();
        Self {
            cards,
            assignment,
            strides,
            offsets,
        }
    }

    fn step(&mut self) {
        for k in (0..self.cards.len()).rev() {
            self.assignment[k] += 1;
            if self.assignment[k] < self.cards[k] {
                for (o, s) in self.offsets.iter_mut().zip(&self.strides) {
                    *o += s[k];
                }
                return;
            }
            self.assignment[k] = 0;
            for (o, s) in self.offsets.iter_mut().zip(&self.strides) {
                *o -= (self.cards[k] - 1) * s[k];
            }
        }
    }
}

/// Inputs over the same outer positions, summed: one row of `run` per outer assignment
/// (`inner`) or one scalar per outer assignment.
struct Group {
    outer: Vec<usize>,
    inner: bool,
    /// Stride of the group's expansion along each outer position.
    strides: Vec<usize>,
    values: Vec<f64>,
}

/// An input gathered entry by entry: its outer strides and inner pattern.
struct Gathered<'a> {
    values: &'a [f64],
    strides: Vec<usize>,
    pattern: Vec<usize>,
}

/// The outer positions (with a non-zero stride) of an input, and whether it has inner
/// ones.
fn scope_of(split: &Split, strides: &[usize]) -> (Vec<usize>, bool) {
    let outer = (0..split.p).filter(|&k| strides[k] > 0).collect();
    let inner = strides[split.p..].iter().any(|&s| s > 0);
    (outer, inner)
}

/// The expansion of `input` over its `outer` positions (and the inner run when `inner`):
/// its values at every (outer assignment, inner entry), and the expansion's strides
/// along the outer positions.
fn expand(
    split: &Split,
    cards: &[usize],
    input: &Strided,
    outer: &[usize],
    inner: bool,
) -> (Vec<f64>, Vec<usize>) {
    let pattern = if inner {
        split.pattern(cards, &input.strides)
    } else {
        vec![0]
    };
    let outer_cards: Vec<usize> = outer.iter().map(|&k| cards[k]).collect();
    let n: usize = outer_cards.iter().product();
    let mut values = Vec::with_capacity(n * pattern.len());
    let mut assignment = vec![0usize; outer.len()];
    for _ in 0..n {
        let base: usize = assignment
            .iter()
            .zip(outer)
            .map(|(&x, &k)| x * input.strides[k])
            .sum();
        values.extend(pattern.iter().map(|&j| input.values[base + j]));
        crate::table::advance(&mut assignment, &outer_cards);
    }
    let own = strides(&outer_cards);
    let mut along = vec![0usize; split.p];
    for (&k, &s) in outer.iter().zip(&own) {
        along[k] = s * pattern.len();
    }
    (values, along)
}

/// The sum of `inputs` (log-potentials: their product) over a layout with `cards`, into
/// `out` (resized; its memory is reused, so a caller building table after table touches
/// fresh pages only for the largest); an empty list gives zeros.
pub fn product(cards: &[usize], inputs: &[Strided], out: &mut Vec<f64>) {
    let len: usize = cards.iter().product();
    let split = Split::new(cards);
    let cap = (len / 4).max(EXPAND_MIN);
    let mut groups: Vec<Group> = Vec::new();
    let mut gathered: Vec<Gathered> = Vec::new();
    for input in inputs {
        let (outer, inner) = scope_of(&split, &input.strides);
        let n: usize = outer.iter().map(|&k| cards[k]).product();
        if inner && n * split.run > cap {
            gathered.push(Gathered {
                values: input.values,
                strides: input.strides[..split.p].to_vec(),
                pattern: split.pattern(cards, &input.strides),
            });
            continue;
        }
        let (values, along) = expand(&split, cards, input, &outer, inner);
        match groups
            .iter_mut()
            .find(|g| g.outer == outer && g.inner == inner)
        {
            Some(g) => g.values.iter_mut().zip(&values).for_each(|(a, b)| *a += b),
            None => groups.push(Group {
                outer,
                inner,
                strides: along,
                values,
            }),
        }
    }
    // The first group overwrites every entry; without one, the gathered inputs add to
    // zeros. Reused memory is not cleared first.
    if out.len() > len {
        out.truncate(len);
    } else {
        out.resize(len, 0.0);
    }
    if groups.is_empty() {
        out.fill(0.0);
    }
    let outer_cards = &cards[..split.p];
    let run = split.run;
    let fill = |first_row: usize, chunk: &mut [f64]| {
        let tracked: Vec<&[usize]> = groups
            .iter()
            .map(|g| &g.strides[..])
            .chain(gathered.iter().map(|g| &g.strides[..]))
            .collect();
        let mut odometer = Odometer::new(outer_cards, tracked, first_row);
        for row in chunk.chunks_mut(run) {
            for (k, g) in groups.iter().enumerate() {
                let at = odometer.offsets[k];
                match (g.inner, k == 0) {
                    (true, true) => row.copy_from_slice(&g.values[at..at + run]),
                    (true, false) => row
                        .iter_mut()
                        .zip(&g.values[at..at + run])
                        .for_each(|(o, &x)| *o += x),
                    (false, true) => row.fill(g.values[at]),
                    (false, false) => {
                        let x = g.values[at];
                        row.iter_mut().for_each(|o| *o += x);
                    }
                }
            }
            for (k, g) in gathered.iter().enumerate() {
                let base = odometer.offsets[groups.len() + k];
                let source = &g.values[base..];
                row.iter_mut()
                    .zip(&g.pattern)
                    .for_each(|(o, &j)| *o += source[j]);
            }
            odometer.step();
        }
    };
    if len >= PARALLEL_MIN && run <= CHUNK {
        let rows_per_chunk = CHUNK / run;
        out.par_chunks_mut(rows_per_chunk * run)
            .enumerate()
            .for_each(|(c, chunk)| fill(c * rows_per_chunk, chunk));
    } else {
        fill(0, out);
    }
}

/// How one target accumulates: whole rows per outer assignment (then reduced through
/// the pattern), or entry by entry through the pattern, or a row sum per outer
/// assignment (no inner positions).
enum Mode {
    Rows,
    Scatter,
    Sums,
}

/// One target's plan: its mode, the strides of its accumulator along the outer
/// positions, its inner pattern and accumulator size.
struct Target {
    mode: Mode,
    strides: Vec<usize>,
    pattern: Vec<usize>,
    size: usize,
    /// For `Rows`: the target's own strides along its outer positions, per accumulator
    /// row (to place the reduced rows).
    outer: Vec<(usize, usize, usize)>,
}

/// Whether a `Rows` target's accumulator (rows of `run` over its outer positions) is its
/// result: its inner pattern the row itself and each outer stride `run` times the
/// accumulator's.
fn placed_as_rows(t: &Target, run: usize) -> bool {
    t.pattern.iter().enumerate().all(|(i, &j)| i == j)
        && t.outer.iter().all(|&(_, own, s)| s == own * run)
}

/// The marginals of a (linear) table over a layout with `cards` onto several targets,
/// each given by its strides along the layout (0 where absent) and its size: one pass
/// over the table, accumulated in f64 whatever the table's element type (f64, or f32 for
/// tables kept between passes). Each result is laid out by its own strides. With `scale`
/// (a block size, a suffix of the layout, and one weight per block) the table is read as
/// if each block were multiplied by its weight.
pub fn marginals_onto<T: Copy + Into<f64> + Sync>(
    values: &[T],
    cards: &[usize],
    targets: &[(Vec<usize>, usize)],
    scale: Option<(usize, &[f64])>,
) -> Vec<Vec<f64>> {
    marginals_onto_reusing(values, cards, targets, scale, &mut Spare::default())
}

/// [`marginals_onto`], taking the results and the accumulators of a pass in one chunk
/// from `spare` (and handing the accumulators back), so a caller marginalizing table
/// after table reuses memory instead of touching fresh pages.
pub fn marginals_onto_reusing<T: Copy + Into<f64> + Sync>(
    values: &[T],
    cards: &[usize],
    targets: &[(Vec<usize>, usize)],
    scale: Option<(usize, &[f64])>,
    spare: &mut Spare,
) -> Vec<Vec<f64>> {
    if targets.is_empty() {
        return Vec::new();
    }
    let len = values.len();
    let split = Split::new(cards);
    let cap = (len / 4).max(EXPAND_MIN);
    let plans: Vec<Target> = targets
        .iter()
        .map(|(s, size)| {
            let (outer, inner) = scope_of(&split, s);
            let outer_cards: Vec<usize> = outer.iter().map(|&k| cards[k]).collect();
            let n: usize = outer_cards.iter().product();
            let pattern = split.pattern(cards, s);
            if !inner {
                Target {
                    mode: Mode::Sums,
                    strides: s[..split.p].to_vec(),
                    pattern,
                    size: *size,
                    outer: Vec::new(),
                }
            } else if n * split.run <= cap {
                let own = strides(&outer_cards);
                let mut along = vec![0usize; split.p];
                for (&k, &st) in outer.iter().zip(&own) {
                    along[k] = st * split.run;
                }
                let placed = outer.iter().zip(&own).map(|(&k, &st)| (cards[k], st, s[k]));
                Target {
                    mode: Mode::Rows,
                    strides: along,
                    pattern,
                    size: n * split.run,
                    outer: placed.collect(),
                }
            } else {
                Target {
                    mode: Mode::Scatter,
                    strides: s[..split.p].to_vec(),
                    pattern,
                    size: *size,
                    outer: Vec::new(),
                }
            }
        })
        .collect();
    let run = split.run;
    let outer_cards = &cards[..split.p];
    let part = |first_row: usize, chunk: &[T], mut acc: Vec<Vec<f64>>| -> Vec<Vec<f64>> {
        let tracked: Vec<&[usize]> = plans.iter().map(|t| &t.strides[..]).collect();
        let mut odometer = Odometer::new(outer_cards, tracked, first_row);
        let mut scaled = vec![0.0; run];
        for (i, source) in chunk.chunks(run).enumerate() {
            let row = &mut scaled[..source.len()];
            match scale {
                None => row.iter_mut().zip(source).for_each(|(t, &x)| *t = x.into()),
                Some((block, weights)) => {
                    let r = first_row + i;
                    if block >= run {
                        let w = weights[r * run / block];
                        row.iter_mut()
                            .zip(source)
                            .for_each(|(t, &x)| *t = x.into() * w);
                    } else {
                        let per = run / block;
                        let pieces = row.chunks_mut(block).zip(source.chunks(block));
                        for ((t, x), &w) in pieces.zip(&weights[r * per..(r + 1) * per]) {
                            t.iter_mut().zip(x).for_each(|(t, &x)| *t = x.into() * w);
                        }
                    }
                }
            }
            let row = &*row;
            for ((t, a), &at) in plans.iter().zip(acc.iter_mut()).zip(&odometer.offsets) {
                match t.mode {
                    Mode::Rows => a[at..at + run]
                        .iter_mut()
                        .zip(row)
                        .for_each(|(o, &x)| *o += x),
                    Mode::Scatter => {
                        let out = &mut a[at..];
                        row.iter().zip(&t.pattern).for_each(|(&x, &j)| out[j] += x);
                    }
                    Mode::Sums => a[at] += row.iter().sum::<f64>(),
                }
            }
            odometer.step();
        }
        acc
    };
    let chunks = len.div_ceil(CHUNK.max(run));
    let total: usize = plans.iter().map(|t| t.size).sum();
    let acc = if len >= PARALLEL_MIN && run <= CHUNK && 4 * chunks * total <= len {
        let rows_per_chunk = CHUNK / run;
        let parts: Vec<Vec<Vec<f64>>> = values
            .par_chunks(rows_per_chunk * run)
            .enumerate()
            .map(|(c, chunk)| {
                let acc = plans.iter().map(|t| vec![0.0; t.size]).collect();
                part(c * rows_per_chunk, chunk, acc)
            })
            .collect();
        parts
            .into_iter()
            .reduce(|mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    x.iter_mut().zip(y).for_each(|(p, q)| *p += q);
                }
                a
            })
            .unwrap_or_default()
    } else {
        part(
            0,
            values,
            plans.iter().map(|t| spare.zeros(t.size)).collect(),
        )
    };
    plans
        .iter()
        .zip(acc)
        .zip(targets)
        .map(|((t, a), (_, size))| match t.mode {
            // The accumulated rows already in the target's layout: its inner positions
            // all of the row's, in order, and its outer ones in the row order.
            Mode::Rows if placed_as_rows(t, run) => a,
            Mode::Rows => {
                let mut out = spare.zeros(*size);
                let outer_cards: Vec<usize> = t.outer.iter().map(|&(c, _, _)| c).collect();
                let mut assignment = vec![0usize; t.outer.len()];
                for rows in a.chunks(run) {
                    let base: usize = assignment
                        .iter()
                        .zip(&t.outer)
                        .map(|(&x, &(_, _, s))| x * s)
                        .sum();
                    let o = &mut out[base..];
                    rows.iter().zip(&t.pattern).for_each(|(&x, &j)| o[j] += x);
                    crate::table::advance(&mut assignment, &outer_cards);
                }
                spare.give(a);
                out
            }
            Mode::Scatter | Mode::Sums => a,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{LogTable, product as generic_product};

    fn values(len: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) % 1000) as f64 / 250.0 - 2.0
            })
            .collect()
    }

    /// Product and marginals against the generic index loops of `table` and brute force,
    /// on inputs in any variable order, expanded and gathered, small and split across
    /// threads; marginals of an f32 table within f32 rounding (relative 1e-7: sums of
    /// positive terms each off by at most half an f32 ulp, 6e-8) of the f64 ones.
    fn check(cards: &[usize], scopes: &[&[usize]]) {
        let layout: Vec<usize> = (0..cards.len()).collect();
        let tables: Vec<(Vec<usize>, Vec<usize>, Vec<f64>)> = scopes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let c: Vec<usize> = s.iter().map(|&v| cards[v]).collect();
                let n = c.iter().product();
                (s.to_vec(), c, values(n, i as u64 + 1))
            })
            .collect();
        let inputs: Vec<Strided> = tables
            .iter()
            .map(|(v, c, x)| Strided {
                values: x,
                strides: strides_along(&layout, v, c),
            })
            .collect();
        // Into reused buffers of stale values, shorter and longer than the table.
        let len: usize = cards.iter().product();
        let mut got = vec![7.0; 3];
        product(cards, &inputs, &mut got);
        let mut longer = vec![7.0; len + 5];
        product(cards, &inputs, &mut longer);
        assert_eq!(got, longer);
        let owned: Vec<LogTable> = tables
            .iter()
            .map(|(v, c, x)| LogTable::new(v, c, x.clone()))
            .collect();
        let want = generic_product(&owned.iter().collect::<Vec<_>>());
        assert_eq!((&want.vars, want.len()), (&layout, got.len()));
        for (a, b) in got.iter().zip(&want.values) {
            assert!((a - b).abs() < 1e-12, "{a} {b}");
        }
        let linear: Vec<f64> = got.iter().map(|x| (x / 8.0).exp()).collect();
        let targets: Vec<(Vec<usize>, usize)> = tables
            .iter()
            .map(|(v, c, x)| (strides_along(&layout, v, c), x.len()))
            .collect();
        let marg = marginals_onto(&linear, cards, &targets, None);
        let narrow: Vec<f32> = linear.iter().map(|&x| x as f32).collect();
        let from_f32 = marginals_onto(&narrow, cards, &targets, None);
        for (a, b) in from_f32.iter().flatten().zip(marg.iter().flatten()) {
            assert!((a - b).abs() <= 1e-7 * b, "{a} {b}");
        }
        // Scaled blocks (smaller and larger than a row): the same as scaling first.
        let small = cards[cards.len() - 1];
        let large = cards[cards.len() - 3..].iter().product::<usize>();
        for block in [small, large] {
            let weights: Vec<f64> = (0..linear.len() / block)
                .map(|b| 0.5 + (b % 7) as f64)
                .collect();
            let mut scaled = linear.clone();
            crate::kernels::scale_blocks(&mut scaled, block, &weights);
            let fused = marginals_onto(&linear, cards, &targets, Some((block, &weights)));
            let plain = marginals_onto(&scaled, cards, &targets, None);
            for (a, b) in fused.iter().flatten().zip(plain.iter().flatten()) {
                assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} {b}");
            }
        }
        for ((v, c, _), m) in tables.iter().zip(&marg) {
            let own = strides(c);
            let mut want = vec![0.0; m.len()];
            let all = strides(cards);
            for (i, &p) in linear.iter().enumerate() {
                let at: usize = v
                    .iter()
                    .zip(&own)
                    .map(|(&u, &s)| (i / all[u]) % cards[u] * s)
                    .sum();
                want[at] += p;
            }
            for (a, b) in m.iter().zip(&want) {
                assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} {b}");
            }
        }
    }

    #[test]
    fn rows_match_the_generic_loops() {
        check(&[2, 3, 2], &[&[0, 1], &[2], &[1, 2], &[]]);
        check(
            &[3, 2, 4, 2, 3, 2, 2],
            &[&[6, 0], &[1, 5, 2], &[3], &[0, 6], &[4, 5]],
        );
        // Above PARALLEL_MIN, with a large input gathered.
        check(
            &[4, 4, 4, 4, 4, 4, 4, 4, 2],
            &[
                &[7, 0, 1, 2, 3, 4, 5],
                &[8, 0],
                &[3, 8, 6],
                &[1],
                &[6, 7, 8],
            ],
        );
        // A target whose accumulated rows are its result (placed_as_rows).
        check(&[4; 9], &[&[2, 3, 4, 5, 6, 7, 8], &[0, 1, 8]]);
        // Only gathered inputs (no group overwrites the buffer).
        check(&[4; 8], &[&[7, 0, 1, 2, 3, 4, 5, 6]]);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let cards = vec![4; 9];
        let layout: Vec<usize> = (0..9).collect();
        let a = values(4usize.pow(7), 3);
        let b = values(16, 4);
        let run = |threads: usize| {
            let builder = rayon::ThreadPoolBuilder::new().num_threads(threads);
            builder.build().unwrap().install(|| {
                let inputs = [
                    Strided {
                        values: &a,
                        strides: strides_along(&layout, &[8, 0, 2, 3, 4, 5, 6], &[4; 7]),
                    },
                    Strided {
                        values: &b,
                        strides: strides_along(&layout, &[1, 7], &[4, 4]),
                    },
                ];
                let mut p = Vec::new();
                product(&cards, &inputs, &mut p);
                let lin: Vec<f64> = p.iter().map(|x| x.exp()).collect();
                let t = vec![
                    (strides_along(&layout, &[0, 5], &[4, 4]), 16),
                    (strides_along(&layout, &[8], &[4]), 4),
                ];
                (
                    p,
                    marginals_onto(&lin, &cards, &t, Some((4, &lin[..lin.len() / 4]))),
                )
            })
        };
        assert_eq!(run(1), run(3));
    }
}
