//! The verbs every classifier shares (the class RBM's and the joint model's): class
//! probabilities of a file at a temperature (`predict`), temperature scaling with its
//! report (`calibrate`), and the share of class-conditional samples a class RBM assigns
//! to the intended class (`sample --classifier`).

use crate::Failure;
use crate::args::{MeasureArgs, RunArgs};
use crate::output::Metrics;
use crate::setup::{MnistArgs, load_mnist, load_model};
use crate::user_data::ValueRange;
use clap::Args;
use ebm_core::ModelFile;
use ebm_core::calibration::most_probable;
use ebm_data::mnist::Split;
use ebm_rbm::class_rbm::ClassRbm;
use std::path::{Path, PathBuf};

/// A saved classifier the shared verbs run.
pub trait Classifier: ModelFile {
    /// Its name in titles (e.g. "class RBM").
    const NAME: &'static str;
    /// Why another `--dataset` than mnist is refused.
    const MNIST_ONLY: &'static str;
    /// Values of one input.
    fn inputs(&self) -> usize;
    /// Classes.
    fn classes(&self) -> usize;
    /// `ln p(y | x)` of every row of `features`, `n x classes`, on `--threads`.
    ///
    /// # Errors
    ///
    /// Bad input when the thread pool cannot be built.
    fn log_probabilities(&self, features: &[f32], run: RunArgs) -> Result<Vec<f32>, Failure>;
}

impl Classifier for ClassRbm {
    const NAME: &'static str = "class RBM";
    const MNIST_ONLY: &'static str = "has no labels; the class RBM needs mnist";

    fn inputs(&self) -> usize {
        self.n_visible()
    }

    fn classes(&self) -> usize {
        self.n_classes()
    }

    fn log_probabilities(&self, features: &[f32], run: RunArgs) -> Result<Vec<f32>, Failure> {
        let mut out = vec![0.0f32; features.len() / self.n_visible() * self.n_classes()];
        let par = run.parallelism();
        run.install(|| self.class_log_probabilities(features, &mut out, par))?;
        Ok(out)
    }
}

/// Flags of the `predict` verbs.
#[derive(Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub table: crate::tables::TableArgs,
    /// Write softmax(ln p(y | x) / T): the temperature `calibrate` fitted (T > 1
    /// flattens the probabilities, T < 1 sharpens them; the predicted class is the
    /// same).
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
}

