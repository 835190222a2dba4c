//! Flag groups that many commands share, declared once and flattened into each command's
//! flags with `#[command(flatten)]`: `--threads`, `--seed`, `--json`, `--quiet`, and the
//! `--out` of the commands that train and save a model (its default file differs per
//! model).

use crate::Failure;
use crate::output::Metrics;
use clap::Args;
use ebm_core::ModelFileError;
use ebm_core::train::LoopConfig;
use ebm_kernels::Parallelism;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// The longest time a seconds flag (`--time-limit`) accepts: one year.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// The value parser of every seconds flag (`--time-limit`): a finite, positive number of
/// seconds of at most a year (so that converting it to a `Duration` cannot panic).
pub fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !value.is_finite() || value <= 0.0 {
        Err("must be a positive, finite number of seconds".to_string())
    } else if value > MAX_SECONDS {
        Err(format!("must be at most {MAX_SECONDS} seconds (one year)"))
    } else {
        Ok(value)
    }
}

/// The value parser of every memory flag (`--max-memory`): a positive number of bytes,
/// with an optional binary suffix `K`, `M`, `G` or `T` (`8G` = 8 x 2^30; `KB`, `KiB` and
/// the lower case are the same).
pub fn bytes(text: &str) -> Result<u128, String> {
    let t = text.trim();
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = t[digits.len()..].to_ascii_lowercase();
    let shift = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("'{text}' has an unknown unit (use K, M, G or T)")),
    };
    let value: u128 = digits
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of bytes such as 8G or 512M"))?;
    if value == 0 {
        return Err("must be a positive number of bytes".to_string());
    }
    value
        .checked_shl(shift)
        .filter(|v| v >> shift == value)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// The value parser of every size flag (`--hidden`, `--batch`, `--chains`, `--colors`,
/// ...): a count whose smallest implied allocation (one `f32` per unit) fits in the
/// machine's available memory; the products a command allocates once its data are known
/// are checked by [`crate::memory::check`].
pub fn count(text: &str) -> Result<usize, String> {
    let value: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a non-negative integer"))?;
    crate::memory::fits(value as u128, 4).map(|()| value)
}

/// The value parser of the counts that must be at least 1 (`--pl-examples`, `factor
/// learn --test`): [`count`], and 0 is refused.
pub fn positive_count(text: &str) -> Result<usize, String> {
    match count(text)? {
        0 => Err("must be at least 1".to_string()),
        value => Ok(value),
    }
}

/// The value parser of a number that must be finite (`--relevant-from`): NaN and the
/// infinities are refused.
pub fn finite(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err("must be a finite number".to_string()),
        Err(_) => Err(format!("'{text}' is not a number")),
    }
}

/// The most threads `--threads` accepts: four per CPU (at least 4, at most 256).
pub fn max_threads() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cpus * 4).clamp(4, 256)
}

/// The value parser of every `--threads`: at least 1, at most [`max_threads`].
pub fn threads(text: &str) -> Result<usize, String> {
    let value: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of threads"))?;
    let max = max_threads();
    if value == 0 {
        Err("must be at least 1".to_string())
    } else if value > max {
        Err(format!(
            "must be at most {max} (four per CPU of this machine)"
        ))
    } else {
        Ok(value)
    }
}

/// Why `path` cannot be written as an output file, if it cannot: its folder must exist
/// and be a folder, and the path itself, if it exists, must be a regular file.
fn unwritable(path: &Path) -> Option<String> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(parent) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Some(format!(
                "{}: {} is not a folder",
                path.display(),
                parent.display()
            ));
        }
        Err(_) => {
            return Some(format!(
                "{}: folder {} does not exist",
                path.display(),
                parent.display()
            ));
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Some(format!(
            "{}: exists and is not a regular file",
            path.display()
        )),
        _ => None,
    }
}

/// The value parser of every output file flag (`--out`, `--png`, `--checkpoint`, ...):
/// checked before any work (see [`unwritable`]).
pub fn output_file(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    match unwritable(&path) {
        Some(why) => Err(why),
        None => Ok(path),
    }
}

/// The value parser of a model's `--out`: [`output_file`] for the model and for the
/// `.ckpt` checkpoint beside it.
pub fn model_output_file(text: &str) -> Result<PathBuf, String> {
    let path = output_file(text)?;
    output_file(&format!("{text}.ckpt"))?;
    Ok(path)
}

