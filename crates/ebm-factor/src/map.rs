//! MAP by local search: iterated conditional modes (ICM) and simulated annealing over the
//! chromatic Gibbs sweeps of [`crate::gibbs`], and the result type every MAP method returns.

use crate::gibbs::{GibbsChain, chain_seed};
use crate::model::FactorModel;
use crate::network::Network;
use crate::{FactorError, InvalidSetting};
use rayon::prelude::*;

/// The result of a MAP method.
#[derive(Clone, Debug)]
pub struct MapSolution {
    /// The best assignment found (evidence variables at their values).
    pub assignment: Vec<usize>,
    /// Its energy `E(x)` (`+inf` if it breaks a hard constraint).
    pub energy: f64,
    /// A proven lower bound on the minimum energy, when the method gives one.
    pub lower_bound: Option<f64>,
    /// Sweeps, iterations or search nodes the method used.
    pub iterations: u64,
}

impl MapSolution {
    /// `ln` of the unnormalized probability of the assignment, `-E(x) / T`.
    pub fn ln_value(&self, model: &FactorModel) -> f64 {
        -self.energy / model.temperature()
    }
}

/// Iterated conditional modes from `start` (evidence is put in place): sweep, setting each
/// variable to its lowest-energy value given the others, until nothing changes or
/// `max_sweeps` sweeps. A local minimum for single-variable changes.
pub fn icm(model: &FactorModel, start: Option<Vec<usize>>, max_sweeps: usize) -> MapSolution {
    let network = Network::new(model);
    let classes = network.color_classes();
    icm_on(&network, &classes, start, max_sweeps)
}

pub(crate) fn icm_on(
    network: &Network,
    classes: &[Vec<usize>],
    start: Option<Vec<usize>>,
    max_sweeps: usize,
) -> MapSolution {
    let mut assignment = start.unwrap_or_else(|| network.initial_assignment());
    for (v, e) in network.evidence.iter().enumerate() {
        if let Some(x) = e {
            assignment[v] = *x;
        }
    }
    let mut chain = GibbsChain::new(network, classes, assignment, 0);
    let mut sweeps = 0;
    // Sequential greedy sweeps over variables (not classes) would see fresher values, but
    // a class step is also a descent step: its variables share no factor.
    let mut energy = network.energy(chain.assignment());
    while sweeps < max_sweeps {
        chain.sweep(0.0);
        sweeps += 1;
        let next = network.energy(chain.assignment());
        let improved = next < energy;
        energy = next;
        if !improved {
            break;
        }
    }
    MapSolution {
        assignment: chain.assignment().to_vec(),
        energy,
        lower_bound: None,
        iterations: sweeps as u64,
    }
}

/// Settings of simulated annealing.
#[derive(Clone, Debug)]
pub struct AnnealConfig {
    /// Independent runs (in parallel); the best one is returned.
    pub runs: usize,
    /// Sweeps per run.
    pub sweeps: usize,
    /// Temperature of the first sweep.
    pub start_temperature: f64,
    /// Temperature of the last sweep (the schedule is geometric in between).
    pub end_temperature: f64,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Stop every run after this long (the schedule is cut short; the best so far wins).
    pub time_limit: Option<std::time::Duration>,
}

impl Default for AnnealConfig {
    fn default() -> Self {
        Self {
            runs: 4,
            sweeps: 2000,
            start_temperature: 10.0,
            end_temperature: 0.02,
            seed: 1,
            time_limit: None,
        }
    }
}

/// The temperature of sweep `sweep` of `sweeps` on a geometric schedule.
pub fn geometric_temperature(start: f64, end: f64, sweep: usize, sweeps: usize) -> f64 {
    if sweeps <= 1 {
        return end;
    }
    start * (end / start).powf(sweep as f64 / (sweeps - 1) as f64)
}

/// Simulated annealing: Gibbs sweeps on a geometric temperature schedule from a random
/// start, keeping the lowest-energy state seen, finished by ICM. Runs are independent and
/// run in parallel; without a time limit the result does not depend on the number of
/// threads.
pub fn simulated_annealing(
    model: &FactorModel,
    config: &AnnealConfig,
) -> Result<MapSolution, FactorError> {
    let valid = config.runs > 0
        && config.sweeps > 0
        && config.end_temperature > 0.0
        && config.start_temperature >= config.end_temperature
        && config.start_temperature.is_finite();
    InvalidSetting::require(
        valid,
        "anneal",
        "needs runs and sweeps of at least 1 and 0 < end <= start temperature",
    )?;
    let network = Network::new(model);
    let classes = network.color_classes();
    let start = std::time::Instant::now();
    let results: Vec<MapSolution> = (0..config.runs)
        .into_par_iter()
        .map(|run| {
            let mut chain =
                GibbsChain::random_start(&network, &classes, chain_seed(config.seed, run));
            let mut best = chain.assignment().to_vec();
            let mut best_energy = network.energy(&best);
            for sweep in 0..config.sweeps {
                if config
                    .time_limit
                    .is_some_and(|limit| start.elapsed() >= limit)
                {
                    break;
                }
                let t = geometric_temperature(
                    config.start_temperature,
                    config.end_temperature,
                    sweep,
                    config.sweeps,
                );
                chain.sweep(t);
                let e = network.energy(chain.assignment());
                if e < best_energy {
                    best_energy = e;
                    best.copy_from_slice(chain.assignment());
                }
            }
            let mut polished = icm_on(&network, &classes, Some(best), usize::MAX);
            polished.iterations += config.sweeps as u64;
            polished
        })
        .collect();
    Ok(best_of(results))
}

/// The lowest-energy solution (the first on ties); iterations are summed.
pub(crate) fn best_of(solutions: Vec<MapSolution>) -> MapSolution {
    let iterations = solutions.iter().map(|s| s.iterations).sum();
    let mut best = solutions
        .into_iter()
        .reduce(|a, b| if b.energy < a.energy { b } else { a })
        .expect("at least one solution");
    best.iterations = iterations;
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact;
    use crate::test_models::frustrated_ring;

    /// ICM never increases the energy and ends in a single-variable local minimum.
    #[test]
    fn icm_reaches_a_local_minimum() {
        let m = frustrated_ring(12);
        let start = vec![2; 12];
        let s = icm(&m, Some(start.clone()), 100);
        assert!(s.energy <= m.energy(&start));
        assert_eq!(s.energy, m.energy(&s.assignment));
        for v in 0..12 {
            for x in 0..3 {
                let mut other = s.assignment.clone();
                other[v] = x;
                assert!(m.energy(&other) >= s.energy - 1e-12);
            }
        }
    }

    /// Annealing finds the exact optimum of a small frustrated ring (exact by elimination).
    #[test]
    fn annealing_finds_the_optimum_of_a_small_model() {
        let m = frustrated_ring(14);
        let (_, ln_best) = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE).unwrap();
        let s = simulated_annealing(&m, &AnnealConfig::default()).unwrap();
        assert!(
            (s.ln_value(&m) - ln_best).abs() < 1e-9,
            "{} vs {ln_best}",
            s.ln_value(&m)
        );
        let bad = AnnealConfig {
            end_temperature: 0.0,
            ..AnnealConfig::default()
        };
        assert!(simulated_annealing(&m, &bad).is_err());
    }
}
