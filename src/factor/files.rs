//! `ebm factor learn --train FILE` and `ebm factor predict` of the model it saves: the
//! tasks the user's files define. A CoNLL-style column file makes a chain CRF over its
//! sequences with the `--template`s named on the command line
//! ([`ebm_learn::tasks::chain`]); a pair of `.npy` arrays (per-pixel features, integer
//! labels) makes a grid CRF ([`ebm_learn::tasks::grid`]). The saved model (kind
//! `factor-file-model`) carries the templates, the vocabulary and the label names, so that
//! `predict MODEL --input FILE --out FILE` labels new files: a column file gets a
//! predicted-label column appended to each token line, features a `.npy` of labels.

use super::learn::{LearnArgs, add_training, export_json, fit, fit_logged, learner, settings};
use super::predict::PredictArgs;
use super::tasks::{Examples, learn_failure, refuse_given};
use crate::Failure;
use crate::output::Metrics;
use clap::{Args, ValueEnum};
use ebm_core::ModelFile;
use ebm_data::conll::{self, ColumnFile};
use ebm_factor::solve::{Method, SolveOptions};
use ebm_learn::data::Example;
use ebm_learn::learned::{FileModel, FileTask};
use ebm_learn::metrics::accuracy;
use ebm_learn::tasks::CHAIN_STRUCTURE_BYTES;
use ebm_learn::tasks::chain::{ChainSpec, FeatureTemplate};
use ebm_learn::tasks::grid::{GridImages, GridSpec};
use ebm_learn::templates::TemplateSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The formats of the user's files for `factor learn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// A CoNLL-style column file: one token a line, whitespace-separated columns (the
    /// features, then the label), a blank line between sequences.
    Conll,
    /// Per-pixel features `.npy` ([n, h, w, f] or [h, w, f]) with integer labels `.npy`
    /// ([n, h, w] or [h, w]) given by --labels.
    NpyGrid,
}

impl FileFormat {
    /// `--format`, else npy-grid for a file whose name ends in `.npy` (or `.npy.gz`) or
    /// whose content starts with the `.npy` magic, else conll.
    fn of(given: Option<FileFormat>, path: &Path) -> FileFormat {
        if let Some(format) = given {
            return format;
        }
        let name = path.to_string_lossy().to_ascii_lowercase();
        let magic = std::fs::File::open(path).ok().and_then(|mut f| {
            let mut head = [0u8; 6];
            std::io::Read::read_exact(&mut f, &mut head)
                .ok()
                .map(|()| head)
        });
        if name.ends_with(".npy")
            || name.ends_with(".npy.gz")
            || magic == Some(*ebm_data::npy::MAGIC)
        {
            FileFormat::NpyGrid
        } else {
            FileFormat::Conll
        }
    }
}

fn parse_template(text: &str) -> Result<FeatureTemplate, String> {
    text.parse()
}

/// The flags of `factor learn` on the user's files.
#[derive(Args)]
pub struct FileArgs {
    /// Format of --train and --test: conll or npy-grid (default: npy-grid for .npy files,
    /// else conll).
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// CoNLL: a feature template (repeat the flag for more): COLUMN@OFFSET atoms joined by
    /// '|', columns counted from 0: 0@0 is column 0 of the token, 0@-1 of the previous
    /// one, '0@-1|0@0' the pair (quote the '|' from the shell). Each value a template
    /// takes on the training file is a feature of its own. Default: every feature column
    /// at offset 0. The label-transition table is always there.
    #[arg(long = "template", value_name = "TEMPLATE", value_parser = parse_template)]
    pub templates: Vec<FeatureTemplate>,
    /// npy-grid: the integer labels of --train (.npy, [n, h, w] or [h, w]).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// npy-grid: the integer labels of --test.
    #[arg(long, value_name = "FILE")]
    pub test_labels: Option<PathBuf>,
}

impl FileArgs {
    /// Refuse these flags with a built-in `--task`.
    pub fn check_not_given(&self) -> Result<(), Failure> {
        let given = [
            ("--format", self.format.is_some()),
            ("--template", !self.templates.is_empty()),
            ("--labels", self.labels.is_some()),
            ("--test-labels", self.test_labels.is_some()),
        ];
        refuse_given(&given, |flag| {
            format!("{flag} applies to your own data (--train FILE without --task)")
        })
    }
}

/// Per structure, each variable's true label index (`None`: one the model does not know).
type Truth = Vec<Vec<Option<usize>>>;

/// The training and test examples of a file task, and the test set's truth.
struct FileData {
    task: FileTask,
    templates: TemplateSet,
    train: Vec<Example>,
    test: Option<(Vec<Example>, Truth)>,
}

