//! Exact inference on the UAI 2014 competition models in `$EBM_DATA/uai` against the
//! reference answers: `ln Z` (as log10) against the `.PR` files to 1e-3, marginals against
//! the `.MAR` files to 1e-4, and MAP values against the exact ln MPE values listed in the
//! data README to 1e-6 relative. Models whose tables exceed the memory bound are skipped
//! by name (linkage_11 is wide).

use ebm_data::uai;
use ebm_factor::{FactorModel, exact};
use std::path::Path;

fn load(dir: &Path, name: &str) -> FactorModel {
    let path = dir.join(format!("{name}.uai"));
    let model = uai::read(&path).unwrap();
    let evidence = uai::read_evidence(&dir.join(format!("{name}.uai.evid")), &model).unwrap();
    let mut m = FactorModel::from_uai(&model);
    for (v, x) in evidence {
        m.set_evidence(v, x).unwrap();
    }
    m
}

const MODELS: [&str; 6] = [
    "CSP_11",
    "DBN_11",
    "Grids_11",
    "Pedigree_11",
    "Promedus_11",
    "Segmentation_11",
];

#[test]
fn partition_functions_match_the_pr_files() {
    let Some(root) = ebm_data::data_dir::for_tests("uai") else {
        return;
    };
    let dir = root.join("pr");
    for name in MODELS {
        let m = load(&dir, name);
        let start = std::time::Instant::now();
        let log10_z =
            exact::log_partition(&m, exact::DEFAULT_MAX_TABLE).unwrap() / std::f64::consts::LN_10;
        let text = std::fs::read_to_string(dir.join(format!("{name}.uai.PR"))).unwrap();
        let want: f64 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
        println!(
            "{name}: log10 Z {log10_z:.6} (reference {want}), {:.3} s",
            start.elapsed().as_secs_f64()
        );
        assert!((log10_z - want).abs() < 1e-3, "{name}: {log10_z} vs {want}");
    }
}

#[test]
fn marginals_match_the_mar_files() {
    let Some(root) = ebm_data::data_dir::for_tests("uai") else {
        return;
    };
    for name in MODELS {
        let m = load(&root.join("pr"), name);
        let start = std::time::Instant::now();
        // The calibrated cliques are kept together: CSP_11 holds about 2^28 entries.
        let got = exact::marginals(&m, 1 << 29).unwrap();
        let path = root.join("mar").join(format!("{name}.uai.MAR"));
        let want = uai::parse_mar(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(got.len(), want.len(), "{name}");
        let worst = ebm_factor::max_abs_difference(&got, &want);
        println!(
            "{name}: max marginal error {worst:.2e}, {:.3} s",
            start.elapsed().as_secs_f64()
        );
        assert!(worst < 1e-4, "{name}: {worst}");
    }
}

#[test]
fn map_values_match_the_listed_mpe() {
    let Some(root) = ebm_data::data_dir::for_tests("uai") else {
        return;
    };
    let listed = [
        ("Grids_11", 387.8947885880),
        ("Pedigree_11", -65.7443172399),
        ("CSP_11", -3.6943128139),
        ("Segmentation_11", -56.0367885265),
        ("Promedus_11", -21.4245635236),
        ("DBN_11", 133.4641948065),
    ];
    for (name, want) in listed {
        let m = load(&root.join("pr"), name);
        let (assignment, value) = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE).unwrap();
        // The decoded assignment has the value found.
        assert!(
            ((-m.energy(&assignment)) - value).abs() < 1e-6 * value.abs().max(1.0),
            "{name}"
        );
        println!("{name}: ln MPE {value:.10} (reference {want})");
        assert!(
            (value - want).abs() < 1e-6 * want.abs().max(1.0),
            "{name}: {value} vs {want}"
        );
    }
}
