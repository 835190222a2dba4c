//! The UAI inference-competition formats: models (`.uai`, MARKOV or BAYES, factors of any
//! arity including 0), evidence (`.uai.evid`), and results (`.PR`, `.MAR`, `.MPE`).
//!
//! A `.uai` file is whitespace-separated tokens: `MARKOV` or `BAYES`; the number of
//! variables; their domain sizes; the number of factors; each factor's scope (`k v1..vk`);
//! then each factor's table (`count` values, the last scope variable changing fastest).
//! Errors name the file and the token that was wrong.

use crate::DataError;
use crate::bounded::{self, Bound};
use crate::escape::quote;
use std::fmt::Write as _;
use std::path::Path;

/// MARKOV (undirected) or BAYES (directed: each table is a conditional distribution).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UaiKind {
    /// A Markov network.
    Markov,
    /// A Bayesian network.
    Bayes,
}

/// One factor: its scope and its non-negative table (last scope variable fastest).
#[derive(Clone, Debug, PartialEq)]
pub struct UaiFactor {
    /// Variable indices.
    pub scope: Vec<usize>,
    /// `prod(domain sizes of the scope)` values.
    pub values: Vec<f64>,
}

/// A model read from a `.uai` file.
#[derive(Clone, Debug, PartialEq)]
pub struct UaiModel {
    /// Network type.
    pub kind: UaiKind,
    /// Domain size of each variable.
    pub domains: Vec<usize>,
    /// The factors.
    pub factors: Vec<UaiFactor>,
}

/// Largest table a factor may declare (entries); larger is treated as a malformed file.
const MAX_TABLE: usize = 1 << 28;

/// Largest total domain size of the variables no factor covers, beyond the file's length
/// in bytes (their marginals are uniform; nothing in the file backs their size).
const MAX_FREE_DOMAINS: usize = 1 << 16;

struct Tokens<'a> {
    path: &'a Path,
    iter: std::iter::Enumerate<std::str::SplitWhitespace<'a>>,
    /// Tokens in the whole text.
    total: usize,
    /// Tokens taken so far.
    taken: usize,
}

impl<'a> Tokens<'a> {
    fn new(path: &'a Path, text: &'a str) -> Self {
        Self {
            path,
            iter: text.split_whitespace().enumerate(),
            total: text.split_whitespace().count(),
            taken: 0,
        }
    }

    fn malformed(&self, message: String) -> DataError {
        DataError::Malformed {
            path: self.path.to_path_buf(),
            message,
        }
    }

    fn next(&mut self, what: &str) -> Result<(usize, &'a str), DataError> {
        let (i, t) = self
            .iter
            .next()
            .ok_or_else(|| self.malformed(format!("the file ends where {what} was expected")))?;
        self.taken = i + 1;
        Ok((i + 1, t))
    }

    /// `count` items of `per_item` numbers each, checked against the numbers left.
    fn capacity(&self, what: &str, count: usize, per_item: usize) -> Result<usize, DataError> {
        bounded::capacity(
            self.path,
            what,
            count as u64,
            Bound::file(self.total - self.taken, per_item, "more numbers"),
        )
    }

    fn count(&mut self, what: &str) -> Result<usize, DataError> {
        let (n, token) = self.next(what)?;
        token.parse::<usize>().map_err(|_| {
            self.malformed(format!(
                "token {n}: {what} should be a non-negative integer, found {}",
                quote(token)
            ))
        })
    }

    fn value(&mut self, what: &str) -> Result<f64, DataError> {
        let (n, token) = self.next(what)?;
        match token.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            _ => Err(self.malformed(format!(
                "token {n}: {what} should be a finite non-negative number, found {}",
                quote(token)
            ))),
        }
    }

    /// An error if any token is left.
    fn finish(mut self, after: &str) -> Result<(), DataError> {
        match self.iter.next() {
            Some((n, extra)) => Err(self.malformed(format!(
                "token {}: unexpected {} after {after}",
                n + 1,
                quote(extra)
            ))),
            None => Ok(()),
        }
    }
}

