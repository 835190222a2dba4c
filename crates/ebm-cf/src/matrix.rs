//! Sparse rating matrices in compressed-row form, with one level index per entry.

use crate::CfError;
use serde::{Deserialize, Serialize};

/// A sparse `n_rows x n_cols` matrix whose entries are rating levels (`0..K`), stored
/// row by row with columns ascending. Rows are the RBM cases (users for a user-based
/// model), columns the visible units (items).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingMatrix {
    n_rows: usize,
    n_cols: usize,
    /// `row_starts[r]..row_starts[r + 1]` indexes row `r`'s entries.
    row_starts: Vec<usize>,
    cols: Vec<u32>,
    levels: Vec<u8>,
}

impl RatingMatrix {
    /// Build from `(row, col, level)` triples in any order. Two entries for one cell are
    /// an error naming the cell, and so is an index out of range.
    pub fn from_triples(
        n_rows: usize,
        n_cols: usize,
        mut triples: Vec<(u32, u32, u8)>,
    ) -> Result<Self, CfError> {
        if n_cols > u32::MAX as usize {
            return Err(CfError::BadRatings(format!("{n_cols} columns exceed u32")));
        }
        if let Some(&(r, c, _)) = triples
            .iter()
            .find(|&&(r, c, _)| r as usize >= n_rows || c as usize >= n_cols)
        {
            return Err(CfError::BadRatings(format!(
                "entry ({r}, {c}) outside a {n_rows} x {n_cols} matrix"
            )));
        }
        triples.sort_unstable_by_key(|&(r, c, _)| (r, c));
        if let Some(pair) = triples
            .windows(2)
            .find(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1))
        {
            return Err(CfError::BadRatings(format!(
                "cell (row {}, column {}) is given twice",
                pair[0].0, pair[0].1
            )));
        }
        let mut row_starts = vec![0usize; n_rows + 1];
        for &(r, _, _) in &triples {
            row_starts[r as usize + 1] += 1;
        }
        for r in 0..n_rows {
            row_starts[r + 1] += row_starts[r];
        }
        Ok(Self {
            n_rows,
            n_cols,
            row_starts,
            cols: triples.iter().map(|t| t.1).collect(),
            levels: triples.iter().map(|t| t.2).collect(),
        })
    }

    /// Build directly from compressed rows (columns strictly ascending within a row).
    pub fn from_rows(
        n_cols: usize,
        row_starts: Vec<usize>,
        cols: Vec<u32>,
        levels: Vec<u8>,
    ) -> Result<Self, CfError> {
        let matrix = Self {
            n_rows: row_starts.len().saturating_sub(1),
            n_cols,
            row_starts,
            cols,
            levels,
        };
        matrix.validate().map_err(CfError::BadRatings)?;
        Ok(matrix)
    }

    /// Check the invariants (used after loading a model file).
    pub fn validate(&self) -> Result<(), String> {
        let ok_shape = self.row_starts.len() == self.n_rows + 1
            && self.row_starts.first() == Some(&0)
            && self.row_starts.last() == Some(&self.cols.len())
            && self.cols.len() == self.levels.len()
            && self.row_starts.windows(2).all(|w| w[0] <= w[1]);
        if !ok_shape {
            return Err("rating matrix: row offsets disagree with the entries".into());
        }
        for r in 0..self.n_rows {
            let (cols, _) = self.row(r);
            if cols.windows(2).any(|w| w[0] >= w[1]) {
                return Err(format!("rating matrix: row {r} is not strictly ascending"));
            }
            if cols.last().is_some_and(|&c| c as usize >= self.n_cols) {
                return Err(format!("rating matrix: row {r} has a column out of range"));
            }
        }
        Ok(())
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries.
    pub fn n_entries(&self) -> usize {
        self.cols.len()
    }

    /// Row `r`: its columns (ascending) and their levels.
    #[inline]
    pub fn row(&self, r: usize) -> (&[u32], &[u8]) {
        let range = self.row_starts[r]..self.row_starts[r + 1];
        (&self.cols[range.clone()], &self.levels[range])
    }

    /// Length of the longest row.
    pub fn max_row_len(&self) -> usize {
        self.row_starts
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(0)
    }

    /// The level at `(r, c)`, if stored.
    pub fn get(&self, r: usize, c: u32) -> Option<u8> {
        let (cols, levels) = self.row(r);
        cols.binary_search(&c).ok().map(|i| levels[i])
    }

    /// The transpose (columns become rows), in O(entries).
    pub fn transpose(&self) -> Self {
        let mut row_starts = vec![0usize; self.n_cols + 1];
        for &c in &self.cols {
            row_starts[c as usize + 1] += 1;
        }
        for c in 0..self.n_cols {
            row_starts[c + 1] += row_starts[c];
        }
        let mut next = row_starts.clone();
        let mut cols = vec![0u32; self.cols.len()];
        let mut levels = vec![0u8; self.levels.len()];
        for r in 0..self.n_rows {
            let (row_cols, row_levels) = self.row(r);
            for (&c, &level) in row_cols.iter().zip(row_levels) {
                let slot = &mut next[c as usize];
                cols[*slot] = r as u32;
                levels[*slot] = level;
                *slot += 1;
            }
        }
        Self {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            row_starts,
            cols,
            levels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_get_and_transpose() {
        let m = RatingMatrix::from_triples(3, 4, vec![(2, 1, 4), (0, 3, 0), (0, 0, 2), (2, 0, 1)])
            .unwrap();
        assert_eq!(m.row(0), (&[0u32, 3][..], &[2u8, 0][..]));
        assert_eq!(m.row(1), (&[][..], &[][..]));
        assert_eq!(m.get(2, 1), Some(4));
        assert_eq!(m.get(1, 1), None);
        assert_eq!(m.max_row_len(), 2);
        let t = m.transpose();
        assert_eq!((t.n_rows(), t.n_cols()), (4, 3));
        assert_eq!(t.row(0), (&[0u32, 2][..], &[2u8, 1][..]));
        assert_eq!(t.transpose(), m);
        assert!(m.validate().is_ok());
        let rebuilt =
            RatingMatrix::from_rows(4, vec![0, 2, 2, 4], vec![0, 3, 0, 1], vec![2, 0, 1, 4])
                .unwrap();
        assert_eq!(rebuilt, m);
    }

    #[test]
    fn rejects_duplicates_and_out_of_range() {
        let e = RatingMatrix::from_triples(2, 2, vec![(1, 1, 0), (1, 1, 3)]).unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
        assert!(RatingMatrix::from_triples(2, 2, vec![(2, 0, 0)]).is_err());
        assert!(RatingMatrix::from_rows(2, vec![0, 2], vec![1, 0], vec![0, 0]).is_err());
        assert!(RatingMatrix::from_rows(2, vec![0, 1], vec![2], vec![0]).is_err());
    }
}
