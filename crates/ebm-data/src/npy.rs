//! NumPy `.npy` files (format versions 1, 2 and 3), read and written without NumPy.
//!
//! A file is the magic `\x93NUMPY`, a version, a header (a Python dict literal giving
//! `descr`, `fortran_order` and `shape`) and the values. [`read`] takes booleans,
//! unsigned and signed integers of 1 to 8 bytes, `f32` and `f64`, either byte order, C
//! or Fortran order (Fortran arrays are transposed to row-major), and makes rows of
//! them (see [`read`] for the shapes). Other dtypes (`f2`, complex, strings, objects,
//! dates, structured records) are refused with a message naming the dtype.
//!
//! The header is parsed here rather than by a crate, so that the declared shape is
//! checked against the bytes the file holds before anything is allocated: a 100-byte
//! file declaring shape `(1000000000000,)` is refused, not obeyed.

use crate::array::{self, LABEL_RULE, class_label, malformed};
use crate::bounded;
use crate::escape::quote;
use crate::{DataError, Dataset, idx};
use std::path::Path;

/// The six bytes every `.npy` file starts with.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Deepest nesting of brackets the header parser follows (a real header nests 2 deep).
const MAX_DEPTH: usize = 8;

/// The element type of a `.npy` array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `b1`: one byte, 0 or 1 (any non-zero byte reads as 1).
    Bool,
    /// `u1`, `u2`, `u4`, `u8`: unsigned integers of that many bytes.
    Unsigned(u8),
    /// `i1`, `i2`, `i4`, `i8`: two's-complement integers of that many bytes.
    Signed(u8),
    /// `f4`, `f8`: IEEE floats of that many bytes.
    Float(u8),
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::Bool => 1,
            Dtype::Unsigned(n) | Dtype::Signed(n) | Dtype::Float(n) => n as usize,
        }
    }

    /// The dtype of a `descr` without its byte-order character (`f4`, `u1`, `b1`).
    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "b1" | "?" => Dtype::Bool,
            "u1" | "B" => Dtype::Unsigned(1),
            "u2" => Dtype::Unsigned(2),
            "u4" => Dtype::Unsigned(4),
            "u8" => Dtype::Unsigned(8),
            "i1" | "b" => Dtype::Signed(1),
            "i2" => Dtype::Signed(2),
            "i4" => Dtype::Signed(4),
            "i8" => Dtype::Signed(8),
            "f4" => Dtype::Float(4),
            "f8" => Dtype::Float(8),
            _ => return None,
        })
    }

    /// The element at the start of `bytes` (at least [`Dtype::size`] long) as an `f64`.
    fn value(self, big_endian: bool, bytes: &[u8]) -> f64 {
        let mut word = [0u8; 8];
        let n = self.size();
        word[..n].copy_from_slice(&bytes[..n]);
        if big_endian {
            word[..n].reverse();
        }
        let bits = u64::from_le_bytes(word);
        match self {
            Dtype::Bool => f64::from(u8::from(bits != 0)),
            Dtype::Unsigned(_) => bits as f64,
            Dtype::Signed(n) => {
                let shift = 64 - 8 * n as u32;
                (((bits << shift) as i64) >> shift) as f64
            }
            Dtype::Float(4) => f64::from(f32::from_bits(bits as u32)),
            Dtype::Float(_) => f64::from_bits(bits),
        }
    }
}

/// The header of a `.npy` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The element type.
    pub dtype: Dtype,
    /// True when multi-byte elements are big-endian (`>`).
    pub big_endian: bool,
    /// True when the values are in column-major (Fortran) order.
    pub fortran_order: bool,
    /// The dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Where the values start in the file.
    pub data_offset: usize,
}

/// A Python literal of the header dict.
#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Str(String),
    Int(Option<u64>),
    Bool(bool),
    Seq(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
    Other(String),
}

/// A recursive-descent reader of the Python literals NumPy writes in headers.
struct Literals<'a> {
    text: &'a [u8],
    at: usize,
}

