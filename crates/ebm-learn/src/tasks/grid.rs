//! Grid CRFs labeling the pixels of the user's images, from a pair of `.npy` arrays:
//! per-pixel features of shape `[n_images, height, width, n_features]` (or `[height,
//! width, n_features]` for one image) and integer labels of shape `[n_images, height,
//! width]` (or `[height, width]`). The structure is the denoising task's
//! ([`super::denoise::grid_templates`], [`super::denoise::grid_of`]): a `unary` template
//! with features `(1, f_1, ..., f_F)` on every pixel and, unless unary-only, one label-label
//! table for horizontal and one for vertical neighbours (each a full table over the
//! labels, of which Potts is the special case). The labels are the distinct values of the
//! training labels, sorted; a value the training labels never showed is scored as wrong
//! wherever it is the truth. A model labels images of any size.
//!
//! ```
//! use ebm_data::npy::Array;
//! use ebm_learn::tasks::grid::{GridImages, GridSpec};
//! use std::path::Path;
//! // One 2x3 image with one feature per pixel, labeled by thresholding it.
//! let features = Array { shape: vec![2, 3, 1], values: vec![0.1, 0.9, 0.8, 0.2, 0.7, 0.0] };
//! let labels = Array { shape: vec![2, 3], values: vec![0, 5, 5, 0, 5, 0] };
//! let images = GridImages::new(Path::new("x.npy"), features, Some((Path::new("y.npy"), labels))).unwrap();
//! let spec = GridSpec::fit(Path::new("y.npy"), &images, true).unwrap();
//! assert_eq!((spec.features, spec.labels.clone()), (1, vec![0, 5]));
//! let set = spec.template_set().unwrap();
//! let data = spec.examples(&set, &images).unwrap();
//! assert_eq!(data.examples[0].labels, [0, 1, 1, 0, 1, 0]);
//! ```

use super::chain::MAX_LABELS;
use super::denoise::{grid_of, grid_templates};
use crate::LearnError;
use crate::data::Example;
use crate::templates::TemplateSet;
use ebm_data::DataError;
use ebm_data::npy::Array;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A grid CRF defined by training images: the number of per-pixel features, the label
/// values (sorted; a label's index is its position) and whether it has pairwise factors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridSpec {
    /// Features per pixel (the unary template has one more, the constant 1).
    pub features: usize,
    /// The distinct label values of the training labels, sorted.
    pub labels: Vec<i64>,
    /// With the horizontal and vertical pairwise templates.
    pub pairwise: bool,
}

/// Images with per-pixel features, and their labels when known.
#[derive(Clone, Debug, PartialEq)]
pub struct GridImages {
    /// Number of images.
    pub count: usize,
    /// Rows of each image.
    pub height: usize,
    /// Columns of each image.
    pub width: usize,
    /// Features per pixel.
    pub features: usize,
    /// `count x height x width x features` values, row-major.
    pub values: Vec<f64>,
    /// `count x height x width` label values, when given.
    pub labels: Option<Vec<i64>>,
    /// The features' array was one image (`[height, width, features]`): predictions are
    /// `[height, width]` too.
    pub single: bool,
}

/// A [`DataError::Malformed`] naming `path`.
fn malformed(path: &Path, message: String) -> LearnError {
    DataError::Malformed {
        path: path.to_path_buf(),
        message,
    }
    .into()
}

