//! `ebm factor export`: write a built-in task's data as the files `factor learn --train`
//! reads, so that the file-defined tasks can be checked against the built-in ones: the
//! HMM's sequences as CoNLL-style column files (`train.conll`, `test.conll`: the symbol,
//! then the hidden state), the denoising task's noisy digits as npy-grid arrays
//! (`{train,test}-features.npy` of shape [n, 28, 28, 1] holding the noisy pixel,
//! `{train,test}-labels.npy` of shape [n, 28, 28] holding the clean one). The data are
//! those `factor learn --task` builds with the same data flags and seed.

use super::tasks::{DataArgs, TaskName, learn_failure};
use crate::Failure;
use crate::args::JsonArgs;
use crate::output::Metrics;
use clap::Args;
use ebm_learn::data::Example;
use ebm_learn::tasks::TaskShape;
use ebm_learn::tasks::hmm::{Hmm, Split, hmm_conll};
use std::path::{Path, PathBuf};

/// Flags of `ebm factor export`.
#[derive(Args)]
pub struct ExportArgs {
    /// The built-in task whose data to write: hmm (column files) or denoise (.npy arrays).
    #[arg(long, value_enum)]
    pub task: TaskName,
    /// The folder to write the files into (created when missing; files there of the same
    /// names are replaced, atomically).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub output: JsonArgs,
}

/// Write `bytes` to `dir/name` atomically; its path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, Failure> {
    let path = dir.join(name);
    ebm_core::atomic::write_atomic(&path, bytes)
        .map_err(|e| Failure::run(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// The denoising examples as a features array (the noisy pixel, the second unary
/// feature) and a labels array (the clean pixel).
fn grid_arrays(examples: &[Example], height: usize, width: usize) -> (Vec<u8>, Vec<u8>) {
    let pixels = height * width;
    let mut features = Vec::with_capacity(examples.len() * pixels);
    let mut labels = Vec::with_capacity(examples.len() * pixels);
    for example in examples {
        features.extend((0..pixels).map(|v| example.features[2 * v + 1] as f32));
        labels.extend(example.labels.iter().map(|&l| l as i64));
    }
    let n = examples.len();
    (
        ebm_data::npy::encode_f32(&[n, height, width, 1], &features),
        ebm_data::npy::encode_i64(&[n, height, width], &labels),
    )
}

/// Run `ebm factor export`.
pub fn export(args: ExportArgs) -> Result<(), Failure> {
    args.data.check_applies(args.task)?;
    if args.data.decoder.is_some() {
        return Err(Failure::input(
            "--decoder applies to factor learn and predict",
        ));
    }
    let dir = &args.out;
    let mut written = Vec::new();
    let mut metrics = Metrics::default();
    match args.task {
        TaskName::Hmm => {
            let hmm = Hmm::sticky();
            let (train, test) = (args.data.train_count(args.task), args.data.test_count());
            let shape = TaskShape::Hmm {
                states: hmm.states(),
                symbols: hmm.symbols(),
            };
            args.data.check_memory(shape, train, test)?;
            let (length, seed) = (args.data.length(), args.data.random.seed);
            let train_text =
                hmm_conll(&hmm, train, length, seed, Split::Train).map_err(learn_failure)?;
            let test_text =
                hmm_conll(&hmm, test, length, seed, Split::Test).map_err(learn_failure)?;
            create(dir)?;
            written.push(write(dir, "train.conll", train_text.as_bytes())?);
            written.push(write(dir, "test.conll", test_text.as_bytes())?);
            metrics
                .text("task", shape.name())
                .integer("train_examples", train as u64)
                .integer("test_examples", test as u64)
                .integer("length", length as u64);
        }
        TaskName::Denoise => {
            let task = args.data.task(args.task, true)?;
            let TaskShape::Denoise { height, width, .. } = task.shape else {
                unreachable!("the denoising task has the denoising shape");
            };
            create(dir)?;
            for (split, examples) in [("train", &task.train), ("test", &task.test)] {
                let (features, labels) = grid_arrays(examples, height, width);
                written.push(write(dir, &format!("{split}-features.npy"), &features)?);
                written.push(write(dir, &format!("{split}-labels.npy"), &labels)?);
            }
            metrics
                .text("task", task.shape.name())
                .integer("train_examples", task.train.len() as u64)
                .integer("test_examples", task.test.len() as u64);
        }
        TaskName::Sudoku => {
            return Err(Failure::input(
                "--task sudoku: export writes --task hmm (column files) or --task denoise (.npy arrays)",
            ));
        }
    }
    let names: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    metrics.text("files", &names.join(" "));
    args.output.print(&metrics);
    Ok(())
}

/// Create the folder `dir` (and its parents).
fn create(dir: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::input(format!("--out {}: {e}", dir.display())))
}
