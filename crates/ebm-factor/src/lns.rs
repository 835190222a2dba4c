//! MAP by large neighbourhood search: starting from an assignment, repeatedly free a
//! connected neighbourhood of variables (grown breadth-first from a random one in the
//! interaction graph), clamp every other variable to its current value, and solve the
//! neighbourhood exactly by variable elimination. A move never raises the energy, so the
//! search is anytime; the neighbourhood shrinks when elimination would be too wide.
//!
//! Every fourth move is a cutset move instead. Hubs are the variables in more factors than
//! the median variable, such as the diseases of a diagnosis network, whose chains of
//! low-degree variables link them to the symptoms. A cutset move frees every non-hub
//! variable, plus a random hub and the hubs it reaches through non-hub variables (up to a
//! cap, which shrinks when elimination would be too wide). So it can swap which hubs
//! explain the evidence together with every chain that follows them. Connected blocks
//! cannot do that when the chains are long.

use crate::exact;
use crate::map::MapSolution;
use crate::model::FactorModel;
use crate::network::Network;
use crate::{FactorError, InvalidSetting};
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
    InvalidSetting::require(
        start.len() == model.domains().len() && config.neighbourhood > 0,
        "lns",
        "the start must assign every variable and the neighbourhood be at least 1",
    )?;
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
    // Hubs: free variables in more factors than the median one.
    let mut degrees: Vec<usize> = free.iter().map(|&v| network.factors_of(v).len()).collect();
    degrees.sort_unstable();
    let median = degrees.get(degrees.len() / 2).copied().unwrap_or(0);
    let mut is_hub = vec![false; network.len()];
    let hubs: Vec<usize> = free
        .iter()
        .copied()
        .filter(|&v| network.factors_of(v).len() > median)
        .collect();
    hubs.iter().for_each(|&v| is_hub[v] = true);
    let non_hubs: Vec<usize> = free.iter().copied().filter(|&v| !is_hub[v]).collect();
    let mut hub_cap = FIRST_HUB_CAP;
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
        let cutset_move = moves % CUTSET_EVERY == 0 && !hubs.is_empty();
        let chosen = if cutset_move {
            // The hubs found are distinct and never non-hubs, so `chosen` has no repeats.
            let mut chosen = non_hubs.clone();
            let seed_hub = hubs[rng::index(&mut r, hubs.len())];
            chosen.extend(hubs_near(&network, seed_hub, &is_hub, hub_cap));
            chosen.iter().for_each(|&v| in_neighbourhood[v] = true);
            chosen
        } else {
            grow(&network, seed_variable, size, &mut in_neighbourhood)
        };
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
            Err(FactorError::TooWide { .. }) if cutset_move => hub_cap = (hub_cap * 3 / 4).max(1),
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

/// One move in this many is a cutset move.
const CUTSET_EVERY: usize = 4;

/// Most hubs a cutset move frees at first; the cap shrinks by a quarter each time
/// elimination cannot solve a cutset move. 24 solved Promedas_11 (UAI 2014) to toulbar2's
/// optimum, where 48 was too wide and 12 stalled above it.
const FIRST_HUB_CAP: usize = 24;

/// `from` and up to `cap - 1` other hubs reached from it through non-hub variables,
/// nearest first.
fn hubs_near(network: &Network, from: usize, is_hub: &[bool], cap: usize) -> Vec<usize> {
    let mut seen = vec![false; network.len()];
    breadth_first(network, from, cap, &mut seen, |u| (is_hub[u], !is_hub[u]))
}

/// Up to `size` free variables reached breadth-first from `from` (marked in `mark`).
fn grow(network: &Network, from: usize, size: usize, mark: &mut [bool]) -> Vec<usize> {
    breadth_first(network, from, size, mark, |_| (true, true))
}

/// Breadth-first from `from` through the factors to the free variables not yet marked in
/// `seen` (each is marked when reached): `step(u)` says whether to keep `u` and whether
/// to go on through it. Returns `from` and the kept variables, in the order reached,
/// stopping at `cap` of them.
fn breadth_first(
    network: &Network,
    from: usize,
    cap: usize,
    seen: &mut [bool],
    mut step: impl FnMut(usize) -> (bool, bool),
) -> Vec<usize> {
    seen[from] = true;
    let mut kept = vec![from];
    let mut queue = VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        for &f in network.factors_of(v) {
            for u in network.factors[f].scope() {
                if kept.len() >= cap {
                    return kept;
                }
                if seen[u] || network.evidence[u].is_some() {
                    continue;
                }
                seen[u] = true;
                let (keep, through) = step(u);
                if keep {
                    kept.push(u);
                }
                if through {
                    queue.push_back(u);
                }
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_models::frustrated_ring;

    /// A small diagnosis network in the shape of Promedas: diseases with priors, each
    /// observed symptom the end of a chain `b = a OR (disease AND link)` through three
    /// diseases. From the all-zero start, blocks of 2 variables alone stall at energy 13.65
    /// (checked by disabling cutset moves) against the optimum 10.48; with cutset moves the
    /// search reaches the optimum.
    #[test]
    fn cutset_moves_reach_the_optimum_of_a_diagnosis_network() {
        let (diseases, symptoms) = (6, 5);
        let chain_links = 3;
        let n = diseases + symptoms * (chain_links + 1);
        let mut m = FactorModel::new(vec![2; n]);
        for d in 0..diseases {
            m.add_energy_factor(&[d], &[0.0, 2.0 + d as f64 * 0.4])
                .unwrap();
        }
        // p(b | a, d) with last variable fastest over (a, d, b).
        let link = |p_on: f64| {
            let probabilities = [1.0, 0.0, 1.0 - p_on, p_on, 0.0, 1.0, 0.0, 1.0];
            probabilities.map(|p: f64| -p.ln())
        };
        for s in 0..symptoms {
            let start = diseases + s * (chain_links + 1);
            m.set_evidence(start, 0).unwrap();
            m.set_evidence(start + chain_links, 1).unwrap();
            for k in 0..chain_links {
                let disease = (s * 2 + k * 3) % diseases;
                let table = link(0.5 + 0.1 * k as f64);
                m.add_energy_factor(&[start + k, disease, start + k + 1], &table)
                    .unwrap();
            }
        }
        reaches_the_optimum_from_zero(&m, 2, 40);
    }

    /// From the all-zero state of a frustrated ring, search with neighbourhoods of 6 reaches
    /// the exact optimum (elimination), and never returns a worse state than its start.
    #[test]
    fn reaches_the_optimum_of_a_ring() {
        let n = 30;
        let m = frustrated_ring(n);
        let s = reaches_the_optimum_from_zero(&m, 6, 500);
        assert!(s.energy <= m.energy(&vec![0; n]));
    }

    /// LNS from the all-zero state with `moves` moves of `neighbourhood` variables, no time
    /// limit, asserted to reach the exact optimum (elimination).
    fn reaches_the_optimum_from_zero(
        m: &FactorModel,
        neighbourhood: usize,
        moves: usize,
    ) -> MapSolution {
        let (_, ln_best) = exact::map_assignment(m, exact::DEFAULT_MAX_TABLE).unwrap();
        let config = LnsConfig {
            neighbourhood,
            moves,
            time_limit: None,
            ..LnsConfig::default()
        };
        let s = large_neighbourhood_search(m, vec![0; m.domains().len()], &config).unwrap();
        assert!(
            (s.energy + ln_best).abs() < 1e-9,
            "{} vs {}",
            s.energy,
            -ln_best
        );
        s
    }
}
