//! An energy network as the training loop drives it: the gradient of each method, the
//! parameter blocks, the replay buffer. Generic over the network ([`EnergyNet`]: the MLP,
//! the convolutional net).

use super::noise_conditional::{Buffers, Ladder, noise_conditional_loss};
use super::{EnergyTrainConfig, Method};
use crate::langevin::{LangevinBuffers, LangevinConfig, langevin, uniform_noise};
use crate::mala::AdjustedLangevin;
use crate::noise_conditional::ladder_level;
use crate::tempering::{TemperedBuffers, tempered_langevin};
use crate::{Cpu, EnergyNet, Mlp, NeuralError, Quantity, replay};
use ebm_core::train::{BlockState, GradientScale, MinibatchModel, ParameterBlock, Step};
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{StreamRng, fill_normal_f32, stream, streams};

/// An energy network (an MLP unless said otherwise) with its data and buffers, as the
/// training loop drives it.
pub struct EnergyTrainer<'a, N: EnergyNet = Mlp> {
    config: &'a EnergyTrainConfig,
    langevin: LangevinConfig,
    data: &'a [f32],
    dim: usize,
    /// The gradient (ascent direction) of the last batch, laid out as the parameters.
    gradient: Vec<f32>,
    workspace: N::Workspace,
    chains: LangevinBuffers<N::Workspace>,
    /// Metropolis-adjusted negatives (`metropolis_adjusted`).
    adjusted: AdjustedLangevin,
    /// Tempered persistent chains: the replicas of the batch's buffer slots, and buffers.
    replicas: Vec<f32>,
    tempered: TemperedBuffers<N::Workspace>,
    /// Positives then negatives (CD), or the batch (score matching).
    batch: Vec<f32>,
    /// Noise `eps`, projections `v`, or the negatives' buffer rows.
    noise: Vec<f32>,
    /// Corrupted inputs (DSM), input gradients, tangents.
    scratch: Vec<f32>,
    slots: Vec<usize>,
    weights: Vec<f32>,
    loss_sum: f64,
    batches: usize,
}

/// What training changes (and a divergence restores): the model, the optimizer state of
/// each block (weights and bias of each layer), and the replay buffer.
#[derive(Clone, Debug)]
pub struct EnergyState<N = Mlp> {
    /// The energy.
    pub model: N,
    optimizer: Vec<BlockState>,
    /// Persistent chains, `replicas x buffer_size x d` (the coldest replicas first; empty
    /// for other methods).
    buffer: Vec<f32>,
}

/// `Ok(())` for a valid configuration and whole, finite rows of `dim`.
fn check(config: &EnergyTrainConfig, data: &[f32], dim: usize) -> Result<(), NeuralError> {
    config.validate()?;
    if dim == 0 || data.is_empty() || data.len() % dim != 0 {
        return Err(NeuralError::Data(format!(
            "{} values are not whole rows of {dim}",
            data.len()
        )));
    }
    if data.iter().any(|v| !v.is_finite()) {
        return Err(NeuralError::Data("non-finite values".into()));
    }
    Ok(())
}

impl<'a> EnergyTrainer<'a> {
    /// A fresh MLP (`config.hidden`, `config.activation`, `config.init_scale`) for `data`
    /// (`n x dim`) with its buffers.
    ///
    /// # Errors
    ///
    /// [`NeuralError::InvalidSetting`] for a bad setting, [`NeuralError::Data`] for empty,
    /// ragged or non-finite data.
    pub fn new(
        config: &'a EnergyTrainConfig,
        data: &'a [f32],
        dim: usize,
    ) -> Result<(Self, EnergyState), NeuralError> {
        check(config, data, dim)?;
        check_score_rank(config, dim)?;
        Self::with_model(config, data, initial_mlp(config, dim)?)
    }
}

