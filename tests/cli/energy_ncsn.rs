//! `ebm energy` with a noise-conditional model (train --method ncsn, annealed Langevin
//! samples) and `eval --ais-runs` (ln Z by AIS in any dimension, checked against the
//! quadrature of a 2-D model); bad settings are one-line errors naming the flag.

use crate::common::{ebm_json, ebm_ok, ebm_words, error_line, file_in, last_json, p, temp_dir};

#[test]
fn a_noise_conditional_model_trains_samples_and_its_ais_agrees_with_quadrature() {
    let dir = temp_dir("energy-ncsn");
    let model = dir.join("ncsn.ebm");
    let train = "energy train --dataset mog8 --points 4000 --method ncsn --sigma-min 0.05 --levels 8 --hidden 32,32 --lr 5e-3 --epochs 8 --quiet --json --out";
    let trained = last_json(&ebm_ok(train, &[p(&model)]));
    assert_eq!(trained["levels"].as_u64(), Some(8), "{trained}");
    // The default top of the ladder is the largest distance between training points
    // (about the circle's diameter, 4 plus the components' spread).
    let top = trained["sigma_max"].as_f64().unwrap();
    assert!(top > 4.0 && top < 7.0, "{trained}");
    let (png, table) = (dir.join("s.png"), dir.join("s.csv"));
    let words = format!(
        "energy sample {} --chains 400 --steps-per-level 30 --step-epsilon 1e-3 --denoise --bound 3.5 --json --out {} --png",
        p(&model),
        p(&table)
    );
    let sampled = last_json(&ebm_ok(&words, &[p(&png)]));
    assert!(sampled["share_in_box"].as_f64().unwrap() > 0.9, "{sampled}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
    // The annealed samples sit on the circle of radius 2 (the uniform noise they start
    // from has mean radius 2.7 and an RMS distance of 1.2 from it); measured: mean 1.94,
    // RMS distance 0.43.
    let radii: Vec<f64> = std::fs::read_to_string(&table)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let xy: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
            xy[0].hypot(xy[1])
        })
        .collect();
    let mean = radii.iter().sum::<f64>() / radii.len() as f64;
    let spread = (radii.iter().map(|r| (r - 2.0).powi(2)).sum::<f64>() / radii.len() as f64).sqrt();
    assert!((mean - 2.0).abs() < 0.2 && spread < 0.6, "{mean} {spread}");
    // ln Z by AIS (50 runs, 1,000 temperatures) and by quadrature over a box wide enough
    // to hold the model's mass agree within 0.1 nats.
    let eval = |threads: &str| {
        ebm_json(&[
            "energy",
            "eval",
            p(&model),
            "--dataset",
            "mog8",
            "--points",
            "1000",
            "--quadrature",
            "--bound",
            "8",
            "--grid",
            "400",
            "--ais-runs",
            "50",
            "--ais-betas",
            "1000",
            "--threads",
            threads,
            "--json",
        ])
    };
    let one = eval("1");
    let (quadrature, ais) = (
        one["test_nll"].as_f64().unwrap(),
        one["ais_test_nll"].as_f64().unwrap(),
    );
    assert!((quadrature - ais).abs() < 0.1, "{one}");
    assert!(one["ln_z_std"].as_f64().unwrap() < 0.1, "{one}");
    assert_eq!(one["ln_z"], eval("2")["ln_z"], "--threads changes nothing");
}

#[test]
fn ais_evaluates_a_3d_energy_and_bad_settings_are_refused() {
    let dir = temp_dir("energy-ais");
    let mut text = String::from("x,y,z\n");
    for k in 0..300 {
        let s = if k % 2 == 0 { 1.0 } else { -1.0 };
        let wobble = ((k * 37) % 11) as f32 / 20.0 - 0.25;
        text.push_str(&format!("{},{},{}\n", s + wobble, s - wobble, 0.5 * wobble));
    }
    let points = file_in(&dir, "points.csv", text);
    let model = dir.join("m.ebm");
    let train = format!(
        "energy train --file {} --method dsm --noise-std 0.3 --hidden 16 --epochs 3 --batch 50 --quiet --json --out",
        p(&points)
    );
    ebm_ok(&train, &[p(&model)]);
    let eval = ebm_json(&[
        "energy",
        "eval",
        p(&model),
        "--file",
        p(&points),
        "--ais-runs",
        "20",
        "--ais-betas",
        "100",
        "--json",
    ]);
    let (nll, ln_z, mean) = (
        eval["test_nll"].as_f64().unwrap(),
        eval["ln_z"].as_f64().unwrap(),
        eval["mean_energy"].as_f64().unwrap(),
    );
    assert!(
        (nll - (mean + ln_z)).abs() < 1e-9 && eval["ln_z_std"].is_f64(),
        "{eval}"
    );
    let ncsn = format!(
        "energy train --dataset rings --method ncsn --levels 3 --epochs 1 --points 300 --quiet --out {}",
        p(&dir.join("n.ebm"))
    );
    ebm_ok(&ncsn, &[]);
    for (words, says) in [
        (
            format!(
                "energy eval {} --file {} --ais-runs 1",
                p(&model),
                p(&points)
            ),
            "--ais-runs",
        ),
        (
            format!(
                "energy eval {} --file {} --ais-runs 5 --ais-step-size 0",
                p(&model),
                p(&points)
            ),
            "--ais-step-size",
        ),
        (
            "energy train --dataset rings --method ncsn --levels 0 --out x.ebm".to_string(),
            "--levels",
        ),
        (
            "energy train --dataset rings --method ncsn --sigma-max 0.5 --sigma-min 1 --out x.ebm"
                .to_string(),
            "--sigma-min",
        ),
        (
            format!(
                "energy sample {} --step-epsilon=-1 --png {}",
                p(&dir.join("n.ebm")),
                p(&dir.join("n.png"))
            ),
            "--step-epsilon",
        ),
    ] {
        let line = error_line(&ebm_words(&words, &[]), 2);
        assert!(line.contains(says), "{words}: {line}");
    }
}
