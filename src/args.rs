//! Flag groups that many commands share, declared once and flattened into each command's
//! flags with `#[command(flatten)]`: `--threads`, `--seed`, `--json`, `--quiet`, and the
//! `--out` of the commands that train and save a model (its default file differs per
//! model).

use crate::Failure;
use crate::output::Metrics;
use clap::Args;
use ebm_core::ModelFileError;
use ebm_kernels::Parallelism;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// `--threads`.
#[derive(Args, Clone, Copy)]
pub struct RunArgs {
    /// Threads.
    #[arg(long, default_value_t = 1)]
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
    #[arg(long, default_value = M::DEFAULT_FILE)]
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

/// The saved models of the training commands and their default files.
mod models {
    use super::SavedModel;
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
}