impl GridImages {
    /// Images from the features array read from `features_path` and, optionally, the
    /// labels array read from its path.
    ///
    /// # Errors
    ///
    /// [`LearnError::Data`] naming the file: features that are not 3-D or 4-D, no pixels,
    /// or labels whose shape is not the features' without their last dimension.
    pub fn new(
        features_path: &Path,
        features: Array<f64>,
        labels: Option<(&Path, Array<i64>)>,
    ) -> Result<Self, LearnError> {
        let (count, height, width, n_features, single) = match features.shape[..] {
            [h, w, f] => (1, h, w, f, true),
            [n, h, w, f] => (n, h, w, f, false),
            _ => {
                return Err(malformed(
                    features_path,
                    format!(
                        "per-pixel features must have shape [n_images, height, width, n_features] or [height, width, n_features]; found {:?}",
                        features.shape
                    ),
                ));
            }
        };
        if count * height * width == 0 {
            return Err(malformed(
                features_path,
                format!("no pixels: the features have shape {:?}", features.shape),
            ));
        }
        let pixel_shape = &features.shape[..features.shape.len() - 1];
        let labels = match labels {
            None => None,
            Some((path, labels)) => {
                if labels.shape != pixel_shape {
                    return Err(malformed(
                        path,
                        format!(
                            "labels of shape {:?} do not match the features of {} (shape {:?}: one label per pixel needs shape {pixel_shape:?})",
                            labels.shape,
                            features_path.display(),
                            features.shape
                        ),
                    ));
                }
                Some(labels.values)
            }
        };
        Ok(Self {
            count,
            height,
            width,
            features: n_features,
            values: features.values,
            labels,
            single,
        })
    }

    /// Read the features (and labels) `.npy` files, as [`GridImages::new`].
    ///
    /// # Errors
    ///
    /// As [`ebm_data::npy::read_array`] and [`ebm_data::npy::read_integer_array`] (a float
    /// labels file is refused); else as [`GridImages::new`].
    pub fn read(features: &Path, labels: Option<&Path>) -> Result<Self, LearnError> {
        let values = ebm_data::npy::read_array(features)?;
        let labels = match labels {
            Some(path) => Some((path, ebm_data::npy::read_integer_array(path)?)),
            None => None,
        };
        Self::new(features, values, labels)
    }

    /// Pixels of one image.
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }

    /// The shape of one label per pixel: `[count, height, width]`, or `[height, width]`
    /// for a single image.
    pub fn label_shape(&self) -> Vec<usize> {
        if self.single {
            vec![self.height, self.width]
        } else {
            vec![self.count, self.height, self.width]
        }
    }
}

/// The examples of images, with their true labels when known.
#[derive(Clone, Debug)]
pub struct GridData {
    /// One example an image (placeholder labels 0 without labels, or for a label value
    /// the training labels never showed).
    pub examples: Vec<Example>,
    /// Per image, each pixel's label index (`None`: a value the training labels never
    /// showed); `None` without labels.
    pub truth: Option<Vec<Vec<Option<usize>>>>,
}

impl GridSpec {
    /// The grid CRF `images` (which must have labels, read from `labels_path`) define.
    ///
    /// # Errors
    ///
    /// [`LearnError::Data`] naming `labels_path`: no labels, or more than
    /// [`MAX_LABELS`] distinct values.
    pub fn fit(
        labels_path: &Path,
        images: &GridImages,
        pairwise: bool,
    ) -> Result<Self, LearnError> {
        let Some(values) = &images.labels else {
            return Err(malformed(labels_path, "training images need labels".into()));
        };
        let mut labels = values.clone();
        labels.sort_unstable();
        labels.dedup();
        if labels.len() > MAX_LABELS {
            return Err(malformed(
                labels_path,
                format!(
                    "{} distinct label values; at most {MAX_LABELS} (labels are classes, one integer a pixel)",
                    labels.len()
                ),
            ));
        }
        Ok(Self {
            features: images.features,
            labels,
            pairwise,
        })
    }

    /// Number of labels.
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    /// The templates: [`grid_templates`] over the labels with `features + 1` unary
    /// features.
    ///
    /// # Errors
    ///
    /// [`LearnError::InvalidData`] for a spec without labels.
    pub fn template_set(&self) -> Result<TemplateSet, LearnError> {
        grid_templates(self.label_count(), self.features + 1, self.pairwise)
    }

