//! The gradient of one CD-k / PCD-k minibatch on preallocated buffers (no allocation
//! inside).

use super::{Method, TrainConfig, TrainState};
use crate::products::{hidden_input, visible_input};
use ebm_kernels::activation::sigmoid_in_place;
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{StreamRng, fill_u32};
use ebm_kernels::sampling::bernoulli;
use ebm_kernels::sparse::{ActiveIndex, ScaledProduct, transposed_binary_times};
use ebm_kernels::{MatMut, MatRef, Parallelism};

/// Buffers for one minibatch update, sized once for the largest batch.
pub(super) struct Workspace {
    /// Positive phase: data `B x V` and `p(h | data)` `B x H`.
    data_visible: Vec<f32>,
    data_hidden_prob: Vec<f32>,
    /// Negative phase: chain states `N x V`, visible probabilities `N x V`,
    /// hidden probabilities and samples `N x H`.
    chain_visible: Vec<f32>,
    chain_visible_prob: Vec<f32>,
    chain_hidden_prob: Vec<f32>,
    chain_hidden: Vec<f32>,
    random_bits: Vec<u32>,
    data_index: ActiveIndex,
    chain_index: ActiveIndex,
    data_columns: ActiveIndex,
    chain_columns: ActiveIndex,
    pub(super) weight_grad: Vec<f32>,
    pub(super) visible_grad: Vec<f32>,
    pub(super) hidden_grad: Vec<f32>,
}

impl Workspace {
    pub(super) fn new(n_visible: usize, n_hidden: usize, config: &TrainConfig) -> Self {
        let batch = config.run.batch_size;
        let chains = match config.method {
            Method::ContrastiveDivergence => batch,
            Method::Persistent { chains } => chains,
        };
        let most = (batch.max(chains)) * n_visible.max(n_hidden);
        Self {
            data_visible: vec![0.0; batch * n_visible],
            data_hidden_prob: vec![0.0; batch * n_hidden],
            chain_visible: vec![0.0; chains * n_visible],
            chain_visible_prob: vec![0.0; chains * n_visible],
            chain_hidden_prob: vec![0.0; chains * n_hidden],
            chain_hidden: vec![0.0; chains * n_hidden],
            random_bits: vec![0; most],
            data_index: ActiveIndex::new(),
            chain_index: ActiveIndex::new(),
            data_columns: ActiveIndex::new(),
            chain_columns: ActiveIndex::new(),
            weight_grad: vec![0.0; n_visible * n_hidden],
            visible_grad: vec![0.0; n_visible],
            hidden_grad: vec![0.0; n_hidden],
        }
    }

    /// Copy the rows `rows` of `features` (row length `n_visible`) into the data buffer.
    pub(super) fn load_batch(&mut self, features: &[f32], rows: &[usize], n_visible: usize) {
        for (dst, &r) in self.data_visible.chunks_exact_mut(n_visible).zip(rows) {
            dst.copy_from_slice(&features[r * n_visible..(r + 1) * n_visible]);
        }
    }
}

/// Bernoulli-sample `probs` into `out` with fresh bits from `rng`.
fn sample(rng: &mut StreamRng, bits: &mut [u32], probs: &[f32], out: &mut [f32]) {
    let bits = &mut bits[..probs.len()];
    fill_u32(rng, bits);
    bernoulli(probs, bits, out);
}

/// Per-unit means of the rows of a row-major matrix, scaled: `out[j] += scale * mean_r x[r, j]`.
fn add_column_means(out: &mut [f32], x: &[f32], rows: usize, scale: f32) {
    let k = out.len();
    let s = scale / rows as f32;
    for row in x[..rows * k].chunks_exact(k) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += s * v;
        }
    }
}

