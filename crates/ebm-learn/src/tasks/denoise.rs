//! Grid-CRF denoising of binarized MNIST digits: each pixel's clean value is a binary
//! label; the input is the image with every pixel flipped independently at `flip_rate`.
//! Unary template: features `(1, noisy pixel)`; pairwise: one label-label table for
//! horizontal and one for vertical neighbours (feature 1).

use super::{Task, TaskShape};
use crate::LearnError;
use crate::data::{Example, Structure};
use crate::templates::TemplateSet;
use ebm_core::InvalidSetting;
use ebm_kernels::rng;
use std::sync::Arc;

/// How to build the denoising task.
#[derive(Clone, Debug, PartialEq)]
pub struct DenoiseConfig {
    /// Probability that a pixel is flipped.
    pub flip_rate: f64,
    /// Pixels above this intensity are 1.
    pub threshold: f32,
    /// With pairwise factors (the grid CRF), or unary factors only.
    pub pairwise: bool,
    /// Seed of the noise.
    pub seed: u64,
}

impl Default for DenoiseConfig {
    fn default() -> Self {
        Self {
            flip_rate: 0.1,
            threshold: 0.5,
            pairwise: true,
            seed: 1,
        }
    }
}

/// The structure of a `height x width` grid CRF (or unary-only model) and its templates.
pub fn grid_structure(
    height: usize,
    width: usize,
    pairwise: bool,
) -> Result<(TemplateSet, Arc<Structure>), LearnError> {
    let templates = grid_templates(2, 2, pairwise)?;
    let structure = grid_of(&templates, height, width)?;
    Ok((templates, structure))
}

/// The templates of a grid CRF over `labels` labels whose unary factors have
/// `unary_features` features: `unary` (`[labels]`), and with `pairwise` one label-label
/// table for horizontal and one for vertical neighbours (`horizontal`, `vertical`).
pub fn grid_templates(
    labels: usize,
    unary_features: usize,
    pairwise: bool,
) -> Result<TemplateSet, LearnError> {
    let mut templates = TemplateSet::new();
    templates.add("unary", &[labels], unary_features)?;
    if pairwise {
        templates.add("horizontal", &[labels, labels], 1)?;
        templates.add("vertical", &[labels, labels], 1)?;
    }
    Ok(templates)
}

/// The `height x width` grid structure over templates made by [`grid_templates`]: a
/// unary factor on every pixel (row-major), then, when the templates have them, the
/// horizontal and vertical factors of each pixel in turn.
pub fn grid_of(
    templates: &TemplateSet,
    height: usize,
    width: usize,
) -> Result<Arc<Structure>, LearnError> {
    let labels = templates.get(0).label_counts[0];
    let mut structure = Structure::new(vec![labels; height * width]);
    for v in 0..height * width {
        structure.add_factor(templates, 0, &[v])?;
    }
    if templates.templates().len() == 3 {
        let (horizontal, vertical) = (1, 2);
        for r in 0..height {
            for c in 0..width {
                let v = r * width + c;
                if c + 1 < width {
                    structure.add_factor(templates, horizontal, &[v, v + 1])?;
                }
                if r + 1 < height {
                    structure.add_factor(templates, vertical, &[v, v + width])?;
                }
            }
        }
    }
    Ok(Arc::new(structure))
}

/// The example of one image on a structure from [`grid_structure`]: unary features
/// `(1, pixel)` for every pixel (any finite value: a noisy bit, an intensity), the pairwise
/// features 1, and the true `labels` (0 or 1 per pixel; any, for an image to predict).
///
/// # Errors
///
/// [`LearnError::InvalidData`] when `pixels` or `labels` are not one per variable of the
/// structure, a pixel is not finite or a label is not 0 or 1.
pub fn grid_example(
    structure: &Arc<Structure>,
    pixels: &[f64],
    labels: Vec<usize>,
) -> Result<Example, LearnError> {
    if pixels.len() != structure.variable_count() {
        return Err(LearnError::InvalidData(format!(
            "an image of {} pixels for a grid of {}",
            pixels.len(),
            structure.variable_count()
        )));
    }
    let mut features = Vec::with_capacity(structure.feature_len());
    for &x in pixels {
        features.extend([1.0, x]);
    }
    features.resize(structure.feature_len(), 1.0);
    Example::new(structure.clone(), features, labels)
}

