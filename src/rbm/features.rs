//! `ebm rbm transform` and `ebm rbm score`: what a trained RBM says about the examples
//! of a file, written to another file.

use super::eval::{LogPartition, log_partition};
use super::{ScoreArgs, TransformArgs, load_model};
use crate::Failure;
use crate::output::Metrics;
use crate::setup::{check_chains, check_features};
use ebm_core::atomic::write_atomic;
use ebm_data::Dataset;
use ebm_data::mnist::Split;
use ebm_rbm::metrics::{hidden_probabilities, log_unnormalized};
use std::path::Path;

/// Run `ebm rbm transform`.
pub fn transform(args: TransformArgs) -> Result<(), Failure> {
    let run = args.measure.run.check()?;
    is_npy(&args.out)?;
    let model = load_model(&args.model)?;
    let data = args.read.read(&args.input, None, None)?;
    check_features(&args.model, model.n_visible(), &data)?;
    let features = run
        .install(|| hidden_probabilities(&model, &data, run.parallelism()))?
        .map_err(Failure::run)?;
    let n_hidden = model.n_hidden();
    let table = Dataset {
        features,
        n_examples: data.n_examples,
        n_features: n_hidden,
        image_shape: None,
        labels: None,
    };
    write_table(&args.out, &table, &["hidden"])?;
    let mut m = Metrics::default();
    m.integer("examples", data.n_examples as u64)
        .integer("features", n_hidden as u64)
        .text("out", &args.out.display().to_string());
    args.measure.output.print(&m);
    Ok(())
}

/// Run `ebm rbm score`.
pub fn score(args: ScoreArgs) -> Result<(), Failure> {
    let run = args.measure.run.check()?;
    is_npy(&args.out)?;
    let model = load_model(&args.model)?;
    check_chains("--ais-runs", args.log_z.ais_runs, &model)?;
    let mut data = args.read.read(&args.input, None, None)?;
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
    let table = Dataset {
        features,
        n_examples: data.n_examples,
        n_features: 2,
        image_shape: None,
        labels: None,
    };
    write_table(&args.out, &table, &["free_energy", "log_likelihood"])?;
    let mean_ll = unnormalized.iter().sum::<f64>() / unnormalized.len().max(1) as f64 - log_z;
    m.integer("examples", data.n_examples as u64)
        .number("mean_log_likelihood", mean_ll)
        .text("out", &args.out.display().to_string());
    args.measure.output.print(&m);
    Ok(())
}

/// Whether `path` names a table file: `.npy` (true) or `.csv` (false); else bad input
/// (checked before any work).
fn is_npy(path: &Path) -> Result<bool, Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => Ok(true),
        Some("csv") => Ok(false),
        _ => Err(Failure::input(format!(
            "--out: {}: give a file ending in .npy or .csv",
            path.display()
        ))),
    }
}

/// Write `table` atomically to `path`: `.npy` (float32) or `.csv` with a header of
/// `names` (one name a column, or one prefix numbered for every column).
fn write_table(path: &Path, table: &Dataset, names: &[&str]) -> Result<(), Failure> {
    let bytes = if is_npy(path)? {
        ebm_data::npy::encode_f32(&[table.n_examples, table.n_features], &table.features)
    } else {
        csv_with_header(table, names).into_bytes()
    };
    write_atomic(path, &bytes).map_err(|e| Failure::run(format!("{}: {e}", path.display())))
}

/// `table` as CSV under a header line of `names` (`prefix0,prefix1,...` when there is
/// one name for several columns).
fn csv_with_header(table: &Dataset, names: &[&str]) -> String {
    let header: Vec<String> = if names.len() == table.n_features {
        names.iter().map(|n| n.to_string()).collect()
    } else {
        (0..table.n_features)
            .map(|j| format!("{}{j}", names[0]))
            .collect()
    };
    let encoded = ebm_data::csv::encode(table);
    let rows = encoded.split_once('\n').map_or("", |(_, rows)| rows);
    format!("{}\n{rows}", header.join(","))
}
