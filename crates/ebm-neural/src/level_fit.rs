//! How well a noise-conditional score fits each level of its ladder: for data `x`, noise
//! `z ~ N(0, I)` and `x~ = x + sigma z`, the normalized denoising loss
//! `E |sigma s(x~, sigma) + z|^2 / D` (1 for a zero score, well below 1 for a good one;
//! the exact score of data `N(mu, s^2 I)` gives `s^2 / (s^2 + sigma^2)`) and the mean norm
//! of the score against the target's, `sqrt(D) / sigma`.

use crate::NeuralError;
use crate::annealed::NoiseScore;
use ebm_kernels::rng::{StreamRng, fill_normal_f32};

/// The fit of one level of the ladder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelFit {
    /// The level's noise `sigma`.
    pub sigma: f32,
    /// `E |sigma s(x~, sigma) + z|^2 / D`.
    pub loss: f64,
    /// `E |s(x~, sigma)|` divided by `sqrt(D) / sigma`.
    pub score_ratio: f64,
}

/// The [`LevelFit`] of every level of `model` (largest first) on the rows of `data`
/// (`n x d`), each row corrupted once per level with noise from `rng`.
///
/// # Errors
///
/// [`NeuralError::Shape`] unless `data` is one or more whole rows of the model's
/// dimension.
///
/// # Examples
///
/// ```
/// use ebm_neural::level_fit::level_fits;
/// use ebm_neural::noise_conditional::NoiseConditionalEnergy;
/// use ebm_neural::{Activation, Cpu, Mlp, OnBackend};
/// let mut rng = ebm_kernels::rng::stream(1, 0, 0);
/// let f = Mlp::new(&[2, 8, 1], Activation::Swish, 1.0, &mut rng)?;
/// let model = NoiseConditionalEnergy::new(f, vec![1.0, 0.1])?;
/// let data = [0.5f32, -0.5, 0.2, 0.1];
/// let fits = level_fits(&mut OnBackend::new(&model, Cpu::sequential()), &data, &mut rng)?;
/// assert_eq!(fits.len(), 2);
/// assert!(fits.iter().all(|f| f.loss.is_finite()));
/// # Ok::<(), ebm_neural::NeuralError>(())
/// ```
pub fn level_fits(
    model: &mut impl NoiseScore,
    data: &[f32],
    rng: &mut StreamRng,
) -> Result<Vec<LevelFit>, NeuralError> {
    let d = model.dim();
    if data.is_empty() || data.len() % d != 0 {
        return Err(NeuralError::Shape(format!(
            "{} values are not whole rows of {d}",
            data.len()
        )));
    }
    let n = data.len() / d;
    let sigmas = model.sigmas().to_vec();
    let (mut noise, mut noisy, mut score) = (
        vec![0.0f32; data.len()],
        vec![0.0f32; data.len()],
        vec![0.0f32; data.len()],
    );
    let mut fits = Vec::with_capacity(sigmas.len());
    for (level, &sigma) in sigmas.iter().enumerate() {
        fill_normal_f32(rng, &mut noise);
        for ((y, &x), &z) in noisy.iter_mut().zip(data).zip(&noise) {
            *y = x + sigma * z;
        }
        model.score(&noisy, level, &mut score);
        let (mut loss, mut norms) = (0.0f64, 0.0f64);
        for (s, z) in score.chunks_exact(d).zip(noise.chunks_exact(d)) {
            let mut squared = 0.0f64;
            for (&si, &zi) in s.iter().zip(z) {
                loss += ((sigma * si + zi) as f64).powi(2);
                squared += (si as f64).powi(2);
            }
            norms += squared.sqrt();
        }
        let target = (d as f64).sqrt() / sigma as f64;
        fits.push(LevelFit {
            sigma,
            loss: loss / (n * d) as f64,
            score_ratio: norms / n as f64 / target,
        });
    }
    Ok(fits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annealed::tests::Gaussian;
    use ebm_kernels::rng::stream;

    /// The exact score gives loss `s^2 / (s^2 + sigma^2)` and ratio about
    /// `sigma / sqrt(s^2 + sigma^2)`; a zero score gives loss 1 and ratio 0; a score ten
    /// times too large a loss above 2.
    #[test]
    fn the_exact_gaussian_score_fits_every_level_and_a_wrong_one_does_not() {
        let mut model = Gaussian {
            mean: vec![0.5; 50],
            variance: 0.09,
            sigmas: vec![1.0, 0.3, 0.05],
            scale: 1.0,
        };
        let (n, mut rng) = (400, stream(3, 0, 0));
        let mut data = vec![0.0f32; n * 50];
        fill_normal_f32(&mut rng, &mut data);
        data.iter_mut().for_each(|x| *x = 0.5 + 0.3 * *x);
        let fits = level_fits(&mut model, &data, &mut rng).unwrap();
        for fit in &fits {
            let v = 0.09 + (fit.sigma as f64).powi(2);
            let expected = 0.09 / v;
            assert!((fit.loss - expected).abs() < 0.02, "{fit:?} vs {expected}");
            let ratio = fit.sigma as f64 / v.sqrt();
            assert!((fit.score_ratio - ratio).abs() < 0.02, "{fit:?} vs {ratio}");
        }
        model.scale = 0.0;
        for fit in level_fits(&mut model, &data, &mut rng).unwrap() {
            assert!((fit.loss - 1.0).abs() < 0.02 && fit.score_ratio == 0.0);
        }
        model.scale = 10.0;
        for fit in level_fits(&mut model, &data, &mut rng).unwrap() {
            assert!(fit.loss > 2.0, "{fit:?}");
        }
        assert!(level_fits(&mut model, &data[..49], &mut rng).is_err());
    }
}
