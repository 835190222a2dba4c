//! Optimizer updates of a parameter block: momentum SGD and Adam.

use crate::Parallelism;
use rayon::prelude::*;

/// Elements per parallel task of [`momentum_step`] and [`adam_step`].
const CHUNK: usize = 1 << 14;

/// Equal-length blocks cut into `CHUNK`-element pieces that one kernel call updates in
/// lockstep: a slice, or a pair of blocks zipped, so `((param, velocity), grad)` yields
/// `((p, v), g)` pieces.
trait Blocks {
    /// One piece of every block.
    type Chunk: Send;
    /// The pieces in order, on the calling thread.
    fn sequential(self) -> impl Iterator<Item = Self::Chunk>;
    /// The same pieces as a parallel iterator.
    fn parallel(self) -> impl IndexedParallelIterator<Item = Self::Chunk>;
}

impl<'a> Blocks for &'a mut [f32] {
    type Chunk = &'a mut [f32];
    fn sequential(self) -> impl Iterator<Item = Self::Chunk> {
        self.chunks_mut(CHUNK)
    }
    fn parallel(self) -> impl IndexedParallelIterator<Item = Self::Chunk> {
        self.par_chunks_mut(CHUNK)
    }
}

impl<'a> Blocks for &'a [f32] {
    type Chunk = &'a [f32];
    fn sequential(self) -> impl Iterator<Item = Self::Chunk> {
        self.chunks(CHUNK)
    }
    fn parallel(self) -> impl IndexedParallelIterator<Item = Self::Chunk> {
        self.par_chunks(CHUNK)
    }
}

impl<A: Blocks, B: Blocks> Blocks for (A, B) {
    type Chunk = (A::Chunk, B::Chunk);
    fn sequential(self) -> impl Iterator<Item = Self::Chunk> {
        self.0.sequential().zip(self.1.sequential())
    }
    fn parallel(self) -> impl IndexedParallelIterator<Item = Self::Chunk> {
        self.0.parallel().zip(self.1.parallel())
    }
}

/// Apply `kernel` to each piece of `blocks` (of `len` elements each): in parallel with
/// `Threads` when there is more than one piece, otherwise in order. Every element is
/// updated by the same kernel call either way, so the result does not depend on `par`.
fn for_each_chunk<B: Blocks>(
    len: usize,
    blocks: B,
    par: Parallelism,
    kernel: impl Fn(B::Chunk) + Sync + Send,
) {
    match par {
        Parallelism::Threads(_) if len > CHUNK => blocks.parallel().for_each(kernel),
        _ => blocks.sequential().for_each(kernel),
    }
}

crate::multiversion! {
    fn momentum_chunk(param: &mut [f32], velocity: &mut [f32], grad: &[f32], lr: f32, momentum: f32, decay: f32) {
        for ((p, v), &g) in param.iter_mut().zip(velocity.iter_mut()).zip(grad) {
            *v = momentum * *v + lr * (g - decay * *p);
            *p += *v;
        }
    }
}

/// `velocity = momentum * velocity + lr * (grad - decay * param)`, then
/// `param += velocity` (gradient ascent on the log-likelihood with L2 decay).
/// Elementwise, so the result does not depend on `par`.
pub fn momentum_step(
    param: &mut [f32],
    velocity: &mut [f32],
    grad: &[f32],
    lr: f32,
    momentum: f32,
    decay: f32,
    par: Parallelism,
) {
    assert!(
        param.len() == velocity.len() && param.len() == grad.len(),
        "momentum_step: lengths differ"
    );
    for_each_chunk(
        param.len(),
        ((param, velocity), grad),
        par,
        |((p, v), g)| momentum_chunk(p, v, g, lr, momentum, decay),
    );
}