    /// The examples of `images` under `templates` (from [`GridSpec::template_set`]).
    ///
    /// # Errors
    ///
    /// [`LearnError::InvalidData`] when the images do not have this spec's number of
    /// features or `templates` are not this spec's.
    pub fn examples(
        &self,
        templates: &TemplateSet,
        images: &GridImages,
    ) -> Result<GridData, LearnError> {
        if images.features != self.features {
            return Err(LearnError::InvalidData(format!(
                "the images have {} features per pixel; the model reads {}",
                images.features, self.features
            )));
        }
        let structure = grid_of(templates, images.height, images.width)?;
        let (pixels, f) = (images.pixels(), images.features);
        let mut examples = Vec::with_capacity(images.count);
        let mut truth = Vec::new();
        for i in 0..images.count {
            let mut features = Vec::with_capacity(structure.feature_len());
            for pixel in images.values[i * pixels * f..(i + 1) * pixels * f].chunks_exact(f.max(1))
            {
                features.push(1.0);
                features.extend_from_slice(&pixel[..f]);
            }
            if f == 0 {
                features.resize(pixels, 1.0);
            }
            features.resize(structure.feature_len(), 1.0);
            let known: Option<Vec<Option<usize>>> = images.labels.as_ref().map(|labels| {
                labels[i * pixels..(i + 1) * pixels]
                    .iter()
                    .map(|v| self.labels.binary_search(v).ok())
                    .collect()
            });
            let labels = match &known {
                Some(known) => known.iter().map(|l| l.unwrap_or(0)).collect(),
                None => vec![0; pixels],
            };
            examples.push(Example::new(structure.clone(), features, labels)?);
            if let Some(known) = known {
                truth.push(known);
            }
        }
        Ok(GridData {
            examples,
            truth: images.labels.is_some().then_some(truth),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::denoise::{DenoiseConfig, denoise_task};

    fn array<T>(shape: &[usize], values: Vec<T>) -> Array<T> {
        Array {
            shape: shape.to_vec(),
            values,
        }
    }

    /// The denoising task's images, as features and labels arrays, make the same
    /// templates and examples as the built-in task.
    #[test]
    fn denoising_images_as_arrays_are_the_built_in_grid() {
        let images: Vec<f32> = (0..3 * 12).map(|k| ((k * 7) % 5) as f32 / 4.0).collect();
        let task = denoise_task(&images, &[], 3, 4, &DenoiseConfig::default()).unwrap();
        let mut features = Vec::new();
        let mut labels = Vec::new();
        for e in &task.train {
            features.extend(e.features[..24].chunks(2).map(|p| p[1]));
            labels.extend(e.labels.iter().map(|&l| l as i64));
        }
        let x = array(&[3, 3, 4, 1], features);
        let y = array(&[3, 3, 4], labels);
        let p = Path::new("y.npy");
        let grid = GridImages::new(Path::new("x.npy"), x, Some((p, y))).unwrap();
        let spec = GridSpec::fit(p, &grid, true).unwrap();
        let set = spec.template_set().unwrap();
        assert_eq!(set, task.templates);
        let data = spec.examples(&set, &grid).unwrap();
        assert_eq!(data.examples, task.train);
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors_naming_the_file() {
        let x = || array(&[2, 2, 3], vec![0.0; 12]);
        let p = Path::new("y.npy");
        let e = GridImages::new(
            Path::new("x.npy"),
            x(),
            Some((p, array(&[2, 3], vec![0; 6]))),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("y.npy: labels of shape [2, 3] do not match"),
            "{e}"
        );
        assert!(e.contains("needs shape [2, 2]"), "{e}");
        let e = GridImages::new(Path::new("x.npy"), array(&[12], vec![0.0; 12]), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("x.npy: per-pixel features must have shape"),
            "{e}"
        );
        let e = GridImages::new(Path::new("x.npy"), array(&[0, 2, 2, 1], vec![]), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.npy: no pixels"), "{e}");
        let one = GridImages::new(
            Path::new("x.npy"),
            x(),
            Some((p, array(&[2, 2], vec![3, 1, 3, 9]))),
        )
        .unwrap();
        assert_eq!(one.label_shape(), [2, 2]);
        let spec = GridSpec::fit(p, &one, false).unwrap();
        let test = GridImages::new(
            Path::new("x.npy"),
            x(),
            Some((p, array(&[2, 2], vec![3, 4, 9, 1]))),
        )
        .unwrap();
        let set = spec.template_set().unwrap();
        let data = spec.examples(&set, &test).unwrap();
        assert_eq!(data.truth.unwrap()[0], [Some(1), None, Some(2), Some(0)]);
    }
}
