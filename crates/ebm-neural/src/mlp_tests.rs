//! Every pass of the MLP energy against finite differences of an independent `f64`
//! reference (plain loops, no jets), for every activation, first and second order.
//!
//! Tolerance: the largest error over a gradient vector must be below 1e-3 of its largest
//! entry (which must itself be at least 1e-2, so no check is vacuous). The analytic passes
//! run in `f32` (relative rounding ~1e-6 on these small nets); the references are central
//! differences in `f64` whose truncation (~h^2) and rounding (~1e-16 / h per level) stay
//! below ~1e-6 with the steps chosen. A wrong or missing term is off by O(1) relative.

use super::*;
use crate::backend::Cpu;
use ebm_core::ModelFile;
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{normal_f64, stream};

/// `E(x)` in `f64` with plain loops, from the parameters `p` laid out as [`Mlp`] lays them.
pub(crate) fn reference_energy(
    widths: &[usize],
    activation: Activation,
    p: &[f64],
    x: &[f64],
) -> f64 {
    let mut input = x.to_vec();
    let mut offset = 0;
    for (l, pair) in widths.windows(2).enumerate() {
        let (d_in, d_out) = (pair[0], pair[1]);
        let bias = offset + d_in * d_out;
        let mut out: Vec<f64> = (0..d_out)
            .map(|j| {
                p[bias + j]
                    + (0..d_in)
                        .map(|i| input[i] * p[offset + i * d_out + j])
                        .sum::<f64>()
            })
            .collect();
        if l + 2 < widths.len() {
            out.iter_mut().for_each(|z| *z = activation.value_f64(*z));
        }
        offset = bias + d_out;
        input = out;
    }
    input[0]
}

/// A test net: widths [3, 5, 4, 1], weights and biases N(0, 0.8^2), three examples.
struct Case {
    mlp: Mlp,
    p: Vec<f64>,
    x: Vec<f32>,
    u: Vec<f32>,
    w: Vec<f32>,
}

const N: usize = 3;
const D: usize = 3;

fn case(activation: Activation, seed: u64) -> Case {
    let widths = [D, 5, 4, 1];
    let mut r = stream(seed, 0, 0);
    let count: usize = widths.windows(2).map(|p| p[0] * p[1] + p[1]).sum();
    let mut draw = |n: usize, s: f64| -> Vec<f32> {
        (0..n).map(|_| (s * normal_f64(&mut r)) as f32).collect()
    };
    let params = draw(count, 0.8);
    let (x, u, w) = (draw(N * D, 1.0), draw(N * D, 1.0), draw(N, 1.0));
    let p = params.iter().map(|&v| v as f64).collect();
    let mlp = Mlp::from_parameters(&widths, activation, params).unwrap();
    Case { mlp, p, x, u, w }
}

impl Case {
    fn energy_at(&self, p: &[f64], n: usize, shift: &[f64], h: f64) -> f64 {
        let x: Vec<f64> = (0..D)
            .map(|i| self.x[n * D + i] as f64 + h * shift[i])
            .collect();
        reference_energy(self.mlp.widths(), self.mlp.activation(), p, &x)
    }

    fn row(&self, v: &[f32], n: usize) -> Vec<f64> {
        v[n * D..(n + 1) * D].iter().map(|&a| a as f64).collect()
    }

    /// The central difference over the parameters of `f(p)`.
    fn parameter_differences(&self, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
        let h = 1e-4;
        let mut p = self.p.clone();
        (0..p.len())
            .map(|i| {
                let keep = p[i];
                p[i] = keep + h;
                let plus = f(&p);
                p[i] = keep - h;
                let minus = f(&p);
                p[i] = keep;
                (plus - minus) / (2.0 * h)
            })
            .collect()
    }

    /// The quantity `q` at example `n` under the parameters `p`, by central differences
    /// of the reference energy along the quantity's direction.
    fn reference(&self, quantity: Quantity<'_>, p: &[f64], n: usize) -> f64 {
        let slope = |e: &[f64], h: f64| {
            (self.energy_at(p, n, e, h) - self.energy_at(p, n, e, -h)) / (2.0 * h)
        };
        match quantity {
            Quantity::Energy => self.energy_at(p, n, &[0.0; D], 0.0),
            Quantity::Directional(u) => slope(&self.row(u, n), 1e-4),
            Quantity::SquaredInputGradient => (0..D)
                .map(|i| {
                    let mut e = [0.0; D];
                    e[i] = 1.0;
                    slope(&e, 1e-4).powi(2)
                })
                .sum(),
            Quantity::HessianQuadratic(v) => {
                let (v, h) = (self.row(v, n), 1e-3);
                (self.energy_at(p, n, &v, h) - 2.0 * self.energy_at(p, n, &v, 0.0)
                    + self.energy_at(p, n, &v, -h))
                    / (h * h)
            }
        }
    }
}

/// `max |analytic - reference| <= 1e-3 max |reference|`, with `max |reference| >= 1e-2`.
fn assert_close(what: &str, analytic: &[f32], reference: &[f64]) {
    assert_eq!(analytic.len(), reference.len(), "{what}");
    let scale = reference.iter().fold(0.0f64, |m, r| m.max(r.abs()));
    let error = analytic
        .iter()
        .zip(reference)
        .fold(0.0f64, |m, (&a, r)| m.max((a as f64 - r).abs()));
    assert!(scale >= 1e-2, "{what}: the reference is ~0 ({scale})");
    assert!(
        error <= 1e-3 * scale,
        "{what}: error {error} at scale {scale}"
    );
}

