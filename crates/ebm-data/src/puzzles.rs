//! Readers for constraint problems: Sudoku puzzle lists (one puzzle a line) and DIMACS
//! graph-coloring files (`.col`).

use crate::DataError;
use crate::bounded::{self, Bound};
use crate::escape::quote;
use std::path::Path;

/// Most vertices a DIMACS file may declare beyond its length in bytes (vertices with no
/// edge take no room in the file).
pub const MAX_FREE_VERTICES: usize = 1 << 16;

/// A Sudoku puzzle of `box_size^2 x box_size^2` cells, row-major; `None` is blank and
/// a given is `0..box_size^2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sudoku {
    /// Side of one box (3 for the usual 9x9 grid).
    pub box_size: usize,
    /// The cells, row by row.
    pub cells: Vec<Option<usize>>,
}

impl Sudoku {
    /// Side of the grid (`box_size^2`).
    pub fn side(&self) -> usize {
        self.box_size * self.box_size
    }

    /// Parse one puzzle: `side^2` symbols with no space between them (16, 81, 256, 625 or
    /// 1296 for boxes of 2 to 6), `.` or `0` blank, givens `1-9` then `A-Z`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let cells_text: Vec<char> = text.chars().collect();
        let box_size = (2..=6)
            .find(|b: &usize| b.pow(4) == cells_text.len())
            .ok_or_else(|| {
                format!(
                    "a puzzle has {} cells ({}); expected 16, 81, 256, 625 or 1296 symbols with no spaces between them",
                    cells_text.len(),
                    quote(text)
                )
            })?;
        let side = box_size * box_size;
        let cells = cells_text
            .iter()
            .map(|&c| match c {
                '.' | '0' => Ok(None),
                '1'..='9' => Ok(Some(c as usize - '1' as usize)),
                'A'..='Z' => Ok(Some(9 + c as usize - 'A' as usize)),
                _ => Err(format!(
                    "cell symbol {} is not '.', '0', 1-9 or A-Z",
                    quote(c.encode_utf8(&mut [0; 4]))
                )),
            })
            .map(|cell| match cell {
                Ok(Some(x)) if x >= side => Err(format!(
                    "a given of {} is too large for a {side}x{side} grid",
                    x + 1
                )),
                other => other,
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { box_size, cells })
    }

    /// The grid as one line of symbols (blanks as `.`).
    pub fn format(values: &[Option<usize>]) -> String {
        values
            .iter()
            .map(|v| match v {
                None => '.',
                Some(x) if *x < 9 => char::from(b'1' + *x as u8),
                Some(x) => char::from(b'A' + (*x - 9) as u8),
            })
            .collect()
    }
}

/// Read a puzzle list: one puzzle per line, its first whitespace-separated token (text
/// after it, such as a comment, is ignored); blank lines and `#` lines are skipped. A
/// puzzle whose token is not a whole grid (a line `1`, or digits separated by spaces)
/// is an error naming the file and the line.
pub fn read_sudoku(path: &Path) -> Result<Vec<Sudoku>, DataError> {
    parse_sudoku(path, &read_text(path)?)
}

/// The text of the file at `path`.
fn read_text(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parse a puzzle list's `text` as [`read_sudoku`] does; `path` is used in messages only.
pub fn parse_sudoku(path: &Path, text: &str) -> Result<Vec<Sudoku>, DataError> {
    let mut puzzles = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let Some(token) = line.split_whitespace().next() else {
            continue;
        };
        if token.starts_with('#') {
            continue;
        }
        let puzzle = Sudoku::parse(token).map_err(|message| DataError::Malformed {
            path: path.to_path_buf(),
            message: format!("line {}: {message}", number + 1),
        })?;
        puzzles.push(puzzle);
    }
    if puzzles.is_empty() {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            message: "no puzzles".into(),
        });
    }
    Ok(puzzles)
}

/// An undirected graph from a DIMACS `.col` file, vertices numbered from 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    /// Number of vertices.
    pub vertices: usize,
    /// Edges `(u, v)` with `u < v`, without duplicates or loops.
    pub edges: Vec<(usize, usize)>,
}

/// Read a DIMACS graph: `c` comments, one `p edge N M` line, then `e u v` lines
/// (1-based). Duplicate edges (both directions are common) are merged. `N` may not
/// exceed the file's length in bytes or [`MAX_FREE_VERTICES`], whichever is larger.
pub fn read_dimacs(path: &Path) -> Result<Graph, DataError> {
    parse_dimacs(path, &read_text(path)?)
}

