//! Calibration of a classifier's probabilities `p(y | x)`: the reliability of its
//! confidence (the largest probability of each example) in equal-width bins, the expected
//! calibration error, and temperature scaling: `p_T(y | x) = softmax(log p(y | x) / T)`
//! with the one `T` that minimizes the negative log-likelihood of held-out labels
//! (`T > 1` flattens the probabilities, `T < 1` sharpens them; the most probable class
//! never changes, so the error rate does not either).
//!
//! Every function takes *log*-probabilities (or logits: the softmax of `z / T` is the same
//! whether `z` are logits or their log-softmax), `n x classes` row-major, and labels in
//! `0..classes`.
//!
//! ```
//! use ebm_core::calibration::{Calibration, fit_temperature};
//! // Two classes, an overconfident classifier: it says 0.99 and is right 3 times in 4.
//! let confident = [0.99f32.ln(), 0.01f32.ln()];
//! let log_probs: Vec<f32> = confident.repeat(4);
//! let labels = [0u8, 0, 0, 1];
//! let before = Calibration::measure(&log_probs, 2, &labels, 10)?;
//! assert!((before.ece - 0.24).abs() < 1e-6); // confidence 0.99, accuracy 0.75
//! let t = fit_temperature(&log_probs, 2, &labels)?;
//! assert!(t > 1.0); // flatten
//! let after = Calibration::measure_at(&log_probs, 2, &labels, 10, t)?;
//! assert!(after.ece < 1e-3); // confidence now 0.75
//! # Ok::<(), ebm_core::InvalidSetting>(())
//! ```

use crate::InvalidSetting;

/// One bin of a reliability diagram: the examples whose confidence lies in
/// `[low, high)` (the last bin includes 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Bin {
    /// Lower edge of the bin.
    pub low: f64,
    /// Upper edge of the bin.
    pub high: f64,
    /// Examples in the bin.
    pub count: usize,
    /// Their mean confidence (NaN when the bin is empty).
    pub confidence: f64,
    /// The share of them classified correctly (NaN when the bin is empty).
    pub accuracy: f64,
}

/// How well a classifier's confidence matches its accuracy on labeled examples.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The reliability diagram, equal-width bins over `[0, 1]`.
    pub bins: Vec<Bin>,
    /// Expected calibration error: `sum_b (n_b / n) |accuracy_b - confidence_b|`.
    pub ece: f64,
    /// Mean negative log-likelihood of the labels, nats per example.
    pub nll: f64,
    /// The share of examples whose most probable class is not their label.
    pub error: f64,
    /// The temperature the probabilities were taken at.
    pub temperature: f64,
}

impl Calibration {
    /// Calibration of the probabilities `log_probs` as they are (temperature 1), in
    /// `n_bins` bins.
    ///
    /// # Errors
    ///
    /// [`InvalidSetting`] when the shapes disagree, there are no examples, a label is not
    /// below `classes`, a value is NaN, or `n_bins` is 0.
    pub fn measure(
        log_probs: &[f32],
        classes: usize,
        labels: &[u8],
        n_bins: usize,
    ) -> Result<Self, InvalidSetting> {
        Self::measure_at(log_probs, classes, labels, n_bins, 1.0)
    }

