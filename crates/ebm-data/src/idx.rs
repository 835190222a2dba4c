//! The IDX format (MNIST family): `0 0 type ndims`, then `ndims` big-endian `u32`
//! dimensions, then the values. Reads raw or gzipped files (detected by content), under
//! any name: [`read`] takes the unsigned bytes MNIST uses, [`read_dataset`] every IDX
//! type (`u8`, `i8`, `i16`, `i32`, `f32`, `f64`) and any number of dimensions as rows,
//! [`read_labels`] a 1-D file of class labels.

use crate::array::{self, LABEL_RULE, class_label};
use crate::bounded::{self, Bound};
use crate::{DataError, Dataset};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// IDX type code for unsigned bytes, the only one MNIST uses.
const TYPE_U8: u8 = 0x08;
/// Largest product of the non-zero dimensions of an array with no values (its rows take
/// no room in the file, so nothing else bounds them).
pub const MAX_EMPTY_EXTENT: usize = 1 << 16;
/// The two bytes that start a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<u8>,
}

fn malformed(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Read the file at `path`, gunzipping it when it starts with the gzip magic.
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>, DataError> {
    let raw = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if raw.starts_with(&GZIP_MAGIC) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| malformed(path, format!("corrupt gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The IDX element types: `(type code, bytes per value, name)`.
const TYPES: [(u8, usize, &str); 6] = [
    (0x08, 1, "u8"),
    (0x09, 1, "i8"),
    (0x0b, 2, "i16"),
    (0x0c, 4, "i32"),
    (0x0d, 4, "f32"),
    (0x0e, 8, "f64"),
];

/// The IDX encoding of unsigned bytes `data` with dimensions `dims` (what [`parse`] reads).
///
/// ```
/// let bytes = ebm_data::idx::encode_u8(&[2, 2], &[1, 2, 3, 4]);
/// let array = ebm_data::idx::parse(std::path::Path::new("x.idx"), &bytes).unwrap();
/// assert_eq!((array.dims, array.data), (vec![2, 2], vec![1, 2, 3, 4]));
/// ```
pub fn encode_u8(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(data);
    bytes
}

/// Whether `bytes` start like an IDX file: the magic, a known type, 1 to 255 dimensions
/// and exactly the values they declare (used to sniff the format).
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.len() >= 4
        && bytes[..2] == [0, 0]
        && TYPES
            .iter()
            .find(|t| t.0 == bytes[2])
            .is_some_and(|&(_, size, _)| dimensions(Path::new(""), bytes, size).is_ok())
}

/// Parse IDX bytes (already decompressed) read from `path`. The dimensions must be
/// backed by the values present: their product equals the number of values, and the
/// product of the non-zero ones (which an array with a zero dimension could make huge)
/// is at most that number or [`MAX_EMPTY_EXTENT`].
pub fn parse(path: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    check_magic(path, bytes)?;
    if bytes[2] != TYPE_U8 {
        return Err(malformed(
            path,
            format!(
                "IDX type 0x{:02x} not supported (expected 0x08, unsigned byte)",
                bytes[2]
            ),
        ));
    }
    let (dims, header_len) = dimensions(path, bytes, 1)?;
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

fn check_magic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(malformed(
            path,
            "not an IDX file (expected magic 00 00 <type> <ndims>)",
        ));
    }
    Ok(())
}

/// The dimensions and header length of IDX `bytes` of `size`-byte values, checked
/// against the values present (see [`parse`]).
fn dimensions(path: &Path, bytes: &[u8], size: usize) -> Result<(Vec<usize>, usize), DataError> {
    let ndims = bytes[3] as usize;
    if ndims == 0 {
        return Err(malformed(path, "IDX file with zero dimensions"));
    }
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(malformed(
            path,
            format!(
                "truncated IDX header ({} bytes, expected {header_len})",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| malformed(path, "IDX dimensions overflow"))?;
    let found_bytes = bytes.len() - header_len;
    let found = found_bytes / size;
    if found != expected || found_bytes % size != 0 {
        let message = if size == 1 {
            format!("IDX dims {dims:?} need {expected} values, file has {found}")
        } else {
            format!(
                "IDX dims {dims:?} need {expected} values of {size} bytes, file has {found_bytes} bytes"
            )
        };
        return Err(malformed(path, message));
    }
    check_extent(path, &format!("IDX dims {dims:?}"), &dims, found)?;
    Ok((dims, header_len))
}

/// Refuse a declared shape whose extent (the product of its non-zero dimensions, which
/// sizes the rows a reader allocates) is beyond the `values` the file holds, or, for a
/// file with no values, beyond [`MAX_EMPTY_EXTENT`].
pub(crate) fn check_extent(
    path: &Path,
    shape_name: &str,
    dims: &[usize],
    values: usize,
) -> Result<(), DataError> {
    let extent = dims
        .iter()
        .filter(|&&d| d > 0)
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64));
    let bound = Bound::file(values, 1, "values").or_stated(MAX_EMPTY_EXTENT);
    bounded::capacity(path, &format!("the extent of {shape_name}"), extent, bound)?;
    Ok(())
}

/// The dimensions of IDX `bytes` of any type and their values as `f64`, row-major.
fn parse_values(path: &Path, bytes: &[u8]) -> Result<(Vec<usize>, Vec<f64>), DataError> {
    check_magic(path, bytes)?;
    let Some(&(code, size, _)) = TYPES.iter().find(|t| t.0 == bytes[2]) else {
        let known: Vec<String> = TYPES
            .iter()
            .map(|(c, _, n)| format!("0x{c:02x} {n}"))
            .collect();
        return Err(malformed(
            path,
            format!(
                "IDX type 0x{:02x} not supported (expected {})",
                bytes[2],
                known.join(", ")
            ),
        ));
    };
    let (dims, header_len) = dimensions(path, bytes, size)?;
    let data = &bytes[header_len..];
    let mut values = bounded::for_values(path, "the number of IDX values", data, size)?;
    for c in data.chunks_exact(size) {
        values.push(match code {
            0x08 => f64::from(c[0]),
            0x09 => f64::from(c[0] as i8),
            0x0b => f64::from(i16::from_be_bytes([c[0], c[1]])),
            0x0c => f64::from(i32::from_be_bytes([c[0], c[1], c[2], c[3]])),
            0x0d => f64::from(f32::from_be_bytes([c[0], c[1], c[2], c[3]])),
            _ => f64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        });
    }
    Ok((dims, values))
}

/// Parse IDX bytes of any type and shape read from `path` into rows, as
/// [`crate::npy::parse`] lays out an array: `(n,)` is `n` rows of one value, `(n, d)` a
/// matrix, `(n, h, w)` `n` images. Values keep their scale (MNIST's bytes are
/// `0..=255`; [`crate::mnist::load`] is the one that scales them). No labels.
///
/// # Errors
///
/// [`DataError::Malformed`] naming `path`: not IDX, an unknown type, dimensions the
/// values present do not match, or a value that is not finite.
pub fn parse_dataset(path: &Path, bytes: &[u8]) -> Result<Dataset, DataError> {
    let (dims, values) = parse_values(path, bytes)?;
    let features: Vec<f32> = values.into_iter().map(|v| v as f32).collect();
    array::rows(path, "IDX", &dims, features)
}

/// Read the IDX file at `path` (raw or gzipped, any name) into rows, as
/// [`parse_dataset`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; else as [`parse_dataset`].
pub fn read_dataset(path: &Path) -> Result<Dataset, DataError> {
    parse_dataset(path, &read_maybe_gzip(path)?)
}

/// Parse IDX bytes read from `path` as class labels: one dimension (or `(n, 1)`),
/// integers in `0..=255`.
///
/// # Errors
///
/// As [`parse_dataset`]; also another shape or a value that is not a class label.
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, DataError> {
    let (dims, values) = parse_values(path, bytes)?;
    if !matches!(dims[..], [_] | [_, 1]) {
        return Err(malformed(
            path,
            format!("labels must have one dimension, found IDX dims {dims:?}"),
        ));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            class_label(v).ok_or_else(|| {
                malformed(
                    path,
                    format!("label {i} (0-based) is {v}, not a class label ({LABEL_RULE})"),
                )
            })
        })
        .collect()
}

/// Read the IDX labels file at `path` (raw or gzipped, any name), as [`parse_labels`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; else as [`parse_labels`].
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    parse_labels(path, &read_maybe_gzip(path)?)
}

