//! Issue 13, items 1, 3 and 7: no panic on a seconds flag or a closed stdout, size flags
//! (alone and times the data or model they apply to) bounded by the memory they imply,
//! output paths checked before any work.

use crate::common::{ebm, failure_line, file_in, p, temp_dir, tiny_rbm};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `ebm args` fails with exit code 2 and a one-line error that names `flag`, within
/// `within` (the checks come before any work).
fn refused_quickly(args: &[&str], flag: &str, within: Duration) {
    let start = Instant::now();
    let out = ebm(args);
    let elapsed = start.elapsed();
    let line = failure_line(&out);
    assert!(line.contains(flag), "{args:?}: {line}");
    assert!(!line.contains("panicked"), "{args:?}: {line}");
    assert!(elapsed < within, "{args:?} took {elapsed:?}: {line}");
}

/// `ebm factor infer model.uai --task map --method METHOD`.
fn infer_map(method: &str) -> [&str; 7] {
    [
        "factor",
        "infer",
        "model.uai",
        "--task",
        "map",
        "--method",
        method,
    ]
}

#[test]
fn seconds_flags_refuse_absurd_values_without_a_panic() {
    // The files need not exist: the flag is refused when the command line is read.
    for value in ["1e20", "inf", "NaN", "-1", "0", "31536001"] {
        for command in [
            &["factor", "color", "graph.col", "--colors", "4"][..],
            &["factor", "sudoku", "puzzles.txt"],
            &infer_map("lns"),
            &infer_map("bnb"),
        ] {
            let flag = format!("--time-limit={value}");
            let args = [command, &[flag.as_str()]].concat();
            refused_quickly(&args, "--time-limit", Duration::from_secs(10));
        }
    }
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // 20,000 one-blank puzzles print far more than a pipe holds.
    let dir = temp_dir("broken-pipe");
    let puzzles = dir.join("puzzles.txt");
    let line =
        "48392165796734582125187649354813297672956413813679824537268951481425376969541738.\n";
    std::fs::write(&puzzles, line.repeat(20_000)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ebm"))
        .args(["factor", "sudoku", p(&puzzles)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ebm");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("483921657"), "{first}");
    drop(reader);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.trim().is_empty(),
        "stderr after a broken pipe: {stderr}"
    );
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "status after a broken pipe: {:?}",
        out.status
    );
}

#[test]
fn size_flags_are_bounded_by_the_memory_they_imply() {
    let huge = "99999999999";
    let quick = Duration::from_secs(20);
    let epochs: &[&str] = &["--epochs", "1000000"];
    for (command, flag, extra) in [
        (&["rbm", "train", "--hidden", huge][..], "--hidden", epochs),
        (&["rbm", "train", "--batch", huge], "--batch", epochs),
        (
            &["rbm", "train", "--method", "pcd", "--chains", huge],
            "--chains",
            epochs,
        ),
        (
            &["rbm", "eval", "model.ebm", "--ais-runs", huge],
            "--ais-runs",
            &[],
        ),
        (
            &["factor", "color", "graph.col", "--colors", huge],
            "--colors",
            &[],
        ),
        (
            &["factor", "learn", "--task", "hmm", "--length", huge],
            "--length",
            epochs,
        ),
        (
            &["factor", "learn", "--task", "hmm", "--train", huge],
            "--train",
            epochs,
        ),
        (
            &["class-rbm", "train", "--hidden", huge],
            "--hidden",
            epochs,
        ),
        (
            &["gaussian-rbm", "train", "--hidden", huge],
            "--hidden",
            epochs,
        ),
        (&["cf", "train", "--hidden", huge], "--hidden", epochs),
        (&["rbm", "train", "--threads", "99999"], "--threads", epochs),
        (
            &["factor", "infer", "model.uai", "--threads", "99999"],
            "--threads",
            &[],
        ),
    ] {
        refused_quickly(&[command, extra].concat(), flag, quick);
    }
    // A count that alone fits but whose weights (x 16 visible units of bars and stripes)
    // do not: refused once the data are known, before training.
    let dir = temp_dir("hidden-product");
    let out = dir.join("m.ebm");
    let words = "rbm train --hidden 2000000000 --epochs 1000000 --out";
    let args: Vec<&str> = words.split_whitespace().chain([p(&out)]).collect();
    refused_quickly(&args, "--hidden", quick);
    assert!(!out.exists());
}

#[test]
fn output_paths_are_checked_before_any_work() {
    let dir = temp_dir("out-paths");
    let missing = dir.join("missing").join("m.ebm");
    let quick = Duration::from_secs(20);
    for command in [
        &["rbm", "train"][..],
        &["class-rbm", "train"],
        &["gaussian-rbm", "train"],
        &["cf", "train"],
    ] {
        let args = [command, &["--epochs", "1000000", "--out", p(&missing)]].concat();
        refused_quickly(&args, p(&missing), quick);
    }
    // A folder where the checkpoint goes, a folder as the model file, a file as a folder.
    let model = dir.join("m.ebm");
    std::fs::create_dir(dir.join("m.ebm.ckpt")).unwrap();
    refused_quickly(
        &["rbm", "train", "--epochs", "1000000", "--out", p(&model)],
        "m.ebm.ckpt",
        quick,
    );
    let folder = dir.join("folder.ebm");
    std::fs::create_dir(&folder).unwrap();
    refused_quickly(
        &["rbm", "train", "--epochs", "1000000", "--out", p(&folder)],
        p(&folder),
        quick,
    );
    let file = file_in(&dir, "file", "");
    let under_file = file.join("m.ebm");
    refused_quickly(
        &[
            "rbm",
            "train",
            "--epochs",
            "1000000",
            "--out",
            p(&under_file),
        ],
        p(&under_file),
        quick,
    );
    for args in [
        &[
            "rbm",
            "train",
            "--epochs",
            "1000000",
            "--checkpoint",
            p(&missing),
        ][..],
        &["factor", "infer", "model.uai", "--out", p(&missing)],
        &["factor", "learn", "--task", "hmm", "--out", p(&missing)],
    ] {
        refused_quickly(args, p(&missing), quick);
    }
}

#[test]
fn chains_and_runs_are_bounded_by_the_model_they_sample() {
    // A count that alone may fit, times the 20 units of a bars-and-stripes model, does not.
    let dir = temp_dir("chains-product");
    let model = tiny_rbm(&dir);
    let png = dir.join("s.png");
    let quick = Duration::from_secs(20);
    let many = "3000000000";
    refused_quickly(
        &["rbm", "eval", p(&model), "--ais-runs", many],
        "--ais-runs",
        quick,
    );
    refused_quickly(
        &[
            "rbm",
            "sample",
            p(&model),
            "--chains",
            many,
            "--png",
            p(&png),
        ],
        "--chains",
        quick,
    );
    assert!(!png.exists());
}

#[test]
fn factor_size_flags_are_bounded_by_the_model_they_apply_to() {
    // Each count alone fits (at 4 bytes a unit); times the graph, the model or the
    // examples it applies to, it does not: refused once those are known, before any work.
    let dir = temp_dir("factor-products");
    let graph = file_in(&dir, "g.col", "p edge 3 2\ne 1 2\ne 2 3\n");
    let model = file_in(&dir, "m.uai", "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 2 3 4\n");
    let quick = Duration::from_secs(20);
    let many = "1000000000";
    for (args, flag) in [
        (
            &["factor", "color", p(&graph), "--colors", many][..],
            "--colors",
        ),
        (
            &[
                "factor",
                "infer",
                p(&model),
                "--task",
                "mar",
                "--method",
                "gibbs",
                "--chains",
                many,
                "--replicas",
                "1000",
            ],
            "--chains",
        ),
        (
            &[
                "factor",
                "infer",
                p(&model),
                "--task",
                "map",
                "--method",
                "anneal",
                "--chains",
                many,
            ],
            "--chains",
        ),
        (
            &[
                "factor",
                "learn",
                "--task",
                "hmm",
                "--method",
                "pl",
                "--train",
                "100000000",
            ],
            "--train",
        ),
        (
            &[
                "factor", "learn", "--task", "hmm", "--method", "pl", "--length", many,
            ],
            "--length",
        ),
        (
            &[
                "factor", "learn", "--task", "sudoku", "--method", "pl", "--train", many,
            ],
            "--train",
        ),
    ] {
        refused_quickly(args, flag, quick);
    }
}
