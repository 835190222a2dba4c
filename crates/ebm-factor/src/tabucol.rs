//! Tabu search on the Potts energy of graph coloring (TabuCol, Hertz & de Werra 1987,
//! with the incremental move evaluation and dynamic tenure of Galinier & Hao 1999).
//!
//! With `k` colors, the energy of an assignment is the number of edges whose ends share a
//! color (the zero-temperature Potts energy with one unit per edge); a proper coloring
//! is a zero of it. Each iteration moves one conflicting vertex to the color that lowers
//! the energy most (or raises it least), among the moves that are not tabu: moving a
//! vertex back to a color it just left is forbidden for `random(0..tenure_random) +
//! tenure_factor * conflicting vertices` iterations, unless the move reaches an energy
//! below the best seen (aspiration). The table `gamma[v][c]` (neighbours of `v` colored
//! `c`) makes every move's energy change one subtraction, so an iteration costs the number
//! of conflicting vertices times `k`, and a move the degree of the moved vertex.

use crate::{FactorError, InvalidSetting};
use ebm_data::puzzles::Graph;
use ebm_kernels::rng::{StreamRng, index, stream};
use std::time::{Duration, Instant};

/// Settings of [`tabu_coloring`].
#[derive(Clone, Debug)]
pub struct TabuConfig {
    /// Seed of the initial assignment and of the tie-breaking (the same seed and the
    /// same number of iterations give the same result).
    pub seed: u64,
    /// Stop after this many moves (`u64::MAX`: only the time limit stops it).
    pub max_iterations: u64,
    /// Stop after this long (`None`: only `max_iterations`).
    pub time_limit: Option<Duration>,
    /// The random part of the tabu tenure: uniform in `0..tenure_random` iterations.
    pub tenure_random: usize,
    /// The tenure's part proportional to the number of conflicting vertices.
    pub tenure_factor: f64,
}

impl Default for TabuConfig {
    /// Galinier & Hao's tenure (`random(0..10) + 0.6 * conflicting vertices`), seed 0,
    /// ten million moves, no time limit.
    fn default() -> Self {
        Self {
            seed: 0,
            max_iterations: 10_000_000,
            time_limit: None,
            tenure_random: 10,
            tenure_factor: 0.6,
        }
    }
}

/// What [`tabu_coloring`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct TabuResult {
    /// The best assignment seen: a color in `0..k` per vertex.
    pub assignment: Vec<usize>,
    /// Its energy: the edges whose ends share a color (0: a proper coloring).
    pub conflicts: usize,
    /// Moves made.
    pub iterations: u64,
}

/// A graph as neighbour lists: the neighbours of `v` are
/// `neighbours[offsets[v]..offsets[v + 1]]`.
#[derive(Clone, Debug)]
pub(crate) struct Adjacency {
    offsets: Vec<usize>,
    neighbours: Vec<usize>,
}

impl Adjacency {
    /// The neighbour lists of `graph` (each edge listed at both ends).
    pub(crate) fn new(graph: &Graph) -> Self {
        let n = graph.vertices;
        let mut degree = vec![0usize; n + 1];
        for &(u, v) in &graph.edges {
            degree[u + 1] += 1;
            degree[v + 1] += 1;
        }
        let mut offsets = degree;
        for v in 0..n {
            offsets[v + 1] += offsets[v];
        }
        let mut fill = offsets.clone();
        let mut neighbours = vec![0usize; offsets[n]];
        for &(u, v) in &graph.edges {
            neighbours[fill[u]] = v;
            fill[u] += 1;
            neighbours[fill[v]] = u;
            fill[v] += 1;
        }
        Self {
            offsets,
            neighbours,
        }
    }

    /// Vertices of the graph.
    pub(crate) fn vertices(&self) -> usize {
        self.offsets.len() - 1
    }

    /// The neighbours of `v`.
    pub(crate) fn of(&self, v: usize) -> &[usize] {
        &self.neighbours[self.offsets[v]..self.offsets[v + 1]]
    }
}

