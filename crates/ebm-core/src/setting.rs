//! The one invalid-setting error every crate's error type carries.
//!
//! A setting names the field of a configuration struct (`batch_size`, `learning_rate`,
//! ...) in one vocabulary across crates, so a front end maps settings to its own flag
//! names in one place.

use thiserror::Error;

/// A setting is out of range.
///
/// ```
/// use ebm_core::InvalidSetting;
/// let error = InvalidSetting::new("batch_size", "must be at least 1");
/// assert_eq!(error.to_string(), "invalid setting `batch_size`: must be at least 1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("invalid setting `{setting}`: {message}")]
pub struct InvalidSetting {
    /// Name of the offending field or argument, e.g. `gibbs_steps`.
    pub setting: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl InvalidSetting {
    /// The error for `setting`, with what is wrong with it.
    pub fn new(setting: &'static str, message: impl Into<String>) -> Self {
        Self {
            setting,
            message: message.into(),
        }
    }

    /// `Ok(())` when `count` is at least 1, else "must be at least 1" for `setting`.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `setting` when `count` is 0.
    pub fn at_least_one(count: usize, setting: &'static str) -> Result<(), Self> {
        Self::require(count >= 1, setting, "must be at least 1")
    }

    /// `Ok(())` when `value` is a finite number >= 0, else the error for `setting`.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `setting` when `value` is negative, NaN or infinite.
    pub fn non_negative(value: f32, setting: &'static str) -> Result<(), Self> {
        Self::require(
            value.is_finite() && value >= 0.0,
            setting,
            "must be a non-negative number",
        )
    }

    /// `Ok(())` when `holds`, else the error for `setting`.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] for `setting` when `holds` is false.
    pub fn require(holds: bool, setting: &'static str, message: &str) -> Result<(), Self> {
        if holds {
            Ok(())
        } else {
            Err(Self::new(setting, message))
        }
    }
}

/// A rayon pool of `threads` threads.
///
/// # Errors
///
/// [`InvalidSetting`] for `threads` when it is 0 or the pool cannot start.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, InvalidSetting> {
    InvalidSetting::require(threads >= 1, "threads", "must be at least 1")?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| InvalidSetting::new("threads", format!("cannot start {threads} threads: {e}")))
}
