//! A check every model kind's tests run: the divergence guard restores exactly the state
//! of the last good epoch.

use super::{LoopConfig, MinibatchModel, OnEpoch, OptimizerConfig, train};
use std::borrow::Borrow;
use std::fmt::Debug;

/// Check that a divergence restores the last good epoch, for any model kind.
///
/// A first run, with no bound on the parameters, records the largest |parameter| after
/// every epoch (`largest` measures it on what the observer sees); the parameters must grow.
/// A second run, from a fresh `(model, state)`, bounds them halfway between their size
/// after epoch 1 and their peak, so some later epoch crosses the bound. That run must fail
/// after at least one good epoch, and `state` must then show exactly what the observer saw
/// after the last good epoch. Returns the number of good epochs.
///
/// # Errors
///
/// A message saying which expectation failed.
///
/// # Examples
///
/// Used by the tests of every trainer in ebm-rbm and ebm-cf.
pub fn check_rollback<M>(
    new: impl Fn() -> (M, M::State),
    run: &LoopConfig,
    optimizer: &OptimizerConfig,
    largest: impl Fn(&M::Observed) -> f32 + Sync,
) -> Result<usize, String>
where
    M: MinibatchModel,
    M::Observed: ToOwned + PartialEq + Debug,
    <M::Observed as ToOwned>::Owned: Send,
    M::Error: std::fmt::Display,
{
    let (mut model, mut state) = new();
    let free = LoopConfig {
        max_abs_parameter: f32::MAX,
        ..*run
    };
    let mut sizes: Vec<f32> = Vec::new();
    let mut record = OnEpoch(|_: &_, seen: &M::Observed| sizes.push(largest(seen)));
    train(
        &mut model,
        &mut state,
        &free,
        optimizer,
        &mut 0,
        &mut record,
    )
    .map_err(|e| format!("the unbounded run failed: {e}"))?;
    let peak = sizes.iter().copied().fold(0.0, f32::max);
    if sizes.is_empty() || peak <= sizes[0] {
        return Err(format!("the parameters do not grow: {sizes:?}"));
    }
    let bounded = LoopConfig {
        max_abs_parameter: 0.5 * (sizes[0] + peak),
        ..*run
    };
    let (mut model, mut state) = new();
    let mut kept: Vec<<M::Observed as ToOwned>::Owned> = Vec::new();
    let mut keep = OnEpoch(|_: &_, seen: &M::Observed| kept.push(seen.to_owned()));
    let mut epochs_done = 0;
    if train(
        &mut model,
        &mut state,
        &bounded,
        optimizer,
        &mut epochs_done,
        &mut keep,
    )
    .is_ok()
    {
        return Err(format!("no divergence below {}", bounded.max_abs_parameter));
    }
    if epochs_done == 0 || kept.len() != epochs_done {
        return Err(format!(
            "{epochs_done} good epochs, {} seen by the observer",
            kept.len()
        ));
    }
    if kept.last().map(Borrow::borrow) != Some(M::observed(&state)) {
        return Err(format!(
            "the restored state differs from the one after epoch {epochs_done}"
        ));
    }
    Ok(epochs_done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::run::tests::{sgd, toy, two_batches};

    #[test]
    fn a_growing_model_rolls_back_and_a_flat_one_is_reported() {
        // A summed gradient of 1 over 5 rows at rate 1: +1 a batch, +2 an epoch (2, 4, ...,
        // 20); the bound 11 is crossed in epoch 6, after 5 good epochs.
        let fresh = || toy(usize::MAX);
        let (run, optimizer) = (two_batches(10), sgd(1.0, 0.0));
        let good = check_rollback(fresh, &run, &optimizer, |v: &[f32]| v[0].abs());
        assert_eq!(good, Ok(5));
        // A measure that never grows cannot show a rollback: the check says so.
        let flat = check_rollback(fresh, &run, &optimizer, |_: &[f32]| 1.0);
        assert!(flat.unwrap_err().contains("do not grow"));
    }
}
