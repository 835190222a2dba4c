//! The hybrid evolutionary algorithm for graph coloring (HEA, Galinier & Hao 1999): a
//! small population of `k`-colorings, each improved by tabu search on the Potts energy
//! ([`tabucol`](crate::tabucol)); two parents make a child by the greedy partition
//! crossover (GPX), which builds the child's color classes one at a time, alternating
//! between the parents and taking each time the parent's largest class among the vertices
//! not yet placed; the child is improved by tabu search and replaces the worse parent.
//!
//! GPX passes whole color classes (independent sets that tabu search found) on to the
//! child, so the population keeps what the searches agree on and starts each new search
//! elsewhere; on the large random graphs (`le450_15c`, `le450_15d`) this finds colorings
//! that plain tabu search, restarted or not, does not find in the same time.

use crate::tabucol::{
    Adjacency, Search, TabuConfig, TabuResult, check_settings, greedy_start, improve,
};
use crate::{FactorError, InvalidSetting};
use ebm_data::puzzles::Graph;
use ebm_kernels::rng::{StreamRng, index, stream};
use std::time::{Duration, Instant};

/// Settings of [`evolutionary_coloring`].
#[derive(Clone, Debug)]
pub struct HeaConfig {
    /// Seed of the population, the crossovers and the searches (the same seed and the
    /// same number of generations give the same result).
    pub seed: u64,
    /// Colorings in the population (at least 2).
    pub population: usize,
    /// Tabu moves spent on each new coloring (the initial ones and every child).
    pub moves_per_child: u64,
    /// Stop after this many children (`u64::MAX`: only the time limit stops it).
    pub max_generations: u64,
    /// Stop after this long (`None`: only `max_generations`).
    pub time_limit: Option<Duration>,
    /// The tabu search's tenure (its seed and limits are not used).
    pub tabu: TabuConfig,
}

impl Default for HeaConfig {
    /// Galinier & Hao's population of 10 and tenure, 30,000 tabu moves per child (with it
    /// the 15-colorings of `le450_15c` and `le450_15d` took a few hundred children), seed
    /// 0, 10,000 generations, no time limit.
    fn default() -> Self {
        Self {
            seed: 0,
            population: 10,
            moves_per_child: 30_000,
            max_generations: 10_000,
            time_limit: None,
            tabu: TabuConfig::default(),
        }
    }
}

/// What [`evolutionary_coloring`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct HeaResult {
    /// The best coloring seen and its conflicts (0: proper); its `iterations` count the
    /// tabu moves of the whole run.
    pub best: TabuResult,
    /// Children made by crossover.
    pub generations: u64,
}

/// Search for a proper `colors`-coloring of `graph` by the hybrid evolutionary algorithm
/// (see the module documentation); returns the best coloring seen, proper when its
/// `conflicts` are 0. The search is incomplete: a positive result proves nothing.
///
/// # Errors
///
/// [`FactorError::InvalidSetting`] when `colors` is 0 (of a graph with vertices), the
/// population is below 2, or the tabu tenure factor is negative or not finite.
///
/// # Example
///
/// ```
/// use ebm_data::puzzles::Graph;
/// use ebm_factor::hea::{HeaConfig, evolutionary_coloring};
/// // A 5-cycle needs 3 colors.
/// let graph = Graph { vertices: 5, edges: vec![(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)] };
/// let found = evolutionary_coloring(&graph, 3, &HeaConfig::default()).unwrap();
/// assert_eq!(found.best.conflicts, 0);
/// ```
pub fn evolutionary_coloring(
    graph: &Graph,
    colors: usize,
    config: &HeaConfig,
) -> Result<HeaResult, FactorError> {
    check_settings(graph, colors, &config.tabu)?;
    InvalidSetting::require(config.population >= 2, "population", "must be at least 2")?;
    let deadline = config.time_limit.map(|t| Instant::now() + t);
    let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
    let mut rng = stream(config.seed, 1, 0);
    let adjacency = Adjacency::new(graph);
    let mut tabu_until = Vec::new();
    let mut moves = 0u64;
    let mut search_from = |start: Vec<usize>, rng: &mut StreamRng| {
        let mut search = Search::new(&adjacency, colors, start);
        let found = improve(
            &mut search,
            &config.tabu,
            config.moves_per_child,
            deadline,
            rng,
            &mut tabu_until,
        );
        moves += found.iterations;
        found
    };
    let mut population: Vec<TabuResult> = Vec::with_capacity(config.population);
    while population.len() < config.population {
        let start = greedy_start(&adjacency, colors, &mut rng);
        let found = search_from(start, &mut rng);
        let done = found.conflicts == 0 || out_of_time();
        population.push(found);
        if done {
            break;
        }
    }
    let mut crossover = Crossover::new(graph.vertices, colors);
    let mut generations = 0u64;
    while population.iter().all(|p| p.conflicts > 0)
        && population.len() >= 2
        && generations < config.max_generations
        && !out_of_time()
    {
        let first = index(&mut rng, population.len());
        let second = (first + 1 + index(&mut rng, population.len() - 1)) % population.len();
        let child = crossover.child(
            &population[first].assignment,
            &population[second].assignment,
            &mut rng,
        );
        let found = search_from(child, &mut rng);
        generations += 1;
        let worse = if population[first].conflicts >= population[second].conflicts {
            first
        } else {
            second
        };
        population[worse] = found;
    }
    let mut best = population
        .into_iter()
        .min_by_key(|p| p.conflicts)
        .expect("the population has at least one coloring");
    best.iterations = moves;
    Ok(HeaResult { best, generations })
}

