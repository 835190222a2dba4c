//! Fuzz the rating and title readers: any text must parse or fail with an error, never
//! panic or allocate beyond the input's size.
//!
//! cargo install cargo-fuzz && cargo +nightly fuzz run ratings
#![no_main]

use ebm_data::ratings;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = ratings::parse(Path::new("fuzz.data"), text);
    let _ = ratings::parse_titles(Path::new("fuzz.item"), text);
});
