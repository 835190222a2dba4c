//! Large neighbourhood search against the MAP references of the two models where
//! connected blocks alone stall: Promedas_11 (toulbar2's proven optimum, energy 48.344)
//! and pedigree9 (282.997, the data README's value). The issue asks for 0.5%; the
//! searches use move budgets (not time limits) so the result does not depend on the
//! machine, and reach the references themselves (checked to 1e-3).

use ebm_data::uai;
use ebm_factor::FactorModel;
use ebm_factor::bnb::{BnbConfig, branch_and_bound};
use ebm_factor::bp::{BpConfig, max_product_map};
use ebm_factor::lns::{LnsConfig, large_neighbourhood_search};

fn lns_energy(root: &std::path::Path, name: &str, moves: usize) -> f64 {
    let path = root.join(format!("{name}.uai"));
    let parsed = uai::read(&path).unwrap();
    let mut model = FactorModel::from_uai(&parsed);
    let evidence = root.join(format!("{name}.uai.evid"));
    if evidence.exists() {
        for (v, x) in uai::read_evidence(&evidence, &parsed).unwrap() {
            model.set_evidence(v, x).unwrap();
        }
    }
    // The CLI's start: max-product BP's decoding, or branch and bound's first feasible
    // assignment when BP's breaks a hard constraint (pedigree9).
    let bp = max_product_map(&model, &BpConfig::default()).unwrap();
    let start = if bp.energy.is_finite() {
        bp.assignment
    } else {
        let first = BnbConfig {
            first_solution: true,
            ..BnbConfig::default()
        };
        branch_and_bound(&model, &first)
            .unwrap()
            .solution
            .assignment
    };
    let config = LnsConfig {
        neighbourhood: 80,
        moves,
        time_limit: None,
        ..LnsConfig::default()
    };
    large_neighbourhood_search(&model, start, &config)
        .unwrap()
        .energy
}

#[test]
fn lns_reaches_the_references_on_promedas_and_pedigree() {
    let Some(root) = ebm_data::data_dir::for_tests("uai") else {
        return;
    };
    let promedas = lns_energy(&root.join("map"), "Promedas_11", 300);
    assert!((promedas - 48.344).abs() < 1e-3, "Promedas_11: {promedas}");
    let pedigree = lns_energy(&root.join("toulbar2"), "pedigree9", 600);
    assert!((pedigree - 282.997).abs() < 1e-3, "pedigree9: {pedigree}");
}