/// A noise-conditional MLP needs a first hidden layer at least as wide as its input
/// (`hidden[0] >= dim`): the input gradient of an MLP is `W1^T (...)`, so its score lies
/// in the span of the first layer's `hidden[0]` weight rows and is exactly zero along
/// every other direction, where annealed Langevin noise then random-walks unchecked (a
/// 784-256-256-1 net on MNIST has no score at all in 528 of its 784 directions).
fn check_score_rank(config: &EnergyTrainConfig, dim: usize) -> Result<(), NeuralError> {
    if matches!(config.method, Method::NoiseConditional { .. }) {
        let first = config.hidden.first().copied().unwrap_or(0);
        ebm_core::InvalidSetting::require(
            first >= dim,
            "hidden",
            &format!(
                "the first hidden layer of a noise-conditional MLP needs at least as many units as the {dim} inputs (got {first}): its score lies in the span of that layer's weights"
            ),
        )?;
    }
    Ok(())
}

/// The MLP `[dim, config.hidden..., 1]` that training starts from: `config.activation`,
/// weights `N(0, init_scale^2 / fan_in)` from the initialization stream of the run's seed.
pub(crate) fn initial_mlp(config: &EnergyTrainConfig, dim: usize) -> Result<Mlp, NeuralError> {
    let mut widths = vec![dim];
    widths.extend(&config.hidden);
    widths.push(1);
    Mlp::new(
        &widths,
        config.activation,
        config.init_scale,
        &mut stream(config.run.seed, streams::INITIALIZATION, 0),
    )
}

impl<'a, N: EnergyNet> EnergyTrainer<'a, N> {
    /// The network `model` (its input dimension is the data's) for `data` with its
    /// buffers.
    ///
    /// # Errors
    ///
    /// [`NeuralError::InvalidSetting`] for a bad setting, [`NeuralError::Data`] for empty,
    /// ragged or non-finite data.
    pub fn with_model(
        config: &'a EnergyTrainConfig,
        data: &'a [f32],
        model: N,
    ) -> Result<(Self, EnergyState<N>), NeuralError> {
        let dim = model.n_inputs();
        check(config, data, dim)?;
        let seed = config.run.seed;
        let buffer = match config.method {
            Method::Persistent { buffer_size, .. } => {
                let mut buffer = vec![0.0; config.tempering.replicas * buffer_size * dim];
                let mut r = stream(seed, streams::PERSISTENT_CHAINS, 0);
                uniform_noise(&mut buffer, config.noise_range, &mut r);
                buffer
            }
            _ => Vec::new(),
        };
        let trainer = Self {
            config,
            langevin: config.langevin,
            data,
            dim,
            gradient: vec![0.0; model.n_parameters()],
            workspace: N::Workspace::default(),
            chains: LangevinBuffers::default(),
            adjusted: AdjustedLangevin::default(),
            replicas: Vec::new(),
            tempered: TemperedBuffers::default(),
            batch: Vec::new(),
            noise: Vec::new(),
            scratch: Vec::new(),
            slots: Vec::new(),
            weights: Vec::new(),
            loss_sum: 0.0,
            batches: 0,
        };
        let state = EnergyState {
            optimizer: vec![BlockState::default(); 2 * model.n_layers()],
            model,
            buffer,
        };
        Ok((trainer, state))
    }

    /// The Langevin settings in force (halved by each recovery).
    pub fn langevin(&self) -> LangevinConfig {
        self.langevin
    }

    /// Halve the Langevin step size (and the noise with it, keeping their ratio's meaning).
    pub fn halve_langevin_step(&mut self) {
        self.langevin = self.langevin.halved();
    }