crate::multiversion! {
    fn adam_chunk(param: &mut [f32], first: &mut [f32], second: &mut [f32], grad: &[f32], rates: &AdamRates) {
        for (((p, m), v), &g) in param.iter_mut().zip(first.iter_mut()).zip(second.iter_mut()).zip(grad) {
            let g = g - rates.decay * *p;
            *m = rates.beta1 * *m + (1.0 - rates.beta1) * g;
            *v = rates.beta2 * *v + (1.0 - rates.beta2) * g * g;
            *p += rates.step * *m / ((*v * rates.second_correction).sqrt() + rates.epsilon);
        }
    }
}

/// The scalars of one Adam step (Kingma & Ba 2015), with the bias corrections of step `t`
/// folded in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamRates {
    /// `lr / (1 - beta1^t)`: the learning rate with the first moment's bias correction.
    pub step: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// `1 / (1 - beta2^t)`: the second moment's bias correction.
    pub second_correction: f32,
    /// Added to the root of the second moment.
    pub epsilon: f32,
    /// L2 decay subtracted from the gradient (`grad - decay * param`).
    pub decay: f32,
}

impl AdamRates {
    /// The rates of step `t` (1-based) for learning rate `lr`.
    pub fn at_step(lr: f32, beta1: f32, beta2: f32, epsilon: f32, decay: f32, t: u64) -> Self {
        let t = t.min(i32::MAX as u64) as i32;
        Self {
            step: lr / (1.0 - beta1.powi(t)),
            beta1,
            beta2,
            second_correction: 1.0 / (1.0 - beta2.powi(t)),
            epsilon,
            decay,
        }
    }
}

/// One Adam step of gradient ascent: with `g = grad - decay * param`,
/// `first = beta1 first + (1 - beta1) g`, `second = beta2 second + (1 - beta2) g^2`, and
/// `param += step * first / (sqrt(second * second_correction) + epsilon)`.
/// Elementwise, so the result does not depend on `par`.
pub fn adam_step(
    param: &mut [f32],
    first: &mut [f32],
    second: &mut [f32],
    grad: &[f32],
    rates: &AdamRates,
    par: Parallelism,
) {
    assert!(
        param.len() == first.len() && param.len() == second.len() && param.len() == grad.len(),
        "adam_step: lengths differ"
    );
    for_each_chunk(
        param.len(),
        (((param, first), second), grad),
        par,
        |(((p, m), v), g)| adam_chunk(p, m, v, g, rates),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sequential_and_threaded;

    #[test]
    fn follows_the_formula() {
        let g = vec![2.0f32; 40_000];
        let ((p, v), threaded) = sequential_and_threaded(|par| {
            let mut p = vec![1.0f32; 40_000];
            let mut v = vec![0.5f32; 40_000];
            momentum_step(&mut p, &mut v, &g, 0.1, 0.9, 0.01, par);
            (p, v)
        });
        let want_v = 0.9 * 0.5 + 0.1 * (2.0 - 0.01);
        assert!(v.iter().all(|&x| (x - want_v).abs() < 1e-6));
        assert!(p.iter().all(|&x| (x - (1.0 + want_v)).abs() < 1e-6));
        assert_eq!((p, v), threaded);
    }

    #[test]
    fn adam_follows_the_formula_and_ignores_threads() {
        let g = vec![2.0f32; 40_000];
        let rates = AdamRates::at_step(0.1, 0.9, 0.999, 1e-8, 0.01, 1);
        let ((p, m, v), threaded) = sequential_and_threaded(|par| {
            let (mut p, mut m, mut v) = (
                vec![1.0f32; 40_000],
                vec![0.0f32; 40_000],
                vec![0.0f32; 40_000],
            );
            adam_step(&mut p, &mut m, &mut v, &g, &rates, par);
            (p, m, v)
        });
        // Step 1 from zero moments: the bias-corrected ratio is sign(g'), so p moves by lr.
        let g_decayed = 2.0 - 0.01 * 1.0;
        assert!((m[0] - 0.1 * g_decayed).abs() < 1e-6);
        assert!((v[0] - 0.001 * g_decayed * g_decayed).abs() < 1e-6);
        assert!(p.iter().all(|&x| (x - 1.1).abs() < 1e-5), "{}", p[0]);
        assert_eq!((p, m, v), threaded);
    }
}
