//! Learning-rate and momentum schedules over epochs.

use serde::{Deserialize, Serialize};

/// How the learning rate changes over training.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum LearningRateSchedule {
    /// The same rate every epoch.
    Constant,
    /// Linear decay from the base rate at epoch 0 to `final_fraction` of it at the last epoch
    /// (Tieleman 2008 decays PCD's rate linearly to zero).
    Linear {
        /// Fraction of the base rate reached at the end.
        final_fraction: f32,
    },
    /// `base / (1 + rate * epoch)`.
    Inverse {
        /// Decay rate per epoch.
        rate: f32,
    },
    /// Cosine annealing towards zero, `base (1 + cos(pi epoch / total_epochs)) / 2`
    /// (Loshchilov & Hutter 2017; Liao et al. 2022 train Gaussian RBMs with it).
    Cosine,
}

impl LearningRateSchedule {
    /// The rate for `epoch` (0-based) of `total_epochs`, given the base rate.
    pub fn rate(&self, base: f32, epoch: usize, total_epochs: usize) -> f32 {
        match *self {
            LearningRateSchedule::Constant => base,
            LearningRateSchedule::Linear { final_fraction } => {
                let progress = if total_epochs <= 1 {
                    0.0
                } else {
                    epoch as f32 / (total_epochs - 1) as f32
                };
                base * (1.0 - progress * (1.0 - final_fraction))
            }
            LearningRateSchedule::Inverse { rate } => base / (1.0 + rate * epoch as f32),
            LearningRateSchedule::Cosine => {
                let progress = epoch as f64 / total_epochs.max(1) as f64;
                (base as f64 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())) as f32
            }
        }
    }
}

/// Momentum that switches from an initial to a final value (Hinton's guide: 0.5, then 0.9).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MomentumSchedule {
    /// Momentum for the first `switch_epoch` epochs.
    pub initial: f32,
    /// Momentum from `switch_epoch` on.
    pub final_value: f32,
    /// First epoch (0-based) that uses `final_value`.
    pub switch_epoch: usize,
}

impl MomentumSchedule {
    /// The same momentum throughout.
    pub fn constant(momentum: f32) -> Self {
        Self {
            initial: momentum,
            final_value: momentum,
            switch_epoch: 0,
        }
    }

    /// The momentum for `epoch` (0-based).
    pub fn momentum(&self, epoch: usize) -> f32 {
        if epoch < self.switch_epoch {
            self.initial
        } else {
            self.final_value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_formulas() {
        let lin = LearningRateSchedule::Linear {
            final_fraction: 0.0,
        };
        assert_eq!(lin.rate(0.1, 0, 11), 0.1);
        assert!((lin.rate(0.1, 5, 11) - 0.05).abs() < 1e-7);
        assert_eq!(lin.rate(0.1, 10, 11), 0.0);
        assert!((LearningRateSchedule::Inverse { rate: 1.0 }.rate(0.1, 1, 5) - 0.05).abs() < 1e-7);
        let m = MomentumSchedule {
            initial: 0.5,
            final_value: 0.9,
            switch_epoch: 5,
        };
        assert_eq!((m.momentum(4), m.momentum(5)), (0.5, 0.9));
        let cosine = LearningRateSchedule::Cosine;
        assert_eq!(cosine.rate(0.1, 0, 4), 0.1);
        assert!((cosine.rate(0.1, 2, 4) - 0.05).abs() < 1e-7);
        assert!(
            (cosine.rate(0.1, 3, 4) - 0.1 * (1.0 + (0.75 * std::f32::consts::PI).cos()) / 2.0)
                .abs()
                < 1e-7
        );
    }
}
