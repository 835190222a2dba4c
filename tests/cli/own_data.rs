//! Issue 18: the RBM commands on the user's own files: train and evaluate on a CSV,
//! transform examples into hidden-unit features, score them; malformed files and bad
//! outputs are one-line errors naming the file or flag.

use crate::common::{
    assert_mentions, ebm_json, ebm_ok, ebm_words, error_line, file_in, p, temp_dir,
};
use std::path::{Path, PathBuf};

/// Bars and stripes of 3x3 pixels as a CSV of grey levels 0..255 with a `kind` column
/// (0 bars, 1 stripes), in `dir/name`.
fn bars_csv(dir: &Path, name: &str) -> PathBuf {
    let mut text = String::from("a,b,c,d,e,f,g,h,i,kind\n");
    for pattern in 1..7u32 {
        // Bars: the columns in `pattern` are on; stripes: the rows.
        for kind in 0..2u32 {
            let pixels: Vec<&str> = (0..9u32)
                .map(|k| [k % 3, k / 3][kind as usize])
                .map(|line| if pattern >> line & 1 == 1 { "255" } else { "0" })
                .collect();
            text.push_str(&format!("{},{kind}\n", pixels.join(",")));
        }
    }
    file_in(dir, name, text)
}

#[test]
fn a_csv_trains_evaluates_transforms_and_scores() {
    let dir = temp_dir("own-csv");
    let data = bars_csv(&dir, "bars.csv");
    let model = dir.join("m.ebm");
    let read = ["--label-column", "kind"];
    let trained = ebm_json(
        &[
            &[
                "rbm",
                "train",
                "--train",
                p(&data),
                "--hidden",
                "6",
                "--epochs",
                "50",
            ][..],
            &[
                "--batch",
                "4",
                "--lr",
                "0.1",
                "--out",
                p(&model),
                "--json",
                "--quiet",
            ],
            &read,
        ]
        .concat(),
    );
    assert_eq!(trained["n_visible"], 9, "the label column is not a feature");
    let eval = |how: &[&str]| {
        let files = ["--train", p(&data), "--test", p(&data)];
        ebm_json(
            &[
                &["rbm", "eval", p(&model), "--json"][..],
                &files,
                &read,
                how,
            ]
            .concat(),
        )
    };
    // 6 hidden units: log Z exactly; AIS agrees with it.
    let exact = eval(&["--exact"]);
    let ais = eval(&["--ais-runs", "50", "--ais-betas", "2000"]);
    let (exact_ll, ais_ll) = (
        exact["test_ll"].as_f64().unwrap(),
        ais["test_ll"].as_f64().unwrap(),
    );
    assert!(
        exact_ll < 0.0 && (exact_ll - ais_ll).abs() < 0.1,
        "{exact_ll} vs {ais_ll}"
    );
    // Features: 12 examples x 6 hidden probabilities, as .npy and as .csv.
    let npy = dir.join("f.npy");
    let csv = dir.join("f.csv");
    for out in [&npy, &csv] {
        let args = [
            &["rbm", "transform", p(&model), "--input", p(&data)][..],
            &read,
        ];
        let done = ebm_json(&[&args.concat()[..], &["--out", p(out), "--json"]].concat());
        assert_eq!(
            (done["examples"].as_u64(), done["columns"].as_u64()),
            (Some(12), Some(6))
        );
    }
    let features = ebm::data::npy::read(&npy).unwrap();
    assert_eq!((features.n_examples, features.n_features), (12, 6));
    assert!(features.features.iter().all(|&x| (0.0..=1.0).contains(&x)));
    let table = std::fs::read_to_string(&csv).unwrap();
    assert!(table.starts_with("hidden0,hidden1,"), "{table}");
    assert_eq!(table.lines().count(), 13);
    // Scores: the mean of the per-example log-likelihoods is the reported mean.
    let scores = dir.join("s.csv");
    let args = [
        &["rbm", "score", p(&model), "--input", p(&data), "--exact"][..],
        &read,
    ];
    let done = ebm_json(&[&args.concat()[..], &["--out", p(&scores), "--json"]].concat());
    let text = std::fs::read_to_string(&scores).unwrap();
    let lls: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    let mean = lls.iter().sum::<f64>() / lls.len() as f64;
    assert!((mean - done["mean_log_likelihood"].as_f64().unwrap()).abs() < 1e-4);
    assert!(text.starts_with("free_energy,log_likelihood\n"));
}

