//! The model file format shared by every model of the toolkit.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `EBMMODEL` |
//! | 4 | format version (`u32`, currently 1) |
//! | 2 + n | model kind: length (`u16`) and UTF-8 name, e.g. `binary-rbm` |
//! | 2 + 8k | shapes: count (`u16`) and `u64` each, e.g. `[n_visible, n_hidden]` |
//! | 8 | payload length (`u64`) |
//! | 4 | CRC-32 of the payload |
//! | ... | payload: bincode 2 (standard config) of the model's serde form |
//!
//! The payload codec lives only here, so it can change in one place.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"EBMMODEL";
/// Current format version.
pub const FORMAT_VERSION: u32 = 1;

/// Why a model file could not be read or written. Every variant names the path.
#[derive(Debug, Error)]
pub enum ModelFileError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The file does not start with the model magic.
    #[error("{path}: not an ebm model file (bad magic)")]
    BadMagic {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by an unknown format version.
    #[error("{path}: unsupported model format version {found} (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version found in the header.
        found: u32,
    },
    /// The file holds a different kind of model.
    #[error("{path}: holds a '{found}' model, expected '{expected}'")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The kind the caller asked for.
        expected: String,
        /// The kind in the header.
        found: String,
    },
    /// The file ends before its header or payload does.
    #[error("{path}: truncated model file ({what})")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Which part is missing.
        what: &'static str,
    },
    /// The payload does not match its checksum.
    #[error("{path}: corrupted model file (checksum mismatch)")]
    Corrupted {
        /// The file.
        path: PathBuf,
    },
    /// The payload could not be decoded or encoded.
    #[error("{path}: {message}")]
    Codec {
        /// The file.
        path: PathBuf,
        /// The codec's message.
        message: String,
    },
    /// The decoded model is inconsistent (shapes disagree with data).
    #[error("{path}: invalid model: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The parsed header of a model file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u32,
    /// Model kind name.
    pub kind: String,
    /// Model shapes (meaning depends on the kind).
    pub shapes: Vec<u64>,
    /// Payload length in bytes.
    pub payload_len: u64,
    /// CRC-32 of the payload.
    pub checksum: u32,
}

fn codec_config() -> bincode::config::Configuration {
    bincode::config::standard()
}

