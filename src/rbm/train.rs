//! `ebm rbm train`.

use super::{MethodArg, TrainArgs, check_threads};
use crate::output::Metrics;
use crate::{Failure, progress};
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_data::data_dir;
use ebm_data::mnist::Split;
use ebm_rbm::RbmError;
use ebm_rbm::train::{
    EpochReport, Method, SparsityTarget, TrainConfig, TrainObserver, TrainState, train,
};
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};

/// Default number of epochs of a new run.
const DEFAULT_EPOCHS: usize = 10;

fn parse_schedule(text: &str) -> Result<LearningRateSchedule, Failure> {
    match text {
        "constant" => Ok(LearningRateSchedule::Constant),
        "linear" => Ok(LearningRateSchedule::Linear {
            final_fraction: 0.0,
        }),
        _ => match text.strip_prefix("inverse:").map(str::parse::<f32>) {
            Some(Ok(rate)) if rate >= 0.0 => Ok(LearningRateSchedule::Inverse { rate }),
            _ => Err(Failure::input(format!(
                "--lr-schedule: '{text}' is not constant, linear or inverse:RATE"
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
    let config = TrainConfig {
        n_hidden: args.hidden,
        method,
        gibbs_steps: args.k,
        epochs: args.epochs.unwrap_or(DEFAULT_EPOCHS),
        batch_size: args.batch,
        learning_rate: args.lr,
        learning_rate_schedule: parse_schedule(&args.lr_schedule)?,
        momentum: MomentumSchedule {
            initial: args.initial_momentum,
            final_value: args.momentum,
            switch_epoch: args.momentum_switch,
        },
        weight_decay: args.weight_decay,
        sparsity: args.sparsity_target.map(|target| SparsityTarget {
            target,
            cost: args.sparsity_cost,
            decay: 0.95,
        }),
        seed: args.seed,
        threads: args.threads,
        ..TrainConfig::default()
    };
    config.validate().map_err(setup_failure)?;
    Ok(config)
}

/// The `ebm rbm train` flag that sets a `TrainConfig` field.
fn train_flag(setting: &str) -> Option<&'static str> {
    Some(match setting {
        "n_hidden" => "--hidden",
        "gibbs_steps" => "--k",
        "batch_size" => "--batch",
        "chains" => "--chains",
        "learning_rate" => "--lr",
        "momentum" => "--momentum/--initial-momentum",
        "weight_decay" => "--weight-decay",
        "sparsity" => "--sparsity-target/--sparsity-cost",
        "threads" => "--threads",
        _ => return None,
    })
}

/// A training-setup error as a bad-input failure naming the flag when there is one.
fn setup_failure(error: RbmError) -> Failure {
    crate::setup::rbm_failure(error, train_flag)
}

/// Progress bar, per-epoch log lines and checkpoints.
struct CliObserver {
    bar: ProgressBar,
    log_lines: bool,
    checkpoint: PathBuf,
    checkpoint_every: usize,
}

impl TrainObserver for CliObserver {
    fn on_batch(&mut self, examples_done: usize, _total: usize) {
        self.bar.set_position(examples_done as u64);
    }

    fn on_epoch(&mut self, r: &EpochReport, state: &TrainState) -> Result<(), String> {
        let line = format!(
            "epoch {}/{}: recon error {:.3}, {:.0} images/s, {:.2} s, lr {}, momentum {}",
            r.epoch,
            r.epochs,
            r.recon_error,
            r.examples_per_second,
            r.seconds,
            r.learning_rate,
            r.momentum
        );
        if self.log_lines {
            eprintln!("{line}");
        } else {
            self.bar.println(&line);
            self.bar.set_prefix(format!(
                "epoch {}/{}",
                (r.epoch + 1).min(r.epochs),
                r.epochs
            ));
            self.bar.set_message(format!(
                "recon {:.3} | {:.0} img/s",
                r.recon_error, r.examples_per_second
            ));
            self.bar.set_position(0);
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

fn default_checkpoint(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".ckpt");
    PathBuf::from(name)
}

/// Run `ebm rbm train`.
pub fn run(args: TrainArgs) -> Result<(), Failure> {
    check_threads(args.threads)?;
    let dir = data_dir::resolve(args.data.data.as_deref());
    let mut data =
        ebm_data::catalog::load_binary(args.data.dataset, &dir, Split::Train, args.data.binarize)
            .map_err(Failure::input)?;
    if !args.exclude_labels.is_empty() {
        let excluded = &args.exclude_labels;
        data = data
            .select_labels(|label| !excluded.contains(&label))
            .ok_or_else(|| Failure::input("--exclude-labels: this data set has no labels"))?;
        if data.n_examples == 0 {
            return Err(Failure::input(
                "--exclude-labels: no training examples are left",
            ));
        }
    }
    if let Some(limit) = args.limit {
        if limit == 0 {
            return Err(Failure::input("--limit must be at least 1"));
        }
        data = data.head(limit);
    }
    let mut state = match &args.resume {
        Some(path) => {
            let mut state = TrainState::load_checkpoint(path).map_err(Failure::input)?;
            if let Some(epochs) = args.epochs {
                state.config.epochs = epochs;
            }
            state.config.threads = args.threads;
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
        .unwrap_or_else(|| default_checkpoint(&args.out));
    let bar = progress::bar(data.n_examples as u64, args.quiet);
    bar.set_prefix(format!(
        "epoch {}/{}",
        state.epochs_done + 1,
        state.config.epochs
    ));
    let mut observer = CliObserver {
        log_lines: bar.is_hidden() && !args.quiet,
        bar,
        checkpoint: checkpoint.clone(),
        checkpoint_every: args.checkpoint_every,
    };
    let result = train(&mut state, &data, &mut observer);
    observer.bar.finish_and_clear();
    let summary = match result {
        Ok(summary) => summary,
        Err(RbmError::Diverged {
            epoch,
            reason,
            last_good_epoch,
        }) => {
            let kept = if checkpoint.exists() {
                format!("; last good checkpoint kept at {}", checkpoint.display())
            } else {
                String::new()
            };
            return Err(Failure::run(format!(
                "training diverged in epoch {epoch} ({reason}); the model of epoch {last_good_epoch} was not saved over {} (lower --lr){kept}",
                args.out.display()
            )));
        }
        Err(e) => return Err(Failure::run(e)),
    };
    state.model.save(&args.out).map_err(Failure::run)?;
    let c = &state.config;
    let mut m = Metrics::default();
    m.number("train_seconds", summary.train_seconds)
        .number("seconds_per_epoch", summary.seconds_per_epoch)
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
        .number("recon_error", summary.final_recon_error)
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
        .integer("threads", c.threads as u64)
        .text("out", &args.out.display().to_string());
    m.print(args.json);
    Ok(())
}
