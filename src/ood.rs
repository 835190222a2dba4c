//! `ebm ood`: out-of-distribution detection by any model that scores inputs, on a pair of
//! files (examples like the training data, and examples from elsewhere): ROC AUC of every
//! score the model has, and the ROC curves as one PNG.
//!
//! Scores (higher: more out-of-distribution): the free energy `F(x)` (`-ln p(x)` up to
//! `ln Z`, which does not change a ranking); the likelihood ratio `F(x) - F_bg(x)` against
//! a background model of independent values fitted on `--background` (Bernoulli for values
//! in [0, 1], Gaussian otherwise), which cancels what the model shares with the simplest
//! one (how much ink, how much contrast: Ren et al. 2019); the norm of the input gradient
//! `|grad_x F(x)|` (learned data sit near minima); `1 - max_y p(y | x)` for classifiers;
//! and the squared error of the mean-field reconstruction for the binary RBM.

use crate::Failure;
use crate::args::MeasureArgs;
use crate::output::Metrics;
use crate::user_data::{ReadArgs, ValueRange};
use clap::Args;
use ebm_data::Dataset;
use ebm_rbm::anomaly::{roc_auc, roc_curve};
use ebm_rbm::input_scores::InputScores;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Flags of `ebm ood`.
#[derive(Args)]
pub struct OodArgs {
    /// The model file: a binary RBM, class RBM or Gaussian RBM.
    pub model: PathBuf,
    /// In-distribution examples: held-out examples like the model's training data.
    #[arg(long)]
    pub normal: PathBuf,
    /// Out-of-distribution examples.
    #[arg(long)]
    pub anomalous: PathBuf,
    /// Fit the likelihood ratio's background model (independent values) on this file,
    /// usually the model's training data; without it that score is left out.
    #[arg(long)]
    pub background: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Draw the ROC curve of every score as DIR/ood_roc.png.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Every score of one file's rows.
#[derive(Default)]
struct FileScores {
    free_energy: Vec<f64>,
    gradient_norm: Vec<f64>,
    /// `1 - max p(y | x)`, for classifiers.
    class_doubt: Vec<f64>,
    /// For models that reconstruct.
    reconstruction_error: Vec<f64>,
}

/// Run `ebm ood`.
pub fn run(args: OodArgs) -> Result<(), Failure> {
    args.measure.run.check()?;
    let header = ebm_core::model_file::read_header(&args.model).map_err(Failure::input)?;
    match header.kind.as_str() {
        ebm_rbm::MODEL_KIND => {
            let model: ebm_rbm::BinaryRbm = crate::setup::load_model(&args.model)?;
            evaluate(&args, &model, ValueRange::Unit, &|d| d)
        }
        ebm_rbm::class_rbm::CLASS_RBM_KIND => {
            let model: ebm_rbm::class_rbm::ClassRbm = crate::setup::load_model(&args.model)?;
            evaluate(&args, &model, ValueRange::Unit, &|d| d)
        }
        ebm_rbm::gaussian::GAUSSIAN_RBM_KIND => {
            let model: ebm_rbm::gaussian::GaussianRbm = crate::setup::load_model(&args.model)?;
            let standardize = |d: Dataset| model.standardize(&d);
            evaluate(&args, &model, ValueRange::Real, &standardize)
        }
        ebm_neural::joint::JOINT_ENERGY_KIND => {
            let model: ebm_neural::joint::JointEnergy = crate::setup::load_model(&args.model)?;
            let scores = crate::joint::scores::JointScores(&model);
            evaluate(&args, &scores, ValueRange::Unit, &|d| d)
        }
        other => Err(Failure::input(format!(
            "{}: a '{other}' model does not score inputs here (binary, class or Gaussian RBMs do)",
            args.model.display()
        ))),
    }
}

/// Score both files with `model` (after `prepare`, e.g. the Gaussian RBM's
/// standardization), report the AUCs and draw the curves.
fn evaluate(
    args: &OodArgs,
    model: &(dyn InputScores + Sync),
    range: ValueRange,
    prepare: &dyn Fn(Dataset) -> Dataset,
) -> Result<(), Failure> {
    let read = |path: &Path| -> Result<Dataset, Failure> {
        // Every file is scaled like the normal one (the model's kind of data).
        let data = args.read.read(path, None, Some(&args.normal), range)?;
        if data.n_features != model.n_inputs() {
            return Err(Failure::input(format!(
                "{}: {} values per example where the model {} reads {} (is one of the columns a label? give --label-column)",
                path.display(),
                data.n_features,
                args.model.display(),
                model.n_inputs()
            )));
        }
        if data.n_examples == 0 {
            return Err(Failure::input(format!(
                "{}: has no examples",
                path.display()
            )));
        }
        Ok(data)
    };
    let (normal, anomalous) = (read(&args.normal)?, read(&args.anomalous)?);
    let background = args.background.as_deref().map(read).transpose()?;
    let run = args.measure.run;
    let background = background.map(|b| Background::fit(&b, range));
    let score = |data: &Dataset| {
        let prepared = prepare(data.clone());
        run.install(|| score_rows(model, &prepared))
    };
    let (normal_scores, anomalous_scores) = (score(&normal)?, score(&anomalous)?);
    let ratio = |scores: &FileScores, data: &Dataset, bg: &Background| -> Vec<f64> {
        (0..data.n_examples)
            .map(|i| scores.free_energy[i] + bg.log_density(data.row(i)))
            .collect()
    };
    let mut named: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        (
            "free-energy",
            normal_scores.free_energy.clone(),
            anomalous_scores.free_energy.clone(),
        ),
        (
            "gradient-norm",
            normal_scores.gradient_norm.clone(),
            anomalous_scores.gradient_norm.clone(),
        ),
    ];
    if let Some(bg) = &background {
        named.insert(
            1,
            (
                "likelihood-ratio",
                ratio(&normal_scores, &normal, bg),
                ratio(&anomalous_scores, &anomalous, bg),
            ),
        );
    }
    if !normal_scores.class_doubt.is_empty() {
        named.push((
            "max-probability",
            normal_scores.class_doubt.clone(),
            anomalous_scores.class_doubt.clone(),
        ));
    }
    if !normal_scores.reconstruction_error.is_empty() {
        named.push((
            "reconstruction",
            normal_scores.reconstruction_error.clone(),
            anomalous_scores.reconstruction_error.clone(),
        ));
    }
    let mut m = Metrics::default();
    m.integer("n_normal", normal.n_examples as u64)
        .integer("n_anomalous", anomalous.n_examples as u64);
    let mut chart = ebm_plot::Chart::new(
        format!(
            "ROC: {} (normal) against {} (out of distribution)",
            file_name(&args.normal),
            file_name(&args.anomalous)
        ),
        "false-positive rate (fraction of normal examples flagged)",
        "true-positive rate (fraction of out-of-distribution examples flagged)",
    )
    .x_range(0.0, 1.0)
    .y_range(0.0, 1.0);
    for (name, normal_s, anomalous_s) in &named {
        let auc = roc_auc(normal_s, anomalous_s);
        m.number(&format!("roc_auc_{}", name.replace('-', "_")), auc);
        chart = chart.with(ebm_plot::Series::new(
            format!("{name} (AUC {auc:.3})"),
            roc_curve(normal_s, anomalous_s),
            ebm_plot::Style::Line,
        ));
    }
    chart = chart.with(ebm_plot::figures::diagonal("chance (AUC 0.500)"));
    let layout = ebm_plot::Layout {
        columns: 1,
        panel_width: 760,
        panel_height: 640,
    };
    crate::run_log::draw(args.plot.as_deref(), "ood_roc", &[chart], layout, &mut m)?;
    args.measure.output.print(&m);
    Ok(())
}

