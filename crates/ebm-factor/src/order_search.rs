//! Elimination orders chosen by their cost: greedy min-fill and weighted min-fill with
//! random tie-breaking, restarted from fixed seeds, keeping the order whose buckets hold
//! the fewest assignments in all.
//!
//! One greedy min-fill run is a guess: on wide models (genetic linkage, pedigrees) the
//! total size of its buckets swings by many orders of magnitude with how its ties are
//! broken (linkage_11: from 2^37 to 2^59 assignments). Scoring each candidate by the sum
//! over its buckets of the product of the bucket's domains, the work of elimination and
//! an upper bound on the contexts an AND/OR search caches, and keeping the cheapest, is
//! the usual remedy (iterative min-fill). The tries use fixed seeds, so the chosen order,
//! and everything computed along it, is the same on every run and thread count.

use crate::table::LogTable;
use ebm_kernels::rng;
use rand::Rng;

/// An elimination order with its cost.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoredOrder {
    /// The variables in elimination order.
    pub order: Vec<usize>,
    /// Induced width: the largest bucket's number of variables minus one.
    pub width: usize,
    /// `log2` of the largest bucket's number of assignments.
    pub largest_log2: f64,
    /// `log2` of the buckets' assignments summed over all buckets.
    pub total_log2: f64,
}

/// How a greedy step picks the next variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Criterion {
    /// Fewest fill edges.
    Fill,
    /// Least fill weight: the product of the two domains summed over the fill edges.
    WeightedFill,
}

/// The interaction graph as bit rows, with each variable's pending greedy score.
struct Graph {
    words: usize,
    rows: Vec<u64>,
}

impl Graph {
    fn new(n: usize, tables: &[LogTable], skip: &[bool]) -> (Self, Vec<bool>) {
        let words = n.div_ceil(64).max(1);
        let mut rows = vec![0u64; n * words];
        let mut present = vec![false; n];
        for t in tables {
            for &a in t.vars.iter().filter(|&&a| !skip[a]) {
                present[a] = true;
                for &b in t.vars.iter().filter(|&&b| b != a && !skip[b]) {
                    rows[a * words + b / 64] |= 1 << (b % 64);
                }
            }
        }
        (Self { words, rows }, present)
    }

    fn degree(&self, v: usize) -> u32 {
        self.rows[v * self.words..(v + 1) * self.words]
            .iter()
            .map(|w| w.count_ones())
            .sum()
    }

    fn has(&self, a: usize, b: usize) -> bool {
        self.rows[a * self.words + b / 64] >> (b % 64) & 1 == 1
    }

    /// The neighbours of `v` into `out` (cleared first), ascending.
    fn neighbours(&self, v: usize, out: &mut Vec<usize>) {
        out.clear();
        for (w, &bits) in self.rows[v * self.words..(v + 1) * self.words]
            .iter()
            .enumerate()
        {
            let mut bits = bits;
            while bits != 0 {
                out.push(w * 64 + bits.trailing_zeros() as usize);
                bits &= bits - 1;
            }
        }
    }

    /// The greedy score of `v`, adding the pairs of neighbours it checks to `work`.
    fn score(
        &self,
        v: usize,
        criterion: Criterion,
        cards: &[usize],
        nb: &mut Vec<usize>,
        work: &mut u64,
    ) -> f64 {
        self.neighbours(v, nb);
        *work += (nb.len() * nb.len() / 2) as u64 + 1;
        let mut score = 0.0;
        for (i, &a) in nb.iter().enumerate() {
            for &b in &nb[i + 1..] {
                if !self.has(a, b) {
                    score += match criterion {
                        Criterion::Fill => 1.0,
                        Criterion::WeightedFill => (cards[a] * cards[b]) as f64,
                    };
                }
            }
        }
        score
    }

    /// Eliminate `v` with neighbours `nb`: connect them pairwise, disconnect `v`.
    fn eliminate(&mut self, v: usize, nb: &[usize]) {
        for &a in nb {
            for &b in nb {
                if a != b {
                    self.rows[a * self.words + b / 64] |= 1 << (b % 64);
                }
            }
            self.rows[a * self.words + v / 64] &= !(1 << (v % 64));
        }
        self.rows[v * self.words..(v + 1) * self.words].fill(0);
    }
}

/// The running cost of an elimination: width, largest and summed bucket assignments.
#[derive(Default)]
struct Tally {
    width: usize,
    largest_log2: f64,
    total: f64,
}

impl Tally {
    /// Count the bucket of `v` eliminated with neighbours `nb`.
    fn add(&mut self, v: usize, nb: &[usize], cards: &[usize]) {
        let log2: f64 = std::iter::once(v)
            .chain(nb.iter().copied())
            .map(|u| (cards[u] as f64).log2())
            .sum();
        self.width = self.width.max(nb.len());
        self.largest_log2 = self.largest_log2.max(log2);
        self.total += log2.exp2();
    }

