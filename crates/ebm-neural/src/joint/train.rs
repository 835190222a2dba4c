//! Training the joint energy model through the toolkit's one training loop
//! (`ebm_core::train`: Adam or SGD with their schedules, the divergence guard and its
//! rollback, named random streams, so a run is bit-identical for any thread count).
//!
//! Each batch's loss is the cross-entropy of `p(y | x) = softmax f(x)` plus
//! `generative_weight (mean E(x_data) - mean E(x_sgld))` with `E(x) = -logsumexp f(x)`,
//! plus the energy-magnitude penalty `alpha (mean E(x_data)^2 + mean E(x_sgld)^2)`. The
//! negatives `x_sgld` are SGLD chains ([`crate::langevin::langevin_by`]) drawn from a
//! replay buffer ([`crate::replay`]) with a share restarted from uniform noise. The data may
//! be augmented by small random translations (square images) and Gaussian noise. After a
//! divergence the run goes on from the last good epoch with the learning rate and the
//! SGLD step halved, as the other neural trainers do.

use super::loss::{LossWeights, jem_loss};
use super::{JointEnergy, Target};
use crate::langevin::{LangevinBuffers, LangevinConfig, langevin_by, uniform_noise};
use crate::train::{
    LangevinTrainer, Recovering, Recovery, adam, check_network, clip_to_ascent, layer_blocks,
};
use crate::{Activation, Cpu, NeuralError, Workspace, replay};
use ebm_core::InvalidSetting;
use ebm_core::train::{
    BatchContext, BlockState, GradientScale, LoopConfig, MinibatchModel, OptimizerConfig,
    ParameterBlock, Step, TrainObserver, TrainSummary, validate_run,
};
use ebm_kernels::rng::{self, StreamRng, fill_normal_f32, stream, streams};
use serde::{Deserialize, Serialize};

/// Every setting of a joint-model training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JointTrainConfig {
    /// Classes `K` (the labels are `0..K`).
    pub n_classes: usize,
    /// Epochs, batch size, seed, threads and the divergence bound.
    pub run: LoopConfig,
    /// Learning rate and its schedule, Adam or SGD, weight decay (of the weights).
    pub optimizer: OptimizerConfig,
    /// Hidden widths of the classifier (the input width is the data's, the output the
    /// classes).
    pub hidden: Vec<usize>,
    /// Hidden activation (smooth, for SGLD).
    pub activation: Activation,
    /// Weight of `mean E(data) - mean E(sgld)` (0: a plain classifier, no SGLD).
    pub generative_weight: f32,
    /// The SGLD chains of the negatives (`x <- x - (step / 2) grad E + noise z`;
    /// Grathwohl et al.'s step 1 on the gradient is `step_size` 2).
    pub langevin: LangevinConfig,
    /// Chains in the replay buffer.
    pub buffer_size: usize,
    /// Share of each batch's chains restarted from noise.
    pub reinit_fraction: f32,
    /// Chains start from uniform noise on `[noise_low, noise_high]^d`.
    pub noise_low: f32,
    /// See `noise_low`.
    pub noise_high: f32,
    /// Standard deviation of Gaussian noise added to each training input (0: none).
    pub data_noise: f32,
    /// Random translations of square-image inputs by up to this many pixels each way
    /// (0: none); uncovered pixels get `noise_low`.
    pub max_shift: usize,
    /// `alpha` of the energy-magnitude penalty.
    pub energy_regularization: f32,
    /// Divergences recovered from before the run gives up (each halves the learning
    /// rate and the SGLD step).
    pub max_recoveries: usize,
    /// When positive, the gradient of each batch is scaled down to at most this norm.
    pub clip_gradient_norm: f32,
    /// Initial weights are `N(0, init_scale^2 / fan_in)`.
    pub init_scale: f32,
}

