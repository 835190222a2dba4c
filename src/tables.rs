//! Per-example tables a trained model writes about the user's examples (hidden features,
//! scores, class probabilities): the flags that name the model, the input and the output
//! file, and writing the table as `.npy` or `.csv`.

use crate::Failure;
use crate::args::{MeasureArgs, RunArgs};
use crate::output::Metrics;
use crate::user_data::{ReadArgs, ValueRange};
use clap::Args;
use ebm_core::ModelFile;
use ebm_core::atomic::write_atomic;
use ebm_data::Dataset;
use std::path::{Path, PathBuf};

/// Flags of the commands that map every example of a file to a row of a table:
/// `rbm transform`, `gaussian-rbm transform`, `class-rbm predict`.
#[derive(Args)]
pub struct TableArgs {
    /// The model file (or a training checkpoint).
    pub model: PathBuf,
    /// The examples (.npy, CSV, svmlight or IDX; raw or gzipped).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Where the table goes: FILE.npy (float32, one row per example) or FILE.csv (with a
    /// header line).
    #[arg(long, value_parser = crate::args::output_file)]
    pub out: PathBuf,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

impl TableArgs {
    /// The checked `--threads`, the model (of kind `M`, with `n_visible(&model)` inputs)
    /// and the input's examples read as `range` says; `--out` is checked first, so a
    /// bad one is refused before any work.
    ///
    /// # Errors
    ///
    /// Bad input naming the flag, the model file or the input file.
    pub fn open<M: ModelFile>(
        &self,
        range: ValueRange,
        n_visible: impl Fn(&M) -> usize,
    ) -> Result<(RunArgs, M, Dataset), Failure> {
        let run = self.measure.run.check()?;
        is_npy(&self.out)?;
        let model = crate::setup::load_model::<M>(&self.model)?;
        let data = self.read.read(&self.input, None, None, range)?;
        crate::setup::check_features(&self.model, n_visible(&model), &data)?;
        Ok((run, model, data))
    }

    /// Write the `n_columns`-column table `values` to `--out` (see [`write_table`]) and
    /// print `metrics` with the counts of examples and columns and the output file.
    ///
    /// # Errors
    ///
    /// A failed run when the file cannot be written.
    pub fn finish(
        &self,
        values: Vec<f32>,
        n_columns: usize,
        names: &[&str],
        mut metrics: Metrics,
    ) -> Result<(), Failure> {
        let examples = values.len() / n_columns.max(1);
        write_table(&self.out, values, n_columns, names)?;
        metrics
            .integer("examples", examples as u64)
            .integer("columns", n_columns as u64)
            .text("out", &self.out.display().to_string());
        self.measure.output.print(&metrics);
        Ok(())
    }
}

/// Whether `path` names a table file: `.npy` (true) or `.csv` (false); else bad input
/// (checked before any work).
pub fn is_npy(path: &Path) -> Result<bool, Failure> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => Ok(true),
        Some("csv") => Ok(false),
        _ => Err(Failure::input(format!(
            "--out: {}: give a file ending in .npy or .csv",
            path.display()
        ))),
    }
}

/// Write the `n_columns`-column table `values` (row-major) atomically to `path`:
/// `.npy` (float32) or `.csv` with a header of `names` (one name a column, or one
/// prefix numbered for every column).
pub fn write_table(
    path: &Path,
    values: Vec<f32>,
    n_columns: usize,
    names: &[&str],
) -> Result<(), Failure> {
    let table = Dataset {
        n_examples: values.len() / n_columns.max(1),
        n_features: n_columns,
        features: values,
        image_shape: None,
        labels: None,
    };
    let bytes = if is_npy(path)? {
        ebm_data::npy::encode_f32(&[table.n_examples, table.n_features], &table.features)
    } else {
        csv_with_header(&table, names).into_bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_written_as_csv_with_numbered_or_named_columns_and_as_npy() {
        let e = is_npy(Path::new("t.txt")).unwrap_err().message;
        assert!(e.starts_with("--out: t.txt"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("t.csv");
        write_table(&csv, vec![0.5, 1.0, 0.25, 0.0], 2, &["p"]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&csv).unwrap(),
            "p0,p1\n0.5,1\n0.25,0\n"
        );
        write_table(&csv, vec![0.5, 1.0], 2, &["a", "b"]).unwrap();
        assert!(std::fs::read_to_string(&csv).unwrap().starts_with("a,b\n"));
        let npy = dir.path().join("t.npy");
        write_table(&npy, vec![0.5, 1.0, 0.25, 0.0], 2, &["p"]).unwrap();
        let back = ebm_data::formats::read(&npy, &Default::default()).unwrap();
        assert_eq!((back.n_examples, back.n_features), (2, 2));
        assert_eq!(back.features, [0.5, 1.0, 0.25, 0.0]);
    }
}
