//! Gibbs sampling with chromatic sweeps: the free variables are split into classes that
//! share no factor ([`Network::color_classes`]), and all variables of a class are resampled
//! at once (in parallel for large classes), which is an exact Gibbs step because they are
//! conditionally independent given the rest.
//!
//! Every random number comes from a stream keyed by (seed, chain, sweep, class chunk), so
//! results do not depend on the number of threads. Marginal estimates are Rao-Blackwellised:
//! they average each variable's full conditional distribution rather than counting states.

use crate::model::FactorModel;
use crate::network::Network;
use crate::{FactorError, InvalidSetting};
use ebm_kernels::rng::{self, StreamRng};
use ebm_kernels::vector::categorical;
use rayon::prelude::*;

/// Variables per parallel work item (and per random stream) within a color class.
const CHUNK: usize = 256;

/// Settings of a marginal estimate.
#[derive(Clone, Debug)]
pub struct GibbsConfig {
    /// Independent chains (run in parallel), each from a random start.
    pub chains: usize,
    /// Sweeps discarded at the start of each chain.
    pub burn_in: usize,
    /// Sweeps averaged after the burn-in, per chain.
    pub sweeps: usize,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Parallel tempering: replicas per chain on a geometric temperature ladder; the
    /// estimate reads the replica at the model's temperature. `None`: plain Gibbs.
    pub tempering: Option<Tempering>,
}

/// A temperature ladder for parallel tempering (replica exchange): after every sweep,
/// neighbouring replicas swap states with the Metropolis probability
/// `min(1, exp((E_i - E_j) (1/T_i - 1/T_j)))`, which keeps each replica's distribution
/// exact while letting the cold one cross the barriers hot ones see through.
#[derive(Clone, Copy, Debug)]
pub struct Tempering {
    /// Replicas per chain (at least 2).
    pub replicas: usize,
    /// Temperature of the hottest replica, as a multiple of the model's temperature.
    pub max_temperature_ratio: f64,
}

impl Default for GibbsConfig {
    fn default() -> Self {
        Self {
            chains: 4,
            burn_in: 200,
            sweeps: 2000,
            seed: 1,
            tempering: None,
        }
    }
}

/// Gibbs estimates of the single-variable marginals.
#[derive(Clone, Debug)]
pub struct MarginalEstimate {
    /// `marginals[v][x]` estimates `p(x_v = x | evidence)`.
    pub marginals: Vec<Vec<f64>>,
    /// Single-variable updates done (all chains, burn-in included).
    pub updates: u64,
}

/// A Gibbs chain over a compiled model.
#[derive(Clone, Debug)]
pub struct GibbsChain<'a> {
    network: &'a Network,
    classes: &'a [Vec<usize>],
    assignment: Vec<usize>,
    /// Per class, the values drawn in the current sweep (written back after the class).
    new_values: Vec<Vec<usize>>,
    /// Per class, each variable's conditional probabilities of the last sweep (flat).
    probabilities: Vec<Vec<f64>>,
    /// Per class, where each variable's probabilities start in `probabilities`.
    offsets: Vec<Vec<usize>>,
    seed: u64,
    sweeps_done: u64,
}

impl<'a> GibbsChain<'a> {
    /// A chain started from `assignment` (evidence variables must hold their values).
    /// `classes` must be `network.color_classes()` (or another split in which no two
    /// variables of a class share a factor): a class is resampled at once.
    pub fn new(
        network: &'a Network,
        classes: &'a [Vec<usize>],
        assignment: Vec<usize>,
        seed: u64,
    ) -> Self {
        let offsets: Vec<Vec<usize>> = classes
            .iter()
            .map(|class| {
                let mut o = Vec::with_capacity(class.len() + 1);
                o.push(0);
                for &v in class {
                    o.push(o.last().copied().unwrap_or(0) + network.domains[v]);
                }
                o
            })
            .collect();
        Self {
            network,
            classes,
            assignment,
            new_values: classes.iter().map(|c| vec![0; c.len()]).collect(),
            probabilities: offsets
                .iter()
                .map(|o| vec![0.0; o.last().copied().unwrap_or(0)])
                .collect(),
            offsets,
            seed,
            sweeps_done: 0,
        }
    }