impl Literals<'_> {
    fn skip_space(&mut self) {
        while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        self.at += usize::from(found);
        found
    }

    fn value(&mut self, depth: usize) -> Result<Literal, String> {
        if depth > MAX_DEPTH {
            return Err(format!("the header nests deeper than {MAX_DEPTH} brackets"));
        }
        match self.peek() {
            None => Err("the header ends inside its dict".into()),
            Some(q @ (b'\'' | b'"')) => {
                let start = self.at + 1;
                let len = self.text[start..].iter().position(|&c| c == q);
                let len = len.ok_or("a string in the header is not closed")?;
                self.at = start + len + 1;
                Ok(Literal::Str(
                    String::from_utf8_lossy(&self.text[start..start + len]).into_owned(),
                ))
            }
            Some(open @ (b'(' | b'[')) => {
                let close = if open == b'(' { b')' } else { b']' };
                self.at += 1;
                let mut items = Vec::new();
                while !self.eat(close) {
                    items.push(self.value(depth + 1)?);
                    if !self.eat(b',') && self.peek() != Some(close) {
                        return Err("expected ',' between the items of a tuple or list".into());
                    }
                }
                Ok(Literal::Seq(items))
            }
            Some(b'{') => {
                self.at += 1;
                let mut items = Vec::new();
                while !self.eat(b'}') {
                    let key = self.value(depth + 1)?;
                    if !self.eat(b':') {
                        return Err("expected ':' after a key of the header dict".into());
                    }
                    items.push((key, self.value(depth + 1)?));
                    if !self.eat(b',') && self.peek() != Some(b'}') {
                        return Err("expected ',' between the entries of the header dict".into());
                    }
                }
                Ok(Literal::Dict(items))
            }
            Some(_) => {
                let start = self.at;
                while self
                    .text
                    .get(self.at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    self.at += 1;
                }
                let word = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
                match word.as_str() {
                    "" => Err(format!(
                        "unexpected {} in the header",
                        quote(&String::from_utf8_lossy(&self.text[start..start + 1]))
                    )),
                    "True" => Ok(Literal::Bool(true)),
                    "False" => Ok(Literal::Bool(false)),
                    w if w.bytes().all(|c| c.is_ascii_digit()) => Ok(Literal::Int(w.parse().ok())),
                    // Python 2 wrote long integers with an `L`.
                    w if w.ends_with('L')
                        && w[..w.len() - 1].bytes().all(|c| c.is_ascii_digit()) =>
                    {
                        Ok(Literal::Int(w[..w.len() - 1].parse().ok()))
                    }
                    _ => Ok(Literal::Other(word)),
                }
            }
        }
    }
}

