//! End-to-end tests of `ebm cf`: the same ratings in the three MovieLens formats give the
//! same model, train/eval/recommend agree with each other, bad input is a one-line error
//! with exit code 2, a failed run keeps the previous model, and threads do not change
//! results. The last test trains on the real MovieLens 100k (needs `$EBM_DATA`).

use crate::common::{
    assert_mentions, data_root, ebm, ebm_json, ebm_train, error_line, failure_line, file_in,
    last_json, p, temp_dir,
};
use std::path::Path;
use std::process::Output;

/// Two taste groups of users: group 0 loves items 0..20 and dislikes 20..40, group 1
/// the reverse; about 60% of cells are rated. Returns (user, item, rating) triples.
fn taste_groups() -> Vec<(u64, u64, u32)> {
    let mut state = 12345u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let mut out = Vec::new();
    for user in 1..=80u64 {
        for item in 1..=40u64 {
            if next() % 10 < 6 {
                let liked = (user % 2 == 0) == (item <= 20);
                let rating = if liked {
                    4 + next() % 2
                } else {
                    1 + next() % 2
                };
                out.push((user, item, rating));
            }
        }
    }
    out
}

/// Write `triples` as MovieLens 100k (tab), 1M (`::`) or CSV with a header.
fn write_ratings(path: &Path, triples: &[(u64, u64, u32)], format: &str) {
    let mut text = String::new();
    if format == "csv" {
        text.push_str("userId,movieId,rating,timestamp\n");
    }
    for &(u, i, r) in triples {
        match format {
            "tab" => text.push_str(&format!("{u}\t{i}\t{r}\t881250949\n")),
            "colons" => text.push_str(&format!("{u}::{i}::{r}::978300760\n")),
            _ => text.push_str(&format!("{u},{i},{r}.0,1112486027\n")),
        }
    }
    std::fs::write(path, text).unwrap();
}

fn train(dir: &Path, format: &str, out: &Path, extra: &[&str]) -> Output {
    let triples = taste_groups();
    let (test, train): (Vec<_>, Vec<_>) = triples.iter().enumerate().partition(|(n, _)| n % 5 == 0);
    let strip =
        |v: Vec<(usize, &(u64, u64, u32))>| v.into_iter().map(|(_, t)| *t).collect::<Vec<_>>();
    let base = dir.join(format!("train.{format}"));
    let held = dir.join(format!("test.{format}"));
    write_ratings(&base, &strip(train), format);
    write_ratings(&held, &strip(test), format);
    train_on(&["--ratings", p(&base), "--test", p(&held)], out, extra)
}

/// `ebm cf train` on the ratings `source` names (`--ratings FILE ...`) with a small
/// model (8 hidden units, 20 epochs, batches of 5, `--lr 0.05` unless `extra` sets it).
fn train_on(source: &[&str], out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["cf", "train"];
    args.extend_from_slice(source);
    args.extend_from_slice(&["--hidden", "8", "--epochs", "20", "--batch", "5"]);
    if !extra.contains(&"--lr") {
        args.extend_from_slice(&["--lr", "0.05"]);
    }
    args.extend_from_slice(extra);
    ebm_train(&args, out)
}

/// The `--json` result of `ebm cf eval MODEL` on the held-out ratings `source` names.
fn eval_on(model: &Path, source: &[&str], extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["cf", "eval", p(model)];
    args.extend_from_slice(source);
    args.push("--json");
    args.extend_from_slice(extra);
    ebm_json(&args)
}

