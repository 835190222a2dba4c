//! Maximum cliques by branch and bound on bitsets (Tomita's MCQ with San Segundo's
//! bitset coloring, BBMC): the candidates are greedily colored, a vertex of color `c`
//! can extend the current clique by at most `c` vertices, and the branches are taken
//! from the highest color down, so a branch whose bound cannot beat the target is cut.
//!
//! Independent sets are cliques of the complement: [`BitGraph::complement`] builds it,
//! so [`clique_number`] of the complement is the independence number `alpha` and
//! [`cliques_of_size`] of it lists the maximum independent sets.

use ebm_data::puzzles::Graph;
use std::time::Instant;

/// A graph as one adjacency bitset per vertex (`u64` words), with the vertices renumbered
/// by non-increasing degree (the order the coloring bound works best in).
#[derive(Clone, Debug)]
pub struct BitGraph {
    words: usize,
    /// `rows[v * words..(v + 1) * words]`: the neighbours of (renumbered) `v`.
    rows: Vec<u64>,
    /// `original[v]`: the vertex of the input graph that `v` stands for.
    original: Vec<usize>,
}

impl BitGraph {
    /// The graph of `graph` itself.
    pub fn new(graph: &Graph) -> Self {
        Self::build(graph, false)
    }

    /// The complement of `graph`: `u` and `v` adjacent exactly when they are not in
    /// `graph` (and `u != v`), so its cliques are the independent sets of `graph`.
    pub fn complement(graph: &Graph) -> Self {
        Self::build(graph, true)
    }

    fn build(graph: &Graph, complement: bool) -> Self {
        let n = graph.vertices;
        let words = n.div_ceil(64);
        let mut rows = vec![0u64; n * words];
        let set = |rows: &mut [u64], u: usize, v: usize| rows[u * words + v / 64] |= 1 << (v % 64);
        for &(u, v) in &graph.edges {
            set(&mut rows, u, v);
            set(&mut rows, v, u);
        }
        if complement {
            for v in 0..n {
                let row = &mut rows[v * words..(v + 1) * words];
                for w in row.iter_mut() {
                    *w = !*w;
                }
                clear_tail(row, n);
                row[v / 64] &= !(1 << (v % 64));
            }
        }
        let degree = |v: usize| -> u32 {
            rows[v * words..(v + 1) * words]
                .iter()
                .map(|w| w.count_ones())
                .sum()
        };
        let mut original: Vec<usize> = (0..n).collect();
        original.sort_by_key(|&v| (std::cmp::Reverse(degree(v)), v));
        let mut renumbered = vec![0u64; n * words];
        for (new_u, &u) in original.iter().enumerate() {
            for (new_v, &v) in original.iter().enumerate() {
                if rows[u * words + v / 64] >> (v % 64) & 1 == 1 {
                    renumbered[new_u * words + new_v / 64] |= 1 << (new_v % 64);
                }
            }
        }
        Self {
            words,
            rows: renumbered,
            original,
        }
    }

    /// Vertices of the graph.
    pub fn vertices(&self) -> usize {
        self.original.len()
    }

    fn row(&self, v: usize) -> &[u64] {
        &self.rows[v * self.words..(v + 1) * self.words]
    }

    /// Every vertex, as a bitset.
    fn all(&self) -> Vec<u64> {
        let mut all = vec![!0u64; self.words];
        clear_tail(&mut all, self.vertices());
        all
    }
}

/// Clear the bits of `row` at `n` and above.
fn clear_tail(row: &mut [u64], n: usize) {
    if let Some(last) = row.last_mut()
        && n % 64 != 0
    {
        *last &= (1u64 << (n % 64)) - 1;
    }
}

/// How a clique search ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliqueSearch {
    /// The cliques found (vertices of the input graph, ascending): for [`clique_number`]
    /// one largest clique, for [`cliques_of_size`] every clique of the size (up to the cap).
    pub cliques: Vec<Vec<usize>>,
    /// The search explored every branch (no deadline, no cap stopped it).
    pub complete: bool,
    /// Branch nodes explored.
    pub nodes: u64,
}

/// The search's state shared by both entry points.
struct Expand<'a> {
    graph: &'a BitGraph,
    deadline: Option<Instant>,
    /// Cut a branch when the clique plus its bound is below `target` (`enumerate`) or
    /// not above it (maximising, where `target` is the best size so far).
    target: usize,
    enumerate: bool,
    /// Enumerating: stop after this many cliques; maximising: stop at a clique this large.
    cap: usize,
    clique: Vec<usize>,
    found: Vec<Vec<usize>>,
    stopped: bool,
    nodes: u64,
}

