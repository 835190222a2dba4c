//! Trace branch and bound with soft arc consistency on a UAI model: each incumbent's
//! time and energy, the nodes, and whether the search finished.
//!
//! `cargo run --release -p ebm-factor --example bnb_trace -- MODEL.uai [EVID] [SECONDS] [cold|dual] [FIRST.MPE]`
//! (`cold`: search the model itself rather than MPLP's reparametrization)

use ebm_data::uai;
use ebm_factor::FactorModel;
use ebm_factor::bnb::{BnbConfig, branch_and_bound};
use ebm_factor::dual::{DualConfig, mplp_reparametrized};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = PathBuf::from(
        args.first()
            .ok_or("usage: bnb_trace MODEL.uai [EVID] [SECONDS]")?,
    );
    let parsed = uai::read(&path)?;
    let mut model = FactorModel::from_uai(&parsed);
    if let Some(evid) = args.get(1).filter(|a| !a.is_empty() && a.as_str() != "-") {
        for (v, x) in uai::read_evidence(&PathBuf::from(evid), &parsed)? {
            model.set_evidence(v, x)?;
        }
    }
    let seconds: f64 = args.get(2).map_or(Ok(60.0), |s| s.parse())?;
    let start = Instant::now();
    let (dual, reparametrized) = mplp_reparametrized(&model, &DualConfig::default())?;
    println!(
        "mplp {:.3} s: energy {} bound {:?}",
        start.elapsed().as_secs_f64(),
        dual.energy,
        dual.lower_bound
    );
    // An MPE file (`MPE`, then `n x1 .. xn`) as the first incumbent, when given.
    let initial = match args.get(4) {
        Some(mpe) => std::fs::read_to_string(mpe)?
            .split_whitespace()
            .skip(2)
            .map(str::parse)
            .collect::<Result<Vec<usize>, _>>()?,
        None => dual.assignment.clone(),
    };
    let config = BnbConfig {
        time_limit: Some(Duration::from_secs_f64(seconds)),
        initial: Some(initial),
        arc_consistency: true,
        ..BnbConfig::default()
    };
    let cold = args.get(3).is_some_and(|a| a == "cold");
    let r = branch_and_bound(if cold { &model } else { &reparametrized }, &config)?;
    for (t, e) in &r.improvements {
        println!("  {t:.3} s: {e}");
    }
    println!(
        "bnb {:.3} s: energy {} (model {}) bound {:?} nodes {} complete {}",
        start.elapsed().as_secs_f64(),
        r.solution.energy,
        model.energy(&r.solution.assignment),
        r.solution.lower_bound,
        r.solution.iterations,
        r.complete
    );
    Ok(())
}
