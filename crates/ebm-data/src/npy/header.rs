//! The header of a `.npy` file: the magic, the version, and the Python dict literal
//! giving `descr`, `fortran_order` and `shape`, parsed by a small recursive-descent
//! reader and checked against the length of the file before anything is allocated.

use super::MAGIC;
use crate::array::{self, malformed};
use crate::escape::quote;
use crate::{DataError, idx};
use std::path::Path;

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
    pub(super) fn value(self, big_endian: bool, bytes: &[u8]) -> f64 {
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