    /// CD: Langevin negatives, then `d/dtheta` of the regularized energy gap into the
    /// gradient; returns the batch loss.
    fn contrastive(
        &mut self,
        model: &N,
        buffer: &mut [f32],
        n: usize,
        rng: &mut StreamRng,
        math: &Cpu,
    ) -> Result<f64, NeuralError> {
        let d = self.dim;
        if let Method::Persistent {
            reinit_fraction, ..
        } = self.config.method
            && self.config.tempering.replicas > 1
        {
            return self.tempered(model, (buffer, reinit_fraction), n, rng, math);
        }
        let negatives = &mut self.batch[n * d..2 * n * d];
        let range = self.config.noise_range;
        match self.config.method {
            Method::Persistent {
                reinit_fraction, ..
            } => {
                let restart = |row: &mut [f32], rng: &mut StreamRng| uniform_noise(row, range, rng);
                replay::draw(
                    buffer,
                    replay::Rows::plain(d),
                    negatives,
                    &mut self.slots,
                    reinit_fraction,
                    rng,
                    restart,
                );
            }
            _ => uniform_noise(negatives, range, rng),
        }
        if self.config.metropolis_adjusted {
            let (net, steps) = (
                (model, math),
                (self.langevin.steps, self.langevin.step_size),
            );
            let workspace = &mut self.chains.workspace;
            self.adjusted
                .run_net(net, workspace, (negatives, n), steps, rng)?;
        } else {
            langevin(
                model,
                math,
                &mut self.chains,
                negatives,
                n,
                &self.langevin,
                rng,
            )?;
        }
        if matches!(self.config.method, Method::Persistent { .. }) {
            replay::store(buffer, replay::Rows::plain(d), negatives, &self.slots);
        }
        Ok(self.energy_gap(model, n, math))
    }

    /// Persistent CD with tempered chains: `n` buffer slots drawn at random, every
    /// replica of each (the hottest re-initialized from noise with the re-init share)
    /// advanced by [`tempered_langevin`] and written back, the coldest as the negatives;
    /// then the energy gap as [`Self::contrastive`].
    fn tempered(
        &mut self,
        model: &N,
        (buffer, reinit_fraction): (&mut [f32], f32),
        n: usize,
        rng: &mut StreamRng,
        math: &Cpu,
    ) -> Result<f64, NeuralError> {
        let (d, tempering) = (self.dim, self.config.tempering);
        let replicas = tempering.replicas;
        let rows = replay::Rows { dim: d, replicas };
        self.replicas.resize(replicas * n * d, 0.0);
        let range = self.config.noise_range;
        let restart = |row: &mut [f32], rng: &mut StreamRng| uniform_noise(row, range, rng);
        let (negatives, slots) = (&mut self.replicas[..], &mut self.slots);
        replay::draw(
            buffer,
            rows,
            negatives,
            slots,
            reinit_fraction,
            rng,
            restart,
        );
        let (chains, settings) = ((&mut self.replicas[..], n), (&self.langevin, &tempering));
        tempered_langevin((model, math), &mut self.tempered, chains, settings, rng)?;
        replay::store(buffer, rows, &self.replicas, &self.slots);
        self.batch[n * d..2 * n * d].copy_from_slice(&self.replicas[..n * d]);
        Ok(self.energy_gap(model, n, math))
    }

    /// `d/dtheta` of the regularized energy gap of the batch (`n` positives, then `n`
    /// negatives) into the gradient; returns the batch loss.
    fn energy_gap(&mut self, model: &N, n: usize, math: &Cpu) -> f64 {
        let ws = &mut self.workspace;
        model.forward(math, ws, &self.batch[..2 * n * self.dim], None, 2 * n, 0);
        let alpha = self.config.energy_regularization;
        let (energies, coefficients) = N::jets_mut(ws).outputs_and_coefficients();
        let mut loss = 0.0f64;
        for (k, (c, &e)) in coefficients.iter_mut().zip(energies).enumerate() {
            let sign = if k < n { 1.0 } else { -1.0 };
            *c = (sign + 2.0 * alpha * e) / n as f32;
            loss += (sign * e + alpha * e * e) as f64 / n as f64;
        }
        model.backward(math, ws, Some(&mut self.gradient), false, None);
        loss
    }

