//! End-to-end tests of the approximate inference methods of `ebm factor infer`, and of
//! `ebm factor sudoku` / `ebm factor color`, on inputs written here and (when `$EBM_DATA`
//! is set) on the reference data.

use crate::common::{data_root, ebm, ebm_json, failure_line, file_in, p, temp_dir};

/// A 3x3 grid of ternary variables with unary and pairwise tables (one forbidden pair).
fn grid_model() -> String {
    let mut scopes = Vec::new();
    let mut tables = Vec::new();
    for v in 0..9usize {
        scopes.push(format!("1 {v}"));
        tables.push(format!(
            "3\n {} {} {}",
            1.0 + (v % 3) as f64 * 0.5,
            2.0 - (v % 2) as f64,
            0.7 + (v % 4) as f64 * 0.3
        ));
        for u in [v + 1, v + 3] {
            if (u == v + 1 && v % 3 == 2) || u >= 9 {
                continue;
            }
            scopes.push(format!("2 {v} {u}"));
            let values: Vec<String> = (0..9)
                .map(|i| {
                    if v == 4 && i == 8 {
                        "0".to_string()
                    } else if i / 3 == i % 3 {
                        "2.5".to_string()
                    } else {
                        format!("{}", 0.5 + ((i + v) % 4) as f64 * 0.25)
                    }
                })
                .collect();
            tables.push(format!("9\n {}", values.join(" ")));
        }
    }
    format!(
        "MARKOV\n9\n{}\n{}\n{}\n{}\n",
        ["3"; 9].join(" "),
        scopes.len(),
        scopes.join("\n"),
        tables.join("\n")
    )
}

/// The `--json` result of `ebm factor infer MODEL --task TASK --method METHOD`.
fn infer(model: &str, task: &str, method: &str, extra: &[&str]) -> serde_json::Value {
    crate::factor::infer(model, task, &[&["--method", method], extra].concat())
}

/// Every MAP method returns a value no better than the exact optimum; the complete ones
/// (branch and bound, MPLP on this small model, annealing) reach it. Gibbs with tempering
/// and BP give marginals near the exact ones.
#[test]
fn approximate_methods_against_exact() {
    let dir = temp_dir("factor-methods");
    let model = file_in(&dir, "grid.uai", grid_model());
    let m = p(&model);
    let exact = infer(m, "map", "exact", &[])["ln_value"].as_f64().unwrap();
    for method in ["icm", "bp", "mplp", "anneal", "bnb", "lns"] {
        let got = infer(m, "map", method, &["--time-limit", "5"]);
        let ln = got["ln_value"].as_f64().unwrap_or(f64::NEG_INFINITY);
        assert!(
            ln <= exact + 1e-9,
            "{method}: {ln} above the optimum {exact}"
        );
        if ["bnb", "anneal", "lns"].contains(&method) {
            assert!((ln - exact).abs() < 1e-9, "{method}: {ln} vs {exact}");
        }
        if let Some(bound) = got["ln_upper_bound"].as_f64() {
            assert!(
                bound >= exact - 1e-9,
                "{method}: bound {bound} below {exact}"
            );
        }
        // "optimal" is a proof: a finished search, or a bound that meets the value.
        let optimal = got["optimal"].as_bool().unwrap();
        let bound_meets = got["ln_upper_bound"]
            .as_f64()
            .is_some_and(|b| (b - ln).abs() <= 1e-9 * ln.abs().max(1.0));
        assert!(
            !optimal || bound_meets,
            "{method}: optimal without a proof: {got}"
        );
        match method {
            "bnb" => assert!(optimal, "bnb finished: {got}"),
            "icm" | "anneal" => assert!(!optimal, "{method} proves nothing: {got}"),
            _ => {}
        }
    }
    assert_eq!(infer(m, "map", "exact", &[])["optimal"], true);
    let mar_out = |method: &str, extra: &[&str]| {
        let out = dir.join(format!("{method}.MAR"));
        let mut args = vec![
            "--out",
            p(&out),
            "--sweeps",
            "20000",
            "--replicas",
            "4",
            "--max-temperature-ratio",
            "5",
        ];
        args.extend_from_slice(extra);
        infer(m, "mar", method, &args);
        let text = std::fs::read_to_string(&out).unwrap();
        ebm_data::uai::parse_mar(&out, &text).unwrap()
    };
    let want = mar_out("exact", &[]);
    for (method, tolerance) in [("gibbs", 0.02), ("bp", 0.1)] {
        let got = mar_out(method, &[]);
        let worst = ebm_factor::max_abs_difference(&want, &got);
        assert!(worst < tolerance, "{method}: max abs error {worst}");
    }
    let bethe = infer(m, "pr", "bp", &[])["log10_z"].as_f64().unwrap();
    let log10_z = infer(m, "pr", "exact", &[])["log10_z"].as_f64().unwrap();
    assert!((bethe - log10_z).abs() < 0.1, "{bethe} vs {log10_z}");
    let err = failure_line(&ebm(&[
        "factor", "infer", m, "--task", "mar", "--method", "icm",
    ]));
    assert!(err.contains("does not do"), "{err}");
    let err = failure_line(&ebm(&[
        "factor",
        "infer",
        m,
        "--task",
        "map",
        "--method",
        "bnb",
        "--time-limit",
        "0",
    ]));
    assert!(err.contains("--time-limit"), "{err}");
    // Settings the library refuses come back under their flags.
    for (method, flag, value) in [
        ("bp", "--damping", "1.5"),
        ("anneal", "--sweeps", "0"),
        ("mplp", "--iterations", "0"),
    ] {
        let args = [
            "factor", "infer", m, "--task", "map", "--method", method, flag, value,
        ];
        let err = failure_line(&ebm(&args));
        assert!(err.contains(flag), "{method} {flag} {value}: {err}");
    }
}

