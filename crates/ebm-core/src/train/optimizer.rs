//! The optimizer: learning rate and its schedule, momentum schedule, weight decay; SGD
//! with momentum or Adam. Its per-block state lives with the model's training state
//! ([`BlockState`]), so checkpoints carry it and rollbacks restore it.

use crate::InvalidSetting;
use crate::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_kernels::Parallelism;
use ebm_kernels::update::{AdamRates, adam_step, momentum_step};
use serde::{Deserialize, Serialize};

/// The update rule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerMethod {
    /// Stochastic gradient ascent with momentum: `v = mu v + lr (g - decay p)`, `p += v`.
    Sgd {
        /// Momentum over epochs.
        momentum: MomentumSchedule,
    },
    /// Adam (Kingma & Ba 2015) with bias-corrected moments.
    Adam {
        /// Decay of the first moment (0.9 is usual).
        beta1: f32,
        /// Decay of the second moment (0.999 is usual).
        beta2: f32,
        /// Added to the root of the second moment (1e-8 is usual).
        epsilon: f32,
    },
}

/// Every setting of the optimizer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// Base learning rate.
    pub learning_rate: f32,
    /// How the learning rate changes over epochs.
    pub learning_rate_schedule: LearningRateSchedule,
    /// L2 weight decay, applied to the blocks marked as decaying (weights, not biases).
    pub weight_decay: f32,
    /// SGD with momentum, or Adam.
    pub method: OptimizerMethod,
}

impl OptimizerConfig {
    /// These settings with another base learning rate.
    pub fn with_learning_rate(self, learning_rate: f32) -> Self {
        Self {
            learning_rate,
            ..self
        }
    }

    /// SGD with a momentum schedule: the optimizer of every RBM trainer.
    pub fn sgd(
        learning_rate: f32,
        learning_rate_schedule: LearningRateSchedule,
        momentum: MomentumSchedule,
        weight_decay: f32,
    ) -> Self {
        Self {
            learning_rate,
            learning_rate_schedule,
            weight_decay,
            method: OptimizerMethod::Sgd { momentum },
        }
    }

