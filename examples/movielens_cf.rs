//! Train a collaborative-filtering RBM on one MovieLens 100k fold and report held-out
//! RMSE, MAE and ranking metrics.
//!
//! ```text
//! EBM_DATA=../shared/data cargo run --release --example movielens_cf -- [FOLD] [VARIANT] [HIDDEN] [EPOCHS] [LR] [BATCH] [CONDITIONAL] [THREADS] [DECAY] [MOMENTUM] [LR_SCHEDULE]
//! ```
//! Defaults (the `ebm cf train` defaults): `u1 item 100 50 0.02 20 0 2 0.003 0.9 linear`.
//! `FOLD` may be `u1:valid` to hold out 10% of u1.base instead of u1.test (for tuning).
//! The best model in the README: `u1 item 200 50 0.02 20 1`.

use ebm::cf::metrics::{accuracy, ranking};
use ebm::cf::train::{CdSchedule, EpochReport, TrainConfig, TrainObserver, initial_model, train};
use ebm::cf::{CfModel, Orientation, Query, RatingsData};
use ebm::core::train::{LoopConfig, OptimizerConfig, OptimizerMethod};
use ebm::data::{data_dir, ratings};

struct Monitor<'a> {
    test: &'a [Query],
}

impl TrainObserver<CfModel> for Monitor<'_> {
    fn on_epoch(&mut self, r: &EpochReport, model: &CfModel) -> Result<(), String> {
        let test = accuracy(self.test, &model.predict(self.test));
        eprintln!(
            "epoch {:>3}/{}: CD-{} recon rmse {:.4}, held-out rmse {:.4}, {:.2} s",
            r.epoch,
            r.epochs,
            r.metric("cd_steps").unwrap_or(f64::NAN),
            r.metric("recon_rmse").unwrap_or(f64::NAN),
            test.rmse,
            r.seconds
        );
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.to_string());
    let fold = arg(0, "u1");
    let orientation = match arg(1, "item").as_str() {
        "user" => Orientation::UserBased,
        "item" => Orientation::ItemBased,
        other => return Err(format!("variant '{other}' is not user or item").into()),
    };
    let dir = data_dir::resolve(None).join("ml-100k");
    // `u1:valid` holds out a random 10% of u1.base instead of using u1.test (tuning).
    let (fold_name, validation) = match fold.strip_suffix(":valid") {
        Some(name) => (name.to_string(), true),
        None => (fold.clone(), false),
    };
    let (base, test) = ratings::movielens_100k_fold_paths(&dir, &fold_name)?;
    let (train_ratings, test_ratings) = if validation {
        ratings::split_random(&ratings::read(&base)?, 0.1, 7)
    } else {
        (ratings::read(&base)?, ratings::read(&test)?)
    };
    let data = RatingsData::from_ratings(&train_ratings)?;
    let queries = data.queries(&test_ratings);
    let epochs: usize = arg(3, "50").parse()?;
    let config = TrainConfig {
        orientation,
        n_hidden: arg(2, "100").parse()?,
        conditional: arg(6, "0") == "1",
        cd: CdSchedule {
            stages: vec![1, 3, 5],
            epochs_per_stage: epochs.div_ceil(3),
        },
        optimizer: OptimizerConfig {
            learning_rate: arg(4, "0.02").parse()?,
            weight_decay: arg(8, "0.003").parse()?,
            learning_rate_schedule: if arg(10, "linear") == "linear" {
                ebm::core::schedule::LearningRateSchedule::Linear {
                    final_fraction: 0.0,
                }
            } else {
                ebm::core::schedule::LearningRateSchedule::Constant
            },
            method: OptimizerMethod::Sgd {
                momentum: ebm::core::schedule::MomentumSchedule::constant(arg(9, "0.9").parse()?),
            },
        },
        run: LoopConfig {
            epochs,
            batch_size: arg(5, "20").parse()?,
            threads: arg(7, "2").parse()?,
            ..TrainConfig::default().run
        },
        ..TrainConfig::default()
    };
    let mut model = initial_model(&config, &data, &queries)?;
    let summary = train(&mut model, &config, &mut Monitor { test: &queries })?;
    let predicted = model.predict(&queries);
    let acc = accuracy(&queries, &predicted);
    let rank = ranking(&model, &queries, 10, 4.0);
    println!(
        "fold {fold}: rmse {:.4}, mae {:.4}, precision@10 {:.4}, ndcg@10 {:.4}, train {:.1} s",
        acc.rmse, acc.mae, rank.precision, rank.ndcg, summary.train_seconds
    );
    Ok(())
}
