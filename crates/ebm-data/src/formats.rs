//! A user's data file of any supported format as a [`Dataset`]: the format sniffed from
//! content and name (or given), labels from a column of it or from a separate file.
//!
//! The format is, in this order: the one given in [`ReadOptions::format`]; the one the
//! content's magic names (`\x93NUMPY` for `.npy`, `00 00 <type> <ndims>` with matching
//! dimensions for IDX; a gzip stream is unpacked first); the one the name's extension
//! names (`.npy`; `.csv`, `.tsv`; `.svm`, `.svmlight`, `.libsvm`; `.idx`, `*-ubyte`; a
//! final `.gz` is ignored); else svmlight when the first line with data is a label and
//! `index:value` pairs, else a CSV table. Values keep their scale in every format
//! (binarization and scaling are the caller's choice).

use crate::array::malformed;
use crate::csv::{self, ColumnRef, CsvOptions, HeaderMode};
use crate::svmlight::{self, SvmlightOptions};
use crate::{DataError, Dataset, idx, npy};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A data file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NumPy `.npy` ([`crate::npy`]).
    Npy,
    /// Delimited text: CSV, TSV, semicolons, whitespace ([`crate::csv`]).
    Csv,
    /// svmlight / libsvm sparse text ([`crate::svmlight`]).
    Svmlight,
    /// IDX, the MNIST family's format ([`crate::idx`]).
    Idx,
}

impl Format {
    /// Every format, in the order their names are listed in messages.
    pub const ALL: [Format; 4] = [Format::Npy, Format::Csv, Format::Svmlight, Format::Idx];

    /// The name [`Format::from_str`] takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Npy => "npy",
            Format::Csv => "csv",
            Format::Svmlight => "svmlight",
            Format::Idx => "idx",
        }
    }

    /// The format the content's magic bytes name (`bytes` already unpacked from gzip).
    pub fn from_magic(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(npy::MAGIC) {
            Some(Format::Npy)
        } else if idx::looks_like(bytes) {
            Some(Format::Idx)
        } else {
            None
        }
    }

    /// The format the extension of `path` names (a final `.gz` is ignored).
    pub fn from_extension(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let extension = name.rsplit_once('.').map_or("", |(_, e)| e);
        match extension {
            "npy" => Some(Format::Npy),
            "csv" | "tsv" => Some(Format::Csv),
            "svm" | "svmlight" | "libsvm" => Some(Format::Svmlight),
            "idx" => Some(Format::Idx),
            _ if name.ends_with("-ubyte") => Some(Format::Idx),
            _ => None,
        }
    }

    /// The format of the file at `path` whose (unpacked) content is `bytes`: magic, then
    /// extension, then the first line with data (svmlight or else CSV).
    pub fn sniff(path: &Path, bytes: &[u8]) -> Format {
        if let Some(format) = Format::from_magic(bytes).or_else(|| Format::from_extension(path)) {
            return format;
        }
        let head = &bytes[..bytes.len().min(1 << 16)];
        let text = String::from_utf8_lossy(head);
        let first = text
            .lines()
            .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        match first {
            Some(line) if svmlight::looks_like(line) => Format::Svmlight,
            _ => Format::Csv,
        }
    }
}

impl FromStr for Format {
    type Err = String;
    /// `npy`, `csv` (or `tsv`, `txt`), `svmlight` (or `libsvm`, `svm`), `idx`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "npy" => Ok(Format::Npy),
            "csv" | "tsv" | "txt" => Ok(Format::Csv),
            "svmlight" | "libsvm" | "svm" => Ok(Format::Svmlight),
            "idx" => Ok(Format::Idx),
            _ => {
                let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                Err(format!(
                    "unknown format {} (expected {})",
                    crate::escape::quote(s),
                    names.join(", ")
                ))
            }
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the labels come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LabelSource {
    /// No labels (an svmlight file still has its own).
    #[default]
    None,
    /// A column of the data file, removed from the features (for `.npy` and IDX by
    /// index only: they have no column names).
    Column(ColumnRef),
    /// A separate file, one label per row: `.npy` or IDX of one dimension, or text with
    /// one label a line (a single CSV column, with or without a header).
    File(PathBuf),
}

/// How to read a data file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The format; `None` sniffs it (see the [module](self) documentation).
    pub format: Option<Format>,
    /// Where the labels come from.
    pub labels: LabelSource,
    /// The format of a labels file; `None` sniffs it.
    pub labels_format: Option<Format>,
    /// CSV: the field separator (`None` sniffs it; see [`CsvOptions::delimiter`]).
    pub delimiter: Option<char>,
    /// CSV: whether the first line is a header.
    pub header: HeaderMode,
    /// svmlight: the number of features (`None`: the largest index in the file).
    pub n_features: Option<usize>,
}

