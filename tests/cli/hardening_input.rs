//! Issue 13, items 6 to 8: input that was misread without a word (a pair rated twice,
//! counts of 0, NaN, labels a data set does not have), empty test sets, and models or
//! evidence of probability zero.

use crate::common::{ebm, failure_line, file_in, p, temp_dir, tiny_rbm};
use std::path::{Path, PathBuf};

/// An IDX file of unsigned bytes with dimensions `dims` and `data`.
fn idx(path: &Path, dims: &[u32], data: &[u8]) {
    std::fs::write(path, ebm::data::idx::encode_u8(dims, data)).unwrap();
}

/// A folder holding `mnist/` with `train` training and `test` test images of 4x4 pixels,
/// labelled 0, 1, 2, 0, 1, 2, ...; returns the folder (the `--data` of the commands).
fn tiny_mnist(name: &str, train: u32, test: u32) -> PathBuf {
    let root = temp_dir(name);
    let dir = root.join("mnist");
    std::fs::create_dir_all(&dir).unwrap();
    for (stem, n) in [("train", train), ("t10k", test)] {
        let pixels: Vec<u8> = (0..n * 16)
            .map(|i| if i % 3 == 0 { 255 } else { 0 })
            .collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        idx(
            &dir.join(format!("{stem}-images-idx3-ubyte")),
            &[n, 4, 4],
            &pixels,
        );
        idx(
            &dir.join(format!("{stem}-labels-idx1-ubyte")),
            &[n],
            &labels,
        );
    }
    root
}

#[test]
fn a_pair_rated_twice_is_refused_for_every_seed() {
    // The check ran after the train/test split: with some seeds both ratings fell on one
    // side and the pair was refused, with others it was split and the test set leaked.
    let dir = temp_dir("duplicate-pair");
    let ratings = dir.join("r.data");
    let mut text = String::new();
    for user in 1..=6 {
        for item in 1..=5 {
            text.push_str(&format!("{user}\t{item}\t{}\t0\n", 1 + (user + item) % 5));
        }
    }
    text.push_str("3\t2\t5\t0\n");
    std::fs::write(&ratings, text).unwrap();
    let out = dir.join("cf.ebm");
    for seed in ["1", "2", "3", "4", "5", "6", "7", "8"] {
        let line = failure_line(&ebm(&[
            "cf",
            "train",
            "--ratings",
            p(&ratings),
            "--test-fraction",
            "0.5",
            "--seed",
            seed,
            "--epochs",
            "1",
            "--out",
            p(&out),
            "--quiet",
        ]));
        assert!(
            line.contains("r.data: line 31: user 3 rates item 2 again (first on line 12)"),
            "--seed {seed}: {line}"
        );
        assert!(!out.exists(), "--seed {seed}");
    }
}

#[test]
fn zero_counts_nan_and_missing_labels_are_refused_naming_the_flag() {
    let dir = temp_dir("flag-values");
    let model = tiny_rbm(&dir);
    let data = tiny_mnist("flag-values-mnist", 6, 3);
    let mnist = ["--dataset", "mnist", "--data", p(&data)];
    for (args, flag) in [
        (&["rbm", "eval", p(&model), "--limit", "0"][..], "--limit"),
        (
            &["rbm", "eval", p(&model), "--pl-examples", "0"],
            "--pl-examples",
        ),
        (
            &[
                "cf",
                "eval",
                "cf.ebm",
                "--ratings",
                "r.data",
                "--relevant-from",
                "NaN",
            ],
            "--relevant-from",
        ),
        (
            &[
                &["rbm", "train", "--exclude-labels", "10", "--epochs", "1"],
                &mnist[..],
            ]
            .concat(),
            "--exclude-labels: 10 is not a label of this data set (its labels: 0, 1, 2)",
        ),
        (
            &[
                &["rbm", "anomaly", p(&model), "--anomalous-labels", "7"],
                &mnist[..],
            ]
            .concat(),
            "--anomalous-labels: 7 is not a label",
        ),
    ] {
        let line = failure_line(&ebm(args));
        assert!(line.contains(flag), "{args:?}: {line}");
    }
}

