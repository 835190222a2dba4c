//! svmlight / libsvm sparse files, read into dense rows.
//!
//! One example a line: `label index:value index:value ... # comment`. Indices are
//! **1-based** (as libsvm and svmlight write them; index 0 is refused) and strictly
//! increasing within a line; absent features are 0. A `qid:N` token (ranking files) is
//! skipped; blank lines and `#` comments are ignored. Labels are class labels, integers
//! in `0..=255`, except that a file whose labels are all `-1` or `+1` (the binary
//! convention) reads them as 0 and 1.
//!
//! The rows are made dense, so the matrix is bounded by the file: at most
//! [`MAX_DENSE_VALUES_PER_BYTE`] values for each byte of the file (a density of about
//! one feature in 50 or more). A file declaring index 4000000000 on one short line is
//! refused before anything is allocated.
//!
//! ```
//! use ebm_data::svmlight::{SvmlightOptions, parse};
//! use std::path::Path;
//! let data = parse(Path::new("a.svm"), "1 1:0.5 3:1\n0 2:1\n", &SvmlightOptions::default()).unwrap();
//! assert_eq!((data.n_examples, data.n_features), (2, 3));
//! assert_eq!(data.features, vec![0.5, 0.0, 1.0, 0.0, 1.0, 0.0]);
//! assert_eq!(data.labels, Some(vec![1, 0]));
//! ```

use crate::array::{LABEL_RULE, class_label, malformed};
use crate::bounded::{self, Bound};
use crate::escape::quote;
use crate::{DataError, Dataset, idx};
use std::path::Path;

/// Most values of the dense matrix each byte of the file may back.
pub const MAX_DENSE_VALUES_PER_BYTE: usize = 8;

/// How to read an svmlight file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SvmlightOptions {
    /// The number of features; `None` takes the largest index in the file (give it so
    /// that a test file whose last features are all zero has the training file's width).
    pub n_features: Option<usize>,
}

/// The sparse rows of a file, before they are made dense.
struct Sparse {
    starts: Vec<usize>,
    indices: Vec<usize>,
    values: Vec<f32>,
    labels: Vec<(usize, f64)>,
    /// The largest index and the line it is on.
    widest: Option<(usize, usize)>,
}

fn parse_sparse(path: &Path, text: &str) -> Result<Sparse, DataError> {
    let mut sparse = Sparse {
        starts: vec![0],
        indices: Vec::new(),
        values: Vec::new(),
        labels: Vec::new(),
        widest: None,
    };
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        let at = |field: usize, message: String| {
            malformed(path, format!("line {number}, field {field}: {message}"))
        };
        let data = line.split('#').next().unwrap_or_default();
        let mut tokens = data.split_whitespace();
        let Some(label) = tokens.next() else { continue };
        let value = label.parse::<f64>().ok().filter(|v| v.is_finite());
        let value = value.ok_or_else(|| {
            let why = if label.contains(',') {
                "multi-label rows are not supported".to_string()
            } else {
                LABEL_RULE.to_string()
            };
            at(
                1,
                format!("the label {} is not a number ({why})", quote(label)),
            )
        })?;
        sparse.labels.push((number, value));
        let mut previous = 0usize;
        for (k, token) in tokens.enumerate() {
            let field = k + 2;
            let Some((index, value)) = token.split_once(':') else {
                return Err(at(field, format!("{} is not index:value", quote(token))));
            };
            if index == "qid" {
                continue;
            }
            let index = index.parse::<usize>().map_err(|_| {
                at(
                    field,
                    format!("the index {} is not a whole number", quote(index)),
                )
            })?;
            if index == 0 {
                return Err(at(
                    field,
                    "feature index 0, but indices are 1-based (the first feature is 1)".into(),
                ));
            }
            if index <= previous {
                return Err(at(
                    field,
                    format!(
                        "feature index {index} after {previous} (indices must increase along a line)"
                    ),
                ));
            }
            previous = index;
            let value = value.parse::<f32>().ok().filter(|v| v.is_finite());
            let value = value.ok_or_else(|| {
                at(
                    field,
                    format!("the value in {} is not a finite number", quote(token)),
                )
            })?;
            sparse.indices.push(index - 1);
            sparse.values.push(value);
        }
        if previous > 0 && sparse.widest.is_none_or(|(w, _)| previous > w) {
            sparse.widest = Some((previous, number));
        }
        sparse.starts.push(sparse.indices.len());
    }
    Ok(sparse)
}