    /// Check every setting; the error names it.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `learning_rate`, `learning_rate_schedule`, `momentum`,
    /// `weight_decay` or `adam` when it is out of range.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        InvalidSetting::require(
            self.learning_rate.is_finite() && self.learning_rate > 0.0,
            "learning_rate",
            "the learning rate must be a positive number",
        )?;
        let schedule_ok = match self.learning_rate_schedule {
            LearningRateSchedule::Constant => true,
            LearningRateSchedule::Linear { final_fraction } => {
                (0.0..=1.0).contains(&final_fraction)
            }
            LearningRateSchedule::Inverse { rate } => rate.is_finite() && rate >= 0.0,
            LearningRateSchedule::Cosine => true,
        };
        InvalidSetting::require(
            schedule_ok,
            "learning_rate_schedule",
            "the final fraction must be in [0, 1] and the decay rate >= 0",
        )?;
        InvalidSetting::require(
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            "weight_decay",
            "weight decay must be a non-negative number",
        )?;
        match self.method {
            OptimizerMethod::Sgd { momentum } => InvalidSetting::require(
                (0.0..1.0).contains(&momentum.initial)
                    && (0.0..1.0).contains(&momentum.final_value),
                "momentum",
                "momentum must be in [0, 1)",
            ),
            OptimizerMethod::Adam {
                beta1,
                beta2,
                epsilon,
            } => InvalidSetting::require(
                (0.0..1.0).contains(&beta1)
                    && (0.0..1.0).contains(&beta2)
                    && epsilon.is_finite()
                    && epsilon > 0.0,
                "adam",
                "beta1 and beta2 must be in [0, 1) and epsilon positive",
            ),
        }
    }

    /// The learning rate and momentum of `epoch` (0-based) of `epochs` (momentum is 0 for
    /// Adam).
    pub fn rates(&self, epoch: usize, epochs: usize) -> EpochRates {
        EpochRates {
            learning_rate: self
                .learning_rate_schedule
                .rate(self.learning_rate, epoch, epochs),
            momentum: match self.method {
                OptimizerMethod::Sgd { momentum } => momentum.momentum(epoch),
                OptimizerMethod::Adam { .. } => 0.0,
            },
        }
    }

    /// Update `block` by its gradient with `rates`. A gradient that is a sum over `rows`
    /// examples ([`GradientScale::Sum`]) is averaged by dividing the rate by `rows` (and
    /// multiplying the decay by it, so the decay keeps its per-example meaning).
    pub fn step(
        &self,
        block: ParameterBlock<'_>,
        rates: EpochRates,
        scale: GradientScale,
        par: Parallelism,
    ) {
        let (learning_rate, decay) = match scale {
            GradientScale::Mean => (rates.learning_rate, self.weight_decay),
            GradientScale::Sum { rows } => (
                rates.learning_rate / rows as f32,
                self.weight_decay * rows as f32,
            ),
        };
        let decay = if block.decays { decay } else { 0.0 };
        let state = block.state;
        if state.first.len() != block.parameters.len() {
            state.first = vec![0.0; block.parameters.len()];
        }
        match self.method {
            OptimizerMethod::Sgd { .. } => momentum_step(
                block.parameters,
                &mut state.first,
                block.gradient,
                learning_rate,
                rates.momentum,
                decay,
                par,
            ),
            OptimizerMethod::Adam {
                beta1,
                beta2,
                epsilon,
            } => {
                if state.second.len() != block.parameters.len() {
                    state.second = vec![0.0; block.parameters.len()];
                }
                state.steps += 1;
                let adam =
                    AdamRates::at_step(learning_rate, beta1, beta2, epsilon, decay, state.steps);
                adam_step(
                    block.parameters,
                    &mut state.first,
                    &mut state.second,
                    block.gradient,
                    &adam,
                    par,
                );
            }
        }
    }
}

/// The rates of one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochRates {
    /// Learning rate after the schedule.
    pub learning_rate: f32,
    /// Momentum after the schedule (0 for Adam).
    pub momentum: f32,
}

/// What a model's gradient is over its minibatch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradientScale {
    /// The mean over the batch's examples.
    Mean,
    /// The sum over the batch's `rows` examples.
    Sum {
        /// Examples in the batch.
        rows: usize,
    },
}

/// The optimizer's memory of one parameter block: the velocity (SGD) or first moment
/// (Adam), the second moment (Adam), the steps taken (Adam's bias correction) and the
/// moving average of the parameters (when the loop keeps one, [`LoopConfig::ema`]). Empty
/// until the first step.
///
/// [`LoopConfig::ema`]: super::LoopConfig::ema
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockState {
    /// Velocity (SGD) or first moment (Adam).
    pub first: Vec<f32>,
    /// Second moment (Adam only).
    pub second: Vec<f32>,
    /// Steps taken (Adam only).
    pub steps: u64,
    /// Exponential moving average of the parameters (only with a positive `ema`).
    #[serde(default)]
    pub average: Vec<f32>,
}

impl BlockState {
    /// A zero state for a block of `len` parameters (as the first step would make).
    pub fn zeros(len: usize) -> Self {
        Self {
            first: vec![0.0; len],
            ..Self::default()
        }
    }

    /// True when the state fits a block of `len` parameters (empty, or sized for it).
    pub fn fits(&self, len: usize) -> bool {
        [&self.first, &self.second, &self.average]
            .iter()
            .all(|v| v.is_empty() || v.len() == len)
    }

    /// Move the moving average `1 - ema` of the way to `parameters` (the first call
    /// starts it at `parameters`).
    pub fn update_average(&mut self, parameters: &[f32], ema: f32) {
        if self.average.len() != parameters.len() {
            self.average = parameters.to_vec();
            return;
        }
        let rate = 1.0 - ema;
        for (average, &p) in self.average.iter_mut().zip(parameters) {
            *average += rate * (p - *average);
        }
    }
}