    /// Calibration of `softmax(log_probs / temperature)`.
    ///
    /// # Errors
    ///
    /// As [`Calibration::measure`], and when `temperature` is not positive and finite.
    pub fn measure_at(
        log_probs: &[f32],
        classes: usize,
        labels: &[u8],
        n_bins: usize,
        temperature: f64,
    ) -> Result<Self, InvalidSetting> {
        check(log_probs, classes, labels)?;
        InvalidSetting::require(n_bins > 0, "bins", "must be at least 1")?;
        InvalidSetting::require(
            temperature.is_finite() && temperature > 0.0,
            "temperature",
            "must be positive",
        )?;
        let inverse = 1.0 / temperature;
        let mut counts = vec![0usize; n_bins];
        let mut confidence_sums = vec![0.0f64; n_bins];
        let mut correct = vec![0usize; n_bins];
        let (mut nll, mut wrong) = (0.0f64, 0usize);
        for (row, &label) in log_probs.chunks_exact(classes).zip(labels) {
            let scaled = Scaled::of(row, inverse);
            let label = usize::from(label);
            nll -= scaled.log_probability(row, label);
            let confidence = scaled.log_probability(row, scaled.best).exp();
            let bin = ((confidence * n_bins as f64) as usize).min(n_bins - 1);
            counts[bin] += 1;
            confidence_sums[bin] += confidence;
            if scaled.best == label {
                correct[bin] += 1;
            } else {
                wrong += 1;
            }
        }
        let n = labels.len() as f64;
        let mut ece = 0.0;
        let bins = (0..n_bins)
            .map(|b| {
                let count = counts[b];
                let (confidence, accuracy) = if count == 0 {
                    (f64::NAN, f64::NAN)
                } else {
                    let c = count as f64;
                    (confidence_sums[b] / c, correct[b] as f64 / c)
                };
                if count > 0 {
                    ece += count as f64 / n * (accuracy - confidence).abs();
                }
                Bin {
                    low: b as f64 / n_bins as f64,
                    high: (b + 1) as f64 / n_bins as f64,
                    count,
                    confidence,
                    accuracy,
                }
            })
            .collect();
        Ok(Self {
            bins,
            ece,
            nll: nll / n,
            error: wrong as f64 / n,
            temperature,
        })
    }
}

/// One example's normalized log-probabilities `row` replaced by the probabilities
/// `softmax(row / temperature)` (at temperature 1: their exponentials, unchanged).
///
/// # Example
///
/// ```
/// use ebm_core::calibration::softmax_at;
/// let mut row = [0.5f32.ln(), 0.5f32.ln()];
/// softmax_at(&mut row, 3.0);
/// assert!((row[0] - 0.5).abs() < 1e-6 && (row[1] - 0.5).abs() < 1e-6);
/// ```
pub fn softmax_at(row: &mut [f32], temperature: f64) {
    if temperature == 1.0 {
        row.iter_mut().for_each(|v| *v = v.exp());
        return;
    }
    let scaled = Scaled::of(row, 1.0 / temperature);
    for v in row.iter_mut() {
        *v = (f64::from(*v) * scaled.inverse - scaled.log_norm).exp() as f32;
    }
}

/// A row's values times `inverse`, with their log-sum-exp and the index of the largest.
struct Scaled {
    inverse: f64,
    log_norm: f64,
    best: usize,
}

impl Scaled {
    fn of(row: &[f32], inverse: f64) -> Self {
        let (best, max) =
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if f64::from(v) > bv {
                        (i, f64::from(v))
                    } else {
                        (bi, bv)
                    }
                });
        let sum: f64 = row
            .iter()
            .map(|&v| ((f64::from(v) - max) * inverse).exp())
            .sum();
        Self {
            inverse,
            log_norm: max * inverse + sum.ln(),
            best,
        }
    }

    /// `log softmax(row * inverse)[class]`.
    fn log_probability(&self, row: &[f32], class: usize) -> f64 {
        f64::from(row[class]) * self.inverse - self.log_norm
    }
}

/// The shapes and values every function here needs.
fn check(log_probs: &[f32], classes: usize, labels: &[u8]) -> Result<(), InvalidSetting> {
    InvalidSetting::require(classes >= 2, "classes", "at least 2")?;
    InvalidSetting::require(!labels.is_empty(), "labels", "no examples")?;
    InvalidSetting::require(
        log_probs.len() == labels.len() * classes,
        "labels",
        "one label per row of probabilities",
    )?;
    InvalidSetting::require(
        labels.iter().all(|&l| usize::from(l) < classes),
        "labels",
        "a label is not below the number of classes",
    )?;
    InvalidSetting::require(
        log_probs.iter().all(|v| !v.is_nan()),
        "log_probs",
        "a probability is NaN",
    )
}

