//! `ebm rbm transform` and `ebm rbm score`: what a trained RBM says about the examples
//! of a file, written to another file.

use super::eval::{LogPartition, log_partition};
use super::{ScoreArgs, TransformArgs, load_model};
use crate::Failure;
use crate::output::Metrics;
use crate::setup::{check_chains, check_features};
use crate::tables::{is_npy, write_table};
use crate::user_data::ValueRange;
use ebm_data::mnist::Split;
use ebm_rbm::metrics::{hidden_probabilities, log_unnormalized};

/// Run `ebm rbm transform`.
pub fn transform(args: TransformArgs) -> Result<(), Failure> {
    let (run, model, data) = args.open(ValueRange::Unit, ebm_rbm::BinaryRbm::n_visible)?;
    let features = run
        .install(|| hidden_probabilities(&model, &data, run.parallelism()))?
        .map_err(Failure::run)?;
    args.finish(features, model.n_hidden(), &["hidden"], Metrics::default())
}

/// Run `ebm rbm score`.
pub fn score(args: ScoreArgs) -> Result<(), Failure> {
    let run = args.measure.run.check()?;
    is_npy(&args.out)?;
    let model = load_model(&args.model)?;
    check_chains("--ais-runs", args.log_z.ais_runs, &model)?;
    let mut data = args.read.read(&args.input, None, None, ValueRange::Unit)?;
    check_features(&args.model, model.n_visible(), &data)?;
    ebm_data::catalog::binarize_split(&mut data, Split::Test, args.binarize);
    let mut m = Metrics::default();
    let how = LogPartition {
        args: &args.log_z,
        seed: args.random.seed,
        plot: None,
    };
    let log_z = log_partition(&model, &data, &how, run, &mut m)?;
    let par = run.parallelism();
    let unnormalized = run
        .install(|| log_unnormalized(&model, &data, par))?
        .map_err(Failure::run)?;
    // Columns: free energy F(v) = -ln p*(v), and ln p(v) = -F(v) - ln Z.
    let features: Vec<f32> = unnormalized
        .iter()
        .flat_map(|&u| [-u as f32, (u - log_z) as f32])
        .collect();
    write_table(&args.out, features, 2, &["free_energy", "log_likelihood"])?;
    let mean_ll = unnormalized.iter().sum::<f64>() / unnormalized.len().max(1) as f64 - log_z;
    m.integer("examples", data.n_examples as u64)
        .number("mean_log_likelihood", mean_ll)
        .text("out", &args.out.display().to_string());
    args.measure.output.print(&m);
    Ok(())
}
