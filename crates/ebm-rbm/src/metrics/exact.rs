//! Exact `ln Z` by enumerating the smaller layer and summing out the other analytically:
//! `ln Z = ln sum_h exp(c.h + sum_i softplus(b_i + W_i.h))` (or the same with the roles of
//! the layers swapped). States are visited in Gray-code order, so each step adds or
//! subtracts one row of weights.

use crate::{BinaryRbm, RbmError};
use ebm_kernels::Parallelism;
use ebm_kernels::activation::softplus_sum;
use rayon::prelude::*;

/// Widest layer that [`exact_log_partition`] will enumerate (2^25 states).
pub const MAX_EXACT_UNITS: usize = 25;

/// Gray-code steps per independently started chunk; bounds the rounding drift of the
/// incrementally updated `f32` inputs (recomputed in `f64` at each chunk start).
const CHUNK_BITS: usize = 12;

/// A streaming `ln sum exp`.
#[derive(Clone, Copy)]
struct LogSumExp {
    max: f64,
    sum: f64,
}

impl LogSumExp {
    const EMPTY: Self = Self {
        max: f64::NEG_INFINITY,
        sum: 0.0,
    };
    fn add(&mut self, x: f64) {
        if x <= self.max {
            self.sum += (x - self.max).exp();
        } else {
            self.sum = self.sum * (self.max - x).exp() + 1.0;
            self.max = x;
        }
    }
    fn merge(self, other: Self) -> Self {
        if other.max == f64::NEG_INFINITY {
            return self;
        }
        if self.max == f64::NEG_INFINITY {
            return other;
        }
        let max = self.max.max(other.max);
        Self {
            max,
            sum: self.sum * (self.max - max).exp() + other.sum * (other.max - max).exp(),
        }
    }
    fn value(self) -> f64 {
        self.max + self.sum.ln()
    }
}

/// `ln Z` of `model`, exactly. Fails with [`RbmError::TooLargeForExact`] when both layers
/// have more than [`MAX_EXACT_UNITS`] units.
pub fn exact_log_partition(model: &BinaryRbm, par: Parallelism) -> Result<f64, RbmError> {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let smaller = nv.min(nh);
    if smaller > MAX_EXACT_UNITS {
        return Err(RbmError::TooLargeForExact {
            max: MAX_EXACT_UNITS,
            found: smaller,
        });
    }
    let w = model.weights();
    if nh <= nv {
        // Enumerate hidden states: rows of the enumeration matrix are W's columns.
        let mut columns = vec![0.0f32; nh * nv];
        for i in 0..nv {
            for j in 0..nh {
                columns[j * nv + i] = w[i * nh + j];
            }
        }
        Ok(enumerate(
            model.hidden_bias(),
            model.visible_bias(),
            &columns,
            par,
        ))
    } else {
        Ok(enumerate(model.visible_bias(), model.hidden_bias(), w, par))
    }
}

/// `ln sum_s exp(a.s + sum_k softplus(o_k + (s^T R)_k))` over `s in {0,1}^n`, where `R`
/// has one row (of `other_bias.len()` values) per enumerated unit.
fn enumerate(enum_bias: &[f32], other_bias: &[f32], rows: &[f32], par: Parallelism) -> f64 {
    let n = enum_bias.len();
    let m = other_bias.len();
    let chunk_bits = n.min(CHUNK_BITS);
    let chunks = 1usize << (n - chunk_bits);
    let chunk = |chunk_index: usize| -> LogSumExp {
        let high = chunk_index << chunk_bits;
        let mut input64: Vec<f64> = other_bias.iter().map(|&o| o as f64).collect();
        let mut linear = 0.0f64;
        for u in chunk_bits..n {
            if (high >> u) & 1 == 1 {
                linear += enum_bias[u] as f64;
                for (x, &r) in input64.iter_mut().zip(&rows[u * m..(u + 1) * m]) {
                    *x += r as f64;
                }
            }
        }
        let mut input: Vec<f32> = input64.iter().map(|&x| x as f32).collect();
        let mut on = vec![false; chunk_bits];
        let mut acc = LogSumExp::EMPTY;
        for t in 0..(1usize << chunk_bits) {
            if t > 0 {
                let u = t.trailing_zeros() as usize;
                on[u] = !on[u];
                let sign = if on[u] { 1.0f32 } else { -1.0 };
                linear += sign as f64 * enum_bias[u] as f64;
                for (x, &r) in input.iter_mut().zip(&rows[u * m..(u + 1) * m]) {
                    *x += sign * r;
                }
            }
            acc.add(linear + softplus_sum(&input));
        }
        acc
    };
    let total = match par {
        Parallelism::Sequential => (0..chunks)
            .map(chunk)
            .fold(LogSumExp::EMPTY, LogSumExp::merge),
        Parallelism::Threads(_) => (0..chunks)
            .into_par_iter()
            .map(chunk)
            .reduce(|| LogSumExp::EMPTY, LogSumExp::merge),
    };
    total.value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::activation::log_sum_exp;
    use ebm_kernels::rng::{normal_f64, stream};

    fn random_model(nv: usize, nh: usize, scale: f64, seed: u64) -> BinaryRbm {
        let mut m = BinaryRbm::zeros(nv, nh);
        let mut rng = stream(seed, 0, 0);
        let (w, b, c) = m.parameters_mut();
        for x in w.iter_mut().chain(b.iter_mut()).chain(c.iter_mut()) {
            *x = (scale * normal_f64(&mut rng)) as f32;
        }
        m
    }

    fn brute_force(m: &BinaryRbm) -> f64 {
        let (nv, nh) = (m.n_visible(), m.n_hidden());
        let mut terms = Vec::new();
        for vb in 0..(1u32 << nv) {
            let v: Vec<f32> = (0..nv).map(|i| ((vb >> i) & 1) as f32).collect();
            for hb in 0..(1u32 << nh) {
                let h: Vec<f32> = (0..nh).map(|j| ((hb >> j) & 1) as f32).collect();
                terms.push(-m.energy(&v, &h));
            }
        }
        log_sum_exp(&terms)
    }

    #[test]
    fn matches_brute_force_both_orientations() {
        for (nv, nh) in [(7, 4), (4, 7), (6, 6)] {
            let m = random_model(nv, nh, 1.0, (nv * 10 + nh) as u64);
            let got = exact_log_partition(&m, Parallelism::Sequential).unwrap();
            let want = brute_force(&m);
            assert!((got - want).abs() < 1e-5, "{nv}x{nh}: {got} vs {want}");
        }
    }

    #[test]
    fn chunked_and_threaded_enumeration_agree() {
        // 16 hidden units: 16 chunks of 2^12 states.
        let m = random_model(30, 16, 0.3, 5);
        let seq = exact_log_partition(&m, Parallelism::Sequential).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let thr = pool
            .install(|| exact_log_partition(&m, Parallelism::Threads(2)))
            .unwrap();
        assert!((seq - thr).abs() < 1e-9);
        // Zero weights: Z factorizes.
        let z = BinaryRbm::zeros(30, 16);
        let want = 46.0 * 2f64.ln();
        assert!((exact_log_partition(&z, Parallelism::Sequential).unwrap() - want).abs() < 1e-6);
    }

    #[test]
    fn refuses_wide_models() {
        let m = BinaryRbm::zeros(30, 26);
        assert!(matches!(
            exact_log_partition(&m, Parallelism::Sequential),
            Err(RbmError::TooLargeForExact { found: 26, .. })
        ));
    }
}
