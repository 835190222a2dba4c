//! What `ebm energy train`, `eval` and `sample` do.

use super::net::{EnergyModel, new_conv};
use super::{ActivationArg, EvalArgs, MethodArg, NetArg, SampleArgs, TrainArgs};
use crate::Failure;
use crate::args::ImageShape;
use crate::output::Metrics;
use crate::progress::Progress;
use crate::run_log::{Epoch, Family, On};
use ebm_core::schedule::LearningRateSchedule;
use ebm_core::train::{EpochReport, LoopConfig, OnEpoch, OptimizerConfig};
use ebm_kernels::rng::stream;
use ebm_neural::ais::AisSettings;
use ebm_neural::density::quadrature_nll;
use ebm_neural::langevin::{LangevinBuffers, LangevinConfig, langevin, uniform_noise};
use ebm_neural::tempering::Tempering;
use ebm_neural::train::{EnergyTrainConfig, Method, Recovery, adam, train_energy, train_network};
use ebm_neural::{Activation, ConvNet, Cpu, EnergyNet, Mlp, NeuralError, OnBackend, Workspace};

/// A library error as a failure: an invalid setting names its flag, a divergence beyond
/// recovery is a failed run, anything else (data, shapes) is bad input.
fn failure(error: NeuralError) -> Failure {
    const FLAGS: &[(&str, &str)] = &[
        ("hidden", "--hidden"),
        ("init_scale", "--init-scale"),
        ("noise_std", "--noise-std"),
        ("final_noise_std", "--final-noise-std"),
        ("antithetic_noise", "--antithetic"),
        ("buffer_size", "--buffer"),
        ("reinit_fraction", "--reinit"),
        ("langevin.steps", "--langevin-steps"),
        ("langevin.step_size", "--step-size"),
        ("langevin.noise_scale", "--noise-scale"),
        ("noise_range", "--noise-range"),
        ("energy_regularization", "--energy-regularization"),
        ("clip_gradient_norm", "--clip-gradient"),
        ("sigma_max", "--sigma-max"),
        ("sigma_min", "--sigma-min"),
        ("levels", "--levels"),
        ("ema", "--ema"),
        ("metropolis_adjusted", "--mala"),
    ];
    crate::setup::neural_failure(error, FLAGS)
}

/// The largest |value| of `points` (at least a small positive number).
fn largest_magnitude(points: &[f32]) -> f32 {
    points.iter().fold(1e-3f32, |m, &x| m.max(x.abs()))
}

/// The metrics of `energy train`'s learning curves.
const LOSS: Family = Family::new("loss", "training objective", "per example");
const NLL: Family = Family::new("nll", "exact negative log-likelihood", "nats per point");

