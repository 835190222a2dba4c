//! Graph coloring as an exact cover by maximum independent sets.
//!
//! A `k`-coloring splits the `n` vertices into `k` independent sets, so some class has at
//! least `n / k` vertices: no `k`-coloring exists when the independence number `alpha` is
//! below `n / k`. When `k * alpha == n` exactly, every class must have exactly `alpha`
//! vertices, so a `k`-coloring is an exact cover of the vertices by maximum independent
//! sets (the set-partitioning view of coloring). [`cover_coloring`] computes `alpha` by
//! branch and bound on the complement ([`clique`](crate::clique)), lists every maximum
//! independent set (11-queens' 2,680 solutions for `queen11_11`) and solves the exact
//! cover ([`exact_cover`](crate::exact_cover)); the method is complete when it applies.

use crate::clique::{BitGraph, clique_number, cliques_of_size};
use crate::exact_cover::{Cover, exact_cover};
use crate::problems::is_proper_coloring;
use crate::{FactorError, InvalidSetting};
use ebm_data::puzzles::Graph;
use std::time::{Duration, Instant};

/// Settings of [`cover_coloring`].
#[derive(Clone, Debug)]
pub struct CoverConfig {
    /// Time for computing `alpha` (`None`: no limit); past it the method does not apply.
    pub alpha_time_limit: Option<Duration>,
    /// Time for the whole method (`None`: no limit).
    pub time_limit: Option<Duration>,
    /// At most this many maximum independent sets are listed; past it the method does
    /// not apply (the sets' vertices take `4 * alpha` bytes a set).
    pub max_sets: usize,
}

impl Default for CoverConfig {
    /// Two million sets, no time limits.
    fn default() -> Self {
        Self {
            alpha_time_limit: None,
            time_limit: None,
            max_sets: 2_000_000,
        }
    }
}

/// Why [`cover_coloring`] gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotApplicable {
    /// `colors` does not divide the number of vertices.
    Indivisible,
    /// `alpha` (proved) is above `n / colors`: classes need not be maximum sets.
    AlphaAbove {
        /// The independence number.
        alpha: usize,
    },
    /// `alpha` was not proved within its time.
    AlphaUnknown {
        /// The largest independent set found.
        at_least: usize,
    },
    /// More maximum independent sets than `max_sets`.
    TooManySets,
    /// The time limit stopped the listing or the exact cover.
    Stopped,
}

/// What [`cover_coloring`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoverOutcome {
    /// A proper coloring: a color in `0..colors` per vertex.
    Colored(Vec<usize>),
    /// Proved: no `colors`-coloring exists (`alpha` below `n / colors`, or no exact cover
    /// by the maximum independent sets).
    Impossible,
    /// The method does not apply (or ran out of time); nothing is proved.
    NotApplicable(NotApplicable),
}

/// What [`cover_coloring`] did, with the outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverResult {
    /// The answer.
    pub outcome: CoverOutcome,
    /// The independence number, when proved.
    pub alpha: Option<usize>,
    /// Maximum independent sets listed.
    pub sets: usize,
    /// Branch nodes of the clique searches.
    pub nodes: u64,
}

