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
use ebm_core::InvalidSetting;
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::{
    self as core, BatchContext, BlockState, GradientScale, LoopConfig, MinibatchModel,
    OptimizerConfig, ParameterBlock, Step, validate_run,
};
pub use ebm_core::train::{EpochReport, NoObserver, TrainObserver, TrainSummary};
use ebm_kernels::rng::{stream, streams};
use gradients::Gradients;
use rayon::prelude::*;
use step::{CaseWorkspace, contrastive_divergence_case};

/// Parts a minibatch is cut into for parallel gradient sums (fixed, so results do not
/// depend on the thread count).
pub const GRADIENT_SHARDS: usize = 4;

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
    /// Gibbs steps over epochs.
    pub cd: CdSchedule,
    /// Standard deviation of the initial weights.
    pub init_std: f32,
    /// Learning rate (the gradient is averaged over the batch), its schedule, momentum
    /// schedule and weight decay (of `W` and `D`).
    pub optimizer: OptimizerConfig,
    /// Epochs, batch size, seed, threads and the divergence bound.
    pub run: LoopConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            orientation: Orientation::ItemBased,
            conditional: false,
            n_hidden: 100,
            cd: CdSchedule {
                stages: vec![1, 3, 5],
                epochs_per_stage: 20,
            },
            init_std: 0.01,
            optimizer: OptimizerConfig::sgd(
                0.05,
                LearningRateSchedule::Constant,
                MomentumSchedule::constant(0.9),
                0.001,
            ),
            run: LoopConfig::default().with_batches(60, 20),
        }
    }
}

impl TrainConfig {
    /// Check every setting; the error names the field.
    ///
    /// # Errors
    ///
    /// [`CfError::InvalidSetting`] naming the field that is out of range.
    pub fn validate(&self) -> Result<(), CfError> {
        InvalidSetting::require(
            !self.cd.stages.is_empty() && !self.cd.stages.contains(&0),
            "cd",
            "every stage needs at least 1 Gibbs step",
        )?;
        InvalidSetting::require(
            self.cd.epochs_per_stage >= 1,
            "cd",
            "epochs per stage must be at least 1",
        )?;
        InvalidSetting::at_least_one(self.n_hidden, "n_hidden")?;
        InvalidSetting::non_negative(self.init_std, "init_std")?;
        Ok(validate_run(&self.optimizer, &self.run)?)
    }
}

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
        &mut stream(config.run.seed, streams::INITIALIZATION, 0),
    );
    CfModel::assemble(config.orientation, rbm, data, asked)
}

/// Train `model` (from [`initial_model`]) for `config.epochs` epochs. Each epoch reports
/// the metrics `recon_rmse` (RMSE of the reconstructions' expected ratings against the
/// training ratings) and `cd_steps` (Gibbs steps used).
///
/// # Errors
///
/// [`CfError::InvalidSetting`] for a bad setting or a model built with other settings,
/// [`CfError::Train`] when training diverged (the parameters were restored to the last
/// good epoch) or the observer stopped it.
///
/// # Examples
///
/// See the [crate documentation](crate).
pub fn train(
    model: &mut CfModel,
    config: &TrainConfig,
    observer: &mut dyn TrainObserver<CfModel>,
) -> Result<TrainSummary, CfError> {
    config.validate()?;
    if model.orientation != config.orientation
        || model.rbm.is_conditional() != config.conditional
        || model.rbm.n_hidden() != config.n_hidden
    {
        return Err(InvalidSetting::new(
            "orientation",
            "the model was built with other settings than this config",
        )
        .into());
    }
    let mut trainer = CfTrainer::new(model, config);
    let mut state = CfState {
        model: model.clone(),
        optimizer: Default::default(),
    };
    let result = core::train(
        &mut trainer,
        &mut state,
        &config.run,
        &config.optimizer,
        &mut 0,
        observer,
    );
    // Trained, or restored to the last good epoch.
    *model = state.model;
    result
}

/// What training changes (and a divergence restores): the model and the optimizer state
/// of `W`, `b`, `c` and `D`.
#[derive(Clone)]
struct CfState {
    model: CfModel,
    optimizer: [BlockState; 4],
}

/// Per-shard state: scratch buffers and gradient sums.
struct Shard {
    workspace: CaseWorkspace,
    grads: Gradients,
    squared_error: f64,
}

/// A recommender's cases and shards, as the training loop drives it.
struct CfTrainer<'a> {
    config: &'a TrainConfig,
    /// The cases that have ratings; the loop's examples index this list.
    cases: Vec<u32>,
    /// The current batch's case ids.
    batch_cases: Vec<u32>,
    shards: Vec<Shard>,
}

