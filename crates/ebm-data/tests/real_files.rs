//! The bounds on counts refuse hostile files, not real ones: every UAI model, evidence
//! and `.MAR` file, every DIMACS graph and Sudoku list in `$EBM_DATA` still reads.

use ebm_data::{data_dir, puzzles, uai};
use std::path::{Path, PathBuf};

fn files(dir: &Path, ends: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path, ends));
        } else if path.to_string_lossy().ends_with(ends) {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_uai_model_evidence_and_marginal_file_reads() {
    let Some(dir) = data_dir::for_tests("uai") else {
        return;
    };
    let models = files(&dir, ".uai");
    assert!(!models.is_empty());
    for path in models {
        let model = uai::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let evid = PathBuf::from(format!("{}.evid", path.display()));
        if evid.is_file() {
            uai::read_evidence(&evid, &model).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    for path in files(&dir, ".MAR") {
        let text = std::fs::read_to_string(&path).unwrap();
        uai::parse_mar(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_graph_and_puzzle_list_reads() {
    if let Some(dir) = data_dir::for_tests("coloring") {
        let graphs = files(&dir, ".col");
        assert!(!graphs.is_empty());
        for path in graphs {
            puzzles::read_dimacs(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    if let Some(dir) = data_dir::for_tests("sudoku") {
        let lists = files(&dir, ".txt");
        assert!(!lists.is_empty());
        for path in lists {
            puzzles::read_sudoku(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