/// `--threads`.
#[derive(Args, Clone, Copy)]
pub struct RunArgs {
    /// Threads.
    #[arg(long, default_value_t = 1, value_parser = threads)]
    pub threads: usize,
}

impl RunArgs {
    /// Refuse `--threads 0` (bad input) before any work is done.
    pub fn check(self) -> Result<Self, Failure> {
        crate::threads::check(self.threads).map(|()| self)
    }

    /// Run `work` on a rayon pool of `--threads` threads.
    pub fn install<T: Send>(self, work: impl FnOnce() -> T + Send) -> Result<T, Failure> {
        Ok(crate::threads::pool(self.threads)?.install(work))
    }

    /// The kernels' parallelism for `--threads`.
    pub fn parallelism(self) -> Parallelism {
        Parallelism::with_threads(self.threads)
    }
}

/// `--seed`.
#[derive(Args, Clone, Copy)]
pub struct SeedArgs {
    /// Seed of every random choice (the same seed gives the same results).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `--json`.
#[derive(Args, Clone, Copy)]
pub struct JsonArgs {
    /// Print the results as one JSON object on the last line of stdout.
    #[arg(long)]
    pub json: bool,
}

impl JsonArgs {
    /// Print `metrics` as `--json` asks.
    pub fn print(self, metrics: &Metrics) {
        metrics.print(self.json);
    }
}

/// `--json` and `--quiet`: the flags of the commands that show progress while they train.
#[derive(Args, Clone, Copy)]
pub struct ReportArgs {
    #[command(flatten)]
    pub output: JsonArgs,
    /// No progress output on stderr.
    #[arg(long)]
    pub quiet: bool,
}

/// `--threads` and `--json`: the flags every command ends with that measures a saved
/// model (it computes on `--threads` threads and prints its results as `--json` asks).
#[derive(Args, Clone, Copy)]
pub struct MeasureArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

/// A model a sampling command draws Gibbs samples from.
pub trait SampledModel {
    /// The default of `--chains`.
    const DEFAULT_CHAINS: &'static str;
}

/// The model file and `--chains`, `--steps`, `--png` and `--seed`: the flags of the
/// commands that draw Gibbs samples from a saved model into a PNG grid, one tile a chain
/// (the default of `--chains` depends on the model kind).
#[derive(Args)]
pub struct GibbsSampleArgs<M: SampledModel> {
    /// The model file.
    pub model: PathBuf,
    /// Independent chains (one tile each; per class for the class RBM).
    #[arg(long, default_value = M::DEFAULT_CHAINS, value_parser = count)]
    pub chains: usize,
    /// Gibbs sweeps per chain.
    #[arg(long, default_value_t = 1000)]
    pub steps: usize,
    /// Output PNG.
    #[arg(long, value_parser = output_file)]
    pub png: PathBuf,
    #[command(flatten)]
    pub image: ImageShapeArgs,
    #[command(flatten)]
    pub random: SeedArgs,
    #[arg(skip)]
    model_kind: PhantomData<M>,
}

/// Where a sampling command puts its samples and who judges them: `--png`, `--out`,
/// `--classifier` and the image shape (the Gaussian RBM's and the joint model's `sample`).
#[derive(Args)]
pub struct SampleOutputArgs {
    /// Output PNG.
    #[arg(long, value_parser = output_file)]
    pub png: PathBuf,
    /// Also write the samples (rows of one value per input) to FILE.npy or FILE.csv.
    #[arg(long, value_parser = output_file)]
    pub out: Option<PathBuf>,
    /// Classify the samples, clipped to [0, 1], with this class RBM and report the shares
    /// it assigns with probability above 0.9 (to the intended class, for models that
    /// sample per class).
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    #[command(flatten)]
    pub image: ImageShapeArgs,
}

/// Parse the comma-separated list of positive counts `text` of flag `flag` (e.g.
/// `--hidden 64,64`, `--cd-steps 1,3,5`), `what` naming the counts in the error.
pub fn positive_list(flag: &str, what: &str, text: &str) -> Result<Vec<usize>, Failure> {
    let counts: Result<Vec<usize>, _> = text.split(',').map(|s| s.trim().parse()).collect();
    match counts {
        Ok(counts) if !counts.is_empty() && !counts.contains(&0) => Ok(counts),
        _ => Err(Failure::input(format!(
            "{flag}: '{text}' is not a comma-separated list of positive {what}"
        ))),
    }
}

/// The height and width of the pictures of a model's inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageShape {
    /// Rows of pixels.
    pub height: usize,
    /// Pixels per row.
    pub width: usize,
}