/// The search's state: the assignment, the neighbour-color counts and the set of
/// conflicting vertices, kept consistent by [`Search::recolor`].
pub(crate) struct Search<'a> {
    colors: usize,
    adjacency: &'a Adjacency,
    color: Vec<usize>,
    /// `gamma[v * colors + c]`: neighbours of `v` colored `c`.
    gamma: Vec<u32>,
    /// The vertices with a neighbour of their own color, and each vertex's place there.
    conflicting: Vec<usize>,
    place: Vec<usize>,
    /// Twice the energy: each conflicting edge counts at both ends.
    conflict_ends: usize,
}

const NOT_CONFLICTING: usize = usize::MAX;

impl<'a> Search<'a> {
    /// The search from `color` (a color in `0..colors` per vertex).
    pub(crate) fn new(adjacency: &'a Adjacency, colors: usize, color: Vec<usize>) -> Self {
        let n = adjacency.vertices();
        let mut search = Self {
            colors,
            adjacency,
            color,
            gamma: vec![0; n * colors],
            conflicting: Vec::new(),
            place: vec![NOT_CONFLICTING; n],
            conflict_ends: 0,
        };
        for v in 0..n {
            for &u in adjacency.of(v) {
                search.gamma[v * colors + search.color[u]] += 1;
            }
            search.conflict_ends += search.gamma[v * colors + search.color[v]] as usize;
            search.update_membership(v);
        }
        search
    }

    fn own_conflicts(&self, v: usize) -> u32 {
        self.gamma[v * self.colors + self.color[v]]
    }

    /// Put `v` in or take it out of the conflicting set, as its counts say.
    fn update_membership(&mut self, v: usize) {
        let conflicting = self.own_conflicts(v) > 0;
        match (conflicting, self.place[v] != NOT_CONFLICTING) {
            (true, false) => {
                self.place[v] = self.conflicting.len();
                self.conflicting.push(v);
            }
            (false, true) => {
                let at = self.place[v];
                let last = self.conflicting.pop().expect("v is in the set");
                if last != v {
                    self.conflicting[at] = last;
                    self.place[last] = at;
                }
                self.place[v] = NOT_CONFLICTING;
            }
            _ => {}
        }
    }

    /// Move `v` to color `to`, updating the counts, the energy and the conflicting set.
    fn recolor(&mut self, v: usize, to: usize) {
        let from = self.color[v];
        let k = self.colors;
        let before = self.gamma[v * k + from] as usize;
        let after = self.gamma[v * k + to] as usize;
        self.conflict_ends = self.conflict_ends + 2 * after - 2 * before;
        self.color[v] = to;
        for &u in self.adjacency.of(v) {
            self.gamma[u * k + from] -= 1;
            self.gamma[u * k + to] += 1;
            if self.color[u] == from || self.color[u] == to {
                self.update_membership(u);
            }
        }
        self.update_membership(v);
    }

    /// The edges whose ends share a color.
    pub(crate) fn energy(&self) -> usize {
        self.conflict_ends / 2
    }
}

/// A greedy start: vertices in a random order, each given the color that conflicts with
/// the fewest already-colored neighbours (ties to the lowest color).
pub(crate) fn greedy_start(
    adjacency: &Adjacency,
    colors: usize,
    rng: &mut StreamRng,
) -> Vec<usize> {
    let n = adjacency.vertices();
    let mut order: Vec<usize> = (0..n).collect();
    ebm_kernels::rng::shuffle(rng, &mut order);
    let mut color = vec![usize::MAX; n];
    let mut used = vec![0u32; colors];
    for v in order {
        used.iter_mut().for_each(|u| *u = 0);
        for &u in adjacency.of(v) {
            if color[u] != usize::MAX {
                used[color[u]] += 1;
            }
        }
        let best = (0..colors).min_by_key(|&c| used[c]).unwrap_or(0);
        color[v] = best;
    }
    color
}

