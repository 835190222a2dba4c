//! `ebm energy train|eval|sample`: a neural energy trained on a built-in 2-D density and
//! on a CSV of points, evaluated exactly by quadrature, sampled by Langevin dynamics; bad
//! flags and files are one-line errors.

use crate::common::{ebm_json, ebm_ok, ebm_words, error_line, file_in, last_json, p, temp_dir};

#[test]
fn a_2d_energy_trains_evaluates_by_quadrature_and_samples() {
    let dir = temp_dir("energy");
    let model = dir.join("mog8.ebm");
    let train = "energy train --dataset mog8 --points 8000 --method dsm --hidden 32,32 --lr 5e-3 --epochs 10 --quiet --json --out";
    let trained = last_json(&ebm_ok(train, &[p(&model)]));
    assert_eq!(
        (trained["dim"].as_u64(), trained["examples"].as_u64()),
        (Some(2), Some(8000))
    );
    let eval = ebm_json(&[
        "energy",
        "eval",
        p(&model),
        "--dataset",
        "mog8",
        "--points",
        "2000",
        "--quadrature",
        "--grid",
        "200",
        "--json",
    ]);
    let (model_nll, true_nll) = (
        eval["test_nll"].as_f64().unwrap(),
        eval["true_nll"].as_f64().unwrap(),
    );
    // An exact NLL of a normalized density on the box is at least the true density's up
    // to sampling noise of 2,000 test points (a few hundredths of a nat) and the grid's
    // error; a briefly trained model is within a nat of it, far below the uniform
    // density on the box (ln 49 = 3.89 nats).
    assert!(
        model_nll > true_nll - 0.1 && model_nll < true_nll + 1.0,
        "{eval}"
    );
    assert!(model_nll < 49f64.ln(), "{eval}");
    // --log: one JSON line per epoch with the training loss and the exact held-out NLL;
    // logging does not change the model.
    let logged = dir.join("logged.ebm");
    let log = dir.join("train.jsonl");
    let words = format!("{train} {} --log {}", p(&logged), p(&log));
    ebm_ok(&words, &[]);
    assert_eq!(
        std::fs::read(&logged).unwrap(),
        std::fs::read(&model).unwrap()
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    assert!(
        lines
            .iter()
            .all(|l| l["train_loss"].is_f64() && l["held_out_nll"].is_f64())
    );
    let png = dir.join("s.png");
    let table = dir.join("s.csv");
    let words = format!(
        "energy sample {} --chains 500 --steps 100 --bound 3.5 --json --png {} --out",
        p(&model),
        p(&png)
    );
    let sampled = last_json(&ebm_ok(&words, &[p(&table)]));
    assert!(sampled["share_in_box"].as_f64().unwrap() > 0.9, "{sampled}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    let rows = std::fs::read_to_string(&table).unwrap();
    assert_eq!(rows.lines().count(), 501, "a header and one line per chain");
}

/// `dir/points.csv`: `rows` points on two clusters, around `(1, 1, 0)` and `(-1, -1, 0)`
/// (the first `dims` coordinates, 2 or 3), as CSV with a header.
fn clusters_csv(dir: &std::path::Path, rows: usize, dims: usize) -> std::path::PathBuf {
    let mut text = ["x,y\n", "x,y,z\n"][dims - 2].to_string();
    for k in 0..rows {
        let s = if k % 2 == 0 { 1.0 } else { -1.0 };
        let wobble = ((k * 37) % 11) as f32 / 20.0 - 0.25;
        let point = [s + wobble, s - wobble, 0.5 * wobble].map(|v| v.to_string());
        text.push_str(&point[..dims].join(","));
        text.push('\n');
    }
    file_in(dir, "points.csv", text)
}

/// `energy train FLAG points FLAGS --batch 50` into `model`: its JSON result.
fn train_on_file(
    flag: &str,
    points: &std::path::Path,
    flags: &str,
    model: &std::path::Path,
) -> serde_json::Value {
    let words = format!(
        "energy train {flag} {} {flags} --batch 50 --quiet --json --out",
        p(points)
    );
    last_json(&ebm_ok(&words, &[p(model)]))
}

#[test]
fn a_csv_of_points_trains_and_bad_input_is_refused() {
    let dir = temp_dir("energy-file");
    let points = clusters_csv(&dir, 400, 3);
    let model = dir.join("m.ebm");
    let flags = "--method ssm-vr --hidden 16 --epochs 3";
    let trained = train_on_file("--file", &points, flags, &model);
    assert_eq!(trained["dim"].as_u64(), Some(3));
    let eval = ebm_json(&["energy", "eval", p(&model), "--file", p(&points), "--json"]);
    assert!(eval["mean_energy"].as_f64().unwrap().is_finite(), "{eval}");
    for (words, says) in [
        (
            format!(
                "energy eval {} --file {} --quadrature",
                p(&model),
                p(&points)
            ),
            "2-D",
        ),
        (
            format!("energy eval {} --dataset rings", p(&model)),
            "3 inputs",
        ),
        (
            "energy train --dataset moons --out x.ebm".to_string(),
            "moons",
        ),
        (
            "energy train --dataset rings --hidden 8,0 --out x.ebm".to_string(),
            "--hidden",
        ),
        (
            "energy train --dataset rings --method dsm --noise-std=-1 --out x.ebm".to_string(),
            "--noise-std",
        ),
        ("energy train --out x.ebm".to_string(), "--dataset"),
    ] {
        let line = error_line(&ebm_words(&words, &[]), 2);
        assert!(line.contains(says), "{words}: {line}");
    }
}

#[test]
fn train_and_test_files_take_their_issue_names_and_draw_the_density() {
    let dir = temp_dir("energy-train-test");
    let points = clusters_csv(&dir, 300, 2);
    let model = dir.join("m.ebm");
    let trained = train_on_file("--train", &points, "--hidden 8 --epochs 2", &model);
    assert_eq!(trained["examples"].as_u64(), Some(300), "{trained}");
    let png = dir.join("density.png");
    let words = format!(
        "energy eval {} --test {} --quadrature --grid 50 --json --beside {} --png",
        p(&model),
        p(&points),
        p(&model)
    );
    let eval = last_json(&ebm_ok(&words, &[p(&png)]));
    // Two panels (the model twice, no truth without --dataset); the test NLL is finite.
    assert_eq!(eval["panels"].as_u64(), Some(2), "{eval}");
    assert!(eval["test_nll"].as_f64().unwrap().is_finite(), "{eval}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    // With --dataset the truth is drawn beside the model.
    let words = format!(
        "energy eval {} --dataset rings --points 500 --quadrature --grid 50 --json --png",
        p(&model)
    );
    let eval = last_json(&ebm_ok(&words, &[p(&png)]));
    assert_eq!(eval["panels"].as_u64(), Some(2), "{eval}");
    // A missing or malformed file is a one-line error naming it, exit code 2.
    let missing = dir.join("missing.csv");
    let malformed = file_in(&dir, "bad.csv", "x,y\n1,2\n3,oops\n");
    for file in [&missing, &malformed] {
        for words in [
            format!("energy train --train {} --out {}", p(file), p(&model)),
            format!("energy eval {} --test {}", p(&model), p(file)),
        ] {
            let line = error_line(&ebm_words(&words, &[]), 2);
            assert!(line.contains(p(file)), "{words}: {line}");
        }
    }
    // --train and --dataset exclude each other; --png needs --quadrature.
    for words in [
        format!(
            "energy train --train {} --dataset rings --out x.ebm",
            p(&points)
        ),
        format!(
            "energy eval {} --test {} --png x.png",
            p(&model),
            p(&points)
        ),
    ] {
        let out = ebm_words(&words, &[]);
        assert_eq!(out.status.code(), Some(2), "{words}");
    }
}

/// The sampler, noise and optimizer settings of the 2-D table: tempered persistent chains
/// (`--replicas`, `--max-temperature-ratio`, `--reinit`), Metropolis-adjusted negatives
/// (`--mala`), a falling and an antithetic denoising noise (`--final-noise-std`,
/// `--antithetic`), the moving average and the schedule (`--ema`, `--lr-schedule`) train;
/// each refuses a method it is not for, or a bad value, with a one-line error naming the
/// flag, exit code 2.
#[test]
fn sampler_noise_and_optimizer_settings_train_and_are_checked() {
    let dir = temp_dir("energy_settings");
    let model = dir.join("m.ebm");
    let base = "energy train --dataset rings --points 600 --hidden 8 --epochs 2 --quiet --json";
    for settings in [
        "--method pcd --buffer 256 --replicas 3 --max-temperature-ratio 5 --reinit 0.2",
        "--method dsm --noise-std 0.2 --final-noise-std 0.05 --antithetic",
        "--method pcd --buffer 256 --mala --step-size 0.05",
        "--method ssm-vr --ema 0.9 --lr-schedule cosine",
    ] {
        let trained = last_json(&ebm_ok(&format!("{base} {settings} --out"), &[p(&model)]));
        assert_eq!(trained["examples"].as_u64(), Some(600), "{settings}");
    }
    for (settings, flag) in [
        ("--method dsm --replicas 3", "--replicas"),
        (
            "--method pcd --replicas 3 --max-temperature-ratio 0.5",
            "--max-temperature-ratio",
        ),
        ("--method pcd --reinit 1.5", "--reinit"),
        ("--method ssm --final-noise-std 0.05", "--final-noise-std"),
        ("--method cd --antithetic", "--antithetic"),
        ("--method dsm --mala", "--mala"),
        ("--method pcd --buffer 256 --replicas 3 --mala", "--mala"),
        ("--method dsm --ema 1", "--ema"),
        ("--method dsm --lr-schedule steep", "--lr-schedule"),
    ] {
        let words = format!("{base} {settings} --out {}", p(&model));
        let line = error_line(&ebm_words(&words, &[]), 2);
        assert!(line.contains(flag), "{settings}: {line}");
    }
}
