//! End-to-end tests of `ebm ood`: every model kind that scores inputs, on small files whose
//! normal and out-of-distribution halves are easy to tell apart, plus its input errors.

use crate::common::{ebm_ok, ebm_words, failure_line, file_in, last_json, p, temp_dir};
use std::path::{Path, PathBuf};

/// `rows` rows of 8 values in [0, 1], with a label column: the normal pattern has its
/// first half on (two classes: which quarter is brighter), the other pattern its second
/// half; a little deterministic wobble.
fn patterns(dir: &Path, name: &str, rows: usize, normal: bool, offset: usize) -> PathBuf {
    let mut text = String::from("v0,v1,v2,v3,v4,v5,v6,v7,label\n");
    for row in 0..rows {
        let class = row % 2;
        let values: Vec<String> = (0..8)
            .map(|k| {
                let on = (k < 4) == normal;
                let bright = on && (k / 2) % 2 == class;
                let wobble = ((row + offset) * 7 + k * 3) % 5;
                let v = if bright {
                    0.95
                } else if on {
                    0.75
                } else {
                    0.1
                };
                format!("{:.3}", v - 0.02 * wobble as f32)
            })
            .collect();
        text.push_str(&format!("{},{class}\n", values.join(",")));
    }
    file_in(dir, name, text)
}

/// The files of one test: training, held-out normal and out-of-distribution examples.
struct Files {
    dir: PathBuf,
    train: PathBuf,
    normal: PathBuf,
    anomalous: PathBuf,
}

fn files(name: &str) -> Files {
    let dir = temp_dir(name);
    Files {
        train: patterns(&dir, "train.csv", 60, true, 0),
        normal: patterns(&dir, "normal.csv", 30, true, 100),
        anomalous: patterns(&dir, "anomalous.csv", 30, false, 200),
        dir,
    }
}

/// `ebm ood MODEL` on the test's files with `--label-column label --json` and `more`.
fn ood(f: &Files, model: &Path, more: &[&str]) -> serde_json::Value {
    let words = "ood --label-column label --json";
    let files = [
        p(model),
        "--normal",
        p(&f.normal),
        "--anomalous",
        p(&f.anomalous),
    ];
    last_json(&ebm_ok(words, &[&files[..], more].concat()))
}

/// Every score of `keys` is in `m`, an AUC in [0, 1].
fn assert_aucs(m: &serde_json::Value, keys: &[&str]) {
    for key in keys {
        let auc = m[format!("roc_auc_{key}")].as_f64();
        assert!(auc.is_some_and(|a| (0.0..=1.0).contains(&a)), "{key}: {m}");
    }
}

#[test]
fn every_rbm_kind_scores_a_pair_of_files() {
    let f = files("ood-kinds");
    let train = format!(
        "--train {} --label-column label --epochs 30 --batch 5 --quiet --out",
        p(&f.train)
    );
    let binary = f.dir.join("b.ebm");
    ebm_ok(
        &format!("rbm train --hidden 6 --binarize none {train}"),
        &[p(&binary)],
    );
    let plots = f.dir.join("plots");
    let m = ood(
        &f,
        &binary,
        &["--background", p(&f.train), "--plot", p(&plots)],
    );
    assert_eq!(
        (m["n_normal"].as_u64(), m["n_anomalous"].as_u64()),
        (Some(30), Some(30))
    );
    assert_aucs(
        &m,
        &[
            "free_energy",
            "likelihood_ratio",
            "gradient_norm",
            "reconstruction",
        ],
    );
    // The other pattern has a far higher free energy under a model of the first.
    assert!(m["roc_auc_free_energy"].as_f64().unwrap() > 0.95, "{m}");
    assert!(std::fs::metadata(plots.join("ood_roc.png")).unwrap().len() > 1000);
    // Without --background there is no likelihood ratio.
    assert!(
        ood(&f, &binary, &[])
            .get("roc_auc_likelihood_ratio")
            .is_none()
    );

    let class = f.dir.join("c.ebm");
    ebm_ok(&format!("class-rbm train --hidden 6 {train}"), &[p(&class)]);
    let m = ood(&f, &class, &[]);
    assert!(m["roc_auc_max_probability"].as_f64().is_some(), "{m}");
    assert!(m["roc_auc_free_energy"].as_f64().unwrap() > 0.95, "{m}");

    let gaussian = f.dir.join("g.ebm");
    ebm_ok(
        &format!("gaussian-rbm train --hidden 4 {train}"),
        &[p(&gaussian)],
    );
    let m = ood(&f, &gaussian, &["--background", p(&f.train)]);
    assert!(m["roc_auc_free_energy"].as_f64().unwrap() > 0.9, "{m}");
    assert!(m.get("roc_auc_reconstruction").is_none());
}