/// Run `ebm energy train`.
pub fn train(args: TrainArgs) -> Result<(), Failure> {
    let (method, steps, step_size) = match args.method {
        MethodArg::Cd => (Method::ShortRun, 60, 0.01),
        MethodArg::Pcd => (
            Method::Persistent {
                buffer_size: args.buffer,
                reinit_fraction: args.reinit,
            },
            10,
            0.02,
        ),
        MethodArg::Dsm => (
            Method::Denoising {
                noise_std: args.noise_std,
            },
            30,
            0.005,
        ),
        MethodArg::Ssm | MethodArg::SsmVr => (
            Method::Sliced {
                variance_reduced: args.method == MethodArg::SsmVr,
            },
            30,
            0.005,
        ),
        MethodArg::Ncsn => (
            Method::NoiseConditional {
                sigma_max: args.sigma_max.unwrap_or(1.0),
                sigma_min: args.sigma_min,
                levels: args.levels,
            },
            30,
            0.005,
        ),
    };
    let mut langevin = LangevinConfig::unadjusted(
        args.langevin_steps.unwrap_or(steps),
        args.step_size.unwrap_or(step_size),
    );
    if let Some(noise) = args.noise_scale {
        langevin.noise_scale = noise;
    }
    let cd = matches!(args.method, MethodArg::Cd | MethodArg::Pcd);
    let defaults = EnergyTrainConfig::default();
    let mut config = EnergyTrainConfig {
        hidden: crate::args::positive_list("--hidden", "widths", &args.hidden)?,
        activation: match args.activation {
            ActivationArg::Swish => Activation::Swish,
            ActivationArg::Softplus => Activation::Softplus,
            ActivationArg::Elu => Activation::Elu,
        },
        init_scale: args.init_scale,
        method,
        langevin,
        tempering: Tempering {
            replicas: args.replicas,
            max_temperature_ratio: args.max_temperature_ratio,
        },
        final_noise_std: args.final_noise_std,
        antithetic_noise: args.antithetic,
        metropolis_adjusted: args.mala,
        energy_regularization: if cd { args.energy_regularization } else { 0.0 },
        clip_gradient_norm: args.clip_gradient,
        optimizer: OptimizerConfig {
            learning_rate_schedule: match &args.lr_schedule {
                Some(text) => crate::rbm::parse_schedule(text)?,
                None => LearningRateSchedule::Linear {
                    final_fraction: 0.05,
                },
            },
            ..adam(args.lr)
        },
        run: LoopConfig {
            ema: args.ema,
            ..args
                .training
                .loop_config(args.epochs, args.batch, args.random, defaults.run)
        },
        ..defaults
    };
    config.validate().map_err(|e| failure(e.into()))?;
    let file = (args.train.as_ref(), "--train");
    let (points, dim) = args.data.load(file, args.random.seed, 0)?;
    if let Method::NoiseConditional { sigma_max, .. } = &mut config.method {
        *sigma_max = args
            .sigma_max
            .unwrap_or_else(|| super::noise_conditional::largest_distance(&points, dim));
    }
    config.noise_range = match (args.noise_range, args.data.density()) {
        (Some(range), _) => range,
        (None, Some(density)) => density.bound(),
        (None, None) => largest_magnitude(&points),
    };
    config.validate().map_err(|e| failure(e.into()))?;
    let quiet = args.training.report.quiet;
    let mut log = args.training.epoch_log("ebm energy train");
    // A logged run on a built-in density also records the exact held-out NLL (2,000
    // test points of stream 1, ln Z on a 100 x 100 grid) after every epoch.
    let held_out = match args.data.density() {
        Some(density) if log.is_active() && args.method != MethodArg::Ncsn => Some((
            density.sample(2_000, &mut stream(args.random.seed, 1, 0)),
            density.bound(),
        )),
        _ => None,
    };
    let conv = match args.net {
        NetArg::Mlp => None,
        NetArg::Conv => {
            let channels = crate::args::positive_list("--channels", "channels", &args.channels)?;
            Some(new_conv(&config, &channels, args.image.image_shape, dim)?)
        }
    };
    let (math, mut ws) = (Cpu::sequential(), Workspace::new());
    let trained = Progress::timed(config.run.epochs, quiet, |progress| {
        // Each good epoch's loss to the progress line and the log.
        let report = |r: &EpochReport| {
            let loss = r.metric("loss").unwrap_or(f64::NAN);
            let acceptance = r
                .metric("acceptance")
                .map_or(String::new(), |a| format!(", acceptance {a:.3}"));
            let text = format!("loss {loss:.5}{acceptance}, {:.1} s", r.seconds);
            progress.epoch_report(r, &text);
            vec![(&LOSS, On::Train, loss)]
        };
        let fitted: Result<(EnergyModel, Vec<Recovery>), NeuralError> = match conv {
            Some(net) => {
                let mut observer = OnEpoch(|r: &EpochReport, _: &ConvNet| {
                    log.record(Epoch::of(r), &report(r));
                });
                train_network(&config, &points, net, &mut observer)
                    .map(|fit| (EnergyModel::Conv(fit.model), fit.recoveries))
            }
            None => {
                let mut observer = OnEpoch(|r: &EpochReport, model: &Mlp| {
                    let mut values = report(r);
                    if let Some((test, bound)) = &held_out {
                        let nll = quadrature_nll(model, &math, &mut ws, test, *bound, 100);
                        values.push((&NLL, On::HeldOut, nll.unwrap_or(f64::NAN)));
                    }
                    log.record(Epoch::of(r), &values);
                });
                train_energy(&config, &points, dim, &mut observer).and_then(|fit| {
                    let model = match fit.noise_conditional(config.method)? {
                        Some(ncsn) => EnergyModel::NoiseConditional(ncsn),
                        None => EnergyModel::Mlp(fit.model),
                    };
                    Ok((model, fit.recoveries))
                })
            }
        };
        fitted.map_err(failure)
    });
    let mut logged = Metrics::default();
    log.finish(&mut logged)?;
    let ((model, recoveries), mut m) = trained?;
    m.extend(logged);
    for recovery in &recoveries {
        eprintln!("note: {recovery}");
    }
    m.integer("examples", (points.len() / dim) as u64)
        .integer("dim", dim as u64)
        .integer("epochs", config.run.epochs as u64)
        .integer("recoveries", recoveries.len() as u64)
        .number("noise_range", config.noise_range as f64);
    if let EnergyModel::NoiseConditional(ncsn) = &model {
        super::noise_conditional::ladder_metrics(ncsn, &mut m);
    }
    args.training.save_and_report(&model, m)
}