    fn scored(self, order: Vec<usize>) -> ScoredOrder {
        ScoredOrder {
            order,
            width: self.width,
            largest_log2: self.largest_log2,
            total_log2: if self.total > 0.0 {
                self.total.log2()
            } else {
                0.0
            },
        }
    }
}

/// One greedy run. `seed` breaks ties at random (`None`: lowest index). Adds the pairs
/// of neighbours its scores checked to `work`.
fn greedy(
    tables: &[LogTable],
    skip: &[bool],
    cards: &[usize],
    criterion: Criterion,
    seed: Option<u64>,
    work: &mut u64,
) -> ScoredOrder {
    let n = cards.len();
    let (mut graph, present) = Graph::new(n, tables, skip);
    let mut remaining: Vec<usize> = (0..n).filter(|&v| present[v] && !skip[v]).collect();
    let mut scores: Vec<f64> = vec![0.0; n];
    let mut nb = Vec::new();
    for &v in &remaining {
        scores[v] = graph.score(v, criterion, cards, &mut nb, work);
    }
    let mut rng = seed.map(|s| rng::stream(s, 0, 0));
    let mut dirty = vec![false; n];
    let mut touched = Vec::new();
    let mut ties = Vec::new();
    let mut order = Vec::with_capacity(remaining.len());
    let mut tally = Tally::default();
    let mut second = Vec::new();
    while !remaining.is_empty() {
        let best = remaining
            .iter()
            .map(|&v| scores[v])
            .fold(f64::INFINITY, f64::min);
        ties.clear();
        ties.extend(
            remaining
                .iter()
                .enumerate()
                .filter(|&(_, &v)| scores[v] == best)
                .map(|(i, _)| i),
        );
        // Ties: at random, or (as `min_fill_order`) fewest neighbours, then lowest index.
        let at = match rng.as_mut() {
            Some(r) => ties[(r.next_u64() % ties.len() as u64) as usize],
            None => *ties
                .iter()
                .min_by_key(|&&i| (graph.degree(remaining[i]), remaining[i]))
                .expect("a remaining variable has the least score"),
        };
        let v = remaining.swap_remove(at);
        graph.neighbours(v, &mut nb);
        tally.add(v, &nb, cards);
        // The scores that can change: the neighbours' and their neighbours'.
        touched.clear();
        for &a in &nb {
            graph.neighbours(a, &mut second);
            for &b in second.iter().chain(std::iter::once(&a)) {
                if !dirty[b] {
                    dirty[b] = true;
                    touched.push(b);
                }
            }
        }
        graph.eliminate(v, &nb);
        for &u in &touched {
            dirty[u] = false;
            if u != v {
                scores[u] = graph.score(u, criterion, cards, &mut nb, work);
            }
        }
        order.push(v);
    }
    tally.scored(order)
}

/// The cost of eliminating `order` (variables of `tables` not in `skip`, domains
/// `cards`), by symbolic elimination.
pub fn order_cost(
    tables: &[LogTable],
    skip: &[bool],
    cards: &[usize],
    order: &[usize],
) -> ScoredOrder {
    let (mut graph, _) = Graph::new(cards.len(), tables, skip);
    let mut nb = Vec::new();
    let mut tally = Tally::default();
    for &v in order {
        graph.neighbours(v, &mut nb);
        tally.add(v, &nb, cards);
        graph.eliminate(v, &nb);
    }
    tally.scored(order.to_vec())
}

/// The first variable of `order` whose bucket (it and its neighbours when it is
/// eliminated) has more than `max_entries` assignments, with that number (saturating),
/// by symbolic elimination: what elimination along `order` would refuse, found before
/// any table is built.
pub fn first_too_large(
    tables: &[LogTable],
    skip: &[bool],
    cards: &[usize],
    order: &[usize],
    max_entries: usize,
) -> Option<(usize, usize)> {
    let (mut graph, _) = Graph::new(cards.len(), tables, skip);
    let mut nb = Vec::new();
    for &v in order {
        graph.neighbours(v, &mut nb);
        let entries = nb
            .iter()
            .try_fold(cards[v], |acc, &u| acc.checked_mul(cards[u]))
            .unwrap_or(usize::MAX);
        if entries > max_entries {
            return Some((v, entries));
        }
        graph.eliminate(v, &nb);
    }
    None
}

