//! Synthetic rating data of a chosen shape, for benchmarks and tests: heavy-tailed
//! activity per user, Zipf-like item popularity, and ratings from a low-rank taste model
//! rounded to 1..5.

use crate::dataset::{RatingLevels, RatingsData};
use crate::{CfError, RatingMatrix};
use ebm_kernels::rng::{self, stream};
use rayon::prelude::*;

/// The size of a synthetic rating set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyntheticShape {
    /// Number of users.
    pub users: usize,
    /// Number of items.
    pub items: usize,
    /// Target number of ratings (met in expectation: per-user counts are random).
    pub ratings: usize,
    /// Seed.
    pub seed: u64,
}

impl SyntheticShape {
    /// The Netflix Prize training set's shape: 480,189 users, 17,770 movies, 100,480,507
    /// ratings.
    pub fn netflix() -> Self {
        Self {
            users: 480_189,
            items: 17_770,
            ratings: 100_480_507,
            seed: 1,
        }
    }

    /// The same shape with users and ratings scaled by `fraction` (items kept).
    pub fn scaled(self, fraction: f64) -> Self {
        Self {
            users: ((self.users as f64 * fraction).round() as usize).max(1),
            ratings: ((self.ratings as f64 * fraction).round() as usize).max(1),
            ..self
        }
    }
}

/// Latent dimensions of the taste model.
const TASTE_RANK: usize = 8;
/// Users per generation chunk (each chunk has its own random stream).
const USERS_PER_CHUNK: usize = 4096;

/// Generate a rating set of `shape` on the current rayon pool (identical for any thread
/// count).
pub fn generate(shape: SyntheticShape) -> Result<RatingsData, CfError> {
    if shape.users == 0 || shape.items < 2 || shape.ratings == 0 {
        return Err(CfError::BadRatings(
            "a synthetic shape needs users, at least 2 items and ratings".into(),
        ));
    }
    let mut item_rng = stream(shape.seed, 0, u64::MAX);
    // Popularity ~ 1 / (rank + 20)^0.9, as a cumulative table for inverse-CDF draws.
    let mut cumulative = Vec::with_capacity(shape.items);
    let mut total = 0.0f64;
    for i in 0..shape.items {
        total += 1.0 / ((i + 20) as f64).powf(0.9);
        cumulative.push(total);
    }
    let item_taste: Vec<f32> = (0..shape.items * TASTE_RANK)
        .map(|_| rng::normal_f64(&mut item_rng) as f32)
        .collect();
    let item_bias: Vec<f32> = (0..shape.items)
        .map(|_| 0.4 * rng::normal_f64(&mut item_rng) as f32)
        .collect();
    let mean_per_user = shape.ratings as f64 / shape.users as f64;
    let cap = shape.items / 2;
    let chunks: Vec<(Vec<usize>, Vec<u32>, Vec<u8>)> = (0..shape.users.div_ceil(USERS_PER_CHUNK))
        .into_par_iter()
        .map(|chunk| {
            let mut generator = stream(shape.seed, 1, chunk as u64);
            let first = chunk * USERS_PER_CHUNK;
            let last = (first + USERS_PER_CHUNK).min(shape.users);
            let mut lengths = Vec::with_capacity(last - first);
            let mut cols = Vec::new();
            let mut levels = Vec::new();
            let mut row: Vec<u32> = Vec::new();
            let mut taste = [0.0f32; TASTE_RANK];
            for _ in first..last {
                // Log-normal activity with sigma 1 and the requested mean.
                let z = rng::normal_f64(&mut generator);
                let count = (mean_per_user * (z - 0.5).exp())
                    .round()
                    .clamp(1.0, cap as f64);
                // Draw distinct items by popularity: redraw the repeats until `count`.
                let count = count as usize;
                row.clear();
                while row.len() < count {
                    for _ in row.len()..count {
                        let u = rng::uniform_f64(&mut generator) * total;
                        row.push(
                            cumulative.partition_point(|&c| c <= u).min(shape.items - 1) as u32
                        );
                    }
                    row.sort_unstable();
                    row.dedup();
                }
                for t in taste.iter_mut() {
                    *t = rng::normal_f64(&mut generator) as f32;
                }
                let user_bias = 0.3 * rng::normal_f64(&mut generator) as f32;
                for &item in &row {
                    let v = &item_taste[item as usize * TASTE_RANK..][..TASTE_RANK];
                    let affinity: f32 = taste.iter().zip(v).map(|(a, b)| a * b).sum();
                    let noise = 0.6 * rng::normal_f64(&mut generator) as f32;
                    let score =
                        3.6 + item_bias[item as usize] + user_bias + 0.35 * affinity + noise;
                    levels.push((score.round().clamp(1.0, 5.0) - 1.0) as u8);
                }
                cols.extend_from_slice(&row);
                lengths.push(row.len());
            }
            (lengths, cols, levels)
        })
        .collect();
    let total_entries: usize = chunks.iter().map(|c| c.1.len()).sum();
    let mut row_starts = Vec::with_capacity(shape.users + 1);
    row_starts.push(0usize);
    let mut cols = Vec::with_capacity(total_entries);
    let mut levels = Vec::with_capacity(total_entries);
    for (lengths, chunk_cols, chunk_levels) in chunks {
        for len in lengths {
            row_starts.push(row_starts.last().copied().unwrap_or(0) + len);
        }
        cols.extend_from_slice(&chunk_cols);
        levels.extend_from_slice(&chunk_levels);
    }
    let matrix = RatingMatrix::from_rows(shape.items, row_starts, cols, levels)?;
    let levels = RatingLevels::from_values([1.0, 2.0, 3.0, 4.0, 5.0])?;
    Ok(RatingsData::from_matrix(matrix, levels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_close_to_the_target_and_reproducible() {
        let shape = SyntheticShape {
            users: 3000,
            items: 500,
            ratings: 60_000,
            seed: 4,
        };
        let data = generate(shape).unwrap();
        assert_eq!(data.by_user.n_rows(), 3000);
        let n = data.by_user.n_entries() as f64;
        // The log-normal counts have the target mean (capped at half the items); with
        // sigma 1 and 3000 users the total's standard error is about 2.4%, so 10% is 4 se.
        assert!((n - 60_000.0).abs() < 6_000.0, "{n}");
        assert_eq!(generate(shape).unwrap(), data);
        let scaled = SyntheticShape::netflix().scaled(0.01);
        assert_eq!((scaled.users, scaled.items), (4802, 17_770));
    }
}