impl Default for JointTrainConfig {
    fn default() -> Self {
        Self {
            n_classes: 10,
            run: LoopConfig {
                batch_size: 64,
                ..LoopConfig::default()
            },
            optimizer: adam(1e-3),
            hidden: vec![512, 512],
            activation: Activation::Swish,
            generative_weight: 1.0,
            langevin: LangevinConfig {
                steps: 20,
                step_size: 2.0,
                noise_scale: 0.01,
                clip_drift: 0.0,
            },
            buffer_size: 10_000,
            reinit_fraction: 0.05,
            noise_low: 0.0,
            noise_high: 1.0,
            data_noise: 0.0,
            max_shift: 0,
            energy_regularization: 0.0,
            max_recoveries: 3,
            clip_gradient_norm: 0.0,
            init_scale: 1.0,
        }
    }
}

impl JointTrainConfig {
    /// Check every setting; the error names it.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] naming the setting that is out of range.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        check_network(&self.hidden, self.init_scale)?;
        InvalidSetting::require(self.n_classes >= 2, "n_classes", "at least 2 classes")?;
        InvalidSetting::non_negative(self.generative_weight, "generative_weight")?;
        self.langevin.validate()?;
        InvalidSetting::require(
            self.buffer_size >= self.run.batch_size,
            "buffer_size",
            "the replay buffer must hold at least one batch",
        )?;
        InvalidSetting::require(
            (0.0..=1.0).contains(&self.reinit_fraction),
            "reinit_fraction",
            "must be in [0, 1]",
        )?;
        InvalidSetting::require(
            self.noise_low.is_finite()
                && self.noise_high.is_finite()
                && self.noise_low < self.noise_high,
            "noise_range",
            "the noise box must have finite bounds, low below high",
        )?;
        InvalidSetting::non_negative(self.data_noise, "data_noise")?;
        InvalidSetting::non_negative(self.energy_regularization, "energy_regularization")?;
        InvalidSetting::non_negative(self.clip_gradient_norm, "clip_gradient_norm")?;
        validate_run(&self.optimizer, &self.run)
    }
}

/// Labeled training data: `n x dim` features and one label in `0..K` per row.
#[derive(Clone, Copy, Debug)]
pub struct Labeled<'a> {
    /// Features, row-major.
    pub features: &'a [f32],
    /// Values per row.
    pub dim: usize,
    /// One class per row.
    pub labels: &'a [u8],
}

/// A trained joint model with the story of its run.
#[derive(Clone, Debug)]
pub struct JointFit {
    /// The model after the last epoch.
    pub model: JointEnergy,
    /// Divergences recovered from, in order.
    pub recoveries: Vec<Recovery>,
    /// The loop's summary of the last (successful) call.
    pub summary: TrainSummary,
}

/// What training changes (and a divergence restores): the model, the optimizer state of
/// each block, the replay buffer.
#[derive(Clone, Debug)]
pub struct JointState {
    /// The model.
    pub model: JointEnergy,
    optimizer: Vec<BlockState>,
    buffer: Vec<f32>,
}

/// The joint model with its data and buffers, as the training loop drives it.
pub struct JointTrainer<'a> {
    config: &'a JointTrainConfig,
    langevin: LangevinConfig,
    data: Labeled<'a>,
    gradient: Vec<f32>,
    workspace: Workspace,
    chains: LangevinBuffers,
    /// The batch's (augmented) data rows, then its negatives.
    batch: Vec<f32>,
    noise: Vec<f32>,
    energies: Vec<f32>,
    upstream: Vec<f32>,
    /// The batch's labels.
    classes: Vec<usize>,
    slots: Vec<usize>,
    sums: EpochSums,
}

/// Per-epoch sums of the batch statistics.
#[derive(Clone, Copy, Debug, Default)]
struct EpochSums {
    loss: f64,
    cross_entropy: f64,
    data_energy: f64,
    sample_energy: f64,
    wrong: usize,
    examples: usize,
    batches: usize,
}