/// Encode `payload` with its header into bytes.
pub fn encode<T: Serialize>(kind: &str, shapes: &[u64], payload: &T) -> Result<Vec<u8>, String> {
    let body = bincode::serde::encode_to_vec(payload, codec_config())
        .map_err(|e| format!("cannot encode model: {e}"))?;
    let mut out = Vec::with_capacity(body.len() + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    let kind_len = u16::try_from(kind.len()).map_err(|_| "model kind name too long".to_string())?;
    out.extend_from_slice(&kind_len.to_le_bytes());
    out.extend_from_slice(kind.as_bytes());
    let shape_count = u16::try_from(shapes.len()).map_err(|_| "too many shapes".to_string())?;
    out.extend_from_slice(&shape_count.to_le_bytes());
    for s in shapes {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// A cursor over the file bytes that reports truncation by field name.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ModelFileError> {
        if self.bytes.len() - self.pos < n {
            return Err(ModelFileError::Truncated {
                path: self.path.to_path_buf(),
                what,
            });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, ModelFileError> {
        Ok(u16::from_le_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ModelFileError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, ModelFileError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
}

/// Parse the header of `bytes` (read from `path`) and return it with the payload offset.
pub fn parse_header(path: &Path, bytes: &[u8]) -> Result<(Header, usize), ModelFileError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        path,
    };
    let magic = r
        .take(MAGIC.len(), "magic")
        .map_err(|_| ModelFileError::BadMagic {
            path: path.to_path_buf(),
        })?;
    if magic != MAGIC {
        return Err(ModelFileError::BadMagic {
            path: path.to_path_buf(),
        });
    }
    let version = r.u32("version")?;
    if version != FORMAT_VERSION {
        return Err(ModelFileError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
        });
    }
    let kind_len = r.u16("kind length")? as usize;
    let kind = String::from_utf8(r.take(kind_len, "kind")?.to_vec()).map_err(|_| {
        ModelFileError::Corrupted {
            path: path.to_path_buf(),
        }
    })?;
    let shape_count = r.u16("shape count")? as usize;
    let shapes = (0..shape_count)
        .map(|_| r.u64("shapes"))
        .collect::<Result<Vec<_>, _>>()?;
    let payload_len = r.u64("payload length")?;
    let checksum = r.u32("checksum")?;
    Ok((
        Header {
            version,
            kind,
            shapes,
            payload_len,
            checksum,
        },
        r.pos,
    ))
}

/// Decode a model of kind `expected_kind` from `bytes` (read from `path`).
pub fn decode<T: DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    expected_kind: &str,
) -> Result<(T, Vec<u64>), ModelFileError> {
    let (header, offset) = parse_header(path, bytes)?;
    if header.kind != expected_kind {
        return Err(ModelFileError::WrongKind {
            path: path.to_path_buf(),
            expected: expected_kind.to_string(),
            found: header.kind,
        });
    }
    let available = (bytes.len() - offset) as u64;
    if available < header.payload_len {
        return Err(ModelFileError::Truncated {
            path: path.to_path_buf(),
            what: "payload",
        });
    }
    if available > header.payload_len {
        return Err(ModelFileError::Corrupted {
            path: path.to_path_buf(),
        });
    }
    let body = &bytes[offset..];
    if crc32fast::hash(body) != header.checksum {
        return Err(ModelFileError::Corrupted {
            path: path.to_path_buf(),
        });
    }
    let (value, used) = bincode::serde::decode_from_slice(body, codec_config()).map_err(|e| {
        ModelFileError::Codec {
            path: path.to_path_buf(),
            message: format!("cannot decode model: {e}"),
        }
    })?;
    if used != body.len() {
        return Err(ModelFileError::Corrupted {
            path: path.to_path_buf(),
        });
    }
    Ok((value, header.shapes))
}

/// Save `payload` as a model of `kind` with `shapes` to `path`, atomically.
pub fn save<T: Serialize>(
    path: &Path,
    kind: &str,
    shapes: &[u64],
    payload: &T,
) -> Result<(), ModelFileError> {
    let bytes = encode(kind, shapes, payload).map_err(|message| ModelFileError::Codec {
        path: path.to_path_buf(),
        message,
    })?;
    crate::atomic::write_atomic(path, &bytes).map_err(|source| ModelFileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Load a model of `expected_kind` from `path`; returns the payload and the header shapes.
pub fn load<T: DeserializeOwned>(
    path: &Path,
    expected_kind: &str,
) -> Result<(T, Vec<u64>), ModelFileError> {
    let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(path, &bytes, expected_kind)
}

/// Read only the header of the model file at `path` (to learn its kind).
pub fn read_header(path: &Path) -> Result<Header, ModelFileError> {
    let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_header(path, &bytes).map(|(h, _)| h)
}

/// A model kind saved in the model file format: its kind name, its shapes, its parameter
/// blocks and its consistency rules; `save` and `load` are provided.
///
/// `load` checks, besides what [`load`] checks (magic, version, kind, length, checksum),
/// that the header shapes equal the payload's, that [`ModelFile::check`] accepts the
/// payload, and that every parameter is finite.
///
/// ```
/// use ebm_core::model_file::ModelFile;
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Line { slope: Vec<f32> }
/// impl ModelFile for Line {
///     const KIND: &'static str = "line";
///     fn shapes(&self) -> Vec<u64> { vec![self.slope.len() as u64] }
///     fn parameters(&self) -> Vec<&[f32]> { vec![&self.slope] }
/// }
/// let dir = std::env::temp_dir().join(format!("ebm-model-file-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("line.ebm");
/// Line { slope: vec![0.5, 2.0] }.save(&path).unwrap();
/// assert_eq!(Line::load(&path).unwrap().slope, vec![0.5, 2.0]);
/// Line { slope: vec![f32::NAN] }.save(&path).unwrap();
/// assert!(Line::load(&path).unwrap_err().to_string().contains("non-finite"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub trait ModelFile: Serialize + DeserializeOwned {
    /// The kind name in the header, e.g. `binary-rbm`.
    const KIND: &'static str;

    /// The shapes in the header, e.g. `[n_visible, n_hidden]`.
    fn shapes(&self) -> Vec<u64>;

    /// Every block of real parameters (checked for finiteness on load).
    fn parameters(&self) -> Vec<&[f32]>;

    /// Consistency of a decoded payload (array lengths against sizes), beyond its shapes.
    ///
    /// # Errors
    ///
    /// A message saying what disagrees.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// Save to `path` atomically.
    ///
    /// # Errors
    ///
    /// [`ModelFileError::Io`] when the file cannot be written (the previous file is then
    /// untouched), [`ModelFileError::Codec`] when the payload cannot be encoded.
    fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        save(path, Self::KIND, &self.shapes(), self)
    }

    /// Load from `path`, checking the header, the checksum, the shapes, the payload's
    /// consistency and that every parameter is finite.
    ///
    /// # Errors
    ///
    /// A [`ModelFileError`] naming the path and what is wrong.
    fn load(path: &Path) -> Result<Self, ModelFileError> {
        let bytes = std::fs::read(path).map_err(|source| ModelFileError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(path, &bytes)
    }

    /// Decode `bytes` (the contents of the file at `path`, which errors name) with every
    /// check of [`ModelFile::load`]: what `load` does once the file is read (and what the
    /// fuzz targets run on any bytes).
    ///
    /// # Errors
    ///
    /// A [`ModelFileError`] naming the path and what is wrong.
    fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self, ModelFileError> {
        let (model, shapes): (Self, _) = decode(path, bytes, Self::KIND)?;
        let invalid = |message: String| ModelFileError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        model.check().map_err(invalid)?;
        if shapes != model.shapes() {
            return Err(invalid(format!(
                "header shapes {shapes:?} disagree with the payload's {:?}",
                model.shapes()
            )));
        }
        if model
            .parameters()
            .iter()
            .any(|block| block.iter().any(|p| !p.is_finite()))
        {
            return Err(invalid("non-finite parameters".into()));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Demo {
        weights: Vec<f32>,
        name: String,
    }

    fn demo() -> Demo {
        Demo {
            weights: vec![0.5, -1.25, 3.0],
            name: "x".into(),
        }
    }

    #[test]
    fn round_trips() {
        let bytes = encode("demo", &[3, 1], &demo()).unwrap();
        let (d, shapes): (Demo, _) = decode(Path::new("m"), &bytes, "demo").unwrap();
        assert_eq!(d, demo());
        assert_eq!(shapes, vec![3, 1]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = encode("demo", &[3, 1], &demo()).unwrap();
        for len in 0..bytes.len() {
            let err = decode::<Demo>(Path::new("m"), &bytes[..len], "demo").unwrap_err();
            assert!(
                matches!(
                    err,
                    ModelFileError::Truncated { .. } | ModelFileError::BadMagic { .. }
                ),
                "len {len}: {err}"
            );
        }
    }

    #[test]
    fn flipped_payload_byte_is_detected() {
        let mut bytes = encode("demo", &[3, 1], &demo()).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x40;
        let err = decode::<Demo>(Path::new("m"), &bytes, "demo").unwrap_err();
        assert!(matches!(err, ModelFileError::Corrupted { .. }), "{err}");
    }

    #[test]
    fn wrong_kind_and_magic_and_version_are_named() {
        let mut bytes = encode("demo", &[], &demo()).unwrap();
        let err = decode::<Demo>(Path::new("model.ebm"), &bytes, "other").unwrap_err();
        assert_eq!(
            err.to_string(),
            "model.ebm: holds a 'demo' model, expected 'other'"
        );
        bytes[8] = 9;
        assert!(matches!(
            decode::<Demo>(Path::new("m"), &bytes, "demo"),
            Err(ModelFileError::UnsupportedVersion { found: 9, .. })
        ));
        assert!(matches!(
            decode::<Demo>(Path::new("m"), b"PNG....", "demo"),
            Err(ModelFileError::BadMagic { .. })
        ));
    }
}