#[test]
fn bad_files_and_outputs_are_one_line_errors() {
    let dir = temp_dir("own-bad");
    let data = bars_csv(&dir, "bars.csv");
    let ragged = file_in(&dir, "ragged.csv", "1,0,1\n0,1\n");
    let negative = file_in(&dir, "neg.csv", "1,-3\n0,1\n");
    for (args, says) in [
        (
            format!("rbm train --train {} --epochs 1", p(&ragged)),
            "ragged.csv",
        ),
        (
            format!("rbm train --train {} --epochs 1", p(&negative)),
            "neg.csv",
        ),
        (
            format!(
                "rbm train --train {} --label-column nope --epochs 1",
                p(&data)
            ),
            "nope",
        ),
        (
            format!("rbm train --test {} --epochs 1", p(&data)),
            "--train",
        ),
        (
            format!("rbm train --train {} --format npy --epochs 1", p(&data)),
            "bars.csv",
        ),
    ] {
        let out = ebm_words(&args, &["--out", p(&dir.join("m.ebm"))]);
        let line = error_line(&out, 2);
        assert!(line.contains(says), "{args}: {line}");
    }
    assert!(!dir.join("m.ebm").exists());
    let model = dir.join("ok.ebm");
    let train = format!(
        "rbm train --train {} --label-column kind --hidden 3 --epochs 1 --quiet --out",
        p(&data)
    );
    assert!(ebm_words(&train, &[p(&model)]).status.success());
    let transform = format!(
        "rbm transform {} --input {} --label-column kind --out",
        p(&model),
        p(&data)
    );
    let line = error_line(&ebm_words(&transform, &[p(&dir.join("f.txt"))]), 2);
    assert_mentions(&line, &["--out", ".npy or .csv"]);
    // A file of other width than the model: the model and the counts are named.
    let wide = file_in(&dir, "wide.csv", "1,0,1,0\n0,1,0,1\n");
    let transform = format!("rbm transform {} --input {} --out", p(&model), p(&wide));
    let line = error_line(&ebm_words(&transform, &[p(&dir.join("f.npy"))]), 2);
    let names_both = line.contains("ok.ebm") && line.contains("9 visible");
    assert!(names_both, "{line}");
}

#[test]
fn class_and_gaussian_rbms_train_on_a_csv() {
    let dir = temp_dir("own-class");
    // Class 0 lights the left pixels, class 1 the right ones, with one pixel flipped.
    let mut text = String::from("a,b,c,d,e,f,kind\n");
    for flip in 0..6 {
        for kind in 0..2 {
            let pixels: Vec<String> = (0..6)
                .map(|k| u8::from((k < 3) == (kind == 0)) ^ u8::from(k == flip))
                .map(|on| (on * 255).to_string())
                .collect();
            text.push_str(&format!("{},{kind}\n", pixels.join(",")));
        }
    }
    let data = file_in(&dir, "sides.csv", text);
    let files = format!("--train {0} --test {0} --label-column kind", p(&data));
    let model = dir.join("c.ebm");
    let train =
        format!("class-rbm train {files} --hidden 8 --epochs 30 --batch 4 --json --quiet --out");
    let trained = ebm_words(&train, &[p(&model)]);
    assert!(
        trained.status.success(),
        "{}",
        String::from_utf8_lossy(&trained.stderr)
    );
    let eval = ebm_json(
        &[
            &["class-rbm", "eval", p(&model), "--json"][..],
            &files.split(' ').collect::<Vec<_>>(),
        ]
        .concat(),
    );
    // The two sides are linearly separable: the training set is learned.
    assert!(eval["test_error"].as_f64().unwrap() < 0.2, "{eval}");
    let gaussian = dir.join("g.ebm");
    let train = format!("gaussian-rbm train {files} --hidden 4 --epochs 5 --batch 4 --quiet --out");
    assert!(ebm_words(&train, &[p(&gaussian)]).status.success());
    // A classifier of another width than the sampled model is refused, naming both.
    let narrow = file_in(&dir, "narrow.csv", "a,b,c\n0,1,2\n2,1,0\n1,1,1\n");
    let narrow_model = dir.join("narrow.ebm");
    let train = format!(
        "gaussian-rbm train --train {} --hidden 2 --epochs 1 --quiet --out",
        p(&narrow)
    );
    assert!(ebm_words(&train, &[p(&narrow_model)]).status.success());
    let sample = format!(
        "gaussian-rbm sample {} --chains 2 --steps 1 --png",
        p(&narrow_model)
    );
    let png = dir.join("narrow.png");
    let line = error_line(
        &ebm_words(&sample, &[p(&png), "--classifier", p(&model)]),
        2,
    );
    assert!(
        line.contains("--classifier") && line.contains("6 values") && line.contains("has 3"),
        "{line}"
    );
    // Without labels the class RBM says what it needs.
    let unlabelled = format!("class-rbm train --train {} --epochs 1 --out", p(&data));
    let line = error_line(&ebm_words(&unlabelled, &[p(&dir.join("x.ebm"))]), 2);
    assert!(line.contains("label"), "{line}");
}