#[test]
fn an_empty_test_set_is_refused_naming_its_file() {
    // An empty test split gave exit code 1 from `rbm eval` without naming the file, and
    // test errors of 0 (exit code 0) from the other commands.
    let data = tiny_mnist("empty-test", 6, 0);
    let dir = temp_dir("empty-test-runs");
    let model = tiny_rbm(&dir);
    let d = p(&data);
    let (class, gaussian) = (dir.join("class.ebm"), dir.join("gaussian.ebm"));
    for (kind, file) in [("class-rbm", &class), ("gaussian-rbm", &gaussian)] {
        let args = [kind, "train", "--data", d, "--epochs", "1", "--hidden", "4"];
        let trained = ebm(&[&args[..], &["--out", p(file), "--quiet"]].concat());
        assert!(trained.status.success(), "{kind}");
    }
    for args in [
        &["rbm", "eval", p(&model), "--dataset", "mnist", "--data", d][..],
        &["class-rbm", "eval", p(&class), "--data", d],
        &["gaussian-rbm", "eval", p(&gaussian), "--data", d],
        &[
            "factor", "learn", "--task", "denoise", "--method", "pl", "--data", d,
        ],
    ] {
        let line = failure_line(&ebm(args));
        assert!(line.contains("t10k-images-idx3-ubyte"), "{args:?}: {line}");
        assert!(line.contains("holds no images"), "{args:?}: {line}");
    }
    let ratings = file_in(&dir, "r.data", "1\t1\t5\n1\t2\t3\n2\t1\t4\n");
    let empty = file_in(&dir, "empty.data", "");
    let cf_model = dir.join("cf.ebm");
    let cf = [
        "cf",
        "train",
        "--ratings",
        p(&ratings),
        "--out",
        p(&cf_model),
    ];
    for (extra, named) in [
        (&["--test", p(&empty)][..], "empty.data"),
        (&["--test-fraction", "0.000001"], "--test-fraction"),
    ] {
        let line = failure_line(&ebm(&[&cf[..], extra].concat()));
        assert!(line.contains(named), "{extra:?}: {line}");
    }
    let line = failure_line(&ebm(&[
        "factor", "learn", "--task", "hmm", "--method", "pl", "--test", "0",
    ]));
    assert!(line.contains("--test"), "{line}");
}

#[test]
fn a_model_or_evidence_of_probability_zero_is_said_so() {
    // An all-zero table gave NaN marginals with exit code 0 from exact inference and
    // confident marginals from Gibbs and BP; impossible evidence gave -inf for PR.
    let dir = temp_dir("zero-probability");
    let zero = file_in(&dir, "zero.uai", "MARKOV\n2\n2 2\n1\n2 0 1\n4\n0 0 0 0\n");
    let equal = file_in(&dir, "equal.uai", "MARKOV\n2\n2 2\n1\n2 0 1\n4\n1 0 0 1\n");
    let evidence = file_in(&dir, "equal.uai.evid", "2 0 0 1 1\n");
    let methods = [
        ("pr", "exact"),
        ("mar", "exact"),
        ("mar", "gibbs"),
        ("pr", "bp"),
        ("mar", "bp"),
        ("map", "exact"),
    ];
    for (model, extra, says) in [
        (&zero, &[][..], "the model has probability zero"),
        (
            &equal,
            &["--evid", p(&evidence)][..],
            "the evidence has probability zero",
        ),
    ] {
        for (task, method) in methods {
            let args = [
                "factor",
                "infer",
                p(model),
                "--task",
                task,
                "--method",
                method,
            ];
            let out = ebm(&[&args[..], extra].concat());
            let line = failure_line(&out);
            assert!(
                line.contains(p(model)) && line.contains(says),
                "{task} {method}: {line}"
            );
            assert!(out.stdout.is_empty(), "{task} {method}");
        }
    }
}
