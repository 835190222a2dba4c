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

/// A random model of `n` variables with 2 or 3 values and `n + 2` tables over one to
/// three variables, about a third of whose entries are zero (`+inf` energy), from `seed`:
/// for testing determinism-aware inference against enumeration. It may have `Z = 0`.
pub(crate) fn random_with_zeros(seed: u64, n: usize) -> FactorModel {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    let domains: Vec<usize> = (0..n).map(|_| 2 + next(2)).collect();
    let mut m = FactorModel::new(domains.clone());
    for _ in 0..n + 2 {
        let size = 1 + next(3);
        let mut scope: Vec<usize> = Vec::new();
        while scope.len() < size.min(n) {
            let v = next(n);
            if !scope.contains(&v) {
                scope.push(v);
            }
        }
        let entries: usize = scope.iter().map(|&v| domains[v]).product();
        let energies: Vec<f64> = (0..entries)
            .map(|_| {
                if next(3) == 0 {
                    f64::INFINITY
                } else {
                    next(100) as f64 / 50.0 - 1.0
                }
            })
            .collect();
        m.add_energy_factor(&scope, &energies).unwrap();
    }
    m
}

/// Every assignment of `model`'s variables (row-major, last fastest) with its weight
/// `exp(-energy)`.
pub(crate) fn enumerate(model: &FactorModel) -> Vec<(Vec<usize>, f64)> {
    let domains = model.domains();
    let total: usize = domains.iter().product();
    let mut x = vec![0usize; domains.len()];
    let mut out = Vec::with_capacity(total);
    for _ in 0..total {
        out.push((x.clone(), (-model.energy(&x)).exp()));
        crate::table::advance(&mut x, domains);
    }
    out
}
