//! Readers for constraint problems: Sudoku puzzle lists (one puzzle a line) and DIMACS
//! graph-coloring files (`.col`).

use crate::DataError;
use std::path::Path;

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

    /// Parse one puzzle: `side^2` symbols, `.` or `0` blank, givens `1-9` then `A-Z`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let cells_text: Vec<char> = text.chars().collect();
        let box_size = (1..=6)
            .find(|b: &usize| b.pow(4) == cells_text.len())
            .ok_or_else(|| {
                format!(
                    "a puzzle has {} cells; expected 16, 81, 256, 625 or 1296",
                    cells_text.len()
                )
            })?;
        let side = box_size * box_size;
        let cells = cells_text
            .iter()
            .map(|&c| match c {
                '.' | '0' => Ok(None),
                '1'..='9' => Ok(Some(c as usize - '1' as usize)),
                'A'..='Z' => Ok(Some(9 + c as usize - 'A' as usize)),
                _ => Err(format!("cell symbol {c:?} is not '.', '0', 1-9 or A-Z")),
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
/// after it, such as a comment, is ignored); blank lines and `#` lines are skipped.
pub fn read_sudoku(path: &Path) -> Result<Vec<Sudoku>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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
/// (1-based). Duplicate edges (both directions are common) are merged.
pub fn read_dimacs(path: &Path) -> Result<Graph, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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
                let n = fields[2]
                    .parse()
                    .map_err(|_| malformed(number, format!("vertex count {:?}", fields[2])))?;
                vertices = Some(n);
            }
            Some("e") => {
                let n = vertices
                    .ok_or_else(|| malformed(number, "an edge before the 'p' line".into()))?;
                let ends: Vec<usize> = fields[1..]
                    .iter()
                    .map(|f| f.parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| malformed(number, format!("edge {line:?}")))?;
                if ends.len() != 2 || ends.iter().any(|&x| x == 0 || x > n) {
                    return Err(malformed(
                        number,
                        format!("edge {line:?}: expected two vertices in 1..={n}"),
                    ));
                }
                let (u, v) = (ends[0].min(ends[1]) - 1, ends[0].max(ends[1]) - 1);
                if u != v {
                    edges.push((u, v));
                }
            }
            Some(other) => {
                return Err(malformed(number, format!("unknown line type {other:?}")));
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
}
