//! The momentum SGD update of a parameter block.

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
}