/// Bytes a token of a chain example holds at most with `templates` feature templates:
/// its structure ([`CHAIN_STRUCTURE_BYTES`]), one more slot, scope entry, feature and
/// factor-list entry (64 bytes) for each further template, its truth, and each template's
/// share of the vocabulary (a template of its own, about 160 bytes and its name).
fn chain_token_bytes(templates: usize, line_bytes: usize) -> u128 {
    let t = templates.max(1) as u128;
    CHAIN_STRUCTURE_BYTES + 64 * (t - 1) + 16 + t * (160 + 2 * line_bytes as u128)
}

/// Refuse a column file whose examples would not fit in memory, before they are built.
fn check_chain_memory(flag: &str, file: &ColumnFile, templates: usize) -> Result<(), Failure> {
    let tokens = file.token_count();
    let line_bytes = 8 * file.columns();
    crate::memory::check_examples(
        &format!(
            "{flag} {}: {tokens} tokens x {templates} templates",
            file.path().display()
        ),
        tokens,
        chain_token_bytes(templates, line_bytes),
    )
}

/// Refuse images whose examples would not fit in memory: per pixel its unary features,
/// two pairwise features and the truth (8 bytes each), once per image, and the grid
/// structure they share (its slots, scopes and factor lists: 256 bytes a pixel).
fn check_grid_memory(flag: &str, path: &Path, images: &GridImages) -> Result<(), Failure> {
    let pixels = images.pixels() as u128;
    let per_image = 8 * pixels * (images.features as u128 + 5) + 128;
    let bytes = images.count as u128 * per_image + 256 * pixels;
    crate::memory::check(
        &format!(
            "{flag} {}: {} images of {}x{} pixels with {} features",
            path.display(),
            images.count,
            images.height,
            images.width,
            images.features
        ),
        bytes,
        1,
    )
}

/// The test file's truth, which scoring needs.
fn truth_of(flag: &str, path: &Path, truth: Option<Truth>) -> Result<Truth, Failure> {
    truth.ok_or_else(|| {
        Failure::input(format!(
            "{flag} {}: the test data have no labels to score (a column file needs its label column; npy-grid needs --test-labels)",
            path.display()
        ))
    })
}

/// The test set of `--test` (when given): the examples `read` makes of the file, and
/// their truth, which a test set must have (else the error of [`truth_of`]).
fn test_set(
    test: Option<&Path>,
    read: impl FnOnce(&Path) -> Result<(Vec<Example>, Option<Truth>), Failure>,
) -> Result<Option<(Vec<Example>, Truth)>, Failure> {
    let Some(path) = test else {
        return Ok(None);
    };
    let (examples, truth) = read(path)?;
    Ok(Some((examples, truth_of("--test", path, truth)?)))
}

/// Refuse the flags that do not apply to `format`.
fn check_format_flags(args: &LearnArgs, format: FileFormat) -> Result<(), Failure> {
    let refused = |flag: &str, why: &str| Err(Failure::input(format!("{flag} {why}")));
    if args.forbid_unseen {
        return refused("--forbid-unseen", "applies to --task sudoku");
    }
    if args.clue_fraction.is_some() {
        return refused("--clue-fraction", "applies to --task sudoku");
    }
    match format {
        FileFormat::Conll => {
            if args.unary_only {
                return refused(
                    "--unary-only",
                    "applies to --format npy-grid (and --task denoise)",
                );
            }
            if args.files.labels.is_some() || args.files.test_labels.is_some() {
                let flag = if args.files.labels.is_some() {
                    "--labels"
                } else {
                    "--test-labels"
                };
                return refused(
                    flag,
                    "applies to --format npy-grid (a column file holds its labels)",
                );
            }
        }
        FileFormat::NpyGrid => {
            if !args.files.templates.is_empty() {
                return refused(
                    "--template",
                    "applies to --format conll (a grid's features are its arrays)",
                );
            }
            if args.files.labels.is_none() {
                return refused(
                    "--labels",
                    "is needed: the integer labels .npy of --train (--format npy-grid)",
                );
            }
            if args.files.test_labels.is_some()
                && !matches!(args.data.test, Some(Examples::File(_)))
            {
                return refused("--test-labels", "needs --test FILE");
            }
        }
    }
    Ok(())
}

