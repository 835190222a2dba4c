//! End-to-end tests of the `ebm` binary, one module per command area. They run the
//! binary Cargo built for this package (`CARGO_BIN_EXE_ebm`); the tests on MNIST,
//! MovieLens and the reference data skip without `$EBM_DATA`.

mod cf;
mod class_and_anomaly;
mod common;
mod energy;
mod energy_conv;
mod energy_ncsn;
mod factor;
mod factor_files;
mod factor_files_errors;
mod factor_learn;
mod factor_methods;
mod gaussian_langevin;
mod gaussian_score;
mod hardening;
mod hardening_input;
mod joint;
mod logs_and_plots;
mod ood;
mod own_data;
mod rbm;
