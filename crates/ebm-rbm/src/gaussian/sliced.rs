//! Sliced score matching of the Gaussian RBM (Song et al. 2019) in closed form, with
//! unit variances (standardized units, as for denoising score matching).
//!
//! With `F(v) = |v - b|^2 / 2 - sum_j softplus(a_j)`, `a = c + W^T v`, `p = sigmoid(a)`,
//! the model's score is `psi(v) = b - v + W p` and its Jacobian
//! `grad psi = -I + W diag(p (1 - p)) W^T`. For a projection `u ~ N(0, I)` the objective
//! of one example is `u^T grad psi u + 0.5 (u . psi)^2` (plain) or
//! `u^T grad psi u + 0.5 |psi|^2` (variance-reduced), where
//! `u^T grad psi u = -|u|^2 + sum_j p_j (1 - p_j) s_j^2` with `s = W^T u`.
//!
//! Gradients: with `e = (u . psi) u` (plain) or `e = psi` (variance-reduced), the second
//! term's gradient is `e^T d psi`: `e` for `b`, `h = (W^T e) * p (1 - p)` for `c`,
//! `e p^T + v h^T` for `W` (the structure of denoising score matching with `e` as the
//! residual). The first term's is `q' s^2` for `c` and `v (q' s^2)^T + 2 u (q s)^T` for
//! `W`, with `q = p (1 - p)` and `q' = q (1 - 2p)`.

use super::GaussianRbm;
use super::gradient::{Buffers, hidden_probabilities, pulls, score_bias_gradients, times_weights};
use ebm_kernels::Parallelism;
use ebm_kernels::gemm::gemm;
use ebm_kernels::rng::{StreamRng, normal_f64};
use ebm_kernels::{MatMut, MatRef};

