//! Single-variable marginals read off a joint table (a clique's, or the joint of some of
//! its variables) in about two passes, whatever the number of variables.

use crate::jtree::VariableMarginal;

/// Groups of trailing variables are summed together until they span this many entries.
const GROUP_MIN: usize = 16;

/// The normalized marginal of each variable of a joint table over `vars` (row-major,
/// with `cards`): the trailing variables, a group of at least [`GROUP_MIN`] entries at a
/// time, are read off the sum of the table's rows and then summed out, so all of them
/// cost about twice the table.
pub(crate) fn variable_marginals<T: Copy + Into<f64>>(
    joint: &[T],
    vars: &[usize],
    cards: &[usize],
) -> Vec<VariableMarginal> {
    let total: f64 = joint.iter().map(|&p| p.into()).sum();
    let mut owned: Option<Vec<f64>> = None;
    let mut out = Vec::with_capacity(vars.len());
    let mut k = vars.len();
    while k > 0 {
        let mut j = k;
        let mut group = 1;
        while j > 0 && group < GROUP_MIN {
            j -= 1;
            group *= cards[j];
        }
        let mut acc = vec![0.0; group];
        match &owned {
            Some(current) => add_rows(&mut acc, current),
            None => add_rows(&mut acc, joint),
        }
        let mut stride = group;
        for i in j..k {
            stride /= cards[i];
            let mut marginal = vec![0.0; cards[i]];
            for (index, &p) in acc.iter().enumerate() {
                marginal[(index / stride) % cards[i]] += p;
            }
            marginal.iter_mut().for_each(|m| *m /= total);
            out.push((vars[i], marginal));
        }
        if j > 0 {
            let next = match &owned {
                Some(current) => sums_of(current, group),
                None => sums_of(joint, group),
            };
            owned = Some(next);
        }
        k = j;
    }
    out
}

/// Add every row (`acc.len()` entries) of `table` into `acc`.
fn add_rows<T: Copy + Into<f64>>(acc: &mut [f64], table: &[T]) {
    for row in table.chunks_exact(acc.len()) {
        acc.iter_mut().zip(row).for_each(|(a, &p)| *a += p.into());
    }
}

/// The sum of each row (`group` entries) of `table`.
fn sums_of<T: Copy + Into<f64>>(table: &[T], group: usize) -> Vec<f64> {
    table
        .chunks_exact(group)
        .map(|row| row.iter().map(|&p| p.into()).sum())
        .collect()
}
