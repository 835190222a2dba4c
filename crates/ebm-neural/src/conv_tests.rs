//! Every pass of the convolutional energy against finite differences of an independent
//! `f64` reference (direct convolution loops, no im2col, no jets), for every activation,
//! first and second order (the harness and its tolerance: [`crate::pass_checks`]; a
//! wrong or missing term, such as a border tap, a pooling weight or a bias on a tangent
//! block, is off by O(1) relative); every training method on it.

use crate::mlp_tests::reference_energy;
use crate::pass_checks::{Case, assert_round_trips, assert_same_bits_on_one_and_two_threads};
use crate::train::tests::{every_method_rolls_back, methods};
use crate::train::{EnergyTrainConfig, adam, train_network};
use crate::{Activation, ConvNet, Cpu, EnergyNet, ImageDims, NeuralError};
use ebm_core::train::{LoopConfig, NoObserver};
use ebm_kernels::rng::{normal_f64, stream};

/// 5x4 images (odd height: a dropped pooling row), stages of 2 and 2 channels (so the
/// second has several input channels), a head with one hidden layer of 3.
const DIMS: ImageDims = ImageDims {
    height: 5,
    width: 4,
    channels: 1,
};
const CHANNELS: [usize; 2] = [2, 2];
const HIDDEN: [usize; 1] = [3];
const N: usize = 2;
const D: usize = 20;

/// `E(x)` in `f64`: direct 3x3 convolutions with zero padding, the activation, 2x2
/// average pooling, then the head by the MLP's reference.
fn reference(activation: Activation, p: &[f64], x: &[f64]) -> f64 {
    let (mut dims, mut image, mut offset) = (DIMS, x.to_vec(), 0);
    for &c_out in &CHANNELS {
        let (h, w, c_in) = (dims.height, dims.width, dims.channels);
        let bias = offset + 9 * c_in * c_out;
        let mut out = vec![0.0; h * w * c_out];
        for y in 0..h {
            for xx in 0..w {
                for co in 0..c_out {
                    let mut z = p[bias + co];
                    for dy in 0..3 {
                        for dx in 0..3 {
                            let (sy, sx) = (y as i64 + dy as i64 - 1, xx as i64 + dx as i64 - 1);
                            if sy < 0 || sx < 0 || sy >= h as i64 || sx >= w as i64 {
                                continue;
                            }
                            for ci in 0..c_in {
                                let v = image[(sy as usize * w + sx as usize) * c_in + ci];
                                z += v * p[offset + ((dy * 3 + dx) * c_in + ci) * c_out + co];
                            }
                        }
                    }
                    out[(y * w + xx) * c_out + co] = activation.value_f64(z);
                }
            }
        }
        let pooled = dims.with_channels(c_out).pooled();
        let mut next = vec![0.0; pooled.len()];
        for oy in 0..pooled.height {
            for ox in 0..pooled.width {
                for c in 0..c_out {
                    next[(oy * pooled.width + ox) * c_out + c] = 0.25
                        * [(0, 0), (0, 1), (1, 0), (1, 1)]
                            .iter()
                            .map(|&(a, b)| out[((2 * oy + a) * w + 2 * ox + b) * c_out + c])
                            .sum::<f64>();
                }
            }
        }
        (dims, image, offset) = (pooled, next, bias + c_out);
    }
    let mut widths = vec![dims.len()];
    widths.extend(HIDDEN);
    widths.push(1);
    reference_energy(&widths, activation, &p[offset..], &image)
}

/// The input gradient, the parameter gradient of every quantity (and the quantity in its
/// output block), for every activation ([`Case::check_every_pass`]).
#[test]
fn every_conv_pass_against_finite_differences() {
    let mut r = stream(7, 0, 0);
    let probe = ConvNet::new(DIMS, &CHANNELS, &HIDDEN, Activation::Elu, 1.0, &mut r).unwrap();
    for activation in Activation::ALL {
        let energy = |p: &[f64], x: &[f64]| reference(activation, p, x);
        let net = |p| ConvNet::from_parameters(DIMS, &CHANNELS, &HIDDEN, activation, p).unwrap();
        let case = Case::drawn((7, probe.n_parameters(), 1.0), (N, D), net, &energy);
        case.check_every_pass(
            &format!("{activation:?}"),
            activation != Activation::Identity,
        );
    }
}

