//! Fuzz the DIMACS graph reader: any text must parse or fail with an error, never panic
//! or allocate beyond the input's size; every edge of a graph that parses is in range.
//!
//! cargo install cargo-fuzz && cargo +nightly fuzz run dimacs
#![no_main]

use ebm_data::puzzles;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(graph) = puzzles::parse_dimacs(Path::new("fuzz.col"), text) {
        assert!(
            graph
                .edges
                .iter()
                .all(|&(u, v)| u < v && v < graph.vertices)
        );
    }
});