impl ImageShape {
    /// Write `tiles` (values in `[0, 1]`, clamped; one tile of this shape after another)
    /// to `png` as a near-square grid.
    ///
    /// # Errors
    ///
    /// A failed run when the file cannot be written.
    pub fn write_square_grid(self, png: &Path, tiles: &[f32]) -> Result<(), Failure> {
        let count = tiles.len() / (self.height * self.width).max(1);
        let columns = (count as f64).sqrt().ceil().max(1.0) as usize;
        ebm_data::image_grid::write_png_grid(
            png,
            tiles,
            self.height,
            self.width,
            columns,
            ebm_data::image_grid::Scaling::Unit,
        )
        .map_err(Failure::run)
    }
}

/// `--image-shape` of the commands that draw a model's inputs as pictures.
#[derive(Args, Clone, Copy, Default)]
pub struct ImageShapeArgs {
    /// Shape of the pictures of the inputs, HEIGHTxWIDTH (e.g. 28x28; default: square
    /// inputs are square images, other inputs are not images and get no picture).
    #[arg(long, value_name = "HxW", value_parser = image_shape)]
    pub image_shape: Option<ImageShape>,
}

impl ImageShapeArgs {
    /// The picture shape of `model`'s `n_visible` inputs: `--image-shape` (which must
    /// have `n_visible` pixels), else a square; `None` when the inputs are not an image.
    ///
    /// # Errors
    ///
    /// Bad input naming the flag and the model file when the shape does not fit.
    pub fn resolve(self, model: &Path, n_visible: usize) -> Result<Option<ImageShape>, Failure> {
        match self.image_shape {
            Some(shape) if shape.height * shape.width == n_visible => Ok(Some(shape)),
            Some(shape) => Err(Failure::input(format!(
                "--image-shape: {}x{} is {} pixels; {} has {n_visible} visible units",
                shape.height,
                shape.width,
                shape.height * shape.width,
                model.display()
            ))),
            None => {
                let side = (n_visible as f64).sqrt().round() as usize;
                Ok(
                    (side > 1 && side * side == n_visible).then_some(ImageShape {
                        height: side,
                        width: side,
                    }),
                )
            }
        }
    }

    /// [`Self::resolve`], with a note on stderr when there is no picture to draw (the
    /// command then writes none and succeeds).
    ///
    /// # Errors
    ///
    /// As [`Self::resolve`].
    pub fn resolve_or_note(
        self,
        model: &Path,
        n_visible: usize,
    ) -> Result<Option<ImageShape>, Failure> {
        let shape = self.resolve(model, n_visible)?;
        if shape.is_none() {
            eprintln!(
                "note: {}: {n_visible} visible units are not a square image; no picture written (give --image-shape HxW)",
                model.display()
            );
        }
        Ok(shape)
    }
}

/// Parse `HEIGHTxWIDTH` (both at least 1).
fn image_shape(text: &str) -> Result<ImageShape, String> {
    let parsed = text.split_once(['x', 'X']).and_then(|(h, w)| {
        let (height, width) = (h.trim().parse().ok()?, w.trim().parse().ok()?);
        (height > 0 && width > 0).then_some(ImageShape { height, width })
    });
    parsed.ok_or_else(|| format!("'{text}' is not HEIGHTxWIDTH (e.g. 28x28)"))
}

/// A model a training command saves to `--out`.
pub trait SavedModel {
    /// The default of `--out`.
    const DEFAULT_FILE: &'static str;
    /// Write the model file (atomically: a failed write leaves an old file alone).
    fn save_file(&self, path: &Path) -> Result<(), ModelFileError>;
}

/// `--out`: where a training command saves its model (the default names the model kind).
#[derive(Args)]
pub struct OutArgs<M: SavedModel> {
    /// Where to save the trained model.
    #[arg(long, default_value = M::DEFAULT_FILE, value_parser = model_output_file)]
    pub out: PathBuf,
    #[arg(skip)]
    model: PhantomData<M>,
}

impl<M: SavedModel> OutArgs<M> {
    /// `path.ckpt` beside the model file: the default checkpoint of a run.
    pub fn checkpoint(&self) -> PathBuf {
        let mut name = self.out.as_os_str().to_owned();
        name.push(".ckpt");
        PathBuf::from(name)
    }

