//! The binary RBM as a [`MinibatchModel`] of the training core.

use super::TrainState;
use super::step::{Workspace, gradient};
use crate::RbmError;
use crate::metrics::reconstruction_error;
use ebm_core::train::{
    self, BatchContext, GradientScale, MinibatchModel, ParameterBlock, Step, TrainObserver,
    TrainSummary,
};
use ebm_data::Dataset;

/// The data and buffers of a [`TrainState`]'s training, as the training loop drives it.
struct BinaryTrainer<'a> {
    data: &'a Dataset,
    data_is_binary: bool,
    monitor: Dataset,
    workspace: Workspace,
}

impl MinibatchModel for BinaryTrainer<'_> {
    type Error = RbmError;
    type State = TrainState;
    type Observed = TrainState;

    fn compute_gradient(&mut self, mut step: Step<'_, Self>) -> Result<GradientScale, RbmError> {
        let n_visible = step.state.model.n_visible();
        self.workspace
            .load_batch(&self.data.features, step.rows, n_visible);
        gradient(
            step.state,
            &mut self.workspace,
            step.rows.len(),
            self.data_is_binary,
            &mut step.rng,
            step.context.par,
        );
        Ok(GradientScale::Mean)
    }

    fn visit_blocks(&mut self, state: &mut TrainState, visit: &mut dyn FnMut(ParameterBlock<'_>)) {
        let (weights, visible_bias, hidden_bias) = state.model.parameters_mut();
        let [weight_state, visible_state, hidden_state] = &mut state.optimizer_state;
        let ws = &self.workspace;
        ParameterBlock::visit_all(
            visit,
            [
                (weights, &ws.weight_grad, weight_state, true),
                (visible_bias, &ws.visible_grad, visible_state, false),
                (hidden_bias, &ws.hidden_grad, hidden_state, false),
            ],
        );
    }

    /// Also counts the epoch in the state, so the observer checkpoints it (a divergence
    /// found by the metric restores the state with the count before it).
    fn end_epoch(
        &mut self,
        state: &mut TrainState,
        context: &BatchContext,
    ) -> Result<Vec<(&'static str, f64)>, RbmError> {
        state.epochs_done = context.epoch + 1;
        let recon = reconstruction_error(&state.model, &self.monitor, context.par)?;
        Ok(vec![("recon_error", recon)])
    }

    fn observed(state: &TrainState) -> &TrainState {
        state
    }

    fn n_examples(&self) -> usize {
        self.data.n_examples
    }
}

/// Run the remaining epochs (`state.epochs_done .. state.config.epochs`) on `data`.
///
/// Random numbers come from streams keyed by `(seed, epoch, batch)`, so results are
/// bit-identical for any thread count and a resumed run matches an uninterrupted one.
/// Each epoch reports the metric `recon_error` (mean squared reconstruction error per
/// example on the first `monitor_examples` training examples).
///
/// # Errors
///
/// [`RbmError::InvalidSetting`] for a bad setting, [`RbmError::DataMismatch`] when the
/// data do not fit the model, and [`RbmError::Train`] when training diverged (non-finite
/// parameters, or any |parameter| above `max_abs_parameter`: the whole state, model,
/// optimizer and chains, is then restored to the last good epoch) or the observer stopped
/// it.
///
/// # Examples
///
/// ```
/// use ebm_rbm::train::{train, NoObserver, TrainConfig, TrainState};
/// let data = ebm_data::bars_and_stripes::dataset(4);
/// let mut config = TrainConfig { n_hidden: 8, ..TrainConfig::default() };
/// (config.run.epochs, config.run.batch_size) = (5, 10);
/// let mut state = TrainState::new(config, &data)?;
/// let summary = train(&mut state, &data, &mut NoObserver)?;
/// assert_eq!((summary.epochs_run, state.epochs_done), (5, 5));
/// assert!(summary.metric("recon_error").unwrap() < 16.0);
/// # Ok::<(), ebm_rbm::RbmError>(())
/// ```
pub fn train(
    state: &mut TrainState,
    data: &Dataset,
    observer: &mut dyn TrainObserver<TrainState>,
) -> Result<TrainSummary, RbmError> {
    state.config.validate()?;
    let (n_visible, n_hidden) = (state.model.n_visible(), state.model.n_hidden());
    if data.n_features != n_visible {
        return Err(RbmError::DataMismatch(format!(
            "data has {} features, the model {n_visible} visible units",
            data.n_features
        )));
    }
    if data.n_examples == 0 {
        return Err(RbmError::DataMismatch("the training set is empty".into()));
    }
    let (run, optimizer) = (state.config.run, state.config.optimizer);
    let workspace = Workspace::new(n_visible, n_hidden, &state.config);
    let mut trainer = BinaryTrainer {
        data_is_binary: data.is_binary(),
        monitor: data.head(state.config.monitor_examples.max(1)),
        workspace,
        data,
    };
    let mut epochs_done = state.epochs_done;
    let result = train::train(
        &mut trainer,
        state,
        &run,
        &optimizer,
        &mut epochs_done,
        observer,
    );
    state.epochs_done = epochs_done;
    result
}
