//! End-to-end tests of the `ebm` binary: the bars-and-stripes workflow that needs no
//! data, the CLI contract (`--json` last line, exit code 2 with a one-line error naming
//! the file or flag), checkpoints and resume, and that a failed run keeps the old model.

use crate::common::{ebm, ebm_train, error_line, failure_line, file_in, last_json, p, temp_dir};
use std::path::{Path, PathBuf};
use std::process::Output;

/// `ebm rbm train` on bars and stripes: 16 hidden units, batches of 10, `--lr 0.1`
/// unless `extra` sets it.
fn train_bas(out: &Path, epochs: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "rbm",
        "train",
        "--dataset",
        "bars-and-stripes",
        "--epochs",
        epochs,
    ];
    args.extend_from_slice(&["--hidden", "16", "--batch", "10"]);
    if !extra.contains(&"--lr") {
        args.extend_from_slice(&["--lr", "0.1"]);
    }
    args.extend_from_slice(extra);
    ebm_train(&args, out)
}

/// A fresh folder `name` holding `m.ebm`, a bars-and-stripes model of `epochs` epochs
/// (and its checkpoint `m.ebm.ckpt`).
fn trained_bas(name: &str, epochs: &str) -> (PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let model = dir.join("m.ebm");
    last_json(&train_bas(&model, epochs, &[]));
    (dir, model)
}

/// `ebm rbm eval MODEL --dataset bars-and-stripes` with `extra` flags.
fn eval_bas(model: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["rbm", "eval", p(model), "--dataset", "bars-and-stripes"];
    args.extend_from_slice(extra);
    ebm(&args)
}

#[test]
fn bars_and_stripes_train_eval_sample_filters() {
    let dir = temp_dir("bas");
    let model = dir.join("bas.ebm");
    let train = last_json(&train_bas(&model, "300", &[]));
    for key in ["train_seconds", "seconds_per_epoch", "recon_error"] {
        assert!(train[key].is_number(), "train --json lacks {key}");
    }
    assert!(dir.join("bas.ebm.ckpt").exists(), "checkpoint written");

    let exact = last_json(&eval_bas(&model, &["--exact", "--json"]));
    let ais = last_json(&eval_bas(
        &model,
        &["--ais-runs", "100", "--ais-betas", "5000", "--json"],
    ));
    for key in ["log_z", "log_z_std", "test_ll", "recon_error"] {
        assert!(
            exact[key].is_number() && ais[key].is_number(),
            "eval --json lacks {key}"
        );
    }
    let (ll, lz_exact, lz_ais) = (
        exact["test_ll"].as_f64().unwrap(),
        exact["log_z"].as_f64().unwrap(),
        ais["log_z"].as_f64().unwrap(),
    );
    // Uniform model: 16 ln 2 = -11.09 nats; a trained model is far better.
    assert!(ll > -8.0 && ll < -3.39, "test_ll {ll}");
    // 100 runs x 5000 betas: the reported spread is a few hundredths of a nat.
    assert!(
        (lz_exact - lz_ais).abs() < 0.2,
        "exact {lz_exact} vs ais {lz_ais}"
    );

    let png = dir.join("samples.png");
    assert!(
        ebm(&[
            "rbm",
            "sample",
            p(&model),
            "--chains",
            "16",
            "--steps",
            "50",
            "--png",
            p(&png)
        ])
        .status
        .success()
    );
    let filters = dir.join("filters.png");
    assert!(
        ebm(&["rbm", "filters", p(&model), "--png", p(&filters)])
            .status
            .success()
    );
    for f in [png, filters] {
        assert_eq!(&std::fs::read(&f).unwrap()[..4], b"\x89PNG");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_continues_to_the_new_epoch_total() {
    let (dir, model) = trained_bas("resume", "5");
    let ckpt = dir.join("m.ebm.ckpt");
    let resume = [
        "rbm",
        "train",
        "--dataset",
        "bars-and-stripes",
        "--resume",
        p(&ckpt),
    ];
    let j = last_json(&ebm_train(
        &[&resume[..], &["--epochs", "8"]].concat(),
        &model,
    ));
    assert_eq!(
        (j["epochs"].as_u64(), j["epochs_run"].as_u64()),
        (Some(8), Some(3))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_code_2() {
    let (dir, model) = trained_bas("bad", "2");
    let missing = dir.join("nope.ebm");
    let out = eval_bas(&missing, &["--exact"]);
    assert!(failure_line(&out).contains("nope.ebm"));

    let garbage = file_in(&dir, "garbage.ebm", b"this is not a model");
    let out = ebm(&[
        "rbm",
        "filters",
        p(&garbage),
        "--png",
        p(&dir.join("f.png")),
    ]);
    assert!(failure_line(&out).contains("not an ebm model file"));

    let mut bytes = std::fs::read(&model).unwrap();
    bytes.truncate(bytes.len() - 10);
    let truncated = file_in(&dir, "truncated.ebm", &bytes);
    let out = eval_bas(&truncated, &["--exact"]);
    assert!(failure_line(&out).contains("truncated"));

    // `ebm rbm train ARGS` into a model file that must not be written.
    let x = dir.join("x.ebm");
    let train = |args: &[&str]| ebm(&[&["rbm", "train"][..], args, &["--out", p(&x)]].concat());
    let out = train(&["--dataset", "bars-and-stripes", "--k", "0"]);
    assert!(failure_line(&out).starts_with("error: --k"));
    let no_such_dir = dir.join("no-such-dir");
    let out = train(&["--dataset", "mnist", "--data", p(&no_such_dir)]);
    assert!(failure_line(&out).contains("no-such-dir"));
    assert!(!x.exists(), "a failed run wrote no model");

    let out = ebm(&["rbm", "train", "--dataset", "cifar"]);
    assert_eq!(out.status.code(), Some(2));

    let out = eval_bas(&model, &["--exact", "--ais-runs", "1"]);
    assert!(out.status.success(), "exact eval ignores AIS settings");
    let out = eval_bas(&model, &["--ais-runs", "1"]);
    assert!(failure_line(&out).contains("--ais-runs"));
    let out = eval_bas(&model, &["--ais-betas", "0"]);
    assert!(failure_line(&out).starts_with("error: --ais-betas"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_diverging_run_keeps_the_previous_model() {
    let (dir, model) = trained_bas("diverge", "3");
    let before = std::fs::read(&model).unwrap();
    let out = train_bas(
        &model,
        "50",
        &["--lr", "1e7", "--checkpoint", p(&dir.join("d.ckpt"))],
    );
    let err = error_line(&out, 1);
    assert!(err.contains("diverged") && err.contains("--lr"), "{err}");
    assert_eq!(
        std::fs::read(&model).unwrap(),
        before,
        "previous model untouched"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