impl<'a> CfTrainer<'a> {
    /// The cases of `model` that have ratings, and shards sized for them.
    fn new(model: &CfModel, config: &'a TrainConfig) -> Self {
        let rbm = &model.rbm;
        let (n_units, n_levels, n_hidden) = (rbm.n_units(), rbm.n_levels(), rbm.n_hidden());
        let max_case_len = model.cases.max_row_len();
        let shards: Vec<Shard> = (0..GRADIENT_SHARDS)
            .map(|_| Shard {
                workspace: CaseWorkspace::new(n_hidden, n_levels, max_case_len),
                grads: Gradients::new(n_units, n_levels, n_hidden, config.conditional),
                squared_error: 0.0,
            })
            .collect();
        let cases: Vec<u32> = (0..model.cases.n_rows() as u32)
            .filter(|&c| !model.cases.row(c as usize).0.is_empty())
            .collect();
        CfTrainer {
            config,
            batch_cases: Vec::with_capacity(config.run.batch_size),
            cases,
            shards,
        }
    }
}

impl MinibatchModel for CfTrainer<'_> {
    type Error = CfError;
    type State = CfState;
    type Observed = CfModel;

    /// Cases draw from their own streams `(seed, epoch, case)`, not the batch's.
    fn compute_gradient(&mut self, step: Step<'_, Self>) -> Result<GradientScale, CfError> {
        self.batch_cases.clear();
        self.batch_cases
            .extend(step.rows.iter().map(|&r| self.cases[r]));
        let steps = self.config.cd.steps(step.context.epoch);
        let (model, seed, epoch) = (
            &step.state.model,
            step.context.seed,
            step.context.epoch as u64,
        );
        let part_len = self.batch_cases.len().div_ceil(GRADIENT_SHARDS);
        self.shards
            .par_iter_mut()
            .zip(self.batch_cases.par_chunks(part_len.max(1)))
            .for_each(|(shard, part)| {
                for &case in part {
                    let (units, levels) = model.cases.row(case as usize);
                    let implicit = model
                        .implicit
                        .as_ref()
                        .map_or(&[][..], |m| m.row(case as usize).0);
                    let mut generator = stream(seed, epoch, case as u64);
                    shard.squared_error += contrastive_divergence_case(
                        &model.rbm,
                        units,
                        levels,
                        implicit,
                        steps,
                        model.levels.values(),
                        &mut generator,
                        &mut shard.workspace,
                        &mut shard.grads,
                    );
                }
            });
        let (first, rest) = self.shards.split_at_mut(1);
        for shard in rest {
            shard.grads.drain_into(&mut first[0].grads);
        }
        Ok(GradientScale::Sum {
            rows: step.rows.len(),
        })
    }

    fn visit_blocks(&mut self, state: &mut CfState, visit: &mut dyn FnMut(ParameterBlock<'_>)) {
        let (rbm, grads) = (&mut state.model.rbm, &self.shards[0].grads);
        let [w, b, c, d] = &mut state.optimizer;
        ParameterBlock::visit_all(
            visit,
            [
                (&mut rbm.weights, grads.weights.dense(), w, true),
                (&mut rbm.visible_bias, grads.visible_bias.dense(), b, false),
                (&mut rbm.hidden_bias, &grads.hidden_bias[..], c, false),
            ],
        );
        if let (Some(parameters), Some(gradient)) =
            (&mut rbm.implicit_weights, &grads.implicit_weights)
        {
            visit(ParameterBlock {
                parameters,
                gradient: gradient.dense(),
                state: d,
                decays: true,
            });
        }
    }

    fn after_step(&mut self, _: &mut CfState) {
        self.shards[0].grads.clear();
    }

    fn end_epoch(
        &mut self,
        state: &mut CfState,
        context: &BatchContext,
    ) -> Result<Vec<(&'static str, f64)>, CfError> {
        let mut squared_error = 0.0f64;
        for shard in &mut self.shards {
            squared_error += shard.squared_error;
            shard.squared_error = 0.0;
        }
        let rmse = (squared_error / state.model.cases.n_entries().max(1) as f64).sqrt();
        let steps = self.config.cd.steps(context.epoch);
        Ok(vec![("recon_rmse", rmse), ("cd_steps", steps as f64)])
    }

    fn observed(state: &CfState) -> &CfModel {
        &state.model
    }

    fn n_examples(&self) -> usize {
        self.cases.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{SyntheticShape, generate};
    use ebm_core::train::{check_rollback, max_abs};

    /// When the parameters pass the guard's bound in some epoch, the recommender (model
    /// and optimizer state) comes back as it was after the last good epoch.
    #[test]
    fn divergence_restores_the_last_good_epoch() {
        let data = generate(SyntheticShape {
            users: 60,
            items: 30,
            ratings: 900,
            seed: 3,
        })
        .unwrap();
        let config = TrainConfig {
            n_hidden: 6,
            init_std: 0.1,
            optimizer: TrainConfig::default().optimizer.with_learning_rate(0.2),
            run: TrainConfig::default().run.with_batches(15, 10),
            ..TrainConfig::default()
        };
        let model = initial_model(&config, &data, &[]).unwrap();
        let fresh = || {
            let state = CfState {
                model: model.clone(),
                optimizer: Default::default(),
            };
            (CfTrainer::new(&model, &config), state)
        };
        let good = check_rollback(fresh, &config.run, &config.optimizer, |m: &CfModel| {
            max_abs(m.rbm.parameters()).unwrap()
        });
        assert!(good.is_ok(), "{good:?}");
    }
}
