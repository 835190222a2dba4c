//! What the array readers ([`crate::npy`], [`crate::idx`], [`crate::csv`],
//! [`crate::svmlight`]) share: the rows an array's shape makes, class labels from
//! numbers, and the one message for a value that is not finite.

use crate::{DataError, Dataset};
use std::path::Path;

/// A [`DataError::Malformed`] for the file at `path`.
pub(crate) fn malformed(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// How an array's values make rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Number of rows.
    pub rows: usize,
    /// Values in each row.
    pub features: usize,
    /// `(height, width)` when each row is an image.
    pub image_shape: Option<(usize, usize)>,
}

/// How the rows of an array of shape `dims` (outermost first) are laid out: `(rows,
/// features per row, image shape)`. A 1-D array is one feature per row; a 2-D array is
/// a matrix; `(n, h, w)` is `n` images of `h x w`; in a deeper one each row is the rest
/// of the array flattened, an image of `(height, width)` when exactly two of its
/// dimensions are not 1 (`(n, h, w, 1)`, `(n, 1, h, w)`). `what` names the kind of file in messages.
pub(crate) fn layout(path: &Path, what: &str, dims: &[usize]) -> Result<Layout, DataError> {
    let layout = |rows, features, image_shape| Layout {
        rows,
        features,
        image_shape,
    };
    match dims {
        [] => Err(malformed(
            path,
            format!("the {what} array is a single value (0 dimensions), not rows"),
        )),
        [n] => Ok(layout(*n, 1, None)),
        [n, d] => Ok(layout(*n, *d, None)),
        [n, h, w] => Ok(layout(*n, h * w, Some((*h, *w)))),
        [n, rest @ ..] => {
            // The caller has checked that the product of the dimensions fits a usize.
            let features = rest.iter().product();
            let big: Vec<usize> = rest.iter().copied().filter(|&d| d != 1).collect();
            let image = match big[..] {
                [h, w] => Some((h, w)),
                _ => None,
            };
            Ok(layout(*n, features, image))
        }
    }
}

/// The row-major `features` of an array of shape `dims` (see [`layout`]) as a data set
/// without labels, once every value is checked finite ([`check_finite`]).
pub(crate) fn rows(
    path: &Path,
    what: &str,
    dims: &[usize],
    features: Vec<f32>,
) -> Result<Dataset, DataError> {
    let layout = layout(path, what, dims)?;
    check_finite(path, &features, layout.features)?;
    Ok(Dataset {
        features,
        n_examples: layout.rows,
        n_features: layout.features,
        image_shape: layout.image_shape,
        labels: None,
    })
}

/// `value` as a class label: an integer in `0..=255`.
pub(crate) fn class_label(value: f64) -> Option<u8> {
    (value.fract() == 0.0 && (0.0..=255.0).contains(&value)).then_some(value as u8)
}

/// What a class label must be, for messages.
pub(crate) const LABEL_RULE: &str = "a class label must be an integer in 0..=255";

/// The product of `dims`, or an error naming the file when it overflows.
pub(crate) fn element_count(path: &Path, what: &str, dims: &[usize]) -> Result<usize, DataError> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| malformed(path, format!("the {what} shape {dims:?} overflows")))
}

/// The first value of `values` (a row-major array with `n_features` per row) that is not
/// finite, as an error naming its row and column (1-based, as a person counts).
pub(crate) fn check_finite(
    path: &Path,
    values: &[f32],
    n_features: usize,
) -> Result<(), DataError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(i) => {
            let cols = n_features.max(1);
            Err(malformed(
                path,
                format!(
                    "row {}, column {}: the value {} is not a finite number (NaN and infinities are refused; an f64 beyond the f32 range is infinite)",
                    i / cols + 1,
                    i % cols + 1,
                    values[i]
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_and_labels() {
        let p = Path::new("a.npy");
        let shape = |dims: &[usize]| {
            let l = layout(p, "x", dims).unwrap();
            (l.rows, l.features, l.image_shape)
        };
        assert_eq!(shape(&[5]), (5, 1, None));
        assert_eq!(shape(&[5, 3]), (5, 3, None));
        assert_eq!(shape(&[5, 2, 3]), (5, 6, Some((2, 3))));
        assert_eq!(shape(&[5, 2, 3, 1]), (5, 6, Some((2, 3))));
        assert_eq!(shape(&[5, 1, 2, 3]), (5, 6, Some((2, 3))));
        assert_eq!(shape(&[5, 2, 3, 3]), (5, 18, None));
        assert!(
            layout(p, "x", &[])
                .unwrap_err()
                .to_string()
                .starts_with("a.npy: ")
        );
        assert_eq!(class_label(3.0), Some(3));
        assert_eq!(class_label(255.0), Some(255));
        for bad in [-1.0, 256.0, 2.5, f64::NAN, f64::INFINITY] {
            assert_eq!(class_label(bad), None, "{bad}");
        }
        let e = check_finite(p, &[1.0, 2.0, 3.0, f32::NAN], 2).unwrap_err();
        assert!(e.to_string().starts_with("a.npy: row 2, column 2: "), "{e}");
    }
}
