//! End-to-end tests of `ebm class-rbm`, `ebm gaussian-rbm` and `ebm rbm anomaly` on real
//! MNIST (they need `$EBM_DATA`; see DESIGN.md), with small models so they run in
//! seconds, plus their input errors.

use crate::common::{ebm, ebm_json, ebm_train, failure_line, last_json, p, temp_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The folder holding `mnist/`, or `None` (skipped) without `$EBM_DATA`.
fn data_root() -> Option<PathBuf> {
    crate::common::data_root("mnist")
}

/// The `--json` metrics of the training command `words` (split at spaces) on the MNIST
/// under `root`, saving to `out`.
fn train_mnist(words: &str, root: &Path, out: &Path) -> Value {
    let mut args: Vec<&str> = words.split(' ').collect();
    args.extend_from_slice(&["--data", p(root)]);
    last_json(&ebm_train(&args, out))
}

#[test]
fn class_rbm_train_eval_sample_on_mnist() {
    let Some(root) = data_root() else { return };
    let dir = temp_dir("class");
    let model = dir.join("c.ebm");
    let m = train_mnist(
        "class-rbm train --hidden 100 --epochs 2 --limit 5000 --threads 2",
        &root,
        &model,
    );
    assert!(m["train_seconds"].is_number() && m["seconds_per_epoch"].is_number());
    let eval = ebm_json(&["class-rbm", "eval", p(&model), "--data", p(&root), "--json"]);
    // 5,000 images, 2 epochs, 100 hidden units: about 8% error; a broken model is ~90%.
    let error = eval["test_error"].as_f64().unwrap();
    assert!(error < 0.15, "test error {error}");
    assert_eq!(eval["n_test"], 10_000);
    let png = dir.join("s.png");
    let out = ebm(&[
        "class-rbm",
        "sample",
        p(&model),
        "--chains",
        "3",
        "--steps",
        "5",
        "--png",
        p(&png),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::metadata(&png).unwrap().len() > 100);
}

#[test]
fn anomaly_on_mnist_nines() {
    let Some(root) = data_root() else { return };
    let dir = temp_dir("anomaly");
    let model = dir.join("r.ebm");
    train_mnist(
        "rbm train --dataset mnist --exclude-labels 9 --hidden 50 --epochs 2 --limit 5000",
        &root,
        &model,
    );
    for score in ["likelihood-ratio", "free-energy", "reconstruction"] {
        let m = ebm_json(&[
            "rbm",
            "anomaly",
            p(&model),
            "--dataset",
            "mnist",
            "--data",
            p(&root),
            "--anomalous-labels",
            "9",
            "--score",
            score,
            "--json",
        ]);
        let auc = m["roc_auc"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&auc), "{m}");
        assert_eq!(m["n_anomalous"], 1009);
        // The threshold is set for 5% false positives on the even rows; the odd rows
        // (4,496 normal digits) land within a few points of it.
        let fpr = m["false_positive_rate"].as_f64().unwrap();
        assert!((fpr - 0.05).abs() < 0.02, "{score}: {m}");
    }
}

/// A 16-hidden Gaussian RBM: exact and AIS `ln Z` agree within 0.1 nats, and both
/// samplers write pictures (MALA reports its acceptance rate).
#[test]
fn gaussian_rbm_train_eval_sample_on_mnist() {
    let Some(root) = data_root() else { return };
    let dir = temp_dir("gaussian");
    let model = dir.join("g.ebm");
    train_mnist(
        "gaussian-rbm train --hidden 16 --limit 3000 --epochs 5 --batch 50",
        &root,
        &model,
    );
    let exact = ebm_json(&[
        "gaussian-rbm",
        "eval",
        p(&model),
        "--data",
        p(&root),
        "--exact",
        "--limit",
        "500",
        "--json",
    ]);
    let ais = ebm_json(&[
        "gaussian-rbm",
        "eval",
        p(&model),
        "--data",
        p(&root),
        "--limit",
        "500",
        "--ais-runs",
        "50",
        "--ais-betas",
        "1000",
        "--threads",
        "2",
        "--json",
    ]);
    let (a, e) = (
        ais["log_z"].as_f64().unwrap(),
        exact["log_z"].as_f64().unwrap(),
    );
    assert!((a - e).abs() < 0.1, "AIS {a} exact {e}");
    for sampler in ["gibbs", "mala"] {
        let png = dir.join(format!("{sampler}.png"));
        let m = ebm_json(&[
            "gaussian-rbm",
            "sample",
            p(&model),
            "--sampler",
            sampler,
            "--chains",
            "2",
            "--steps",
            "50",
            "--png",
            p(&png),
            "--json",
        ]);
        assert!(std::fs::metadata(&png).unwrap().len() > 100);
        if sampler == "mala" {
            let rate = m["acceptance_rate"].as_f64().unwrap();
            assert!(rate > 0.2 && rate <= 1.0, "{m}");
        }
    }
}

#[test]
fn bad_input_is_a_one_line_error() {
    let out = ebm(&["gaussian-rbm", "train", "--dataset", "ml-100k"]);
    assert!(failure_line(&out).contains("--dataset"));
    let out = ebm(&["gaussian-rbm", "train", "--method", "dsm", "--noise", "0"]);
    assert!(failure_line(&out).contains("--noise"));
    let dir = temp_dir("bad");
    let out = ebm(&["class-rbm", "train", "--dataset", "bars-and-stripes"]);
    assert!(failure_line(&out).contains("--dataset"));
    let out = ebm(&["class-rbm", "train", "--data", p(&dir)]);
    assert!(failure_line(&out).contains("mnist"));
    let out = ebm(&["class-rbm", "eval", p(&dir.join("none.ebm"))]);
    failure_line(&out);
    let out = ebm(&["class-rbm", "train", "--hidden", "0"]);
    assert!(failure_line(&out).contains("--hidden"));
    let out = ebm(&[
        "rbm",
        "anomaly",
        p(&dir.join("none.ebm")),
        "--anomalous-labels",
        "9",
    ]);
    failure_line(&out);
}
