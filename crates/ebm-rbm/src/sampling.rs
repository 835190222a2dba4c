//! Drawing samples from a trained RBM by block Gibbs sampling.

use crate::products::{hidden_input, visible_input};
use crate::{BinaryRbm, RbmError};
use ebm_core::InvalidSetting;
use ebm_kernels::Parallelism;
use ebm_kernels::activation::{sigmoid_in_place, sigmoid_scalar};
use ebm_kernels::rng::{fill_u32, stream};
use ebm_kernels::sampling::bernoulli;
use ebm_kernels::sparse::ActiveIndex;

/// Run `chains` independent block-Gibbs chains for `steps` full sweeps (`v -> h -> v`),
/// started from the model's visible base rates, and return the final `p(v | h)` of each
/// chain (`chains x n_visible`, row-major): the mean image the last state implies.
pub fn gibbs_samples(
    model: &BinaryRbm,
    chains: usize,
    steps: usize,
    seed: u64,
    par: Parallelism,
) -> Result<Vec<f32>, RbmError> {
    if chains == 0 || steps == 0 {
        return Err(RbmError::from(InvalidSetting::new(
            "chains/steps",
            "sampling needs at least one chain and one step",
        )));
    }
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let mut bits = vec![0u32; chains * nv.max(nh)];
    let mut visible_prob: Vec<f32> = (0..chains)
        .flat_map(|_| model.visible_bias().iter().map(|&b| sigmoid_scalar(b)))
        .collect();
    let mut visible = vec![0.0f32; chains * nv];
    let mut hidden_prob = vec![0.0f32; chains * nh];
    let mut hidden = vec![0.0f32; chains * nh];
    let mut index = ActiveIndex::new();
    for step in 0..steps {
        let mut rng = stream(seed, step as u64, 0);
        fill_u32(&mut rng, &mut bits[..chains * nv]);
        bernoulli(&visible_prob, &bits, &mut visible);
        hidden_input(
            model,
            &visible,
            chains,
            true,
            &mut index,
            &mut hidden_prob,
            par,
        );
        sigmoid_in_place(&mut hidden_prob);
        fill_u32(&mut rng, &mut bits[..chains * nh]);
        bernoulli(&hidden_prob, &bits, &mut hidden);
        visible_input(model, &hidden, chains, &mut visible_prob, par);
        sigmoid_in_place(&mut visible_prob);
    }
    Ok(visible_prob)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongly_biased_model_samples_its_mode() {
        let model =
            BinaryRbm::from_parts(3, 2, vec![0.0; 6], vec![8.0, -8.0, 8.0], vec![0.0; 2]).unwrap();
        let samples = gibbs_samples(&model, 4, 3, 1, Parallelism::Sequential).unwrap();
        for row in samples.chunks_exact(3) {
            assert!(row[0] > 0.99 && row[1] < 0.01 && row[2] > 0.99);
        }
        assert!(gibbs_samples(&model, 0, 1, 1, Parallelism::Sequential).is_err());
    }
}
