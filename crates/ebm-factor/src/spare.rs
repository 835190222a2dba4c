//! Spare f64 buffers handed back and reused, so a pass that builds and drops many large
//! temporary tables (the downward pass of exact marginals) touches fresh memory only for
//! the most it holds at once: a large allocation freed goes back to the system, and the
//! next one is zeroed page by page by the kernel on first touch.

/// A set of buffers given back for reuse.
#[derive(Debug, Default)]
pub struct Spare(Vec<Vec<f64>>);

impl Spare {
    /// A buffer of `n` zeros: the smallest spare one that holds `n` entries (else the
    /// largest, grown), or a new one.
    pub fn zeros(&mut self, n: usize) -> Vec<f64> {
        let fits = (0..self.0.len())
            .filter(|&i| self.0[i].capacity() >= n)
            .min_by_key(|&i| self.0[i].capacity());
        let pick = fits.or_else(|| (0..self.0.len()).max_by_key(|&i| self.0[i].capacity()));
        let mut buffer = pick.map_or_else(Vec::new, |i| self.0.swap_remove(i));
        buffer.clear();
        buffer.resize(n, 0.0);
        buffer
    }

    /// Hand `buffer` back for a later [`Self::zeros`].
    pub fn give(&mut self, buffer: Vec<f64>) {
        if buffer.capacity() > 0 {
            self.0.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buffers come back zeroed at the asked length, the best fitting one first.
    #[test]
    fn reuses_the_best_fitting_buffer() {
        let mut spare = Spare::default();
        let mut a = spare.zeros(1000);
        a.fill(3.0);
        let b = spare.zeros(10);
        let (a_at, b_at) = (a.as_ptr(), b.as_ptr());
        spare.give(a);
        spare.give(b);
        let small = spare.zeros(8);
        assert_eq!((small.as_ptr(), small.len()), (b_at, 8));
        let large = spare.zeros(500);
        assert_eq!(large.as_ptr(), a_at);
        assert!(large.iter().all(|&x| x == 0.0) && large.len() == 500);
        assert!(spare.zeros(2000).len() == 2000);
    }
}
