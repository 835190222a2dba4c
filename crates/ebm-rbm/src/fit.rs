//! The public entry point every model kind's trainer shares, written once.

/// Define `pub fn $name(config, data, observer) -> Result<$model, RbmError>`: build the
/// trainer and its state with `$trainer::new(config, data)`, fit them through all of
/// `config.run`'s epochs with the training core ([`ebm_core::train::fit`]) and hand back
/// the trained state's `model`. The doc comment written before the name becomes the
/// function's.
macro_rules! fit_function {
    ($(#[$doc:meta])* $name:ident($config:ty) -> $model:ty, by $trainer:ident) => {
        $(#[$doc])*
        pub fn $name(
            config: &$config,
            data: &ebm_data::Dataset,
            observer: &mut dyn ebm_core::train::TrainObserver<$model>,
        ) -> Result<$model, $crate::RbmError> {
            let (trainer, state) = $trainer::new(config, data)?;
            let trained =
                ebm_core::train::fit(trainer, state, &config.run, &config.optimizer, observer)?;
            Ok(trained.model)
        }
    };
}

pub(crate) use fit_function;
