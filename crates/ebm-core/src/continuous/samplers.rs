//! Markov chain samplers of `p(x) ∝ exp(-E(x) / T)` over `R^d`.
//!
//! Each sampler is a small struct implementing [`Sampler`]: one transition from the
//! current state. [`run_chain`] runs one chain with burn-in and thinning and records the
//! acceptance rate. Every transition draws from one seeded stream, so a chain is
//! reproducible.

use super::ContinuousEnergy;
use super::diagnostics::{effective_sample_size, mean_and_covariance};
use crate::InvalidSetting;
use ebm_kernels::rng::{self, StreamRng, stream};
use thiserror::Error;

/// Why a chain could not run.
#[derive(Debug, Error, PartialEq)]
pub enum SamplerError {
    /// A setting is out of range.
    #[error(transparent)]
    InvalidSetting(#[from] InvalidSetting),
    /// The energy or its gradient became non-finite at the current state.
    #[error("the energy is not finite at step {step} (lower the step size)")]
    NonFinite {
        /// The transition at which it happened.
        step: usize,
    },
}

/// The state of a chain: position, and the scaled energy `U = E / T` and its gradient
/// there (cached so each transition evaluates the energy once more, not twice).
#[derive(Clone, Debug)]
pub struct State {
    /// Position.
    pub x: Vec<f64>,
    /// `U(x) = E(x) / T`.
    pub potential: f64,
    /// `∇U(x)`.
    pub gradient: Vec<f64>,
}

impl State {
    /// The Metropolis test of a proposal `x` (with its potential and gradient) against
    /// `log_ratio`: on acceptance the chain moves there. Returns whether it did.
    fn move_if_accepted(
        &mut self,
        log_ratio: f64,
        rng: &mut StreamRng,
        x: &[f64],
        potential: f64,
        gradient: &[f64],
    ) -> bool {
        if accept(log_ratio, rng) {
            self.x.copy_from_slice(x);
            self.gradient.copy_from_slice(gradient);
            self.potential = potential;
            true
        } else {
            false
        }
    }
}

/// A Markov transition that leaves `exp(-U)` invariant (up to discretization for the
/// unadjusted Langevin sampler).
pub trait Sampler {
    /// One transition from `state`; returns whether a proposal was accepted.
    fn step(&mut self, target: &Scaled<'_>, state: &mut State, rng: &mut StreamRng) -> bool;
    /// Short name for reports.
    fn name(&self) -> &'static str;
}

/// An energy divided by the temperature: `U(x) = E(x) / T`.
pub struct Scaled<'a> {
    energy: &'a dyn ContinuousEnergy,
    inverse_temperature: f64,
}

impl Scaled<'_> {
    /// `U(x)`, and `∇U(x)` into `gradient`.
    pub fn evaluate(&self, x: &[f64], gradient: &mut [f64]) -> f64 {
        let e = self.energy.energy_and_gradient(x, gradient);
        for g in gradient.iter_mut() {
            *g *= self.inverse_temperature;
        }
        e * self.inverse_temperature
    }

    /// `U(x)` only.
    pub fn potential(&self, x: &[f64]) -> f64 {
        self.energy.energy(x) * self.inverse_temperature
    }
}

fn accept(log_ratio: f64, rng: &mut StreamRng) -> bool {
    log_ratio >= 0.0 || rng::uniform_f64(rng) < log_ratio.exp()
}

/// Random-walk Metropolis-Hastings: propose `x + step * N(0, I)`.
#[derive(Clone, Debug)]
pub struct RandomWalk {
    /// Proposal standard deviation.
    pub step: f64,
    proposal: Vec<f64>,
}

impl RandomWalk {
    /// A random-walk sampler with proposal standard deviation `step`.
    pub fn new(step: f64) -> Self {
        Self {
            step,
            proposal: Vec::new(),
        }
    }
}

impl Sampler for RandomWalk {
    fn step(&mut self, target: &Scaled<'_>, state: &mut State, rng: &mut StreamRng) -> bool {
        self.proposal.clear();
        self.proposal.extend(
            state
                .x
                .iter()
                .map(|&x| x + self.step * rng::normal_f64(rng)),
        );
        let proposed = target.potential(&self.proposal);
        if proposed.is_finite() && accept(state.potential - proposed, rng) {
            state.x.copy_from_slice(&self.proposal);
            state.potential = target.evaluate(&state.x, &mut state.gradient);
            true
        } else {
            false
        }
    }