    /// A chain from a uniformly random start.
    pub fn random_start(network: &'a Network, classes: &'a [Vec<usize>], seed: u64) -> Self {
        let mut start = network.initial_assignment();
        let mut r = rng::stream(seed, u64::MAX, 0);
        for v in network.free_variables() {
            start[v] = rng::index(&mut r, network.domains[v]);
        }
        Self::new(network, classes, start, seed)
    }

    /// The current state.
    pub fn assignment(&self) -> &[usize] {
        &self.assignment
    }

    /// One sweep over every class at `temperature` (0 takes each variable's lowest-energy
    /// value: an ICM step). The model's own temperature is the caller's to pass.
    pub fn sweep(&mut self, temperature: f64) {
        let sweep = self.sweeps_done;
        for (c, class) in self.classes.iter().enumerate() {
            let assignment = &self.assignment;
            let network = self.network;
            let seed = self.seed;
            let offsets = &self.offsets[c];
            let chunk_work =
                |(chunk, (values, probabilities)): (usize, (&mut [usize], &mut [f64]))| {
                    let start = chunk * CHUNK;
                    let key = ((c as u64) << 32) | chunk as u64;
                    let mut r = rng::stream(seed, sweep, key);
                    let mut energies = vec![0.0; network.max_domain];
                    let base = offsets[start];
                    for (i, value) in values.iter_mut().enumerate() {
                        let v = class[start + i];
                        let p = &mut probabilities
                            [offsets[start + i] - base..offsets[start + i + 1] - base];
                        *value = update(
                            network,
                            v,
                            assignment,
                            temperature,
                            &mut energies,
                            p,
                            &mut r,
                        );
                    }
                };
            let chunks = split_probabilities(&mut self.probabilities[c], offsets);
            let work = self.new_values[c].chunks_mut(CHUNK).zip(chunks).enumerate();
            if class.len() >= 2 * CHUNK {
                work.collect::<Vec<_>>()
                    .into_par_iter()
                    .for_each(chunk_work);
            } else {
                work.for_each(chunk_work);
            }
            for (&v, &x) in class.iter().zip(&self.new_values[c]) {
                self.assignment[v] = x;
            }
        }
        self.sweeps_done += 1;
    }

    /// Add the last sweep's conditional probabilities into `sums[v][x]`.
    pub fn accumulate(&self, sums: &mut [Vec<f64>]) {
        for (c, class) in self.classes.iter().enumerate() {
            for (i, &v) in class.iter().enumerate() {
                let p = &self.probabilities[c][self.offsets[c][i]..self.offsets[c][i + 1]];
                for (s, &q) in sums[v].iter_mut().zip(p) {
                    *s += q;
                }
            }
        }
    }
}

/// Split a class's flat probability buffer at every `CHUNK`-th variable.
fn split_probabilities<'p>(buffer: &'p mut [f64], offsets: &[usize]) -> Vec<&'p mut [f64]> {
    let mut out = Vec::with_capacity(offsets.len() / CHUNK + 1);
    let mut rest = buffer;
    let variables = offsets.len() - 1;
    let mut start = 0;
    while start < variables {
        let end = (start + CHUNK).min(variables);
        let (head, tail) = rest.split_at_mut(offsets[end] - offsets[start]);
        out.push(head);
        rest = tail;
        start = end;
    }
    out
}

/// Draw variable `v` from its conditional at `temperature` (0: the lowest energy, keeping
/// the current value on ties) and leave the conditional distribution in `probabilities`.
fn update(
    network: &Network,
    v: usize,
    assignment: &[usize],
    temperature: f64,
    energies: &mut [f64],
    probabilities: &mut [f64],
    r: &mut StreamRng,
) -> usize {
    let domain = probabilities.len();
    network.conditional_energies(v, assignment, energies);
    let energies = &energies[..domain];
    let lowest = energies.iter().copied().fold(f64::INFINITY, f64::min);
    if !lowest.is_finite() {
        // Every value is forbidden by the current neighbours: move uniformly.
        probabilities.fill(1.0 / domain as f64);
        return rng::index(r, domain);
    }
    if temperature <= 0.0 {
        let current = assignment[v];
        let best = if energies[current] == lowest {
            current
        } else {
            energies
                .iter()
                .position(|&e| e == lowest)
                .unwrap_or(current)
        };
        probabilities.fill(0.0);
        probabilities[best] = 1.0;
        return best;
    }
    let mut total = 0.0;
    for (p, &e) in probabilities.iter_mut().zip(energies) {
        *p = (-(e - lowest) / temperature).exp();
        total += *p;
    }
    let inverse = 1.0 / total;
    probabilities.iter_mut().for_each(|p| *p *= inverse);
    categorical(probabilities, rng::uniform_f64(r))
}