/// Parse a DIMACS graph's `text` as [`read_dimacs`] does; `path` is used in messages
/// only.
pub fn parse_dimacs(path: &Path, text: &str) -> Result<Graph, DataError> {
    let malformed = |number: usize, message: String| DataError::Malformed {
        path: path.to_path_buf(),
        message: format!("line {}: {message}", number + 1),
    };
    let mut vertices: Option<usize> = None;
    let mut edges = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.first().copied() {
            None | Some("c") => {}
            Some("p") => {
                if fields.len() != 4 || vertices.is_some() {
                    return Err(malformed(number, "expected one 'p edge N M' line".into()));
                }
                let n: u64 = fields[2]
                    .parse()
                    .map_err(|_| malformed(number, format!("vertex count {}", quote(fields[2]))))?;
                let bound = Bound::file(text.len(), 1, "bytes").or_stated(MAX_FREE_VERTICES);
                let n = bounded::capacity(
                    path,
                    &format!("line {}: the vertex count", number + 1),
                    n,
                    bound,
                )?;
                vertices = Some(n);
            }
            Some("e") => {
                let n = vertices
                    .ok_or_else(|| malformed(number, "an edge before the 'p' line".into()))?;
                let ends: Vec<usize> = fields[1..]
                    .iter()
                    .map(|f| f.parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| malformed(number, format!("edge {}", quote(line))))?;
                if ends.len() != 2 || ends.iter().any(|&x| x == 0 || x > n) {
                    return Err(malformed(
                        number,
                        format!("edge {}: expected two vertices in 1..={n}", quote(line)),
                    ));
                }
                let (u, v) = (ends[0].min(ends[1]) - 1, ends[0].max(ends[1]) - 1);
                if u != v {
                    edges.push((u, v));
                }
            }
            Some(other) => {
                return Err(malformed(
                    number,
                    format!("unknown line type {}", quote(other)),
                ));
            }
        }
    }
    let vertices = vertices.ok_or_else(|| DataError::Malformed {
        path: path.to_path_buf(),
        message: "no 'p edge N M' line".into(),
    })?;
    edges.sort_unstable();
    edges.dedup();
    Ok(Graph { vertices, edges })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_puzzles_and_graphs() {
        let dir = std::env::temp_dir().join(format!("ebm-puzzles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sudoku = dir.join("s.txt");
        std::fs::write(&sudoku, "1..4..3..2..4..1 // a 4x4 puzzle\n").unwrap();
        let p = read_sudoku(&sudoku).unwrap();
        assert_eq!(p[0].box_size, 2);
        assert_eq!(p[0].cells[0], Some(0));
        assert_eq!(p[0].cells[1], None);
        assert_eq!(Sudoku::format(&p[0].cells), "1..4..3..2..4..1");
        std::fs::write(&sudoku, "1..4..3..2..4..x\n").unwrap();
        let e = read_sudoku(&sudoku).unwrap_err().to_string();
        assert!(e.contains("s.txt") && e.contains("line 1"), "{e}");
        let col = dir.join("g.col");
        std::fs::write(&col, "c x\np edge 3 3\ne 1 2\ne 2 1\ne 3 2\n").unwrap();
        let g = read_dimacs(&col).unwrap();
        assert_eq!(g.vertices, 3);
        assert_eq!(g.edges, vec![(0, 1), (1, 2)]);
        std::fs::write(&col, "p edge 3 1\ne 1 4\n").unwrap();
        let e = read_dimacs(&col).unwrap_err().to_string();
        assert!(e.contains("g.col: line 2"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ebm-puzzles-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The old reader took a line `1` as a 1x1 puzzle, and a spaced line as its first
    /// digit alone.
    #[test]
    fn a_line_that_is_not_a_whole_grid_is_refused() {
        let one = write("one.txt", "1\n");
        let e = read_sudoku(&one).unwrap_err().to_string();
        assert!(e.contains("one.txt: line 1: a puzzle has 1 cells"), "{e}");
        let grid =
            "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......";
        let spaced: Vec<String> = grid.chars().map(String::from).collect();
        let spaced = write("spaced.txt", &format!("{grid}\n{}\n", spaced.join(" ")));
        let e = read_sudoku(&spaced).unwrap_err().to_string();
        assert!(
            e.contains("spaced.txt: line 2") && e.contains("no spaces"),
            "{e}"
        );
        let fine = write("fine.txt", &format!("{grid} # comment\n"));
        assert_eq!(read_sudoku(&fine).unwrap()[0].box_size, 3);
    }

    /// The old reader let `p edge 4000000000 1` through, and the coloring model then
    /// reserved 32 GB.
    #[test]
    fn a_vertex_count_the_file_cannot_back_is_refused() {
        let col = write("huge.col", "p edge 4000000000 1\ne 1 2\n");
        let e = read_dimacs(&col).unwrap_err().to_string();
        assert!(
            e.contains("huge.col: line 1: the vertex count is 4000000000"),
            "{e}"
        );
        let free = write("free.col", "p edge 1000 0\n");
        assert_eq!(read_dimacs(&free).unwrap().vertices, 1000);
    }

    #[test]
    fn file_bytes_in_messages_are_escaped() {
        let col = write("esc.col", "p edge 3 1\n\u{1b}[31m 1 2\n");
        let e = read_dimacs(&col).unwrap_err().to_string();
        assert!(
            !e.chars().any(char::is_control) && e.contains("\\u{1b}[31m"),
            "{e}"
        );
        let s = write("esc.txt", "\u{1b}[2J..............\n");
        let e = read_sudoku(&s).unwrap_err().to_string();
        assert!(!e.chars().any(char::is_control), "{e}");
    }
}
