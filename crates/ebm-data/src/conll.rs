//! CoNLL-style column files: labeled sequences, one token a line.
//!
//! A token line holds whitespace-separated columns (the features, then, in a labeled
//! file, the label); every token line of a file has the same number of columns. A blank
//! line ends a sequence (several blank lines end one). A line whose first column is
//! `-DOCSTART-` (CoNLL-2003's document marker) is skipped and ends a sequence too; so is a
//! comment, a line starting with `#` where a sequence starts (at the top of the file or
//! after a blank line, as CoNLL-U writes them). Inside a sequence a `#` line is a token
//! (CoNLL-2000 has the token `#`). Raw or gzipped UTF-8.
//!
//! The file is held once, as its text, with the byte ranges of its fields: a few bytes a
//! field beside the text. Its (unpacked) size is bounded by [`MAX_BYTES`], checked before
//! it is read, so a file or gzip stream beyond that is refused, not loaded.
//!
//! ```
//! use ebm_data::conll::parse;
//! use std::path::Path;
//! let text = "# a comment\nThe DT\ndog NN\n\nIt PRP\nran VBD\n. .\n";
//! let file = parse(Path::new("pos.conll"), text.to_string()).unwrap();
//! assert_eq!((file.columns(), file.sequence_count(), file.token_count()), (2, 2, 5));
//! let second = file.sequence(1);
//! assert_eq!((second.len(), second.field(1, 0), second.field(1, 1)), (3, "ran", "VBD"));
//! assert_eq!(second.line(1), 6);
//! ```

use crate::DataError;
use crate::array::malformed;
use crate::bounded::{self, Bound};
use flate2::read::GzDecoder;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The largest file [`read`] takes, in bytes (after gunzipping): 2 GiB, so that every
/// field's byte range fits in 32 bits.
pub const MAX_BYTES: usize = (1 << 31) - 1;

/// The document marker of CoNLL-2003 files, skipped.
pub const DOCSTART: &str = "-DOCSTART-";

/// A parsed column file: its text, and per token the byte ranges of its columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnFile {
    path: PathBuf,
    text: String,
    columns: usize,
    /// `columns` byte ranges into `text` per token, tokens in file order.
    fields: Vec<(u32, u32)>,
    /// The line (counted from 1) of each token.
    lines: Vec<u32>,
    /// Each sequence's range of tokens.
    sequences: Vec<(u32, u32)>,
}

/// One sequence of a [`ColumnFile`].
#[derive(Clone, Debug)]
pub struct Sequence<'f> {
    file: &'f ColumnFile,
    tokens: Range<usize>,
}

impl<'f> Sequence<'f> {
    /// Its number of tokens (at least 1).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Never true: a sequence holds at least one token.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Column `column` of token `t` (both counted from 0).
    ///
    /// # Panics
    ///
    /// When `t` or `column` is out of range.
    pub fn field(&self, t: usize, column: usize) -> &'f str {
        assert!(
            t < self.len() && column < self.file.columns,
            "no such field"
        );
        let (start, end) = self.file.fields[(self.tokens.start + t) * self.file.columns + column];
        &self.file.text[start as usize..end as usize]
    }

    /// The line of token `t`, counted from 1.
    pub fn line(&self, t: usize) -> usize {
        self.file.lines[self.tokens.start + t] as usize
    }

    /// The index in the file of token `t` (over all sequences, from 0).
    pub fn token_index(&self, t: usize) -> usize {
        self.tokens.start + t
    }
}

impl ColumnFile {
    /// The file it was read from (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Columns of every token line.
    pub fn columns(&self) -> usize {
        self.columns
    }

    /// Number of sequences (at least 1).
    pub fn sequence_count(&self) -> usize {
        self.sequences.len()
    }

    /// Number of tokens over all sequences.
    pub fn token_count(&self) -> usize {
        self.lines.len()
    }

