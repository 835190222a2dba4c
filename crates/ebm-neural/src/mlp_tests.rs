//! Every pass of the MLP energy against finite differences of an independent `f64`
//! reference (plain loops, no jets), for every activation, first and second order (the
//! harness and its tolerance: [`crate::pass_checks`]).

use super::*;
use crate::backend::Cpu;
use crate::pass_checks::{Case, assert_round_trips, assert_same_bits_on_one_and_two_threads};
use ebm_kernels::rng::stream;

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

const N: usize = 3;
const D: usize = 3;
const WIDTHS: [usize; 4] = [D, 5, 4, 1];

/// The input gradient; the parameter gradient of every quantity, and the quantity itself
/// in the output block the pass leaves it in, on a net of widths [3, 5, 4, 1] with
/// weights and biases N(0, 0.8^2) and three examples ([`Case::check_every_pass`]).
#[test]
fn every_pass_against_finite_differences() {
    let count: usize = WIDTHS.windows(2).map(|p| p[0] * p[1] + p[1]).sum();
    for activation in Activation::ALL {
        let energy = |p: &[f64], x: &[f64]| reference_energy(&WIDTHS, activation, p, x);
        let net = |p| Mlp::from_parameters(&WIDTHS, activation, p).unwrap();
        let case = Case::drawn((3, count, 0.8), (N, D), net, &energy);
        // The identity net is linear: its Hessian vanishes (checked exactly below).
        case.check_every_pass(
            &format!("{activation:?}"),
            activation != Activation::Identity,
        );
        if activation == Activation::Identity {
            // For the linear net the second-order pass gives exactly zero.
            let (math, mut ws) = (Cpu::sequential(), Workspace::new());
            let mut grad = vec![1.0; case.p.len()];
            let quadratic = Quantity::HessianQuadratic(&case.u);
            let (x, w) = (&case.x, &case.w);
            case.net
                .parameter_gradient(&math, &mut ws, x, N, quadratic, w, &mut grad, false);
            assert!(grad.iter().chain(ws.output(2)).all(|&g| g == 0.0));
        }
    }
}

/// Products large enough to be split across threads give the same bits on 1 and 2.
#[test]
fn every_pass_is_bit_identical_for_one_and_two_threads() {
    let widths = [196, 96, 64, 1];
    let mlp = Mlp::new(&widths, Activation::Swish, 1.0, &mut stream(4, 0, 0)).unwrap();
    assert_same_bits_on_one_and_two_threads(&mlp, 64);
}

/// `grad_x E` of `n` drawn rows at `par` (on a pool of that many threads), as bits.
fn input_gradient_bits(mlp: &Mlp, n: usize, par: ebm_kernels::Parallelism) -> Vec<u32> {
    let mut r = stream(6, 0, 0);
    let x: Vec<f32> = (0..n * mlp.n_inputs())
        .map(|_| ebm_kernels::rng::normal_f64(&mut r) as f32)
        .collect();
    let mut grad_x = vec![0.0; x.len()];
    let pool = ebm_core::thread_pool(par.threads()).unwrap();
    pool.install(|| mlp.input_gradient(&Cpu { par }, &mut Workspace::new(), &x, n, &mut grad_x));
    grad_x.iter().map(|g| g.to_bits()).collect()
}

/// With the transposed copy of [`EnergyNet::prepare_sampling`] (which the first layer of
/// each net gets) the input gradient has the same bits as without it, on 1 and on 2
/// threads (the products split by rows), for the speed comparison's net too.
#[test]
fn the_transposed_copy_and_the_row_split_keep_the_bits() {
    use ebm_kernels::Parallelism::{Sequential, Threads};
    for (widths, n) in [(&[300, 256, 96, 1][..], 100), (&[784, 512, 512, 1], 128)] {
        let plain = Mlp::new(widths, Activation::Swish, 1.0, &mut stream(7, 0, 0)).unwrap();
        let mut prepared = plain.clone();
        prepared.prepare_sampling();
        assert!(prepared.is_prepared_for_sampling() && !plain.is_prepared_for_sampling());
        assert_eq!(prepared, plain, "the copy is no part of the model");
        let reference = input_gradient_bits(&plain, n, Sequential);
        for (net, par) in [
            (&plain, Threads(2)),
            (&prepared, Sequential),
            (&prepared, Threads(2)),
        ] {
            let bits = input_gradient_bits(net, n, par);
            assert!(bits == reference, "{widths:?} {par:?}");
        }
        assert_same_bits_on_one_and_two_threads(&prepared, 64);
    }
}

/// Every way the parameters can change drops the transposed copy: after a change through
/// `parameters_mut` or `visit_layers` (the optimizer's way in), the input gradient is
/// that of a fresh net with the new parameters, not of the stale copy.
#[test]
fn no_stale_transposed_copy_after_a_parameter_update() {
    let par = ebm_kernels::Parallelism::Sequential;
    let widths = [300, 256, 96, 1];
    let mut mlp = Mlp::new(&widths, Activation::Swish, 1.0, &mut stream(8, 0, 0)).unwrap();
    let fresh = |mlp: &Mlp| {
        Mlp::from_parameters(mlp.widths(), mlp.activation(), mlp.parameters().to_vec()).unwrap()
    };
    mlp.prepare_sampling();
    mlp.parameters_mut()[..widths[0] * widths[1]]
        .iter_mut()
        .for_each(|w| *w *= -1.5);
    assert!(!mlp.is_prepared_for_sampling());
    assert_eq!(
        input_gradient_bits(&mlp, 8, par),
        input_gradient_bits(&fresh(&mlp), 8, par)
    );
    mlp.prepare_sampling();
    mlp.visit_layers(&mut |weights, _| weights.iter_mut().for_each(|w| *w *= 0.5));
    assert!(!mlp.is_prepared_for_sampling());
    assert_eq!(
        input_gradient_bits(&mlp, 8, par),
        input_gradient_bits(&fresh(&mlp), 8, par)
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
    assert_round_trips(
        &Mlp::new(&[2, 3, 1], Activation::Elu, 1.0, &mut r).unwrap(),
        "mlp",
    );
}

/// The linear 2-D energy `E(x) = w . x`: one identity hidden unit of weights `w`, output
/// weight 1, no biases (for tests of what runs on an energy: Langevin, quadrature).
pub(crate) fn linear_energy(w: [f32; 2]) -> Mlp {
    Mlp::from_parameters(
        &[2, 1, 1],
        Activation::Identity,
        vec![w[0], w[1], 0.0, 1.0, 0.0],
    )
    .unwrap()
}
