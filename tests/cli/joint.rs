//! `ebm joint`: train, predict, calibrate, sample and `ood` on a small labeled CSV of 4x4
//! images, and bad flags refused with one line naming the flag.

use crate::common::*;
use std::path::Path;

/// `rows` labeled 4x4 images of two classes (bright top half: 0, bright bottom half: 1)
/// as a CSV with a header and the label in column `y`.
fn write_images(path: &Path, rows: usize, offset: usize) {
    let mut text: String = (0..16).map(|i| format!("p{i},")).collect();
    text.push_str("y\n");
    for r in 0..rows {
        let label = (r + offset) % 2;
        for pixel in 0..16 {
            let bright = (pixel < 8) == (label == 0);
            let wiggle = ((r * 7 + pixel * 3 + offset) % 10) as f32 / 50.0;
            let v = if bright { 0.7 + wiggle } else { 0.1 + wiggle };
            text.push_str(&format!("{v:.3},"));
        }
        text.push_str(&format!("{label}\n"));
    }
    std::fs::write(path, text).unwrap();
}

/// The flags that read `train` and `test` with their labels in column `y`.
fn labeled<'a>(train: &'a Path, test: &'a Path) -> [&'a str; 6] {
    [
        "--train",
        p(train),
        "--test",
        p(test),
        "--label-column",
        "y",
    ]
}

/// The folder with train.csv (100 rows), test.csv (40 rows) and a trained model.
fn trained(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    write_images(&dir.join("train.csv"), 100, 0);
    write_images(&dir.join("test.csv"), 40, 1);
    let (train, test, model) = (
        dir.join("train.csv"),
        dir.join("test.csv"),
        dir.join("j.ebm"),
    );
    let m = last_json(&ebm_train(
        &[
            &["joint", "train"][..],
            &labeled(&train, &test),
            &[
                "--hidden",
                "12",
                "--epochs",
                "6",
                "--batch-size",
                "10",
                "--lr",
                "0.01",
                "--sgld-steps",
                "2",
                "--buffer-size",
                "20",
                "--generative-weight",
                "0.1",
                "--energy-regularization",
                "0.01",
                "--max-shift",
                "1",
            ],
        ]
        .concat(),
        &model,
    ));
    assert_eq!(m["architecture"], "[16, 12, 2]");
    let error = m["test_error"].as_f64().unwrap();
    assert!(error < 0.25, "test error {error}");
    dir
}