    /// Save `model` to `--out`, then print `metrics` (with the `out` path added) as
    /// `--json` asks: the end of every training command.
    pub fn save_and_report(
        &self,
        model: &M,
        mut metrics: Metrics,
        output: JsonArgs,
    ) -> Result<(), Failure> {
        model.save_file(&self.out).map_err(Failure::run)?;
        metrics.text("out", &self.out.display().to_string());
        output.print(&metrics);
        Ok(())
    }
}

/// `--threads`, `--out`, `--json`, `--quiet`, `--log` and `--plot`: the flags every
/// training command ends with (it trains on `--threads` threads, shows its progress
/// unless `--quiet`, records its epochs as `--log` and `--plot` ask, saves its model to
/// `--out` and prints its results as `--json` asks).
#[derive(Args)]
pub struct TrainingArgs<M: SavedModel> {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub out: OutArgs<M>,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub log: crate::run_log::LogArgs,
}

impl<M: SavedModel> TrainingArgs<M> {
    /// The training loop's settings: `epochs` and `batch_size` (flags whose defaults differ
    /// per command), `--seed`, `--threads`, and the trainer's `defaults` for the rest.
    pub fn loop_config(
        &self,
        epochs: usize,
        batch_size: usize,
        random: SeedArgs,
        defaults: LoopConfig,
    ) -> LoopConfig {
        LoopConfig {
            epochs,
            batch_size,
            seed: random.seed,
            threads: self.run.threads,
            ..defaults
        }
    }

    /// Save `model` to `--out` and print `metrics` (see [`OutArgs::save_and_report`]).
    pub fn save_and_report(&self, model: &M, metrics: Metrics) -> Result<(), Failure> {
        self.out.save_and_report(model, metrics, self.report.output)
    }

    /// The record of this run's epochs as `--log` and `--plot` ask (`command` titles the
    /// plots).
    pub fn epoch_log(&self, command: &'static str) -> crate::run_log::EpochLog {
        crate::run_log::EpochLog::new(&self.log, command)
    }
}

/// The saved models of the training commands and their default files, and the sampled
/// models and their default numbers of chains.
mod models {
    use super::{SampledModel, SavedModel};
    use ebm_core::{ModelFile, ModelFileError};
    use std::path::Path;

    macro_rules! saved_model {
        ($model:ty, $file:literal) => {
            impl SavedModel for $model {
                const DEFAULT_FILE: &'static str = $file;
                fn save_file(&self, path: &Path) -> Result<(), ModelFileError> {
                    self.save(path)
                }
            }
        };
    }

    saved_model!(ebm_rbm::BinaryRbm, "rbm.ebm");
    saved_model!(ebm_cf::CfModel, "cf.ebm");
    saved_model!(ebm_rbm::class_rbm::ClassRbm, "class-rbm.ebm");
    saved_model!(ebm_rbm::gaussian::GaussianRbm, "gaussian-rbm.ebm");
    saved_model!(ebm_neural::Mlp, "energy.ebm");
    saved_model!(ebm_neural::joint::JointEnergy, "joint.ebm");

    impl SampledModel for ebm_rbm::BinaryRbm {
        const DEFAULT_CHAINS: &'static str = "100";
    }

    impl SampledModel for ebm_rbm::class_rbm::ClassRbm {
        // Samples per class.
        const DEFAULT_CHAINS: &'static str = "10";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse_with_binary_suffixes() {
        assert_eq!(bytes("1024").unwrap(), 1024);
        assert_eq!(bytes("8G").unwrap(), 8 << 30);
        assert_eq!(bytes("512m").unwrap(), 512 << 20);
        assert_eq!(bytes("3KiB").unwrap(), 3 << 10);
        assert_eq!(bytes("2TB").unwrap(), 2 << 40);
        for bad in ["0", "8X", "G", "-1", "1.5G"] {
            assert!(bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_of_positive_counts_and_image_shapes_parse_or_name_the_flag() {
        assert_eq!(
            positive_list("--hidden", "widths", "64, 32").unwrap(),
            [64, 32]
        );
        for bad in ["", "64,0", "a", "1,,2"] {
            let e = positive_list("--hidden", "widths", bad)
                .unwrap_err()
                .message;
            assert!(e.starts_with("--hidden: ") && e.contains("widths"), "{e}");
        }
        let shape = image_shape("28x20").unwrap();
        assert_eq!((shape.height, shape.width), (28, 20));
        for bad in ["28", "0x4", "4x", "axb"] {
            assert!(image_shape(bad).is_err(), "{bad}");
        }
    }
}
