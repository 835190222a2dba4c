//! What `ebm joint train`, `predict`, `calibrate` and `sample` do.

use super::{SampleArgs, TrainArgs, failure};
use crate::Failure;
use crate::args::RunArgs;
use crate::output::Metrics;
use crate::progress::Progress;
use crate::run_log::{Epoch, Family, On};
use crate::user_data::ValueRange;
use ebm_core::calibration::most_probable;
use ebm_core::schedule::LearningRateSchedule;
use ebm_core::train::{EpochReport, OnEpoch};
use ebm_data::Dataset;
use ebm_data::mnist::Split;
use ebm_neural::joint::JointEnergy;
use ebm_neural::joint::train::{JointTrainConfig, Labeled, train_joint};
use ebm_neural::langevin::LangevinConfig;
use ebm_neural::train::adam;
use ebm_neural::{Activation, Cpu, Workspace};

/// Why another `--dataset` than mnist is refused.
const MNIST_ONLY: &str = "has no labels; the joint model needs mnist or --train FILE with labels";

/// The metrics of `joint train`'s learning curves.
const ERROR: Family = Family::new("error", "classification error", "fraction misclassified");
const LOSS: Family = Family::new("loss", "training objective", "per example");

/// Rows scored per pass (bounds the workspace).
const CHUNK: usize = 1000;

/// `ln p(y | x)` of every row of `features` (`n x model.n_inputs()`), `n x K`, in chunks
/// of [`CHUNK`] rows on `--threads`.
pub(crate) fn log_probabilities(
    model: &JointEnergy,
    features: &[f32],
    run: RunArgs,
) -> Result<Vec<f32>, Failure> {
    let (d, k) = (model.n_inputs(), model.n_classes());
    let mut out = vec![0.0f32; features.len() / d * k];
    let math = Cpu {
        par: run.parallelism(),
    };
    run.install(|| {
        let mut ws = Workspace::new();
        for (x, o) in features.chunks(CHUNK * d).zip(out.chunks_mut(CHUNK * k)) {
            model.class_log_probabilities(&math, &mut ws, x, x.len() / d, o);
        }
    })?;
    Ok(out)
}

/// The share of the rows of `data` whose most probable class is not their label.
fn error_rate(model: &JointEnergy, data: &Dataset, run: RunArgs) -> Result<f64, Failure> {
    let labels = data.labels.as_deref().unwrap_or_default();
    let log_probs = log_probabilities(model, &data.features, run)?;
    let wrong = log_probs
        .chunks_exact(model.n_classes())
        .zip(labels)
        .filter(|(p, l)| most_probable(p) != usize::from(**l))
        .count();
    Ok(wrong as f64 / labels.len().max(1) as f64)
}

