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
//! the squared error of the mean-field reconstruction for the binary RBM; with
//! `--background-model`, the ratio `F(x) - F_bg(x)` against a second saved model (Ren et
//! al.'s background model trained on perturbed data); with `--background`, typicality
//! `|F(x) - mean F|` (Nalisnick et al. 2019); for values in [0, 1], the input-complexity
//! ratio `F(x) / ln 2 - L(x)` ([`complexity`], Serra et al. 2020). The model is any RBM
//! kind or a neural energy (`src/energy/input_scores.rs`).

mod complexity;

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
    /// The model file: a binary RBM, class RBM, Gaussian RBM, neural energy or joint energy model.
    pub model: PathBuf,
    /// In-distribution examples: held-out examples like the model's training data.
    #[arg(long)]
    pub normal: PathBuf,
    /// Out-of-distribution examples.
    #[arg(long)]
    pub anomalous: PathBuf,
    /// Fit the likelihood ratio's background model (independent values) on this file,
    /// usually the model's training data, and measure typicality against its first
    /// 10,000 rows; without it those scores are left out.
    #[arg(long)]
    pub background: Option<PathBuf>,
    /// A background model of any kind that scores inputs (Ren et al. 2019: the same kind
    /// as MODEL, trained on perturbed training data): adds the likelihood ratio
    /// `F(x) - F_bg(x)`.
    #[arg(long, value_name = "FILE")]
    pub background_model: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Draw the ROC curve of every score as DIR/ood_roc.png.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// Background rows the typicality's mean free energy is taken over.
const TYPICAL_ROWS: usize = 10_000;

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
    let model = Scorer::load(&args.model)?;
    let background_model = args
        .background_model
        .as_deref()
        .map(Scorer::load)
        .transpose()?;
    evaluate(&args, &model, background_model.as_ref())
}

/// A saved model that scores inputs, with how it reads them.
struct Scorer {
    model: Box<dyn InputScores + Sync>,
    /// The values it reads.
    range: ValueRange,
    /// What is done to a file's rows before scoring (the Gaussian RBM's standardization).
    prepare: Box<dyn Fn(Dataset) -> Dataset>,
}

impl Scorer {
    /// The model in `path`, of any kind that scores inputs.
    fn load(path: &Path) -> Result<Self, Failure> {
        let header = ebm_core::model_file::read_header(path).map_err(Failure::input)?;
        let plain = |model: Box<dyn InputScores + Sync>, range| Scorer {
            model,
            range,
            prepare: Box::new(|d| d),
        };
        match header.kind.as_str() {
            ebm_rbm::MODEL_KIND => {
                let model: ebm_rbm::BinaryRbm = crate::setup::load_model(path)?;
                Ok(plain(Box::new(model), ValueRange::Unit))
            }
            ebm_rbm::class_rbm::CLASS_RBM_KIND => {
                let model: ebm_rbm::class_rbm::ClassRbm = crate::setup::load_model(path)?;
                Ok(plain(Box::new(model), ValueRange::Unit))
            }
            ebm_rbm::gaussian::GAUSSIAN_RBM_KIND => {
                let model: ebm_rbm::gaussian::GaussianRbm = crate::setup::load_model(path)?;
                let standardizer = model.clone();
                Ok(Scorer {
                    model: Box::new(model),
                    range: ValueRange::Real,
                    prepare: Box::new(move |d| standardizer.standardize(&d)),
                })
            }
            // Read as `ebm energy` reads its files (any finite values).
            ebm_neural::MLP_ENERGY_KIND
            | ebm_neural::CONV_ENERGY_KIND
            | ebm_neural::noise_conditional::NCSN_ENERGY_KIND => Ok(plain(
                Box::new(crate::energy::input_scores::EnergyScores::load(path)?),
                ValueRange::Real,
            )),
            ebm_neural::joint::JOINT_ENERGY_KIND => {
                let model: ebm_neural::joint::JointEnergy = crate::setup::load_model(path)?;
                Ok(plain(
                    Box::new(crate::joint::scores::JointScores(model)),
                    ValueRange::Unit,
                ))
            }
            other => Err(Failure::input(format!(
                "{}: a '{other}' model does not score inputs here (binary, class or Gaussian RBMs, neural energies and joint energy models do)",
                path.display()
            ))),
        }
    }