/// Class labels from the file's numbers: as they are when all are class labels, else
/// `-1`/`+1` as 0/1 when all are one of those.
fn class_labels(path: &Path, labels: &[(usize, f64)]) -> Result<Vec<u8>, DataError> {
    let plus_minus = labels.iter().all(|&(_, v)| v == 1.0 || v == -1.0);
    if plus_minus {
        return Ok(labels.iter().map(|&(_, v)| u8::from(v == 1.0)).collect());
    }
    labels
        .iter()
        .map(|&(line, v)| {
            class_label(v).ok_or_else(|| {
                malformed(
                    path,
                    format!("line {line}, field 1: the label {v} is not a class label ({LABEL_RULE}; labels all -1 or +1 read as 0 and 1)"),
                )
            })
        })
        .collect()
}

/// Parse svmlight `text` read from `path` (used in messages only) into dense rows with
/// labels.
///
/// # Errors
///
/// [`DataError::Malformed`] naming `path` (and the line and field where it applies): no
/// rows, a token that is not `index:value`, index 0 or decreasing indices, a value that
/// is not a finite number, a label that is not a class label, an index beyond
/// `options.n_features`, or a dense matrix larger than the file backs (see
/// [`MAX_DENSE_VALUES_PER_BYTE`]).
pub fn parse(path: &Path, text: &str, options: &SvmlightOptions) -> Result<Dataset, DataError> {
    let sparse = parse_sparse(path, text)?;
    let rows = sparse.labels.len();
    if rows == 0 {
        return Err(malformed(path, "no rows: the file has no examples"));
    }
    let widest = sparse.widest.map_or(0, |(w, _)| w);
    let n_features = match (options.n_features, sparse.widest) {
        (Some(n), Some((w, line))) if w > n => {
            return Err(malformed(
                path,
                format!("line {line}: feature index {w}, beyond the {n} features given"),
            ));
        }
        (Some(n), _) => n,
        (None, _) => widest,
    };
    let cells = (rows as u64).saturating_mul(n_features as u64);
    let cells = bounded::capacity(
        path,
        &format!("the number of values in the dense matrix ({rows} rows x {n_features} features)"),
        cells,
        Bound::spread(text.len(), MAX_DENSE_VALUES_PER_BYTE, "bytes"),
    )?;
    let mut features = vec![0.0f32; cells];
    for (row, bounds) in sparse.starts.windows(2).enumerate() {
        let dense = &mut features[row * n_features..(row + 1) * n_features];
        for k in bounds[0]..bounds[1] {
            dense[sparse.indices[k]] = sparse.values[k];
        }
    }
    Ok(Dataset {
        features,
        n_examples: rows,
        n_features,
        image_shape: None,
        labels: Some(class_labels(path, &sparse.labels)?),
    })
}

/// Read the svmlight file at `path` (raw or gzipped), as [`parse`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read, [`DataError::Malformed`] when it is not
/// UTF-8; else as [`parse`].
pub fn read(path: &Path, options: &SvmlightOptions) -> Result<Dataset, DataError> {
    let bytes = idx::read_maybe_gzip(path)?;
    parse(path, crate::csv::text_of(path, &bytes)?, options)
}