/// Flags of the `calibrate` verbs.
#[derive(Args)]
pub struct CalibrateArgs {
    /// The model file.
    pub model: PathBuf,
    #[command(flatten)]
    pub data: MnistArgs,
    #[command(flatten)]
    pub calibration: crate::calibrate::CalibrateArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

/// `predict`: the class probabilities of every example of `--input` at `--temperature`
/// as a table, with the error rate when the input has labels.
///
/// # Errors
///
/// Bad input naming the flag or file; a failed run when the table cannot be written.
pub fn predict<M: Classifier>(args: PredictArgs) -> Result<(), Failure> {
    let temperature = args.temperature;
    if !(temperature.is_finite() && temperature > 0.0) {
        return Err(Failure::input(format!(
            "--temperature: {temperature} must be a positive number"
        )));
    }
    let (run, model, data) = args.table.open(ValueRange::Unit, M::inputs)?;
    let classes = model.classes();
    let mut probabilities = model.log_probabilities(&data.features, run)?;
    for row in probabilities.chunks_exact_mut(classes) {
        ebm_core::calibration::softmax_at(row, temperature);
    }
    let mut m = Metrics::default();
    if let Some(labels) = &data.labels {
        // The error of the probabilities written, not of a second pass over the input.
        let wrong = probabilities
            .chunks_exact(classes)
            .zip(labels)
            .filter(|(p, l)| most_probable(p) != usize::from(**l))
            .count();
        m.number("error_rate", wrong as f64 / data.n_examples.max(1) as f64);
    }
    args.table.finish(probabilities, classes, &["class"], m)
}

/// `calibrate`: the temperature fitted on the training split's last examples, and the
/// test split's calibration before and after (see [`crate::calibrate::report`]).
///
/// # Errors
///
/// Bad input naming the flag or file (unlabeled data, labels out of range, the wrong
/// number of features); a failed run when the diagrams cannot be written.
pub fn calibrate<M: Classifier>(args: CalibrateArgs) -> Result<(), Failure> {
    let model: M = load_model(&args.model)?;
    let train = load_mnist(&args.data, Split::Train, M::MNIST_ONLY, ValueRange::Unit)?;
    let validation = crate::calibrate::validation_tail(&train, args.calibration.validation_size)?;
    drop(train);
    let test = load_mnist(&args.data, Split::Test, M::MNIST_ONLY, ValueRange::Unit)?;
    let classes = model.classes();
    let score = |flag: &str, data: &ebm_data::Dataset| {
        let labels = data.labels.as_deref().ok_or_else(|| {
            Failure::input(format!("{flag}: has no labels; calibration needs them"))
        })?;
        if data.n_features != model.inputs() {
            return Err(Failure::input(format!(
                "{flag}: {} features per example where the model has {}",
                data.n_features,
                model.inputs()
            )));
        }
        if let Some(&bad) = labels.iter().find(|&&l| usize::from(l) >= classes) {
            return Err(Failure::input(format!(
                "{flag}: label {bad} is not one of the model's {classes} classes"
            )));
        }
        model.log_probabilities(&data.features, args.measure.run)
    };
    let (val_lp, test_lp) = (score("--train", &validation)?, score("--test", &test)?);
    let labels = |data: &ebm_data::Dataset| data.labels.clone().unwrap_or_default();
    let (val_labels, test_labels) = (labels(&validation), labels(&test));
    let m = crate::calibrate::report(
        &args.calibration,
        M::NAME,
        classes,
        crate::calibrate::Scored {
            log_probs: &val_lp,
            labels: &val_labels,
        },
        crate::calibrate::Scored {
            log_probs: &test_lp,
            labels: &test_labels,
        },
    )?;
    args.measure.output.print(&m);
    Ok(())
}

/// The class RBM of `sample --classifier` (`path`), refused as bad input unless it reads
/// `inputs` values into `classes` classes like the sampled model.
///
/// # Errors
///
/// Bad input naming the flag and the file.
pub fn load_classifier(path: &Path, inputs: usize, classes: usize) -> Result<ClassRbm, Failure> {
    let c = load_classifier_of_width(path, inputs)?;
    if c.n_classes() != classes {
        return Err(Failure::input(format!(
            "--classifier: {}: reads {} values into {} classes where the model has {} and {}",
            path.display(),
            c.n_visible(),
            c.n_classes(),
            inputs,
            classes
        )));
    }
    Ok(c)
}

/// Loads the class RBM at `path` for samples of `inputs` values, whatever its number of
/// classes (a Gaussian RBM's samples have no classes of their own).
///
/// # Errors
///
/// As [`load_classifier`], without the check of the number of classes.
pub fn load_classifier_of_width(path: &Path, inputs: usize) -> Result<ClassRbm, Failure> {
    let c: ClassRbm = load_model(path)?;
    if c.n_visible() != inputs {
        return Err(Failure::input(format!(
            "--classifier: {}: reads {} values where the model has {}",
            path.display(),
            c.n_visible(),
            inputs
        )));
    }
    Ok(c)
}

/// The class probability above which a classified sample counts as confident.
pub const CONFIDENT: f32 = 0.9;

/// How `classifier` sees `samples` (rows of its `n_visible` values in [0, 1]): each
/// row's most probable class and that class's probability.
pub fn classify_samples(classifier: &ClassRbm, samples: &[f32]) -> Vec<(usize, f32)> {
    let classes = classifier.n_classes();
    let mut log_probs = vec![0.0f32; samples.len() / classifier.n_visible() * classes];
    classifier.class_log_probabilities(
        samples,
        &mut log_probs,
        ebm_kernels::Parallelism::Sequential,
    );
    log_probs
        .chunks_exact(classes)
        .map(|row| {
            let class = most_probable(row);
            (class, row[class].exp())
        })
        .collect()
}

/// Classify `samples` (rows of `classifier.n_visible()` values; sample `k` meant for
/// class `intended[k]`) and record the share the classifier assigns to the intended
/// class (`recognized_share`), the share it assigns there with probability above
/// [`CONFIDENT`] (`confident_share`) and the count (`samples`).
pub fn recognized_shares(
    classifier: &ClassRbm,
    samples: &[f32],
    intended: &[usize],
    m: &mut Metrics,
) {
    let (mut recognized, mut confident) = (0usize, 0usize);
    for ((class, probability), &intended) in classify_samples(classifier, samples)
        .into_iter()
        .zip(intended)
    {
        if class == intended {
            recognized += 1;
            confident += usize::from(probability > CONFIDENT);
        }
    }
    let total = intended.len() as f64;
    m.number("recognized_share", recognized as f64 / total)
        .number("confident_share", confident as f64 / total)
        .integer("samples", intended.len() as u64);
}

/// The classes of labeled training data (from the user's file `train`, else a built-in
/// set): one more than the largest label (at least 2), or bad input naming `--train`
/// when there are no labels (`model` needs them).
///
/// # Errors
///
/// As above.
pub fn label_classes(
    train: Option<&Path>,
    data: &ebm_data::Dataset,
    model: &str,
) -> Result<usize, Failure> {
    let Some(labels) = &data.labels else {
        let file = train.map_or_else(|| "the data".to_string(), |t| t.display().to_string());
        return Err(Failure::input(format!(
            "--train: {file}: has no labels; {model} needs them (give --labels FILE or --label-column C)"
        )));
    };
    Ok(labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0)
        .max(2))
}
