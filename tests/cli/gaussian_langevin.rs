//! `ebm gaussian-rbm train --method gl-cd` and `sample --sampler gibbs-langevin`: CD from
//! noise with Gibbs-Langevin chains learns two clusters whose samples land on them, and
//! bad flags are refused with a one-line error naming the flag.

use crate::common::{assert_mentions, ebm_ok, ebm_words, failure_line, file_in, p, temp_dir};
use std::path::{Path, PathBuf};

/// Two clusters in 4-D with a deterministic wobble of size 0.3, as CSV.
fn clusters(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for k in 0..400 {
        let row: Vec<String> = CENTRES[k % 2]
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}", c + 0.3 * (((k * 7 + i * 13) % 17) as f64 / 8.0 - 1.0)))
            .collect();
        text.push_str(&(row.join(",") + "\n"));
    }
    file_in(dir, "clusters.csv", text)
}

/// The clusters' centres.
const CENTRES: [[f64; 4]; 2] = [[1.5, -1.0, 0.5, 2.0], [-1.5, 1.0, 2.0, -0.5]];

/// A Gaussian RBM trained by gl-cd on the clusters into `dir/gl.ebm`.
fn trained(dir: &Path, data: &Path) -> PathBuf {
    let model = dir.join("gl.ebm");
    let words = format!(
        "gaussian-rbm train --train {} --hidden 6 --batch 20 --seed 3 --quiet --method gl-cd --k 10 --epochs 30 --lr 0.05 --out",
        p(data)
    );
    ebm_ok(&words, &[p(&model)]);
    model
}

#[test]
fn gibbs_langevin_samples_of_a_gl_cd_model_land_on_the_clusters() {
    let dir = temp_dir("gaussian-gl");
    let data = clusters(&dir);
    let model = trained(&dir, &data);
    let out = dir.join("samples.csv");
    let png = dir.join("s.png");
    let words =
        "gaussian-rbm sample --sampler gibbs-langevin --chains 50 --steps 50 --seed 2 --json";
    let run = ebm_ok(words, &[p(&model), "--png", p(&png), "--out", p(&out)]);
    let json = crate::common::last_json(&run);
    let acceptance = json["acceptance_rate"].as_f64().unwrap();
    assert!(acceptance > 0.0 && acceptance <= 1.0, "{json}");
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 50);
    // Samples (conditional means) within distance 1 of a centre, where the clusters lie
    // 4.9 apart and noise starts ~2.5 from either: most of them, and both clusters.
    let nearest = |r: &Vec<f64>| -> (usize, f64) {
        let d = |c: &[f64; 4]| {
            r.iter()
                .zip(c)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        if d(&CENTRES[0]) < d(&CENTRES[1]) {
            (0, d(&CENTRES[0]))
        } else {
            (1, d(&CENTRES[1]))
        }
    };
    let close: Vec<usize> = rows
        .iter()
        .map(nearest)
        .filter(|(_, d)| *d < 1.0)
        .map(|(c, _)| c)
        .collect();
    assert!(
        close.len() >= 40,
        "{} of 50 samples near a centre",
        close.len()
    );
    assert!(
        close.contains(&0) && close.contains(&1),
        "one cluster only: {close:?}"
    );
}

#[test]
fn bad_gibbs_langevin_flags_name_the_flag() {
    let dir = temp_dir("gaussian-gl-flags");
    let data = clusters(&dir);
    let train = |extra: &str| {
        let words = format!(
            "gaussian-rbm train --train {} --method gl-cd --epochs 1 {extra}",
            p(&data)
        );
        failure_line(&ebm_words(&words, &["--out", p(&dir.join("x.ebm"))]))
    };
    assert_mentions(&train("--step-size 2.5"), &["--step-size", "(0, 2)"]);
    assert_mentions(&train("--langevin-steps 0"), &["--langevin-steps"]);
    assert_mentions(&train("--clip-norm=-1"), &["--clip-norm", "positive"]);
    assert_mentions(
        &train("--lr-schedule sideways"),
        &["--lr-schedule", "sideways", "cosine"],
    );
    let model = trained(&dir, &data);
    let png = dir.join("s.png");
    let sample = |extra: &str| {
        let words =
            format!("gaussian-rbm sample --sampler gibbs-langevin --chains 4 --steps 3 {extra}");
        failure_line(&ebm_words(&words, &[p(&model), "--png", p(&png)]))
    };
    assert_mentions(&sample("--step-size 3"), &["--step-size", "(0, 2)"]);
    assert_mentions(&sample("--langevin-steps 0"), &["--langevin-steps"]);
    let table = dir.join("s.txt");
    assert_mentions(
        &sample(&format!("--out {}", p(&table))),
        &["--out", ".npy or .csv"],
    );
    // A classifier that is not a class RBM: the error names the file and its kind.
    assert_mentions(
        &sample(&format!("--classifier {}", p(&model))),
        &["gl.ebm", "gaussian-rbm"],
    );
}
