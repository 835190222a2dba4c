//! Gradient buffers that remember which rows were touched, so summing and clearing them
//! costs the rows a minibatch rated, not the whole model.

/// A dense `rows x row_len` buffer plus the list of rows written since the last clear.
pub(crate) struct SparseRows {
    values: Vec<f32>,
    row_len: usize,
    touched: Vec<u32>,
    is_touched: Vec<bool>,
}

impl SparseRows {
    pub(crate) fn new(rows: usize, row_len: usize) -> Self {
        Self {
            values: vec![0.0; rows * row_len],
            row_len,
            touched: Vec::new(),
            is_touched: vec![false; rows],
        }
    }

    /// Row `row`, marked as touched.
    #[inline]
    pub(crate) fn row_mut(&mut self, row: u32) -> &mut [f32] {
        let r = row as usize;
        if !self.is_touched[r] {
            self.is_touched[r] = true;
            self.touched.push(row);
        }
        &mut self.values[r * self.row_len..(r + 1) * self.row_len]
    }

    /// Add every touched row of `self` into `total`, then clear `self`.
    pub(crate) fn drain_into(&mut self, total: &mut SparseRows) {
        let len = self.row_len;
        for &row in &self.touched {
            let r = row as usize;
            let source = &mut self.values[r * len..(r + 1) * len];
            ebm_kernels::vector::add_assign(total.row_mut(row), source);
            source.fill(0.0);
            self.is_touched[r] = false;
        }
        self.touched.clear();
    }

    /// The dense buffer (zeros outside the touched rows).
    pub(crate) fn dense(&self) -> &[f32] {
        &self.values
    }

    /// Zero the touched rows.
    pub(crate) fn clear(&mut self) {
        let len = self.row_len;
        for &row in &self.touched {
            let r = row as usize;
            self.values[r * len..(r + 1) * len].fill(0.0);
            self.is_touched[r] = false;
        }
        self.touched.clear();
    }
}

/// The gradient of one shard of a minibatch (positive minus negative statistics).
pub(crate) struct Gradients {
    pub(crate) weights: SparseRows,
    pub(crate) visible_bias: SparseRows,
    pub(crate) hidden_bias: Vec<f32>,
    pub(crate) implicit_weights: Option<SparseRows>,
}

impl Gradients {
    pub(crate) fn new(n_units: usize, n_levels: usize, n_hidden: usize, conditional: bool) -> Self {
        Self {
            weights: SparseRows::new(n_units, n_levels * n_hidden),
            visible_bias: SparseRows::new(n_units, n_levels),
            hidden_bias: vec![0.0; n_hidden],
            implicit_weights: conditional.then(|| SparseRows::new(n_units, n_hidden)),
        }
    }

    /// Add `self` into `total` and clear `self`.
    pub(crate) fn drain_into(&mut self, total: &mut Gradients) {
        self.weights.drain_into(&mut total.weights);
        self.visible_bias.drain_into(&mut total.visible_bias);
        ebm_kernels::vector::add_assign(&mut total.hidden_bias, &self.hidden_bias);
        self.hidden_bias.fill(0.0);
        if let (Some(mine), Some(theirs)) =
            (&mut self.implicit_weights, &mut total.implicit_weights)
        {
            mine.drain_into(theirs);
        }
    }

    /// Zero everything.
    pub(crate) fn clear(&mut self) {
        self.weights.clear();
        self.visible_bias.clear();
        self.hidden_bias.fill(0.0);
        if let Some(d) = &mut self.implicit_weights {
            d.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_adds_touched_rows_and_clears() {
        let mut a = SparseRows::new(4, 2);
        let mut total = SparseRows::new(4, 2);
        a.row_mut(2).copy_from_slice(&[1.0, 2.0]);
        total.row_mut(0)[0] = 5.0;
        total.row_mut(2)[1] = 1.0;
        a.drain_into(&mut total);
        assert_eq!(total.dense(), &[5.0, 0.0, 0.0, 0.0, 1.0, 3.0, 0.0, 0.0]);
        assert!(a.dense().iter().all(|&v| v == 0.0) && a.touched.is_empty());
        total.clear();
        assert!(total.dense().iter().all(|&v| v == 0.0));
        assert!(total.is_touched.iter().all(|&t| !t));
    }
}