/// The test points of `args` (`--test` or `--dataset`), checked against `model`'s
/// inputs, with their count and mean energy under `model`.
fn test_energies<T: EnergyNet>(
    args: &EvalArgs,
    model: &T,
) -> Result<(Vec<f32>, usize, f64), Failure> {
    let file = (args.test.as_ref(), "--test");
    let (test, dim) = args.data.load(file, args.random.seed, 1)?;
    if dim != model.n_inputs() {
        return Err(Failure::input(format!(
            "{}: the model has {} inputs, the test points {dim} values each",
            args.model.display(),
            model.n_inputs()
        )));
    }
    let (math, mut ws) = (Cpu::sequential(), T::Workspace::default());
    let n = test.len() / dim;
    let mean_energy = model
        .energy(&math, &mut ws, &test, n)
        .iter()
        .map(|&e| e as f64)
        .sum::<f64>()
        / n as f64;
    Ok((test, n, mean_energy))
}

/// `ebm energy eval` of any energy network: the test examples and mean test energy, the
/// model-specific metrics `between` adds from the test points, then with `--ais-runs`
/// `ln Z` and the test NLL by AIS; printed.
fn eval_net<T>(
    model: &T,
    args: &EvalArgs,
    ais_settings: Option<&AisSettings>,
    between: impl FnOnce(&[f32], &mut Metrics) -> Result<(), Failure>,
) -> Result<(), Failure>
where
    T: EnergyNet + Sync,
    T::Workspace: Send,
{
    let (test, n, mean_energy) = test_energies(args, model)?;
    let mut m = Metrics::default();
    m.integer("test_examples", n as u64)
        .number("mean_energy", mean_energy);
    between(&test, &mut m)?;
    if let Some(settings) = ais_settings {
        let par = args.measure.run.parallelism();
        // The AIS chains run with the parameters fixed: a copy prepared for sampling
        // (the transposed weights) gives the same results faster.
        let mut prepared = model.clone();
        prepared.prepare_sampling();
        let mut energy = OnBackend::new(&prepared, Cpu { par });
        super::ais::report(&mut energy, &test, args, settings, mean_energy, &mut m)?;
    }
    args.measure.output.print(&m);
    Ok(())
}

/// Run `ebm energy eval`.
pub fn eval(args: EvalArgs) -> Result<(), Failure> {
    args.measure.run.check()?;
    let ais_settings = super::ais::settings(&args)?;
    let loaded = EnergyModel::load(&args.model)?;
    if let EnergyModel::Conv(conv) = &loaded {
        if args.quadrature {
            return Err(Failure::input(format!(
                "--quadrature: {} is a convolutional energy of images; quadrature needs a 2-D model (use --ais-runs)",
                args.model.display()
            )));
        }
        return eval_net(conv, &args, ais_settings.as_ref(), |_, _| Ok(()));
    }
    let model = loaded.mlp_energy(&args.model)?;
    let between = |test: &[f32], m: &mut Metrics| {
        if let Some(density) = args.data.density() {
            m.number("true_nll", density.nll(test));
        }
        if let EnergyModel::NoiseConditional(ncsn) = &loaded {
            super::noise_conditional::level_metrics(ncsn, test, args.random.seed, m)?;
        }
        if args.quadrature {
            quadrature_metrics(&model, &args, test, m)?;
        }
        Ok(())
    };
    eval_net(&model, &args, ais_settings.as_ref(), between)
}

/// `--quadrature`: the exact test NLL of a 2-D MLP energy from a grid over the box (and
/// with `--png` the pictures of the density beside the truth) into `m`.
fn quadrature_metrics(
    model: &Mlp,
    args: &EvalArgs,
    test: &[f32],
    m: &mut Metrics,
) -> Result<(), Failure> {
    let bound = match (args.bound, args.data.density()) {
        (Some(bound), _) => bound,
        (None, Some(density)) => density.bound(),
        (None, None) => 1.25 * largest_magnitude(test),
    };
    if !(bound.is_finite() && bound > 0.0) {
        return Err(Failure::input("--bound must be a positive number"));
    }
    let (dim, math, mut ws) = (model.n_inputs(), Cpu::sequential(), Workspace::new());
    crate::memory::check_chains("--grid", args.grid, args.grid * (dim + 64))?;
    let nll = quadrature_nll(model, &math, &mut ws, test, bound, args.grid)
        .map_err(|e| Failure::input(format!("--quadrature: {e}")))?;
    m.number("test_nll", nll)
        .number("bound", bound as f64)
        .integer("grid", args.grid as u64);
    if let Some(png) = &args.png {
        let panels = super::picture::draw(args, (model, nll), test, bound)?;
        m.integer("panels", panels as u64)
            .text("png", &png.display().to_string());
    }
    Ok(())
}

