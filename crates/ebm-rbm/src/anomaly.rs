//! Energy as an anomaly score: an RBM trained on normal data gives unusual inputs a high
//! free energy. A threshold is chosen on validation data at a target false-positive
//! rate; the ROC AUC measures the separation independently of any threshold.

use crate::BinaryRbm;
use ebm_data::Dataset;
use rayon::prelude::*;

/// Free energy `F(v)` of every row of `data` (higher: less like the training data). Runs
/// on the current rayon pool.
pub fn free_energies(model: &BinaryRbm, data: &Dataset) -> Vec<f64> {
    (0..data.n_examples)
        .into_par_iter()
        .map(|i| model.free_energy(data.row(i)))
        .collect()
}

/// How an example is scored (higher: more anomalous).
#[derive(Clone, Debug, PartialEq)]
pub enum Score {
    /// The free energy `F(x)`: `-ln p(x)` up to the constant `ln Z`.
    FreeEnergy,
    /// `F(x) - F_base(x)`: the log-likelihood ratio against independent pixels with the
    /// given logits (the normal data's base rates). It cancels what the RBM shares with
    /// the simplest model (mostly how much ink an image has), which otherwise dominates
    /// the free energy (Ren et al. 2019 make the same point for deep generative models).
    LikelihoodRatio {
        /// Logits of the independent-pixel model.
        base_logits: Vec<f32>,
    },
    /// Squared error of the mean-field reconstruction `p(x | E[h | x])`.
    Reconstruction,
}

/// The score of every row of `data`. Runs on the current rayon pool.
pub fn scores(model: &BinaryRbm, data: &Dataset, score: &Score) -> Vec<f64> {
    (0..data.n_examples)
        .into_par_iter()
        .map(|i| {
            let x = data.row(i);
            match score {
                Score::FreeEnergy => model.free_energy(x),
                Score::LikelihoodRatio { base_logits } => {
                    // F_base(x) = -sum_i [x_i a_i - softplus(a_i)] (normalized: ln Z = 0).
                    let base: f64 = x
                        .iter()
                        .zip(base_logits)
                        .map(|(&xi, &a)| {
                            xi as f64 * a as f64 - ebm_kernels::activation::softplus_f64(a as f64)
                        })
                        .sum();
                    model.free_energy(x) + base
                }
                Score::Reconstruction => {
                    let hidden = model.hidden_probabilities(x);
                    let recon = model.visible_probabilities(&hidden);
                    recon
                        .iter()
                        .zip(x)
                        .map(|(&r, &xi)| ((r - xi) as f64).powi(2))
                        .sum()
                }
            }
        })
        .collect()
}

