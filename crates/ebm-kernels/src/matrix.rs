//! Borrowed strided matrix views over `f32` slices.
//!
//! A view is `(data, rows, cols, row_stride, col_stride)`; element `(r, c)` lives at
//! `data[r * row_stride + c * col_stride]`. Construction checks that every element is in
//! bounds, so kernels may index without further checks.

/// An immutable strided view of an `f32` matrix.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

/// Index of the last element of a strided view plus one (0 for an empty view).
fn required_len(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> usize {
    if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * row_stride + (cols - 1) * col_stride + 1
    }
}

/// Panics unless `len` elements are exactly a row-major `rows x cols` matrix.
fn assert_row_major(len: usize, rows: usize, cols: usize) {
    assert_eq!(len, rows * cols, "row-major view: length != rows * cols");
}

impl<'a> MatRef<'a> {
    /// A row-major `rows x cols` view; panics if `data.len() != rows * cols`.
    pub fn from_row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_row_major(data.len(), rows, cols);
        Self::from_strided(data, rows, cols, cols, 1)
    }

    /// A view with explicit strides; panics if an element would fall outside `data`.
    pub fn from_strided(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        assert!(
            required_len(rows, cols, row_stride, col_stride) <= data.len(),
            "strided view out of bounds"
        );
        Self {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// The transpose: the same data with rows and columns swapped (no copy).
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Rows `start..end` of this view.
    pub fn row_range(self, start: usize, end: usize) -> Self {
        assert!(start <= end && end <= self.rows, "row range out of bounds");
        let offset = if start < end {
            start * self.row_stride
        } else {
            0
        };
        Self {
            data: &self.data[offset.min(self.data.len())..],
            rows: end - start,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// Distance between consecutive rows, in elements.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }
    /// Distance between consecutive columns, in elements.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }
    /// The underlying slice (starting at element `(0, 0)`).
    pub fn data(&self) -> &'a [f32] {
        self.data
    }
    /// Element `(r, c)`.
    pub fn get(&self, r: usize, c: usize) -> f32 {
        assert!(r < self.rows && c < self.cols);
        self.data[r * self.row_stride + c * self.col_stride]
    }
    /// Row `r` as a slice; panics unless the columns are contiguous.
    pub fn row(&self, r: usize) -> &'a [f32] {
        assert!(
            self.col_stride == 1 || self.cols <= 1,
            "row(): columns not contiguous"
        );
        let start = r * self.row_stride;
        &self.data[start..start + self.cols]
    }
}

/// A mutable row-major view (columns contiguous) with a row stride of at least `cols`.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> MatMut<'a> {
    /// A row-major `rows x cols` view; panics if `data.len() != rows * cols`.
    pub fn from_row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        assert_row_major(data.len(), rows, cols);
        Self {
            data,
            rows,
            cols,
            row_stride: cols,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.as_ref().rows()
    }
    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.as_ref().cols()
    }
    /// Distance between consecutive rows, in elements.
    pub fn row_stride(&self) -> usize {
        self.as_ref().row_stride()
    }
    /// The underlying mutable slice.
    pub fn data_mut(&mut self) -> &mut [f32] {
        self.data
    }
    /// An immutable view of the same matrix.
    pub fn as_ref(&self) -> MatRef<'_> {
        MatRef {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_swaps_indices() {
        let data: Vec<f32> = (0..6).map(|x| x as f32).collect();
        let m = MatRef::from_row_major(&data, 2, 3);
        let t = m.t();
        assert_eq!((t.rows(), t.cols()), (3, 2));
        for r in 0..2 {
            for c in 0..3 {
                assert_eq!(m.get(r, c), t.get(c, r));
            }
        }
    }

    #[test]
    fn row_range_selects_rows() {
        let data: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let m = MatRef::from_row_major(&data, 4, 3).row_range(1, 3);
        assert_eq!(m.rows(), 2);
        assert_eq!(m.row(0), &[3.0, 4.0, 5.0]);
        assert_eq!(m.row(1), &[6.0, 7.0, 8.0]);
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn strided_view_checks_bounds() {
        let data = [0.0f32; 5];
        let _ = MatRef::from_strided(&data, 2, 3, 3, 1);
    }
}