/// One round of replica exchange between neighbours on the ladder (even pairs on even
/// sweeps, odd pairs on odd sweeps).
fn exchange(
    network: &Network,
    replicas: &mut [GibbsChain],
    temperatures: &[f64],
    seed: u64,
    sweep: usize,
) {
    let mut r = rng::stream(seed, sweep as u64, 0);
    let mut i = sweep % 2;
    while i + 1 < replicas.len() {
        let cold = network.energy(replicas[i].assignment());
        let hot = network.energy(replicas[i + 1].assignment());
        let log_accept = (cold - hot) * (1.0 / temperatures[i] - 1.0 / temperatures[i + 1]);
        if log_accept >= rng::uniform_f64(&mut r).ln() {
            replicas.swap(i, i + 1);
        }
        i += 2;
    }
}

/// The seed of chain `chain` (independent streams per chain).
pub(crate) fn chain_seed(seed: u64, chain: usize) -> u64 {
    rand::Rng::next_u64(&mut rng::stream(seed, chain as u64, u64::MAX))
}

/// Estimate every single-variable marginal of `model` (at its temperature) from
/// `config.chains` chains of `burn_in + sweeps` chromatic sweeps each.
///
/// # Errors
///
/// [`InvalidSetting`] for bad chains, sweeps or tempering ladder;
/// [`FactorError::ZeroProbability`] for a factor that forbids all the evidence allows
/// ([`FactorModel::check_possible`]); [`FactorError::NoPositiveState`] when a chain ends
/// in a state of probability zero (it never found one of positive probability).
pub fn estimate_marginals(
    model: &FactorModel,
    config: &GibbsConfig,
) -> Result<MarginalEstimate, FactorError> {
    let bad_ladder = config.tempering.is_some_and(|t| {
        t.replicas < 2 || t.max_temperature_ratio.is_nan() || t.max_temperature_ratio < 1.0
    });
    InvalidSetting::require(
        !bad_ladder,
        "tempering",
        "needs at least 2 replicas and a maximum temperature ratio of at least 1",
    )?;
    if config.chains == 0 || config.sweeps == 0 {
        return Err(InvalidSetting::new("gibbs", "chains and sweeps must be at least 1").into());
    }
    model.check_possible()?;
    let network = Network::new(model);
    let classes = network.color_classes();
    let shape: Vec<Vec<f64>> = network.domains.iter().map(|&d| vec![0.0; d]).collect();
    let temperatures: Vec<f64> = match config.tempering {
        None => vec![network.temperature],
        Some(t) => (0..t.replicas)
            .map(|r| {
                let fraction = r as f64 / (t.replicas - 1) as f64;
                network.temperature * t.max_temperature_ratio.powf(fraction)
            })
            .collect(),
    };
    let per_chain: Vec<Vec<Vec<f64>>> = (0..config.chains)
        .into_par_iter()
        .map(|chain| {
            let mut replicas: Vec<GibbsChain> = temperatures
                .iter()
                .enumerate()
                .map(|(r, _)| {
                    let seed = chain_seed(config.seed, chain * temperatures.len() + r);
                    GibbsChain::random_start(&network, &classes, seed)
                })
                .collect();
            let swap_seed = chain_seed(config.seed, usize::MAX - chain);
            let mut sums = shape.clone();
            for sweep in 0..config.burn_in + config.sweeps {
                for (replica, &t) in replicas.iter_mut().zip(&temperatures) {
                    replica.sweep(t);
                }
                if sweep >= config.burn_in {
                    replicas[0].accumulate(&mut sums);
                }
                exchange(&network, &mut replicas, &temperatures, swap_seed, sweep);
            }
            // States of positive probability are never left (a move to a forbidden value
            // has probability zero, an exchange into one is refused), so a chain that ends
            // in a forbidden state never had one: its samples are of nothing.
            if network.energy(replicas[0].assignment()) == f64::INFINITY {
                return Err(FactorError::NoPositiveState(format!(
                    "Gibbs chain {chain} found no state of positive probability in {} sweeps: the model or its evidence may have probability zero",
                    config.burn_in + config.sweeps
                )));
            }
            Ok(sums)
        })
        .collect::<Result<_, FactorError>>()?;
    let mut marginals = shape;
    for sums in per_chain {
        for (m, s) in marginals.iter_mut().zip(sums) {
            m.iter_mut().zip(s).for_each(|(a, b)| *a += b);
        }
    }
    let samples = (config.chains * config.sweeps) as f64;
    for (v, m) in marginals.iter_mut().enumerate() {
        match network.evidence[v] {
            Some(x) => {
                m.fill(0.0);
                m[x] = 1.0;
            }
            None => m.iter_mut().for_each(|p| *p /= samples),
        }
    }
    let free = network.free_variables().len() as u64;
    Ok(MarginalEstimate {
        marginals,
        updates: free
            * (config.chains * temperatures.len() * (config.burn_in + config.sweeps)) as u64,
    })
}

