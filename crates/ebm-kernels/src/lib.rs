//! Dense `f32` kernels for energy-based models, with no model knowledge.
//!
//! - [`matrix`]: borrowed strided views ([`MatRef`], [`MatMut`]) so a transpose is a
//!   change of strides, never a copy;
//! - [`gemm`](mod@gemm): the one matrix-product entry point (backend: the `gemm` crate);
//! - [`activation`]: branch-free, vectorizable sigmoid / softplus / log-sum-exp;
//! - [`rng`]: RNG streams keyed by `(seed, epoch, chunk)` and bulk random-bit buffers;
//! - [`sampling`]: Bernoulli sampling from pre-drawn random bits;
//! - [`sparse`]: products with binary matrices over their active entries only;
//! - [`update`]: the momentum SGD parameter update;
//! - [`vector`]: short-vector dot, axpy, shifted softplus sums, softmax, categorical draws;
//! - [`dispatch`]: runtime AVX2+FMA dispatch of the hot loops above.
//!
//! ```
//! use ebm_kernels::{MatMut, MatRef, Parallelism, gemm::gemm};
//! let a = [1.0f32, 2.0, 3.0, 4.0]; // 2x2, row-major
//! let b = [1.0f32, 0.0, 0.0, 1.0];
//! let mut c = [0.0f32; 4];
//! // c = a * b^T (b^T is a view with swapped strides, no copy)
//! gemm(0.0, &mut MatMut::from_row_major(&mut c, 2, 2), 1.0,
//!      MatRef::from_row_major(&a, 2, 2), MatRef::from_row_major(&b, 2, 2).t(),
//!      Parallelism::Sequential);
//! assert_eq!(c, a);
//! ```

pub mod activation;
pub mod dispatch;
pub mod gemm;
pub mod matrix;
pub mod rng;
pub mod sampling;
pub mod sparse;
#[cfg(test)]
mod test_support;
pub mod update;
pub mod vector;

pub use matrix::{MatMut, MatRef};

/// How many threads a kernel may use. Kernels never nest parallelism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parallelism {
    /// Run on the calling thread.
    Sequential,
    /// Split the work across this many threads of the current rayon pool.
    Threads(usize),
}

impl Parallelism {
    /// `Sequential` for 0 or 1 threads, `Threads(n)` otherwise.
    pub fn with_threads(threads: usize) -> Self {
        if threads <= 1 {
            Parallelism::Sequential
        } else {
            Parallelism::Threads(threads)
        }
    }

    /// Number of threads this setting uses (at least 1).
    pub fn threads(self) -> usize {
        match self {
            Parallelism::Sequential => 1,
            Parallelism::Threads(n) => n.max(1),
        }
    }
}