/// The file name of `path`, for titles.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Every score of every row of `data`, rows in parallel (each row's arithmetic is fixed,
/// so the scores do not depend on the thread count).
fn score_rows(model: &(dyn InputScores + Sync), data: &Dataset) -> FileScores {
    let rows: Vec<(f64, f64, ebm_rbm::input_scores::Scored)> = (0..data.n_examples)
        .into_par_iter()
        .map_init(
            || vec![0.0f64; model.n_inputs()],
            |grad, i| {
                let scored = model.score_input(data.row(i), grad);
                let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
                (scored.free_energy, norm, scored)
            },
        )
        .collect();
    let mut out = FileScores::default();
    for (f, g, scored) in rows {
        out.free_energy.push(f);
        out.gradient_norm.push(g);
        if let Some(p) = scored.max_class_probability {
            out.class_doubt.push(1.0 - p);
        }
        if let Some(e) = scored.reconstruction_error {
            out.reconstruction_error.push(e);
        }
    }
    out
}

/// Independent values fitted on background data: Bernoulli rates for values in [0, 1]
/// (clamped to [1e-3, 1 - 1e-3]), else Gaussians (standard deviation at least 1e-3).
enum Background {
    Bernoulli { logits: Vec<f64> },
    Gaussian { means: Vec<f64>, stds: Vec<f64> },
}

impl Background {
    fn fit(data: &Dataset, range: ValueRange) -> Self {
        let means = data.feature_means();
        match range {
            ValueRange::Unit => Self::Bernoulli {
                logits: means
                    .iter()
                    .map(|&p| {
                        let p = p.clamp(1e-3, 1.0 - 1e-3);
                        (p / (1.0 - p)).ln()
                    })
                    .collect(),
            },
            ValueRange::Real => {
                let mut variances = vec![0.0f64; data.n_features];
                for i in 0..data.n_examples {
                    for ((v, &x), &m) in variances.iter_mut().zip(data.row(i)).zip(&means) {
                        *v += (f64::from(x) - m).powi(2);
                    }
                }
                let n = data.n_examples.max(1) as f64;
                let stds = variances.iter().map(|v| (v / n).sqrt().max(1e-3)).collect();
                Self::Gaussian { means, stds }
            }
        }
    }

    /// `ln p_bg(x)`.
    fn log_density(&self, x: &[f32]) -> f64 {
        match self {
            Self::Bernoulli { logits } => x
                .iter()
                .zip(logits)
                .map(|(&v, &a)| f64::from(v) * a - ebm_kernels::activation::softplus_f64(a))
                .sum(),
            Self::Gaussian { means, stds } => x
                .iter()
                .zip(means.iter().zip(stds))
                .map(|(&v, (&m, &s))| {
                    let z = (f64::from(v) - m) / s;
                    -0.5 * z * z - s.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
                })
                .sum(),
        }
    }
}
