//! Issue 18: `--log FILE` writes one JSON line per epoch for every training command,
//! `--plot DIR` draws learning curves, ROC curves and AIS diagnostics as PNGs of the
//! expected size, logging leaves the model file byte-identical, and bad paths are
//! one-line errors naming the flag, before any training.

use crate::common::{ebm_words, failure_line, file_in, last_json, p, temp_dir};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The JSON objects of the log file at `path`, one per line.
fn log_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The width and height of the PNG at `path` (from its IHDR chunk), which must be a
/// PNG file.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Train a small RBM on the built-in digits into `dir/name`, with `extra` flags.
fn train_digits(dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, Value) {
    let model = dir.join(name);
    let words = "rbm train --dataset digits --hidden 8 --epochs 3 --batch 50 --json --quiet";
    let out = ebm_words(words, &[&["--out", p(&model)][..], extra].concat());
    (model.clone(), last_json(&out))
}

#[test]
fn rbm_train_logs_every_epoch_and_plots_without_changing_the_model() {
    let dir = temp_dir("log-rbm");
    let (log, plots) = (dir.join("run.jsonl"), dir.join("plots"));
    let (logged, result) =
        train_digits(&dir, "logged.ebm", &["--log", p(&log), "--plot", p(&plots)]);
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 3, "one line per epoch");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["epoch"], i + 1);
        assert_eq!(line["learning_rate"], 0.05);
        assert!(line["seconds"].as_f64().unwrap() >= 0.0);
        for key in ["train_recon_error", "held_out_recon_error"] {
            let value = line[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key}: {line}"));
            assert!(value > 0.0 && value < 64.0, "{key} {value}");
        }
    }
    // The last epoch's training error is the one the run reports.
    assert_eq!(lines[2]["train_recon_error"], result["recon_error"]);
    let curve = plots.join("learning_curve_recon_error.png");
    assert_eq!(png_size(&curve), (800, 500));
    assert_eq!(result["plot_learning_curve_recon_error"], p(&curve));
    let (plain, _) = train_digits(&dir, "plain.ebm", &[]);
    assert_eq!(
        std::fs::read(&logged).unwrap(),
        std::fs::read(&plain).unwrap(),
        "--log and --plot must not change the model"
    );
}

#[test]
fn a_data_set_without_a_test_split_logs_no_held_out_metric() {
    let dir = temp_dir("log-bas");
    let log = dir.join("bas.jsonl");
    let out = ebm_words(
        "rbm train --dataset bars-and-stripes --hidden 4 --epochs 2 --json --quiet",
        &["--out", p(&dir.join("m.ebm")), "--log", p(&log)],
    );
    last_json(&out);
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 2);
    assert!(lines[1]["train_recon_error"].is_f64());
    assert!(
        lines[1].get("held_out_recon_error").is_none(),
        "{}",
        lines[1]
    );
}

#[test]
fn grey_level_models_log_train_and_held_out_metrics() {
    let dir = temp_dir("log-grey");
    // 4x4 grey images with labels 0..3: a left or a right half lit, dim or bright.
    let mut text = String::new();
    for i in 0..40u32 {
        let label = i % 4;
        let level = if label < 2 { 120 } else { 250 };
        let pixels: Vec<String> = (0..16u32)
            .map(|k| (((k % 4 < 2) == (label % 2 == 0)) as u32 * level + i % 5).to_string())
            .collect();
        text.push_str(&format!("{},{label}\n", pixels.join(",")));
    }
    let data = file_in(&dir, "grey.csv", &text);
    let files = [
        "--train",
        p(&data),
        "--test",
        p(&data),
        "--label-column",
        "last",
    ];
    for (command, metric, extra) in [
        ("class-rbm", "error", "--batch 10"),
        ("gaussian-rbm", "recon_error", "--batch 10 --lr 0.001"),
    ] {
        let log = dir.join(format!("{command}.jsonl"));
        let words = format!("{command} train --hidden 6 --epochs 2 {extra} --json --quiet");
        let model = dir.join(format!("{command}.ebm"));
        let args = [&files[..], &["--out", p(&model), "--log", p(&log)]].concat();
        last_json(&ebm_words(&words, &args));
        let lines = log_lines(&log);
        assert_eq!(lines.len(), 2, "{command}");
        for split in ["train", "held_out"] {
            let key = format!("{split}_{metric}");
            assert!(lines[1][&key].is_f64(), "{command} {key}: {}", lines[1]);
        }
    }
}

#[test]
fn factor_learn_logs_each_stage_epoch() {
    let dir = temp_dir("log-factor");
    let (log, plots) = (dir.join("factor.jsonl"), dir.join("plots"));
    let out = ebm_words(
        "factor learn --task hmm --method pl --pretrain-epochs 1 --epochs 2 --json --quiet",
        &["--log", p(&log), "--plot", p(&plots)],
    );
    last_json(&out);
    let lines = log_lines(&log);
    let stages: Vec<&str> = lines.iter().map(|l| l["stage"].as_str().unwrap()).collect();
    assert_eq!(
        stages,
        ["pl", "pl", "pl"],
        "one pretraining epoch, then two"
    );
    assert_eq!(lines[2]["epoch"], 2);
    assert!(lines[2]["train_objective"].is_f64() && lines[2]["fallbacks"].is_f64());
    assert_eq!(
        png_size(&plots.join("learning_curve_objective.png")),
        (800, 500)
    );
}

#[test]
fn anomaly_and_eval_draw_the_roc_curve_and_the_ais_runs() {
    let dir = temp_dir("plots-anomaly");
    let (model, _) = train_digits(&dir, "no9.ebm", &["--exclude-labels", "9"]);
    let plots = dir.join("plots");
    let anomaly = ebm_words(
        "rbm anomaly --dataset digits --anomalous-labels 9 --json",
        &[p(&model), "--plot", p(&plots)],
    );
    let result = last_json(&anomaly);
    assert_eq!(png_size(&plots.join("roc.png")), (700, 640));
    assert_eq!(result["plot_roc"], p(&plots.join("roc.png")));
    let eval = ebm_words(
        "rbm eval --dataset digits --ais-runs 10 --ais-betas 100 --json",
        &[p(&model), "--plot", p(&plots)],
    );
    last_json(&eval);
    assert_eq!(png_size(&plots.join("ais_log_weights.png")), (800, 500));
}

#[test]
fn bad_log_and_plot_paths_fail_before_training() {
    let dir = temp_dir("log-bad");
    let file = file_in(&dir, "a-file", "x");
    let model = dir.join("never.ebm");
    let missing = dir.join("no").join("such").join("log.jsonl");
    let bad_plot = dir.join("no").join("plots");
    for (flag, path) in [
        ("--log", p(&missing)),
        ("--log", p(&dir)),
        ("--plot", p(&file)),
        ("--plot", p(&bad_plot)),
    ] {
        let out = ebm_words(
            "rbm train --dataset digits --hidden 4 --epochs 1",
            &["--out", p(&model), flag, path],
        );
        let err = failure_line(&out);
        assert!(err.contains(flag), "{flag} {path}: {err}");
        assert!(!model.exists(), "nothing is trained");
    }
    let out = ebm_words(
        "factor learn --task hmm --method pl",
        &["--log", p(&missing)],
    );
    assert!(failure_line(&out).contains("--log"));
}
