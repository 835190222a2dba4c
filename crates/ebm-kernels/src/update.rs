//! Optimizer updates of a parameter block: momentum SGD and Adam.

use crate::Parallelism;
use rayon::prelude::*;

/// Elements per parallel task of [`momentum_step`].
const CHUNK: usize = 1 << 14;

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
    let kernel = |((p, v), g): ((&mut [f32], &mut [f32]), &[f32])| {
        momentum_chunk(p, v, g, lr, momentum, decay)
    };
    match par {
        Parallelism::Threads(_) if param.len() > CHUNK => param
            .par_chunks_mut(CHUNK)
            .zip(velocity.par_chunks_mut(CHUNK))
            .zip(grad.par_chunks(CHUNK))
            .for_each(kernel),
        _ => param
            .chunks_mut(CHUNK)
            .zip(velocity.chunks_mut(CHUNK))
            .zip(grad.chunks(CHUNK))
            .for_each(kernel),
    }
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
    type Chunks<'a> = (((&'a mut [f32], &'a mut [f32]), &'a mut [f32]), &'a [f32]);
    let kernel = |(((p, m), v), g): Chunks<'_>| adam_chunk(p, m, v, g, rates);
    match par {
        Parallelism::Threads(_) if param.len() > CHUNK => param
            .par_chunks_mut(CHUNK)
            .zip(first.par_chunks_mut(CHUNK))
            .zip(second.par_chunks_mut(CHUNK))
            .zip(grad.par_chunks(CHUNK))
            .for_each(kernel),
        _ => param
            .chunks_mut(CHUNK)
            .zip(first.chunks_mut(CHUNK))
            .zip(second.chunks_mut(CHUNK))
            .zip(grad.chunks(CHUNK))
            .for_each(kernel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_formula() {
        let mut p = vec![1.0f32; 40_000];
        let mut v = vec![0.5f32; 40_000];
        let g = vec![2.0f32; 40_000];
        momentum_step(&mut p, &mut v, &g, 0.1, 0.9, 0.01, Parallelism::Sequential);
        let want_v = 0.9 * 0.5 + 0.1 * (2.0 - 0.01);
        assert!(v.iter().all(|&x| (x - want_v).abs() < 1e-6));
        assert!(p.iter().all(|&x| (x - (1.0 + want_v)).abs() < 1e-6));
        let (mut p2, mut v2) = (vec![1.0f32; 40_000], vec![0.5f32; 40_000]);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            momentum_step(
                &mut p2,
                &mut v2,
                &g,
                0.1,
                0.9,
                0.01,
                Parallelism::Threads(2),
            )
        });
        assert_eq!((p, v), (p2, v2));
    }

    #[test]
    fn adam_follows_the_formula_and_ignores_threads() {
        let g = vec![2.0f32; 40_000];
        let rates = AdamRates::at_step(0.1, 0.9, 0.999, 1e-8, 0.01, 1);
        let (mut p, mut m, mut v) = (
            vec![1.0f32; 40_000],
            vec![0.0f32; 40_000],
            vec![0.0f32; 40_000],
        );
        adam_step(&mut p, &mut m, &mut v, &g, &rates, Parallelism::Sequential);
        // Step 1 from zero moments: the bias-corrected ratio is sign(g'), so p moves by lr.
        let g_decayed = 2.0 - 0.01 * 1.0;
        assert!((m[0] - 0.1 * g_decayed).abs() < 1e-6);
        assert!((v[0] - 0.001 * g_decayed * g_decayed).abs() < 1e-6);
        assert!(p.iter().all(|&x| (x - 1.1).abs() < 1e-5), "{}", p[0]);
        let (mut p2, mut m2, mut v2) = (
            vec![1.0f32; 40_000],
            vec![0.0f32; 40_000],
            vec![0.0f32; 40_000],
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            adam_step(
                &mut p2,
                &mut m2,
                &mut v2,
                &g,
                &rates,
                Parallelism::Threads(2),
            )
        });
        assert_eq!((p, m, v), (p2, m2, v2));
    }
}
