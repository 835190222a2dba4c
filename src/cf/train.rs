//! `ebm cf train`.

use super::{LrScheduleArg, TrainArgs, VariantArg, source};
use crate::output::Metrics;
use crate::{Failure, progress};
use ebm_cf::metrics::accuracy;
use ebm_cf::train::{CdSchedule, EpochReport, TrainConfig, TrainObserver, initial_model, train};
use ebm_cf::{CfError, CfModel, Orientation, Query, RatingsData};
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use indicatif::ProgressBar;

/// Parse `--cd-steps 1,3,5`.
fn parse_cd_steps(text: &str) -> Result<Vec<usize>, Failure> {
    let steps: Result<Vec<usize>, _> = text.split(',').map(|s| s.trim().parse()).collect();
    match steps {
        Ok(steps) if !steps.is_empty() && !steps.contains(&0) => Ok(steps),
        _ => Err(Failure::input(format!(
            "--cd-steps: '{text}' is not a comma-separated list of positive step counts"
        ))),
    }
}

fn config_from_args(args: &TrainArgs) -> Result<TrainConfig, Failure> {
    let stages = parse_cd_steps(&args.cd_steps)?;
    let epochs_per_stage = args
        .cd_stage_epochs
        .unwrap_or_else(|| args.epochs.div_ceil(stages.len()).max(1));
    let config = TrainConfig {
        orientation: match args.variant {
            VariantArg::User => Orientation::UserBased,
            VariantArg::Item => Orientation::ItemBased,
        },
        conditional: args.conditional,
        n_hidden: args.hidden,
        epochs: args.epochs,
        batch_size: args.batch,
        learning_rate: args.lr,
        learning_rate_schedule: match args.lr_schedule {
            LrScheduleArg::Linear => LearningRateSchedule::Linear {
                final_fraction: 0.0,
            },
            LrScheduleArg::Constant => LearningRateSchedule::Constant,
        },
        momentum: MomentumSchedule::constant(args.momentum),
        weight_decay: args.weight_decay,
        cd: CdSchedule {
            stages,
            epochs_per_stage,
        },
        seed: args.source.seed,
        threads: args.threads,
        ..TrainConfig::default()
    };
    config.validate().map_err(setup_failure)?;
    Ok(config)
}

/// A setup error as a bad-input failure naming the flag when there is one.
pub(super) fn setup_failure(error: CfError) -> Failure {
    let flag = match &error {
        CfError::InvalidConfig { setting, .. } => match *setting {
            "n_hidden" => Some("--hidden"),
            "epochs" => Some("--epochs"),
            "batch_size" => Some("--batch"),
            "learning_rate" => Some("--lr"),
            "momentum" => Some("--momentum"),
            "weight_decay" => Some("--weight-decay"),
            "cd" => Some("--cd-steps/--cd-stage-epochs"),
            "threads" => Some("--threads"),
            _ => None,
        },
        _ => None,
    };
    match (flag, &error) {
        (Some(flag), CfError::InvalidConfig { message, .. }) => {
            Failure::input(format!("{flag}: {message}"))
        }
        _ => Failure::input(error),
    }
}

/// Progress bar and per-epoch lines with the held-out RMSE when there is a test set
/// (nothing, and no per-epoch evaluation, with `--quiet`).
struct CliObserver<'a> {
    bar: ProgressBar,
    log_lines: bool,
    quiet: bool,
    test: &'a [Query],
}

impl TrainObserver for CliObserver<'_> {
    fn on_epoch(&mut self, r: &EpochReport, model: &CfModel) {
        if self.quiet {
            return;
        }
        let held_out = if self.test.is_empty() {
            String::new()
        } else {
            let acc = accuracy(self.test, &model.predict(self.test));
            format!(", held-out rmse {:.4}", acc.rmse)
        };
        let line = format!(
            "epoch {}/{}: CD-{}, recon rmse {:.4}{held_out}, {:.0} ratings/s, {:.2} s",
            r.epoch, r.epochs, r.cd_steps, r.recon_rmse, r.ratings_per_second, r.seconds
        );
        if self.log_lines {
            eprintln!("{line}");
        } else {
            self.bar.println(&line);
        }
        self.bar.set_position(r.epoch as u64);
    }
}

/// Run `ebm cf train`.
pub fn run(args: TrainArgs) -> Result<(), Failure> {
    let config = config_from_args(&args)?;
    let loaded = source::load(&args.source)?;
    let data = RatingsData::from_ratings(&loaded.train)
        .map_err(|e| Failure::input(format!("{}: {e}", loaded.description)))?;
    let queries = data.queries(&loaded.test);
    let mut model = initial_model(&config, &data, &queries).map_err(setup_failure)?;
    let bar = progress::bar(config.epochs as u64, args.quiet);
    bar.set_prefix("epochs");
    let mut observer = CliObserver {
        log_lines: bar.is_hidden() && !args.quiet,
        quiet: args.quiet,
        bar,
        test: &queries,
    };
    let result = train(&mut model, &config, &mut observer);
    observer.bar.finish_and_clear();
    let summary = result.map_err(|e| match e {
        CfError::Diverged { .. } => Failure::run(format!(
            "{e}; nothing was written to {}",
            args.out.display()
        )),
        other => Failure::run(other),
    })?;
    model.save(&args.out).map_err(Failure::run)?;
    let mut m = Metrics::default();
    m.number("train_seconds", summary.train_seconds)
        .number("seconds_per_epoch", summary.seconds_per_epoch)
        .integer("epochs", config.epochs as u64)
        .number("recon_rmse", summary.final_recon_rmse)
        .integer("n_users", data.users.len() as u64)
        .integer("n_items", data.items.len() as u64)
        .integer("n_ratings", data.by_user.n_entries() as u64)
        .integer("n_levels", data.levels.len() as u64);
    if !queries.is_empty() {
        let acc = super::eval::on_pool(config.threads, || {
            accuracy(&queries, &model.predict(&queries))
        })?;
        m.number("rmse", acc.rmse)
            .number("mae", acc.mae)
            .integer("n_test", queries.len() as u64);
    }
    m.text("variant", model.orientation().name())
        .text("conditional", if config.conditional { "yes" } else { "no" })
        .integer("hidden", config.n_hidden as u64)
        .integer("threads", config.threads as u64)
        .text("data", &loaded.description)
        .text("out", &args.out.display().to_string());
    m.print(args.json);
    Ok(())
}
