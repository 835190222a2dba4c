//! Helpers shared by the CLI end-to-end tests: running the binary, reading its JSON
//! result or its one-line error, temporary folders and the data folder.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Run the `ebm` binary with `args`, without `$EBM_DATA` (tests pass `--data`).
pub fn ebm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ebm"))
        .args(args)
        .env_remove("EBM_DATA")
        .output()
        .expect("run ebm")
}

/// Run the training command `args` (e.g. `rbm train ...`) with `--out out --json --quiet`.
pub fn ebm_train(args: &[&str], out: &Path) -> Output {
    ebm(&[args, &["--out", p(out), "--json", "--quiet"]].concat())
}

/// Run `ebm args` (which must succeed) and return the JSON object of its last line.
pub fn ebm_json(args: &[&str]) -> Value {
    last_json(&ebm(args))
}

/// A fresh temporary folder for one test: unique within this process (the tests of all
/// modules run in one process, and two may pick the same name) and across processes.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ebm-cli-test-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The folder that holds the data set `name` (the `--data` of the commands), or `None`
/// (the test is skipped) without `$EBM_DATA`.
pub fn data_root(name: &str) -> Option<PathBuf> {
    ebm_data::data_dir::for_tests(name).map(|dir| dir.parent().unwrap().to_path_buf())
}

/// The JSON object on the last line of stdout (the command must have succeeded).
pub fn last_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().expect("stdout has a line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

/// Assert that `text` (an error line, say) contains each of `parts`.
pub fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "{part:?} is not in: {text}");
    }
}

/// The one-line error of a failure with exit code `code`.
pub fn error_line(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit code {code}: {err}"
    );
    assert_eq!(err.lines().count(), 1, "expected a one-line error: {err}");
    err
}

/// The one-line error of a bad-input failure (exit code 2).
pub fn failure_line(out: &Output) -> String {
    error_line(out, 2)
}

/// A path as `&str`.
pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A bars-and-stripes RBM with 4 hidden units trained for one epoch into `dir/m.ebm`:
/// a model file to point other commands at.
pub fn tiny_rbm(dir: &Path) -> PathBuf {
    let model = dir.join("m.ebm");
    let args = ["rbm", "train", "--epochs", "1", "--hidden", "4"];
    let out = ebm_train(&args, &model);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    model
}

/// `dir/model.ebm` holding the word "previous": a file a failed run must leave alone.
pub fn previous_model(dir: &Path) -> PathBuf {
    let out = dir.join("model.ebm");
    std::fs::write(&out, "previous").unwrap();
    out
}

/// Write `contents` to `dir/name` and return the path.
pub fn file_in(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Run `ebm` with the space-separated `words` followed by `more` (e.g. paths).
pub fn ebm_words(words: &str, more: &[&str]) -> Output {
    let args: Vec<&str> = words
        .split_whitespace()
        .chain(more.iter().copied())
        .collect();
    ebm(&args)
}

/// [`ebm_words`], asserting that the run succeeds (its error output is the message).
pub fn ebm_ok(words: &str, more: &[&str]) -> Output {
    let out = ebm_words(words, more);
    assert!(
        out.status.success(),
        "ebm {words}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