/// Search for a proper `colors`-coloring of `graph` by tabu search on the Potts energy
/// (see the module documentation); returns the best assignment seen, proper when its
/// `conflicts` are 0. The search is incomplete: a positive result proves nothing.
///
/// # Errors
///
/// [`FactorError::InvalidSetting`] when `colors` is 0 (of a graph with vertices) or the
/// tenure factor is negative or not finite.
///
/// # Example
///
/// ```
/// use ebm_data::puzzles::Graph;
/// use ebm_factor::tabucol::{TabuConfig, tabu_coloring};
/// // A 5-cycle needs 3 colors.
/// let graph = Graph { vertices: 5, edges: vec![(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)] };
/// let found = tabu_coloring(&graph, 3, &TabuConfig::default()).unwrap();
/// assert_eq!(found.conflicts, 0);
/// assert!(graph.edges.iter().all(|&(u, v)| found.assignment[u] != found.assignment[v]));
/// ```
pub fn tabu_coloring(
    graph: &Graph,
    colors: usize,
    config: &TabuConfig,
) -> Result<TabuResult, FactorError> {
    check_settings(graph, colors, config)?;
    let deadline = config.time_limit.map(|t| Instant::now() + t);
    let mut rng = stream(config.seed, 0, 0);
    let adjacency = Adjacency::new(graph);
    let start = greedy_start(&adjacency, colors, &mut rng);
    let mut search = Search::new(&adjacency, colors, start);
    let mut tabu_until = Vec::new();
    let best = improve(
        &mut search,
        config,
        config.max_iterations,
        deadline,
        &mut rng,
        &mut tabu_until,
    );
    debug_assert_eq!(best.conflicts, conflicts(graph, &best.assignment));
    Ok(best)
}

/// The settings every coloring search by tabu moves checks: at least one color (for a
/// graph with vertices) and a finite, non-negative tenure factor.
pub(crate) fn check_settings(
    graph: &Graph,
    colors: usize,
    config: &TabuConfig,
) -> Result<(), InvalidSetting> {
    InvalidSetting::require(
        colors > 0 || graph.vertices == 0,
        "colors",
        "must be at least 1",
    )?;
    InvalidSetting::require(
        config.tenure_factor.is_finite() && config.tenure_factor >= 0.0,
        "tenure_factor",
        "must be a finite number >= 0",
    )
}

/// Tabu search from `search`'s assignment for at most `max_iterations` moves or until
/// `deadline`, whichever comes first (or a proper coloring); returns the best assignment
/// seen. `tabu_until` is scratch space (any length; resized and cleared here).
pub(crate) fn improve(
    search: &mut Search<'_>,
    config: &TabuConfig,
    max_iterations: u64,
    deadline: Option<Instant>,
    rng: &mut StreamRng,
    tabu_until: &mut Vec<u64>,
) -> TabuResult {
    let colors = search.colors;
    let (mut best, mut best_energy) = (search.color.clone(), search.energy());
    tabu_until.clear();
    tabu_until.resize(search.color.len() * colors, 0);
    let mut iteration = 0u64;
    while best_energy > 0 && iteration < max_iterations {
        if iteration % 1024 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        iteration += 1;
        // The best non-tabu move (or tabu move that beats the best energy), ties broken
        // uniformly at random by reservoir sampling.
        let energy = search.energy() as i64;
        let mut chosen: Option<(usize, usize)> = None;
        let (mut chosen_delta, mut ties) = (i64::MAX, 0u32);
        for &v in &search.conflicting {
            let row = &search.gamma[v * colors..(v + 1) * colors];
            let own = row[search.color[v]] as i64;
            for (c, &g) in row.iter().enumerate() {
                if c == search.color[v] {
                    continue;
                }
                let delta = g as i64 - own;
                let allowed =
                    tabu_until[v * colors + c] < iteration || energy + delta < best_energy as i64;
                if !allowed || delta > chosen_delta {
                    continue;
                }
                if delta < chosen_delta {
                    (chosen_delta, ties) = (delta, 0);
                }
                ties += 1;
                if ties == 1 || index(rng, ties as usize) == 0 {
                    chosen = Some((v, c));
                }
            }
        }
        let Some((v, to)) = chosen.or_else(|| {
            // Every move is tabu: move a random conflicting vertex to a random color.
            let v = search.conflicting[index(rng, search.conflicting.len())];
            (colors > 1).then(|| (v, (search.color[v] + 1 + index(rng, colors - 1)) % colors))
        }) else {
            break;
        };
        let from = search.color[v];
        search.recolor(v, to);
        let tenure = index(rng, config.tenure_random.max(1)) as f64
            + config.tenure_factor * search.conflicting.len() as f64;
        tabu_until[v * colors + from] = iteration + tenure as u64;
        if search.energy() < best_energy {
            best_energy = search.energy();
            best.copy_from_slice(&search.color);
        }
    }
    TabuResult {
        assignment: best,
        conflicts: best_energy,
        iterations: iteration,
    }
}