    fn name(&self) -> &'static str {
        "random-walk"
    }
}

/// Unadjusted Langevin: `x - step ∇U(x) + sqrt(2 step) N(0, I)`, always accepted. Its
/// stationary distribution is biased by O(step).
#[derive(Clone, Debug)]
pub struct Langevin {
    /// Step size.
    pub step: f64,
}

impl Sampler for Langevin {
    fn step(&mut self, target: &Scaled<'_>, state: &mut State, rng: &mut StreamRng) -> bool {
        let noise = (2.0 * self.step).sqrt();
        for (x, g) in state.x.iter_mut().zip(&state.gradient) {
            *x += -self.step * g + noise * rng::normal_f64(rng);
        }
        state.potential = target.evaluate(&state.x, &mut state.gradient);
        true
    }

    fn name(&self) -> &'static str {
        "langevin"
    }
}

/// Metropolis-adjusted Langevin: the Langevin proposal, accepted or rejected so that the
/// chain is exact.
#[derive(Clone, Debug)]
pub struct Mala {
    /// Step size.
    pub step: f64,
    proposal: Vec<f64>,
    proposal_gradient: Vec<f64>,
}

impl Mala {
    /// A MALA sampler with step size `step`.
    pub fn new(step: f64) -> Self {
        Self {
            step,
            proposal: Vec::new(),
            proposal_gradient: Vec::new(),
        }
    }

    /// `ln q(to | from)` up to a constant: `-|to - from + step ∇U(from)|^2 / (4 step)`.
    fn log_transition(&self, from: &[f64], from_gradient: &[f64], to: &[f64]) -> f64 {
        let squared: f64 = from
            .iter()
            .zip(from_gradient)
            .zip(to)
            .map(|((&f, &g), &t)| {
                let d = t - f + self.step * g;
                d * d
            })
            .sum();
        -squared / (4.0 * self.step)
    }
}

impl Sampler for Mala {
    fn step(&mut self, target: &Scaled<'_>, state: &mut State, rng: &mut StreamRng) -> bool {
        let noise = (2.0 * self.step).sqrt();
        self.proposal.clear();
        self.proposal.extend(
            state
                .x
                .iter()
                .zip(&state.gradient)
                .map(|(&x, &g)| x - self.step * g + noise * rng::normal_f64(rng)),
        );
        self.proposal_gradient.resize(state.x.len(), 0.0);
        let proposed = target.evaluate(&self.proposal, &mut self.proposal_gradient);
        if !proposed.is_finite() {
            return false;
        }
        let log_ratio = state.potential - proposed
            + self.log_transition(&self.proposal, &self.proposal_gradient, &state.x)
            - self.log_transition(&state.x, &state.gradient, &self.proposal);
        state.move_if_accepted(
            log_ratio,
            rng,
            &self.proposal,
            proposed,
            &self.proposal_gradient,
        )
    }

    fn name(&self) -> &'static str {
        "mala"
    }
}

/// Hamiltonian Monte Carlo with identity mass: `leapfrog_steps` leapfrog steps of size
/// `step` from a fresh Gaussian momentum, then a Metropolis test on the total energy.
#[derive(Clone, Debug)]
pub struct Hmc {
    /// Leapfrog step size.
    pub step: f64,
    /// Leapfrog steps per transition.
    pub leapfrog_steps: usize,
    position: Vec<f64>,
    momentum: Vec<f64>,
    gradient: Vec<f64>,
}

impl Hmc {
    /// An HMC sampler.
    pub fn new(step: f64, leapfrog_steps: usize) -> Self {
        Self {
            step,
            leapfrog_steps,
            position: Vec::new(),
            momentum: Vec::new(),
            gradient: Vec::new(),
        }
    }
}

impl Sampler for Hmc {
    fn step(&mut self, target: &Scaled<'_>, state: &mut State, rng: &mut StreamRng) -> bool {
        let eps = self.step;
        self.momentum.clear();
        self.momentum
            .extend((0..state.x.len()).map(|_| rng::normal_f64(rng)));
        let kinetic_start: f64 = self.momentum.iter().map(|p| 0.5 * p * p).sum();
        self.position.clone_from(&state.x);
        self.gradient.clone_from(&state.gradient);
        let mut potential = state.potential;
        for _ in 0..self.leapfrog_steps {
            for (p, g) in self.momentum.iter_mut().zip(&self.gradient) {
                *p -= 0.5 * eps * g;
            }
            for (x, p) in self.position.iter_mut().zip(&self.momentum) {
                *x += eps * p;
            }
            potential = target.evaluate(&self.position, &mut self.gradient);
            if !potential.is_finite() {
                return false;
            }
            for (p, g) in self.momentum.iter_mut().zip(&self.gradient) {
                *p -= 0.5 * eps * g;
            }
        }
        let kinetic_end: f64 = self.momentum.iter().map(|p| 0.5 * p * p).sum();
        let log_ratio = (state.potential + kinetic_start) - (potential + kinetic_end);
        state.move_if_accepted(log_ratio, rng, &self.position, potential, &self.gradient)
    }