/// Run `ebm energy sample`: Langevin chains from uniform noise; a 2-D model's samples are
/// drawn as a 2-D histogram over the box, other models' as image tiles.
pub fn sample(args: SampleArgs) -> Result<(), Failure> {
    if !(args.bound.is_finite() && args.bound > 0.0) {
        return Err(Failure::input("--bound must be a positive number"));
    }
    if let Some(out) = &args.out {
        crate::tables::is_npy(out)?;
    }
    let mut model = EnergyModel::load(&args.model)?;
    let dim = model.n_inputs();
    crate::memory::check_chains("--chains", args.chains, dim)?;
    let mut rng = stream(args.random.seed, 0, 0);
    let mut x = vec![0.0f32; args.chains * dim];
    uniform_noise(&mut x, args.bound, &mut rng);
    let mut config = LangevinConfig::unadjusted(args.steps, args.step_size);
    if let Some(noise) = args.noise_scale {
        config.noise_scale = noise;
    }
    let chains = (&mut x[..], args.chains, &config, &mut rng);
    let mean_energy = match &mut model {
        EnergyModel::Mlp(mlp) => run_chains(mlp, chains),
        EnergyModel::Conv(conv) => run_chains(conv, chains),
        EnergyModel::NoiseConditional(ncsn) => {
            let (x, chains, _, rng) = chains;
            super::noise_conditional::sample(ncsn, &args, x, rng)?;
            let (math, mut ws) = (Cpu::sequential(), Workspace::new());
            let energies = ncsn
                .energy_at(ncsn.sigmas().len() - 1)
                .energy(&math, &mut ws, x, chains);
            Ok(energies.iter().map(|&e| e as f64).sum::<f64>() / chains as f64)
        }
    }
    .map_err(|e| Failure::input(format!("--steps/--step-size/--noise-scale: {e}")))?;
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Failure::run(format!(
            "{}: the Langevin chains diverged (give a smaller --step-size, or --step-epsilon for ncsn models)",
            args.model.display()
        )));
    }
    let mut m = Metrics::default();
    m.integer("chains", args.chains as u64)
        .number("mean_energy", mean_energy);
    if dim == 2 {
        let side = 200;
        let histogram = histogram_2d(&x, args.bound, side);
        ImageShape {
            height: side,
            width: side,
        }
        .write_square_grid(&args.png, &histogram)?;
        let inside = x
            .chunks_exact(2)
            .filter(|p| p.iter().all(|v| v.abs() <= args.bound));
        m.number("share_in_box", inside.count() as f64 / args.chains as f64);
    } else if let Some(shape) = args.image.resolve_or_note(&args.model, dim)? {
        shape.write_square_grid(&args.png, &x[..args.chains.min(100) * dim])?;
    }
    if let Some(out) = &args.out {
        crate::tables::write_table(out, x, dim, &["x"])?;
    }
    m.text("png", &args.png.display().to_string());
    args.output.print(&m);
    Ok(())
}

/// Langevin chains `(x, chains, config, rng)` on `net`, in place: the mean energy before
/// the last step. The net is prepared for sampling first (its parameters stay fixed
/// through the chains: [`EnergyNet::prepare_sampling`], same results, faster steps).
fn run_chains<N: EnergyNet>(
    net: &mut N,
    (x, chains, config, rng): (
        &mut [f32],
        usize,
        &LangevinConfig,
        &mut ebm_kernels::rng::StreamRng,
    ),
) -> Result<f64, NeuralError> {
    net.prepare_sampling();
    let mut buffers = LangevinBuffers::default();
    langevin(
        &*net,
        &Cpu::sequential(),
        &mut buffers,
        x,
        chains,
        config,
        rng,
    )
}

/// Counts of the 2-D points `xy` in a `side x side` grid over `[-bound, bound]^2` (row 0
/// at the top, the largest second coordinate), as square roots scaled to a largest value
/// of 1, so sparse mass shows.
fn histogram_2d(xy: &[f32], bound: f32, side: usize) -> Vec<f32> {
    let mut counts = vec![0.0f32; side * side];
    let cell = |v: f32| ((v + bound) / (2.0 * bound) * side as f32).floor();
    for p in xy.chunks_exact(2) {
        let (column, row) = (cell(p[0]), cell(p[1]));
        if (0.0..side as f32).contains(&column) && (0.0..side as f32).contains(&row) {
            let row = side - 1 - row as usize;
            counts[row * side + column as usize] += 1.0;
        }
    }
    let top = counts.iter().fold(0.0f32, |m, &c| m.max(c)).sqrt().max(1.0);
    counts.iter_mut().for_each(|c| *c = c.sqrt() / top);
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_puts_points_in_their_cells_with_y_up() {
        // (-0.9, -0.9) is bottom left, (0.9, 0.9) top right (twice), (5, 0) outside.
        let h = histogram_2d(&[-0.9, -0.9, 0.9, 0.9, 0.9, 0.9, 5.0, 0.0], 1.0, 2);
        assert_eq!(h, [0.0, 1.0, 1.0 / 2f32.sqrt(), 0.0]);
    }
}
