//! Fuzz the model-file reader of every model kind: any bytes must decode (header,
//! checksum, shapes, consistency and finite parameters all checked) or fail with an
//! error, never panic. Payloads that pass the checksum are reached by seeding the corpus
//! with real model files (`ebm rbm train --out corpus/model_file/rbm.ebm`, ...).
//!
//! cargo install cargo-fuzz && cargo +nightly fuzz run model_file
#![no_main]

use ebm_core::ModelFile;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.ebm");
    let _ = ebm_core::model_file::parse_header(path, data);
    let _ = ebm_rbm::BinaryRbm::from_bytes(data, path);
    let _ = ebm_rbm::train::TrainState::from_bytes(data, path);
    let _ = ebm_rbm::class_rbm::ClassRbm::from_bytes(data, path);
    let _ = ebm_rbm::gaussian::GaussianRbm::from_bytes(data, path);
    let _ = ebm_cf::CfModel::from_bytes(data, path);
    let _ = ebm_learn::learned::LearnedModel::from_bytes(data, path);
    let _ = ebm_learn::learned::FileModel::from_bytes(data, path);
});
