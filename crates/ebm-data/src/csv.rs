//! Delimited text tables: CSV, TSV, semicolon- or whitespace-separated numbers.
//!
//! One row a line (blank lines are skipped), every row with the same number of fields,
//! every field a finite number, except an optional header line of column names and an
//! optional label column of class labels (integers in `0..=255`). Fields may be quoted
//! with `"` (a doubled `""` inside is one quote); spaces around fields are ignored. A
//! refused row is reported with its line and column (both counted from 1).
//!
//! ```
//! use ebm_data::csv::{ColumnRef, CsvOptions, parse};
//! use std::path::Path;
//! let options = CsvOptions { label_column: Some(ColumnRef::Name("digit".into())), ..CsvOptions::default() };
//! let data = parse(Path::new("d.csv"), "a,b,digit\n0.5,1,7\n0,0.25,3\n", &options).unwrap();
//! assert_eq!((data.n_examples, data.n_features), (2, 2));
//! assert_eq!(data.features, vec![0.5, 1.0, 0.0, 0.25]);
//! assert_eq!(data.labels, Some(vec![7, 3]));
//! ```

use crate::array::{LABEL_RULE, class_label, malformed};
use crate::escape::quote;
use crate::{DataError, Dataset, idx};
use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;

/// The delimiters [`parse`] tries when none is given, most frequent on the first row wins;
/// a row with none of them but with spaces is split on runs of whitespace.
pub const SNIFFED_DELIMITERS: [char; 3] = [',', '\t', ';'];

/// Most column names quoted in the message for a label column not found.
const NAMES_SHOWN: usize = 8;

/// A column of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnRef {
    /// By position, counted from 0.
    Index(usize),
    /// By its name in the header line.
    Name(String),
    /// The last column.
    Last,
}

impl FromStr for ColumnRef {
    type Err = String;
    /// Digits are an index counted from 0, `last` or `-1` is the last column, anything
    /// else (non-empty) is a name.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" => Err("the label column is empty (give a name, an index from 0, or 'last')".into()),
            "last" | "-1" => Ok(ColumnRef::Last),
            _ if s.bytes().all(|b| b.is_ascii_digit()) => s
                .parse()
                .map(ColumnRef::Index)
                .map_err(|_| format!("label column index {s} is too large")),
            _ => Ok(ColumnRef::Name(s.to_string())),
        }
    }
}

impl std::fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnRef::Index(i) => write!(f, "index {i} (from 0)"),
            ColumnRef::Name(name) => write!(f, "{}", quote(name)),
            ColumnRef::Last => write!(f, "last"),
        }
    }
}

/// Whether the first line names the columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeaderMode {
    /// A header when any field of the first line is not a number.
    #[default]
    Detect,
    /// The first line is a header.
    Present,
    /// There is no header: the first line is data.
    Absent,
}

/// How to read a table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// The field separator; `None` sniffs it (see [`SNIFFED_DELIMITERS`]); `' '` splits on
    /// runs of spaces and tabs (as `numpy.savetxt` writes).
    pub delimiter: Option<char>,
    /// Whether the first line is a header.
    pub header: HeaderMode,
    /// The column holding class labels, removed from the features.
    pub label_column: Option<ColumnRef>,
}

/// The delimiter of a table whose first row is `line` (counted outside quotes).
fn sniff_delimiter(line: &str) -> char {
    let mut quoted = false;
    let mut counts = [0usize; SNIFFED_DELIMITERS.len()];
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = SNIFFED_DELIMITERS.iter().position(|&d| d == c) {
            counts[i] += 1;
        }
    }
    match (0..counts.len()).max_by_key(|&i| (counts[i], usize::MAX - i)) {
        Some(i) if counts[i] > 0 => SNIFFED_DELIMITERS[i],
        _ if line.trim().contains([' ', '\t']) => ' ',
        _ => ',',
    }
}

