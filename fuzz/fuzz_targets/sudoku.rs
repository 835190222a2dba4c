//! Fuzz the Sudoku puzzle-list reader: any text must parse or fail with an error, never
//! panic; a puzzle that parses formats back to a grid of its size.
//!
//! cargo install cargo-fuzz && cargo +nightly fuzz run sudoku
#![no_main]

use ebm_data::puzzles::{self, Sudoku};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(list) = puzzles::parse_sudoku(Path::new("fuzz.txt"), text) {
        for puzzle in list {
            let side = puzzle.side();
            let _ = Sudoku::format(&puzzle.cells);
            assert_eq!(puzzle.cells.len(), side * side);
        }
    }
});