#[test]
fn formats_train_eval_recommend_agree() {
    let dir = temp_dir("formats");
    let mut rmses = Vec::new();
    for format in ["tab", "colons", "csv"] {
        let model = dir.join(format!("{format}.ebm"));
        let metrics = last_json(&train(&dir, format, &model, &[]));
        for key in [
            "train_seconds",
            "seconds_per_epoch",
            "rmse",
            "mae",
            "recon_rmse",
        ] {
            assert!(metrics[key].is_number(), "{key} missing: {metrics}");
        }
        rmses.push(metrics["rmse"].as_f64().unwrap());
        // The two taste groups are easy: far better than guessing the mean (about 1.6).
        assert!(metrics["rmse"].as_f64().unwrap() < 0.9, "{metrics}");
        // eval on the same held-out file gives the same RMSE as train reported.
        let held = dir.join(format!("test.{format}"));
        let base = dir.join(format!("train.{format}"));
        let e = eval_on(
            &model,
            &["--ratings", p(&base), "--test", p(&held)],
            &["--top-k", "5"],
        );
        assert_eq!(e["rmse"], metrics["rmse"]);
        // About 2.4 relevant held-out items among about 21 unrated candidates per user:
        // random ranking gives precision@5 near 0.115, ranking the user's group first
        // near 0.23.
        assert!(e["precision_at_5"].as_f64().unwrap() > 0.18, "{e}");
        assert!(e["ndcg_at_5"].as_f64().unwrap() > 0.3, "{e}");
        assert!(e["precision_at_5"].is_number() && e["recall_at_5"].is_number());
    }
    assert!(rmses.windows(2).all(|w| w[0] == w[1]), "{rmses:?}");

    // Recommendations exclude what the user rated and favour their group's items.
    let model = dir.join("tab.ebm");
    let recommend = [
        "cf",
        "recommend",
        p(&model),
        "--user",
        "2",
        "--top",
        "5",
        "--json",
    ];
    let list = ebm_json(&recommend);
    let items: Vec<u64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(items.len(), 5);
    let train_text = std::fs::read_to_string(dir.join("train.tab")).unwrap();
    for item in &items {
        assert!(
            !train_text.contains(&format!("\n2\t{item}\t"))
                && !train_text.starts_with(&format!("2\t{item}\t"))
        );
        assert!(
            *item <= 20,
            "user 2 (even) likes items 1..20, got {items:?}"
        );
    }
    // Titles from a u.item-style file.
    let titles = dir.join("u.item");
    let lines: String = (1..=40)
        .map(|i| format!("{i}|Movie {i} (1995)|01-Jan-1995||x|0\n"))
        .collect();
    std::fs::write(&titles, lines).unwrap();
    let named = ebm_json(&[&recommend[..], &["--titles", p(&titles)]].concat());
    assert_eq!(named["titles"][0], format!("Movie {} (1995)", items[0]));
    let unknown = ebm(&["cf", "recommend", p(&model), "--user", "999"]);
    assert!(failure_line(&unknown).contains("--user: user 999"));
}

#[test]
fn bad_input_is_a_one_line_error() {
    let dir = temp_dir("bad");
    let bad = file_in(&dir, "bad.data", "1\t2\t5\t1\n1\t3\n");
    // The one-line error of `ebm cf train ARGS`.
    let train_error = |args: &[&str]| failure_line(&ebm(&[&["cf", "train"][..], args].concat()));
    let err = train_error(&["--ratings", p(&bad), "--out", p(&dir.join("m.ebm"))]);
    assert!(err.contains("bad.data") && err.contains("line 2"), "{err}");
    let dup = file_in(&dir, "dup.data", "1\t2\t5\t1\n1\t2\t3\t1\n2\t2\t1\t1\n");
    let err = train_error(&["--ratings", p(&dup)]);
    assert!(
        err.contains("dup.data: line 2: user 1 rates item 2 again (first on line 1)"),
        "{err}"
    );
    let good = file_in(&dir, "good.data", "1\t2\t5\t1\n1\t3\t3\t1\n2\t2\t1\t1\n");
    let err = train_error(&["--ratings", p(&dir.join("none.data"))]);
    assert!(err.contains("none.data"), "{err}");
    let err = train_error(&[]);
    assert_mentions(&err, &["--dataset", "--ratings"]);
    let err = train_error(&["--ratings", p(&good), "--test-fraction", "1.5"]);
    assert!(err.contains("--test-fraction"), "{err}");
    let err = train_error(&["--ratings", p(&good), "--hidden", "0"]);
    assert!(err.contains("--hidden"), "{err}");
    let err = failure_line(&ebm(&["cf", "eval", p(&bad), "--ratings", p(&good)]));
    assert!(err.contains("bad.data"), "{err}");
    let err = train_error(&["--dataset", "ml-100k", "--data", p(&dir)]);
    assert!(err.contains("u1.base"), "{err}");
}

