//! The user's own data files for the RBM commands: which files, their format and labels,
//! and how their values become the `[0, 1]` inputs an RBM reads.

use crate::Failure;
use clap::Args;
use ebm_data::Dataset;
use ebm_data::csv::ColumnRef;
use ebm_data::formats::{self, Format, LabelSource, ReadOptions};
use ebm_data::mnist::Split;
use std::path::{Path, PathBuf};

/// The values a model reads, and so how a file's values are scaled and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueRange {
    /// Values in `[0, 1]` (binary and class RBMs): divided by `--scale`, else by the
    /// training file's largest value when that is above 1.
    Unit,
    /// Any finite values (the Gaussian RBM, which standardizes them itself): divided by
    /// `--scale` only.
    Real,
}

/// How a data file is read: its format, its label column and the scale of its values.
#[derive(Args, Clone, Default)]
pub struct ReadArgs {
    /// Format of the data files: npy, csv, svmlight or idx (default: sniffed from the
    /// magic bytes, then the extension, then the content).
    #[arg(long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// The labels are this column of the data file (a name, a 0-based index, or `last`);
    /// it is removed from the features.
    #[arg(long)]
    pub label_column: Option<String>,
    /// Divide every value by this (default for models of values in [0, 1]: 1 when the
    /// values lie in [0, 1], else the largest value of the training file, e.g. 255 for
    /// 8-bit images; for the Gaussian RBM: 1).
    #[arg(long, value_parser = crate::args::finite)]
    pub scale: Option<f32>,
}

fn parse_format(text: &str) -> Result<Format, String> {
    text.parse()
}

impl ReadArgs {
    /// Read `path` (labels from `labels` when given, else from `--label-column`), its
    /// values divided by the scale: `--scale`, else that of `scale_from` (the training
    /// file; `path` itself when `None`).
    ///
    /// # Errors
    ///
    /// Bad input naming the file: unreadable or malformed, or values outside `[0, 1]`
    /// once scaled.
    pub fn read(
        &self,
        path: &Path,
        labels: Option<&Path>,
        scale_from: Option<&Path>,
        range: ValueRange,
    ) -> Result<Dataset, Failure> {
        let column = self.label_column.as_deref();
        self.read_with_column(path, labels, column, scale_from, range)
    }

    /// These settings with the scale fixed to the one `scale_from` gives (its largest
    /// value for values in [0, 1], see `--scale`), so that reading many files scaled like
    /// one reads that one once.
    ///
    /// # Errors
    ///
    /// As [`Self::read`] for `scale_from`.
    pub fn scaled_like(&self, scale_from: &Path, range: ValueRange) -> Result<ReadArgs, Failure> {
        let scale = match (self.scale, range) {
            (Some(scale), _) => scale,
            (None, ValueRange::Real) => 1.0,
            (None, ValueRange::Unit) => {
                auto_scale(&self.read_raw(scale_from, None, self.label_column.as_deref())?)
            }
        };
        Ok(ReadArgs {
            scale: Some(scale),
            ..self.clone()
        })
    }

    /// [`Self::read`] with the labels in `column` of `path` (when no `labels` file is
    /// given) instead of `--label-column`; the file the scale comes from is still read
    /// with `--label-column`.
    fn read_with_column(
        &self,
        path: &Path,
        labels: Option<&Path>,
        column: Option<&str>,
        scale_from: Option<&Path>,
        range: ValueRange,
    ) -> Result<Dataset, Failure> {
        let mut data = self.read_raw(path, labels, column)?;
        let scale = match (self.scale, range, scale_from) {
            (Some(scale), _, _) if scale > 0.0 => scale,
            (Some(_), _, _) => return Err(Failure::input("--scale must be positive")),
            (None, ValueRange::Real, _) => 1.0,
            (None, ValueRange::Unit, Some(train)) if train != path => {
                auto_scale(&self.read_raw(train, None, self.label_column.as_deref())?)
            }
            (None, ValueRange::Unit, _) => auto_scale(&data),
        };
        if scale != 1.0 {
            data.features.iter_mut().for_each(|x| *x /= scale);
        }
        let allowed = |x: f32| match range {
            ValueRange::Unit => (0.0..=1.0).contains(&x),
            ValueRange::Real => x.is_finite(),
        };
        if let Some(bad) = data.features.iter().find(|&&x| !allowed(x)) {
            let wanted = match range {
                ValueRange::Unit => "an RBM reads values in [0, 1] (give --scale)",
                ValueRange::Real => "the model reads finite values",
            };
            return Err(Failure::input(format!(
                "{}: a value is {} after dividing by {scale}; {wanted}",
                path.display(),
                bad * scale
            )));
        }
        if data.image_shape.is_none() {
            data.image_shape = square(data.n_features);
        }
        Ok(data)
    }

