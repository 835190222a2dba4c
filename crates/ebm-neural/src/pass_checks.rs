//! The finite-difference harness of the networks' tests: every pass of an [`EnergyNet`]
//! against central differences of an independent `f64` reference of its energy.
//!
//! Tolerance: the largest error over a gradient vector must be below 1e-3 of its largest
//! entry (which must itself be at least 1e-2, so no check is vacuous). The analytic passes
//! run in `f32` (relative rounding ~1e-6 on the small test nets); the references are
//! central differences in `f64` (steps 1e-4 and 1e-5 for first differences, 1e-3 for the
//! second difference of `v^T H v`) whose truncation (~h^2) and rounding (~1e-16 / h per
//! level) stay below ~1e-6. A wrong or missing term is off by O(1) relative.

use crate::{Cpu, EnergyNet, Quantity};
use ebm_core::ModelFile;
use ebm_kernels::Parallelism;
use ebm_kernels::rng::{normal_f64, stream};

/// A network under test: its parameters `p` in `f64` (laid out as its parameter
/// gradient), `n` examples `x` of `d` values, a direction `u` per example, weights `w`,
/// and the reference `energy(p, x)` of one example.
pub(crate) struct Case<'r, N> {
    pub net: N,
    pub p: Vec<f64>,
    pub x: Vec<f32>,
    pub u: Vec<f32>,
    pub w: Vec<f32>,
    pub n: usize,
    pub d: usize,
    pub energy: &'r dyn Fn(&[f64], &[f64]) -> f64,
}

impl<'r, N: EnergyNet> Case<'r, N> {
    /// `count` parameters drawn `N(0, scale^2)` (the network is `net(parameters)`), then
    /// `n x d` inputs and directions and `n` weights drawn `N(0, 1)`, from stream `seed`.
    pub(crate) fn drawn(
        (seed, count, scale): (u64, usize, f64),
        (n, d): (usize, usize),
        net: impl FnOnce(Vec<f32>) -> N,
        energy: &'r dyn Fn(&[f64], &[f64]) -> f64,
    ) -> Self {
        let mut r = stream(seed, 0, 0);
        let mut draw = |m: usize, s: f64| -> Vec<f32> {
            (0..m).map(|_| (s * normal_f64(&mut r)) as f32).collect()
        };
        let params = draw(count, scale);
        let (x, u, w) = (draw(n * d, 1.0), draw(n * d, 1.0), draw(n, 1.0));
        let p = params.iter().map(|&v| v as f64).collect();
        Self {
            net: net(params),
            p,
            x,
            u,
            w,
            n,
            d,
            energy,
        }
    }

    /// The reference energy of example `k` shifted by `h shift`, under parameters `p`.
    fn energy_at(&self, p: &[f64], k: usize, shift: &[f64], h: f64) -> f64 {
        let d = self.d;
        let x: Vec<f64> = (0..d)
            .map(|i| self.x[k * d + i] as f64 + h * shift[i])
            .collect();
        (self.energy)(p, &x)
    }

    fn row(&self, v: &[f32], k: usize) -> Vec<f64> {
        v[k * self.d..(k + 1) * self.d]
            .iter()
            .map(|&a| a as f64)
            .collect()
    }

    fn unit(&self, i: usize) -> Vec<f64> {
        let mut e = vec![0.0; self.d];
        e[i] = 1.0;
        e
    }

