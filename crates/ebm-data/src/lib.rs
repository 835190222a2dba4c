//! Data readers for the ebm toolkit.
//!
//! - [`formats`]: a user's data file of any format below as a [`Dataset`], the format
//!   sniffed (magic, extension, content) or given, labels from a column or a separate file;
//! - [`npy`]: NumPy `.npy` arrays (bool, integers, f32, f64; C or Fortran order), read and
//!   written;
//! - [`csv`]: CSV, TSV and other delimited tables, with a header or not and a label column;
//! - [`svmlight`]: svmlight / libsvm sparse files, made dense within a bound;
//! - [`conll`]: CoNLL-style column files (one token a line, a blank line between
//!   sequences), read and written;
//! - [`idx`]: the IDX format of the MNIST family, raw or gzipped, with magic and shape checks,
//!   of any type and shape under any name;
//! - [`mnist`]: the four MNIST files as a [`Dataset`];
//! - [`digits`]: the 8x8 handwritten digits (UCI optdigits as scikit-learn ships them), built in;
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

mod array;
pub mod bars_and_stripes;
pub mod binarize;
pub mod bounded;
pub mod catalog;
pub mod conll;
pub mod csv;
pub mod data_dir;
pub mod digits;
pub mod escape;
pub mod formats;
pub mod idx;
pub mod image_grid;
pub mod mnist;
pub mod npy;
pub mod puzzles;
pub mod ratings;
pub mod svmlight;
pub mod uai;

use std::path::{Path, PathBuf};
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
        self.rows(0..n.min(self.n_examples))
    }

    /// The rows `range` (which must lie within `0..n_examples`), in order.
    pub fn rows(&self, range: std::ops::Range<usize>) -> Dataset {
        let d = self.n_features;
        Dataset {
            features: self.features[range.start * d..range.end * d].to_vec(),
            n_examples: range.len(),
            n_features: d,
            image_shape: self.image_shape,
            labels: self.labels.as_ref().map(|l| l[range.clone()].to_vec()),
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

    /// Per feature, the sum over rows of the squared deviation from `means` (one entry
    /// per feature, usually [`Self::feature_means`]): divide by `n - 1` or `n` for a
    /// variance.
    ///
    /// ```
    /// use ebm_data::Dataset;
    /// let data = Dataset {
    ///     features: vec![1.0, 10.0, 3.0, 10.0],
    ///     n_examples: 2,
    ///     n_features: 2,
    ///     image_shape: None,
    ///     labels: None,
    /// };
    /// assert_eq!(data.feature_squared_deviations(&data.feature_means()), vec![2.0, 0.0]);
    /// ```
    pub fn feature_squared_deviations(&self, means: &[f64]) -> Vec<f64> {
        let mut sums = vec![0.0f64; self.n_features];
        for i in 0..self.n_examples {
            for ((s, &x), &m) in sums.iter_mut().zip(self.row(i)).zip(means) {
                *s += (x as f64 - m).powi(2);
            }
        }
        sums
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

    /// The rows `rows` (indices into this data set, in the order given), with their
    /// labels when known.
    ///
    /// # Panics
    ///
    /// When an index is not below `n_examples`.
    pub fn select_rows(&self, rows: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(rows.len() * self.n_features);
        for &i in rows {
            features.extend_from_slice(self.row(i));
        }
        Dataset {
            features,
            n_examples: rows.len(),
            n_features: self.n_features,
            image_shape: self.image_shape,
            labels: self
                .labels
                .as_ref()
                .map(|l| rows.iter().map(|&i| l[i]).collect()),
        }
    }

    /// A reproducible split into `(train, test)`: `round(test_fraction * n_examples)` rows
    /// drawn at random for `seed` go to test (`test_fraction` is clamped to `[0, 1]`), the
    /// rest to train; each part keeps the rows in their original order.
    ///
    /// ```
    /// let data = ebm_data::bars_and_stripes::dataset(4);
    /// let (train, test) = data.split(0.2, 7);
    /// assert_eq!((train.n_examples, test.n_examples), (24, 6));
    /// assert_eq!(data.split(0.2, 7), (train, test));
    /// ```
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let fraction = if test_fraction.is_nan() {
            0.0
        } else {
            test_fraction.clamp(0.0, 1.0)
        };
        let n_test = ((self.n_examples as f64) * fraction).round() as usize;
        let mut order: Vec<usize> = (0..self.n_examples).collect();
        let mut generator = ebm_kernels::rng::stream(seed, 0, SPLIT_STREAM);
        ebm_kernels::rng::shuffle(&mut generator, &mut order);
        let mut test = order[..n_test].to_vec();
        let mut train = order[n_test..].to_vec();
        test.sort_unstable();
        train.sort_unstable();
        (self.select_rows(&train), self.select_rows(&test))
    }

    /// Remove column `column` (0-based) and make its values the labels: each must be a
    /// class label, an integer in `0..=255`. `path` names the file in messages.
    ///
    /// # Errors
    ///
    /// [`DataError::Malformed`] naming `path` when the column does not exist or a value
    /// in it is not a class label (the message gives the row, 1-based).
    pub fn take_label_column(&mut self, path: &Path, column: usize) -> Result<(), DataError> {
        let d = self.n_features;
        if column >= d {
            return Err(array::malformed(
                path,
                format!("label column index {column} (0-based), but the rows have {d} columns"),
            ));
        }
        let mut labels = Vec::with_capacity(self.n_examples);
        for (i, row) in self.features.chunks_exact(d).enumerate() {
            let v = row[column];
            labels.push(array::class_label(v as f64).ok_or_else(|| {
                array::malformed(
                    path,
                    format!(
                        "row {}, label column {column}: {v} is not a class label ({})",
                        i + 1,
                        array::LABEL_RULE
                    ),
                )
            })?);
        }
        let mut kept = 0;
        for i in 0..self.features.len() {
            if i % d != column {
                self.features[kept] = self.features[i];
                kept += 1;
            }
        }
        self.features.truncate(kept);
        self.n_features = d - 1;
        self.image_shape = None;
        self.labels = Some(labels);
        Ok(())
    }

    /// Attach `labels` read from the file at `labels_path`: one for each row.
    ///
    /// # Errors
    ///
    /// [`DataError::Malformed`] naming `labels_path` when the counts differ.
    pub fn set_labels(&mut self, labels_path: &Path, labels: Vec<u8>) -> Result<(), DataError> {
        if labels.len() != self.n_examples {
            return Err(array::malformed(
                labels_path,
                format!(
                    "{} labels, but the data have {} rows",
                    labels.len(),
                    self.n_examples
                ),
            ));
        }
        self.labels = Some(labels);
        Ok(())
    }
}

/// Stream index of [`Dataset::split`] (any fixed constant).
const SPLIT_STREAM: u64 = 0xd16_5911;