#[test]
fn sudoku_and_coloring_on_small_inputs() {
    let dir = temp_dir("factor-puzzles");
    let puzzles = dir.join("p.txt");
    std::fs::write(
        &puzzles,
        "1..4.4....4.4..1\n\
         003020600900305001001806400008102900700000008006708200002609500800203009005010300\n\
         11..............\n",
    )
    .unwrap();
    let out = ebm(&["factor", "sudoku", p(&puzzles)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().nth(2) == Some("unsolvable"), "{text}");
    let j = ebm_json(&["factor", "sudoku", p(&puzzles), "--json"]);
    assert_eq!(
        (j["solved"].as_u64(), j["checked"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(j["unsolvable"].as_u64(), Some(1));
    std::fs::write(&puzzles, "1..4.4....4.4..\n").unwrap();
    let err = failure_line(&ebm(&["factor", "sudoku", p(&puzzles)]));
    assert!(err.contains("p.txt") && err.contains("line 1"), "{err}");

    let graph = dir.join("c5.col");
    std::fs::write(
        &graph,
        "c odd cycle\np edge 5 5\ne 1 2\ne 2 3\ne 3 4\ne 4 5\ne 5 1\n",
    )
    .unwrap();
    let two = ebm_json(&["factor", "color", p(&graph), "--colors", "2", "--json"]);
    assert_eq!(two["status"], "impossible");
    let three = ebm(&["factor", "color", p(&graph), "--colors", "3"]);
    let colors = printed_colors(&three);
    let edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)];
    assert!(edges.iter().all(|&(a, b)| colors[a] != colors[b]));
    assert!(colors.iter().all(|&c| (1..=3).contains(&c)));
    // Tabu search colors the cycle with 3 colors; with 2 it can only give up (it proves
    // nothing, unlike branch and bound).
    // So does the hybrid evolutionary algorithm.
    for method in ["tabu", "hea"] {
        for (k, status) in [("3", "colored"), ("2", "unknown")] {
            let how = [
                "--colors",
                k,
                "--method",
                method,
                "--time-limit",
                "0.2",
                "--json",
            ];
            let j = ebm_json(&[&["factor", "color", p(&graph)][..], &how].concat());
            assert_eq!(j["status"], status, "{method}, {k} colors");
            assert_eq!(j["method"], if k == "3" { method } else { "-" });
        }
    }
    let err = failure_line(&ebm(&[
        "factor",
        "color",
        p(&graph),
        "--colors",
        "3",
        "--moves-per-child",
        "0",
    ]));
    assert!(err.contains("--moves-per-child"), "{err}");
    let err = failure_line(&ebm(&["factor", "color", p(&graph), "--colors", "0"]));
    assert!(err.contains("--colors"), "{err}");
    std::fs::write(&graph, "p edge 2 1\ne 1 3\n").unwrap();
    let err = failure_line(&ebm(&["factor", "color", p(&graph), "--colors", "2"]));
    assert!(err.contains("c5.col") && err.contains("line 2"), "{err}");
}

/// Must-show 4 on the real data: every easy_50 and top95 puzzle solved and checked, and
/// a proper coloring with the known chromatic number of a few DIMACS graphs.
#[test]
fn real_sudoku_and_coloring() {
    let Some(root) = data_root("sudoku") else {
        return;
    };
    for file in ["easy_50.txt", "top95.txt"] {
        let path = root.join("sudoku").join(file);
        let j = ebm_json(&["factor", "sudoku", p(&path), "--json"]);
        let puzzles = j["puzzles"].as_u64().unwrap();
        assert!(puzzles >= 50);
        assert_eq!(j["solved"].as_u64(), Some(puzzles), "{file}");
        assert_eq!(j["checked"].as_u64(), Some(puzzles), "{file}");
    }
    for (file, k) in [
        ("myciel5.col", "6"),
        ("queen6_6.col", "7"),
        ("le450_5a.col", "5"),
        ("inithx.i.1.col", "54"),
    ] {
        let path = root.join("coloring").join(file);
        let j = ebm_json(&["factor", "color", p(&path), "--colors", k, "--json"]);
        assert_eq!(j["status"], "colored", "{file}");
    }
    // le450_15a with its chromatic number 15: out of branch and bound's reach in 10 s
    // before tabu search, which colors it in about 10^5 moves (seed 1; ~1 s).
    let path = root.join("coloring/le450_15a.col");
    let how = [
        "--colors",
        "15",
        "--method",
        "tabu",
        "--time-limit",
        "60",
        "--json",
    ];
    let j = ebm_json(&[&["factor", "color", p(&path)][..], &how].concat());
    assert_eq!(
        (&j["status"], &j["method"]),
        (&"colored".into(), &"tabu".into())
    );
}

/// Approximate MAP on reference models whose optimum is known: MPLP proves
/// Segmentation_12's exact ln MPE, and on network.uai every method reaches it.
#[test]
fn real_map_references() {
    let Some(root) = data_root("sudoku") else {
        return;
    };
    let seg = root.join("uai/map/Segmentation_12.uai");
    let evid = root.join("uai/map/Segmentation_12.uai.evid");
    let j = infer(p(&seg), "map", "mplp", &["--evid", p(&evid)]);
    assert!((j["ln_value"].as_f64().unwrap() - -51.150653139686895).abs() < 1e-6);
    assert!((j["ln_upper_bound"].as_f64().unwrap() - -51.150653139686895).abs() < 1e-6);
    assert_eq!(j["optimal"], true, "the dual gap is closed: {j}");
    // Branch and bound stopped after 1 s on Promedas_11 (optimum -48.34) holds an
    // incumbent, not a proof.
    let promedas = root.join("uai/map/Promedas_11.uai");
    let evid = root.join("uai/map/Promedas_11.uai.evid");
    let j = infer(
        p(&promedas),
        "map",
        "bnb",
        &["--evid", p(&evid), "--time-limit", "1"],
    );
    assert_eq!(
        (&j["optimal"], &j["complete"]),
        (&false.into(), &"no".into()),
        "{j}"
    );
    let net = root.join("uai/toulbar2/network.uai");
    let evid = root.join("uai/toulbar2/network.uai.evid");
    for method in ["bp", "mplp", "anneal"] {
        let j = infer(p(&net), "map", method, &["--evid", p(&evid)]);
        let ln = j["ln_value"].as_f64().unwrap();
        assert!(
            (ln - 361.9999973328344).abs() < 1e-6 * 362.0,
            "{method}: {ln}"
        );
    }
}

/// The coloring `ebm factor color` printed (its first line: one color a vertex).
fn printed_colors(out: &std::process::Output) -> Vec<usize> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .split(' ')
        .map(|c| c.parse().unwrap())
        .collect()
}

/// The `side x side` queens graph as a DIMACS file.
fn queens_file(dir: &std::path::Path, side: usize) -> std::path::PathBuf {
    let mut edges = Vec::new();
    for u in 0..side * side {
        for v in u + 1..side * side {
            let (r1, c1, r2, c2) = (u / side, u % side, v / side, v % side);
            if r1 == r2 || c1 == c2 || r1 + c2 == r2 + c1 || r1 + c1 == r2 + c2 {
                edges.push(format!("e {} {}\n", u + 1, v + 1));
            }
        }
    }
    let path = dir.join(format!("queen{side}_{side}.col"));
    let text = format!("p edge {} {}\n{}", side * side, edges.len(), edges.concat());
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn coloring_as_an_exact_cover_by_maximum_independent_sets() {
    let dir = temp_dir("factor-cover");
    let five = queens_file(&dir, 5);
    let out = ebm(&[
        "factor",
        "color",
        p(&five),
        "--colors",
        "5",
        "--method",
        "cover",
    ]);
    let colors = printed_colors(&out);
    assert_eq!(colors.len(), 25);
    for u in 0..25 {
        for v in u + 1..25 {
            let (r1, c1, r2, c2) = (u / 5, u % 5, v / 5, v % 5);
            if r1 == r2 || c1 == c2 || r1 + c2 == r2 + c1 || r1 + c1 == r2 + c2 {
                assert_ne!(colors[u], colors[v], "squares {u} and {v}");
            }
        }
    }
    let j = ebm_json(&["factor", "color", p(&five), "--colors", "5", "--json"]);
    assert_eq!(
        (&j["status"], &j["method"]),
        (&"colored".into(), &"cover".into())
    );
    // 6-queens has 4 solutions, too few for 6 disjoint ones: proved impossible.
    let six = queens_file(&dir, 6);
    let how = ["--colors", "6", "--method", "cover", "--json"];
    let j = ebm_json(&[&["factor", "color", p(&six)][..], &how].concat());
    assert_eq!(j["status"], "impossible");
    // 25 vertices and 4 colors: the method does not apply, and says why.
    let how = ["--colors", "4", "--method", "cover", "--json"];
    let j = ebm_json(&[&["factor", "color", p(&five)][..], &how].concat());
    assert_eq!(j["status"], "unknown");
    assert_eq!(j["cover"], "the colors do not divide the vertices");
    let how = [
        "--colors",
        "5",
        "--method",
        "tabu",
        "--moves-per-child",
        "10",
    ];
    let err = failure_line(&ebm(&[&["factor", "color", p(&five)][..], &how].concat()));
    assert!(
        err.contains("--moves-per-child") && err.contains("tabu"),
        "{err}"
    );
}
