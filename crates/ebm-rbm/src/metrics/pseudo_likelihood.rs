//! Pseudo-likelihood `sum_i ln p(v_i | v_-i)`, summed over every unit.

use super::check_features;
use crate::{BinaryRbm, RbmError};
use ebm_data::Dataset;
use ebm_kernels::Parallelism;
use ebm_kernels::activation::{softplus_f64, softplus_sum};
use rayon::prelude::*;

/// Mean over the rows of `data` (at most `max_examples` of them) of the full
/// pseudo-log-likelihood `sum_i ln p(v_i | v_-i)`, in nats per example.
///
/// `ln p(v_i | v_-i) = ln sigmoid(F(v with i flipped) - F(v))`; every unit is flipped,
/// so this is exact, unlike scikit-learn's `score_samples`, which flips one random unit
/// per example and scales by the number of units.
pub fn pseudo_likelihood(
    model: &BinaryRbm,
    data: &Dataset,
    max_examples: usize,
    par: Parallelism,
) -> Result<f64, RbmError> {
    check_features(model, data)?;
    let n = data.n_examples.min(max_examples);
    if n == 0 {
        return Err(RbmError::DataMismatch(
            "pseudo-likelihood of an empty data set".into(),
        ));
    }
    let values = pseudo_log_likelihoods(model, &data.features[..n * data.n_features], par)?;
    Ok(values.iter().sum::<f64>() / n as f64)
}

/// The full pseudo-log-likelihood `sum_i ln p(v_i | v_-i)` of every row of `rows`
/// (row-major, `n_visible` values a row), one value per row in nats.
///
/// Each row's value depends on that row alone (no batch-dependent summation order), so
/// it is the same for any subset or order of the rows and any thread count. A unit with
/// a fractional value `v_i` is "flipped" to `1 - v_i`, as scikit-learn's estimate does.
///
/// # Errors
///
/// [`RbmError::DataMismatch`] when the length of `rows` is not a multiple of the
/// model's visible units.
pub fn pseudo_log_likelihoods(
    model: &BinaryRbm,
    rows: &[f32],
    par: Parallelism,
) -> Result<Vec<f64>, RbmError> {
    let nv = model.n_visible();
    if rows.len() % nv != 0 {
        return Err(RbmError::DataMismatch(format!(
            "{} values are not rows of {nv} visible units",
            rows.len()
        )));
    }
    let nh = model.n_hidden();
    let (w, b, c) = (model.weights(), model.visible_bias(), model.hidden_bias());
    let example = |buffers: &mut (Vec<f32>, Vec<f32>), v: &[f32]| -> f64 {
        let (input, flipped) = buffers;
        input.copy_from_slice(c);
        for (i, &vi) in v.iter().enumerate() {
            if vi != 0.0 {
                for (x, &wij) in input.iter_mut().zip(&w[i * nh..(i + 1) * nh]) {
                    *x += vi * wij;
                }
            }
        }
        let base = softplus_sum(input);
        let mut total = 0.0f64;
        for (i, &vi) in v.iter().enumerate() {
            let sign = 1.0 - 2.0 * vi; // +1 turns a unit on, -1 off
            for ((f, &x), &wij) in flipped
                .iter_mut()
                .zip(input.iter())
                .zip(&w[i * nh..(i + 1) * nh])
            {
                *f = x + sign * wij;
            }
            // F(v') - F(v) = -sign * b_i - (sum softplus(x') - sum softplus(x))
            let delta = -(sign as f64) * b[i] as f64 - (softplus_sum(flipped) - base);
            total -= softplus_f64(-delta);
        }
        total
    };
    let init = || (vec![0.0f32; nh], vec![0.0f32; nh]);
    Ok(match par {
        Parallelism::Sequential => {
            let mut buffers = init();
            rows.chunks_exact(nv)
                .map(|v| example(&mut buffers, v))
                .collect()
        }
        Parallelism::Threads(_) => rows.par_chunks_exact(nv).map_init(init, example).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_brute_force_conditionals() {
        let mut model = BinaryRbm::initialize(6, 4, &[0.4; 6], 2).unwrap();
        let (w, b, _) = model.parameters_mut();
        w.iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = ((i * 37) % 11) as f32 / 5.0 - 1.0);
        b.iter_mut()
            .enumerate()
            .for_each(|(i, x)| *x = i as f32 / 3.0 - 1.0);
        let v = vec![1.0f32, 0.0, 1.0, 1.0, 0.0, 0.0];
        let mut want = 0.0f64;
        for i in 0..6 {
            let mut flipped = v.clone();
            flipped[i] = 1.0 - flipped[i];
            let (f, f_flip) = (model.free_energy(&v), model.free_energy(&flipped));
            want += -((f - f_flip).exp()).ln_1p(); // ln p(v)/(p(v)+p(v'))
        }
        let data = Dataset {
            features: v,
            n_examples: 1,
            n_features: 6,
            image_shape: None,
            labels: None,
        };
        let got = pseudo_likelihood(&model, &data, 10, Parallelism::Sequential).unwrap();
        assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    }
}