#[test]
fn ood_refuses_a_model_that_does_not_score_and_a_file_of_the_wrong_width() {
    let f = files("ood-errors");
    let not_a_model = file_in(&f.dir, "x.ebm", "not a model");
    let pair = ["--normal", p(&f.normal), "--anomalous", p(&f.anomalous)];
    let line = failure_line(&ebm_words(
        "ood --label-column label",
        &[&[p(&not_a_model)][..], &pair].concat(),
    ));
    assert!(line.contains("x.ebm"), "{line}");
    let binary = f.dir.join("b.ebm");
    let train = format!(
        "rbm train --train {} --label-column label --hidden 3 --epochs 1 --binarize none --quiet --out",
        p(&f.train)
    );
    ebm_ok(&train, &[p(&binary)]);
    // Without --label-column the label is a ninth feature: the model has eight inputs.
    let line = failure_line(&ebm_words("ood", &[&[p(&binary)][..], &pair].concat()));
    assert!(line.contains("normal.csv"), "{line}");
    let empty = file_in(&f.dir, "empty.csv", "v0,v1,v2,v3,v4,v5,v6,v7,label\n");
    let pair = ["--normal", p(&f.normal), "--anomalous", p(&empty)];
    let line = failure_line(&ebm_words(
        "ood --label-column label",
        &[&[p(&binary)][..], &pair].concat(),
    ));
    assert!(line.contains("empty.csv"), "{line}");
}

#[test]
fn a_neural_energy_scores_a_pair_of_files() {
    let f = files("ood-energy");
    let energy = f.dir.join("e.ebm");
    ebm_ok(
        &format!(
            "energy train --train {} --label-column label --method dsm --hidden 16 --epochs 40 --batch 10 --lr 5e-3 --quiet --out",
            p(&f.train)
        ),
        &[p(&energy)],
    );
    let m = ood(&f, &energy, &["--background", p(&f.train)]);
    // The energy was fitted to the first pattern only: the other one lies far higher.
    assert!(m["roc_auc_free_energy"].as_f64().unwrap() > 0.9, "{m}");
    assert_aucs(
        &m,
        &[
            "gradient_norm",
            "likelihood_ratio",
            "typicality",
            "complexity_ratio",
        ],
    );
    assert!(m.get("roc_auc_max_probability").is_none(), "{m}");
}

#[test]
fn a_background_model_gives_the_ratio_of_two_models() {
    let f = files("ood-background-model");
    let train = |data: &Path, out: &Path, seed: &str| {
        ebm_ok(
            &format!(
                "rbm train --train {} --label-column label --hidden 6 --binarize none --epochs 30 --batch 5 --seed {seed} --quiet --out",
                p(data)
            ),
            &[p(out)],
        );
    };
    let (model, other) = (f.dir.join("m.ebm"), f.dir.join("o.ebm"));
    train(&f.train, &model, "1");
    // A model against itself: F(x) - F(x) = 0 everywhere, no better than chance.
    let m = ood(&f, &model, &["--background-model", p(&model)]);
    assert_eq!(
        m["roc_auc_likelihood_ratio_model"].as_f64(),
        Some(0.5),
        "{m}"
    );
    // Against a model of the other pattern the ratio separates the two at once.
    let anomalous_train = patterns(&f.dir, "anomalous-train.csv", 60, false, 300);
    train(&anomalous_train, &other, "2");
    let m = ood(&f, &model, &["--background-model", p(&other)]);
    assert!(
        m["roc_auc_likelihood_ratio_model"].as_f64().unwrap() > 0.95,
        "{m}"
    );
    // A background model of another width is refused, naming its file.
    let narrow = patterns(&f.dir, "narrow.csv", 20, true, 0);
    let narrow_model = f.dir.join("narrow.ebm");
    ebm_ok(
        &format!(
            "rbm train --train {} --hidden 2 --binarize none --epochs 1 --quiet --out",
            p(&narrow)
        ),
        &[p(&narrow_model)],
    );
    let files = [
        p(&model),
        "--normal",
        p(&f.normal),
        "--anomalous",
        p(&f.anomalous),
        "--background-model",
        p(&narrow_model),
    ];
    let line = failure_line(&ebm_words("ood --label-column label", &files));
    assert!(line.contains("narrow.ebm"), "{line}");
}
