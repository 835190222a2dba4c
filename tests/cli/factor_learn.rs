//! End-to-end tests of `ebm factor learn` and `ebm factor predict`: the HMM task (no data
//! needed), flag errors, divergence, the model file and its JSON export, and (with `$EBM_DATA`) MNIST
//! denoising and Sudoku.

use crate::common::{
    assert_mentions, data_root, ebm, ebm_json, ebm_words, error_line, failure_line, p,
    previous_model, temp_dir,
};
use std::path::PathBuf;

/// Maximum likelihood on the HMM task reports its metrics, saves a model file and a JSON
/// export; `predict` on the saved model reports the same test metrics.
#[test]
fn hmm_maximum_likelihood_reports_metrics_and_saves_the_model() {
    let dir = temp_dir("learn_hmm");
    let (out, exported) = (dir.join("hmm.ebm"), dir.join("weights.json"));
    let data = ["--train", "300", "--test", "200"];
    let m = ebm_json(
        &[
            &["factor", "learn", "--task", "hmm", "--method", "ml"][..],
            &data,
            &["--epochs", "10", "--out", p(&out)],
            &["--export-json", p(&exported), "--json"],
        ]
        .concat(),
    );
    let learned = m["viterbi_accuracy"].as_f64().unwrap();
    let truth = m["true_model_viterbi_accuracy"].as_f64().unwrap();
    // 200 test sequences x 40 positions: the learned model decodes within 2 points of the
    // true HMM (examples/hmm_crf measured 0.3 points with 1,000 training sequences).
    assert!(learned > truth - 0.02, "learned {learned} true {truth}");
    assert!(m["weight_error_max_abs"].as_f64().unwrap() < 0.5);
    assert!(m["train_seconds"].as_f64().unwrap() > 0.0);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(saved["weights"].as_array().unwrap().len(), 3 + 12 + 9);
    assert_eq!(saved["templates"][2]["name"], "transition");
    let predicted = ebm_json(&[&["factor", "predict", p(&out)][..], &data, &["--json"]].concat());
    for key in [
        "viterbi_accuracy",
        "true_model_viterbi_accuracy",
        "test_sequence_error",
        "weight_error_max_abs",
        "weight_error_relative",
        "weights",
    ] {
        assert_eq!(predicted[key], m[key], "{key}");
    }
    assert_eq!(predicted["method"], "ml");
    // A file that is not a model, and a model with data flags of another task, are
    // one-line errors.
    let line = failure_line(&ebm(&["factor", "predict", p(&exported)]));
    assert!(line.contains("weights.json"), "{line}");
    let line = failure_line(&ebm(&["factor", "predict", p(&out), "--flip-rate", "0.2"]));
    assert!(line.contains("--flip-rate"), "{line}");
}

#[test]
fn bad_flags_are_one_line_errors() {
    for (args, expected) in [
        ("--task hmm --method ml --lambda=-1", "--lambda"),
        ("--task hmm --method ml --unary-only", "--unary-only"),
        ("--task hmm --method ml --forbid-unseen", "--forbid-unseen"),
        (
            "--task hmm --method bcfw --pretrain-epochs 2",
            "--pretrain-epochs",
        ),
        ("--task hmm --method ml --epochs 0", "--epochs"),
        ("--task hmm --method ml --batch 0", "--batch"),
        ("--task hmm --method ml --lr=-1", "--lr"),
        ("--task hmm --method ml --length 0", "--length"),
        ("--task hmm --method ml --train 0", "--train"),
        (
            "--task hmm --method ml --clue-fraction 0.5",
            "--clue-fraction",
        ),
        (
            "--task sudoku --method pl --train 2 --clue-fraction 1.5",
            "--clue-fraction",
        ),
        ("--task hmm --method cd --cd-steps 0", "--cd-steps"),
        ("--task hmm --method ml --flip-rate 0.9", "--flip-rate"),
        (
            "--task denoise --method ssvm --data /nonexistent",
            "/nonexistent",
        ),
    ] {
        let mut all = vec!["factor", "learn"];
        all.extend(args.split(' '));
        let run = ebm(&all);
        assert_eq!(run.status.code(), Some(2), "{args}");
        let line = failure_line(&run);
        assert!(line.contains(expected), "{args}: {line}");
    }
}

/// Run `ebm learn OUT` (`learn` ends in `--out`) onto the previous model file of a fresh
/// folder `name`: it must fail with exit code `code` and leave that file alone. Its
/// one-line error and the model path.
fn refused_keeping_previous(name: &str, learn: &str, code: i32) -> (String, PathBuf) {
    let out = previous_model(&temp_dir(name));
    let line = error_line(&ebm_words(learn, &[p(&out)]), code);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous");
    (line, out)
}

/// Maximum likelihood refuses a loopy structure (a one-line error, exit code 2) instead
/// of returning wrong numbers, and the failed run leaves the previous model file alone.
#[test]
fn a_refused_run_keeps_the_previous_model_file() {
    let learn = "factor learn --task sudoku --method ml --train 2 --epochs 1 --out";
    let (line, _) = refused_keeping_previous("learn_keep", learn, 2);
    assert!(line.contains("acyclic"), "{line}");
}

#[test]
fn divergence_fails_the_run_names_the_epoch_and_keeps_the_previous_model() {
    // Once this drove the weights to 8e20 and failed with exit 2 about a factor's energies.
    let learn = "factor learn --task hmm --method ml --lr 1e6 --quiet --out";
    let (line, out) = refused_keeping_previous("learn_diverge", learn, 1);
    assert!(line.contains("diverged in epoch 1"), "{line}");
    assert_mentions(&line, &["--method ml", "--lr"]);
    assert!(line.contains(p(&out)), "{line}");
}

#[test]
fn mnist_denoising_and_sudoku_on_real_data() {
    let Some(root) = data_root("mnist") else {
        return;
    };
    let data = root.as_path();
    let m = ebm_json(&[
        "factor",
        "learn",
        "--task",
        "denoise",
        "--method",
        "bcfw",
        "--train",
        "200",
        "--test",
        "200",
        "--epochs",
        "5",
        "--data",
        p(data),
        "--json",
    ]);
    // The input flips 10% of the pixels; the learned grid CRF restores most of them
    // (0.024 measured on these 200 digits).
    assert!(m["test_pixel_error"].as_f64().unwrap() < 0.04, "{m}");
    // The Sudoku model keeps its forbidden combinations in its file: predicting with it
    // solves the same puzzles.
    let out = temp_dir("learn_sudoku").join("sudoku.ebm");
    let learned = ebm_json(&[
        "factor",
        "learn",
        "--task",
        "sudoku",
        "--method",
        "pl",
        "--train",
        "2000",
        "--epochs",
        "2",
        "--batch",
        "32",
        "--forbid-unseen",
        "--data",
        p(data),
        "--out",
        p(&out),
        "--json",
    ]);
    let predicted = ebm_json(&["factor", "predict", p(&out), "--data", p(data), "--json"]);
    for m in [learned, predicted] {
        assert_eq!(m["puzzles"], 50);
        assert_eq!(m["puzzles_solved"], 50, "{m}");
        assert_eq!(m["forbidden_entries"], 7290, "{m}");
    }
}