/// Rows of a CSV of three classes over six real-valued features (class k is high on
/// features 2k and 2k+1, with a deterministic wobble), with a `kind` column.
fn three_classes_csv(dir: &Path, name: &str, offset: f32) -> PathBuf {
    let mut text = String::from("a,b,c,d,e,f,kind\n");
    for row in 0..30 {
        let kind = row % 3;
        let values: Vec<String> = (0..6)
            .map(|k| {
                let high = k / 2 == kind;
                let wobble = ((row * 7 + k * 3) % 5) as f32 / 10.0;
                format!("{}", offset + if high { 3.0 } else { 0.5 } + wobble)
            })
            .collect();
        text.push_str(&format!("{},{kind}\n", values.join(",")));
    }
    file_in(dir, name, text)
}

#[test]
fn class_rbm_predicts_and_gaussian_rbm_transforms_a_file() {
    let dir = temp_dir("own-predict");
    // Values up to 3.4: scaled into [0, 1] by the file's largest value (the same file
    // in training and prediction, so the same scale).
    let data = three_classes_csv(&dir, "three.csv", 0.0);
    let files = format!("--train {0} --test {0} --label-column kind", p(&data));
    let model = dir.join("c.ebm");
    let train = format!("class-rbm train {files} --hidden 8 --epochs 40 --batch 5 --quiet --out");
    ebm_ok(&train, &[p(&model)]);
    let probs = dir.join("probs.csv");
    let predict = format!(
        "class-rbm predict {} --input {} --label-column kind --json --out",
        p(&model),
        p(&data)
    );
    let out = ebm_ok(&predict, &[p(&probs)]);
    let reported = crate::common::last_json(&out);
    assert_eq!(reported["columns"], 3, "three labels make three classes");
    let text = std::fs::read_to_string(&probs).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("class0,class1,class2"));
    let mut wrong = 0;
    for (row, line) in lines.enumerate() {
        let p: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        // float32 probabilities: each row sums to 1 within a few ulps of 1.
        assert!(
            (p.iter().sum::<f64>() - 1.0).abs() < 1e-5,
            "row {row}: {line}"
        );
        let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        wrong += usize::from(best != row % 3);
    }
    // The reported error rate is the error of the written probabilities' argmax.
    assert_eq!(
        reported["error_rate"].as_f64().unwrap(),
        wrong as f64 / 30.0
    );
    assert!(
        wrong <= 3,
        "three separable classes are learned: {wrong} wrong"
    );
    // At temperature 2 the probabilities are flatter, still sum to 1, same argmax.
    let hot = dir.join("hot.csv");
    let out = ebm_ok(&predict, &[p(&hot), "--temperature", "2"]);
    assert_eq!(
        crate::common::last_json(&out)["error_rate"],
        reported["error_rate"]
    );
    let rows = |path: &Path| -> Vec<Vec<f64>> {
        let text = std::fs::read_to_string(path).unwrap();
        let lines = text.lines().skip(1);
        lines
            .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
            .collect()
    };
    for (cold, hot) in rows(&probs).iter().zip(rows(&hot)) {
        let max = |r: &[f64]| r.iter().cloned().fold(0.0, f64::max);
        assert!((hot.iter().sum::<f64>() - 1.0).abs() < 1e-5);
        assert!(max(&hot) <= max(cold) + 1e-6, "{hot:?} vs {cold:?}");
    }
    let zero = ebm_words(&predict, &[p(&hot), "--temperature", "0"]);
    assert!(crate::common::failure_line(&zero).contains("--temperature"));

    // The Gaussian RBM reads real values as they are (negative ones too) and standardizes.
    let real = three_classes_csv(&dir, "real.csv", -2.0);
    let gaussian = dir.join("g.ebm");
    let train = format!(
        "gaussian-rbm train --train {} --label-column kind --hidden 4 --epochs 5 --batch 5 --quiet --out",
        p(&real)
    );
    ebm_ok(&train, &[p(&gaussian)]);
    let features = dir.join("h.npy");
    let transform = format!(
        "gaussian-rbm transform {} --input {} --label-column kind --json --out",
        p(&gaussian),
        p(&real)
    );
    ebm_ok(&transform, &[p(&features)]);
    let bytes = std::fs::read(&features).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY"), "a .npy file");
    assert!(String::from_utf8_lossy(&bytes[..128]).contains("(30, 4)"));
    // A non-finite value, or a file without the label column removed, is refused.
    let nan = file_in(&dir, "nan.csv", "a,b,c,d,e,f\n1,2,3,nan,5,6\n");
    let refused = format!(
        "gaussian-rbm transform {} --input {} --out",
        p(&gaussian),
        p(&nan)
    );
    let line = error_line(&ebm_words(&refused, &[p(&features)]), 2);
    assert!(line.contains("nan.csv"), "{line}");
    let unlabelled = format!(
        "gaussian-rbm transform {} --input {} --out",
        p(&gaussian),
        p(&real)
    );
    let line = error_line(&ebm_words(&unlabelled, &[p(&features)]), 2);
    assert_mentions(&line, &["--label-column", "g.ebm"]);
}