    /// The quantity `q` at example `k` under the parameters `p`, by central differences
    /// of the reference energy along the quantity's direction.
    fn reference(&self, quantity: Quantity<'_>, p: &[f64], k: usize) -> f64 {
        let slope = |e: &[f64], h: f64| {
            (self.energy_at(p, k, e, h) - self.energy_at(p, k, e, -h)) / (2.0 * h)
        };
        match quantity {
            Quantity::Energy => self.energy_at(p, k, &vec![0.0; self.d], 0.0),
            Quantity::Directional(u) => slope(&self.row(u, k), 1e-4),
            Quantity::SquaredInputGradient => (0..self.d)
                .map(|i| slope(&self.unit(i), 1e-4).powi(2))
                .sum(),
            Quantity::HessianQuadratic(v) => {
                let (v, h) = (self.row(v, k), 1e-3);
                (self.energy_at(p, k, &v, h) - 2.0 * self.energy_at(p, k, &v, 0.0)
                    + self.energy_at(p, k, &v, -h))
                    / (h * h)
            }
        }
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

    /// The input gradient; the parameter gradient of every quantity (of `v^T H v` only
    /// when `second_order`), and the quantity itself in the output block the pass leaves
    /// it in; accumulating adds the same gradient again.
    pub(crate) fn check_every_pass(&self, name: &str, second_order: bool) {
        let (math, n) = (Cpu::sequential(), self.n);
        let mut ws = N::Workspace::default();
        let mut grad_x = vec![0.0; n * self.d];
        self.net
            .input_gradient(&math, &mut ws, &self.x, n, &mut grad_x);
        let h = 1e-5;
        let reference: Vec<f64> = (0..n * self.d)
            .map(|i| {
                let (k, e) = (i / self.d, self.unit(i % self.d));
                (self.energy_at(&self.p, k, &e, h) - self.energy_at(&self.p, k, &e, -h)) / (2.0 * h)
            })
            .collect();
        assert_close(&format!("{name} dE/dx"), &grad_x, &reference);
        for (what, quantity, block) in [
            ("E", Quantity::Energy, 0),
            ("u.grad E", Quantity::Directional(&self.u), 1),
            ("|grad E|^2", Quantity::SquaredInputGradient, 1),
            ("v^T H v", Quantity::HessianQuadratic(&self.u), 2),
        ] {
            if block == 2 && !second_order {
                continue;
            }
            let what = format!("{name} {what}");
            let (x, w) = (&self.x, &self.w);
            let mut grad = vec![0.0; self.p.len()];
            let net = &self.net;
            net.parameter_gradient(&math, &mut ws, x, n, quantity, w, &mut grad, false);
            let values: Vec<f64> = (0..n)
                .map(|k| self.reference(quantity, &self.p, k))
                .collect();
            assert_close(&what, N::jets(&ws).output(block), &values);
            let reference = self.parameter_differences(|p| {
                (0..n)
                    .map(|k| self.w[k] as f64 * self.reference(quantity, p, k))
                    .sum()
            });
            assert_close(&format!("d({what})/dtheta"), &grad, &reference);
            let once = grad.clone();
            net.parameter_gradient(&math, &mut ws, x, n, quantity, w, &mut grad, true);
            for (g, o) in grad.iter().zip(&once) {
                assert!((g - 2.0 * o).abs() <= 1e-6 * (1.0 + o.abs()), "{what}");
            }
        }
    }
}

/// `max |analytic - reference| <= 1e-3 max |reference|`, with `max |reference| >= 1e-2`.
pub(crate) fn assert_close(what: &str, analytic: &[f32], reference: &[f64]) {
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

/// The second-order parameter gradients (of `v^T H v` along `x` and of `|grad E|^2`)
/// and the input gradient of `net` at `n` rows `x ~ N(0, I)` (stream 5) give the same
/// bits on 1 thread and on 2 (each in its own pool).
pub(crate) fn assert_same_bits_on_one_and_two_threads<N: EnergyNet>(net: &N, n: usize) {
    let mut r = stream(5, 0, 0);
    let x: Vec<f32> = (0..n * net.n_inputs())
        .map(|_| normal_f64(&mut r) as f32)
        .collect();
    let (x, w) = (&x[..], vec![1.0f32; n]);
    let run = |par: Parallelism| {
        let (math, mut ws) = (Cpu { par }, N::Workspace::default());
        let mut grad = vec![0.0; net.n_parameters()];
        let quadratic = Quantity::HessianQuadratic(x);
        net.parameter_gradient(&math, &mut ws, x, n, quadratic, &w, &mut grad, false);
        let squared = Quantity::SquaredInputGradient;
        net.parameter_gradient(&math, &mut ws, x, n, squared, &w, &mut grad, true);
        let mut grad_x = vec![0.0; x.len()];
        net.input_gradient(&math, &mut ws, x, n, &mut grad_x);
        grad.extend(grad_x);
        grad
    };
    let on = |par: Parallelism| {
        let pool = ebm_core::thread_pool(par.threads()).unwrap();
        pool.install(|| run(par))
    };
    let (one, two) = (on(Parallelism::Sequential), on(Parallelism::Threads(2)));
    assert!(
        one.iter()
            .zip(&two)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}

/// `model` saved to a temporary file `name` loads back equal.
pub(crate) fn assert_round_trips<M: ModelFile + PartialEq + std::fmt::Debug>(
    model: &M,
    name: &str,
) {
    let dir = std::env::temp_dir().join(format!("ebm-neural-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.ebm");
    model.save(&path).unwrap();
    assert_eq!(&M::load(&path).unwrap(), model);
    std::fs::remove_dir_all(&dir).unwrap();
}
