//! Models and evidence of probability zero (`Z = 0`): exact inference, BP and Gibbs say
//! so with a typed error instead of NaN marginals, `-inf` or confident marginals.

use ebm_factor::bp::{BpConfig, Semiring, loopy_bp};
use ebm_factor::exact::{self, DEFAULT_MAX_TABLE};
use ebm_factor::gibbs::{GibbsConfig, estimate_marginals};
use ebm_factor::{FactorError, FactorModel};

const FORBIDDEN: f64 = f64::INFINITY;

/// `x_0 = x_1 = x_2` as two equality tables over binary variables.
fn equal_chain() -> FactorModel {
    let mut m = FactorModel::new(vec![2, 2, 2]);
    for (a, b) in [(0, 1), (1, 2)] {
        m.add_energy_factor(&[a, b], &[0.0, FORBIDDEN, FORBIDDEN, 0.0])
            .unwrap();
    }
    m
}

/// What exact `ln Z` and marginals, sum-product BP and Gibbs say about `m`.
fn answers(m: &FactorModel) -> [Result<(), FactorError>; 4] {
    let gibbs = GibbsConfig {
        chains: 2,
        burn_in: 5,
        sweeps: 20,
        ..GibbsConfig::default()
    };
    [
        exact::log_partition(m, DEFAULT_MAX_TABLE).map(drop),
        exact::marginals(m, DEFAULT_MAX_TABLE).map(drop),
        loopy_bp(m, Semiring::SumProduct, &BpConfig::default()).map(drop),
        estimate_marginals(m, &gibbs).map(drop),
    ]
}

fn is_zero_probability(result: &Result<(), FactorError>, says: &str) -> bool {
    matches!(result, Err(e @ FactorError::ZeroProbability(_)) if e.to_string().contains(says))
}

/// Every method on `m` says that it has probability zero, in words containing `says`.
fn all_say_zero_probability(m: &FactorModel, says: &str) {
    for (method, result) in ["exact pr", "exact mar", "bp", "gibbs"]
        .iter()
        .zip(answers(m))
    {
        assert!(is_zero_probability(&result, says), "{method}: {result:?}");
    }
}

#[test]
fn an_all_zero_table_has_probability_zero_for_every_method() {
    let mut m = FactorModel::new(vec![2, 2]);
    m.add_energy_factor(&[0, 1], &[FORBIDDEN; 4]).unwrap();
    all_say_zero_probability(&m, "the model has probability zero (Z = 0): factor 0");
}

#[test]
fn impossible_evidence_has_probability_zero_for_every_method() {
    // Local: both ends of one equality, with different values.
    let mut local = equal_chain();
    local.set_evidence(0, 0).unwrap();
    local.set_evidence(1, 1).unwrap();
    all_say_zero_probability(&local, "the evidence has probability zero");
    // Spread over two factors: exact elimination and BP's messages find it; Gibbs finds
    // no state of positive probability.
    let mut spread = equal_chain();
    spread.set_evidence(0, 0).unwrap();
    spread.set_evidence(2, 1).unwrap();
    let [pr, mar, bp, gibbs] = answers(&spread);
    assert!(is_zero_probability(&pr, "Z = 0"), "{pr:?}");
    assert!(is_zero_probability(&mar, "variable 1"), "{mar:?}");
    assert!(is_zero_probability(&bp, "variable 1"), "{bp:?}");
    assert!(
        matches!(&gibbs, Err(FactorError::NoPositiveState(m)) if m.contains("positive probability")),
        "{gibbs:?}"
    );
}

#[test]
fn hard_zeros_with_possible_evidence_still_give_marginals() {
    let mut m = equal_chain();
    m.set_evidence(0, 1).unwrap();
    for (method, result) in ["exact pr", "exact mar", "bp", "gibbs"]
        .iter()
        .zip(answers(&m))
    {
        assert!(result.is_ok(), "{method}: {result:?}");
    }
    let marginals = exact::marginals(&m, DEFAULT_MAX_TABLE).unwrap();
    assert_eq!(marginals[2], vec![0.0, 1.0]);
}