    /// How this scorer reads every file: scaled like `--normal` (the model's kind of data).
    fn reading(&self, args: &OodArgs) -> Result<ReadArgs, Failure> {
        args.read.scaled_like(&args.normal, self.range)
    }

    /// The rows of `path` read by `reading` (see [`Self::reading`]), checked against the
    /// model's width.
    fn read(&self, reading: &ReadArgs, model_path: &Path, path: &Path) -> Result<Dataset, Failure> {
        let data = reading.read(path, None, None, self.range)?;
        if data.n_features != self.model.n_inputs() {
            return Err(Failure::input(format!(
                "{}: {} values per example where the model {} reads {} (is one of the columns a label? give --label-column)",
                path.display(),
                data.n_features,
                model_path.display(),
                self.model.n_inputs()
            )));
        }
        if data.n_examples == 0 {
            return Err(Failure::input(format!(
                "{}: has no examples",
                path.display()
            )));
        }
        Ok(data)
    }

    /// Every score of every row of `data`.
    fn score(&self, run: crate::args::RunArgs, data: &Dataset) -> Result<FileScores, Failure> {
        let prepared = (self.prepare)(data.clone());
        let model = self.model.as_ref();
        run.install(|| score_rows(model, &prepared))
    }
}

/// Score both files with `model` (and the background model, if any), report the AUCs
/// and draw the curves.
fn evaluate(
    args: &OodArgs,
    scorer: &Scorer,
    background_model: Option<&Scorer>,
) -> Result<(), Failure> {
    let reading = scorer.reading(args)?;
    let read = |path: &Path| scorer.read(&reading, &args.model, path);
    let (normal, anomalous) = (read(&args.normal)?, read(&args.anomalous)?);
    let background = args.background.as_deref().map(read).transpose()?;
    let run = args.measure.run;
    let (normal_scores, anomalous_scores) =
        (scorer.score(run, &normal)?, scorer.score(run, &anomalous)?);
    let fitted = background
        .as_ref()
        .map(|b| Background::fit(b, scorer.range));
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
    if let Some(bg) = &fitted {
        named.insert(
            1,
            (
                "likelihood-ratio",
                ratio(&normal_scores, &normal, bg),
                ratio(&anomalous_scores, &anomalous, bg),
            ),
        );
    }
    if let (Some(path), Some(bg)) = (&args.background_model, background_model) {
        // F(x) - F_bg(x): the background model reads the files as its kind does.
        let bg_reading = bg.reading(args)?;
        let against = |scores: &FileScores, file: &Path| -> Result<Vec<f64>, Failure> {
            let data = bg.read(&bg_reading, path, file)?;
            let other = bg.score(run, &data)?;
            Ok(scores
                .free_energy
                .iter()
                .zip(&other.free_energy)
                .map(|(f, g)| f - g)
                .collect())
        };
        named.push((
            "likelihood-ratio-model",
            against(&normal_scores, &args.normal)?,
            against(&anomalous_scores, &args.anomalous)?,
        ));
    }
    if let Some(background) = &background {
        // |F(x) - mean F| over (at most 10,000 of) the background rows: Nalisnick et al.
        // 2019's typicality, one input at a time.
        let rows = background.head(TYPICAL_ROWS);
        let typical = scorer.score(run, &rows)?.free_energy;
        let mean = typical.iter().sum::<f64>() / typical.len() as f64;
        let distance = |s: &FileScores| s.free_energy.iter().map(|f| (f - mean).abs()).collect();
        named.push((
            "typicality",
            distance(&normal_scores),
            distance(&anomalous_scores),
        ));
    }
    let unit = |d: &Dataset| d.features.iter().all(|v| (0.0..=1.0).contains(v));
    if unit(&normal) && unit(&anomalous) {
        named.push((
            "complexity-ratio",
            complexity::complexity_ratio(&normal_scores.free_energy, &normal),
            complexity::complexity_ratio(&anomalous_scores.free_energy, &anomalous),
        ));
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
                let variances = data.feature_squared_deviations(&means);
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