/// Read a `.uai` model.
pub fn read(path: &Path) -> Result<UaiModel, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Parse `.uai` text; `path` is used in messages only.
///
/// Every count is backed by the text (see [`crate::bounded`]): the number of variables,
/// factors and scope entries by the numbers that follow; a table's declared size must
/// equal its scope's combinations and be matched by the values present; so a variable
/// some factor covers has a domain no larger than that factor's table. The domains of
/// variables no factor covers total at most the file's length in bytes (or 65,536).
pub fn parse(path: &Path, text: &str) -> Result<UaiModel, DataError> {
    let mut t = Tokens::new(path, text);
    let (_, header) = t.next("MARKOV or BAYES")?;
    let kind = match header.to_ascii_uppercase().as_str() {
        "MARKOV" => UaiKind::Markov,
        "BAYES" => UaiKind::Bayes,
        _ => {
            return Err(t.malformed(format!(
                "token 1: expected MARKOV or BAYES, found {}",
                quote(header)
            )));
        }
    };
    let n = t.count("the number of variables")?;
    let mut domains = Vec::with_capacity(t.capacity("the number of variables", n, 1)?);
    let free_limit = Bound::file(text.len(), 1, "bytes").or_stated(MAX_FREE_DOMAINS);
    for i in 0..n {
        let what = format!("the domain size of variable {i}");
        let d = t.count(&what)?;
        if d == 0 {
            return Err(t.malformed(format!("variable {i} has an empty domain")));
        }
        // Backed by a table later in the file, or within the limit for free variables.
        bounded::capacity(path, &what, d as u64, free_limit)?;
        domains.push(d);
    }
    let m = t.count("the number of factors")?;
    // Each factor needs at least its scope size and its table size.
    let mut scopes = Vec::with_capacity(t.capacity("the number of factors", m, 2)?);
    for f in 0..m {
        let what = format!("the scope size of factor {f}");
        let k = t.count(&what)?;
        let mut scope = Vec::with_capacity(t.capacity(&what, k, 1)?);
        for _ in 0..k {
            let v = t.count(&format!("a variable of factor {f}"))?;
            if v >= n {
                return Err(
                    t.malformed(format!("factor {f} names variable {v}, but there are {n}"))
                );
            }
            if scope.contains(&v) {
                return Err(t.malformed(format!("factor {f} names variable {v} twice")));
            }
            scope.push(v);
        }
        scopes.push(scope);
    }
    let mut covered = vec![false; n];
    let mut factors = Vec::with_capacity(scopes.len());
    for (f, scope) in scopes.into_iter().enumerate() {
        let size = scope
            .iter()
            .try_fold(1usize, |acc, &v| {
                acc.checked_mul(domains[v]).filter(|&s| s <= MAX_TABLE)
            })
            .ok_or_else(|| {
                t.malformed(format!(
                    "factor {f}'s table is larger than {MAX_TABLE} entries"
                ))
            })?;
        let count = t.count(&format!("the table size of factor {f}"))?;
        if count != size {
            return Err(t.malformed(format!(
                "factor {f} declares {count} values, but its scope has {size} combinations"
            )));
        }
        let mut values =
            Vec::with_capacity(t.capacity(&format!("the table size of factor {f}"), count, 1)?);
        for _ in 0..count {
            values.push(t.value(&format!("a value of factor {f}"))?);
        }
        for &v in &scope {
            covered[v] = true;
        }
        factors.push(UaiFactor { scope, values });
    }
    t.finish("the last table")?;
    let free: u64 = domains
        .iter()
        .zip(&covered)
        .filter(|&(_, &c)| !c)
        .map(|(&d, _)| d as u64)
        .sum();
    bounded::capacity(
        path,
        "the total domain size of the variables no factor covers",
        free,
        free_limit,
    )?;
    Ok(UaiModel {
        kind,
        domains,
        factors,
    })
}

/// Read evidence (`N v1 x1 .. vN xN`; an empty file or `0` is no evidence), checked
/// against `model`.
pub fn read_evidence(path: &Path, model: &UaiModel) -> Result<Vec<(usize, usize)>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_evidence(path, &text, model)
}

/// Parse evidence text; `path` is used in messages only. The number of evidence
/// variables must be backed by the pairs present.
pub fn parse_evidence(
    path: &Path,
    text: &str,
    model: &UaiModel,
) -> Result<Vec<(usize, usize)>, DataError> {
    let mut t = Tokens::new(path, text);
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let n = t.count("the number of evidence variables")?;
    let mut evidence = Vec::with_capacity(t.capacity("the number of evidence variables", n, 2)?);
    let mut seen = vec![false; model.domains.len()];
    for _ in 0..n {
        let v = t.count("an evidence variable")?;
        let x = t.count("an evidence value")?;
        if v >= model.domains.len() {
            return Err(t.malformed(format!(
                "evidence names variable {v}, but the model has {}",
                model.domains.len()
            )));
        }
        if x >= model.domains[v] {
            return Err(t.malformed(format!(
                "evidence sets variable {v} to {x}, outside its domain of {}",
                model.domains[v]
            )));
        }
        if std::mem::replace(&mut seen[v], true) {
            return Err(t.malformed(format!("evidence sets variable {v} twice")));
        }
        evidence.push((v, x));
    }
    t.finish("the evidence")?;
    Ok(evidence)
}