/// Read the training (and test) files of `args` into a task and its examples.
fn load(args: &LearnArgs, train: &Path, format: FileFormat) -> Result<FileData, Failure> {
    let test = match &args.data.test {
        None => None,
        Some(Examples::File(path)) => Some(path.as_path()),
        Some(Examples::Count(n)) => {
            return Err(Failure::input(format!(
                "--test {n} is a number of examples of a built-in task; with --train FILE, --test names a file"
            )));
        }
    };
    match format {
        FileFormat::Conll => {
            let file = conll::read(train).map_err(Failure::input)?;
            let spec = ChainSpec::fit(&file, &args.files.templates).map_err(learn_failure)?;
            check_chain_memory("--train", &file, spec.templates.len())?;
            let templates = spec.template_set().map_err(learn_failure)?;
            let train_data = spec.examples(&templates, &file).map_err(learn_failure)?;
            drop(file);
            let test = test_set(test, |path| {
                let file = conll::read(path).map_err(Failure::input)?;
                check_chain_memory("--test", &file, spec.templates.len())?;
                let data = spec.examples(&templates, &file).map_err(learn_failure)?;
                Ok((data.examples, data.truth))
            })?;
            Ok(FileData {
                task: FileTask::Chain(spec),
                templates,
                train: train_data.examples,
                test,
            })
        }
        FileFormat::NpyGrid => {
            let labels = args.files.labels.as_deref();
            let images = GridImages::read(train, labels).map_err(learn_failure)?;
            check_grid_memory("--train", train, &images)?;
            let labels_path = labels.unwrap_or(train);
            let spec =
                GridSpec::fit(labels_path, &images, !args.unary_only).map_err(learn_failure)?;
            let templates = spec.template_set().map_err(learn_failure)?;
            let train_data = spec.examples(&templates, &images).map_err(learn_failure)?;
            drop(images);
            let test = test_set(test, |path| {
                let images = GridImages::read(path, args.files.test_labels.as_deref())
                    .map_err(learn_failure)?;
                check_grid_memory("--test", path, &images)?;
                let data = spec
                    .examples(&templates, &images)
                    .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
                Ok((data.examples, data.truth))
            })?;
            Ok(FileData {
                task: FileTask::Grid(spec),
                templates,
                train: train_data.examples,
                test,
            })
        }
    }
}

/// The nouns of a task's reports: `(variable, structure)`.
fn nouns(task: &FileTask) -> (&'static str, &'static str) {
    match task {
        FileTask::Chain(_) => ("token", "sequence"),
        FileTask::Grid(_) => ("pixel", "image"),
    }
}

/// Decode `examples` with the model; add the scores against `truth` (when known) under
/// `prefix` (`test_` after training, none for `predict`); return the predictions.
fn decode_and_score(
    model: &FileModel,
    examples: &[Example],
    truth: Option<&[Vec<Option<usize>>]>,
    map: (Method, SolveOptions),
    prefix: &str,
    metrics: &mut Metrics,
) -> Result<Vec<Vec<usize>>, Failure> {
    let (method, options) = map;
    let decoded = model
        .model
        .decode(examples, method, &options)
        .map_err(Failure::run)?;
    let fallbacks = decoded.iter().filter(|d| d.1).count();
    let predicted: Vec<Vec<usize>> = decoded.into_iter().map(|d| d.0).collect();
    let (variable, structure) = nouns(&model.task);
    metrics
        .integer(&format!("{prefix}examples"), examples.len() as u64)
        .integer("decode_fallbacks", fallbacks as u64);
    if let Some(truth) = truth {
        let a = accuracy(&predicted, truth);
        metrics
            .integer(&format!("{prefix}{variable}s"), a.variables as u64)
            .number(
                &format!("{prefix}{variable}_accuracy"),
                a.variable_accuracy(),
            )
            .number(&format!("{prefix}{structure}_error"), a.structure_error())
            .integer(&format!("{prefix}unknown_labels"), a.unknown_truth as u64);
        if let FileTask::Grid(_) = model.task {
            metrics.number(&format!("{prefix}pixel_error"), a.variable_error());
        }
    }
    Ok(predicted)
}