/// One block of parameters as the optimizer sees it.
///
/// A model usually hands over all its blocks at once with [`ParameterBlock::visit_all`].
pub struct ParameterBlock<'a> {
    /// The parameters.
    pub parameters: &'a mut [f32],
    /// Their gradient (ascent direction of the objective), same length.
    pub gradient: &'a [f32],
    /// The optimizer's state for this block.
    pub state: &'a mut BlockState,
    /// Whether weight decay applies (weights yes, biases no).
    pub decays: bool,
}

impl<'a> ParameterBlock<'a> {
    /// Hand every `(parameters, gradient, state, decays)` of `blocks` to `visit`, in order.
    pub fn visit_all<const N: usize>(
        visit: &mut dyn FnMut(ParameterBlock<'_>),
        blocks: [(&'a mut [f32], &'a [f32], &'a mut BlockState, bool); N],
    ) {
        for (parameters, gradient, state, decays) in blocks {
            visit(ParameterBlock {
                parameters,
                gradient,
                state,
                decays,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adam and SGD both climb a concave quadratic `-(p - 3)^2` to its top at 3.
    #[test]
    fn both_methods_find_the_top_of_a_quadratic() {
        for method in [
            OptimizerMethod::Sgd {
                momentum: MomentumSchedule::constant(0.5),
            },
            OptimizerMethod::Adam {
                beta1: 0.9,
                beta2: 0.999,
                epsilon: 1e-8,
            },
        ] {
            let config = OptimizerConfig {
                learning_rate: 0.05,
                learning_rate_schedule: LearningRateSchedule::Constant,
                weight_decay: 0.0,
                method,
            };
            config.validate().unwrap();
            let (mut p, mut state) = (vec![0.0f32], BlockState::default());
            for _ in 0..2000 {
                let gradient = [-2.0 * (p[0] - 3.0)];
                let block = ParameterBlock {
                    parameters: &mut p,
                    gradient: &gradient,
                    state: &mut state,
                    decays: true,
                };
                config.step(
                    block,
                    config.rates(0, 1),
                    GradientScale::Mean,
                    Parallelism::Sequential,
                );
            }
            // 2000 steps of rate 0.05 converge to float precision; 1e-3 leaves room for
            // Adam's last steps of about lr * 1e-2.
            assert!((p[0] - 3.0).abs() < 1e-3, "{method:?}: {}", p[0]);
        }
    }

    #[test]
    fn a_summed_gradient_is_averaged_by_the_rate() {
        let config = OptimizerConfig::sgd(
            0.1,
            LearningRateSchedule::Constant,
            MomentumSchedule::constant(0.0),
            0.01,
        );
        let rates = config.rates(0, 1);
        let (mut mean, mut sum) = (vec![1.0f32], vec![1.0f32]);
        let (mut s1, mut s2) = (BlockState::default(), BlockState::default());
        config.step(
            ParameterBlock {
                parameters: &mut mean,
                gradient: &[2.0],
                state: &mut s1,
                decays: true,
            },
            rates,
            GradientScale::Mean,
            Parallelism::Sequential,
        );
        config.step(
            ParameterBlock {
                parameters: &mut sum,
                gradient: &[8.0],
                state: &mut s2,
                decays: true,
            },
            rates,
            GradientScale::Sum { rows: 4 },
            Parallelism::Sequential,
        );
        assert!((mean[0] - sum[0]).abs() < 1e-6, "{mean:?} {sum:?}");
        assert!((mean[0] - (1.0 + 0.1 * (2.0 - 0.01))).abs() < 1e-6);
    }

    #[test]
    fn bad_settings_are_named() {
        let mut config = OptimizerConfig::sgd(
            0.1,
            LearningRateSchedule::Constant,
            MomentumSchedule::constant(1.0),
            0.0,
        );
        assert_eq!(config.validate().unwrap_err().setting, "momentum");
        config.learning_rate = f32::NAN;
        assert_eq!(config.validate().unwrap_err().setting, "learning_rate");
    }
}