    /// One contrastive-divergence gradient with the negatives given instead of sampled:
    /// the data rows `rows` as positives and the `rows.len()` rows of `negatives`, the
    /// gradient of the regularized energy gap as [`MinibatchModel::compute_gradient`]
    /// hands it to the optimizer (clipped, as an ascent direction; then step the blocks
    /// through [`MinibatchModel::visit_blocks`]). This is the training step of the CD
    /// methods without its Langevin chains, for benchmarks and tests. Returns the batch
    /// loss.
    ///
    /// # Errors
    ///
    /// [`NeuralError::Shape`] when `negatives` does not hold `rows.len()` rows of the
    /// data's dimension.
    ///
    /// # Examples
    ///
    /// ```
    /// use ebm_core::train::{GradientScale, MinibatchModel};
    /// use ebm_neural::train::{EnergyTrainConfig, EnergyTrainer, Method};
    /// let data = [0.5f32, -0.5, 1.0, 0.0];
    /// let config = EnergyTrainConfig { method: Method::ShortRun, ..Default::default() };
    /// let (mut trainer, mut state) = EnergyTrainer::new(&config, &data, 2)?;
    /// let par = ebm_kernels::Parallelism::Sequential;
    /// let loss = trainer.contrastive_gradient(&state.model, &[0, 1], &[3.0, 3.0, -3.0, 0.0], par)?;
    /// assert!(loss.is_finite());
    /// let rates = config.optimizer.rates(0, 1);
    /// trainer.visit_blocks(&mut state, &mut |block| {
    ///     config.optimizer.step(block, rates, GradientScale::Mean, par)
    /// });
    /// # Ok::<(), ebm_neural::NeuralError>(())
    /// ```
    pub fn contrastive_gradient(
        &mut self,
        model: &N,
        rows: &[usize],
        negatives: &[f32],
        par: Parallelism,
    ) -> Result<f64, NeuralError> {
        let (n, d) = (rows.len(), self.dim);
        if negatives.len() != n * d {
            return Err(NeuralError::Shape(format!(
                "{} negative values are not {n} rows of {d}",
                negatives.len()
            )));
        }
        self.load_rows(rows);
        self.batch[n * d..2 * n * d].copy_from_slice(negatives);
        let loss = self.energy_gap(model, n, &Cpu { par });
        self.finish_gradient(loss);
        Ok(loss)
    }

    /// Size the buffers for `rows.len()` examples and copy those data rows to the batch.
    fn load_rows(&mut self, rows: &[usize]) {
        let (n, d) = (rows.len(), self.dim);
        for buffer in [&mut self.batch, &mut self.noise, &mut self.scratch] {
            buffer.resize(2 * n * d, 0.0);
        }
        for (k, &row) in rows.iter().enumerate() {
            self.batch[k * d..(k + 1) * d].copy_from_slice(&self.data[row * d..(row + 1) * d]);
        }
    }

    /// Hand the loop minus the loss gradient, clipped to the norm bound; count the loss.
    fn finish_gradient(&mut self, loss: f64) {
        clip_to_ascent(&mut self.gradient, self.config.clip_gradient_norm);
        self.loss_sum += loss;
        self.batches += 1;
    }