const SEED: u64 = 3;

/// The input gradient; the parameter gradient of every quantity, and the quantity itself
/// in the output block the pass leaves it in; accumulating adds the same gradient again.
#[test]
fn every_pass_against_finite_differences() {
    let math = Cpu::sequential();
    for activation in Activation::ALL {
        let c = case(activation, SEED);
        let mut ws = Workspace::new();
        let mut grad_x = vec![0.0; N * D];
        c.mlp.input_gradient(&math, &mut ws, &c.x, N, &mut grad_x);
        let h = 1e-5;
        let reference: Vec<f64> = (0..N * D)
            .map(|k| {
                let mut e = [0.0; D];
                e[k % D] = 1.0;
                let n = k / D;
                (c.energy_at(&c.p, n, &e, h) - c.energy_at(&c.p, n, &e, -h)) / (2.0 * h)
            })
            .collect();
        assert_close(&format!("{activation:?} dE/dx"), &grad_x, &reference);

        for (what, quantity, block) in [
            ("E", Quantity::Energy, 0),
            ("u.grad E", Quantity::Directional(&c.u), 1),
            ("|grad E|^2", Quantity::SquaredInputGradient, 1),
            ("v^T H v", Quantity::HessianQuadratic(&c.u), 2),
        ] {
            // The identity net is linear: its Hessian vanishes (checked exactly below).
            if block == 2 && activation == Activation::Identity {
                continue;
            }
            let what = format!("{activation:?} {what}");
            let mut grad = vec![0.0; c.p.len()];
            c.mlp
                .parameter_gradient(&math, &mut ws, &c.x, N, quantity, &c.w, &mut grad, false);
            let values: Vec<f64> = (0..N).map(|n| c.reference(quantity, &c.p, n)).collect();
            assert_close(&what, ws.output(block), &values);
            let reference = c.parameter_differences(|p| {
                (0..N)
                    .map(|n| c.w[n] as f64 * c.reference(quantity, p, n))
                    .sum()
            });
            assert_close(&format!("d({what})/dtheta"), &grad, &reference);
            let once = grad.clone();
            c.mlp
                .parameter_gradient(&math, &mut ws, &c.x, N, quantity, &c.w, &mut grad, true);
            for (g, o) in grad.iter().zip(&once) {
                assert!((g - 2.0 * o).abs() <= 1e-6 * (1.0 + o.abs()), "{what}");
            }
        }
    }
    // For the linear net the second-order pass gives exactly zero.
    let c = case(Activation::Identity, SEED);
    let (mut ws, mut grad) = (Workspace::new(), vec![1.0; c.p.len()]);
    let quadratic = Quantity::HessianQuadratic(&c.u);
    c.mlp
        .parameter_gradient(&math, &mut ws, &c.x, N, quadratic, &c.w, &mut grad, false);
    assert!(grad.iter().chain(ws.output(2)).all(|&g| g == 0.0));
}

/// Products large enough to be split across threads give the same bits on 1 and 2.
#[test]
fn every_pass_is_bit_identical_for_one_and_two_threads() {
    let widths = [196, 96, 64, 1];
    let mlp = Mlp::new(&widths, Activation::Swish, 1.0, &mut stream(4, 0, 0)).unwrap();
    let mut r = stream(5, 0, 0);
    let n = 64;
    let x: Vec<f32> = (0..n * 196).map(|_| normal_f64(&mut r) as f32).collect();
    let w = vec![1.0f32; n];
    let run = |par: Parallelism| {
        let pool = ebm_core::thread_pool(par.threads()).unwrap();
        pool.install(|| {
            let math = Cpu { par };
            let mut ws = Workspace::new();
            let mut grad = vec![0.0; mlp.parameters().len()];
            let quadratic = Quantity::HessianQuadratic(&x);
            mlp.parameter_gradient(&math, &mut ws, &x, n, quadratic, &w, &mut grad, false);
            let squared = Quantity::SquaredInputGradient;
            mlp.parameter_gradient(&math, &mut ws, &x, n, squared, &w, &mut grad, true);
            grad
        })
    };
    let one = run(Parallelism::Sequential);
    let two = run(Parallelism::Threads(2));
    assert!(
        one.iter()
            .zip(&two)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}

#[test]
fn bad_widths_are_refused_and_files_round_trip() {
    let mut r = stream(1, 0, 0);
    for widths in [&[3][..], &[3, 0, 1], &[3, 4, 2]] {
        assert!(matches!(
            Mlp::new(widths, Activation::Elu, 1.0, &mut r),
            Err(NeuralError::Shape(_))
        ));
    }
    let mlp = Mlp::new(&[2, 3, 1], Activation::Elu, 1.0, &mut r).unwrap();
    let dir = std::env::temp_dir().join(format!("ebm-neural-mlp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("energy.ebm");
    mlp.save(&path).unwrap();
    assert_eq!(Mlp::load(&path).unwrap(), mlp);
    std::fs::remove_dir_all(&dir).unwrap();
}