/// The best of the deterministic min-fill order and up to `tries` randomized min-fill and
/// weighted min-fill orders (fewer when their work reaches [`ORDER_WORK_BUDGET`]) over the variables of `tables` not in `skip` (domains
/// `cards`): an order whose largest bucket has at most `2^max_log2` assignments beats one
/// whose largest has more, and among orders on the same side the least total wins.
///
/// ```
/// use ebm_factor::order_search::best_order;
/// use ebm_factor::table::LogTable;
/// // A chain 0 - 1 - 2 of binary variables: width 1, buckets of 4 + 4 + 2 assignments.
/// let t = |a: usize, b: usize| LogTable { vars: vec![a, b], cards: vec![2, 2], values: vec![0.0; 4] };
/// let best = best_order(&[t(0, 1), t(1, 2)], &[false; 3], &[2, 2, 2], 8, f64::INFINITY);
/// assert_eq!(best.width, 1);
/// assert!((best.total_log2 - 10f64.log2()).abs() < 1e-12);
/// ```
pub fn best_order(
    tables: &[LogTable],
    skip: &[bool],
    cards: &[usize],
    tries: u64,
    max_log2: f64,
) -> ScoredOrder {
    let key = |o: &ScoredOrder| (o.largest_log2 > max_log2, o.total_log2);
    let mut work = 0;
    let mut best = greedy(tables, skip, cards, Criterion::Fill, None, &mut work);
    for t in 0..tries {
        if work > ORDER_WORK_BUDGET {
            break;
        }
        let criterion = if t % 2 == 0 {
            Criterion::Fill
        } else {
            Criterion::WeightedFill
        };
        let candidate = greedy(tables, skip, cards, criterion, Some(t), &mut work);
        if key(&candidate) < key(&best) {
            best = candidate;
        }
    }
    best
}

/// Most pairs of neighbours the greedy runs of one [`best_order`] check, all runs
/// together (about a second): on a dense model (Promedas_11 with its evidence, width
/// above 100) one run checks about 2^28 pairs, so only a few tries are made there, while
/// pedigree9's 64 tries check 2^27.3 in all. A count, not a clock,
/// so the order does not depend on the machine's speed or load.
pub const ORDER_WORK_BUDGET: u64 = 1 << 30;

/// Randomized orders tried when the min-fill order's largest bucket exceeds the table
/// bound, before elimination refuses, and for the AND/OR search's pseudo-tree (which
/// runs only then).
pub const TRIES_WHEN_TOO_WIDE: u64 = 64;

