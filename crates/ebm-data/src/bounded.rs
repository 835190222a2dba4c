//! Counts read from a file become allocation sizes only here.
//!
//! A reader that finds a count in a file (a number of variables, a table size, a vertex
//! count, an array dimension) passes it to [`capacity`] with the [`Bound`] that backs it:
//! what the file itself still holds (so the count is matched by data actually present), a
//! limit the reader documents, or either. A count beyond its bound is refused with a
//! one-line [`DataError::Malformed`] naming the file and the count, before anything is
//! allocated, so a 15-byte file can never ask for terabytes.
//!
//! ```
//! use ebm_data::bounded::{Bound, capacity};
//! use std::path::Path;
//! let path = Path::new("m.uai.evid");
//! // 3 pairs need 6 numbers; the file holds 6: accepted.
//! assert_eq!(capacity(path, "the number of evidence variables", 3, Bound::file(6, 2, "numbers")).unwrap(), 3);
//! // 99999999999 pairs from a file holding 2 numbers: refused, nothing allocated.
//! let e = capacity(path, "the number of evidence variables", 99_999_999_999, Bound::file(2, 2, "numbers"));
//! assert!(e.unwrap_err().to_string().starts_with("m.uai.evid: the number of evidence variables is 99999999999"));
//! ```

use crate::DataError;
use std::path::Path;

/// What backs a count read from a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// `(available, per_item, unit)`: the file still holds `available` units and each
    /// counted item needs at least `per_item` of them.
    file: Option<(u64, u64, &'static str)>,
    /// `(available, per_unit, unit)`: the file holds `available` units and each backs at
    /// most `per_unit` counted items (a dense matrix filled from a sparse file).
    spread: Option<(u64, u64, &'static str)>,
    /// A limit documented by the reader.
    stated: Option<u64>,
}

impl Bound {
    /// Backed by the file: it still holds `available` `unit`s (bytes, numbers, lines) and
    /// each counted item needs at least `per_item` of them (0 is treated as 1).
    pub fn file(available: usize, per_item: usize, unit: &'static str) -> Self {
        Self {
            file: Some((available as u64, per_item.max(1) as u64, unit)),
            spread: None,
            stated: None,
        }
    }

    /// Backed by the file at a ratio: it holds `available` `unit`s and each backs at most
    /// `per_unit` counted items (the cells of a dense matrix that a sparse file fills).
    pub fn spread(available: usize, per_unit: usize, unit: &'static str) -> Self {
        Self {
            file: None,
            spread: Some((available as u64, per_unit as u64, unit)),
            stated: None,
        }
    }

    /// Within a limit the reader documents.
    pub fn stated(max: usize) -> Self {
        Self {
            file: None,
            spread: None,
            stated: Some(max as u64),
        }
    }

    /// Also accept counts up to `max` (a documented limit) when the file does not back
    /// them: the bound is whichever allows more.
    pub fn or_stated(self, max: usize) -> Self {
        Self {
            stated: Some(max as u64),
            ..self
        }
    }

    /// The largest count this bound accepts.
    pub fn max(&self) -> u64 {
        let file = self
            .file
            .map_or(0, |(available, per_item, _)| available / per_item);
        let spread = self.spread.map_or(0, |(available, per_unit, _)| {
            available.saturating_mul(per_unit)
        });
        file.max(spread).max(self.stated.unwrap_or(0))
    }

    fn describe(&self) -> String {
        let file = self.file.map(|(available, per_item, unit)| {
            if per_item == 1 {
                format!("the file holds only {available} {unit}")
            } else {
                format!("the file holds only {available} {unit} and each needs {per_item}")
            }
        });
        let file = file.or_else(|| {
            self.spread.map(|(available, per_unit, unit)| {
                format!("the file holds only {available} {unit} and each backs at most {per_unit}")
            })
        });
        match (file, self.stated) {
            (Some(file), Some(max)) => format!("{file} and the limit beyond that is {max}"),
            (Some(file), None) => file,
            (None, Some(max)) => format!("the limit is {max}"),
            (None, None) => "nothing backs it".into(),
        }
    }
}

/// `count` (read from the file at `path`, described by `what`) as an allocation size,
/// when `bound` backs it; else a one-line error naming the file, `what` and the count.
pub fn capacity(path: &Path, what: &str, count: u64, bound: Bound) -> Result<usize, DataError> {
    if count <= bound.max()
        && let Ok(n) = usize::try_from(count)
    {
        return Ok(n);
    }
    Err(DataError::Malformed {
        path: path.to_path_buf(),
        message: format!("{what} is {count}, but {}", bound.describe()),
    })
}

/// An empty vector with room for the values of `value_size` bytes each in `data` (from
/// the file at `path`; `what` names them in the error).
///
/// # Errors
///
/// As [`capacity`], when the count cannot be allocated.
pub fn for_values<T>(
    path: &Path,
    what: &str,
    data: &[u8],
    value_size: usize,
) -> Result<Vec<T>, DataError> {
    let count = (data.len() / value_size.max(1)) as u64;
    let bound = Bound::file(data.len(), value_size, "bytes of data");
    Ok(Vec::with_capacity(capacity(path, what, count, bound)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_backed_counts_and_names_file_and_count_otherwise() {
        let p = Path::new("dir/f.evid");
        assert_eq!(
            capacity(p, "n", 5, Bound::file(10, 2, "numbers")).unwrap(),
            5
        );
        let e = capacity(p, "n", 6, Bound::file(10, 2, "numbers"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "dir/f.evid: n is 6, but the file holds only 10 numbers and each needs 2"
        );
        assert_eq!(capacity(p, "n", 7, Bound::stated(7)).unwrap(), 7);
        assert!(
            capacity(p, "n", 8, Bound::stated(7))
                .unwrap_err()
                .to_string()
                .contains("n is 8, but the limit is 7")
        );
        let either = Bound::file(3, 1, "bytes").or_stated(100);
        assert_eq!(capacity(p, "n", 100, either).unwrap(), 100);
        let e = capacity(p, "n", u64::MAX, either).unwrap_err().to_string();
        assert!(
            e.contains(&u64::MAX.to_string()) && !e.contains('\n'),
            "{e}"
        );
        assert_eq!(capacity(p, "n", 0, Bound::file(0, 0, "bytes")).unwrap(), 0);
        assert_eq!(
            capacity(p, "n", 80, Bound::spread(10, 8, "bytes")).unwrap(),
            80
        );
        assert_eq!(
            capacity(p, "n", 81, Bound::spread(10, 8, "bytes"))
                .unwrap_err()
                .to_string(),
            "dir/f.evid: n is 81, but the file holds only 10 bytes and each backs at most 8"
        );
    }
}