/// Train a new joint model on `data`; the observer sees each good epoch's report
/// (metrics `loss`, `cross_entropy`, `train_error` of the augmented batches,
/// `energy_data` and `energy_samples`) and the model.
///
/// # Errors
///
/// [`NeuralError::InvalidSetting`] for a bad setting, [`NeuralError::Data`] for empty,
/// ragged or non-finite data or labels out of range, [`NeuralError::Train`] when training
/// diverged more than `max_recoveries` times or the observer stopped it.
///
/// # Examples
///
/// ```
/// use ebm_core::train::NoObserver;
/// use ebm_neural::joint::train::{JointTrainConfig, Labeled, train_joint};
/// let features: Vec<f32> = (0..40).map(|i| ((i * 7) % 10) as f32 / 10.0).collect();
/// let labels: Vec<u8> = (0..20).map(|i| (features[2 * i] > 0.5) as u8).collect();
/// let mut config = JointTrainConfig { hidden: vec![8], n_classes: 2, buffer_size: 20, ..Default::default() };
/// config.langevin.steps = 2;
/// config.run = config.run.with_batches(2, 10);
/// let data = Labeled { features: &features, dim: 2, labels: &labels };
/// let fit = train_joint(&config, data, &mut NoObserver)?;
/// assert_eq!(fit.model.widths(), &[2, 8, 2]);
/// # Ok::<(), ebm_neural::NeuralError>(())
/// ```
pub fn train_joint(
    config: &JointTrainConfig,
    data: Labeled<'_>,
    observer: &mut dyn TrainObserver<JointEnergy>,
) -> Result<JointFit, NeuralError> {
    let (mut trainer, mut state) = JointTrainer::new(config, data)?;
    let recovering = Recovering {
        run: &config.run,
        optimizer: config.optimizer,
        max_recoveries: config.max_recoveries,
    };
    let (summary, recoveries) = recovering.fit(&mut trainer, &mut state, observer)?;
    Ok(JointFit {
        model: state.model,
        recoveries,
        summary,
    })
}

/// `Ok(())` for whole, finite rows with one label in `0..classes` each.
fn check(config: &JointTrainConfig, data: Labeled<'_>) -> Result<(), NeuralError> {
    config.validate()?;
    let Labeled {
        features,
        dim,
        labels,
    } = data;
    if dim == 0 || features.is_empty() || features.len() % dim != 0 {
        return Err(NeuralError::Data(format!(
            "{} values are not whole rows of {dim}",
            features.len()
        )));
    }
    if features.len() / dim != labels.len() {
        return Err(NeuralError::Data(format!(
            "{} rows but {} labels",
            features.len() / dim,
            labels.len()
        )));
    }
    if features.iter().any(|v| !v.is_finite()) {
        return Err(NeuralError::Data("non-finite values".into()));
    }
    if let Some(&bad) = labels.iter().find(|&&l| usize::from(l) >= config.n_classes) {
        return Err(NeuralError::Data(format!(
            "label {bad} is not one of the {} classes",
            config.n_classes
        )));
    }
    if config.max_shift > 0 && square_side(dim).is_none() {
        return Err(InvalidSetting::new("max_shift", "the inputs are not square images").into());
    }
    Ok(())
}

/// The side of a square image of `dim` pixels.
fn square_side(dim: usize) -> Option<usize> {
    let side = (dim as f64).sqrt().round() as usize;
    (side * side == dim).then_some(side)
}

impl<'a> JointTrainer<'a> {
    /// A fresh model (`[dim, config.hidden..., config.n_classes]`, weights from the
    /// initialization stream of the run's seed) for `data`, with its buffers; the replay
    /// buffer starts as uniform noise.
    ///
    /// # Errors
    ///
    /// As [`train_joint`], before any work.
    pub fn new(
        config: &'a JointTrainConfig,
        data: Labeled<'a>,
    ) -> Result<(Self, JointState), NeuralError> {
        check(config, data)?;
        let seed = config.run.seed;
        let mut widths = vec![data.dim];
        widths.extend(&config.hidden);
        widths.push(config.n_classes);
        let model = JointEnergy::new(
            &widths,
            config.activation,
            config.init_scale,
            &mut stream(seed, streams::INITIALIZATION, 0),
        )?;
        let mut buffer = vec![0.0; config.buffer_size * data.dim];
        restart_chains(
            config,
            &mut buffer,
            &mut stream(seed, streams::PERSISTENT_CHAINS, 0),
        );
        let trainer = Self {
            config,
            langevin: config.langevin,
            data,
            gradient: vec![0.0; model.parameters().len()],
            workspace: Workspace::new(),
            chains: LangevinBuffers::default(),
            batch: Vec::new(),
            noise: Vec::new(),
            energies: Vec::new(),
            upstream: Vec::new(),
            classes: Vec::new(),
            slots: Vec::new(),
            sums: EpochSums::default(),
        };
        let state = JointState {
            optimizer: vec![BlockState::default(); 2 * (widths.len() - 1)],
            model,
            buffer,
        };
        Ok((trainer, state))
    }