/// Run `ebm joint train`.
pub fn train(args: TrainArgs) -> Result<(), Failure> {
    let defaults = JointTrainConfig::default();
    let mut optimizer = adam(args.lr);
    optimizer.weight_decay = args.weight_decay;
    optimizer.learning_rate_schedule = LearningRateSchedule::Linear {
        final_fraction: 0.05,
    };
    let mut config = JointTrainConfig {
        hidden: crate::args::positive_list("--hidden", "widths", &args.hidden)?,
        activation: match args.activation {
            crate::energy::ActivationArg::Swish => Activation::Swish,
            crate::energy::ActivationArg::Softplus => Activation::Softplus,
            crate::energy::ActivationArg::Elu => Activation::Elu,
        },
        generative_weight: args.generative_weight,
        langevin: LangevinConfig {
            steps: args.sgld_steps,
            step_size: args.step_size,
            noise_scale: args.noise_scale,
            clip_drift: 0.0,
        },
        buffer_size: args.buffer_size,
        reinit_fraction: args.reinit,
        data_noise: args.data_noise,
        max_shift: args.max_shift,
        energy_regularization: args.energy_regularization,
        clip_gradient_norm: args.clip_gradient,
        optimizer,
        run: args
            .training
            .loop_config(args.epochs, args.batch_size, args.random, defaults.run),
        ..defaults
    };
    config.validate().map_err(|e| failure(e.into()))?;
    let data = args
        .data
        .train_set(args.limit, MNIST_ONLY, ValueRange::Unit)?;
    let file = args.data.files.train.as_deref();
    config.n_classes = crate::classifier::label_classes(file, &data, "the joint model")?;
    let labels = data.labels.clone().unwrap_or_default();
    let has_test = args.data.files.train.is_none() || args.data.files.test.is_some();
    let test = if has_test {
        let test = crate::setup::load_mnist(&args.data, Split::Test, MNIST_ONLY, ValueRange::Unit)?;
        crate::setup::check_features(std::path::Path::new("--test"), data.n_features, &test)?;
        Some(test)
    } else {
        None
    };
    let mut log = args.training.epoch_log("ebm joint train");
    let run = args.training.run;
    let trained = Progress::timed(config.run.epochs, args.training.report.quiet, |progress| {
        let mut observer = OnEpoch(|r: &EpochReport, model: &JointEnergy| {
            let error = r.metric("train_error").unwrap_or(f64::NAN);
            let loss = r.metric("loss").unwrap_or(f64::NAN);
            let energies = match (r.metric("energy_data"), r.metric("energy_samples")) {
                (Some(d), Some(s)) => format!(", E(data) {d:.2}, E(samples) {s:.2}"),
                _ => String::new(),
            };
            progress.epoch_report(
                r,
                &format!(
                    "loss {loss:.4}, train error {error:.4}{energies}, {:.1} s",
                    r.seconds
                ),
            );
            let mut values = vec![(&LOSS, On::Train, loss), (&ERROR, On::Train, error)];
            if let Some(test) = test.as_ref().filter(|_| log.is_active()) {
                let error = error_rate(model, test, run).unwrap_or(f64::NAN);
                values.push((&ERROR, On::HeldOut, error));
            }
            log.record(Epoch::of(r), &values);
        });
        let labeled = Labeled {
            features: &data.features,
            dim: data.n_features,
            labels: &labels,
        };
        train_joint(&config, labeled, &mut observer).map_err(failure)
    });
    let mut logged = Metrics::default();
    log.finish(&mut logged)?;
    let (fit, mut m) = trained?;
    m.extend(logged);
    for recovery in &fit.recoveries {
        eprintln!("note: {recovery}");
    }
    m.number("train_error", error_rate(&fit.model, &data, run)?);
    if let Some(test) = &test {
        m.number("test_error", error_rate(&fit.model, test, run)?)
            .integer("n_test", test.n_examples as u64);
    }
    m.text("architecture", &format!("{:?}", fit.model.widths()))
        .integer("n_train", data.n_examples as u64)
        .integer("epochs", config.run.epochs as u64)
        .integer("recoveries", fit.recoveries.len() as u64)
        .integer("threads", config.run.threads as u64);
    args.training.save_and_report(&fit.model, m)
}

impl crate::classifier::Classifier for JointEnergy {
    const NAME: &'static str = "joint model";
    const MNIST_ONLY: &'static str = MNIST_ONLY;

    fn inputs(&self) -> usize {
        self.n_inputs()
    }

    fn classes(&self) -> usize {
        self.n_classes()
    }

    fn log_probabilities(&self, features: &[f32], run: RunArgs) -> Result<Vec<f32>, Failure> {
        log_probabilities(self, features, run)
    }
}

