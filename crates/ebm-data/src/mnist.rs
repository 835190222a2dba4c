//! MNIST from its four IDX files (raw or `.gz`) in one directory.

use crate::{DataError, Dataset, idx};
use std::path::{Path, PathBuf};

/// Which half of MNIST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// 60,000 training images.
    Train,
    /// 10,000 test images.
    Test,
}

impl Split {
    fn stem(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// The path of `name` in `dir`, preferring the raw file and falling back to `.gz`.
fn locate(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(DataError::Malformed {
        path: gz,
        message: "MNIST file not found (expected it raw or gzipped; set --data or EBM_DATA to the folder holding mnist/)".into(),
    })
}

/// Load a split from `dir` (the folder holding `train-images-idx3-ubyte[.gz]` etc.),
/// pixels scaled to `[0, 1]`, with labels.
pub fn load(dir: &Path, split: Split) -> Result<Dataset, DataError> {
    let images_path = locate(dir, &format!("{}-images-idx3-ubyte", split.stem()))?;
    let labels_path = locate(dir, &format!("{}-labels-idx1-ubyte", split.stem()))?;
    let images = idx::read(&images_path)?;
    if images.dims.len() != 3 {
        return Err(DataError::Malformed {
            path: images_path,
            message: format!(
                "expected 3 dimensions (n, rows, cols), found {:?}",
                images.dims
            ),
        });
    }
    let labels = idx::read(&labels_path)?;
    if labels.dims.len() != 1 || labels.dims[0] != images.dims[0] {
        return Err(DataError::Malformed {
            path: labels_path,
            message: format!(
                "expected {} labels, found dims {:?}",
                images.dims[0], labels.dims
            ),
        });
    }
    if let Some(bad) = labels.data.iter().find(|&&l| l > 9) {
        return Err(DataError::Malformed {
            path: labels_path,
            message: format!("label {bad} outside 0..=9"),
        });
    }
    let (n, h, w) = (images.dims[0], images.dims[1], images.dims[2]);
    if n == 0 {
        // A split with no image cannot be trained on or measured (an empty test set once
        // failed later, with exit code 1, without naming the file).
        return Err(DataError::Malformed {
            path: images_path,
            message: "holds no images (an MNIST split needs at least one)".into(),
        });
    }
    Ok(Dataset {
        features: images.data.iter().map(|&p| p as f32 / 255.0).collect(),
        n_examples: n,
        n_features: h * w,
        image_shape: Some((h, w)),
        labels: Some(labels.data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IDX file of unsigned bytes.
    fn idx_file(path: &Path, dims: &[u32], data: &[u8]) {
        std::fs::write(path, crate::idx::encode_u8(dims, data)).unwrap();
    }

    #[test]
    fn an_empty_split_is_refused_naming_its_file() {
        let dir = tempfile::tempdir().unwrap();
        idx_file(
            &dir.path().join("train-images-idx3-ubyte"),
            &[1, 2, 2],
            &[0, 9, 99, 255],
        );
        idx_file(&dir.path().join("train-labels-idx1-ubyte"), &[1], &[7]);
        idx_file(&dir.path().join("t10k-images-idx3-ubyte"), &[0, 2, 2], &[]);
        idx_file(&dir.path().join("t10k-labels-idx1-ubyte"), &[0], &[]);
        let train = load(dir.path(), Split::Train).unwrap();
        assert_eq!((train.n_examples, train.labels), (1, Some(vec![7])));
        let e = load(dir.path(), Split::Test).unwrap_err().to_string();
        assert!(
            e.contains("t10k-images-idx3-ubyte") && e.contains("holds no images"),
            "{e}"
        );
    }
}