/// The greedy partition crossover's buffers (reused from child to child).
struct Crossover {
    colors: usize,
    /// Vertices not yet placed in the child, per parent and color.
    class_sizes: [Vec<usize>; 2],
    placed: Vec<bool>,
    child: Vec<usize>,
}

const UNPLACED: usize = usize::MAX;

impl Crossover {
    fn new(vertices: usize, colors: usize) -> Self {
        Self {
            colors,
            class_sizes: [vec![0; colors], vec![0; colors]],
            placed: vec![false; vertices],
            child: vec![UNPLACED; vertices],
        }
    }

    /// GPX: class `l` of the child is the largest class of parent `l % 2` among the
    /// vertices not yet placed; vertices left after `colors` classes get random colors.
    fn child(&mut self, first: &[usize], second: &[usize], rng: &mut StreamRng) -> Vec<usize> {
        let parents = [first, second];
        for (sizes, parent) in self.class_sizes.iter_mut().zip(parents) {
            sizes.fill(0);
            for &c in parent {
                sizes[c] += 1;
            }
        }
        self.placed.fill(false);
        self.child.fill(UNPLACED);
        for class in 0..self.colors {
            let (from, other) = (class % 2, 1 - class % 2);
            let sizes = &self.class_sizes[from];
            let largest = (0..self.colors)
                .max_by_key(|&c| (sizes[c], std::cmp::Reverse(c)))
                .expect("at least one color");
            if self.class_sizes[from][largest] == 0 {
                break;
            }
            let placing = self.placed.iter_mut().zip(&mut self.child);
            for (v, (placed, child)) in placing.enumerate() {
                if !*placed && parents[from][v] == largest {
                    *placed = true;
                    *child = class;
                    self.class_sizes[other][parents[other][v]] -= 1;
                }
            }
            self.class_sizes[from][largest] = 0;
        }
        for color in self.child.iter_mut().filter(|c| **c == UNPLACED) {
            *color = index(rng, self.colors);
        }
        self.child.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tabucol::conflicts;

    /// GPX gives every vertex a color, keeps each class it copies whole, and takes the
    /// first class from the first parent's largest.
    #[test]
    fn crossover_copies_whole_classes() {
        let first = [0, 0, 0, 1, 1, 2];
        let second = [2, 1, 1, 0, 0, 0];
        let mut crossover = Crossover::new(6, 3);
        let mut rng = stream(1, 0, 0);
        let child = crossover.child(&first, &second, &mut rng);
        assert!(child.iter().all(|&c| c < 3));
        // Class 0: the first parent's class 0 (vertices 0-2); class 1: the second
        // parent's largest class among 3-5, its class 0 (vertices 3-5).
        assert_eq!(child, vec![0, 0, 0, 1, 1, 1]);
    }

    /// A graph made of `cliques` disjoint cliques of `size` vertices plus random edges
    /// that keep a planted `size`-coloring: colored with `size` colors, never with fewer.
    #[test]
    fn colors_a_planted_graph_and_not_below_its_clique() {
        let (size, cliques) = (5, 8);
        let n = size * cliques;
        let planted: Vec<usize> = (0..n).map(|v| v % size).collect();
        let mut edges = Vec::new();
        for c in 0..cliques {
            for a in 0..size {
                for b in a + 1..size {
                    edges.push((c * size + a, c * size + b));
                }
            }
        }
        let mut rng = stream(7, 0, 0);
        for _ in 0..200 {
            let (u, v) = (index(&mut rng, n), index(&mut rng, n));
            if u != v && planted[u] != planted[v] {
                edges.push((u.min(v), u.max(v)));
            }
        }
        edges.sort_unstable();
        edges.dedup();
        let graph = Graph { vertices: n, edges };
        let config = HeaConfig {
            max_generations: 200,
            moves_per_child: 2_000,
            ..HeaConfig::default()
        };
        let found = evolutionary_coloring(&graph, size, &config).unwrap();
        assert_eq!(found.best.conflicts, 0);
        assert_eq!(conflicts(&graph, &found.best.assignment), 0);
        let below = evolutionary_coloring(&graph, size - 1, &config).unwrap();
        assert!(below.best.conflicts >= 1);
        assert_eq!(below.generations, 200);
        assert_eq!(
            conflicts(&graph, &below.best.assignment),
            below.best.conflicts
        );
        assert_eq!(
            evolutionary_coloring(&graph, size - 1, &config).unwrap(),
            below
        );
        let one = HeaConfig {
            population: 1,
            ..HeaConfig::default()
        };
        assert!(evolutionary_coloring(&graph, size, &one).is_err());
    }
}
