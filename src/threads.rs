//! The `--threads` flag: a rayon pool of that many threads, or a bad-input failure.

use crate::Failure;

/// A rayon pool of `threads` threads; `--threads 0` is bad input (exit code 2).
pub fn pool(threads: usize) -> Result<rayon::ThreadPool, Failure> {
    if threads == 0 {
        return Err(Failure::input("--threads must be at least 1"));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Failure::run(format!("cannot start {threads} threads: {e}")))
}