impl Expand<'_> {
    fn expand(&mut self, candidates: &mut [u64]) {
        self.nodes += 1;
        if self.nodes % 1024 == 0 && self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.stopped = true;
        }
        if self.stopped {
            return;
        }
        let (order, colors) = greedy_colors(self.graph, candidates);
        for i in (0..order.len()).rev() {
            let bound = self.clique.len() + colors[i];
            let cut = if self.enumerate {
                bound < self.target
            } else {
                bound <= self.target
            };
            if cut || self.stopped {
                return;
            }
            let v = order[i];
            self.clique.push(v);
            let mut next: Vec<u64> = candidates
                .iter()
                .zip(self.graph.row(v))
                .map(|(a, b)| a & b)
                .collect();
            if next.iter().all(|&w| w == 0) {
                self.record();
            } else {
                self.expand(&mut next);
            }
            self.clique.pop();
            candidates[v / 64] &= !(1 << (v % 64));
        }
    }

    /// The current clique as vertices of the input graph, ascending.
    fn in_input(&self) -> Vec<usize> {
        let mut clique: Vec<usize> = self
            .clique
            .iter()
            .map(|&v| self.graph.original[v])
            .collect();
        clique.sort_unstable();
        clique
    }

    /// The current clique is maximal among the candidates: keep it if it counts.
    fn record(&mut self) {
        let size = self.clique.len();
        if self.enumerate {
            if size == self.target {
                let clique = self.in_input();
                self.found.push(clique);
                if self.found.len() >= self.cap {
                    self.stopped = true;
                }
            }
        } else if size > self.target {
            self.target = size;
            self.found = vec![self.in_input()];
            if size >= self.cap {
                self.stopped = true;
            }
        }
    }
}

/// Greedy sequential coloring of `candidates` in vertex order, one color class at a
/// time: the vertices in the order colored and each one's color (1-based, non-decreasing).
fn greedy_colors(graph: &BitGraph, candidates: &[u64]) -> (Vec<usize>, Vec<usize>) {
    let mut left = candidates.to_vec();
    let mut order = Vec::new();
    let mut colors = Vec::new();
    let mut color = 0;
    while left.iter().any(|&w| w != 0) {
        color += 1;
        let mut class = left.clone();
        while let Some(v) = first(&class) {
            left[v / 64] &= !(1 << (v % 64));
            class[v / 64] &= !(1 << (v % 64));
            for (c, a) in class.iter_mut().zip(graph.row(v)) {
                *c &= !a;
            }
            order.push(v);
            colors.push(color);
        }
    }
    (order, colors)
}

fn first(set: &[u64]) -> Option<usize> {
    set.iter()
        .position(|&w| w != 0)
        .map(|i| i * 64 + set[i].trailing_zeros() as usize)
}

/// One largest clique of `graph`, by branch and bound, stopped at `deadline` or as soon as
/// a clique of `enough` vertices is found (`usize::MAX`: never).
///
/// When the result is not `complete`, the clique is the largest found, a lower bound of
/// the clique number (and `cliques` may be empty for a graph without vertices).
///
/// # Example
///
/// ```
/// use ebm_data::puzzles::Graph;
/// use ebm_factor::clique::{BitGraph, clique_number};
/// // A 5-cycle: its largest independent sets have 2 vertices.
/// let cycle = Graph { vertices: 5, edges: vec![(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)] };
/// let found = clique_number(&BitGraph::complement(&cycle), usize::MAX, None);
/// assert!(found.complete);
/// assert_eq!(found.cliques[0].len(), 2);
/// ```
pub fn clique_number(graph: &BitGraph, enough: usize, deadline: Option<Instant>) -> CliqueSearch {
    search(graph, 0, false, enough.max(1), deadline)
}

