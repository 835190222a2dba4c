//! `ebm cf train`.

use super::{LrScheduleArg, TrainArgs, VariantArg, source};
use crate::Failure;
use crate::output::Metrics;
use crate::progress::Progress;
use crate::run_log::{Epoch, EpochLog, Family, On};
use crate::setup::setting_failure;
use ebm_cf::metrics::accuracy;
use ebm_cf::train::{CdSchedule, EpochReport, TrainConfig, TrainObserver, initial_model, train};
use ebm_cf::{CfError, CfModel, Orientation, Query, RatingsData};
use ebm_core::schedule::{LearningRateSchedule, MomentumSchedule};
use ebm_core::train::OptimizerConfig;

fn config_from_args(args: &TrainArgs) -> Result<TrainConfig, Failure> {
    let stages = crate::args::positive_list("--cd-steps", "step counts", &args.cd_steps)?;
    let epochs_per_stage = args
        .cd_stage_epochs
        .unwrap_or_else(|| args.epochs.div_ceil(stages.len()).max(1));
    let defaults = TrainConfig::default();
    let config = TrainConfig {
        orientation: match args.variant {
            VariantArg::User => Orientation::UserBased,
            VariantArg::Item => Orientation::ItemBased,
        },
        conditional: args.conditional,
        n_hidden: args.hidden,
        cd: CdSchedule {
            stages,
            epochs_per_stage,
        },
        optimizer: OptimizerConfig::sgd(
            args.lr,
            match args.lr_schedule {
                LrScheduleArg::Linear => LearningRateSchedule::Linear {
                    final_fraction: 0.0,
                },
                LrScheduleArg::Constant => LearningRateSchedule::Constant,
            },
            MomentumSchedule::constant(args.momentum),
            args.weight_decay,
        ),
        run: args
            .training
            .loop_config(args.epochs, args.batch, args.source.random, defaults.run),
        ..defaults
    };
    config.validate().map_err(setup_failure)?;
    Ok(config)
}

/// A setup error as a bad-input failure naming the flag when there is one.
fn setup_failure(error: CfError) -> Failure {
    match &error {
        CfError::InvalidSetting(invalid) => setting_failure(
            invalid.setting,
            &invalid.message,
            &[("cd", "--cd-steps/--cd-stage-epochs")],
            &error,
        ),
        _ => Failure::input(error),
    }
}

/// The metrics of `cf train`'s learning curves.
const RMSE: Family = Family::new("rmse", "rating RMSE", "RMSE (rating levels)");
const CD_STEPS: Family = Family::new("cd_steps", "CD steps", "Gibbs steps per update");

/// Progress bar and per-epoch lines with the held-out RMSE when there is a test set
/// (nothing with `--quiet`), and the `--log` record; the held-out RMSE is computed when
/// either shows it.
struct CliObserver<'a> {
    progress: Progress,
    quiet: bool,
    test: &'a [Query],
    log: EpochLog,
}

impl TrainObserver<CfModel> for CliObserver<'_> {
    fn on_epoch(&mut self, r: &EpochReport, model: &CfModel) -> Result<(), String> {
        if self.quiet && !self.log.is_active() {
            return Ok(());
        }
        let held_out =
            (!self.test.is_empty()).then(|| accuracy(self.test, &model.predict(self.test)).rmse);
        let steps = r.metric("cd_steps").unwrap_or(f64::NAN);
        let recon = r.metric("recon_rmse").unwrap_or(f64::NAN);
        let mut values = vec![(&RMSE, On::Train, recon)];
        values.extend(held_out.map(|rmse| (&RMSE, On::HeldOut, rmse)));
        values.push((&CD_STEPS, On::Run, steps));
        self.log.record(Epoch::of(r), &values);
        if self.quiet {
            return Ok(());
        }
        let held_out =
            held_out.map_or_else(String::new, |rmse| format!(", held-out rmse {rmse:.4}"));
        let speed = model.n_ratings() as f64 / r.seconds.max(1e-9);
        let details = format!(
            "CD-{steps}, recon rmse {recon:.4}{held_out}, {speed:.0} ratings/s, {:.2} s",
            r.seconds
        );
        self.progress.epoch_report(r, &details);
        Ok(())
    }
}

/// Run `ebm cf train`.
pub fn run(args: TrainArgs) -> Result<(), Failure> {
    let config = config_from_args(&args)?;
    let loaded = source::load(&args.source)?;
    let data = RatingsData::from_ratings(&loaded.train)
        .map_err(|e| Failure::input(format!("{}: {e}", loaded.description)))?;
    // The visible units of a user's RBM: one softmax of 5 rating levels per item.
    crate::memory::check_rbm(5 * data.items.len(), args.hidden, args.batch, 0)?;
    let queries = data.queries(&loaded.test);
    let mut model = initial_model(&config, &data, &queries).map_err(setup_failure)?;
    let mut observer = CliObserver {
        progress: Progress::epochs(config.run.epochs, args.training.report.quiet),
        quiet: args.training.report.quiet,
        test: &queries,
        log: args.training.epoch_log("ebm cf train"),
    };
    let result = train(&mut model, &config, &mut observer);
    observer.progress.bar.finish_and_clear();
    let mut logged = Metrics::default();
    observer.log.finish(&mut logged)?;
    let summary = result.map_err(|e| match e {
        CfError::Train(_) => Failure::run(format!(
            "{e}; nothing was written to {}",
            args.training.out.out.display()
        )),
        other => Failure::run(other),
    })?;
    let mut m = Metrics::training(summary.train_seconds, summary.seconds_per_epoch);
    m.extend(logged)
        .integer("epochs", config.run.epochs as u64)
        .number(
            "recon_rmse",
            summary.metric("recon_rmse").unwrap_or(f64::NAN),
        )
        .integer("n_users", data.users.len() as u64)
        .integer("n_items", data.items.len() as u64)
        .integer("n_ratings", data.by_user.n_entries() as u64)
        .integer("n_levels", data.levels.len() as u64);
    if !queries.is_empty() {
        let acc = args
            .training
            .run
            .install(|| accuracy(&queries, &model.predict(&queries)))?;
        m.number("rmse", acc.rmse)
            .number("mae", acc.mae)
            .integer("n_test", queries.len() as u64);
    }
    m.text("variant", model.orientation().name())
        .text("conditional", if config.conditional { "yes" } else { "no" })
        .integer("hidden", config.n_hidden as u64)
        .integer("threads", config.run.threads as u64)
        .text("data", &loaded.description);
    args.training.save_and_report(&model, m)
}
