//! The trainers' rayon pools.

use crate::RbmError;

/// A rayon pool of `threads` threads (`threads` was validated to be at least 1).
pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, RbmError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RbmError::InvalidConfig {
            setting: "threads",
            message: format!("cannot start {threads} threads: {e}"),
        })
}
