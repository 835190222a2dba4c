//! `ebm energy train --net conv`: a convolutional energy on image rows (a CSV of 28x28
//! images, and MNIST when `$EBM_DATA` is set) with every method, sampled as a grid of
//! images and measured by AIS; bad shapes and flags are one-line errors.

use crate::common::{data_root, ebm_ok, ebm_words, error_line, file_in, last_json, p, temp_dir};
use std::path::{Path, PathBuf};

/// 40 rows of 28x28 pixels in [0, 1] as CSV: a bright square at one of four places.
fn image_rows(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for k in 0..40 {
        let (oy, ox) = (14 * ((k / 2) % 2), 14 * (k % 2));
        let row: Vec<String> = (0..784)
            .map(|i| {
                let (y, x) = (i / 28, i % 28);
                let on = (oy..oy + 14).contains(&y) && (ox..ox + 14).contains(&x);
                let wobble = ((i * 7 + k * 13) % 10) as f32 / 100.0;
                format!("{}", if on { 0.9 - wobble } else { wobble })
            })
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    file_in(dir, "images.csv", text)
}

/// Train with `words` (`--out MODEL` last) and check the model's 784 inputs and the
/// examples it saw; the run's metrics.
fn train_784(words: &str, model: &Path, examples: u64) -> serde_json::Value {
    let trained = last_json(&ebm_ok(words, &[p(model)]));
    let seen = (trained["dim"].as_u64(), trained["examples"].as_u64());
    assert_eq!(seen, (Some(784), Some(examples)), "{words}: {trained}");
    trained
}

/// The width and height in a PNG's header.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{}", path.display());
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[test]
fn a_tiny_conv_energy_trains_with_every_method_and_samples_a_grid() {
    let dir = temp_dir("energy-conv");
    let images = image_rows(&dir);
    for method in ["cd", "pcd", "dsm", "ssm", "ssm-vr"] {
        let model = dir.join(format!("{method}.ebm"));
        let words = format!(
            "energy train --file {} --net conv --channels 2,2 --hidden 8 --method {method} --buffer 40 --langevin-steps 3 --step-size 1 --noise-scale 0.005 --epochs 1 --batch 20 --quiet --json --out",
            p(&images)
        );
        train_784(&words, &model, 40);
        let header = std::fs::read(&model).unwrap();
        let kind = b"conv-energy";
        assert!(
            header.windows(kind.len()).take(200).any(|w| w == kind),
            "{method}: the file's header names its kind"
        );
    }
    // Nine samples of the 784-d model are drawn as a grid of 28x28 tiles.
    let png = dir.join("samples.png");
    let words = format!(
        "energy sample {} --chains 9 --steps 3 --step-size 1 --noise-scale 0.005 --bound 1 --json --png",
        p(&dir.join("pcd.ebm"))
    );
    let sampled = last_json(&ebm_ok(&words, &[p(&png)]));
    assert_eq!(sampled["chains"].as_u64(), Some(9), "{sampled}");
    let (width, height) = png_size(&png);
    assert!(width >= 3 * 28 && height >= 3 * 28, "{width}x{height}");
    // AIS measures the conv energy on the images; quadrature is refused with a one-line error.
    let eval = format!(
        "energy eval {} --file {} --ais-runs 4 --ais-betas 10 --json",
        p(&dir.join("pcd.ebm")),
        p(&images)
    );
    let measured = last_json(&ebm_ok(&eval, &[]));
    let (ln_z, nll) = (measured["ln_z"].as_f64(), measured["test_nll"].as_f64());
    assert!(ln_z.is_some_and(f64::is_finite), "{measured}");
    let mean = measured["mean_energy"].as_f64().unwrap();
    assert!(
        (nll.unwrap() - (mean + ln_z.unwrap())).abs() < 1e-6,
        "{measured}"
    );
    let line = error_line(&ebm_words(&format!("{eval} --quadrature"), &[]), 2);
    assert!(line.contains("--quadrature"), "{line}");
}

#[test]
fn conv_shapes_and_flags_are_checked() {
    let dir = temp_dir("energy-conv-errors");
    let images = image_rows(&dir);
    let points = file_in(&dir, "points.csv", "1,2,3\n4,5,6\n");
    let train = "energy train --net conv --epochs 1 --out x.ebm --file";
    for (more, says) in [
        (format!("{} --channels 4,0", p(&images)), "--channels"),
        (format!("{} --channels 2,2,2,2,2", p(&images)), "--channels"),
        (
            format!("{} --image-shape 14x28", p(&images)),
            "--image-shape",
        ),
        (p(&points).to_string(), "square image"),
    ] {
        let line = error_line(&ebm_words(&format!("{train} {more}"), &[]), 2);
        assert!(line.contains(says), "{more}: {line}");
    }
    let words = "energy train --dataset mnist --data /nonexistent/ebm --net conv --out x.ebm";
    let line = error_line(&ebm_words(words, &[]), 2);
    assert!(line.contains("MNIST"), "{line}");
}

/// On the first 64 MNIST images (skipped without `$EBM_DATA`).
#[test]
fn a_conv_energy_trains_on_mnist() {
    if let Some(root) = data_root("mnist") {
        let model = temp_dir("energy-conv-mnist").join("mnist.ebm");
        let words = format!(
            "energy train --dataset mnist --data {} --limit 64 --net conv --channels 2,4 --hidden 8 --method pcd --buffer 64 --langevin-steps 3 --step-size 1 --noise-scale 0.005 --epochs 1 --batch 32 --quiet --json --out",
            p(&root)
        );
        let trained = train_784(&words, &model, 64);
        // Pixels in [0, 1]: the chains start from noise on [-1, 1].
        assert_eq!(trained["noise_range"].as_f64(), Some(1.0), "{trained}");
    }
}
