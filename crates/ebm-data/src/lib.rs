//! Data readers for the ebm toolkit.
//!
//! - [`idx`]: the IDX format of the MNIST family, raw or gzipped, with magic and shape checks;
//! - [`mnist`]: the four MNIST files as a [`Dataset`];
//! - [`binarize`]: threshold or seeded stochastic binarization;
//! - [`bars_and_stripes`]: the 4x4 bars-and-stripes set, built in (no download);
//! - [`data_dir`]: where data sets are found (`--data`, else `$EBM_DATA`, else `./data`);
//! - [`catalog`]: data sets by name, binarized, as the CLI and examples use them;
//! - [`image_grid`]: PNG grids of image tiles (samples, filters);
//! - [`ratings`]: MovieLens rating files (100k tab, 1M `::`, `ratings.csv`), sniffed;
//! - [`uai`]: UAI competition models, evidence and result files;
//! - [`bounded`]: the one place a count read from a file becomes an allocation size,
//!   only when the file's content (or a stated limit) backs it;
//! - [`escape`]: the one escaping of file bytes shown in messages.
//!
//! Every reader's error is one line naming the file; bytes from the file in it are
//! escaped; no count in a file sizes an allocation beyond what the file's length backs.
//!
//! ```
//! let data = ebm_data::bars_and_stripes::dataset(4);
//! assert_eq!((data.n_examples, data.n_features), (30, 16));
//! ```

pub mod bars_and_stripes;
pub mod binarize;
pub mod bounded;
pub mod catalog;
pub mod data_dir;
pub mod escape;
pub mod idx;
pub mod image_grid;
pub mod mnist;
pub mod puzzles;
pub mod ratings;
pub mod uai;

use std::path::PathBuf;
use thiserror::Error;

/// Why data could not be read. Every variant names the file.
#[derive(Debug, Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file exists but its content is not what was expected.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What was expected and what was found.
        message: String,
    },
}

/// A dense data set: `n_examples` rows of `n_features` values in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Row-major features, `n_examples * n_features` values.
    pub features: Vec<f32>,
    /// Number of rows.
    pub n_examples: usize,
    /// Number of columns.
    pub n_features: usize,
    /// `(height, width)` when each row is an image.
    pub image_shape: Option<(usize, usize)>,
    /// One class label per row, when known.
    pub labels: Option<Vec<u8>>,
}

impl Dataset {
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.n_features..(i + 1) * self.n_features]
    }

    /// The first `n` rows (all of them if `n >= n_examples`).
    pub fn head(&self, n: usize) -> Dataset {
        let n = n.min(self.n_examples);
        Dataset {
            features: self.features[..n * self.n_features].to_vec(),
            n_examples: n,
            n_features: self.n_features,
            image_shape: self.image_shape,
            labels: self.labels.as_ref().map(|l| l[..n].to_vec()),
        }
    }

    /// Mean of each feature over all rows.
    pub fn feature_means(&self) -> Vec<f64> {
        let mut sums = vec![0.0f64; self.n_features];
        for row in self.features.chunks_exact(self.n_features.max(1)) {
            for (s, &v) in sums.iter_mut().zip(row) {
                *s += v as f64;
            }
        }
        let n = self.n_examples.max(1) as f64;
        sums.iter().map(|s| s / n).collect()
    }

    /// The rows whose label satisfies `keep` (all rows' labels must be known).
    pub fn select_labels(&self, keep: impl Fn(u8) -> bool) -> Option<Dataset> {
        let labels = self.labels.as_ref()?;
        let rows: Vec<usize> = (0..self.n_examples).filter(|&i| keep(labels[i])).collect();
        let mut features = Vec::with_capacity(rows.len() * self.n_features);
        for &i in &rows {
            features.extend_from_slice(self.row(i));
        }
        Some(Dataset {
            features,
            n_examples: rows.len(),
            n_features: self.n_features,
            image_shape: self.image_shape,
            labels: Some(rows.iter().map(|&i| labels[i]).collect()),
        })
    }

    /// True when every value is exactly 0 or 1.
    pub fn is_binary(&self) -> bool {
        self.features.iter().all(|&v| v == 0.0 || v == 1.0)
    }
}