/// Area under the ROC curve of `scores` as a detector (higher score: anomalous): the
/// probability that a random anomalous example scores above a random normal one, ties
/// counted half (the Mann-Whitney statistic). NaN when either set is empty.
pub fn roc_auc(normal: &[f64], anomalous: &[f64]) -> f64 {
    if normal.is_empty() || anomalous.is_empty() {
        return f64::NAN;
    }
    // Rank all scores together; ties share their average rank.
    let mut all: Vec<(f64, bool)> = normal
        .iter()
        .map(|&s| (s, false))
        .chain(anomalous.iter().map(|&s| (s, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_anomalous = 0.0f64;
    let mut start = 0;
    while start < all.len() {
        let mut end = start + 1;
        while end < all.len() && all[end].0 == all[start].0 {
            end += 1;
        }
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let anomalous_here = all[start..end].iter().filter(|x| x.1).count();
        rank_sum_anomalous += average_rank * anomalous_here as f64;
        start = end;
    }
    let (n_a, n_n) = (anomalous.len() as f64, normal.len() as f64);
    (rank_sum_anomalous - n_a * (n_a + 1.0) / 2.0) / (n_a * n_n)
}

/// The ROC curve of `scores` as a detector (higher score: anomalous): the points
/// `(false-positive rate, true-positive rate)` of flagging every score at or above each
/// distinct score, from `(0, 0)` to `(1, 1)`. Tied scores move both rates in one step (a
/// diagonal), so the area under the curve is [`roc_auc`]. Empty when either set is.
pub fn roc_curve(normal: &[f64], anomalous: &[f64]) -> Vec<(f64, f64)> {
    if normal.is_empty() || anomalous.is_empty() {
        return Vec::new();
    }
    let descending = |scores: &[f64]| {
        let mut sorted = scores.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        sorted
    };
    let (normal, anomalous) = (descending(normal), descending(anomalous));
    let (mut flagged_normal, mut flagged_anomalous) = (0, 0);
    let mut points = vec![(0.0, 0.0)];
    loop {
        let next = match (normal.get(flagged_normal), anomalous.get(flagged_anomalous)) {
            // The larger in the total order of f64 (NaN above everything).
            (Some(&n), Some(&a)) => std::cmp::max_by(n, a, f64::total_cmp),
            (Some(&n), None) => n,
            (None, Some(&a)) => a,
            (None, None) => break,
        };
        let passed = |sorted: &[f64], from: usize| {
            from + sorted[from..]
                .iter()
                .take_while(|s| s.total_cmp(&next).is_eq())
                .count()
        };
        flagged_normal = passed(&normal, flagged_normal);
        flagged_anomalous = passed(&anomalous, flagged_anomalous);
        points.push((
            flagged_normal as f64 / normal.len() as f64,
            flagged_anomalous as f64 / anomalous.len() as f64,
        ));
    }
    points
}

/// The threshold that flags about `false_positive_rate` of `normal_validation` scores:
/// their `1 - rate` quantile (a score above it is called anomalous).
pub fn threshold_at_false_positive_rate(
    normal_validation: &[f64],
    false_positive_rate: f64,
) -> f64 {
    assert!(!normal_validation.is_empty(), "no validation scores");
    let mut sorted = normal_validation.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rate = false_positive_rate.clamp(0.0, 1.0);
    let index = (((1.0 - rate) * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// Rates of a detector that flags scores above `threshold`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// The threshold.
    pub threshold: f64,
    /// Fraction of anomalous examples flagged.
    pub true_positive_rate: f64,
    /// Fraction of normal examples flagged.
    pub false_positive_rate: f64,
}

/// How a threshold does on labelled scores.
pub fn detection(normal: &[f64], anomalous: &[f64], threshold: f64) -> Detection {
    let rate =
        |s: &[f64]| s.iter().filter(|&&x| x > threshold).count() as f64 / s.len().max(1) as f64;
    Detection {
        threshold,
        true_positive_rate: rate(anomalous),
        false_positive_rate: rate(normal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_perfect_random_and_reversed_detectors() {
        assert_eq!(roc_auc(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
        assert_eq!(roc_auc(&[3.0, 4.0], &[1.0, 2.0]), 0.0);
        assert_eq!(roc_auc(&[1.0, 1.0], &[1.0]), 0.5);
        // 3 of the 4 (anomalous, normal) pairs are ordered correctly.
        assert_eq!(roc_auc(&[1.0, 3.0], &[2.0, 4.0]), 0.75);
        assert!(roc_auc(&[], &[1.0]).is_nan());
    }

    #[test]
    fn the_roc_curve_encloses_the_auc() {
        assert_eq!(
            roc_curve(&[1.0, 3.0], &[2.0, 4.0]),
            [(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)]
        );
        // Ties: one diagonal step.
        assert_eq!(roc_curve(&[1.0, 1.0], &[1.0]), [(0.0, 0.0), (1.0, 1.0)]);
        assert!(roc_curve(&[], &[1.0]).is_empty());
        let normal: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 / 7.0).collect();
        let anomalous: Vec<f64> = (0..90).map(|i| ((i * 53) % 89) as f64 / 5.0).collect();
        let curve = roc_curve(&normal, &anomalous);
        let area: f64 = curve
            .windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
            .sum();
        assert!((area - roc_auc(&normal, &anomalous)).abs() < 1e-12);
        assert_eq!(curve.last(), Some(&(1.0, 1.0)));
    }

    #[test]
    fn threshold_flags_the_requested_fraction() {
        let normal: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let t = threshold_at_false_positive_rate(&normal, 0.05);
        assert_eq!(t, 94.0);
        let d = detection(&normal, &[50.0, 99.5, 200.0], t);
        assert!((d.false_positive_rate - 0.05).abs() < 1e-12);
        assert!((d.true_positive_rate - 2.0 / 3.0).abs() < 1e-12);
    }
}
