//! CD-T training of a collaborative-filtering RBM: minibatches of cases, each case a
//! Gibbs chain in its own RBM, gradients summed over the batch.
//!
//! Parallelism and reproducibility: a minibatch is cut into [`GRADIENT_SHARDS`] fixed
//! parts that rayon runs in parallel; each part sums its cases' gradients in case order,
//! the parts are added in part order, and every case draws from its own random stream
//! `(seed, epoch, case)`. The result is therefore bit-identical for any thread count.

mod gradients;
mod step;

use crate::dataset::{Query, RatingsData};
use crate::{CfError, CfModel, CfRbm, Orientation};
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{self, stream};
use ebm_kernels::update::momentum_step;
use gradients::Gradients;
use rayon::prelude::*;
use std::time::Instant;
use step::{CaseWorkspace, contrastive_divergence_case};

/// Parts a minibatch is cut into for parallel gradient sums (fixed, so results do not
/// depend on the thread count).
pub const GRADIENT_SHARDS: usize = 4;

/// Stream index for the epoch's shuffle (cases use their own index).
const SHUFFLE_STREAM: u64 = u64::MAX;

/// How many Gibbs steps CD uses as training goes on: `stages[s]` for epochs
/// `s * epochs_per_stage ..`, the last stage to the end (Salakhutdinov et al. raise T
/// from 1 to 3, 5 and 9).
#[derive(Clone, Debug, PartialEq)]
pub struct CdSchedule {
    /// Gibbs steps of each stage, e.g. `[1, 3, 5]`.
    pub stages: Vec<usize>,
    /// Epochs per stage (the last stage lasts to the end).
    pub epochs_per_stage: usize,
}

impl CdSchedule {
    /// CD-`steps` throughout.
    pub fn constant(steps: usize) -> Self {
        Self {
            stages: vec![steps],
            epochs_per_stage: 1,
        }
    }

    /// Gibbs steps in `epoch` (0-based).
    pub fn steps(&self, epoch: usize) -> usize {
        let stage = (epoch / self.epochs_per_stage.max(1)).min(self.stages.len() - 1);
        self.stages[stage]
    }
}

/// Everything that defines a training run.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// User-based (one RBM per user) or item-based (one per item).
    pub orientation: Orientation,
    /// Add the conditional "rated or asked" inputs `D`.
    pub conditional: bool,
    /// Number of hidden units.
    pub n_hidden: usize,
    /// Passes over the cases.
    pub epochs: usize,
    /// Cases per minibatch.
    pub batch_size: usize,
    /// Learning rate of the weights and biases (the gradient is averaged over the batch).
    pub learning_rate: f32,
    /// Learning-rate schedule over epochs.
    pub learning_rate_schedule: LearningRateSchedule,
    /// Momentum over epochs.
    pub momentum: MomentumSchedule,
    /// L2 weight decay of `W` and `D`.
    pub weight_decay: f32,
    /// Gibbs steps over epochs.
    pub cd: CdSchedule,
    /// Standard deviation of the initial weights.
    pub init_std: f32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Threads (results are identical for any count).
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            orientation: Orientation::ItemBased,
            conditional: false,
            n_hidden: 100,
            epochs: 60,
            batch_size: 20,
            learning_rate: 0.05,
            learning_rate_schedule: LearningRateSchedule::Constant,
            momentum: MomentumSchedule::constant(0.9),
            weight_decay: 0.001,
            cd: CdSchedule {
                stages: vec![1, 3, 5],
                epochs_per_stage: 20,
            },
            init_std: 0.01,
            seed: 1,
            threads: 1,
        }
    }
}

impl TrainConfig {
    /// Check every setting; the error names the field.
    pub fn validate(&self) -> Result<(), CfError> {
        let bad = |setting: &'static str, message: &str| {
            Err(CfError::InvalidConfig {
                setting,
                message: message.to_string(),
            })
        };
        if self.n_hidden == 0 {
            return bad("n_hidden", "must be at least 1");
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be a positive number");
        }
        let m = &self.momentum;
        if !(0.0..1.0).contains(&m.initial) || !(0.0..1.0).contains(&m.final_value) {
            return bad("momentum", "must be in [0, 1)");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", "must be a non-negative number");
        }
        if self.cd.stages.is_empty() || self.cd.stages.contains(&0) {
            return bad("cd", "every stage needs at least 1 Gibbs step");
        }
        if self.cd.epochs_per_stage == 0 {
            return bad("cd", "epochs per stage must be at least 1");
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            return bad("init_std", "must be a non-negative number");
        }
        if self.threads == 0 {
            return bad("threads", "must be at least 1");
        }
        Ok(())
    }
}