/// Color `graph` with `colors` colors as an exact cover by maximum independent sets when
/// `colors * alpha == n` (see the module documentation); otherwise, or past the limits,
/// [`CoverOutcome::NotApplicable`]. A coloring returned is checked against every edge.
///
/// # Errors
///
/// [`FactorError::InvalidSetting`] when `colors` is 0 (of a graph with vertices) or
/// `max_sets` is 0.
///
/// # Example
///
/// ```
/// use ebm_data::puzzles::Graph;
/// use ebm_factor::cover_coloring::{CoverConfig, CoverOutcome, cover_coloring};
/// // A 6-cycle: alpha = 3, so a 2-coloring is a cover by its two maximum independent sets.
/// let cycle = Graph { vertices: 6, edges: vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5)] };
/// let result = cover_coloring(&cycle, 2, &CoverConfig::default()).unwrap();
/// let CoverOutcome::Colored(colors) = result.outcome else { panic!() };
/// assert!(cycle.edges.iter().all(|&(u, v)| colors[u] != colors[v]));
/// assert_eq!(result.alpha, Some(3));
/// ```
pub fn cover_coloring(
    graph: &Graph,
    colors: usize,
    config: &CoverConfig,
) -> Result<CoverResult, FactorError> {
    let n = graph.vertices;
    InvalidSetting::require(colors > 0 || n == 0, "colors", "must be at least 1")?;
    InvalidSetting::require(config.max_sets > 0, "max_sets", "must be at least 1")?;
    let start = Instant::now();
    let deadline = config.time_limit.map(|t| start + t);
    let alpha_deadline = match (config.alpha_time_limit.map(|t| start + t), deadline) {
        (Some(a), Some(d)) => Some(a.min(d)),
        (a, d) => a.or(d),
    };
    let mut result = CoverResult {
        outcome: CoverOutcome::NotApplicable(NotApplicable::Indivisible),
        alpha: None,
        sets: 0,
        nodes: 0,
    };
    if n == 0 {
        result.outcome = CoverOutcome::Colored(Vec::new());
        return Ok(result);
    }
    if n % colors != 0 {
        return Ok(result);
    }
    let size = n / colors;
    let complement = BitGraph::complement(graph);
    let largest = clique_number(&complement, size + 1, alpha_deadline);
    result.nodes = largest.nodes;
    let found = largest.cliques.first().map_or(0, Vec::len);
    if found > size {
        // Even unproved, a set above n / colors means classes need not be maximum.
        result.alpha = largest.complete.then_some(found);
        result.outcome = CoverOutcome::NotApplicable(NotApplicable::AlphaAbove { alpha: found });
        return Ok(result);
    }
    if !largest.complete {
        result.outcome =
            CoverOutcome::NotApplicable(NotApplicable::AlphaUnknown { at_least: found });
        return Ok(result);
    }
    result.alpha = Some(found);
    if found < size {
        result.outcome = CoverOutcome::Impossible;
        return Ok(result);
    }
    let sets = cliques_of_size(&complement, size, config.max_sets, deadline);
    result.nodes += sets.nodes;
    result.sets = sets.cliques.len();
    if !sets.complete {
        result.outcome = CoverOutcome::NotApplicable(if sets.cliques.len() >= config.max_sets {
            NotApplicable::TooManySets
        } else {
            NotApplicable::Stopped
        });
        return Ok(result);
    }
    result.outcome = match exact_cover(n, &sets.cliques, deadline) {
        Cover::Found(chosen) => {
            let mut color = vec![0; n];
            for (c, &set) in chosen.iter().enumerate() {
                for &v in &sets.cliques[set] {
                    color[v] = c;
                }
            }
            if is_proper_coloring(graph, &color, colors) {
                CoverOutcome::Colored(color)
            } else {
                return Err(FactorError::InvalidFactor(
                    "the exact cover gave a coloring that is not proper".into(),
                ));
            }
        }
        Cover::None => CoverOutcome::Impossible,
        Cover::Stopped => CoverOutcome::NotApplicable(NotApplicable::Stopped),
    };
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `side x side` queens graph: squares that share a row, column or diagonal.
    fn queens(side: usize) -> Graph {
        let mut edges = Vec::new();
        for u in 0..side * side {
            for v in u + 1..side * side {
                let (r1, c1, r2, c2) = (u / side, u % side, v / side, v % side);
                if r1 == r2 || c1 == c2 || r1 + c2 == r2 + c1 || r1 + c1 == r2 + c2 {
                    edges.push((u, v));
                }
            }
        }
        Graph {
            vertices: side * side,
            edges,
        }
    }

    #[test]
    fn queens_5x5_is_5_colored_and_6x6_cannot_be_6_colored() {
        let board = queens(5);
        let result = cover_coloring(&board, 5, &CoverConfig::default()).unwrap();
        assert_eq!((result.alpha, result.sets), (Some(5), 10));
        let CoverOutcome::Colored(colors) = result.outcome else {
            panic!("queen5_5 is 5-colorable: {result:?}")
        };
        assert!(is_proper_coloring(&board, &colors, 5));
        // 6-queens has 4 solutions: 36 squares need 6 disjoint ones, so no 6-coloring.
        let result = cover_coloring(&queens(6), 6, &CoverConfig::default()).unwrap();
        assert_eq!((result.alpha, result.sets), (Some(6), 4));
        assert_eq!(result.outcome, CoverOutcome::Impossible);
    }

    #[test]
    fn reports_when_it_does_not_apply() {
        let board = queens(5);
        // 25 vertices, 4 colors: not a multiple.
        let four = cover_coloring(&board, 4, &CoverConfig::default()).unwrap();
        assert_eq!(
            four.outcome,
            CoverOutcome::NotApplicable(NotApplicable::Indivisible)
        );
        // A 6-cycle with 3 colors: alpha = 3 > 6 / 3.
        let cycle = Graph {
            vertices: 6,
            edges: vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (0, 5)],
        };
        let three = cover_coloring(&cycle, 3, &CoverConfig::default()).unwrap();
        assert_eq!(
            three.outcome,
            CoverOutcome::NotApplicable(NotApplicable::AlphaAbove { alpha: 3 })
        );
        // A triangle with one color: alpha = 1 < 3, proved impossible.
        let triangle = Graph {
            vertices: 3,
            edges: vec![(0, 1), (1, 2), (0, 2)],
        };
        let one = cover_coloring(&triangle, 1, &CoverConfig::default()).unwrap();
        assert_eq!(one.outcome, CoverOutcome::Impossible);
        // The cap on the sets.
        let capped = CoverConfig {
            max_sets: 3,
            ..CoverConfig::default()
        };
        let few = cover_coloring(&board, 5, &capped).unwrap();
        assert_eq!(
            few.outcome,
            CoverOutcome::NotApplicable(NotApplicable::TooManySets)
        );
        assert!(cover_coloring(&board, 0, &CoverConfig::default()).is_err());
    }
}
