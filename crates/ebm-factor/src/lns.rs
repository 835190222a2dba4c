//! MAP by large neighbourhood search: starting from an assignment, repeatedly free a
//! connected neighbourhood of variables (grown breadth-first from a random one in the
//! interaction graph), clamp every other variable to its current value, and solve the
//! neighbourhood exactly by variable elimination. A move never raises the energy, so the
//! search is anytime; the neighbourhood shrinks when elimination would be too wide.

use crate::FactorError;
use crate::exact;
use crate::map::MapSolution;
use crate::model::FactorModel;
use crate::network::Network;
use ebm_kernels::rng;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Settings of the search.
#[derive(Clone, Debug)]
pub struct LnsConfig {
    /// Variables freed per move.
    pub neighbourhood: usize,
    /// Most moves.
    pub moves: usize,
    /// Stop after this long.
    pub time_limit: Option<Duration>,
    /// Largest table elimination may build in one move.
    pub max_table: usize,
    /// The seed of the neighbourhood choices.
    pub seed: u64,
}

impl Default for LnsConfig {
    fn default() -> Self {
        Self {
            neighbourhood: 40,
            moves: 2000,
            time_limit: Some(Duration::from_secs(10)),
            max_table: 1 << 20,
            seed: 1,
        }
    }
}

/// Improve `start` by large neighbourhood search.
pub fn large_neighbourhood_search(
    model: &FactorModel,
    start: Vec<usize>,
    config: &LnsConfig,
) -> Result<MapSolution, FactorError> {
    if start.len() != model.domains().len() || config.neighbourhood == 0 {
        return Err(FactorError::InvalidConfig {
            setting: "lns",
            message: "the start must assign every variable and the neighbourhood be at least 1"
                .into(),
        });
    }
    let network = Network::new(model);
    let free = network.free_variables();
    let mut current = start;
    for (v, e) in model.evidence().iter().enumerate() {
        if let Some(x) = e {
            current[v] = *x;
        }
    }
    let mut energy = network.energy(&current);
    let began = Instant::now();
    let mut size = config.neighbourhood.min(free.len());
    let mut r = rng::stream(config.seed, 0, 0);
    let mut in_neighbourhood = vec![false; network.len()];
    let mut moves = 0;
    while moves < config.moves && !free.is_empty() {
        if config
            .time_limit
            .is_some_and(|limit| began.elapsed() >= limit)
        {
            break;
        }
        moves += 1;
        let seed_variable = free[rng::index(&mut r, free.len())];
        let chosen = grow(&network, seed_variable, size, &mut in_neighbourhood);
        let mut sub = model.clone();
        for v in 0..network.len() {
            if !in_neighbourhood[v] {
                sub.set_evidence(v, current[v])?;
            }
        }
        for &v in &chosen {
            in_neighbourhood[v] = false;
        }
        match exact::map_assignment(&sub, config.max_table) {
            Ok((candidate, _)) => {
                let candidate_energy = network.energy(&candidate);
                if candidate_energy <= energy {
                    energy = candidate_energy;
                    current = candidate;
                }
            }
            Err(FactorError::TooWide { .. }) => size = (size * 3 / 4).max(1),
            Err(other) => return Err(other),
        }
    }
    Ok(MapSolution {
        assignment: current,
        energy,
        lower_bound: None,
        iterations: moves as u64,
    })
}

/// Up to `size` free variables reached breadth-first from `from` (marked in `mark`).
fn grow(network: &Network, from: usize, size: usize, mark: &mut [bool]) -> Vec<usize> {
    let mut chosen = vec![from];
    mark[from] = true;
    let mut queue = VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        for &f in network.factors_of(v) {
            for u in network.factors[f].scope() {
                if chosen.len() >= size {
                    return chosen;
                }
                if !mark[u] && network.evidence[u].is_none() {
                    mark[u] = true;
                    chosen.push(u);
                    queue.push_back(u);
                }
            }
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From the all-zero state of a frustrated ring, search with neighbourhoods of 6 reaches
    /// the exact optimum (elimination), and never returns a worse state than its start.
    #[test]
    fn reaches_the_optimum_of_a_ring() {
        let n = 30;
        let mut m = FactorModel::new(vec![3; n]);
        for v in 0..n {
            let unary: Vec<f64> = (0..3).map(|x| ((v * 7 + x * 3) % 5) as f64 * 0.3).collect();
            m.add_energy_factor(&[v], &unary).unwrap();
            m.add_potts(v, (v + 1) % n, if v % 3 == 0 { -0.5 } else { 0.9 })
                .unwrap();
        }
        let (_, ln_best) = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE).unwrap();
        let config = LnsConfig {
            neighbourhood: 6,
            moves: 500,
            time_limit: None,
            ..LnsConfig::default()
        };
        let s = large_neighbourhood_search(&m, vec![0; n], &config).unwrap();
        assert!(s.energy <= m.energy(&vec![0; n]));
        assert!(
            (s.energy + ln_best).abs() < 1e-9,
            "{} vs {}",
            s.energy,
            -ln_best
        );
    }
}