#[test]
fn pictures_take_an_image_shape_and_are_skipped_for_non_images() {
    let dir = temp_dir("own-shape");
    let data = three_classes_csv(&dir, "six.csv", 0.0);
    let model = dir.join("six.ebm");
    let train = format!(
        "rbm train --train {} --label-column kind --hidden 4 --epochs 2 --quiet --out",
        p(&data)
    );
    ebm_ok(&train, &[p(&model)]);
    let png = dir.join("s.png");
    for verb in ["sample", "filters"] {
        // Six inputs are not a square: a note, success, and no picture.
        let skipped = ebm_ok(&format!("rbm {verb} {} --png", p(&model)), &[p(&png)]);
        let note = String::from_utf8_lossy(&skipped.stderr);
        assert_mentions(&note, &["note:", "--image-shape"]);
        assert!(!png.exists(), "{verb} wrote a picture of a non-image");
        // Given as 2x3 it is drawn; 2x2 does not fit and names the flag and the model.
        ebm_ok(
            &format!("rbm {verb} {} --image-shape 2x3 --png", p(&model)),
            &[p(&png)],
        );
        assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
        std::fs::remove_file(&png).unwrap();
        let bad = ebm_words(
            &format!("rbm {verb} {} --image-shape 2x2 --png", p(&model)),
            &[p(&png)],
        );
        let line = error_line(&bad, 2);
        assert_mentions(&line, &["--image-shape", "six.ebm"]);
    }
    let line = error_line(
        &ebm_words(
            &format!("rbm filters {} --image-shape 2by3 --png", p(&model)),
            &[p(&png)],
        ),
        2,
    );
    assert!(line.contains("HEIGHTxWIDTH"), "{line}");
}

#[test]
fn anomaly_runs_on_unlabeled_normal_data_and_a_labeled_test_file() {
    let dir = temp_dir("own-anomaly");
    let all = std::fs::read_to_string(bars_csv(&dir, "bars.csv")).unwrap();
    let rows: Vec<&str> = all.lines().skip(1).collect();
    // Normal data: the bars (kind 0) without the kind column, twice over.
    let bars: Vec<&str> = rows.iter().filter(|r| r.ends_with(",0")).copied().collect();
    let normal: String = [&bars[..], &bars[..]]
        .concat()
        .iter()
        .map(|r| format!("{}\n", r.rsplit_once(',').unwrap().0))
        .collect();
    let normal = file_in(&dir, "normal.csv", normal);
    // Test data: normal, normal, anomalous (stripes), ... so both halves have both kinds.
    let stripes = rows.iter().filter(|r| r.ends_with(",1"));
    let mut test = String::from("a,b,c,d,e,f,g,h,i,kind\n");
    for (k, stripe) in stripes.enumerate() {
        let (first, second) = (bars[k], bars[(k + 1) % bars.len()]);
        test.push_str(&format!("{first}\n{second}\n{stripe}\n"));
    }
    let test = file_in(&dir, "test.csv", test);
    let model = dir.join("normal.ebm");
    let train = "rbm train --hidden 6 --epochs 200 --batch 4 --lr 0.1 --quiet --train";
    ebm_ok(train, &[p(&normal), "--out", p(&model)]);
    let files = format!(
        "--train {} --test {} --test-label-column kind --anomalous-labels 1",
        p(&normal),
        p(&test)
    );
    for score in ["likelihood-ratio", "free-energy"] {
        let words = format!("rbm anomaly {} {files} --score {score} --json", p(&model));
        let out = crate::common::last_json(&ebm_ok(&words, &[]));
        assert_eq!(
            (out["n_normal"].as_u64(), out["n_anomalous"].as_u64()),
            (Some(12), Some(6))
        );
        // Stripes are far from every bar pattern: the scores separate them.
        let auc = out["roc_auc"].as_f64().unwrap();
        assert!(auc > 0.9, "{score}: AUC {auc}");
    }
    // --label-column on both files takes a pixel off the unlabeled normal data: refused.
    let both = format!(
        "rbm anomaly {} --train {} --test {} --label-column kind --anomalous-labels 1",
        p(&model),
        p(&normal),
        p(&test)
    );
    let line = error_line(&ebm_words(&both, &[]), 2);
    assert!(line.contains("kind") || line.contains("features"), "{line}");
}
