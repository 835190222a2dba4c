//! End-to-end tests of `ebm class-rbm`, `ebm gaussian-rbm` and `ebm rbm anomaly` on real
//! MNIST (they need `$EBM_DATA`; see "Data and tests" in README.md), with small models so
//! they run in seconds, plus their input errors.

use crate::common::{
    data_root, ebm, ebm_json, ebm_train, failure_line, file_in, last_json, p, temp_dir,
};
use serde_json::Value;
use std::path::PathBuf;

/// A model trained on MNIST for one test.
struct Trained {
    /// The folder holding `mnist/` (the commands' `--data`).
    root: PathBuf,
    /// The test's own folder.
    dir: PathBuf,
    /// The model file, in `dir`.
    model: PathBuf,
    /// What training reported with `--json`.
    metrics: Value,
}

impl Trained {
    /// The model path as `&str`.
    fn model(&self) -> &str {
        p(&self.model)
    }

    /// `--data ROOT` for the commands that read MNIST.
    fn data(&self) -> [&str; 2] {
        ["--data", p(&self.root)]
    }
}

/// Train with the command `words` (split at spaces) on MNIST into a fresh folder `name`,
/// or `None` (the test is skipped) without `$EBM_DATA`.
fn train_mnist(name: &str, words: &str) -> Option<Trained> {
    let root = data_root("mnist")?;
    let dir = temp_dir(name);
    let model = dir.join(format!("{name}.ebm"));
    let mut args: Vec<&str> = words.split(' ').collect();
    args.extend_from_slice(&["--data", p(&root)]);
    let metrics = last_json(&ebm_train(&args, &model));
    Some(Trained {
        root,
        dir,
        model,
        metrics,
    })
}

#[test]
fn class_rbm_train_eval_sample_on_mnist() {
    let words = "class-rbm train --hidden 100 --epochs 2 --limit 5000 --threads 2";
    let Some(t) = train_mnist("class", words) else {
        return;
    };
    let m = &t.metrics;
    assert!(m["train_seconds"].is_number() && m["seconds_per_epoch"].is_number());
    let eval = ebm_json(
        &[
            &["class-rbm", "eval", t.model()][..],
            &t.data(),
            &["--json"],
        ]
        .concat(),
    );
    // 5,000 images, 2 epochs, 100 hidden units: about 8% error; a broken model is ~90%.
    let error = eval["test_error"].as_f64().unwrap();
    assert!(error < 0.15, "test error {error}");
    assert_eq!(eval["n_test"], 10_000);
    let png = t.dir.join("s.png");
    let sample = [
        "class-rbm",
        "sample",
        t.model(),
        "--chains",
        "3",
        "--steps",
        "5",
    ];
    let flags = ["--png", p(&png), "--classifier", t.model(), "--json"];
    let m = ebm_json(&[&sample[..], &flags].concat());
    assert!(std::fs::metadata(&png).unwrap().len() > 100);
    assert_eq!(m["samples"], 30);
    let (recognized, confident) = (
        m["recognized_share"].as_f64().unwrap(),
        m["confident_share"].as_f64().unwrap(),
    );
    assert!(
        (0.0..=1.0).contains(&recognized) && confident <= recognized,
        "{m}"
    );
    // Shares come in steps of one sample in 30.
    assert!((recognized * 30.0 - (recognized * 30.0).round()).abs() < 1e-9);
}