/// The temperature `T` that minimizes the mean negative log-likelihood of `labels` under
/// `softmax(log_probs / T)`, in `[1e-2, 1e2]`.
///
/// The likelihood is concave in the inverse temperature `b = 1 / T` (it is a linear term
/// minus a log-sum-exp of terms linear in `b`), so Newton's method on `b`, safeguarded by
/// bisection, finds the one optimum.
///
/// # Errors
///
/// As [`Calibration::measure`].
pub fn fit_temperature(
    log_probs: &[f32],
    classes: usize,
    labels: &[u8],
) -> Result<f64, InvalidSetting> {
    check(log_probs, classes, labels)?;
    let (mut low, mut high) = (1e-2f64, 1e2f64);
    let mut b = 1.0f64;
    for _ in 0..100 {
        let (slope, curvature) = nll_derivatives(log_probs, classes, labels, b);
        if slope > 0.0 {
            high = b;
        } else {
            low = b;
        }
        let newton = b - slope / curvature;
        let next = if curvature > 0.0 && newton > low && newton < high {
            newton
        } else {
            0.5 * (low + high)
        };
        if (next - b).abs() <= 1e-12 * b || high - low <= 1e-12 * b {
            b = next;
            break;
        }
        b = next;
    }
    Ok(1.0 / b)
}

/// The first and second derivatives in `b` of the mean NLL of `softmax(b z)`: per row
/// `E_p[z] - z_y` and `Var_p[z]`.
fn nll_derivatives(log_probs: &[f32], classes: usize, labels: &[u8], b: f64) -> (f64, f64) {
    let (mut slope, mut curvature) = (0.0, 0.0);
    for (row, &label) in log_probs.chunks_exact(classes).zip(labels) {
        let max = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let (mut weight_sum, mut mean, mut square) = (0.0, 0.0, 0.0);
        for &v in row {
            let z = f64::from(v);
            // -inf log-probabilities (probability 0) carry no weight.
            if z == f64::NEG_INFINITY {
                continue;
            }
            let w = ((z - max) * b).exp();
            let centered = z - max;
            weight_sum += w;
            mean += w * centered;
            square += w * centered * centered;
        }
        mean /= weight_sum;
        square /= weight_sum;
        slope += mean - (f64::from(row[usize::from(label)]) - max);
        curvature += square - mean * mean;
    }
    let n = labels.len() as f64;
    (slope / n, curvature / n)
}