/// `ebm factor learn --train FILE`.
pub fn learn(args: LearnArgs, train: &Path) -> Result<(), Failure> {
    args.data.check_files_only("--train FILE")?;
    let format = FileFormat::of(args.files.format, train);
    check_format_flags(&args, format)?;
    let pool = args.run.pool()?;
    let data = load(&args, train, format)?;
    let usual = data.task.train_config(learner(args.method, args.cd_steps));
    let map = args.data.decoder_or(data.task.decoder());
    let dim = data.templates.weight_count();
    let (config, pretrain) = settings(&args, usual, map, data.train.len(), dim)?;
    let start = Instant::now();
    let (trained, mut metrics) = fit_logged(&args, &pool, |log| {
        fit(
            &args,
            &data.templates,
            &data.train,
            None,
            config.clone(),
            &pretrain,
            log,
        )
    })?;
    let model = FileModel::new(
        data.task.clone(),
        config.learner.name(),
        trained.weights.clone(),
    )
    .map_err(Failure::run)?;
    metrics
        .text("format", model.task.format())
        .integer("labels", model.task.label_names().len() as u64);
    add_training(
        &mut metrics,
        &args,
        &config,
        &trained,
        data.train.len(),
        dim,
    );
    if let Some((examples, truth)) = &data.test {
        let test_start = Instant::now();
        let options = SolveOptions {
            seed: args.data.random.seed,
            ..map.1
        };
        pool.install(|| {
            decode_and_score(
                &model,
                examples,
                Some(truth),
                (map.0, options),
                "test_",
                &mut metrics,
            )
        })?;
        metrics.number("test_seconds", test_start.elapsed().as_secs_f64());
    }
    if let Some(out) = &args.out {
        model.save(out).map_err(Failure::run)?;
        metrics.text("out", &out.display().to_string());
    }
    if let Some(path) = &args.export_json {
        let files = (model.task.format(), model.task.label_names());
        export_json(&model.model, Some(files), path)?;
    }
    metrics.number("seconds", start.elapsed().as_secs_f64());
    args.report.output.print(&metrics);
    Ok(())
}

/// `ebm factor predict MODEL --input FILE [--out FILE]` for a model learned from files.
pub fn predict(args: PredictArgs) -> Result<(), Failure> {
    let what = "a model learned from files (it labels --input FILE)";
    args.data.check_files_only(what)?;
    for (flag, given) in [
        ("--train", args.data.train.is_some()),
        ("--test", args.data.test.is_some()),
    ] {
        if given {
            return Err(Failure::input(format!(
                "{flag} applies to the built-in tasks (--task), not to {what}"
            )));
        }
    }
    let model = FileModel::load(&args.model).map_err(Failure::input)?;
    let Some(input) = &args.input else {
        return Err(Failure::input(format!(
            "{}: give --input FILE, the data to label (and --out FILE for the labels)",
            args.model.display()
        )));
    };
    let pool = args.run.pool()?;
    let start = Instant::now();
    let mut metrics = Metrics::default();
    metrics
        .text("format", model.task.format())
        .text("method", &model.model.learner)
        .integer("weights", model.model.weights.len() as u64);
    let map = args.data.decoder_or(model.task.decoder());
    let map = (
        map.0,
        SolveOptions {
            seed: args.data.random.seed,
            ..map.1
        },
    );
    let templates = &model.model.templates;
    let nothing_to_do = || {
        Failure::input(format!(
            "{}: no labels to score it by, and no --out FILE to write the predicted labels to",
            input.display()
        ))
    };
    let output = match &model.task {
        FileTask::Chain(spec) => {
            if let Some(labels) = &args.labels {
                return Err(Failure::input(format!(
                    "--labels {}: a column file holds its labels (its last column); --labels applies to npy-grid models",
                    labels.display()
                )));
            }
            let file = conll::read(input).map_err(Failure::input)?;
            if args.out.is_none() && !spec.has_labels(&file).map_err(learn_failure)? {
                return Err(nothing_to_do());
            }
            check_chain_memory("--input", &file, spec.templates.len())?;
            let data = spec.examples(templates, &file).map_err(learn_failure)?;
            let truth = data.truth.as_deref();
            let predicted = pool.install(|| {
                decode_and_score(&model, &data.examples, truth, map, "", &mut metrics)
            })?;
            let names: Vec<&str> = predicted
                .iter()
                .flatten()
                .map(|&k| spec.labels[k].as_str())
                .collect();
            file.with_column(&names).into_bytes()
        }
        FileTask::Grid(spec) => {
            if args.out.is_none() && args.labels.is_none() {
                return Err(nothing_to_do());
            }
            let images = GridImages::read(input, args.labels.as_deref()).map_err(learn_failure)?;
            check_grid_memory("--input", input, &images)?;
            let data = spec
                .examples(templates, &images)
                .map_err(|e| Failure::input(format!("{}: {e}", input.display())))?;
            let truth = data.truth.as_deref();
            let predicted = pool.install(|| {
                decode_and_score(&model, &data.examples, truth, map, "", &mut metrics)
            })?;
            let values: Vec<i64> = predicted
                .iter()
                .flatten()
                .map(|&k| spec.labels[k])
                .collect();
            ebm_data::npy::encode_i64(&images.label_shape(), &values)
        }
    };
    if let Some(out) = &args.out {
        ebm_core::atomic::write_atomic(out, &output)
            .map_err(|e| Failure::run(format!("{}: {e}", out.display())))?;
        metrics.text("out", &out.display().to_string());
    }
    metrics.number("seconds", start.elapsed().as_secs_f64());
    args.output.print(&metrics);
    Ok(())
}