    /// Sequence `i`.
    pub fn sequence(&self, i: usize) -> Sequence<'_> {
        let (start, end) = self.sequences[i];
        Sequence {
            file: self,
            tokens: start as usize..end as usize,
        }
    }

    /// Every sequence, in file order.
    pub fn sequences(&self) -> impl ExactSizeIterator<Item = Sequence<'_>> {
        (0..self.sequences.len()).map(|i| self.sequence(i))
    }

    /// A [`DataError::Malformed`] naming this file and `line`.
    pub fn error_at(&self, line: usize, message: impl std::fmt::Display) -> DataError {
        malformed(&self.path, format!("line {line}: {message}"))
    }

    /// A [`DataError::Malformed`] naming this file.
    pub fn error(&self, message: impl Into<String>) -> DataError {
        malformed(&self.path, message)
    }

    /// The file's text with `values[k]` appended to the line of token `k` as one more
    /// column (after a tab when the line holds one, else a space); blank lines, comments
    /// and `-DOCSTART-` lines are kept as they are. Every line ends with `\n`.
    ///
    /// # Panics
    ///
    /// When `values` does not hold one value per token.
    pub fn with_column<S: AsRef<str>>(&self, values: &[S]) -> String {
        assert_eq!(values.len(), self.token_count(), "one value per token");
        let extra: usize = values.iter().map(|v| v.as_ref().len() + 1).sum();
        let mut out = String::with_capacity(self.text.len() + extra + 1);
        let mut next = 0usize;
        for (i, line) in self.text.lines().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            out.push_str(line);
            if next < self.lines.len() && self.lines[next] as usize == i + 1 {
                out.push(if line.contains('\t') { '\t' } else { ' ' });
                out.push_str(values[next].as_ref());
                next += 1;
            }
            out.push('\n');
        }
        out
    }
}

/// Parse the column file `text` read from `path`.
///
/// # Errors
///
/// [`DataError::Malformed`] naming `path`: a text beyond [`MAX_BYTES`], a token line
/// whose number of columns differs from the first token line's (a ragged row, given by
/// its line), or a file with no token at all (empty, or only blank lines, comments and
/// `-DOCSTART-` lines).
pub fn parse(path: &Path, text: String) -> Result<ColumnFile, DataError> {
    within_max_bytes(path, SIZE, text.len() as u64)?;
    // A field takes at least two bytes (a character and a separator or line end), a token
    // line at least two as well: the text backs every count below.
    let field_room = bounded::capacity(
        path,
        "the number of fields",
        (text.len() / 2) as u64,
        Bound::file(text.len(), 2, "bytes"),
    )?;
    let mut file = ColumnFile {
        path: path.to_path_buf(),
        text: String::new(),
        columns: 0,
        fields: Vec::with_capacity(field_room.min(1 << 16)),
        lines: Vec::new(),
        sequences: Vec::new(),
    };
    let mut first_token_line = 0usize;
    let mut sequence_start = 0usize;
    let end_sequence = |file: &mut ColumnFile, start: &mut usize| {
        let end = file.lines.len();
        if end > *start {
            file.sequences.push((*start as u32, end as u32));
        }
        *start = end;
    };
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let number = i + 1;
        let line = raw.trim_end_matches(['\n', '\r']);
        let mut words = line
            .split_ascii_whitespace()
            .map(|w| {
                let start = w.as_ptr() as usize - text.as_ptr() as usize;
                (start, start + w.len())
            })
            .peekable();
        let Some(&(first_start, first_end)) = words.peek() else {
            end_sequence(&mut file, &mut sequence_start);
            continue;
        };
        let first = &text[first_start..first_end];
        let starts_sequence = file.lines.len() == sequence_start;
        if first == DOCSTART {
            end_sequence(&mut file, &mut sequence_start);
            continue;
        }
        if starts_sequence && line.trim_start().starts_with('#') {
            continue;
        }
        let before = file.fields.len();
        file.fields
            .extend(words.map(|(start, end)| (start as u32, end as u32)));
        let found = file.fields.len() - before;
        if file.columns == 0 {
            file.columns = found;
            first_token_line = number;
        } else if found != file.columns {
            return Err(malformed(
                path,
                format!(
                    "line {number}: {found} column{}, but line {first_token_line} (the first token line) has {}; every token line needs the same columns (a blank line ends a sequence)",
                    if found == 1 { "" } else { "s" },
                    file.columns
                ),
            ));
        }
        file.lines.push(number as u32);
    }
    end_sequence(&mut file, &mut sequence_start);
    if file.sequences.is_empty() {
        let what = if text.trim().is_empty() {
            "the file is empty (or blank)".to_string()
        } else {
            "it holds only comments and -DOCSTART- lines".to_string()
        };
        return Err(malformed(
            path,
            format!(
                "no sequences: {what}; expected token lines of whitespace-separated columns, a blank line between sequences"
            ),
        ));
    }
    file.text = text;
    file.fields.shrink_to_fit();
    Ok(file)
}

/// What the size checks of a column file's text call its size.
const SIZE: &str = "the size of the column file in bytes";

/// Refuse a `size` (in bytes, described as `what`) beyond [`MAX_BYTES`].
fn within_max_bytes(path: &Path, what: &str, size: u64) -> Result<(), DataError> {
    bounded::capacity(path, what, size, Bound::stated(MAX_BYTES)).map(|_| ())
}