/// `.PR` text: `PR` and `log10 Z`.
pub fn format_pr(log10_z: f64) -> String {
    format!("PR\n{log10_z}\n")
}

/// `.MAR` text: `MAR`, the number of variables, then each variable's domain size and
/// probabilities.
pub fn format_mar(marginals: &[Vec<f64>]) -> String {
    let mut out = format!("MAR\n{}", marginals.len());
    for m in marginals {
        let _ = write!(out, " {}", m.len());
        for p in m {
            let _ = write!(out, " {p}");
        }
    }
    out.push('\n');
    out
}

/// `.MPE` text: `MPE`, the number of variables, then the assignment.
pub fn format_mpe(assignment: &[usize]) -> String {
    let mut out = format!("MPE\n{}", assignment.len());
    for x in assignment {
        let _ = write!(out, " {x}");
    }
    out.push('\n');
    out
}

/// Parse a `.MAR` file's marginals (for comparisons in tests and tools); counts must be
/// backed by the numbers present.
pub fn parse_mar(path: &Path, text: &str) -> Result<Vec<Vec<f64>>, DataError> {
    let mut t = Tokens::new(path, text);
    let (_, header) = t.next("MAR")?;
    if header != "MAR" {
        return Err(t.malformed(format!("token 1: expected MAR, found {}", quote(header))));
    }
    let n = t.count("the number of variables")?;
    let mut marginals = Vec::with_capacity(t.capacity("the number of variables", n, 1)?);
    for i in 0..n {
        let what = format!("the domain size of variable {i}");
        let d = t.count(&what)?;
        let mut m = Vec::with_capacity(t.capacity(&what, d, 1)?);
        for _ in 0..d {
            m.push(t.value("a probability")?);
        }
        marginals.push(m);
    }
    Ok(marginals)
}

#[cfg(test)]
mod fuzz_tests {
    use super::*;

