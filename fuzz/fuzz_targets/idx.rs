//! Fuzz the IDX reader (MNIST's format): any bytes must parse or fail with an error,
//! never panic or allocate beyond the input's size.
//!
//! cargo install cargo-fuzz && cargo +nightly fuzz run idx
#![no_main]

use ebm_data::idx;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = idx::parse(Path::new("fuzz.idx"), data);
});
