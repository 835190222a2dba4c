//! Honest measurements of a binary RBM.
//!
//! - [`reconstruction_error`]: squared error of `v -> p(h|v) -> p(v|h)`; cheap, a
//!   training monitor only (it is not a likelihood);
//! - [`hidden_probabilities`]: `p(h | v)` of every example (features);
//! - [`pseudo_likelihood()`]: `sum_i ln p(v_i | v_-i)` over all units (exact, not the
//!   one-random-unit estimate scikit-learn reports);
//! - [`exact`]: `ln Z` by enumerating the smaller layer (up to 25 units);
//! - [`ais`]: `ln Z` by annealed importance sampling from a base-rate model;
//! - [`log_likelihood`]: mean `ln p(v)` given `ln Z`.

pub mod ais;
pub mod exact;
pub mod pseudo_likelihood;

pub use ais::{AisConfig, AisEstimate, ais_log_partition, base_rate_visible_bias};
pub use exact::{MAX_EXACT_UNITS, exact_log_partition};
pub use pseudo_likelihood::{pseudo_likelihood, pseudo_log_likelihoods};

use crate::products::{hidden_input, visible_input};
use crate::{BinaryRbm, RbmError};
use ebm_data::Dataset;
use ebm_kernels::Parallelism;
use ebm_kernels::activation::{sigmoid_in_place, softplus_sum};
use ebm_kernels::sparse::ActiveIndex;
use rayon::prelude::*;

/// Rows per chunk when a metric streams a data set through the layer products.
pub(crate) const METRIC_CHUNK_ROWS: usize = 256;

pub(crate) fn check_features(model: &BinaryRbm, data: &Dataset) -> Result<(), RbmError> {
    if data.n_features != model.n_visible() {
        return Err(RbmError::DataMismatch(format!(
            "data has {} features, the model {} visible units",
            data.n_features,
            model.n_visible()
        )));
    }
    Ok(())
}

/// Stream `data` through `p(h | v)` in chunks of [`METRIC_CHUNK_ROWS`] rows: `visit`
/// gets each chunk of visible rows and their hidden-unit probabilities (row-major).
fn for_each_hidden_chunk(
    model: &BinaryRbm,
    data: &Dataset,
    par: Parallelism,
    mut visit: impl FnMut(&[f32], &[f32]),
) -> Result<(), RbmError> {
    check_features(model, data)?;
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let binary = data.is_binary();
    let mut hidden = vec![0.0f32; METRIC_CHUNK_ROWS * nh];
    let mut index = ActiveIndex::new();
    for chunk in data.features.chunks(METRIC_CHUNK_ROWS * nv) {
        let rows = chunk.len() / nv;
        let h = &mut hidden[..rows * nh];
        hidden_input(model, chunk, rows, binary, &mut index, h, par);
        sigmoid_in_place(h);
        visit(chunk, h);
    }
    Ok(())
}

/// `p(h_j = 1 | v)` for every row of `data`, `n_examples x n_hidden` row-major: the
/// hidden-unit features of the examples.
///
/// # Errors
///
/// [`RbmError::DataMismatch`] when the data do not fit the model.
pub fn hidden_probabilities(
    model: &BinaryRbm,
    data: &Dataset,
    par: Parallelism,
) -> Result<Vec<f32>, RbmError> {
    let mut out = Vec::with_capacity(data.n_examples * model.n_hidden());
    for_each_hidden_chunk(model, data, par, |_, h| out.extend_from_slice(h))?;
    Ok(out)
}

/// Mean over examples of `sum_i (v_i - p(v_i = 1 | h = p(h | v)))^2` (mean-field
/// reconstruction, no sampling).
pub fn reconstruction_error(
    model: &BinaryRbm,
    data: &Dataset,
    par: Parallelism,
) -> Result<f64, RbmError> {
    let nv = model.n_visible();
    let mut visible = vec![0.0f32; METRIC_CHUNK_ROWS * nv];
    let mut total = 0.0f64;
    for_each_hidden_chunk(model, data, par, |chunk, h| {
        let rows = chunk.len() / nv;
        let v = &mut visible[..rows * nv];
        visible_input(model, h, rows, v, par);
        sigmoid_in_place(v);
        total += chunk
            .iter()
            .zip(v.iter())
            .map(|(&a, &b)| ((a - b) as f64).powi(2))
            .sum::<f64>();
    })?;
    Ok(total / data.n_examples.max(1) as f64)
}

