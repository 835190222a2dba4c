//! `ebm rbm train`.

use super::{MethodArg, TrainArgs};
use crate::Failure;
use crate::output::Metrics;
use crate::progress::{Progress, epoch_line};
use crate::run_log::{Epoch, EpochLog, Family, On, held_out};
use crate::setup::{first, rbm_failure, without_labels};
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::OptimizerConfig;
use ebm_core::train::TrainError;
use ebm_data::Dataset;
use ebm_data::catalog::DatasetName;
use ebm_data::mnist::Split;
use ebm_kernels::Parallelism;
use ebm_rbm::RbmError;
use ebm_rbm::metrics::reconstruction_error;
use ebm_rbm::train::{
    EpochReport, Method, SparsityTarget, TrainConfig, TrainObserver, TrainState, train,
};
use std::path::PathBuf;

/// Default number of epochs of a new run.
const DEFAULT_EPOCHS: usize = 10;

/// A `--lr-schedule` value: constant, linear, inverse:RATE or cosine.
pub(crate) fn parse_schedule(text: &str) -> Result<LearningRateSchedule, Failure> {
    match text {
        "constant" => Ok(LearningRateSchedule::Constant),
        "cosine" => Ok(LearningRateSchedule::Cosine),
        "linear" => Ok(LearningRateSchedule::Linear {
            final_fraction: 0.0,
        }),
        _ => match text.strip_prefix("inverse:").map(str::parse::<f32>) {
            Some(Ok(rate)) if rate >= 0.0 => Ok(LearningRateSchedule::Inverse { rate }),
            _ => Err(Failure::input(format!(
                "--lr-schedule: '{text}' is not constant, linear, inverse:RATE or cosine"
            ))),
        },
    }
}

fn config_from_args(args: &TrainArgs) -> Result<TrainConfig, Failure> {
    let method = match args.method {
        MethodArg::Cd => Method::ContrastiveDivergence,
        MethodArg::Pcd => Method::Persistent {
            chains: args.chains.unwrap_or(args.batch),
        },
    };
    if args.chains.is_some() && matches!(args.method, MethodArg::Cd) {
        return Err(Failure::input("--chains applies only to --method pcd"));
    }
    let defaults = TrainConfig::default();
    let config = TrainConfig {
        n_hidden: args.hidden,
        method,
        gibbs_steps: args.k,
        sparsity: args.sparsity_target.map(|target| SparsityTarget {
            target,
            cost: args.sparsity_cost,
            decay: 0.95,
        }),
        optimizer: OptimizerConfig::sgd(
            args.lr,
            parse_schedule(&args.lr_schedule)?,
            MomentumSchedule {
                initial: args.initial_momentum,
                final_value: args.momentum,
                switch_epoch: args.momentum_switch,
            },
            args.weight_decay,
        ),
        run: args.training.loop_config(
            args.epochs.unwrap_or(DEFAULT_EPOCHS),
            args.batch,
            args.random,
            defaults.run,
        ),
        ..defaults
    };
    config.validate().map_err(setup_failure)?;
    Ok(config)
}

/// A training-setup error as a bad-input failure naming the flag when there is one
/// (the settings whose flag differs from the other commands' are listed here).
fn setup_failure(error: RbmError) -> Failure {
    rbm_failure(
        error,
        &[
            ("chains", "--chains"),
            ("momentum", "--momentum/--initial-momentum"),
            ("sparsity", "--sparsity-target/--sparsity-cost"),
        ],
    )
}

/// The metric of `rbm train`'s learning curve.
const RECON_ERROR: Family = Family::new(
    "recon_error",
    "reconstruction error",
    "squared error per image (mean-field, summed over pixels)",
);

/// Progress bar, per-epoch log lines, the `--log` record and checkpoints.
struct CliObserver {
    progress: Progress,
    checkpoint: PathBuf,
    checkpoint_every: usize,
    log: EpochLog,
    /// Held-out examples whose reconstruction error is logged each epoch.
    held_out: Option<Dataset>,
    par: Parallelism,
}

impl TrainObserver<TrainState> for CliObserver {
    fn on_batch(&mut self, examples_done: usize, _total: usize) {
        self.progress.bar.set_position(examples_done as u64);
    }

    fn on_epoch(&mut self, r: &EpochReport, state: &TrainState) -> Result<(), String> {
        let recon = r.metric("recon_error").unwrap_or(f64::NAN);
        let (speed, seconds) = (r.examples_per_second, r.seconds);
        let (lr, momentum) = (r.rates.learning_rate, r.rates.momentum);
        let details = format!(
            "recon error {recon:.3}, {speed:.0} images/s, {seconds:.2} s, lr {lr}, momentum {momentum}"
        );
        self.progress.line(&epoch_line(r, &details));
        if self.log.is_active() {
            let mut values = vec![(&RECON_ERROR, On::Train, recon)];
            if let Some(data) = &self.held_out {
                let held_out = reconstruction_error(&state.model, data, self.par)
                    .map_err(|e| format!("held-out reconstruction error: {e}"))?;
                values.push((&RECON_ERROR, On::HeldOut, held_out));
            }
            self.log.record(Epoch::of(r), &values);
        }
        if !self.progress.log_lines {
            let bar = &self.progress.bar;
            bar.set_prefix(format!(
                "epoch {}/{}",
                (r.epoch + 1).min(r.epochs),
                r.epochs
            ));
            bar.set_message(format!("recon {recon:.3} | {speed:.0} img/s"));
            bar.set_position(0);
        }
        let due = self.checkpoint_every > 0
            && (r.epoch % self.checkpoint_every == 0 || r.epoch == r.epochs);
        if due {
            state
                .save_checkpoint(&self.checkpoint)
                .map_err(|e| format!("cannot write checkpoint: {e}"))?;
        }
        Ok(())
    }
}

