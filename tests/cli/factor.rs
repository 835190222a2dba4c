//! End-to-end tests of `ebm factor infer` on a small UAI model written here, against
//! brute-force enumeration, and its errors.

use crate::common::{assert_mentions, ebm, ebm_json, failure_line, file_in, p, temp_dir};
use serde_json::Value;

/// Two binary variables and a ternary one in a chain; evidence x2 = 1.
const MODEL: &str =
    "MARKOV\n3\n2 2 3\n3\n2 0 1\n2 1 2\n1 0\n4\n 1.0 2.0 3.0 0.5\n6\n 1 2 0 0.5 1 3\n2\n 0.3 0.7\n";

fn brute_force(evidence: Option<usize>) -> (f64, f64) {
    let a = [[1.0, 2.0], [3.0, 0.5]];
    let b = [[1.0, 2.0, 0.0], [0.5, 1.0, 3.0]];
    let c = [0.3, 0.7];
    let (mut z, mut best) = (0.0f64, 0.0f64);
    for (x0, row) in a.iter().enumerate() {
        for (x1, &ax) in row.iter().enumerate() {
            for (x2, &bx) in b[x1].iter().enumerate() {
                if evidence.is_some_and(|e| e != x2) {
                    continue;
                }
                let w = ax * bx * c[x0];
                z += w;
                best = best.max(w);
            }
        }
    }
    (z.log10(), best.ln())
}

/// The `--json` result of `ebm factor infer MODEL --task TASK` with `extra` flags.
pub fn infer(model: &str, task: &str, extra: &[&str]) -> Value {
    let mut args = vec!["factor", "infer", model, "--task", task];
    args.extend_from_slice(extra);
    args.push("--json");
    ebm_json(&args)
}

#[test]
fn infer_matches_enumeration_and_writes_uai_results() {
    let dir = temp_dir("factor");
    let model = file_in(&dir, "m.uai", MODEL);
    let evid = file_in(&dir, "m.uai.evid", "1 2 1\n");
    let (log10_z, ln_best) = brute_force(None);
    let (m, e) = (p(&model), p(&evid));
    let pr = infer(m, "pr", &[]);
    assert!((pr["log10_z"].as_f64().unwrap() - log10_z).abs() < 1e-12);
    let map = infer(m, "map", &[]);
    assert!((map["ln_value"].as_f64().unwrap() - ln_best).abs() < 1e-12);
    let (log10_ze, _) = brute_force(Some(1));
    let pr = infer(m, "pr", &["--evid", e]);
    assert!((pr["log10_z"].as_f64().unwrap() - log10_ze).abs() < 1e-12);
    let mar = dir.join("m.MAR");
    infer(m, "mar", &["--evid", e, "--out", p(&mar)]);
    let text = std::fs::read_to_string(&mar).unwrap();
    assert!(
        text.starts_with("MAR\n3 2 ") && text.contains(" 3 0 1 0"),
        "{text}"
    );
}

#[test]
fn bad_files_are_one_line_errors() {
    let dir = temp_dir("factor-bad");
    let model = file_in(&dir, "bad.uai", "MARKOV 1 2 1 1 0 3 1 1 1");
    let err = failure_line(&ebm(&["factor", "infer", p(&model), "--task", "pr"]));
    assert_mentions(&err, &["bad.uai", "declares 3 values"]);
    let good = file_in(&dir, "m.uai", MODEL);
    let evid = file_in(&dir, "e.evid", "1 2 7");
    let err = failure_line(&ebm(&[
        "factor",
        "infer",
        p(&good),
        "--evid",
        p(&evid),
        "--task",
        "pr",
    ]));
    assert_mentions(&err, &["e.evid", "outside its domain"]);
}

/// A 12-variable cycle with every variable tied to its neighbours two steps away: exact
/// inference needs cliques of several variables. The table bound comes from
/// `--max-memory` (16 bytes an entry): a tiny bound is a refusal naming the clique and
/// the bound, a large one answers as `--max-table` does.
#[test]
fn the_table_bound_comes_from_max_memory() {
    let dir = temp_dir("factor_memory");
    let n = 12;
    let mut text = format!("MARKOV\n{n}\n{}\n{}\n", "2 ".repeat(n), 2 * n);
    for v in 0..n {
        text += &format!("2 {v} {}\n2 {v} {}\n", (v + 1) % n, (v + 2) % n);
    }
    for v in 0..2 * n {
        let a = 1.0 + (v % 5) as f64 * 0.3;
        text += &format!("4\n {a} 1.0 1.0 {a}\n");
    }
    let model = file_in(&dir, "ring.uai", text);
    let out = ebm(&[
        "factor",
        "infer",
        p(&model),
        "--task",
        "mar",
        "--max-memory",
        "64",
    ]);
    let line = crate::common::error_line(&out, 1);
    assert_mentions(
        &line,
        &[
            "clique of variable",
            "above the bound of 4 entries",
            "--max-memory",
        ],
    );
    let by_memory = infer(p(&model), "pr", &["--max-memory", "1G"]);
    let by_table = infer(p(&model), "pr", &["--max-table", "100000"]);
    assert_eq!(by_memory["log10_z"], by_table["log10_z"]);
    let refused = ebm(&[
        "factor",
        "infer",
        p(&model),
        "--task",
        "pr",
        "--max-memory",
        "8X",
    ]);
    assert_mentions(&failure_line(&refused), &["--max-memory", "unknown unit"]);
}

/// Twelve binary variables, every pair forced equal (tables with zeros), each preferring
/// 1 twice as much as 0: `Z = 1 + 2^12`. Under `--max-table 1000` elimination's clique of
/// 2^12 entries is refused and the AND/OR search over the zeros answers, saying so in
/// `--json`; with the default bound elimination answers the same; a bound too small for
/// the search too is a refusal naming both.
#[test]
fn a_wide_model_with_zeros_is_answered_by_the_search() {
    let dir = temp_dir("factor_search");
    let n = 12;
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .collect();
    let mut text = format!("MARKOV\n{n}\n{}\n{}\n", "2 ".repeat(n), n + pairs.len());
    for v in 0..n {
        text += &format!("1 {v}\n");
    }
    for (a, b) in &pairs {
        text += &format!("2 {a} {b}\n");
    }
    text += &"2\n 1.0 2.0\n".repeat(n);
    text += &"4\n 1.0 0.0 0.0 1.0\n".repeat(pairs.len());
    let model = file_in(&dir, "equal.uai", text);
    let want = (1.0f64 + 4096.0).log10();
    let searched = infer(p(&model), "pr", &["--max-table", "1000"]);
    assert_eq!(searched["exact"], "and/or search", "{searched}");
    assert!((searched["log10_z"].as_f64().unwrap() - want).abs() < 1e-12);
    assert!(searched["search_cached"].as_u64().unwrap() <= 250);
    let eliminated = infer(p(&model), "pr", &[]);
    assert_eq!(eliminated["exact"], "elimination", "{eliminated}");
    assert!((eliminated["log10_z"].as_f64().unwrap() - want).abs() < 1e-12);
    let out = ebm(&[
        "factor",
        "infer",
        p(&model),
        "--task",
        "pr",
        "--max-table",
        "8",
    ]);
    let line = crate::common::error_line(&out, 1);
    assert_mentions(
        &line,
        &["clique of variable", "AND/OR search", "--max-table 8"],
    );
}