    /// Denoising score matching into the gradient; returns the batch loss. With
    /// antithetic noise each example is corrupted twice, by `+eps` and by `-eps`, and the
    /// two terms averaged: where the network is locally linear their noise cancels.
    fn denoising(
        &mut self,
        model: &N,
        noise_std: f32,
        n: usize,
        rng: &mut StreamRng,
        math: &Cpu,
    ) -> f64 {
        let m = n * self.dim;
        let copies: &[f32] = if self.config.antithetic_noise {
            &[1.0, -1.0]
        } else {
            &[1.0]
        };
        let rows = copies.len() * n;
        self.batch.resize(m + rows * self.dim, 0.0);
        self.scratch.resize(rows * self.dim, 0.0);
        let (x, noisy) = self.batch.split_at_mut(m);
        let eps = &mut self.noise[..m];
        fill_normal_f32(rng, eps);
        for (copy, &sign) in noisy.chunks_exact_mut(m).zip(copies) {
            for ((y, &xi), &e) in copy.iter_mut().zip(x.iter()).zip(eps.iter()) {
                *y = xi + sign * noise_std * e;
            }
        }
        let g = &mut self.scratch[..rows * self.dim];
        model.input_gradient(math, &mut self.workspace, noisy, rows, g);
        let mut loss = 0.0f64;
        for (copy, &sign) in g.chunks_exact_mut(m).zip(copies) {
            for (gi, &e) in copy.iter_mut().zip(eps.iter()) {
                let residual = noise_std * *gi - sign * e;
                loss += 0.5 * (residual * residual) as f64;
                *gi = noise_std * residual;
            }
        }
        self.weights.clear();
        self.weights.resize(rows, 1.0 / rows as f32);
        model.parameter_gradient(
            math,
            &mut self.workspace,
            noisy,
            rows,
            Quantity::Directional(g),
            &self.weights,
            &mut self.gradient,
            false,
        );
        loss / rows as f64
    }

    /// Sliced score matching into the gradient; returns the batch loss.
    fn sliced(
        &mut self,
        model: &N,
        variance_reduced: bool,
        n: usize,
        rng: &mut StreamRng,
        math: &Cpu,
    ) -> f64 {
        let m = n * self.dim;
        let x = &self.batch[..m];
        let v = &mut self.noise[..m];
        fill_normal_f32(rng, v);
        self.weights.clear();
        let mut loss = 0.0f64;
        let ws = &mut self.workspace;
        if variance_reduced {
            let g = &mut self.scratch[..m];
            model.input_gradient(math, ws, x, n, g);
            loss += 0.5 * g.iter().map(|&gi| (gi * gi) as f64).sum::<f64>();
            self.weights.resize(n, 1.0 / n as f32);
            let directional = Quantity::Directional(g);
            let (weights, gradient) = (&self.weights, &mut self.gradient);
            model.parameter_gradient(math, ws, x, n, directional, weights, gradient, false);
            self.weights.fill(-1.0 / n as f32);
            let quadratic = Quantity::HessianQuadratic(v);
            let (weights, gradient) = (&self.weights, &mut self.gradient);
            model.parameter_gradient(math, ws, x, n, quadratic, weights, gradient, true);
            loss -= N::jets(ws).output(2).iter().map(|&q| q as f64).sum::<f64>();
        } else {
            model.forward(math, ws, x, Some(v), n, 2);
            let (outputs, coefficients) = N::jets_mut(ws).outputs_and_coefficients();
            for k in 0..n {
                let (slope, curvature) = (outputs[n + k], outputs[2 * n + k]);
                coefficients[n + k] = slope / n as f32;
                coefficients[2 * n + k] = -1.0 / n as f32;
                loss += (0.5 * slope * slope - curvature) as f64;
            }
            model.backward(math, ws, Some(&mut self.gradient), false, None);
        }
        loss / n as f64
    }
}