    fn name(&self) -> &'static str {
        "hmc"
    }
}

/// How to run a chain.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    /// Temperature `T` of the target `exp(-E / T)`.
    pub temperature: f64,
    /// Transitions discarded at the start.
    pub burn_in: usize,
    /// Transitions after burn-in.
    pub steps: usize,
    /// Keep every `thin`-th state.
    pub thin: usize,
    /// Seed of the chain's random stream.
    pub seed: u64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            burn_in: 1000,
            steps: 10_000,
            thin: 1,
            seed: 1,
        }
    }
}

/// A finished chain: the kept states and how often proposals were accepted.
#[derive(Clone, Debug)]
pub struct Chain {
    /// Dimension.
    pub dim: usize,
    /// Kept states, row-major (`len / dim` rows).
    pub samples: Vec<f64>,
    /// Accepted proposals after burn-in.
    pub accepted: usize,
    /// Proposals after burn-in.
    pub proposals: usize,
    /// Sampler name.
    pub sampler: &'static str,
}

impl Chain {
    /// Fraction of proposals accepted after burn-in.
    pub fn acceptance_rate(&self) -> f64 {
        self.accepted as f64 / self.proposals.max(1) as f64
    }

    /// Number of kept states.
    pub fn len(&self) -> usize {
        self.samples.len() / self.dim.max(1)
    }

    /// True when no state was kept.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Sample mean and covariance (row-major).
    pub fn moments(&self) -> (Vec<f64>, Vec<f64>) {
        mean_and_covariance(&self.samples, self.dim)
    }

    /// Effective sample size of each coordinate.
    pub fn effective_sample_size(&self) -> Vec<f64> {
        (0..self.dim)
            .map(|i| {
                let series: Vec<f64> = self
                    .samples
                    .iter()
                    .skip(i)
                    .step_by(self.dim)
                    .copied()
                    .collect();
                effective_sample_size(&series)
            })
            .collect()
    }
}

/// Run one chain of `sampler` on `energy` from `initial`.
pub fn run_chain(
    energy: &dyn ContinuousEnergy,
    sampler: &mut dyn Sampler,
    initial: &[f64],
    config: &ChainConfig,
) -> Result<Chain, SamplerError> {
    if !(config.temperature.is_finite() && config.temperature > 0.0) {
        return Err(InvalidSetting::new("temperature", "must be a positive number").into());
    }
    if config.thin == 0 {
        return Err(InvalidSetting::new("thin", "must be at least 1").into());
    }
    if initial.len() != energy.dim() {
        return Err(InvalidSetting::new(
            "initial",
            format!(
                "has {} values, the energy {} dimensions",
                initial.len(),
                energy.dim()
            ),
        )
        .into());
    }
    let target = Scaled {
        energy,
        inverse_temperature: 1.0 / config.temperature,
    };
    let mut gradient = vec![0.0; initial.len()];
    let potential = target.evaluate(initial, &mut gradient);
    if !potential.is_finite() {
        return Err(SamplerError::NonFinite { step: 0 });
    }
    let mut state = State {
        x: initial.to_vec(),
        potential,
        gradient,
    };
    let mut rng = stream(config.seed, 0, 0);
    let mut chain = Chain {
        dim: initial.len(),
        samples: Vec::with_capacity(config.steps / config.thin * initial.len()),
        accepted: 0,
        proposals: 0,
        sampler: sampler.name(),
    };
    for step in 0..config.burn_in + config.steps {
        let accepted = sampler.step(&target, &mut state, &mut rng);
        if !state.potential.is_finite() {
            return Err(SamplerError::NonFinite { step: step + 1 });
        }
        if step >= config.burn_in {
            chain.proposals += 1;
            chain.accepted += accepted as usize;
            if (step - config.burn_in) % config.thin == 0 {
                chain.samples.extend_from_slice(&state.x);
            }
        }
    }
    Ok(chain)
}