/// Whether `line` (the first line with data) looks like svmlight: a label, then
/// `index:value` tokens.
pub(crate) fn looks_like(line: &str) -> bool {
    let mut tokens = line
        .split('#')
        .next()
        .unwrap_or_default()
        .split_whitespace();
    let label = tokens.next().is_some_and(|t| t.parse::<f64>().is_ok());
    let mut features = tokens.peekable();
    label
        && features.peek().is_some()
        && features.all(|t| {
            t.split_once(':').is_some_and(|(i, v)| {
                (i == "qid" || i.parse::<u64>().is_ok()) && v.parse::<f64>().is_ok()
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("s.svm")
    }

    fn err(text: &str, n_features: Option<usize>) -> String {
        let e = parse(p(), text, &SvmlightOptions { n_features })
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.svm: ") && !e.contains('\n'), "{e}");
        e
    }

    #[test]
    fn sparse_rows_become_dense_with_labels() {
        let text = "# a comment\n3 qid:1 1:1 4:0.25 # trailing\n\n0 2:1\n";
        let d = parse(p(), text, &SvmlightOptions::default()).unwrap();
        assert_eq!((d.n_examples, d.n_features), (2, 4));
        assert_eq!(d.features, vec![1.0, 0.0, 0.0, 0.25, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(d.labels, Some(vec![3, 0]));
        let wide = parse(
            p(),
            text,
            &SvmlightOptions {
                n_features: Some(6),
            },
        )
        .unwrap();
        assert_eq!(wide.n_features, 6);
        assert_eq!(wide.row(1), &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
        let pm = parse(p(), "+1 1:1\n-1 1:2\n", &SvmlightOptions::default()).unwrap();
        assert_eq!(pm.labels, Some(vec![1, 0]));
        let empty_row = parse(p(), "1\n2 1:1\n", &SvmlightOptions::default()).unwrap();
        assert_eq!(empty_row.features, vec![0.0, 1.0]);
    }

    #[test]
    fn malformed_lines_name_line_and_field() {
        assert_eq!(
            err("1 1:1\n1 0:1\n", None),
            "s.svm: line 2, field 2: feature index 0, but indices are 1-based (the first feature is 1)"
        );
        assert!(err("1 3:1 2:1\n", None).contains("line 1, field 3: feature index 2 after 3"));
        assert!(err("1 3:1 3:1\n", None).contains("index 3 after 3"));
        assert!(err("1 3\n", None).contains("'3' is not index:value"));
        assert!(err("1 x:1\n", None).contains("the index 'x'"));
        assert!(err("1 1:nan\n", None).contains("not a finite number"));
        assert!(err("cat 1:1\n", None).contains("the label 'cat' is not a number"));
        assert!(err("1,2 1:1\n", None).contains("multi-label"));
        assert!(
            err("2.5 1:1\n", None).contains("line 1, field 1: the label 2.5 is not a class label")
        );
        assert!(err("-1 1:1\n2 1:1\n", None).contains("the label -1"));
        assert_eq!(
            err("1 1:1\n1 9:1\n", Some(4)),
            "s.svm: line 2: feature index 9, beyond the 4 features given"
        );
        assert!(err("# only a comment\n", None).contains("no rows"));
    }

    #[test]
    fn absurd_feature_counts_are_refused_before_allocating() {
        let e = err("1 4000000000:1\n", None);
        assert_eq!(
            e,
            "s.svm: the number of values in the dense matrix (1 rows x 4000000000 features) is 4000000000, but the file holds only 15 bytes and each backs at most 8"
        );
        assert!(err("1 1:1\n", Some(1 << 40)).contains("dense matrix"));
        assert!(err("1 99999999999999999999999:1\n", None).contains("not a whole number"));
    }

    #[test]
    fn sniffing_lines() {
        assert!(looks_like("1 1:0.5 7:1"));
        assert!(looks_like("-1 qid:3 2:1 # x"));
        assert!(!looks_like("1,2,3"));
        assert!(!looks_like("1"));
        assert!(!looks_like("a 1:1"));
    }
}