/// The held-out examples of a logged run: the first `count` of the test split, when
/// there is one (a `--test` file, or a built-in data set with a test split), without the
/// `--exclude-labels` of the training data; its examples must have `n_features`.
fn held_out_set(
    args: &TrainArgs,
    n_features: usize,
    count: usize,
) -> Result<Option<Dataset>, Failure> {
    let has_test = match &args.data.files.train {
        Some(_) => args.data.files.test.is_some(),
        None => args.data.dataset != DatasetName::BarsAndStripes,
    };
    if !has_test {
        return Ok(None);
    }
    let mut test = args.data.load(Split::Test)?;
    if !args.exclude_labels.is_empty() && test.labels.is_some() {
        test = without_labels(&test, "--exclude-labels", &args.exclude_labels)?;
    }
    held_out(test, n_features, count).map(Some)
}

/// Run `ebm rbm train`.
pub fn run(args: TrainArgs) -> Result<(), Failure> {
    args.training.run.check()?;
    let mut data = args.data.load(Split::Train)?;
    if !args.exclude_labels.is_empty() {
        data = without_labels(&data, "--exclude-labels", &args.exclude_labels)?;
    }
    let data = first(data, args.limit)?;
    crate::memory::check_rbm(
        data.n_features,
        args.hidden,
        args.batch,
        args.chains.unwrap_or(args.batch),
    )?;
    let mut state = match &args.resume {
        Some(path) => {
            let mut state = TrainState::load_checkpoint(path).map_err(Failure::input)?;
            if let Some(epochs) = args.epochs {
                state.config.run.epochs = epochs;
            }
            state.config.run.threads = args.training.run.threads;
            if state.model.n_visible() != data.n_features {
                return Err(Failure::input(format!(
                    "{}: checkpoint has {} visible units, the data {} features",
                    path.display(),
                    state.model.n_visible(),
                    data.n_features
                )));
            }
            state
        }
        None => TrainState::new(config_from_args(&args)?, &data).map_err(setup_failure)?,
    };
    let checkpoint = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| args.training.out.checkpoint());
    let progress = Progress::new(data.n_examples as u64, args.training.report.quiet);
    progress.bar.set_prefix(format!(
        "epoch {}/{}",
        state.epochs_done + 1,
        state.config.run.epochs
    ));
    let log = args.training.epoch_log("ebm rbm train");
    let held_out = if log.is_active() {
        held_out_set(&args, data.n_features, state.config.monitor_examples)?
    } else {
        None
    };
    let mut observer = CliObserver {
        progress,
        checkpoint: checkpoint.clone(),
        checkpoint_every: args.checkpoint_every,
        log,
        held_out,
        par: Parallelism::with_threads(state.config.run.threads),
    };
    let result = train(&mut state, &data, &mut observer);
    observer.progress.bar.finish_and_clear();
    // The log is written also when training failed: it shows how it went.
    let mut logged = Metrics::default();
    observer.log.finish(&mut logged)?;
    let summary = match result {
        Ok(summary) => summary,
        Err(RbmError::Train(TrainError::Diverged {
            epoch,
            reason,
            last_good_epoch,
        })) => {
            let kept = if checkpoint.exists() {
                format!("; last good checkpoint kept at {}", checkpoint.display())
            } else {
                String::new()
            };
            return Err(Failure::run(format!(
                "training diverged in epoch {epoch} ({reason}); the model of epoch {last_good_epoch} was not saved over {} (lower --lr){kept}",
                args.training.out.out.display()
            )));
        }
        Err(e) => return Err(Failure::run(e)),
    };
    let c = &state.config;
    let mut m = Metrics::training(summary.train_seconds, summary.seconds_per_epoch);
    m.extend(logged)
        .number(
            "images_per_second",
            if summary.train_seconds > 0.0 {
                (summary.epochs_run * data.n_examples) as f64 / summary.train_seconds
            } else {
                0.0
            },
        )
        .integer("epochs", state.epochs_done as u64)
        .integer("epochs_run", summary.epochs_run as u64)
        .number(
            "recon_error",
            summary.metric("recon_error").unwrap_or(f64::NAN),
        )
        .integer("n_visible", state.model.n_visible() as u64)
        .integer("n_hidden", state.model.n_hidden() as u64)
        .text(
            "method",
            match c.method {
                Method::ContrastiveDivergence => "cd",
                Method::Persistent { .. } => "pcd",
            },
        )
        .integer("k", c.gibbs_steps as u64)
        .integer("threads", c.run.threads as u64);
    args.training.save_and_report(&state.model, m)
}