/// The CD-k / PCD-k gradient (batch means) of the batch loaded in `ws` (`batch` rows)
/// into `ws`'s gradient buffers, with the batch's own random stream; advances the
/// persistent chains and the running hidden activity. `data_is_binary` enables the sparse
/// products for the data.
pub(super) fn gradient(
    state: &mut TrainState,
    ws: &mut Workspace,
    batch: usize,
    data_is_binary: bool,
    rng: &mut StreamRng,
    par: Parallelism,
) {
    let config = &state.config;
    let model = &state.model;
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let k = config.gibbs_steps;

    // Positive phase: p(h | v) for the data.
    let data_visible = &ws.data_visible[..batch * nv];
    let data_hidden_prob = &mut ws.data_hidden_prob[..batch * nh];
    let data_sparse = hidden_input(
        model,
        data_visible,
        batch,
        data_is_binary,
        &mut ws.data_index,
        data_hidden_prob,
        par,
    );
    sigmoid_in_place(data_hidden_prob);

    // Negative phase start: hidden samples from the data (CD) or from the chains (PCD).
    let chains = match config.method {
        Method::ContrastiveDivergence => {
            sample(
                rng,
                &mut ws.random_bits,
                data_hidden_prob,
                &mut ws.chain_hidden[..batch * nh],
            );
            batch
        }
        Method::Persistent { chains } => {
            let hidden_prob = &mut ws.chain_hidden_prob[..chains * nh];
            hidden_input(
                model,
                &state.persistent_chains,
                chains,
                true,
                &mut ws.chain_index,
                hidden_prob,
                par,
            );
            sigmoid_in_place(hidden_prob);
            sample(
                rng,
                &mut ws.random_bits,
                hidden_prob,
                &mut ws.chain_hidden[..chains * nh],
            );
            chains
        }
    };
    let chain_visible = &mut ws.chain_visible[..chains * nv];
    let chain_visible_prob = &mut ws.chain_visible_prob[..chains * nv];
    let chain_hidden_prob = &mut ws.chain_hidden_prob[..chains * nh];
    let chain_hidden = &mut ws.chain_hidden[..chains * nh];
    let mut chain_sparse = false;
    for step in 0..k {
        visible_input(model, chain_hidden, chains, chain_visible_prob, par);
        sigmoid_in_place(chain_visible_prob);
        sample(rng, &mut ws.random_bits, chain_visible_prob, chain_visible);
        chain_sparse = hidden_input(
            model,
            chain_visible,
            chains,
            true,
            &mut ws.chain_index,
            chain_hidden_prob,
            par,
        );
        sigmoid_in_place(chain_hidden_prob);
        if step + 1 < k {
            sample(rng, &mut ws.random_bits, chain_hidden_prob, chain_hidden);
        }
    }
    if let Method::Persistent { .. } = config.method {
        state.persistent_chains.copy_from_slice(chain_visible);
    }

    // Gradient of the log-likelihood estimate: <v h>_data - <v h>_model.
    let (pos_scale, neg_scale) = (1.0 / batch as f32, -1.0 / chains as f32);
    if data_sparse && chain_sparse {
        ws.data_index.transpose_into(&mut ws.data_columns);
        ws.chain_index.transpose_into(&mut ws.chain_columns);
        let terms = [
            ScaledProduct {
                x_columns: &ws.data_columns,
                h: MatRef::from_row_major(data_hidden_prob, batch, nh),
                scale: pos_scale,
            },
            ScaledProduct {
                x_columns: &ws.chain_columns,
                h: MatRef::from_row_major(chain_hidden_prob, chains, nh),
                scale: neg_scale,
            },
        ];
        transposed_binary_times(&mut ws.weight_grad, &terms, par);
    } else {
        let mut grad = MatMut::from_row_major(&mut ws.weight_grad, nv, nh);
        // The data term overwrites the gradient (beta 0); the model term is added.
        let phases = [
            (0.0, pos_scale, data_visible, &*data_hidden_prob, batch),
            (1.0, neg_scale, chain_visible, &*chain_hidden_prob, chains),
        ];
        for (beta, scale, visible, hidden, rows) in phases {
            let visible = MatRef::from_row_major(visible, rows, nv);
            let hidden = MatRef::from_row_major(hidden, rows, nh);
            gemm(beta, &mut grad, scale, visible.t(), hidden, par);
        }
    }
    // Data means first: the sparsity penalty reads them before the model term is subtracted.
    ws.visible_grad.fill(0.0);
    add_column_means(&mut ws.visible_grad, data_visible, batch, 1.0);
    ws.hidden_grad.fill(0.0);
    add_column_means(&mut ws.hidden_grad, data_hidden_prob, batch, 1.0);

    if let Some(sparsity) = config.sparsity {
        // Running estimate q of each hidden unit's activity, pushed toward the target
        // through the hidden biases and the weights (Hinton's guide, section 11).
        for (q, &data_mean) in state.hidden_activity.iter_mut().zip(&ws.hidden_grad) {
            *q = sparsity.decay * *q + (1.0 - sparsity.decay) * data_mean;
        }
        for (g, &q) in ws.hidden_grad.iter_mut().zip(&state.hidden_activity) {
            *g += sparsity.cost * (sparsity.target - q);
        }
        for (row, &visible_mean) in ws.weight_grad.chunks_exact_mut(nh).zip(&ws.visible_grad) {
            for (g, &q) in row.iter_mut().zip(&state.hidden_activity) {
                *g += sparsity.cost * (sparsity.target - q) * visible_mean;
            }
        }
    }
    add_column_means(&mut ws.visible_grad, chain_visible, chains, -1.0);
    add_column_means(&mut ws.hidden_grad, chain_hidden_prob, chains, -1.0);
}