/// Settings of [`sample`]: independent chains from random starts, each burned in and
/// then read every `thin` sweeps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleConfig {
    /// Independent chains (run in parallel).
    pub chains: usize,
    /// Sweeps discarded at the start of each chain.
    pub burn_in: usize,
    /// Sweeps between two samples of a chain (1: every sweep).
    pub thin: usize,
    /// The seed every random choice derives from.
    pub seed: u64,
}

impl Default for SampleConfig {
    /// One chain, 200 burn-in sweeps, a sample every sweep, seed 1.
    fn default() -> Self {
        Self {
            chains: 1,
            burn_in: 200,
            thin: 1,
            seed: 1,
        }
    }
}

/// `n` states drawn from `model` (at its temperature; evidence variables hold their
/// values) by chromatic Gibbs sweeps. Sample `i` comes from chain `i % chains`, which
/// gives one every `thin` sweeps after its `burn_in`; chains use the streams of
/// [`estimate_marginals`]' chains, so the result does not depend on the number of threads.
///
/// # Errors
///
/// [`InvalidSetting`] for 0 chains or a `thin` of 0; [`FactorError::ZeroProbability`]
/// for a factor that forbids all the evidence allows ([`FactorModel::check_possible`]);
/// [`FactorError::NoPositiveState`] when a sample has probability zero (its chain never
/// found a state of positive probability).
pub fn sample(
    model: &FactorModel,
    n: usize,
    config: &SampleConfig,
) -> Result<Vec<Vec<usize>>, FactorError> {
    if config.chains == 0 || config.thin == 0 {
        return Err(InvalidSetting::new("sample", "chains and thin must be at least 1").into());
    }
    model.check_possible()?;
    let network = Network::new(model);
    let classes = network.color_classes();
    let per_chain: Vec<Vec<Vec<usize>>> = (0..config.chains.min(n))
        .into_par_iter()
        .map(|c| {
            let mut chain =
                GibbsChain::random_start(&network, &classes, chain_seed(config.seed, c));
            for _ in 0..config.burn_in {
                chain.sweep(network.temperature);
            }
            let count = (n - c).div_ceil(config.chains);
            let mut states = Vec::with_capacity(count);
            for _ in 0..count {
                for _ in 0..config.thin {
                    chain.sweep(network.temperature);
                }
                if network.energy(chain.assignment()) == f64::INFINITY {
                    return Err(FactorError::NoPositiveState(format!(
                        "Gibbs chain {c} found no state of positive probability in {} sweeps: the model or its evidence may have probability zero",
                        config.burn_in + config.thin * (states.len() + 1)
                    )));
                }
                states.push(chain.assignment().to_vec());
            }
            Ok(states)
        })
        .collect::<Result<_, FactorError>>()?;
    let mut chains: Vec<_> = per_chain.into_iter().map(Vec::into_iter).collect();
    Ok((0..n)
        .map(|i| {
            chains[i % config.chains]
                .next()
                .expect("chain i % chains holds sample i")
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exact;

    /// `work` on a pool of `threads` threads.
    fn on_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads);
        pool.build().unwrap().install(work)
    }

    /// A frustrated 3x3 Potts grid with fields, a hard constraint, evidence and T = 1.5,
    /// and its exact marginals.
    fn small_grid() -> (FactorModel, Vec<Vec<f64>>) {
        let mut m = FactorModel::new(vec![3; 9]);
        for r in 0..3 {
            for c in 0..3 {
                let v = r * 3 + c;
                m.add_energy_factor(&[v], &[0.3 * (v % 3) as f64, 0.0, 0.5])
                    .unwrap();
                if c + 1 < 3 {
                    m.add_potts(v, v + 1, if v % 2 == 0 { 0.8 } else { -0.4 })
                        .unwrap();
                }
                if r + 1 < 3 {
                    m.add_potts(v, v + 3, 0.6).unwrap();
                }
            }
        }
        // Two of three values: single-site moves stay ergodic (a full permutation
        // constraint would freeze single-site Gibbs).
        m.add_all_different(&[0, 8]).unwrap();
        m.set_temperature(1.5).unwrap();
        m.set_evidence(2, 1).unwrap();
        let want = exact::marginals(&m, exact::DEFAULT_MAX_TABLE).unwrap();
        (m, want)
    }

    /// Gibbs marginals of [`small_grid`] from 4 chains x 20,000 sweeps against exact
    /// enumeration. The standard error of a Rao-Blackwellised marginal over 80,000
    /// correlated sweeps is below 0.005, so a tolerance of 0.02 fails only on a real bias.
    #[test]
    fn marginals_match_exact_on_a_small_grid() {
        let (m, want) = small_grid();
        let config = GibbsConfig {
            chains: 4,
            burn_in: 100,
            sweeps: 20_000,
            seed: 7,
            tempering: None,
        };
        let got = estimate_marginals(&m, &config).unwrap();
        let worst = crate::max_abs_difference(&want, &got.marginals);
        assert!(worst < 0.02, "max abs error {worst}");
        assert_eq!(got.marginals[2], vec![0.0, 1.0, 0.0]);
    }

    /// Large classes run in parallel chunks; the result must not depend on the pool size.
    #[test]
    fn identical_for_one_and_two_threads() {
        let side = 40;
        let mut m = FactorModel::new(vec![2; side * side]);
        for r in 0..side {
            for c in 0..side {
                let v = r * side + c;
                m.add_energy_factor(&[v], &[0.0, 0.1]).unwrap();
                if c + 1 < side {
                    m.add_potts(v, v + 1, 0.9).unwrap();
                }
                if r + 1 < side {
                    m.add_potts(v, v + side, 0.9).unwrap();
                }
            }
        }
        let config = GibbsConfig {
            chains: 2,
            burn_in: 5,
            sweeps: 20,
            seed: 3,
            tempering: Some(Tempering {
                replicas: 3,
                max_temperature_ratio: 4.0,
            }),
        };
        let run = |threads| on_pool(threads, || estimate_marginals(&m, &config).unwrap());
        assert_eq!(run(1).marginals, run(2).marginals);
    }

    /// Samples of [`small_grid`]: the evidence and the hard constraint hold in every one,
    /// their frequencies match the exact marginals, and they do not depend on the pool
    /// size.
    #[test]
    fn samples_follow_the_model() {
        let (m, want) = small_grid();
        let n = 30_000;
        let config = SampleConfig {
            chains: 3,
            thin: 3,
            ..SampleConfig::default()
        };
        let states = on_pool(2, || sample(&m, n, &config).unwrap());
        assert_eq!(states, on_pool(1, || sample(&m, n, &config).unwrap()));
        assert_eq!(states.len(), n);
        assert!(states.iter().all(|s| s[2] == 1 && m.energy(s).is_finite()));
        // The chains mix within a few sweeps: 30,000 draws 3 sweeps apart give frequencies
        // with standard errors below 0.005, so 0.02 fails only on a real bias.
        for (v, marginal) in want.iter().enumerate() {
            for (x, &p) in marginal.iter().enumerate() {
                let hits = states.iter().filter(|s| s[v] == x).count() as f64;
                assert!((hits / n as f64 - p).abs() < 0.02, "p(x_{v} = {x}) = {p}");
            }
        }
        let never = SampleConfig { thin: 0, ..config };
        assert!(matches!(
            sample(&m, 1, &never),
            Err(FactorError::InvalidSetting(_))
        ));
        assert!(sample(&m, 0, &config).unwrap().is_empty());
    }
}
