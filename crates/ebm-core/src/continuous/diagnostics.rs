//! Moments and effective sample size of a chain.

/// Mean and covariance (row-major, divided by `n - 1`) of `n` rows of `dim` values.
pub fn mean_and_covariance(samples: &[f64], dim: usize) -> (Vec<f64>, Vec<f64>) {
    let n = samples.len() / dim.max(1);
    let mut mean = vec![0.0; dim];
    for row in samples.chunks_exact(dim) {
        for (m, &x) in mean.iter_mut().zip(row) {
            *m += x;
        }
    }
    for m in &mut mean {
        *m /= n.max(1) as f64;
    }
    let mut cov = vec![0.0; dim * dim];
    for row in samples.chunks_exact(dim) {
        for i in 0..dim {
            for j in 0..dim {
                cov[i * dim + j] += (row[i] - mean[i]) * (row[j] - mean[j]);
            }
        }
    }
    for c in &mut cov {
        *c /= (n.max(2) - 1) as f64;
    }
    (mean, cov)
}

/// Effective sample size `n / (1 + 2 sum_k rho_k)` of one series, with the
/// autocorrelations summed by Geyer's initial positive sequence (pairs of lags are added
/// while their sum stays positive). Never more than `n` times 10 (antithetic chains).
pub fn effective_sample_size(series: &[f64]) -> f64 {
    let n = series.len();
    if n < 4 {
        return n as f64;
    }
    let mean = series.iter().sum::<f64>() / n as f64;
    let centered: Vec<f64> = series.iter().map(|x| x - mean).collect();
    let variance = centered.iter().map(|x| x * x).sum::<f64>() / n as f64;
    if variance == 0.0 {
        return n as f64;
    }
    let autocorrelation = |lag: usize| -> f64 {
        centered[..n - lag]
            .iter()
            .zip(&centered[lag..])
            .map(|(a, b)| a * b)
            .sum::<f64>()
            / (n as f64 * variance)
    };
    let mut sum = 0.0;
    let mut lag = 1;
    while lag + 1 < n {
        let pair = autocorrelation(lag) + autocorrelation(lag + 1);
        if pair <= 0.0 {
            break;
        }
        sum += pair;
        lag += 2;
    }
    (n as f64 / (1.0 + 2.0 * sum)).min(10.0 * n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ebm_kernels::rng::{normal_f64, stream};

    #[test]
    fn ess_of_white_noise_and_of_an_ar1_process() {
        let mut rng = stream(5, 0, 0);
        let white: Vec<f64> = (0..20_000).map(|_| normal_f64(&mut rng)).collect();
        let ess = effective_sample_size(&white);
        // White noise: ESS ≈ n; the estimator's spread at this n is a few percent.
        assert!((ess / 20_000.0 - 1.0).abs() < 0.1, "{ess}");
        // AR(1) with phi = 0.9: ESS ≈ n (1 - phi) / (1 + phi) = n / 19.
        let mut x = 0.0;
        let ar: Vec<f64> = (0..200_000)
            .map(|_| {
                x = 0.9 * x + normal_f64(&mut rng);
                x
            })
            .collect();
        let ratio = 200_000.0 / effective_sample_size(&ar);
        assert!((ratio - 19.0).abs() < 3.0, "{ratio}");
        let (mean, cov) = mean_and_covariance(&[1.0, 2.0, 3.0, 6.0], 2);
        assert_eq!(mean, vec![2.0, 4.0]);
        assert_eq!(cov, vec![2.0, 4.0, 4.0, 8.0]);
    }
}