/// The fields of `line` split at `delimiter` into `out`, quotes removed; or what is wrong.
fn split<'a>(line: &'a str, delimiter: char, out: &mut Vec<Cow<'a, str>>) -> Result<(), String> {
    out.clear();
    if delimiter == ' ' {
        out.extend(line.split_whitespace().map(Cow::Borrowed));
        return Ok(());
    }
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"') {
            let mut field = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    None => return Err(format!("column {}: a quote is not closed", out.len() + 1)),
                    Some((i, '"')) if quoted[i + 1..].starts_with('"') => {
                        field.push('"');
                        chars.next();
                    }
                    Some((i, '"')) => break i + 1,
                    Some((_, c)) => field.push(c),
                }
            };
            out.push(Cow::Owned(field));
            let after = quoted[end..].trim_start();
            match after.strip_prefix(delimiter) {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(()),
                None => return Err(format!("column {}: text after a closing quote", out.len())),
            }
        } else {
            match rest.split_once(delimiter) {
                Some((field, next)) => {
                    out.push(Cow::Borrowed(field.trim()));
                    rest = next;
                }
                None => {
                    out.push(Cow::Borrowed(rest.trim()));
                    return Ok(());
                }
            }
        }
    }
}

fn is_number(field: &str) -> bool {
    field.parse::<f32>().is_ok()
}

/// Parse table `text` read from `path` (used in messages only) into rows, as `options`
/// say. Without a label column the rows have no labels; values keep their scale.
///
/// # Errors
///
/// [`DataError::Malformed`] naming `path`, with the line (and column) where it applies:
/// no rows, a row with a different number of fields than the first, a field that is not
/// a finite number, a label that is not a class label, an unclosed quote, or a label
/// column that does not exist (by name when there is no header, or not among the
/// names).
pub fn parse(path: &Path, text: &str, options: &CsvOptions) -> Result<Dataset, DataError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((first_number, first)) = lines.next() else {
        return Err(malformed(path, "no rows: the file is empty"));
    };
    let delimiter = options.delimiter.unwrap_or_else(|| sniff_delimiter(first));
    let at = |number: usize, message: String| malformed(path, format!("line {number}: {message}"));
    let mut fields = Vec::new();
    split(first, delimiter, &mut fields).map_err(|e| at(first_number, e))?;
    let width = fields.len();
    let has_header = match options.header {
        HeaderMode::Present => true,
        HeaderMode::Absent => false,
        HeaderMode::Detect => !fields.iter().all(|f| is_number(f)),
    };
    let names: Option<Vec<String>> =
        has_header.then(|| fields.iter().map(|f| f.to_string()).collect());
    let label = match &options.label_column {
        None => None,
        Some(column) => Some(resolve(path, column, width, names.as_deref())?),
    };
    let describe = |column: usize| match &names {
        Some(names) => format!("column {} ({})", column + 1, quote(&names[column])),
        None => format!("column {}", column + 1),
    };
    let mut features = Vec::new();
    let mut labels = Vec::new();
    let mut rows = 0usize;
    let mut row = |number: usize, fields: &[Cow<str>]| -> Result<(), DataError> {
        if fields.len() != width {
            return Err(at(
                number,
                format!(
                    "{} fields, but line {first_number} has {width} (every row needs the same number)",
                    fields.len()
                ),
            ));
        }
        for (column, field) in fields.iter().enumerate() {
            if Some(column) == label {
                let value = field.parse::<f64>().ok().and_then(class_label);
                labels.push(value.ok_or_else(|| {
                    at(
                        number,
                        format!(
                            "{} is {}, not a class label ({LABEL_RULE})",
                            describe(column),
                            quote(field)
                        ),
                    )
                })?);
            } else {
                let value = field.parse::<f32>().ok().filter(|v| v.is_finite());
                features.push(value.ok_or_else(|| {
                    at(
                        number,
                        format!(
                            "{} is {}, not a finite number",
                            describe(column),
                            quote(field)
                        ),
                    )
                })?);
            }
        }
        rows += 1;
        Ok(())
    };
    if !has_header {
        row(first_number, &fields)?;
    }
    for (number, line) in lines {
        split(line, delimiter, &mut fields).map_err(|e| at(number, e))?;
        row(number, &fields)?;
    }
    if rows == 0 {
        return Err(malformed(path, "no rows: the file has only a header line"));
    }
    Ok(Dataset {
        features,
        n_examples: rows,
        n_features: width - usize::from(label.is_some()),
        image_shape: None,
        labels: label.map(|_| labels),
    })
}