/// Read the data file at `path` (raw or gzipped) as rows, with labels as `options`
/// say.
///
/// ```
/// use ebm_data::csv::ColumnRef;
/// use ebm_data::formats::{LabelSource, ReadOptions, read};
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("table.csv");
/// std::fs::write(&path, "x1,x2,y\n0,1,1\n1,0,0\n").unwrap();
/// let options = ReadOptions {
///     labels: LabelSource::Column(ColumnRef::Name("y".into())),
///     ..ReadOptions::default()
/// };
/// let data = read(&path, &options).unwrap();
/// assert_eq!((data.n_examples, data.n_features), (2, 2));
/// assert_eq!(data.labels, Some(vec![1, 0]));
/// ```
///
/// # Errors
///
/// [`DataError::Io`] when a file cannot be read; [`DataError::Malformed`] naming the
/// file at fault (the data file or the labels file) with what is wrong, as each
/// format's reader says; also a label column by name in a format without names, a
/// label column for svmlight (its labels are each line's first field), or a labels
/// file whose count differs from the rows.
pub fn read(path: &Path, options: &ReadOptions) -> Result<Dataset, DataError> {
    let bytes = idx::read_maybe_gzip(path)?;
    let format = options
        .format
        .unwrap_or_else(|| Format::sniff(path, &bytes));
    let column = match &options.labels {
        LabelSource::Column(c) => Some(c.clone()),
        _ => None,
    };
    let mut data = match format {
        Format::Npy => npy::parse(path, &bytes)?,
        Format::Idx => idx::parse_dataset(path, &bytes)?,
        Format::Csv => {
            let csv_options = CsvOptions {
                delimiter: options.delimiter,
                header: options.header,
                label_column: column.clone(),
            };
            return with_file_labels(
                csv::parse(path, csv::text_of(path, &bytes)?, &csv_options)?,
                options,
            );
        }
        Format::Svmlight => {
            if let Some(c) = &column {
                return Err(malformed(
                    path,
                    format!(
                        "label column {c} given, but an svmlight file's labels are the first field of each line"
                    ),
                ));
            }
            let svm = SvmlightOptions {
                n_features: options.n_features,
            };
            return with_file_labels(
                svmlight::parse(path, csv::text_of(path, &bytes)?, &svm)?,
                options,
            );
        }
    };
    if let Some(c) = column {
        let index = match c {
            ColumnRef::Index(i) => i,
            ColumnRef::Last if data.n_features > 0 => data.n_features - 1,
            ColumnRef::Last => {
                return Err(malformed(
                    path,
                    "the label column is the last, but the rows have no columns",
                ));
            }
            ColumnRef::Name(name) => {
                return Err(malformed(
                    path,
                    format!(
                        "label column {} is a name, but {format} files have no column names (give its index from 0)",
                        crate::escape::quote(&name)
                    ),
                ));
            }
        };
        data.take_label_column(path, index)?;
    }
    with_file_labels(data, options)
}

/// `data` with the labels of `options.labels` when that is a file.
fn with_file_labels(mut data: Dataset, options: &ReadOptions) -> Result<Dataset, DataError> {
    if let LabelSource::File(labels_path) = &options.labels {
        let labels = read_labels(labels_path, options.labels_format)?;
        data.set_labels(labels_path, labels)?;
    }
    Ok(data)
}

/// Read a labels file (raw or gzipped): `.npy` or IDX of one dimension (or one
/// column), text with one label a line (a single CSV column, a header line allowed), or
/// the labels of an svmlight file; `format` as given or sniffed.
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; [`DataError::Malformed`] naming it when it
/// is not one column of class labels (integers in `0..=255`).
pub fn read_labels(path: &Path, format: Option<Format>) -> Result<Vec<u8>, DataError> {
    let bytes = idx::read_maybe_gzip(path)?;
    match format.unwrap_or_else(|| Format::sniff(path, &bytes)) {
        Format::Npy => npy::parse_labels(path, &bytes),
        Format::Idx => idx::parse_labels(path, &bytes),
        Format::Csv => csv::parse_labels(path, csv::text_of(path, &bytes)?),
        Format::Svmlight => {
            let data = svmlight::parse(
                path,
                csv::text_of(path, &bytes)?,
                &SvmlightOptions::default(),
            )?;
            Ok(data.labels.unwrap_or_default())
        }
    }
}

#[cfg(test)]
#[path = "formats_tests.rs"]
mod tests;