/// The class of the largest of one row's class scores (log-probabilities, or
/// probabilities: any increasing function of them gives the same class); the first one on
/// ties.
pub fn most_probable(scores: &[f32]) -> usize {
    scores
        .iter()
        .enumerate()
        .fold((0usize, f32::NEG_INFINITY), |best, (y, &v)| {
            if v > best.1 { (y, v) } else { best }
        })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `softmax_at` against the softmax written out: T = 2 flattens, T = 0.5 sharpens,
    /// the probabilities sum to 1 (f32 rounding: 1e-6).
    #[test]
    fn softmax_at_a_temperature_is_the_scaled_softmax() {
        let p = [0.7f64, 0.2, 0.1];
        for t in [2.0, 0.5, 1.0] {
            let mut row: Vec<f32> = p.iter().map(|&q| q.ln() as f32).collect();
            softmax_at(&mut row, t);
            let z: f64 = p.iter().map(|&q| q.powf(1.0 / t)).sum();
            for (got, &q) in row.iter().zip(&p) {
                assert!((f64::from(*got) - q.powf(1.0 / t) / z).abs() < 1e-6, "{t}");
            }
            assert!((row.iter().map(|&v| f64::from(v)).sum::<f64>() - 1.0).abs() < 1e-6);
        }
    }

    /// Log-probabilities of a 3-class classifier that is right with probability `q` and
    /// says `p` for its choice, `n` rows.
    fn classifier(n: usize, p: f32, right_every: usize) -> (Vec<f32>, Vec<u8>) {
        let row = [p.ln(), ((1.0 - p) / 2.0).ln(), ((1.0 - p) / 2.0).ln()];
        let labels = (0..n)
            .map(|i| if i % right_every == 0 { 1 } else { 0 })
            .collect();
        (row.repeat(n), labels)
    }

    #[test]
    fn a_calibrated_classifier_has_zero_error_and_the_optimal_temperature_is_one() {
        // Says 0.75 and is right 3 times in 4: calibrated exactly.
        let (log_probs, labels) = classifier(400, 0.75, 4);
        let c = Calibration::measure(&log_probs, 3, &labels, 15).unwrap();
        assert!(c.ece < 1e-6, "{}", c.ece);
        assert!((c.error - 0.25).abs() < 1e-12);
        // The expected NLL: -(0.75 ln 0.75 + 0.25 ln 0.125).
        let nll = -(0.75f64 * 0.75f64.ln() + 0.25 * 0.125f64.ln());
        assert!((c.nll - nll).abs() < 1e-6);
        // Labels not the confident class carry probability (1 - p) / 2 each; with equal
        // "other" classes temperature 1 is the likelihood optimum only when p matches the
        // accuracy, which it does.
        let t = fit_temperature(&log_probs, 3, &labels).unwrap();
        assert!((t - 1.0).abs() < 1e-3, "{t}");
    }

    #[test]
    fn temperature_flattens_an_overconfident_and_sharpens_an_underconfident_classifier() {
        let (over, labels) = classifier(400, 0.99, 4);
        let t_over = fit_temperature(&over, 3, &labels).unwrap();
        assert!(t_over > 1.0);
        let after = Calibration::measure_at(&over, 3, &labels, 15, t_over).unwrap();
        assert!(after.ece < 1e-3, "{}", after.ece);
        let (under, labels) = classifier(400, 0.5, 4);
        let t_under = fit_temperature(&under, 3, &labels).unwrap();
        assert!(t_under < 1.0);
        // At the optimum the slope of the NLL in 1/T vanishes: check by differences.
        let nll = |t: f64| {
            Calibration::measure_at(&under, 3, &labels, 15, t)
                .unwrap()
                .nll
        };
        let best = nll(t_under);
        assert!(best <= nll(t_under * 1.01) && best <= nll(t_under / 1.01));
        // The most probable class never changes.
        assert_eq!(
            after.error,
            Calibration::measure(&over, 3, &labels, 15).unwrap().error
        );
    }

    #[test]
    fn bins_hold_every_example_and_confidence_one_falls_in_the_last_bin() {
        let log_probs = [0.0f32, f32::NEG_INFINITY, 0.6f32.ln(), 0.4f32.ln()];
        let c = Calibration::measure(&log_probs, 2, &[0, 1], 10).unwrap();
        assert_eq!(c.bins.iter().map(|b| b.count).sum::<usize>(), 2);
        assert_eq!(c.bins[9].count, 1);
        assert_eq!(c.bins[6].count, 1);
        // |1 - 1| / 2 + |0 - 0.6| / 2.
        assert!((c.ece - 0.3).abs() < 1e-6);
        assert!(c.bins[0].confidence.is_nan());
    }

    #[test]
    fn bad_shapes_and_labels_are_refused() {
        let lp = [0.5f32.ln(); 4];
        assert!(Calibration::measure(&lp, 2, &[0], 10).is_err());
        assert!(Calibration::measure(&lp, 2, &[0, 2], 10).is_err());
        assert!(Calibration::measure(&lp, 2, &[0, 1], 0).is_err());
        assert!(Calibration::measure(&[], 2, &[], 10).is_err());
        assert!(Calibration::measure_at(&lp, 2, &[0, 1], 10, 0.0).is_err());
        assert!(fit_temperature(&[f32::NAN; 4], 2, &[0, 1]).is_err());
    }
}
