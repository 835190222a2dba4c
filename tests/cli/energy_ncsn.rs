//! `ebm energy` with a noise-conditional model (train --method ncsn, annealed Langevin
//! samples) and `eval --ais-runs` (ln Z by AIS in any dimension, checked against the
//! quadrature of a 2-D model); bad settings are one-line errors naming the flag.

use crate::common::{ebm_json, ebm_ok, ebm_words, error_line, file_in, last_json, p, temp_dir};

#[test]
fn a_noise_conditional_model_trains_samples_and_its_ais_agrees_with_quadrature() {
    let model = temp_dir("energy-ncsn").join("ncsn.ebm");
    let dir = model.parent().unwrap().to_path_buf();
    let ladder = "--method ncsn --sigma-min 0.05 --levels 8";
    let words = format!(
        "energy train --dataset mog8 --points 4000 {ladder} --hidden 32,32 --lr 5e-3 --epochs 8 --quiet --json --out {}",
        p(&model)
    );
    let trained = last_json(&ebm_ok(&words, &[]));
    assert_eq!(trained["levels"].as_u64(), Some(8), "{trained}");
    // The default top of the ladder is the largest distance between training points
    // (about the circle's diameter, 4 plus the components' spread).
    let top = trained["sigma_max"].as_f64().unwrap();
    assert!(top > 4.0 && top < 7.0, "{trained}");
    let (png, table) = (dir.join("s.png"), dir.join("s.csv"));
    let flags = "--chains 400 --steps-per-level 30 --step-epsilon 1e-3 --denoise --bound 3.5";
    let words = format!(
        "energy sample {} {flags} --json --out {} --png {}",
        p(&model),
        p(&table),
        p(&png)
    );
    let sampled = last_json(&ebm_ok(&words, &[]));
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
    let picture = std::fs::read(&png).unwrap();
    assert!(picture.starts_with(b"\x89PNG") && sampled["share_in_box"].as_f64() > Some(0.9));
    // ln Z by AIS (50 runs, 1,000 temperatures) and by quadrature over a box wide enough
    // to hold the model's mass agree within 0.1 nats.
    let flags = [
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
        "--json",
    ];
    let eval = |threads: &str| {
        ebm_json(
            &[
                &["energy", "eval", p(&model), "--threads", threads][..],
                &flags,
            ]
            .concat(),
        )
    };
    let one = eval("1");
    let (quadrature, ais) = (
        one["test_nll"].as_f64().unwrap(),
        one["ais_test_nll"].as_f64().unwrap(),
    );
    assert!((quadrature - ais).abs() < 0.1, "{one}");
    assert!(one["ln_z_std"].as_f64().unwrap() < 0.1, "{one}");
    assert_eq!(one["ln_z"], eval("2")["ln_z"], "--threads changes nothing");
    // Each level's denoising loss E |sigma s + z|^2 / D, largest level first: a zero score
    // gives 1; at the top (sigma about 5, against a spread of about 2) the data hardly
    // matter, so a learned score brings it far below 1.
    let losses = one["level_loss"].as_array().unwrap();
    assert_eq!(losses.len(), 8, "{one}");
    let below = |bar: f64| move |l: &serde_json::Value| l.as_f64().is_some_and(|l| l < bar);
    assert!(
        below(0.5)(&losses[0]) && losses.iter().all(below(1.0)),
        "{one}"
    );
    assert_eq!(one["level_score_ratio"].as_array().unwrap().len(), 8);
}

#[test]
fn ais_evaluates_a_4d_energy_and_bad_settings_are_refused() {
    let dir = temp_dir("energy-ais");
    // A noisy closed curve in 4-D, as CSV with a header.
    let rows: Vec<String> = (0..300)
        .map(|k| {
            let t = k as f32 * 0.1;
            let (a, b, c) = (t.sin(), t.cos(), 0.5 * (2.0 * t).sin());
            format!("{a},{b},{c},{}", (k % 3) as f32 * 0.2)
        })
        .collect();
    let points = file_in(&dir, "curve.csv", format!("a,b,c,d\n{}\n", rows.join("\n")));
    let (model, data) = (dir.join("m.ebm"), p(&points).to_string());
    let words = format!(
        "energy train --file {data} --method dsm --noise-std 0.3 --hidden 16 --epochs 3 --quiet --out {}",
        p(&model)
    );
    ebm_ok(&words, &[]);
    let flags = ["--ais-runs", "20", "--ais-betas", "100", "--json"];
    let eval = ebm_json(&[&["energy", "eval", p(&model), "--file", &data][..], &flags].concat());
    let (nll, ln_z, mean) = (
        eval["test_nll"].as_f64().unwrap(),
        eval["ln_z"].as_f64().unwrap(),
        eval["mean_energy"].as_f64().unwrap(),
    );
    assert!((nll - (mean + ln_z)).abs() < 1e-9, "{eval}");
    assert!(eval["ln_z_std"].as_f64().unwrap().is_finite(), "{eval}");
    let ncsn = dir.join("n.ebm");
    let words = format!(
        "energy train --dataset rings --method ncsn --levels 3 --epochs 1 --points 300 --quiet --out {}",
        p(&ncsn)
    );
    ebm_ok(&words, &[]);
    let model_eval = format!("energy eval {} --file {data}", p(&model));
    let refused = [
        (format!("{model_eval} --ais-runs 1"), "--ais-runs"),
        (
            format!("{model_eval} --ais-runs 5 --ais-step-size 0"),
            "--ais-step-size",
        ),
        (
            "energy train --dataset rings --method ncsn --levels 0".into(),
            "--levels",
        ),
        (
            "energy train --dataset rings --method ncsn --sigma-max 0.5 --sigma-min 1".into(),
            "--sigma-min",
        ),
        (
            format!("energy train --file {data} --method ncsn --hidden 3,16 --out n2.ebm"),
            "--hidden",
        ),
        (
            format!("energy sample {} --step-epsilon=-1 --png n.png", p(&ncsn)),
            "--step-epsilon",
        ),
    ];
    for (words, flag) in refused {
        let line = error_line(&ebm_words(&words, &[]), 2);
        assert!(line.contains(flag), "{words}: {line}");
    }
}