/// `-F(v) = b.v + sum_j softplus(c_j + v.W_j)` for every row of `data` (unnormalized
/// log-probabilities).
pub fn log_unnormalized(
    model: &BinaryRbm,
    data: &Dataset,
    par: Parallelism,
) -> Result<Vec<f64>, RbmError> {
    check_features(model, data)?;
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let binary = data.is_binary();
    let mut hidden = vec![0.0f32; METRIC_CHUNK_ROWS * nh];
    let mut index = ActiveIndex::new();
    let mut out = Vec::with_capacity(data.n_examples);
    let b = model.visible_bias();
    for chunk in data.features.chunks(METRIC_CHUNK_ROWS * nv) {
        let rows = chunk.len() / nv;
        let h = &mut hidden[..rows * nh];
        hidden_input(model, chunk, rows, binary, &mut index, h, par);
        let row_value = |(v, x): (&[f32], &[f32])| {
            let visible: f64 = v
                .iter()
                .zip(b)
                .map(|(&vi, &bi)| vi as f64 * bi as f64)
                .sum();
            visible + softplus_sum(x)
        };
        match par {
            Parallelism::Sequential => out.extend(
                chunk
                    .chunks_exact(nv)
                    .zip(h.chunks_exact(nh))
                    .map(row_value),
            ),
            Parallelism::Threads(_) => {
                let values: Vec<f64> = chunk
                    .par_chunks_exact(nv)
                    .zip(h.par_chunks_exact(nh))
                    .map(row_value)
                    .collect();
                out.extend(values);
            }
        }
    }
    Ok(out)
}

/// Mean `ln p(v) = -F(v) - ln Z` over the rows of `data`, in nats per example.
pub fn log_likelihood(
    model: &BinaryRbm,
    data: &Dataset,
    log_z: f64,
    par: Parallelism,
) -> Result<f64, RbmError> {
    let values = log_unnormalized(model, data, par)?;
    Ok(values.iter().sum::<f64>() / values.len().max(1) as f64 - log_z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_unnormalized_matches_free_energy() {
        let mut model = BinaryRbm::initialize(7, 5, &[0.3; 7], 4).unwrap();
        model
            .parameters_mut()
            .0
            .iter_mut()
            .enumerate()
            .for_each(|(i, w)| *w = (i as f32).cos());
        let features: Vec<f32> = (0..7 * 300)
            .map(|i| ((i * 7919) % 5 == 0) as u8 as f32)
            .collect();
        let data = Dataset {
            features,
            n_examples: 300,
            n_features: 7,
            image_shape: None,
            labels: None,
        };
        let values = log_unnormalized(&model, &data, Parallelism::Sequential).unwrap();
        for (r, v) in values.iter().enumerate() {
            assert!((v + model.free_energy(data.row(r))).abs() < 1e-4);
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let threaded = pool
            .install(|| log_unnormalized(&model, &data, Parallelism::Threads(2)))
            .unwrap();
        assert_eq!(values, threaded);
    }

    #[test]
    fn reconstruction_error_of_identity_like_model_is_small() {
        // Strong positive coupling between v_i and h_i, negative biases: v reconstructs v.
        let n = 4;
        let mut w = vec![0.0f32; n * n];
        (0..n).for_each(|i| w[i * n + i] = 20.0);
        let model = BinaryRbm::from_parts(n, n, w, vec![-10.0; n], vec![-10.0; n]).unwrap();
        let data = Dataset {
            features: vec![1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            n_examples: 2,
            n_features: 4,
            image_shape: None,
            labels: None,
        };
        let err = reconstruction_error(&model, &data, Parallelism::Sequential).unwrap();
        assert!(err < 1e-3, "{err}");
    }
}
