//! Smooth activations with their first three derivatives: what the second-order passes of
//! score matching need (the parameter gradient of `v^T H v` differentiates `phi''`).

use ebm_kernels::activation::{exp_approx, sigmoid_scalar, softplus_scalar};
use serde::{Deserialize, Serialize};

/// An elementwise activation of the hidden layers (the output layer is linear).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// `ln(1 + e^z)`.
    Softplus,
    /// `z * sigmoid(z)` (also called SiLU).
    Swish,
    /// `z` for `z > 0`, `e^z - 1` otherwise (alpha = 1, so `phi'` is continuous; `phi''`
    /// jumps at 0).
    Elu,
    /// `z` (a linear layer).
    Identity,
}

impl Activation {
    /// Every activation, for tests and command-line choices.
    pub const ALL: [Activation; 4] = [
        Activation::Softplus,
        Activation::Swish,
        Activation::Elu,
        Activation::Identity,
    ];

    /// `[phi(z), phi'(z), phi''(z), phi'''(z)]`, branch-free (so loops over it vectorize),
    /// with the kernel crate's `exp`; the first two agree bit for bit with
    /// [`value_slope`](Self::value_slope).
    ///
    /// ```
    /// use ebm_neural::Activation;
    /// let [value, slope, ..] = Activation::Softplus.jet(0.0);
    /// assert!((value - 2f32.ln()).abs() < 1e-6 && (slope - 0.5).abs() < 1e-6);
    /// ```
    #[inline(always)]
    pub fn jet(self, z: f32) -> [f32; 4] {
        match self {
            Activation::Softplus => {
                let s = sigmoid_scalar(z);
                let s1 = s * (1.0 - s);
                let s2 = s1 * (1.0 - 2.0 * s);
                [softplus_scalar(z), s, s1, s2]
            }
            Activation::Swish => {
                let s = sigmoid_scalar(z);
                let s1 = s * (1.0 - s);
                let s2 = s1 * (1.0 - 2.0 * s);
                let s3 = s2 * (1.0 - 2.0 * s) - 2.0 * s1 * s1;
                [z * s, s + z * s1, 2.0 * s1 + z * s2, 3.0 * s2 + z * s3]
            }
            Activation::Elu => {
                let e = exp_approx(z.min(0.0));
                if z > 0.0 {
                    [z, 1.0, 0.0, 0.0]
                } else {
                    [e - 1.0, e, e, e]
                }
            }
            Activation::Identity => [z, 1.0, 0.0, 0.0],
        }
    }

    /// `[phi(z), phi'(z)]`: what a first-order pass needs, computed as
    /// [`jet`](Self::jet) computes them (the same bits) without the higher derivatives.
    ///
    /// ```
    /// use ebm_neural::Activation;
    /// for a in Activation::ALL {
    ///     let [value, slope, ..] = a.jet(0.3);
    ///     assert_eq!(a.value_slope(0.3), [value, slope]);
    /// }
    /// ```
    #[inline(always)]
    pub fn value_slope(self, z: f32) -> [f32; 2] {
        match self {
            Activation::Softplus => [softplus_scalar(z), sigmoid_scalar(z)],
            Activation::Swish => {
                let s = sigmoid_scalar(z);
                let s1 = s * (1.0 - s);
                [z * s, s + z * s1]
            }
            Activation::Elu => {
                let e = exp_approx(z.min(0.0));
                if z > 0.0 { [z, 1.0] } else { [e - 1.0, e] }
            }
            Activation::Identity => [z, 1.0],
        }
    }

    /// `phi(z)` in `f64`: the reference the finite-difference tests differentiate.
    pub fn value_f64(self, z: f64) -> f64 {
        match self {
            Activation::Softplus => z.max(0.0) + (-z.abs()).exp().ln_1p(),
            Activation::Swish => z / (1.0 + (-z).exp()),
            Activation::Elu => {
                if z > 0.0 {
                    z
                } else {
                    z.exp_m1()
                }
            }
            Activation::Identity => z,
        }
    }

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Softplus => "softplus",
            Activation::Swish => "swish",
            Activation::Elu => "elu",
            Activation::Identity => "identity",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each derivative of the `f32` jet matches a central difference of the one below it
    /// (the value from the `f64` reference), away from ELU's kink at 0. Tolerance 1e-3
    /// absolute: the differences have truncation error ~h^2 = 1e-6 and the `f32` jet
    /// rounding ~1e-7; a wrong derivative is off by O(0.1) or more.
    #[test]
    fn every_derivative_matches_finite_differences() {
        let h = 1e-3f64;
        for activation in Activation::ALL {
            for i in 0..81 {
                let z = -4.0 + 0.1 * i as f64 + 0.0123;
                let jet = activation.jet(z as f32);
                let value = |z: f64| activation.value_f64(z);
                // phi^(k) by differences of phi^(k-1): the value in f64, the rest from
                // the jet evaluated (in f32) at z +- h.
                let d1 = (value(z + h) - value(z - h)) / (2.0 * h);
                let at = |z: f64, k: usize| activation.jet(z as f32)[k] as f64;
                let d2 = (at(z + h, 1) - at(z - h, 1)) / (2.0 * h);
                let d3 = (at(z + h, 2) - at(z - h, 2)) / (2.0 * h);
                assert!(
                    (jet[0] as f64 - value(z)).abs() < 1e-6,
                    "{activation:?} {z}"
                );
                for (k, d) in [(1, d1), (2, d2), (3, d3)] {
                    assert!(
                        (jet[k] as f64 - d).abs() < 1e-3 * (1.0 + d.abs()),
                        "{activation:?} phi^{k}({z}) = {} vs {d}",
                        jet[k]
                    );
                }
            }
        }
    }
}