#[test]
fn joint_train_predict_calibrate_sample_and_ood() {
    let dir = trained("joint");
    let (train, test, model) = (
        dir.join("train.csv"),
        dir.join("test.csv"),
        dir.join("j.ebm"),
    );
    let probs = dir.join("p.csv");
    let m = ebm_json(&[
        "joint",
        "predict",
        p(&model),
        "--input",
        p(&test),
        "--label-column",
        "y",
        "--out",
        p(&probs),
        "--temperature",
        "2",
        "--json",
    ]);
    assert_eq!(
        (m["examples"].as_u64(), m["columns"].as_u64()),
        (Some(40), Some(2))
    );
    let table = std::fs::read_to_string(&probs).unwrap();
    let row: Vec<f64> = table
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{row:?}");
    let png = dir.join("rel.png");
    let flags = ["--validation-size", "30", "--png", p(&png), "--json"];
    let calibrate = ["joint", "calibrate", p(&model)];
    let m = ebm_json(&[&calibrate[..], &labeled(&train, &test), &flags].concat());
    assert!(m["temperature"].as_f64().unwrap() > 0.0);
    assert!(m["ece_test_after"].as_f64().unwrap().is_finite());
    assert!(std::fs::metadata(&png).unwrap().len() > 0);
    // A class RBM on the same images classifies the samples.
    let rbm = dir.join("c.ebm");
    last_json(&ebm_train(
        &[
            "class-rbm",
            "train",
            "--train",
            p(&train),
            "--label-column",
            "y",
            "--hidden",
            "8",
            "--epochs",
            "3",
            "--objective",
            "discriminative",
            "--lr",
            "0.1",
        ],
        &rbm,
    ));
    let (grid, samples) = (dir.join("s.png"), dir.join("s.csv"));
    let m = ebm_json(&[
        "joint",
        "sample",
        p(&model),
        "--chains-per-class",
        "3",
        "--steps",
        "10",
        "--png",
        p(&grid),
        "--out",
        p(&samples),
        "--classifier",
        p(&rbm),
        "--json",
    ]);
    assert_eq!(m["samples"].as_u64(), Some(6));
    let share = m["recognized_share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share));
    assert!(m["model_share"].as_f64().unwrap() > 0.5, "{m}");
    assert_eq!(
        std::fs::read_to_string(&samples).unwrap().lines().count(),
        7
    );
    let m = ebm_json(&[
        "joint",
        "sample",
        p(&model),
        "--class",
        "1",
        "--chains-per-class",
        "2",
        "--steps",
        "3",
        "--png",
        p(&grid),
        "--json",
    ]);
    assert!(m["model_share"].as_f64().is_some());
    // Out of distribution: inverted images.
    let odd = dir.join("odd.csv");
    let inverted: String = std::fs::read_to_string(&test)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                return format!("{line}\n");
            }
            let mut values: Vec<String> = line.split(',').map(String::from).collect();
            for v in values.iter_mut().take(16) {
                *v = format!("{:.3}", 1.0 - v.parse::<f64>().unwrap() * 0.5);
            }
            format!("{}\n", values.join(","))
        })
        .collect();
    std::fs::write(&odd, inverted).unwrap();
    let m = ebm_json(&[
        "ood",
        p(&model),
        "--normal",
        p(&test),
        "--anomalous",
        p(&odd),
        "--label-column",
        "y",
        "--json",
    ]);
    for key in [
        "roc_auc_free_energy",
        "roc_auc_gradient_norm",
        "roc_auc_max_probability",
    ] {
        let auc = m[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&auc), "{key}: {auc}");
    }
}

#[test]
fn joint_bad_flags_are_one_line_errors_naming_the_flag() {
    let dir = temp_dir("joint-bad");
    let train = dir.join("train.csv");
    write_images(&train, 20, 0);
    let model = dir.join("j.ebm");
    let base = [
        "joint",
        "train",
        "--train",
        p(&train),
        "--label-column",
        "y",
        "--epochs",
        "1",
    ];
    for (flag, value, named) in [
        ("--sgld-steps", "0", "--sgld-steps"),
        ("--reinit", "2", "--reinit"),
        ("--step-size", "0", "--step-size"),
        ("--hidden", "0,4", "--hidden"),
        ("--buffer-size", "3", "--buffer-size"),
    ] {
        let mut args = base.to_vec();
        args.extend([flag, value]);
        let line = failure_line(&ebm_train(&args, &model));
        assert_mentions(&line, &[named]);
    }
    let unlabeled = failure_line(&ebm_train(&base[..4], &model));
    assert_mentions(&unlabeled, &["--train"]);
    // A model to sample from and predict with.
    last_json(&ebm_train(
        &[
            &base[..],
            &["--hidden", "4", "--batch-size", "10", "--buffer-size", "20"],
        ]
        .concat(),
        &model,
    ));
    let png = dir.join("s.png");
    let line = failure_line(&ebm(&[
        "joint",
        "sample",
        p(&model),
        "--class",
        "5",
        "--png",
        p(&png),
    ]));
    assert_mentions(&line, &["--class", "5"]);
    let line = failure_line(&ebm(&[
        "joint",
        "sample",
        p(&model),
        "--noise-scale=-1",
        "--png",
        p(&png),
    ]));
    assert_mentions(&line, &["--noise-scale"]);
    let out = dir.join("p.csv");
    let line = failure_line(&ebm(&[
        "joint",
        "predict",
        p(&model),
        "--input",
        p(&train),
        "--label-column",
        "y",
        "--out",
        p(&out),
        "--temperature",
        "0",
    ]));
    assert_mentions(&line, &["--temperature"]);
}