/// Read and parse the IDX file at `path` (raw or gzipped).
pub fn read(path: &Path) -> Result<IdxArray, DataError> {
    let bytes = read_maybe_gzip(path)?;
    parse(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, TYPE_U8, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn parses_valid_file() {
        let a = parse(Path::new("x"), &idx_bytes(&[2, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.data, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn rejects_bad_magic_type_and_length() {
        let p = Path::new("f.idx");
        assert!(
            parse(p, b"\x89PNG")
                .unwrap_err()
                .to_string()
                .starts_with("f.idx: not an IDX file")
        );
        let mut wrong_type = idx_bytes(&[1], &[0]);
        wrong_type[2] = 0x0d;
        assert!(
            parse(p, &wrong_type)
                .unwrap_err()
                .to_string()
                .contains("0x0d")
        );
        let short = idx_bytes(&[2, 3], &[1, 2, 3]);
        assert_eq!(
            parse(p, &short).unwrap_err().to_string(),
            "f.idx: IDX dims [2, 3] need 6 values, file has 3"
        );
        assert!(
            parse(p, &idx_bytes(&[2, 3], &[0; 6])[..9])
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
    }

    /// An empty array may not declare huge rows: the old reader accepted dims
    /// [0, 4e9, 4e9] (16 bytes), whose row size then sized a model.
    #[test]
    fn dimensions_of_an_empty_array_are_bounded() {
        let p = Path::new("e.idx");
        let e = parse(p, &idx_bytes(&[0, 4_000_000_000, 4_000_000_000], &[]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("e.idx: the extent of IDX dims"), "{e}");
        assert!(parse(p, &idx_bytes(&[0, 28, 28], &[])).is_ok());
        assert!(parse(p, &idx_bytes(&[4_000_000_000, 0], &[])).is_err());
    }

    fn typed(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = idx_bytes(dims, data);
        b[2] = code;
        b
    }

    #[test]
    fn any_type_and_shape_as_rows() {
        let p = Path::new("f.any");
        let images = parse_dataset(p, &idx_bytes(&[2, 1, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!((images.n_examples, images.n_features), (2, 3));
        assert_eq!(images.image_shape, Some((1, 3)));
        assert_eq!(images.features, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let f: Vec<u8> = [0.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        assert_eq!(
            parse_dataset(p, &typed(0x0d, &[2], &f)).unwrap().features,
            vec![0.5, -2.0]
        );
        let d: Vec<u8> = [0.25f64].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(
            parse_dataset(p, &typed(0x0e, &[1, 1], &d))
                .unwrap()
                .features,
            vec![0.25]
        );
        let s = typed(0x0b, &[2], &[0xff, 0xfe, 0, 7]);
        assert_eq!(parse_dataset(p, &s).unwrap().features, vec![-2.0, 7.0]);
        assert_eq!(
            parse_dataset(p, &typed(0x09, &[1], &[0xff]))
                .unwrap()
                .features,
            vec![-1.0]
        );
        let e = parse_dataset(p, &typed(0x0c, &[2], &[0; 6]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "f.any: IDX dims [2] need 2 values of 4 bytes, file has 6 bytes"
        );
        let e = parse_dataset(p, &typed(0x07, &[1], &[0]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("IDX type 0x07 not supported (expected 0x08 u8, 0x09 i8"),
            "{e}"
        );
        let nan: Vec<u8> = f32::NAN.to_be_bytes().to_vec();
        assert!(
            parse_dataset(p, &typed(0x0d, &[1], &nan))
                .unwrap_err()
                .to_string()
                .contains("row 1, column 1")
        );
        assert!(looks_like(&idx_bytes(&[2], &[1, 2])));
        assert!(!looks_like(&idx_bytes(&[2], &[1])));
    }

    #[test]
    fn labels_of_one_dimension() {
        let p = Path::new("l.any");
        assert_eq!(
            parse_labels(p, &idx_bytes(&[3], &[7, 0, 9])).unwrap(),
            vec![7, 0, 9]
        );
        let e = parse_labels(p, &idx_bytes(&[1, 2], &[7, 0]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("one dimension"), "{e}");
        let e = parse_labels(p, &typed(0x09, &[1], &[0xff]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "l.any: label 0 (0-based) is -1, not a class label (a class label must be an integer in 0..=255)"
        );
    }

    #[test]
    fn reads_gzipped_and_raw_files() {
        let dir = std::env::temp_dir().join(format!("ebm-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = idx_bytes(&[1, 2, 2], &[9, 8, 7, 6]);
        let raw = dir.join("a.idx");
        std::fs::write(&raw, &bytes).unwrap();
        let gz = dir.join("a.idx.gz");
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&bytes).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(read(&raw).unwrap(), read(&gz).unwrap());
        let broken = dir.join("b.idx.gz");
        std::fs::write(&broken, [0x1f, 0x8b, 0, 1, 2]).unwrap();
        assert!(
            read(&broken)
                .unwrap_err()
                .to_string()
                .contains("corrupt gzip")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