impl<N: EnergyNet> MinibatchModel for EnergyTrainer<'_, N> {
    type Error = NeuralError;
    type State = EnergyState<N>;
    type Observed = N;

    fn compute_gradient(&mut self, mut step: Step<'_, Self>) -> Result<GradientScale, NeuralError> {
        let n = step.rows.len();
        self.load_rows(step.rows);
        let math = Cpu {
            par: step.context.par,
        };
        let state = &mut *step.state;
        let rng = &mut step.rng;
        let loss = match self.config.method {
            Method::ShortRun | Method::Persistent { .. } => {
                // The chains' steps run with the parameters fixed; the optimizer step
                // after this gradient drops the copy (through `visit_layers`).
                state.model.prepare_sampling();
                self.contrastive(&state.model, &mut state.buffer, n, rng, &math)?
            }
            Method::Denoising { noise_std } => {
                let noise_std = match self.config.final_noise_std {
                    Some(last) => {
                        let epochs = self.config.run.epochs;
                        ladder_level(noise_std, last, epochs, step.context.epoch)
                    }
                    None => noise_std,
                };
                self.denoising(&state.model, noise_std, n, rng, &math)
            }
            Method::Sliced { variance_reduced } => {
                self.sliced(&state.model, variance_reduced, n, rng, &math)
            }
            Method::NoiseConditional {
                sigma_max,
                sigma_min,
                levels,
            } => {
                let ladder = Ladder {
                    sigma_max,
                    sigma_min,
                    levels,
                };
                let buffers = Buffers {
                    batch: &mut self.batch,
                    noise: &mut self.noise,
                    scratch: &mut self.scratch,
                    weights: &mut self.weights,
                    workspace: &mut self.workspace,
                    gradient: &mut self.gradient,
                };
                noise_conditional_loss(&state.model, ladder, n, buffers, rng, &math)
            }
        };
        self.finish_gradient(loss);
        Ok(GradientScale::Mean)
    }

    fn visit_blocks(
        &mut self,
        state: &mut EnergyState<N>,
        visit: &mut dyn FnMut(ParameterBlock<'_>),
    ) {
        layer_blocks(
            &mut state.model,
            &self.gradient,
            &mut state.optimizer,
            visit,
        );
    }

    fn end_epoch(
        &mut self,
        _state: &mut EnergyState<N>,
        _context: &ebm_core::train::BatchContext,
    ) -> Result<Vec<(&'static str, f64)>, NeuralError> {
        let loss = self.loss_sum / self.batches.max(1) as f64;
        (self.loss_sum, self.batches) = (0.0, 0);
        let mut metrics = vec![("loss", loss)];
        if self.config.metropolis_adjusted {
            metrics.push(("acceptance", self.adjusted.take_acceptance_rate()));
        }
        Ok(metrics)
    }

    fn observed(state: &EnergyState<N>) -> &N {
        &state.model
    }

    fn n_examples(&self) -> usize {
        self.data.len() / self.dim
    }
}

/// Turn the loss gradient `gradient` into the ascent direction the loop steps along: its
/// negative, scaled down to norm `clip` when it is longer (`clip = 0`: no bound).
pub(crate) fn clip_to_ascent(gradient: &mut [f32], clip: f32) {
    // The norm only matters when there is a bound.
    let norm = if clip > 0.0 {
        gradient.iter().map(|&g| (g * g) as f64).sum::<f64>().sqrt() as f32
    } else {
        0.0
    };
    let scale = if clip > 0.0 && norm > clip {
        -clip / norm
    } else {
        -1.0
    };
    gradient.iter_mut().for_each(|g| *g *= scale);
}

/// Hand every layer's weights and bias of `model` to `visit` as parameter blocks, with
/// their slices of `gradient` and their optimizer states (weights decay, biases do not).
pub(crate) fn layer_blocks<N: EnergyNet>(
    model: &mut N,
    gradient: &[f32],
    states: &mut [BlockState],
    visit: &mut dyn FnMut(ParameterBlock<'_>),
) {
    let mut gradient = gradient;
    let mut blocks = states.iter_mut();
    model.visit_layers(&mut |weights, bias| {
        for (parameters, decays) in [(weights, true), (bias, false)] {
            let (block_gradient, rest) = gradient.split_at(parameters.len());
            gradient = rest;
            if let Some(state) = blocks.next() {
                visit(ParameterBlock {
                    parameters,
                    gradient: block_gradient,
                    state,
                    decays,
                });
            }
        }
    });
}
