//! The `--threads` flag: a rayon pool of that many threads, or a bad-input failure (the
//! CLI's one pool helper; [`crate::args::RunArgs`] is the flag itself).

use crate::Failure;

/// Refuse `--threads 0` (bad input, exit code 2).
pub fn check(threads: usize) -> Result<(), Failure> {
    if threads == 0 {
        Err(Failure::input("--threads must be at least 1"))
    } else {
        Ok(())
    }
}

/// A rayon pool of `threads` threads; `--threads 0` is bad input (exit code 2).
pub fn pool(threads: usize) -> Result<rayon::ThreadPool, Failure> {
    check(threads)?;
    ebm_core::thread_pool(threads).map_err(|e| Failure::run(e.message))
}
