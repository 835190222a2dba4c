//! Fuzz the UAI readers (models, evidence, .MAR): any bytes must parse or fail with an
//! error, never panic or allocate beyond the input's size.
//!
//! cargo install cargo-fuzz && cargo +nightly fuzz run uai
#![no_main]

use ebm_data::uai;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.uai");
    // The first line (if any) is used as evidence for the rest.
    let (evidence, model_text) = text.split_once('\n').unwrap_or(("", text));
    if let Ok(model) = uai::parse(path, model_text) {
        let _ = uai::parse_evidence(path, evidence, &model);
    }
    let _ = uai::parse_mar(path, text);
});
