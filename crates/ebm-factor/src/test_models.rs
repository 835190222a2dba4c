//! Small models shared by the unit tests of several inference modules.

use crate::FactorModel;

/// A ring of `n` ternary variables with uneven unaries and Potts couplings of both signs
/// (every third one attractive): frustrated, so local search can stall, yet exactly
/// solvable by elimination.
pub(crate) fn frustrated_ring(n: usize) -> FactorModel {
    let mut m = FactorModel::new(vec![3; n]);
    for v in 0..n {
        let unary: Vec<f64> = (0..3).map(|x| ((v * 7 + x * 3) % 5) as f64 * 0.3).collect();
        m.add_energy_factor(&[v], &unary).unwrap();
        m.add_potts(v, (v + 1) % n, if v % 3 == 0 { -0.5 } else { 0.9 })
            .unwrap();
    }
    m
}
