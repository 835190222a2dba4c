//! The speed of an MLP energy 784-512-512-1 (swish) at batch 128: a Langevin step's
//! network work (energy and input gradient), a CD-style training step (parameter gradient
//! of the mean energy, then Adam) and a denoising-score-matching step (input gradient,
//! the second-order parameter pass, then Adam), at 1 and 2 threads. Prints one JSON line
//! per measurement (median milliseconds of 30 runs after 5 warm-ups);
//! `benches/mlp_step_vs_torch.py` runs the same computations in PyTorch beside it.
//!
//! ```sh
//! cargo bench -p ebm-neural --bench mlp_step
//! ```

use ebm_kernels::Parallelism;
use ebm_kernels::rng::{normal_f64, stream};
use ebm_kernels::update::{AdamRates, adam_step};
use ebm_neural::{Activation, Cpu, EnergyNet, Mlp, Quantity, Workspace};
use std::time::Instant;

const BATCH: usize = 128;
const WIDTHS: [usize; 4] = [784, 512, 512, 1];

/// Adam (learning rate 1e-4) on an MLP's parameters.
struct Adam {
    first: Vec<f32>,
    second: Vec<f32>,
    t: u64,
}

impl Adam {
    fn new(count: usize) -> Self {
        Self {
            first: vec![0.0; count],
            second: vec![0.0; count],
            t: 0,
        }
    }

    fn step(&mut self, mlp: &mut Mlp, grad: &[f32], par: Parallelism) {
        self.t += 1;
        let rates = AdamRates::at_step(-1e-4, 0.9, 0.999, 1e-8, 0.0, self.t);
        let (first, second) = (&mut self.first, &mut self.second);
        adam_step(mlp.parameters_mut(), first, second, grad, &rates, par);
    }
}

/// Median milliseconds of `f` over 30 runs after 5 warm-ups.
fn median_ms(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let mut times: Vec<f64> = (0..30)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let mut mlp = Mlp::new(&WIDTHS, Activation::Swish, 1.0, &mut stream(1, 0, 0)).unwrap();
    let mut r = stream(2, 0, 0);
    let x: Vec<f32> = (0..BATCH * 784)
        .map(|_| normal_f64(&mut r) as f32)
        .collect();
    let eps: Vec<f32> = (0..BATCH * 784)
        .map(|_| normal_f64(&mut r) as f32)
        .collect();
    let count = mlp.parameters().len();
    for threads in [1usize, 2] {
        let pool = ebm_core::thread_pool(threads).unwrap();
        pool.install(|| {
            let math = Cpu {
                par: Parallelism::with_threads(threads),
            };
            let mut ws = Workspace::new();
            let mut grad_x = vec![0.0f32; BATCH * 784];
            let mut chains = x.clone();
            let langevin = median_ms(|| {
                mlp.input_gradient(&math, &mut ws, &chains, BATCH, &mut grad_x);
                for (c, g) in chains.iter_mut().zip(&grad_x) {
                    *c -= 0.005 * g;
                }
            });
            let (mut grad, mut adam) = (vec![0.0f32; count], Adam::new(count));
            let weights = vec![1.0 / BATCH as f32; BATCH];
            let train = median_ms(|| {
                let energy = Quantity::Energy;
                mlp.parameter_gradient(
                    &math, &mut ws, &x, BATCH, energy, &weights, &mut grad, false,
                );
                adam.step(&mut mlp, &grad, math.par);
            });
            let sigma = 0.1f32;
            let noisy: Vec<f32> = x.iter().zip(&eps).map(|(a, e)| a + sigma * e).collect();
            let mut u = vec![0.0f32; BATCH * 784];
            let dsm = median_ms(|| {
                mlp.input_gradient(&math, &mut ws, &noisy, BATCH, &mut u);
                for (ui, e) in u.iter_mut().zip(&eps) {
                    *ui = sigma * (sigma * *ui - e);
                }
                let directional = Quantity::Directional(&u);
                mlp.parameter_gradient(
                    &math,
                    &mut ws,
                    &noisy,
                    BATCH,
                    directional,
                    &weights,
                    &mut grad,
                    false,
                );
                adam.step(&mut mlp, &grad, math.par);
            });
            for (what, ms) in [
                ("langevin_step", langevin),
                ("train_step_cd", train),
                ("train_step_dsm", dsm),
            ] {
                println!(
                    "{{\"impl\":\"ebm\",\"what\":\"{what}\",\"threads\":{threads},\"ms\":{ms:.4}}}"
                );
            }
        });
    }
}