/// The index of `column` in rows of `width` fields, whose header (if any) is `names`.
fn resolve(
    path: &Path,
    column: &ColumnRef,
    width: usize,
    names: Option<&[String]>,
) -> Result<usize, DataError> {
    match column {
        ColumnRef::Last => Ok(width - 1),
        ColumnRef::Index(i) if *i < width => Ok(*i),
        ColumnRef::Index(i) => Err(malformed(
            path,
            format!("label column index {i} (from 0), but the rows have {width} columns"),
        )),
        ColumnRef::Name(name) => {
            let Some(names) = names else {
                return Err(malformed(
                    path,
                    format!(
                        "label column {} is a name, but the file has no header line (give its index from 0)",
                        quote(name)
                    ),
                ));
            };
            names.iter().position(|n| n == name).ok_or_else(|| {
                let shown: Vec<String> = names.iter().take(NAMES_SHOWN).map(|n| quote(n)).collect();
                let more = if names.len() > NAMES_SHOWN {
                    ", ..."
                } else {
                    ""
                };
                malformed(
                    path,
                    format!(
                        "no column named {} (the header has {}{more})",
                        quote(name),
                        shown.join(", ")
                    ),
                )
            })
        }
    }
}

/// Read the table at `path` (raw or gzipped UTF-8 text), as [`parse`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read, [`DataError::Malformed`] when it is not
/// UTF-8; else as [`parse`].
pub fn read(path: &Path, options: &CsvOptions) -> Result<Dataset, DataError> {
    let bytes = idx::read_maybe_gzip(path)?;
    parse(path, text_of(path, &bytes)?, options)
}

/// `bytes` of the file at `path` as UTF-8 text.
pub(crate) fn text_of<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, DataError> {
    std::str::from_utf8(bytes).map_err(|e| {
        malformed(
            path,
            format!(
                "not UTF-8 text (at byte {}): expected a text table",
                e.valid_up_to()
            ),
        )
    })
}

/// Parse a labels file's `text`: one class label a line (a single-column table, with
/// or without a header line).
///
/// # Errors
///
/// As [`parse`]; also a file with more than one column.
pub fn parse_labels(path: &Path, text: &str) -> Result<Vec<u8>, DataError> {
    let options = CsvOptions {
        label_column: Some(ColumnRef::Index(0)),
        ..CsvOptions::default()
    };
    let data = parse(path, text, &options)?;
    if data.n_features != 0 {
        return Err(malformed(
            path,
            format!(
                "a labels file has one column, this one has {}",
                data.n_features + 1
            ),
        ));
    }
    Ok(data.labels.unwrap_or_default())
}

/// Read the labels file at `path` (raw or gzipped), as [`parse_labels`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; else as [`parse_labels`].
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = idx::read_maybe_gzip(path)?;
    parse_labels(path, text_of(path, &bytes)?)
}

/// `data` as comma-separated text with a header line (`x1,...,xd`, then `label` when the
/// rows have labels), one row a line; values printed exactly (shortest round-trip form).
pub fn encode(data: &Dataset) -> String {
    let mut names: Vec<String> = (1..=data.n_features).map(|j| format!("x{j}")).collect();
    if data.labels.is_some() {
        names.push("label".into());
    }
    let mut out = names.join(",");
    out.push('\n');
    for i in 0..data.n_examples {
        let mut fields: Vec<String> = data.row(i).iter().map(f32::to_string).collect();
        if let Some(labels) = &data.labels {
            fields.push(labels[i].to_string());
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
