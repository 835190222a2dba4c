//! Writing `.npy` files (version 1.0, C order, little-endian) as `numpy.save` does.

use super::MAGIC;
use crate::{DataError, Dataset};
use std::path::Path;

/// A version 1.0 `.npy` file of `payload` (values already in little-endian bytes) with
/// dtype `descr` and shape `shape`, C order, header padded to 64 bytes as NumPy does.
fn encode(descr: &str, shape: &[usize], payload: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = Vec::with_capacity(10 + dict.len() + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// [`encode`] of `values` (each written by `le_bytes`) with shape `shape`.
///
/// # Panics
///
/// When the product of `shape` is not `values.len()`.
fn encode_values<T: Copy, const N: usize>(
    descr: &str,
    shape: &[usize],
    values: &[T],
    le_bytes: impl Fn(T) -> [u8; N],
) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        values.len(),
        "shape and values differ"
    );
    let payload: Vec<u8> = values.iter().flat_map(|&v| le_bytes(v)).collect();
    encode(descr, shape, &payload)
}

/// The bytes of a `.npy` file holding `values` (`<f4`, C order) with shape `shape`,
/// as `numpy.save` writes them.
///
/// # Panics
///
/// When the product of `shape` is not `values.len()`.
pub fn encode_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    encode_values("<f4", shape, values, |v| v.to_le_bytes())
}

/// The bytes of a `.npy` file holding `values` (`<i8`, numpy's default integers, C
/// order) with shape `shape`.
///
/// # Panics
///
/// When the product of `shape` is not `values.len()`.
pub fn encode_i64(shape: &[usize], values: &[i64]) -> Vec<u8> {
    encode_values("<i8", shape, values, |v| v.to_le_bytes())
}

/// The bytes of a 1-D `.npy` file of class labels (`|u1`).
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    encode("|u1", &[labels.len()], labels)
}

/// Write `data`'s features to `path` as a `.npy` file of `f32`, shape `(n, d)`, or
/// `(n, h, w)` when the rows are images.
///
/// # Errors
///
/// [`DataError::Io`] naming `path` when it cannot be written.
pub fn write(path: &Path, data: &Dataset) -> Result<(), DataError> {
    let shape = match data.image_shape {
        Some((h, w)) if h * w == data.n_features => vec![data.n_examples, h, w],
        _ => vec![data.n_examples, data.n_features],
    };
    std::fs::write(path, encode_f32(&shape, &data.features)).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}