    /// The batch's data rows, translated and noised as the config says.
    fn load_rows(&mut self, rows: &[usize], rng: &mut StreamRng) {
        let (n, d) = (rows.len(), self.data.dim);
        self.batch.resize(2 * n * d, 0.0);
        self.noise.resize(n * d, 0.0);
        let shift = self.config.max_shift;
        for (k, &row) in rows.iter().enumerate() {
            let source = &self.data.features[row * d..(row + 1) * d];
            let target = &mut self.batch[k * d..(k + 1) * d];
            match square_side(d).filter(|_| shift > 0) {
                Some(side) => {
                    let span = 2 * shift + 1;
                    let dy = rng::index(rng, span) as isize - shift as isize;
                    let dx = rng::index(rng, span) as isize - shift as isize;
                    translate(source, target, side, (dy, dx), self.config.noise_low);
                }
                None => target.copy_from_slice(source),
            }
        }
        if self.config.data_noise > 0.0 {
            fill_normal_f32(rng, &mut self.noise[..n * d]);
            let sigma = self.config.data_noise;
            for (x, &z) in self.batch[..n * d].iter_mut().zip(&self.noise) {
                *x += sigma * z;
            }
        }
    }

    /// SGLD on `E(x)` for `n` negatives drawn from the replay buffer (written back).
    fn negatives(
        &mut self,
        model: &JointEnergy,
        buffer: &mut [f32],
        n: usize,
        rng: &mut StreamRng,
        math: &Cpu,
    ) -> Result<(), NeuralError> {
        let d = self.data.dim;
        let negatives = &mut self.batch[n * d..2 * n * d];
        let config = self.config;
        let restart = |row: &mut [f32], rng: &mut StreamRng| restart_chains(config, row, rng);
        let reinit = config.reinit_fraction;
        replay::draw(
            buffer,
            replay::Rows::plain(d),
            negatives,
            &mut self.slots,
            reinit,
            rng,
            restart,
        );
        self.energies.resize(2 * n, 0.0);
        let energies = &mut self.energies[..n];
        langevin_by(
            &mut self.chains,
            negatives,
            (n, d),
            &self.langevin,
            rng,
            |ws, x, g| {
                model.energy_input_gradient(math, ws, x, Target::Marginal, energies, g);
                energies.iter().map(|&e| f64::from(e)).sum::<f64>() / n as f64
            },
        )?;
        replay::store(buffer, replay::Rows::plain(d), negatives, &self.slots);
        Ok(())
    }

    /// The gradient of the batch loss (`n` data rows, then `negatives` SGLD rows) into
    /// `self.gradient`, its terms counted in the epoch's sums.
    fn loss_gradient(&mut self, model: &JointEnergy, rows: &[usize], negatives: usize, math: &Cpu) {
        let (n, d, k) = (rows.len(), self.data.dim, model.n_classes());
        let m = n + negatives;
        let weights = LossWeights {
            generative_weight: self.config.generative_weight,
            energy_regularization: self.config.energy_regularization,
        };
        self.classes.clear();
        self.classes
            .extend(rows.iter().map(|&r| usize::from(self.data.labels[r])));
        let logits = model.logits(math, &mut self.workspace, &self.batch[..m * d], m);
        self.upstream.resize(m * k, 0.0);
        let terms = jem_loss(logits, k, &self.classes, weights, &mut self.upstream);
        model.backward(
            math,
            &mut self.workspace,
            &self.upstream,
            Some(&mut self.gradient),
            false,
            None,
        );
        clip_to_ascent(&mut self.gradient, self.config.clip_gradient_norm);
        let sums = &mut self.sums;
        sums.loss += terms.loss;
        sums.cross_entropy += terms.cross_entropy;
        sums.data_energy += terms.data_energy;
        sums.sample_energy += terms.sample_energy;
        sums.wrong += terms.wrong;
        sums.examples += n;
        sums.batches += 1;
    }
}