/// `order` (with `width`) when its largest bucket fits in `max_entries` assignments;
/// otherwise the best of [`TRIES_WHEN_TOO_WIDE`] randomized orders ([`best_order`]),
/// or `order` again when none is better. Models that fit keep the plain min-fill
/// order, so their results and times do not change.
pub fn order_that_fits(
    tables: &[LogTable],
    skip: &[bool],
    cards: &[usize],
    order: Vec<usize>,
    width: usize,
    max_entries: usize,
) -> (Vec<usize>, usize) {
    let max_log2 = (max_entries.max(1) as f64).log2();
    let plain = order_cost(tables, skip, cards, &order);
    if plain.largest_log2 <= max_log2 {
        return (order, width);
    }
    let best = best_order(tables, skip, cards, TRIES_WHEN_TOO_WIDE, max_log2);
    if (best.largest_log2 > max_log2, best.total_log2) < (true, plain.total_log2) {
        (best.order, best.width)
    } else {
        (order, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact::min_fill_order;

    fn pairwise(n: usize, edges: &[(usize, usize)]) -> Vec<LogTable> {
        edges
            .iter()
            .map(|&(a, b)| LogTable {
                vars: vec![a.min(b), a.max(b)],
                cards: vec![2, 2],
                values: vec![0.0; 4],
            })
            .chain((0..n).map(|v| LogTable {
                vars: vec![v],
                cards: vec![2],
                values: vec![0.0; 2],
            }))
            .collect()
    }

    /// A random graph of `n` binary variables with up to `edges` edges (self-loops
    /// dropped), as pairwise and unary tables.
    fn random_graph(seed: u64, n: usize, edges: usize) -> Vec<LogTable> {
        let mut r = rng::stream(seed, 1, 1);
        let mut pick = || (r.next_u64() % n as u64) as usize;
        let edges: Vec<(usize, usize)> = (0..edges)
            .map(|_| (pick(), pick()))
            .filter(|(a, b)| a != b)
            .collect();
        pairwise(n, &edges)
    }

    /// The bucket sizes of an order, computed directly by symbolic elimination.
    fn brute_cost(tables: &[LogTable], order: &[usize], cards: &[usize]) -> (usize, f64) {
        let n = cards.len();
        let mut adj = vec![vec![false; n]; n];
        for t in tables {
            for &a in &t.vars {
                for &b in &t.vars {
                    adj[a][b] |= a != b;
                }
            }
        }
        let (mut width, mut total) = (0, 0f64);
        for &v in order {
            let nb: Vec<usize> = (0..n).filter(|&u| adj[v][u]).collect();
            width = width.max(nb.len());
            total += nb.iter().map(|&u| cards[u] as f64).product::<f64>() * cards[v] as f64;
            for &a in &nb {
                for &b in &nb {
                    adj[a][b] |= a != b;
                }
                adj[a][v] = false;
            }
            adj[v].iter_mut().for_each(|x| *x = false);
        }
        (width, total.log2())
    }

    /// On random graphs: every order is a permutation of the variables, its reported cost
    /// is its cost recomputed from scratch, the deterministic run's width is
    /// `min_fill_order`'s, and more tries never cost more.
    #[test]
    fn orders_are_permutations_with_their_true_cost() {
        for seed in 0..20u64 {
            let n = 12 + (seed as usize % 9);
            let tables = random_graph(seed, n, 3 * n);
            let skip = vec![false; n];
            let cards = vec![2; n];
            let plain = greedy(&tables, &skip, &cards, Criterion::Fill, None, &mut 0);
            assert_eq!(
                plain.width,
                min_fill_order(n, &tables, &skip).1,
                "seed {seed}"
            );
            let mut last = f64::INFINITY;
            for tries in [0, 4, 16] {
                let best = best_order(&tables, &skip, &cards, tries, f64::INFINITY);
                let mut sorted = best.order.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..n).collect::<Vec<_>>());
                let (width, total) = brute_cost(&tables, &best.order, &cards);
                assert_eq!(width, best.width, "seed {seed}");
                assert!((total - best.total_log2).abs() < 1e-9, "seed {seed}");
                let again = order_cost(&tables, &skip, &cards, &best.order);
                assert_eq!(again, best, "seed {seed}");
                assert!(best.total_log2 <= last + 1e-12);
                last = best.total_log2;
            }
        }
    }

    /// On random graphs of 40 variables: an order that fits is kept as it is; under a
    /// bound of 2 entries nothing fits, so the tries may replace the order only by a
    /// cheaper one, and they find one on at least one of the seeds.
    #[test]
    fn an_order_too_wide_is_replaced_only_by_a_cheaper_one() {
        let mut improved = 0;
        for seed in 0..10u64 {
            let n = 40;
            let tables = random_graph(seed + 100, n, 90);
            let (skip, cards) = (vec![false; n], vec![2; n]);
            let (order, width) = min_fill_order(n, &tables, &skip);
            let plain = order_cost(&tables, &skip, &cards, &order);
            let roomy = 1usize << plain.largest_log2.ceil() as u32;
            assert_eq!(
                order_that_fits(&tables, &skip, &cards, order.clone(), width, roomy),
                (order.clone(), width)
            );
            let (chosen, chosen_width) =
                order_that_fits(&tables, &skip, &cards, order.clone(), width, 2);
            let cost = order_cost(&tables, &skip, &cards, &chosen);
            assert_eq!(cost.width, chosen_width);
            assert!(cost.total_log2 <= plain.total_log2, "seed {seed}");
            improved += usize::from(cost.total_log2 < plain.total_log2 - 1e-9);
        }
        assert!(improved > 0, "no seed improved on plain min-fill");
    }

    /// The first bucket over a bound is the one elimination meets: on a chain 0 - 1 - 2 of
    /// two binary variables and a ternary one, closed by a triangle 2 - 3 - 4 of ternary
    /// ones, min-fill eliminates 0 and 1 (4 and 6 entries), then meets the triangle's
    /// 27-entry bucket: first over a bound of 8, and nothing is over 27.
    #[test]
    fn the_first_bucket_over_the_bound_is_found() {
        let t = |a: usize, b: usize, cards: &[usize]| LogTable {
            vars: vec![a, b],
            cards: vec![cards[a], cards[b]],
            values: vec![0.0; cards[a] * cards[b]],
        };
        let cards = [2, 2, 3, 3, 3];
        let tables = [
            t(0, 1, &cards),
            t(1, 2, &cards),
            t(2, 3, &cards),
            t(3, 4, &cards),
            t(2, 4, &cards),
        ];
        let skip = [false; 5];
        let (order, _) = min_fill_order(5, &tables, &skip);
        assert_eq!(first_too_large(&tables, &skip, &cards, &order, 27), None);
        let (v, entries) = first_too_large(&tables, &skip, &cards, &order, 8).unwrap();
        assert_eq!((v, entries), (2, 27));
    }

    /// Skipped variables are left out of the order and of every bucket.
    #[test]
    fn skipped_variables_are_left_out() {
        let tables = pairwise(4, &[(0, 1), (1, 2), (2, 3), (3, 0)]);
        let best = best_order(
            &tables,
            &[false, true, false, false],
            &[2; 4],
            4,
            f64::INFINITY,
        );
        assert!(!best.order.contains(&1));
        assert_eq!(best.order.len(), 3);
        assert_eq!(best.width, 1);
    }
}