/// The sliced score-matching gradient (the descent direction negated, so the caller's
/// ascent update lowers the objective) of the batch in `buf.v0`, variances held at 1;
/// returns the batch's summed objective.
pub(super) fn sliced_score_matching_gradient(
    model: &GaussianRbm,
    buf: &mut Buffers,
    variance_reduced: bool,
    rng: &mut StreamRng,
    par: Parallelism,
) -> f64 {
    let (nv, nh) = (model.n_visible(), model.n_hidden());
    let rows = buf.v0.len() / nv;
    // u (in vk), p (in p0), psi = b - v + W p (in pull0), s = W^T u per row (in h).
    buf.vk.iter_mut().for_each(|u| *u = normal_f64(rng) as f32);
    hidden_probabilities(model, &buf.v0, &mut buf.scaled0, &mut buf.p0, par);
    pulls(model, &buf.p0, &mut buf.pull0, par);
    for (k, psi_row) in buf.pull0.chunks_exact_mut(nv).enumerate() {
        for (i, psi) in psi_row.iter_mut().enumerate() {
            *psi += model.visible_bias[i] - buf.v0[k * nv + i];
        }
    }
    times_weights(model, 0.0, &mut buf.h, &buf.vk, par);
    // e (in residual) and the objective.
    let mut objective = 0.0f64;
    for k in 0..rows {
        let row = k * nv..(k + 1) * nv;
        let (u, psi) = (&buf.vk[row.clone()], &buf.pull0[row.clone()]);
        let projected: f64 = u.iter().zip(psi).map(|(&a, &b)| (a * b) as f64).sum();
        let squared_u: f64 = u.iter().map(|&a| (a * a) as f64).sum();
        let curvature: f64 = buf.p0[k * nh..(k + 1) * nh]
            .iter()
            .zip(&buf.h[k * nh..(k + 1) * nh])
            .map(|(&p, &s)| (p * (1.0 - p) * s * s) as f64)
            .sum();
        objective += curvature - squared_u;
        let e = &mut buf.residual[row];
        if variance_reduced {
            e.copy_from_slice(psi);
            objective += 0.5 * psi.iter().map(|&x| (x * x) as f64).sum::<f64>();
        } else {
            for (ei, &ui) in e.iter_mut().zip(u) {
                *ei = projected as f32 * ui;
            }
            objective += 0.5 * projected * projected;
        }
    }
    // Hidden signals: A = (W^T e) q + q' s^2 (in q), B = 2 q s (in pk).
    times_weights(model, 0.0, &mut buf.q, &buf.residual, par);
    for (((a, b), &p), &s) in buf
        .q
        .iter_mut()
        .zip(buf.pk.iter_mut())
        .zip(&buf.p0)
        .zip(&buf.h)
    {
        let q = p * (1.0 - p);
        *a = *a * q + q * (1.0 - 2.0 * p) * s * s;
        *b = 2.0 * q * s;
    }
    // dW = E^T P + V^T A + U^T B; the update wants -dW.
    let mut grad_w = MatMut::from_row_major(&mut buf.grad.weights, nv, nh);
    for (beta, left, right) in [
        (0.0, &buf.residual, &buf.p0),
        (1.0, &buf.v0, &buf.q),
        (1.0, &buf.vk, &buf.pk),
    ] {
        gemm(
            beta,
            &mut grad_w,
            -1.0,
            MatRef::from_row_major(left, rows, nv).t(),
            MatRef::from_row_major(right, rows, nh),
            par,
        );
    }
    score_bias_gradients(&mut buf.grad, &buf.residual, &buf.q);
    objective
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gaussian::tests::small_model;
    use ebm_kernels::activation::sigmoid_scalar;
    use ebm_kernels::rng::stream;

    /// The summed objective of the batch `v` (`rows x nv`) along the projections `u`,
    /// straight from its definition in f64.
    fn objective(model: &GaussianRbm, v: &[f32], u: &[f32], variance_reduced: bool) -> f64 {
        let (nv, nh) = (model.n_visible(), model.n_hidden());
        let mut total = 0.0;
        for (vr, ur) in v.chunks_exact(nv).zip(u.chunks_exact(nv)) {
            let a = model.hidden_input(vr);
            let p: Vec<f64> = a.iter().map(|&a| sigmoid_scalar(a as f32) as f64).collect();
            let mut psi = vec![0.0f64; nv];
            let mut quadratic = -ur.iter().map(|&x| (x * x) as f64).sum::<f64>();
            for (j, &pj) in p.iter().enumerate() {
                let s: f64 = (0..nv)
                    .map(|i| (model.weights[i * nh + j] * ur[i]) as f64)
                    .sum();
                quadratic += pj * (1.0 - pj) * s * s;
            }
            for i in 0..nv {
                let pull: f64 = (0..nh)
                    .map(|j| model.weights[i * nh + j] as f64 * p[j])
                    .sum();
                psi[i] = model.visible_bias[i] as f64 - vr[i] as f64 + pull;
            }
            let second = if variance_reduced {
                0.5 * psi.iter().map(|x| x * x).sum::<f64>()
            } else {
                let r: f64 = psi.iter().zip(ur).map(|(p, &u)| p * u as f64).sum();
                0.5 * r * r
            };
            total += quadratic + second;
        }
        total
    }

    /// A gradient block and the model field it belongs to.
    type Block<'a> = (&'a [f32], fn(&mut GaussianRbm) -> &mut Vec<f32>);

    /// Both objectives' gradients (W, b, c) against central differences of the
    /// objective at the same projections, to 1% of the largest component; the returned
    /// objective is the definition's.
    #[test]
    fn the_gradient_matches_finite_differences_of_the_objective() {
        let mut model = small_model(3);
        model.log_variance.fill(0.0);
        let (nv, rows) = (model.n_visible(), 5);
        let mut r = stream(4, 0, 0);
        let v: Vec<f32> = (0..rows * nv).map(|_| normal_f64(&mut r) as f32).collect();
        for variance_reduced in [false, true] {
            let mut buf = Buffers::new(rows, &model);
            buf.v0.copy_from_slice(&v);
            let seed = stream(9, 0, 0);
            let value = sliced_score_matching_gradient(
                &model,
                &mut buf,
                variance_reduced,
                &mut seed.clone(),
                Parallelism::Sequential,
            );
            let mut again = seed.clone();
            let u: Vec<f32> = (0..rows * nv)
                .map(|_| normal_f64(&mut again) as f32)
                .collect();
            let exact = objective(&model, &v, &u, variance_reduced);
            assert!(
                (value - exact).abs() < 1e-3 * (1.0 + exact.abs()),
                "{value} vs {exact}"
            );
            let blocks: [Block<'_>; 3] = [
                (&buf.grad.weights, |m| &mut m.weights),
                (&buf.grad.visible_bias, |m| &mut m.visible_bias),
                (&buf.grad.hidden_bias, |m| &mut m.hidden_bias),
            ];
            let largest = blocks
                .iter()
                .flat_map(|(g, _)| g.iter())
                .fold(0.0f32, |m, g| m.max(g.abs()));
            assert!(largest > 1e-2);
            let h = 1e-3f32;
            for (gradient, block) in blocks {
                for (j, &g) in gradient.iter().enumerate() {
                    let mut plus = model.clone();
                    block(&mut plus)[j] += h;
                    let mut minus = model.clone();
                    block(&mut minus)[j] -= h;
                    let numeric = (objective(&plus, &v, &u, variance_reduced)
                        - objective(&minus, &v, &u, variance_reduced))
                        / (2.0 * h as f64);
                    // The buffers hold minus the gradient.
                    assert!(
                        (numeric as f32 + g).abs() < 0.01 * largest,
                        "{variance_reduced}: {j}: {numeric} vs {}",
                        -g
                    );
                }
            }
        }
    }
}