/// Fill `rows` with uniform noise on the config's noise box.
fn restart_chains(config: &JointTrainConfig, rows: &mut [f32], rng: &mut StreamRng) {
    let half = 0.5 * (config.noise_high - config.noise_low);
    let mid = 0.5 * (config.noise_high + config.noise_low);
    uniform_noise(rows, half, rng);
    rows.iter_mut().for_each(|v| *v += mid);
}

/// `target` = the `side x side` image `source` moved by `(dy, dx)` pixels (down, right),
/// uncovered pixels set to `fill`.
fn translate(source: &[f32], target: &mut [f32], side: usize, (dy, dx): (isize, isize), fill: f32) {
    let side_i = side as isize;
    for r in 0..side_i {
        for c in 0..side_i {
            let (sr, sc) = (r - dy, c - dx);
            let inside = (0..side_i).contains(&sr) && (0..side_i).contains(&sc);
            target[(r * side_i + c) as usize] = if inside {
                source[(sr * side_i + sc) as usize]
            } else {
                fill
            };
        }
    }
}

impl MinibatchModel for JointTrainer<'_> {
    type Error = NeuralError;
    type State = JointState;
    type Observed = JointEnergy;

    fn compute_gradient(&mut self, mut step: Step<'_, Self>) -> Result<GradientScale, NeuralError> {
        let n = step.rows.len();
        let math = Cpu {
            par: step.context.par,
        };
        self.load_rows(step.rows, &mut step.rng);
        let state = &mut *step.state;
        let negatives = if self.config.generative_weight > 0.0 {
            // The chains run with the parameters fixed; the optimizer step after this
            // gradient drops the copy (through `visit_layers`).
            state.model.prepare_sampling();
            self.negatives(&state.model, &mut state.buffer, n, &mut step.rng, &math)?;
            n
        } else {
            0
        };
        self.loss_gradient(&state.model, step.rows, negatives, &math);
        Ok(GradientScale::Mean)
    }

    fn visit_blocks(&mut self, state: &mut JointState, visit: &mut dyn FnMut(ParameterBlock<'_>)) {
        layer_blocks(
            &mut state.model.net,
            &self.gradient,
            &mut state.optimizer,
            visit,
        );
    }

    fn end_epoch(
        &mut self,
        _state: &mut JointState,
        _context: &BatchContext,
    ) -> Result<Vec<(&'static str, f64)>, NeuralError> {
        let s = std::mem::take(&mut self.sums);
        let (batches, examples) = (s.batches.max(1) as f64, s.examples.max(1) as f64);
        let mut metrics = vec![
            ("loss", s.loss / batches),
            ("cross_entropy", s.cross_entropy / examples),
            ("train_error", s.wrong as f64 / examples),
        ];
        if self.config.generative_weight > 0.0 {
            metrics.push(("energy_data", s.data_energy / examples));
            metrics.push(("energy_samples", s.sample_energy / examples));
        }
        Ok(metrics)
    }

    fn observed(state: &JointState) -> &JointEnergy {
        &state.model
    }

    fn n_examples(&self) -> usize {
        self.data.labels.len()
    }
}

impl LangevinTrainer for JointTrainer<'_> {
    fn halve_langevin_step(&mut self) {
        self.langevin = self.langevin.halved();
    }

    fn step_size(&self) -> f32 {
        self.langevin.step_size
    }
}