/// A 28x28 net on 1 and 2 threads gives the same bits, for the second-order pass too.
#[test]
fn conv_passes_are_bit_identical_for_one_and_two_threads() {
    let dims = ImageDims {
        height: 28,
        width: 28,
        channels: 1,
    };
    let mut r = stream(4, 0, 0);
    let net = ConvNet::new(dims, &[4, 8], &[16], Activation::Swish, 1.0, &mut r).unwrap();
    assert_same_bits_on_one_and_two_threads(&net, 8);
}

#[test]
fn bad_shapes_are_refused_and_files_round_trip() {
    let mut r = stream(1, 0, 0);
    let tiny = ImageDims {
        height: 3,
        width: 3,
        channels: 1,
    };
    for channels in [&[][..], &[0], &[2, 2]] {
        assert!(matches!(
            ConvNet::new(tiny, channels, &[4], Activation::Elu, 1.0, &mut r),
            Err(NeuralError::Shape(_))
        ));
    }
    let net = ConvNet::new(DIMS, &CHANNELS, &HIDDEN, Activation::Elu, 1.0, &mut r).unwrap();
    let short = vec![0.0; net.n_parameters() - 1];
    assert!(ConvNet::from_parameters(DIMS, &CHANNELS, &HIDDEN, Activation::Elu, short).is_err());
    assert_round_trips(&net, "conv");
}

/// 8x8 images: a bright 4x4 square at one of four places on a dark background, plus
/// noise.
fn squares() -> Vec<f32> {
    let mut r = stream(12, 0, 0);
    let mut data = Vec::new();
    for i in 0..96 {
        let (oy, ox) = (4 * ((i / 2) % 2), 4 * (i % 2));
        for y in 0..8 {
            for x in 0..8 {
                let on = (oy..oy + 4).contains(&y) && (ox..ox + 4).contains(&x);
                let v = if on { 0.9 } else { 0.1 } + 0.03 * normal_f64(&mut r) as f32;
                data.push(v);
            }
        }
    }
    data
}

fn square_net(seed: u64) -> ConvNet {
    let dims = ImageDims {
        height: 8,
        width: 8,
        channels: 1,
    };
    let mut r = stream(seed, 0, 0);
    ConvNet::new(dims, &[4], &[16], Activation::Swish, 1.0, &mut r).unwrap()
}

/// Settings for the 8x8 squares: `epochs` of batches of 32 at Adam rate `rate`.
fn square_config(method: crate::train::Method, epochs: usize, rate: f32) -> EnergyTrainConfig {
    let mut config = EnergyTrainConfig {
        method,
        noise_range: 1.0,
        optimizer: adam(rate),
        clip_gradient_norm: 10.0,
        run: LoopConfig::default().with_batches(epochs, 32),
        ..EnergyTrainConfig::default()
    };
    config.langevin.steps = 10;
    config.langevin.step_size = 0.5;
    config.langevin.noise_scale = 0.005;
    config
}

/// Every method trains the conv net: afterwards the training images have a lower mean
/// energy than uniform noise on the chains' box `[-1, 1]` (a property the untrained net
/// does not have by construction; the noise images differ from the data's squares).
#[test]
fn every_method_trains_the_conv_net() {
    let data = squares();
    let mut r = stream(13, 0, 0);
    let noise: Vec<f32> = (0..32 * 64)
        .map(|_| 2.0 * ebm_kernels::rng::uniform_f64(&mut r) as f32 - 1.0)
        .collect();
    let math = Cpu::sequential();
    for method in methods() {
        let config = square_config(method, 15, 0.01);
        let fit = train_network(&config, &data, square_net(5), &mut NoObserver).unwrap();
        let mut ws = Default::default();
        let mean = |x: &[f32], ws: &mut _| {
            let e = fit.model.energy(&math, ws, x, x.len() / 64);
            e.iter().map(|&v| v as f64).sum::<f64>() / e.len() as f64
        };
        let (on_data, on_noise) = (mean(&data, &mut ws), mean(&noise, &mut ws));
        assert!(
            on_data < on_noise,
            "{method:?}: data {on_data} vs noise {on_noise}"
        );
    }
}

/// The core's rollback check with the conv net: model, moments and replay buffer come
/// back as they were after the last good epoch.
#[test]
fn every_method_rolls_back_the_conv_net() {
    every_method_rolls_back(&squares(), |m| square_config(m, 8, 0.05), |_| square_net(5));
}
