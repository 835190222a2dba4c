//! A Gaussian-Bernoulli RBM trained on standardized MNIST pixels: with 16 hidden units
//! its log partition function can be summed exactly (2^16 hidden states), and AIS must
//! agree with it within 0.1 nats. Needs `$EBM_DATA` (see DESIGN.md).

use ebm::core::train::LoopConfig;
use ebm::data::Dataset;
use ebm::data::mnist::{Split, load};
use ebm::rbm::gaussian::{
    GaussianMethod, GaussianTrainConfig, gaussian_ais_log_partition, train_gaussian_rbm,
};

#[test]
fn trained_gaussian_rbm_ais_matches_exact_log_z() {
    let Some(dir) = ebm::data::data_dir::for_tests("mnist") else {
        return;
    };
    let train = load(&dir, Split::Train).unwrap().head(3000);
    let config = GaussianTrainConfig {
        n_hidden: 16,
        method: GaussianMethod::ContrastiveDivergence,
        learn_variance: true,
        optimizer: GaussianTrainConfig::default()
            .optimizer
            .with_learning_rate(0.005),
        run: LoopConfig {
            threads: 2,
            ..GaussianTrainConfig::default().run.with_batches(5, 50)
        },
        ..GaussianTrainConfig::default()
    };
    let model = train_gaussian_rbm(&config, &train, &mut ebm::core::train::NoObserver).unwrap();
    let exact = model.exact_log_partition().unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let ais = pool
        .install(|| gaussian_ais_log_partition(&model, 100, 2000, 7))
        .unwrap();
    let test: Dataset = model.standardize(&load(&dir, Split::Test).unwrap().head(1000));
    let ll_exact = model.log_likelihood(&test, exact);
    let ll_ais = model.log_likelihood(&test, ais.log_z);
    println!(
        "ln Z exact {exact:.4}, AIS {:.4} ± {:.4}; test log-likelihood {ll_exact:.3} (exact) vs {ll_ais:.3} (AIS)",
        ais.log_z, ais.log_z_std
    );
    assert!(
        (ais.log_z - exact).abs() < 0.1,
        "AIS {} exact {exact}",
        ais.log_z
    );
    assert!(ll_exact.is_finite());
}
