//! Helpers shared by the kernels' unit tests.

use crate::Parallelism;

/// `run(Parallelism::Sequential)` on the calling thread, then `run(Parallelism::Threads(2))`
/// inside a fresh two-thread rayon pool: both results, for tests that a kernel's output
/// does not depend on `par`.
pub(crate) fn sequential_and_threaded<T: Send>(run: impl Fn(Parallelism) -> T + Sync) -> (T, T) {
    let sequential = run(Parallelism::Sequential);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let threaded = pool.install(|| run(Parallelism::Threads(2)));
    (sequential, threaded)
}