/// The edges of `graph` whose ends share a color in `assignment`.
pub fn conflicts(graph: &Graph, assignment: &[usize]) -> usize {
    graph
        .edges
        .iter()
        .filter(|&&(u, v)| assignment[u] == assignment[v])
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Mycielski graph of a graph (one more color needed, no triangle added).
    fn mycielski(g: &Graph) -> Graph {
        let n = g.vertices;
        let mut edges = g.edges.clone();
        for &(u, v) in &g.edges {
            edges.push((u, n + v));
            edges.push((v, n + u));
        }
        edges.extend((0..n).map(|u| (n + u, 2 * n)));
        for e in &mut edges {
            *e = (e.0.min(e.1), e.0.max(e.1));
        }
        Graph {
            vertices: 2 * n + 1,
            edges,
        }
    }

    /// The incremental energy and conflicting set agree with a recount after every move
    /// of a random walk.
    #[test]
    fn incremental_counts_match_a_recount() {
        let cycle = Graph {
            vertices: 5,
            edges: vec![(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)],
        };
        let graph = mycielski(&mycielski(&cycle));
        let mut rng = stream(3, 0, 0);
        let adjacency = Adjacency::new(&graph);
        let start = greedy_start(&adjacency, 3, &mut rng);
        let mut search = Search::new(&adjacency, 3, start);
        for _ in 0..2000 {
            let v = index(&mut rng, graph.vertices);
            let to = index(&mut rng, 3);
            if to != search.color[v] {
                search.recolor(v, to);
            }
            assert_eq!(search.energy(), conflicts(&graph, &search.color));
            let mut expected: Vec<usize> = (0..graph.vertices)
                .filter(|&u| {
                    graph
                        .edges
                        .iter()
                        .any(|&(a, b)| (a == u || b == u) && search.color[a] == search.color[b])
                })
                .collect();
            let mut got = search.conflicting.clone();
            got.sort_unstable();
            expected.sort_unstable();
            assert_eq!(got, expected);
        }
    }

    /// The Grötzsch graph (Mycielski of the 5-cycle, chromatic number 4): 4 colors are
    /// found, 3 never (the best 3-coloring still has a conflict), and the same seed gives
    /// the same result.
    #[test]
    fn colors_the_grotzsch_graph_with_four_and_not_three() {
        let cycle = Graph {
            vertices: 5,
            edges: vec![(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)],
        };
        let grotzsch = mycielski(&cycle);
        let config = TabuConfig {
            max_iterations: 20_000,
            ..TabuConfig::default()
        };
        let four = tabu_coloring(&grotzsch, 4, &config).unwrap();
        assert_eq!(four.conflicts, 0);
        assert_eq!(conflicts(&grotzsch, &four.assignment), 0);
        let three = tabu_coloring(&grotzsch, 3, &config).unwrap();
        assert!(three.conflicts >= 1);
        assert_eq!(three.iterations, 20_000);
        assert_eq!(tabu_coloring(&grotzsch, 3, &config).unwrap(), three);
        assert!(tabu_coloring(&grotzsch, 0, &config).is_err());
    }
}