/// Run `ebm joint sample`.
pub fn sample(args: SampleArgs) -> Result<(), Failure> {
    let run = args.measure.run.check()?;
    let mut model: JointEnergy = crate::setup::load_model(&args.model)?;
    let (d, k) = (model.n_inputs(), model.n_classes());
    let classes: Vec<usize> = match args.class {
        Some(class) if class >= k => {
            return Err(Failure::input(format!(
                "--class: {class} is not one of the model's {k} classes (0 to {})",
                k - 1
            )));
        }
        Some(class) => vec![class],
        None => (0..k).collect(),
    };
    let langevin = LangevinConfig {
        steps: args.steps,
        step_size: args.step_size,
        noise_scale: args.noise_scale,
        clip_drift: 0.0,
    };
    langevin.validate().map_err(|e| {
        let flag = match e.setting {
            "langevin.step_size" => "--step-size",
            "langevin.noise_scale" => "--noise-scale",
            _ => "--steps",
        };
        Failure::input(format!("{flag}: {}", e.message))
    })?;
    let per_class = args.chains_per_class;
    crate::memory::check_chains("--chains-per-class", per_class, classes.len() * 3 * d)?;
    let classifier = args
        .samples
        .classifier
        .as_deref()
        .map(|path| crate::classifier::load_classifier(path, d, k))
        .transpose()?;
    let shape = args.samples.image.resolve(&args.model, d)?;
    let intended: Vec<usize> = classes
        .iter()
        .flat_map(|&c| std::iter::repeat_n(c, per_class))
        .collect();
    let n = intended.len();
    let mut x = vec![0.0f32; n * d];
    let mut rng = ebm_kernels::rng::stream(args.random.seed, 0, 0);
    ebm_neural::langevin::uniform_noise(&mut x, 0.5, &mut rng);
    x.iter_mut().for_each(|v| *v += 0.5);
    let math = Cpu {
        par: run.parallelism(),
    };
    // The chains run with the parameters fixed: the transposed weight copy speeds up
    // their input gradients (same samples).
    model.prepare_sampling();
    let mut energies = vec![0.0f32; n];
    let mut buffers = ebm_neural::langevin::LangevinBuffers::default();
    let target = ebm_neural::joint::Target::Classes(&intended);
    // With --clamp, one step at a time, each followed by the projection onto [0, 1]^d.
    let (rounds, per_round) = if args.clamp {
        (
            langevin.steps,
            LangevinConfig {
                steps: 1,
                ..langevin
            },
        )
    } else {
        (1, langevin)
    };
    run.install(|| -> Result<(), ebm_neural::NeuralError> {
        for _ in 0..rounds {
            ebm_neural::langevin::langevin_by(
                &mut buffers,
                &mut x,
                (n, d),
                &per_round,
                &mut rng,
                |ws, x, g| {
                    model.energy_input_gradient(&math, ws, x, target, &mut energies, g);
                    energies.iter().map(|&e| f64::from(e)).sum::<f64>() / n as f64
                },
            )?;
            if args.clamp {
                x.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
            }
        }
        Ok(())
    })?
    .map_err(|e| Failure::run(e.to_string()))?;
    let own = log_probabilities(&model, &x, run)?;
    let own_share = own
        .chunks_exact(k)
        .zip(&intended)
        .filter(|(p, y)| most_probable(p) == **y)
        .count() as f64
        / n as f64;
    let mut m = Metrics::default();
    m.number("model_share", own_share).number(
        "mean_energy",
        energies.iter().map(|&e| f64::from(e)).sum::<f64>() / n as f64,
    );
    // The pictures and the classifier see the samples clipped to the data's [0, 1].
    let clipped: Vec<f32> = x.iter().map(|v| v.clamp(0.0, 1.0)).collect();
    if let Some(classifier) = &classifier {
        crate::classifier::recognized_shares(classifier, &clipped, &intended, &mut m);
    }
    match shape {
        Some(shape) => {
            ebm_data::image_grid::write_png_grid(
                &args.samples.png,
                &clipped,
                shape.height,
                shape.width,
                per_class,
                ebm_data::image_grid::Scaling::Unit,
            )
            .map_err(Failure::run)?;
            m.text("png", &args.samples.png.display().to_string());
        }
        None => eprintln!(
            "note: {}: {d} inputs are not a square image; no picture written (give --image-shape HxW)",
            args.model.display()
        ),
    }
    if let Some(out) = &args.samples.out {
        crate::tables::write_table(out, x, d, &["x"])?;
        m.text("out", &out.display().to_string());
    }
    args.measure.output.print(&m);
    Ok(())
}