    /// Deterministic mutation fuzzing (the CI-sized cousin of `fuzz/fuzz_targets/uai.rs`):
    /// 20,000 random edits of a valid model (token swaps, digit and sign changes, huge
    /// counts, truncation) must each parse or fail with an error, never panic.
    #[test]
    fn mutated_models_never_panic() {
        let valid = "MARKOV\n3\n2 2 3\n3\n1 0\n2 0 1\n3 0 1 2\n2\n 0.5 1.5\n4\n 1 2 3 4\n12\n 1 1 1 1 1 1 1 1 1 1 1 0\n";
        let pieces = [
            "0",
            "1",
            "-1",
            "99999999999999999999",
            "18446744073709551615",
            "1e308",
            "nan",
            "inf",
            "BAYES",
            "",
            "2",
            "3",
            "-0",
            "1e-400",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let path = Path::new("fuzz.uai");
        for _ in 0..20_000 {
            let mut tokens: Vec<String> = valid.split_whitespace().map(String::from).collect();
            for _ in 0..1 + next() % 3 {
                let i = (next() % tokens.len() as u64) as usize;
                match next() % 4 {
                    0 => tokens[i] = pieces[(next() % pieces.len() as u64) as usize].to_string(),
                    1 => {
                        let j = (next() % tokens.len() as u64) as usize;
                        tokens.swap(i, j);
                    }
                    2 => tokens.truncate(i),
                    _ => tokens.insert(
                        i,
                        pieces[(next() % pieces.len() as u64) as usize].to_string(),
                    ),
                }
                if tokens.is_empty() {
                    break;
                }
            }
            let text = tokens.join(" ");
            if let Ok(model) = parse(path, &text) {
                let _ = parse_evidence(path, "1 0 1", &model);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "MARKOV\n3\n2 2 3\n3\n1 0\n2 0 1\n0\n2\n 0.4 0.6\n4\n 1 2 3 4\n1\n 2.5\n";

    #[test]
    fn reads_any_arity_and_evidence() {
        let m = parse(Path::new("m.uai"), SMALL).unwrap();
        assert_eq!(m.kind, UaiKind::Markov);
        assert_eq!(m.domains, vec![2, 2, 3]);
        assert_eq!(m.factors[1].scope, vec![0, 1]);
        assert_eq!(m.factors[2].scope, Vec::<usize>::new());
        assert_eq!(m.factors[2].values, vec![2.5]);
        let e = parse_evidence(Path::new("m.evid"), "2 0 1 2 2", &m).unwrap();
        assert_eq!(e, vec![(0, 1), (2, 2)]);
        assert!(
            parse_evidence(Path::new("m.evid"), "0", &m)
                .unwrap()
                .is_empty()
        );
        assert!(
            parse_evidence(Path::new("m.evid"), "", &m)
                .unwrap()
                .is_empty()
        );
        assert!(parse_evidence(Path::new("m.evid"), "1 2 3", &m).is_err());
        assert!(parse_evidence(Path::new("m.evid"), "1 5 0", &m).is_err());
    }

    #[test]
    fn malformed_files_say_what_and_where() {
        let bad = |text: &str| parse(Path::new("bad.uai"), text).unwrap_err().to_string();
        assert!(bad("").contains("ends"));
        assert!(bad("GRAPH 1 2 0").contains("MARKOV or BAYES"));
        assert!(bad("MARKOV 1 0 0").contains("empty domain"));
        assert!(bad("MARKOV 1 2 1 1 3 2 1 1").contains("names variable 3"));
        assert!(bad("MARKOV 1 2 1 1 0 3 1 1 1").contains("declares 3 values"));
        assert!(bad("MARKOV 1 2 1 1 0 2 1 -1").contains("non-negative number"));
        assert!(bad("MARKOV 1 2 1 1 0 2 1 1 7").contains("unexpected '7'"));
        assert!(bad("MARKOV 1 2 1 1 0 2 1").contains("holds only 1 more numbers"));
        assert!(bad("MARKOV 1 2 1 1 0").contains("ends"));
        assert!(bad("MARKOV 2 2 2 1 2 0 0 4 1 1 1 1").contains("twice"));
        let e = bad("MARKOV 1 x");
        assert!(e.contains("bad.uai") && e.contains("token 3"), "{e}");
    }

    /// Counts from a tiny file are refused before they size anything (the old reader
    /// reserved 1.6 TB for the evidence, and let domains of 4e9 or 1e8 through).
    #[test]
    fn hostile_counts_are_refused_naming_file_and_count() {
        let m = parse(Path::new("m.uai"), SMALL).unwrap();
        let e = parse_evidence(Path::new("h.evid"), "99999999999 0 1", &m)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("h.evid: the number of evidence variables is 99999999999, but"),
            "{e}"
        );
        let bad = |text: &str| parse(Path::new("h.uai"), text).unwrap_err().to_string();
        let e = bad("MARKOV 1 4000000000 1 1 0 2 1 1");
        assert!(
            e.contains("h.uai") && e.contains("domain size of variable 0 is 4000000000"),
            "{e}"
        );
        // A variable no factor covers: its domain (1e8) is backed by nothing in 26 bytes.
        let e = bad("MARKOV 1 100000000 1 0 1 1");
        assert!(e.contains("100000000"), "{e}");
        let e = bad("MARKOV 3 2 40000 40000 1 1 0 2 1 1");
        assert!(e.contains("no factor covers is 80000"), "{e}");
        assert!(bad("MARKOV 99999999999 2").contains("number of variables is 99999999999"));
        assert!(bad("MARKOV 1 2 99999999999 1 0").contains("number of factors is 99999999999"));
        assert!(
            bad("MARKOV 1 2 1 99999999999 0").contains("scope size of factor 0 is 99999999999")
        );
        let e = parse_mar(Path::new("x.MAR"), "MAR 1 99999999999 0.5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.MAR") && e.contains("99999999999"), "{e}");
        // Legitimate: a free variable of a small domain, and a large covered one.
        assert!(parse(Path::new("ok.uai"), "MARKOV 2 3 2 1 1 1 2 1 1").is_ok());
        let covered = format!("MARKOV 1 70000 1 1 0 70000 {}", "1 ".repeat(70000));
        assert_eq!(
            parse(Path::new("ok.uai"), &covered).unwrap().domains,
            [70000]
        );
    }

    #[test]
    fn file_bytes_in_messages_are_escaped() {
        let e = parse(Path::new("t.uai"), "\u{1b}[2J 1")
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\u{1b}') && e.contains("\\u{1b}[2J"), "{e}");
        let e = parse(Path::new("t.uai"), "MARKOV 1 2 1 1 0 2 1 \u{1b}]0;x\u{7}")
            .unwrap_err()
            .to_string();
        assert!(!e.chars().any(char::is_control), "{e}");
    }

    #[test]
    fn result_formats() {
        assert_eq!(format_pr(-1.5), "PR\n-1.5\n");
        let mar = format_mar(&[vec![0.25, 0.75], vec![1.0]]);
        assert_eq!(mar, "MAR\n2 2 0.25 0.75 1 1\n");
        assert_eq!(
            parse_mar(Path::new("x"), &mar).unwrap(),
            vec![vec![0.25, 0.75], vec![1.0]]
        );
        assert_eq!(format_mpe(&[1, 0, 2]), "MPE\n3 1 0 2\n");
    }
}