/// Parse the magic, version and header dict of `.npy` bytes read from `path`, checking
/// that the values the shape declares are exactly the bytes after the header.
///
/// # Errors
///
/// [`DataError::Malformed`] naming `path`: not a `.npy` file, an unknown version, a
/// truncated or unreadable header, an unsupported dtype, or a shape that the file's
/// length does not match.
pub fn parse_header(path: &Path, bytes: &[u8]) -> Result<Header, DataError> {
    let bad = |message: String| malformed(path, message);
    if !bytes.starts_with(MAGIC) {
        return Err(bad(
            "not a NumPy .npy file (expected the magic \\x93NUMPY)".into()
        ));
    }
    let (len_size, utf8) = match bytes.get(6) {
        Some(1) => (2, false),
        Some(2) => (4, false),
        Some(3) => (4, true),
        Some(v) => {
            return Err(bad(format!(
                ".npy format version {v} is not supported (1, 2 or 3)"
            )));
        }
        None => return Err(bad("truncated .npy file: it ends before its version".into())),
    };
    let start = 8 + len_size;
    if bytes.len() < start {
        return Err(bad(format!(
            "truncated .npy file: {} bytes, its header length alone needs {start}",
            bytes.len()
        )));
    }
    let header_len = if len_size == 2 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as usize
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize
    };
    let data_offset = start + header_len;
    if bytes.len() < data_offset {
        return Err(bad(format!(
            "truncated .npy header: it declares {header_len} bytes, the file has {} after the magic",
            bytes.len() - start
        )));
    }
    let text = &bytes[start..data_offset];
    if !utf8 && !text.is_ascii() {
        return Err(bad(".npy header (version 1 or 2) is not ASCII".into()));
    }
    let mut literals = Literals { text, at: 0 };
    let dict = match literals
        .value(0)
        .map_err(|e| bad(format!(".npy header: {e}")))?
    {
        Literal::Dict(entries) => entries,
        _ => return Err(bad(".npy header is not a dict".into())),
    };
    let entry = |key: &str| {
        dict.iter()
            .find(|(k, _)| *k == Literal::Str(key.into()))
            .map(|(_, v)| v)
            .ok_or_else(|| bad(format!(".npy header has no '{key}'")))
    };
    let (dtype, big_endian) = match entry("descr")? {
        Literal::Str(descr) => dtype_of(descr).map_err(&bad)?,
        Literal::Seq(_) => {
            return Err(bad(
                "structured dtypes (records) are not supported: save a plain numeric array".into(),
            ));
        }
        _ => return Err(bad(".npy header's 'descr' is not a string".into())),
    };
    let fortran_order = match entry("fortran_order")? {
        Literal::Bool(b) => *b,
        _ => {
            return Err(bad(
                ".npy header's 'fortran_order' is not True or False".into()
            ));
        }
    };
    let shape = match entry("shape")? {
        Literal::Seq(items) => items
            .iter()
            .map(|d| match d {
                Literal::Int(Some(d)) => usize::try_from(*d).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| {
                bad(".npy header's 'shape' is not a tuple of dimensions that fit in memory".into())
            })?,
        _ => return Err(bad(".npy header's 'shape' is not a tuple".into())),
    };
    let count = array::element_count(path, ".npy", &shape)?;
    let found = bytes.len() - data_offset;
    let needed = count.checked_mul(dtype.size());
    if needed != Some(found) {
        return Err(bad(format!(
            "the shape {shape:?} of {}-byte values needs {} bytes of data, the file has {found}",
            dtype.size(),
            needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
        )));
    }
    let shape_name = format!("the .npy shape {shape:?}");
    idx::check_extent(path, &shape_name, &shape, count)?;
    Ok(Header {
        dtype,
        big_endian,
        fortran_order,
        shape,
        data_offset,
    })
}

/// The dtype and byte order (true for big-endian) of a `descr` string.
fn dtype_of(descr: &str) -> Result<(Dtype, bool), String> {
    let (big_endian, code) = match descr.as_bytes().first() {
        Some(b'<' | b'|') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        Some(b'=') => (cfg!(target_endian = "big"), &descr[1..]),
        _ => (cfg!(target_endian = "big"), descr),
    };
    let dtype = Dtype::from_code(code).ok_or_else(|| {
        format!(
            "dtype {} is not supported (bool, integers, f32 or f64; convert with .astype('float32'))",
            quote(descr)
        )
    })?;
    Ok((dtype, big_endian && dtype.size() > 1))
}

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

/// The bytes of a `.npy` file holding `values` (`<f4`, C order) with shape `shape`,
/// as `numpy.save` writes them.
///
/// # Panics
///
/// When the product of `shape` is not `values.len()`.
pub fn encode_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        values.len(),
        "shape and values differ"
    );
    let payload: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<f4", shape, &payload)
}

/// The bytes of a `.npy` file holding `values` (`<i8`, numpy's default integers, C
/// order) with shape `shape`.
///
/// # Panics
///
/// When the product of `shape` is not `values.len()`.
pub fn encode_i64(shape: &[usize], values: &[i64]) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        values.len(),
        "shape and values differ"
    );
    let payload: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<i8", shape, &payload)
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

#[cfg(test)]
#[path = "npy_tests.rs"]
mod tests;
