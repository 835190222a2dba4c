//! The IDX format (MNIST family): `0 0 type ndims`, then `ndims` big-endian `u32`
//! dimensions, then the values. Reads raw or gzipped files (detected by content).

use crate::DataError;
use crate::bounded::{self, Bound};
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

/// Parse IDX bytes (already decompressed) read from `path`. The dimensions must be
/// backed by the values present: their product equals the number of values, and the
/// product of the non-zero ones (which an array with a zero dimension could make huge)
/// is at most that number or [`MAX_EMPTY_EXTENT`].
pub fn parse(path: &Path, bytes: &[u8]) -> Result<IdxArray, DataError> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(malformed(
            path,
            "not an IDX file (expected magic 00 00 <type> <ndims>)",
        ));
    }
    if bytes[2] != TYPE_U8 {
        return Err(malformed(
            path,
            format!(
                "IDX type 0x{:02x} not supported (expected 0x08, unsigned byte)",
                bytes[2]
            ),
        ));
    }
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
    let found = bytes.len() - header_len;
    if found != expected {
        return Err(malformed(
            path,
            format!("IDX dims {dims:?} need {expected} values, file has {found}"),
        ));
    }
    let extent = dims
        .iter()
        .filter(|&&d| d > 0)
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64));
    bounded::capacity(
        path,
        &format!("the extent of IDX dims {dims:?}"),
        extent,
        Bound::file(found, 1, "values").or_stated(MAX_EMPTY_EXTENT),
    )?;
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
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
