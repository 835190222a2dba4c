//! What the examples share: reading their optional positional arguments
//! (`cargo run --example NAME -- A B C`).

use std::str::FromStr;

/// The positional argument `index` (counted from 1, as `std::env::args` does) parsed as a
/// `T`, or `default` when it is not given.
pub fn arg<T: FromStr>(index: usize, default: T) -> Result<T, T::Err> {
    std::env::args()
        .nth(index)
        .map_or(Ok(default), |s| s.parse())
}