    /// `path` as the reader gives it (values unscaled).
    fn read_raw(
        &self,
        path: &Path,
        labels: Option<&Path>,
        column: Option<&str>,
    ) -> Result<Dataset, Failure> {
        let labels = match (labels, column) {
            (Some(file), _) => LabelSource::File(file.to_path_buf()),
            (None, Some(column)) => LabelSource::Column(
                column
                    .parse::<ColumnRef>()
                    .map_err(|e| Failure::input(format!("--label-column: {e}")))?,
            ),
            (None, None) => LabelSource::None,
        };
        let options = ReadOptions {
            format: self.format,
            labels,
            ..ReadOptions::default()
        };
        formats::read(path, &options).map_err(Failure::input)
    }
}

/// The scale that brings `data` into `[0, 1]`: 1 when it is there already, else its
/// largest value.
fn auto_scale(data: &Dataset) -> f32 {
    let largest = data.features.iter().copied().fold(0.0f32, f32::max);
    if largest > 1.0 { largest } else { 1.0 }
}

/// `(side, side)` when `n` pixels make a square image.
fn square(n: usize) -> Option<(usize, usize)> {
    let side = (n as f64).sqrt().round() as usize;
    (side > 1 && side * side == n).then_some((side, side))
}

/// The user's training and test files, instead of a built-in `--dataset`.
#[derive(Args, Clone, Default)]
pub struct FileArgs {
    /// Training data file (.npy, CSV, svmlight or IDX; raw or gzipped) instead of
    /// --dataset.
    #[arg(long, value_name = "FILE")]
    pub train: Option<PathBuf>,
    /// Test data file, read like --train.
    #[arg(long, value_name = "FILE")]
    pub test: Option<PathBuf>,
    /// Labels of --train in a separate file (.npy, IDX or one per line).
    #[arg(long, value_name = "FILE", conflicts_with = "label_column")]
    pub labels: Option<PathBuf>,
    /// Labels of --test in a separate file.
    #[arg(long, value_name = "FILE", requires = "test")]
    pub test_labels: Option<PathBuf>,
    /// The labels of --test are this column of it (default: --label-column), e.g. the
    /// 0/1 column of anomaly test data beside unlabeled normal training data.
    #[arg(long, requires = "test", conflicts_with = "test_labels")]
    pub test_label_column: Option<String>,
    #[command(flatten)]
    pub read: ReadArgs,
}

impl FileArgs {
    /// The `split` of the user's files (`None` when no `--train` was given), scaled by the
    /// training file's scale.
    ///
    /// # Errors
    ///
    /// Bad input naming the file or the missing flag.
    pub fn load(&self, split: Split, range: ValueRange) -> Result<Option<Dataset>, Failure> {
        let Some(train) = &self.train else {
            if self.test.is_some() {
                return Err(Failure::input("--test: give --train as well"));
            }
            return Ok(None);
        };
        let (path, labels) = match split {
            Split::Train => (train, &self.labels),
            Split::Test => match &self.test {
                Some(test) => (test, &self.test_labels),
                None => return Err(Failure::input("--test: this command needs a test file")),
            },
        };
        let column = match split {
            Split::Test => self.test_label_column.as_ref(),
            Split::Train => None,
        };
        let column = column
            .or(self.read.label_column.as_ref())
            .map(String::as_str);
        self.read
            .read_with_column(path, labels.as_deref(), column, Some(train), range)
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_scaled_by_the_training_file_and_squares_are_images() {
        let dir = tempfile::tempdir().unwrap();
        let train = dir.path().join("train.csv");
        let test = dir.path().join("test.csv");
        std::fs::write(&train, "a,b,c,d,y\n0,16,8,4,1\n16,0,0,0,0\n").unwrap();
        std::fs::write(&test, "a,b,c,d,y\n8,8,8,8,1\n").unwrap();
        let files = FileArgs {
            train: Some(train),
            test: Some(test),
            read: ReadArgs {
                label_column: Some("y".into()),
                ..ReadArgs::default()
            },
            ..FileArgs::default()
        };
        let train = files.load(Split::Train, ValueRange::Unit).unwrap().unwrap();
        let test = files.load(Split::Test, ValueRange::Unit).unwrap().unwrap();
        assert_eq!(train.features, [0.0, 1.0, 0.5, 0.25, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(test.features, [0.5; 4]);
        assert_eq!(
            (train.labels, train.image_shape),
            (Some(vec![1, 0]), Some((2, 2)))
        );
    }

    #[test]
    fn negative_values_and_a_missing_test_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let train = dir.path().join("train.csv");
        std::fs::write(&train, "1,-2\n0,1\n").unwrap();
        let files = FileArgs {
            train: Some(train),
            ..FileArgs::default()
        };
        let e = files
            .load(Split::Train, ValueRange::Unit)
            .unwrap_err()
            .message;
        assert!(e.contains("train.csv") && e.contains("[0, 1]"), "{e}");
        let e = files
            .load(Split::Test, ValueRange::Unit)
            .unwrap_err()
            .message;
        assert!(e.contains("--test"), "{e}");
    }
}
