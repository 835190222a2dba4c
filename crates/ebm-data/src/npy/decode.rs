//! Decoding the values of a `.npy` file (any supported dtype, either byte order, C or
//! Fortran order) into rows, class labels, or arrays of numbers or integers.

use super::header::{Dtype, Header, parse_header};
use crate::array::{self, LABEL_RULE, class_label, malformed};
use crate::bounded;
use crate::{DataError, Dataset, idx};
use std::path::Path;

/// The values of a parsed file as `f64`s in row-major order (Fortran order transposed),
/// each passed through `convert`, which may refuse one (given its row-major index).
fn values<T: Copy>(
    path: &Path,
    header: &Header,
    bytes: &[u8],
    convert: impl Fn(usize, f64) -> Result<T, DataError>,
) -> Result<Vec<T>, DataError> {
    let size = header.dtype.size();
    let data = &bytes[header.data_offset..];
    let mut out = bounded::for_values(path, "the number of .npy values", data, size)?;
    for (i, chunk) in data.chunks_exact(size).enumerate() {
        out.push(convert(i, header.dtype.value(header.big_endian, chunk))?);
    }
    if header.fortran_order {
        out = fortran_to_c(&header.shape, &out);
    }
    Ok(out)
}

/// A column-major array of shape `dims` in row-major order.
fn fortran_to_c<T: Copy>(dims: &[usize], data: &[T]) -> Vec<T> {
    if dims.len() < 2 || data.is_empty() {
        return data.to_vec();
    }
    let mut strides = vec![1usize; dims.len()];
    for k in 1..dims.len() {
        strides[k] = strides[k - 1] * dims[k - 1];
    }
    let mut index = vec![0usize; dims.len()];
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(data.len());
    for _ in 0..data.len() {
        out.push(data[offset]);
        for k in (0..dims.len()).rev() {
            index[k] += 1;
            offset += strides[k];
            if index[k] < dims[k] {
                break;
            }
            offset -= strides[k] * dims[k];
            index[k] = 0;
        }
    }
    out
}

/// Parse `.npy` bytes read from `path` into rows: a 1-D array of `n` values is `n` rows
/// of one feature; a 2-D array `(n, d)` is `n` rows of `d`; a deeper one `(n, ...)` is
/// `n` rows of the rest flattened: `(n, h, w)` is `n` images `(h, w)`, and so is a
/// deeper shape whose other dimensions are 1 (`(n, h, w, 1)`, `(n, 1, h, w)`). Values keep
/// their scale (a `u8` image is `0..=255`); booleans are 0 and 1. No labels.
///
/// # Errors
///
/// As [`parse_header`]; also a 0-dimensional array, or a value that is not finite
/// (NaN, infinity, or an `f64` beyond the `f32` range), named by row and column.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Dataset, DataError> {
    let header = parse_header(path, bytes)?;
    let features = values(path, &header, bytes, |_, v| Ok(v as f32))?;
    array::rows(path, ".npy", &header.shape, features)
}

/// Read the `.npy` file at `path` (raw or gzipped) into rows, as [`parse`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; else as [`parse`].
pub fn read(path: &Path) -> Result<Dataset, DataError> {
    parse(path, &idx::read_maybe_gzip(path)?)
}

/// Parse `.npy` bytes read from `path` as class labels: a 1-D array (or `(n, 1)`) of
/// integers in `0..=255` (of any integer, float or bool dtype).
///
/// # Errors
///
/// As [`parse_header`]; also another shape, or a value that is not a class label (its
/// index is given).
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let header = parse_header(path, bytes)?;
    if !matches!(header.shape[..], [_] | [_, 1]) {
        return Err(malformed(
            path,
            format!(
                "labels must be a 1-D array (or one column), found shape {:?}",
                header.shape
            ),
        ));
    }
    values(path, &header, bytes, |i, v| {
        class_label(v).ok_or_else(|| {
            malformed(
                path,
                format!(
                    "label {} (0-based) is {v}, not a class label ({LABEL_RULE})",
                    i
                ),
            )
        })
    })
}

/// Read the `.npy` labels file at `path` (raw or gzipped), as [`parse_labels`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; else as [`parse_labels`].
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    parse_labels(path, &idx::read_maybe_gzip(path)?)
}

/// A `.npy` array as it is: its shape (outermost first) and its values in row-major
/// order (Fortran order transposed).
#[derive(Clone, Debug, PartialEq)]
pub struct Array<T> {
    /// The dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<T>,
}

/// Parse `.npy` bytes read from `path` as an array of finite numbers of any shape (any
/// supported dtype, as `f64`), for readers that give the dimensions their own meaning
/// (per-pixel features of images, say).
///
/// # Errors
///
/// As [`parse_header`]; also a value that is not finite (its row-major index is given).
pub fn parse_array(path: &Path, bytes: &[u8]) -> Result<Array<f64>, DataError> {
    let header = parse_header(path, bytes)?;
    let values = values(path, &header, bytes, |i, v| {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(malformed(
                path,
                format!("value {i} (0-based, row-major) is {v}, not a finite number"),
            ))
        }
    })?;
    Ok(Array {
        shape: header.shape,
        values,
    })
}

/// Read the `.npy` file at `path` (raw or gzipped), as [`parse_array`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; else as [`parse_array`].
pub fn read_array(path: &Path) -> Result<Array<f64>, DataError> {
    parse_array(path, &idx::read_maybe_gzip(path)?)
}

/// Largest magnitude [`parse_integer_array`] takes: 2^53, below which every integer is
/// exact whatever dtype held it.
pub const MAX_INTEGER: i64 = 1 << 53;

/// Parse `.npy` bytes read from `path` as an array of integers of any shape: its dtype
/// must be an integer (or bool) type, as labels are.
///
/// # Errors
///
/// As [`parse_header`]; also a float dtype (labels stored as floats are refused, not
/// rounded), or a value beyond [`MAX_INTEGER`] in magnitude.
pub fn parse_integer_array(path: &Path, bytes: &[u8]) -> Result<Array<i64>, DataError> {
    let header = parse_header(path, bytes)?;
    if let Dtype::Float(n) = header.dtype {
        return Err(malformed(
            path,
            format!(
                "dtype f{n} is a float type; integer labels are needed (bool or integer dtypes; convert with .astype('int64'))"
            ),
        ));
    }
    let values = values(path, &header, bytes, |i, v| {
        if v.abs() <= MAX_INTEGER as f64 {
            Ok(v as i64)
        } else {
            Err(malformed(
                path,
                format!("value {i} (0-based, row-major) is {v}, beyond +-2^53"),
            ))
        }
    })?;
    Ok(Array {
        shape: header.shape,
        values,
    })
}

/// Read the `.npy` file at `path` (raw or gzipped), as [`parse_integer_array`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; else as [`parse_integer_array`].
pub fn read_integer_array(path: &Path) -> Result<Array<i64>, DataError> {
    parse_integer_array(path, &idx::read_maybe_gzip(path)?)
}
