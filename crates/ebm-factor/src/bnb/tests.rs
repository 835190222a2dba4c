//! Branch and bound against elimination: optimality, infeasibility, node limits.

use super::*;
use crate::exact;

/// Models where a third of all pairwise entries are forbidden: the search closes and
/// reopens violated factors all the time, and must still prove the exact optimum
/// (an `inf - inf` in the running energy once made it report such models infeasible).
#[test]
fn proves_the_optimum_with_many_forbidden_entries() {
    for seed in 0..20u64 {
        let mut r = ebm_kernels::rng::stream(seed, 0, 0);
        let n = 10;
        let mut m = FactorModel::new(vec![3; n]);
        for v in 0..n {
            // Unary tables with a forbidden value too: they start with one open variable.
            let unary = [0.1 * v as f64, f64::INFINITY, 0.3];
            m.add_energy_factor(&[v], &unary).unwrap();
            for u in [(v + 1) % n, (v + 3) % n] {
                let table: Vec<f64> = (0..9)
                    .map(|_| {
                        let x = ebm_kernels::rng::uniform_f64(&mut r);
                        if x < 0.33 { f64::INFINITY } else { x }
                    })
                    .collect();
                m.add_energy_factor(&[v, u], &table).unwrap();
            }
        }
        let want = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE)
            .map(|(_, ln)| -ln)
            .unwrap();
        let got = branch_and_bound(&m, &BnbConfig::default()).unwrap();
        assert!(got.complete);
        assert!(
            (got.solution.energy - want).abs() < 1e-9 || (got.solution.energy == want),
            "seed {seed}: {} vs {want}",
            got.solution.energy
        );
    }
}

/// The smallest case of that bug: x1's forbidden value is tried (and its unary factor
/// closed, violated, and reopened) under x0 = 0 before the optimum x0 = 1 is reached.
#[test]
fn a_reopened_violation_does_not_poison_later_branches() {
    let mut m = FactorModel::new(vec![2, 2]);
    m.add_energy_factor(&[0], &[0.0, 1.0]).unwrap();
    m.add_energy_factor(&[1], &[0.0, f64::INFINITY]).unwrap();
    m.add_energy_factor(&[0, 1], &[10.0, 0.0, 0.0, 0.0])
        .unwrap();
    let got = branch_and_bound(&m, &BnbConfig::default()).unwrap();
    assert_eq!(got.solution.energy, 1.0);
    assert_eq!(got.solution.assignment, vec![1, 0]);
}

/// Branch and bound proves the exact optimum of soft models (against elimination) and
/// of a model with hard constraints of every kind, and proves infeasibility.
#[test]
fn proves_the_optimum_and_infeasibility() {
    let n = 9;
    let mut m = FactorModel::new(vec![3; n]);
    for v in 0..n {
        let unary: Vec<f64> = (0..3).map(|x| ((v * 5 + x * 7) % 4) as f64 * 0.4).collect();
        m.add_energy_factor(&[v], &unary).unwrap();
        let w: Vec<f64> = (0..9)
            .map(|i| {
                if i == 4 && v == 2 {
                    f64::INFINITY
                } else {
                    ((i * 3 + v) % 5) as f64 * 0.3
                }
            })
            .collect();
        m.add_energy_factor(&[v, (v + 1) % n], &w).unwrap();
    }
    m.add_potts(0, 5, -0.7).unwrap();
    m.add_all_different(&[1, 4, 7]).unwrap();
    m.add_equal(&[2, 8]).unwrap();
    m.set_evidence(3, 1).unwrap();
    let (_, ln_best) = exact::map_assignment(&m, exact::DEFAULT_MAX_TABLE).unwrap();
    let r = branch_and_bound(&m, &BnbConfig::default()).unwrap();
    assert!(r.complete);
    assert!(
        (r.solution.energy + ln_best).abs() < 1e-9,
        "{} vs {}",
        r.solution.energy,
        -ln_best
    );
    assert_eq!(r.solution.assignment[3], 1);
    assert_eq!(r.solution.lower_bound, Some(r.solution.energy));
    // A node limit stops early with a valid bound.
    let limited = BnbConfig {
        node_limit: Some(3),
        ..BnbConfig::default()
    };
    let r = branch_and_bound(&m, &limited).unwrap();
    assert!(!r.complete);
    assert!(r.solution.lower_bound.unwrap() <= -ln_best + 1e-9);
    // Four mutually different variables with three values: infeasible.
    let mut k4 = FactorModel::new(vec![3; 4]);
    k4.add_all_different(&[0, 1, 2, 3]).unwrap();
    let r = branch_and_bound(
        &k4,
        &BnbConfig {
            interchangeable_values: true,
            ..BnbConfig::default()
        },
    )
    .unwrap();
    assert!(r.complete);
    assert_eq!(r.solution.energy, f64::INFINITY);
    let mut amo = FactorModel::new(vec![2; 3]);
    amo.add_energy_factor(&[0], &[1.0, 0.0]).unwrap();
    amo.add_energy_factor(&[1], &[1.0, 0.0]).unwrap();
    amo.add_at_most_one(&[0, 1, 2]).unwrap();
    let r = branch_and_bound(&amo, &BnbConfig::default()).unwrap();
    assert_eq!(r.solution.energy, 1.0);
}