/// Binarize `images` (rows of `height * width` intensities in `[0, 1]`) and flip pixels;
/// `first_index` keys the noise of the first image so train and test noise differ.
/// Returns the examples and the noisy images (0/1) for pictures.
pub fn noisy_examples(
    structure: &Arc<Structure>,
    images: &[f32],
    pixels: usize,
    config: &DenoiseConfig,
    first_index: u64,
) -> Result<(Vec<Example>, Vec<Vec<usize>>), LearnError> {
    if !(0.0..=0.5).contains(&config.flip_rate) {
        return Err(InvalidSetting::new(
            "flip_rate",
            format!("{} is not in [0, 0.5]", config.flip_rate),
        )
        .into());
    }
    let mut examples = Vec::new();
    let mut noisy_images = Vec::new();
    for (i, image) in images.chunks_exact(pixels).enumerate() {
        let clean: Vec<usize> = image
            .iter()
            .map(|&p| usize::from(p > config.threshold))
            .collect();
        let mut noise = rng::stream(config.seed, first_index + i as u64, 0);
        let noisy: Vec<usize> = clean
            .iter()
            .map(|&x| {
                let flip = rng::uniform_f64(&mut noise) < config.flip_rate;
                if flip { 1 - x } else { x }
            })
            .collect();
        let pixels: Vec<f64> = noisy.iter().map(|&x| x as f64).collect();
        examples.push(grid_example(structure, &pixels, clean)?);
        noisy_images.push(noisy);
    }
    Ok((examples, noisy_images))
}

/// The denoising task on `train_images` and `test_images` (flat, `height * width` each).
pub fn denoise_task(
    train_images: &[f32],
    test_images: &[f32],
    height: usize,
    width: usize,
    config: &DenoiseConfig,
) -> Result<Task, LearnError> {
    let (templates, structure) = grid_structure(height, width, config.pairwise)?;
    let pixels = height * width;
    let (train, _) = noisy_examples(&structure, train_images, pixels, config, 0)?;
    let (test, _) = noisy_examples(&structure, test_images, pixels, config, 1 << 40)?;
    Ok(Task {
        shape: TaskShape::Denoise {
            height,
            width,
            pairwise: config.pairwise,
        },
        templates,
        train,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_hold_the_noisy_pixels_at_the_stated_rate() {
        let (_, structure) = grid_structure(20, 20, true).unwrap();
        assert_eq!(structure.slots().len(), 400 + 2 * 20 * 19);
        let images = vec![1.0f32; 400 * 10];
        let config = DenoiseConfig {
            flip_rate: 0.2,
            ..DenoiseConfig::default()
        };
        let (examples, noisy) = noisy_examples(&structure, &images, 400, &config, 0).unwrap();
        let flipped: usize = noisy.iter().flatten().filter(|&&x| x == 0).count();
        // 4000 Bernoulli(0.2) flips: mean 800, sd 25; 5 sd is 125.
        assert!((flipped as f64 - 800.0).abs() < 125.0, "{flipped}");
        for (example, noisy) in examples.iter().zip(&noisy) {
            assert!(example.labels.iter().all(|&x| x == 1));
            for (v, &x) in noisy.iter().enumerate() {
                assert_eq!(example.features[2 * v + 1], x as f64);
            }
        }
        let bad = DenoiseConfig {
            flip_rate: 0.7,
            ..DenoiseConfig::default()
        };
        assert!(noisy_examples(&structure, &images, 400, &bad, 0).is_err());
    }

    #[test]
    fn grid_examples_take_any_pixel_values_and_check_their_sizes() {
        let (_, structure) = grid_structure(3, 4, true).unwrap();
        let example = grid_example(&structure, &[0.25; 12], vec![1; 12]).unwrap();
        assert_eq!(&example.features[..4], &[1.0, 0.25, 1.0, 0.25]);
        assert_eq!(example.features.len(), 24 + 3 * 3 + 2 * 4);
        assert!(example.features[24..].iter().all(|&f| f == 1.0));
        assert!(grid_example(&structure, &[0.0; 11], vec![0; 12]).is_err());
        assert!(grid_example(&structure, &[0.0; 12], vec![0; 11]).is_err());
        assert!(grid_example(&structure, &[f64::NAN; 12], vec![0; 12]).is_err());
        assert!(grid_example(&structure, &[0.0; 12], vec![2; 12]).is_err());
    }
}