#[test]
fn failed_run_keeps_the_model_and_threads_do_not_matter() {
    let dir = temp_dir("keep");
    let one = dir.join("one.ebm");
    let two = dir.join("two.ebm");
    last_json(&train(&dir, "tab", &one, &["--threads", "1"]));
    last_json(&train(&dir, "tab", &two, &["--threads", "2"]));
    let bytes = std::fs::read(&one).unwrap();
    assert_eq!(
        bytes,
        std::fs::read(&two).unwrap(),
        "1 and 2 threads differ"
    );
    // A learning rate this large overflows the weights: exit 1, the old model intact.
    let out = train(&dir, "tab", &one, &["--lr", "1e30", "--momentum", "0"]);
    assert!(error_line(&out, 1).contains("diverged"));
    assert_eq!(std::fs::read(&one).unwrap(), bytes);
}

/// MovieLens 100k fold u1 with half the default schedule (25 epochs, about 3 s): the
/// model must beat scikit-surprise's SVD on this fold. SVD is not seeded; two runs of
/// benches/surprise_cf.py gave 0.9528 and 0.9487 on u1, and we take the lower. The
/// model gives 0.9284 (0.9443 after 15 epochs), so the margin is 0.02.
#[test]
fn movielens_100k_u1_beats_svd() {
    let Some(root) = data_root("ml-100k") else {
        return;
    };
    let tmp = temp_dir("ml100k");
    let model = tmp.join("u1.ebm");
    let u1 = [
        "cf",
        "train",
        "--dataset",
        "ml-100k",
        "--fold",
        "u1",
        "--data",
        p(&root),
    ];
    let m = last_json(&ebm_train(
        &[&u1[..], &["--epochs", "25", "--threads", "2"]].concat(),
        &model,
    ));
    let rmse = m["rmse"].as_f64().unwrap();
    assert!(rmse < 0.9487, "u1 RMSE {rmse}");
    assert_eq!(m["n_ratings"], 80_000);
}

/// Half-star ratings (ratings.csv of the newer MovieLens releases): the levels come from
/// the data, and predictions stay within them.
#[test]
fn half_star_levels_come_from_the_data() {
    let dir = temp_dir("half");
    let mut text = String::from("userId,movieId,rating,timestamp\n");
    for (n, (u, i, r)) in taste_groups().into_iter().enumerate() {
        let value = if n % 3 == 0 { r as f32 - 0.5 } else { r as f32 };
        text.push_str(&format!("{u},{i},{value},1\n"));
    }
    let path = file_in(&dir, "ratings.csv", text);
    let model = dir.join("half.ebm");
    let source = [
        "--ratings",
        p(&path),
        "--test-fraction",
        "0.2",
        "--seed",
        "3",
    ];
    let m = last_json(&train_on(&source, &model, &[]));
    // Levels 1..5 and 0.5..4.5: 0.5, 1, 1.5, 2, 3.5, 4, 4.5, 5 (ratings 1-2 and 4-5 only).
    assert_eq!(m["n_levels"], 8, "{m}");
    assert!(m["rmse"].as_f64().unwrap() < 1.0, "{m}");
    // eval with the same --test-fraction and --seed sees the same held-out ratings.
    let e = eval_on(&model, &source, &[]);
    assert_eq!(e["rmse"], m["rmse"]);
    assert_eq!(e["n_test"], m["n_test"]);
}

#[test]
fn train_logs_the_train_and_held_out_rmse_of_every_epoch() {
    let dir = temp_dir("cf-log");
    let (model, log) = (dir.join("m.ebm"), dir.join("cf.jsonl"));
    let metrics = last_json(&train(&dir, "tab", &model, &["--log", p(&log)]));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 20, "one line per epoch");
    assert_eq!(lines[19]["epoch"], 20);
    // The default schedule 1,3,5 over the 20 epochs.
    let steps: Vec<f64> = lines
        .iter()
        .map(|l| l["cd_steps"].as_f64().unwrap())
        .collect();
    assert_eq!((steps[0], steps[7], steps[14]), (1.0, 3.0, 5.0));
    // The last epoch's held-out RMSE is the one the run reports.
    assert_eq!(lines[19]["held_out_rmse"], metrics["rmse"]);
    assert_eq!(lines[19]["train_rmse"], metrics["recon_rmse"]);
}