/// What one epoch did.
#[derive(Clone, Debug)]
pub struct EpochReport {
    /// 1-based epoch just finished.
    pub epoch: usize,
    /// Total epochs.
    pub epochs: usize,
    /// Gibbs steps used.
    pub cd_steps: usize,
    /// RMSE of the reconstructions' expected ratings against the training ratings.
    pub recon_rmse: f64,
    /// Wall time of the epoch.
    pub seconds: f64,
    /// Training ratings processed per second.
    pub ratings_per_second: f64,
    /// Learning rate used.
    pub learning_rate: f32,
    /// Momentum used.
    pub momentum: f32,
}

/// What a finished run did.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// Wall time of all epochs (the observer's own time not included).
    pub train_seconds: f64,
    /// Mean wall time per epoch.
    pub seconds_per_epoch: f64,
    /// Reconstruction RMSE of the last epoch.
    pub final_recon_rmse: f64,
}

/// Hooks for progress display and monitoring.
pub trait TrainObserver {
    /// After each minibatch: cases done in this epoch, and the total.
    fn on_batch(&mut self, _cases_done: usize, _total: usize) {}
    /// After each epoch, with the model as it stands (e.g. to print a held-out RMSE).
    fn on_epoch(&mut self, _report: &EpochReport, _model: &CfModel) {}
}

/// An observer that does nothing.
pub struct NoObserver;
impl TrainObserver for NoObserver {}

/// A fresh model for `data` with initialized parameters; `asked` are the pairs that will
/// be predicted (used by the conditional variant).
pub fn initial_model(
    config: &TrainConfig,
    data: &RatingsData,
    asked: &[Query],
) -> Result<CfModel, CfError> {
    config.validate()?;
    let n_levels = data.levels.len();
    let (n_units, unit_of): (usize, fn(u32, u32) -> u32) = match config.orientation {
        Orientation::UserBased => (data.items.len(), |_, item| item),
        Orientation::ItemBased => (data.users.len(), |user, _| user),
    };
    let mut level_counts = vec![0u32; n_units * n_levels];
    for user in 0..data.by_user.n_rows() {
        let (items, levels) = data.by_user.row(user);
        for (&item, &level) in items.iter().zip(levels) {
            level_counts[unit_of(user as u32, item) as usize * n_levels + level as usize] += 1;
        }
    }
    let rbm = CfRbm::initialize(
        config.n_hidden,
        &level_counts,
        n_levels,
        config.conditional,
        config.init_std,
        &mut stream(config.seed, u64::MAX, 0),
    );
    CfModel::assemble(config.orientation, rbm, data, asked)
}