/// Read the column file at `path` (raw or gzipped UTF-8 text), as [`parse`].
///
/// # Errors
///
/// [`DataError::Io`] when it cannot be read; [`DataError::Malformed`] when it (or its
/// unpacked gzip stream) is larger than [`MAX_BYTES`], is not UTF-8 or is a corrupt gzip
/// stream; else as [`parse`].
pub fn read(path: &Path) -> Result<ColumnFile, DataError> {
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    within_max_bytes(path, SIZE, size)?;
    let raw = std::fs::read(path).map_err(io)?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| malformed(path, format!("corrupt gzip stream: {e}")))?;
        let what = "the unpacked size of the column file in bytes";
        within_max_bytes(path, what, out.len() as u64)?;
        out
    } else {
        raw
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        malformed(
            path,
            format!(
                "not UTF-8 text (at byte {}): expected a CoNLL-style column file",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    parse(path, text)
}

/// The text of a column file holding `sequences` (each a list of tokens, each token its
/// columns): columns separated by a tab, a blank line after every sequence. What [`parse`]
/// reads back, when no field is empty or holds whitespace and no sequence is empty.
///
/// ```
/// let text = ebm_data::conll::encode(&[vec![vec!["a", "X"], vec!["b", "Y"]], vec![vec!["c", "X"]]]);
/// assert_eq!(text, "a\tX\nb\tY\n\nc\tX\n\n");
/// ```
pub fn encode<S: AsRef<str>>(sequences: &[Vec<Vec<S>>]) -> String {
    let mut out = String::new();
    for sequence in sequences {
        for token in sequence {
            for (c, field) in token.iter().enumerate() {
                if c > 0 {
                    out.push('\t');
                }
                out.push_str(field.as_ref());
            }
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("t.conll")
    }

    fn tokens(file: &ColumnFile) -> Vec<Vec<Vec<String>>> {
        file.sequences()
            .map(|s| {
                (0..s.len())
                    .map(|t| {
                        (0..file.columns())
                            .map(|c| s.field(t, c).to_string())
                            .collect()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn blank_lines_comments_and_docstart_separate_sequences() {
        let text = "-DOCSTART- -X- O\n\n# sent 1\nEU NNP B-ORG\nrejects VBZ O\n\n\n\n# sent 2\n\
                    # more\nPeter NNP B-PER\r\n-DOCSTART- -X- O\n# # O\n";
        let file = parse(p(), text.into()).unwrap();
        assert_eq!(file.columns(), 3);
        let seen = tokens(&file);
        // The last line opens a sequence with '#': a comment.
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0][1], ["rejects", "VBZ", "O"]);
        assert_eq!(seen[1], [["Peter", "NNP", "B-PER"]]);
        // After -DOCSTART- a '#' line opens a sequence: a comment. Inside one it is a token.
        let file = parse(p(), "a X\n# X\n\n".into()).unwrap();
        assert_eq!(tokens(&file), [[["a", "X"], ["#", "X"]]]);
        assert_eq!(file.sequence(0).line(1), 2);
        // One sequence with tabs and trailing spaces; the last line without a newline.
        let file = parse(p(), "x\t1 \ny\t2".into()).unwrap();
        assert_eq!(tokens(&file), [[["x", "1"], ["y", "2"]]]);
    }

    #[test]
    fn ragged_rows_and_empty_files_are_one_line_errors_naming_file_and_line() {
        let e = parse(p(), "a X\nb Y\n\nc\n".into())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.conll: line 4: 1 column, but line 1 (the first token line) has 2"),
            "{e}"
        );
        for empty in ["", "\n\n  \n", "# only\n-DOCSTART- O\n"] {
            let e = parse(p(), empty.into()).unwrap_err().to_string();
            assert!(e.starts_with("t.conll: no sequences: "), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn a_column_is_appended_to_every_token_line() {
        let text = "# c\nThe DT\ndog\tNN\n\nran VBD\n";
        let file = parse(p(), text.into()).unwrap();
        let out = file.with_column(&["A", "B", "C"]);
        assert_eq!(out, "# c\nThe DT A\ndog\tNN\tB\n\nran VBD C\n");
        let again = parse(p(), out).unwrap();
        assert_eq!(again.columns(), 3);
        let encoded = encode(&tokens(&file));
        assert_eq!(tokens(&parse(p(), encoded).unwrap()), tokens(&file));
    }

    #[test]
    fn read_unpacks_gzip_and_refuses_what_is_not_text() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.conll.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"a X\nb Y\n").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        assert_eq!(read(&path).unwrap().token_count(), 2);
        let bad = dir.path().join("b.conll");
        std::fs::write(&bad, b"a X\n\xff Y\n").unwrap();
        let e = read(&bad).unwrap_err().to_string();
        assert!(e.contains("b.conll: not UTF-8 text (at byte 4)"), "{e}");
        let e = read(&dir.path().join("missing.conll"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.conll"), "{e}");
    }
}