/// Every clique of `size` vertices of `graph` when `size` is its clique number (then
/// these are its maximum cliques; with a smaller `size`, only the cliques of that size
/// that are maximal are listed), stopped after `cap` cliques or at `deadline` (then not
/// `complete`).
///
/// # Example
///
/// ```
/// use ebm_data::puzzles::Graph;
/// use ebm_factor::clique::{BitGraph, cliques_of_size};
/// // The path 0-1-2-3 has three independent sets of two vertices: {0,2}, {0,3}, {1,3}.
/// let path = Graph { vertices: 4, edges: vec![(0, 1), (1, 2), (2, 3)] };
/// let found = cliques_of_size(&BitGraph::complement(&path), 2, 100, None);
/// assert!(found.complete);
/// let mut sets = found.cliques;
/// sets.sort();
/// assert_eq!(sets, vec![vec![0, 2], vec![0, 3], vec![1, 3]]);
/// ```
pub fn cliques_of_size(
    graph: &BitGraph,
    size: usize,
    cap: usize,
    deadline: Option<Instant>,
) -> CliqueSearch {
    search(graph, size, true, cap.max(1), deadline)
}

fn search(
    graph: &BitGraph,
    target: usize,
    enumerate: bool,
    cap: usize,
    deadline: Option<Instant>,
) -> CliqueSearch {
    let mut state = Expand {
        graph,
        deadline,
        target,
        enumerate,
        cap,
        clique: Vec::new(),
        found: Vec::new(),
        stopped: false,
        nodes: 0,
    };
    let mut all = graph.all();
    if graph.vertices() > 0 && !(enumerate && target == 0) {
        state.expand(&mut all);
    }
    CliqueSearch {
        cliques: state.found,
        complete: !state.stopped,
        nodes: state.nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::rng::{index, stream};

    /// A random graph with edge probability `p` (in percent).
    fn random_graph(n: usize, percent: usize, seed: u64) -> Graph {
        let mut rng = stream(seed, 0, 0);
        let mut edges = Vec::new();
        for u in 0..n {
            for v in u + 1..n {
                if index(&mut rng, 100) < percent {
                    edges.push((u, v));
                }
            }
        }
        Graph { vertices: n, edges }
    }

    /// Every clique of `graph` by trying all subsets, grouped by size.
    fn brute_force(graph: &Graph) -> Vec<Vec<Vec<usize>>> {
        let n = graph.vertices;
        let adjacent = |u: usize, v: usize| graph.edges.contains(&(u.min(v), u.max(v)));
        let mut by_size = vec![Vec::new(); n + 1];
        for mask in 0u32..1 << n {
            let set: Vec<usize> = (0..n).filter(|&v| mask >> v & 1 == 1).collect();
            if set
                .iter()
                .enumerate()
                .all(|(i, &u)| set[i + 1..].iter().all(|&v| adjacent(u, v)))
            {
                by_size[set.len()].push(set);
            }
        }
        by_size
    }

    #[test]
    fn clique_number_and_maximum_cliques_match_brute_force() {
        for seed in 0..12 {
            let graph = random_graph(13, 25 + 5 * seed as usize, seed);
            let cliques = brute_force(&graph);
            let omega = cliques.iter().rposition(|c| !c.is_empty()).unwrap();
            let bits = BitGraph::new(&graph);
            let found = clique_number(&bits, usize::MAX, None);
            assert!(found.complete);
            assert_eq!(found.cliques[0].len(), omega, "seed {seed}");
            assert!(cliques[omega].contains(&found.cliques[0]));
            let mut all = cliques_of_size(&bits, omega, usize::MAX, None).cliques;
            all.sort();
            let mut expected = cliques[omega].clone();
            expected.sort();
            assert_eq!(all, expected, "seed {seed}");
        }
    }

    #[test]
    fn the_complement_gives_independent_sets_and_the_cap_stops() {
        // The 3x3 rook's graph (vertices share a row or a column): 6 independent sets of 3.
        let mut edges = Vec::new();
        for u in 0..9 {
            for v in u + 1..9 {
                if u / 3 == v / 3 || u % 3 == v % 3 {
                    edges.push((u, v));
                }
            }
        }
        let rooks = Graph { vertices: 9, edges };
        let complement = BitGraph::complement(&rooks);
        assert_eq!(
            clique_number(&complement, usize::MAX, None).cliques[0].len(),
            3
        );
        assert_eq!(cliques_of_size(&complement, 3, 100, None).cliques.len(), 6);
        let enough = clique_number(&complement, 2, None);
        // Stopped at the first maximal clique of at least 2 vertices.
        assert!(enough.cliques[0].len() >= 2 && !enough.complete);
        let capped = cliques_of_size(&complement, 3, 4, None);
        assert_eq!((capped.cliques.len(), capped.complete), (4, false));
        let empty = Graph {
            vertices: 0,
            edges: vec![],
        };
        assert!(
            clique_number(&BitGraph::new(&empty), usize::MAX, None)
                .cliques
                .is_empty()
        );
    }
}