/// Train `model` (from [`initial_model`]) for `config.epochs` epochs.
pub fn train(
    model: &mut CfModel,
    config: &TrainConfig,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, CfError> {
    config.validate()?;
    if model.orientation != config.orientation
        || model.rbm.is_conditional() != config.conditional
        || model.rbm.n_hidden() != config.n_hidden
    {
        return Err(CfError::InvalidConfig {
            setting: "orientation",
            message: "the model was built with other settings than this config".into(),
        });
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| CfError::InvalidConfig {
            setting: "threads",
            message: format!("cannot start {} threads: {e}", config.threads),
        })?;
    train_on_pool(model, config, observer, &pool)
}

/// Per-shard state: scratch buffers and gradient sums.
struct Shard {
    workspace: CaseWorkspace,
    grads: Gradients,
    squared_error: f64,
}

/// Velocities of every parameter block.
struct Velocities {
    weights: Vec<f32>,
    visible_bias: Vec<f32>,
    hidden_bias: Vec<f32>,
    implicit_weights: Vec<f32>,
}

fn train_on_pool(
    model: &mut CfModel,
    config: &TrainConfig,
    observer: &mut dyn TrainObserver,
    pool: &rayon::ThreadPool,
) -> Result<TrainSummary, CfError> {
    let rbm = &model.rbm;
    let (n_units, n_levels, n_hidden) = (rbm.n_units(), rbm.n_levels(), rbm.n_hidden());
    let max_case_len = model.cases.max_row_len();
    let mut shards: Vec<Shard> = (0..GRADIENT_SHARDS)
        .map(|_| Shard {
            workspace: CaseWorkspace::new(n_hidden, n_levels, max_case_len),
            grads: Gradients::new(n_units, n_levels, n_hidden, config.conditional),
            squared_error: 0.0,
        })
        .collect();
    let mut velocity = Velocities {
        weights: vec![0.0; rbm.weights.len()],
        visible_bias: vec![0.0; rbm.visible_bias.len()],
        hidden_bias: vec![0.0; n_hidden],
        implicit_weights: vec![0.0; rbm.implicit_weights.as_ref().map_or(0, Vec::len)],
    };
    let mut cases: Vec<u32> = (0..model.cases.n_rows() as u32)
        .filter(|&c| !model.cases.row(c as usize).0.is_empty())
        .collect();
    let n_ratings = model.cases.n_entries();
    let par = Parallelism::with_threads(config.threads);
    let mut train_seconds = 0.0f64;
    let mut final_recon_rmse = f64::NAN;
    for epoch in 0..config.epochs {
        let epoch_start = Instant::now();
        cases.sort_unstable();
        rng::shuffle(
            &mut stream(config.seed, epoch as u64, SHUFFLE_STREAM),
            &mut cases,
        );
        let steps = config.cd.steps(epoch);
        let learning_rate =
            config
                .learning_rate_schedule
                .rate(config.learning_rate, epoch, config.epochs);
        let momentum = config.momentum.momentum(epoch);
        let mut squared_error = 0.0f64;
        for (batch_index, batch) in cases.chunks(config.batch_size).enumerate() {
            let part_len = batch.len().div_ceil(GRADIENT_SHARDS);
            let model_ref: &CfModel = model;
            pool.install(|| {
                shards
                    .par_iter_mut()
                    .zip(batch.par_chunks(part_len.max(1)))
                    .for_each(|(shard, part)| {
                        for &case in part {
                            let (units, levels) = model_ref.cases.row(case as usize);
                            let implicit = model_ref
                                .implicit
                                .as_ref()
                                .map_or(&[][..], |m| m.row(case as usize).0);
                            let mut generator = stream(config.seed, epoch as u64, case as u64);
                            shard.squared_error += contrastive_divergence_case(
                                &model_ref.rbm,
                                units,
                                levels,
                                implicit,
                                steps,
                                model_ref.levels.values(),
                                &mut generator,
                                &mut shard.workspace,
                                &mut shard.grads,
                            );
                        }
                    })
            });
            let (first, rest) = shards.split_at_mut(1);
            for shard in rest {
                shard.grads.drain_into(&mut first[0].grads);
            }
            pool.install(|| {
                apply_update(
                    &mut model.rbm,
                    &mut velocity,
                    &first[0].grads,
                    learning_rate / batch.len() as f32,
                    momentum,
                    config.weight_decay * batch.len() as f32,
                    par,
                )
            });
            first[0].grads.clear();
            observer.on_batch(
                ((batch_index + 1) * config.batch_size).min(cases.len()),
                cases.len(),
            );
        }
        for shard in &mut shards {
            squared_error += shard.squared_error;
            shard.squared_error = 0.0;
        }
        let largest = model.rbm.max_abs_parameter();
        if !largest.is_finite() || largest > 1e4 {
            return Err(CfError::Diverged {
                epoch: epoch + 1,
                reason: format!("largest parameter magnitude {largest}"),
            });
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += seconds;
        final_recon_rmse = (squared_error / n_ratings.max(1) as f64).sqrt();
        observer.on_epoch(
            &EpochReport {
                epoch: epoch + 1,
                epochs: config.epochs,
                cd_steps: steps,
                recon_rmse: final_recon_rmse,
                seconds,
                ratings_per_second: n_ratings as f64 / seconds.max(1e-9),
                learning_rate,
                momentum,
            },
            model,
        );
    }
    Ok(TrainSummary {
        train_seconds,
        seconds_per_epoch: train_seconds / config.epochs as f64,
        final_recon_rmse,
    })
}

/// One momentum step of every parameter block. `decay` is pre-multiplied by the batch
/// size because `learning_rate` is pre-divided by it (the gradient is a sum over cases).
fn apply_update(
    rbm: &mut CfRbm,
    velocity: &mut Velocities,
    grads: &Gradients,
    learning_rate: f32,
    momentum: f32,
    decay: f32,
    par: Parallelism,
) {
    momentum_step(
        &mut rbm.weights,
        &mut velocity.weights,
        grads.weights.dense(),
        learning_rate,
        momentum,
        decay,
        par,
    );
    momentum_step(
        &mut rbm.visible_bias,
        &mut velocity.visible_bias,
        grads.visible_bias.dense(),
        learning_rate,
        momentum,
        0.0,
        par,
    );
    momentum_step(
        &mut rbm.hidden_bias,
        &mut velocity.hidden_bias,
        &grads.hidden_bias,
        learning_rate,
        momentum,
        0.0,
        par,
    );
    if let (Some(d), Some(g)) = (&mut rbm.implicit_weights, &grads.implicit_weights) {
        momentum_step(
            d,
            &mut velocity.implicit_weights,
            g.dense(),
            learning_rate,
            momentum,
            decay,
            par,
        );
    }
}