#[test]
fn class_rbm_calibrate_fits_a_temperature_on_unseen_examples() {
    // Trained on the first 3,000 images; the temperature is fitted on the last 2,000.
    let words = "class-rbm train --hidden 50 --epochs 2 --limit 3000 --threads 2";
    let Some(t) = train_mnist("calibrate", words) else {
        return;
    };
    let png = t.dir.join("reliability.png");
    let calibrate = [
        "class-rbm",
        "calibrate",
        t.model(),
        "--validation-size",
        "2000",
    ];
    let flags = ["--bins", "10", "--png", p(&png), "--json"];
    let m = ebm_json(&[&calibrate[..], &t.data(), &flags].concat());
    let temperature = m["temperature"].as_f64().unwrap();
    assert!(temperature > 0.0 && temperature.is_finite(), "{m}");
    let number = |key: &str| m[key].as_f64().unwrap();
    // Scaling never changes the predicted class.
    assert_eq!(number("error_test_before"), number("error_test_after"));
    // The fitted temperature is the validation optimum, so it cannot raise that NLL.
    assert!(number("nll_validation_after") <= number("nll_validation_before") + 1e-9);
    for key in ["ece_test_before", "ece_test_after"] {
        assert!((0.0..=1.0).contains(&number(key)), "{key}: {m}");
    }
    assert_eq!(m["n_validation"], 2000);
    assert_eq!(m["n_test"], 10_000);
    assert!(std::fs::metadata(&png).unwrap().len() > 1000);
    // A validation split as large as the training split is refused naming the flag.
    let too_many = [
        &calibrate[..2],
        &[t.model(), "--validation-size", "60000"],
        &t.data()[..],
    ];
    let line = failure_line(&ebm(&too_many.concat()));
    assert!(line.contains("--validation-size"), "{line}");
}

#[test]
fn anomaly_on_mnist_nines() {
    let words = "rbm train --dataset mnist --exclude-labels 9 --hidden 50 --epochs 2 --limit 5000";
    let Some(t) = train_mnist("anomaly", words) else {
        return;
    };
    for score in ["likelihood-ratio", "free-energy", "reconstruction"] {
        let anomaly = ["rbm", "anomaly", t.model(), "--dataset", "mnist"];
        let flags = ["--anomalous-labels", "9", "--score", score, "--json"];
        let m = ebm_json(&[&anomaly[..], &t.data(), &flags].concat());
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
    let words = "gaussian-rbm train --hidden 16 --limit 3000 --epochs 5 --batch 50";
    let Some(t) = train_mnist("gaussian", words) else {
        return;
    };
    let eval = |flags: &[&str]| {
        let eval = [
            "gaussian-rbm",
            "eval",
            t.model(),
            "--limit",
            "500",
            "--json",
        ];
        ebm_json(&[&eval[..], &t.data(), flags].concat())
    };
    let exact = eval(&["--exact"]);
    let ais = eval(&["--ais-runs", "50", "--ais-betas", "1000", "--threads", "2"]);
    let (a, e) = (
        ais["log_z"].as_f64().unwrap(),
        exact["log_z"].as_f64().unwrap(),
    );
    assert!((a - e).abs() < 0.1, "AIS {a} exact {e}");
    for sampler in ["gibbs", "mala"] {
        let png = t.dir.join(format!("{sampler}.png"));
        let m = ebm_json(&[
            "gaussian-rbm",
            "sample",
            t.model(),
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

/// A learning rate far too high makes every trainer diverge in its first epoch: exit code
/// 1, a one-line error naming the epoch, and the previous model file left as it was.
#[test]
fn divergence_keeps_the_previous_model() {
    let Some(root) = data_root("mnist") else {
        return;
    };
    let dir = temp_dir("diverge");
    let data = ["--data", p(&root)];
    for (name, words) in [
        (
            "class",
            "class-rbm train --hidden 16 --epochs 2 --limit 300 --lr 1e6",
        ),
        (
            "gaussian",
            "gaussian-rbm train --hidden 16 --epochs 2 --limit 300 --lr 10 --momentum 0.9",
        ),
        (
            "binary",
            "rbm train --dataset mnist --hidden 16 --epochs 2 --limit 300 --lr 1e4",
        ),
    ] {
        let out = dir.join(format!("{name}.ebm"));
        std::fs::write(&out, b"previous model").unwrap();
        let args: Vec<&str> = words.split(' ').chain(data).collect();
        let err = crate::common::error_line(&ebm_train(&args, &out), 1);
        assert!(err.contains("diverged in epoch 1"), "{name}: {err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"previous model", "{name}");
    }
    let ratings = data_root("ml-100k").expect("ml-100k beside mnist");
    let out = file_in(&dir, "cf.ebm", b"previous model");
    let args = ["cf", "train", "--dataset", "ml-100k", "--data", p(&ratings)];
    let args = [
        &args[..],
        &["--hidden", "10", "--epochs", "2", "--lr", "1e5"],
    ]
    .concat();
    let err = crate::common::error_line(&ebm_train(&args, &out), 1);
    assert!(err.contains("diverged in epoch 1"), "cf: {err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous model", "cf");
}
