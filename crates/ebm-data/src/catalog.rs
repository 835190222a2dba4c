//! Data sets by name, loaded and binarized the way the RBM tools use them.

use crate::binarize::{Binarization, binarize};
use crate::mnist::Split;
use crate::{DataError, Dataset, bars_and_stripes, mnist};
use std::path::Path;
use std::str::FromStr;

/// A named data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetName {
    /// MNIST from `<data>/mnist`.
    Mnist,
    /// The built-in 4x4 bars and stripes (no files needed).
    BarsAndStripes,
}

impl FromStr for DatasetName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mnist" => Ok(DatasetName::Mnist),
            "bars-and-stripes" => Ok(DatasetName::BarsAndStripes),
            other => Err(format!(
                "unknown dataset '{other}' (expected mnist or bars-and-stripes)"
            )),
        }
    }
}

/// Seed of the stochastic binarization of each MNIST split: fixed, so every model in the
/// toolkit sees the same binary data (train and test use different draws).
const BINARIZE_SEED_TRAIN: u64 = 0x5eed_0001;
const BINARIZE_SEED_TEST: u64 = 0x5eed_0002;

/// How grey levels become binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinarizeMode {
    /// Each pixel on with probability equal to its intensity, drawn once with a fixed seed
    /// (Salakhutdinov & Murray 2008).
    Stochastic,
    /// Pixel on when its intensity exceeds 0.5.
    Threshold,
}

impl FromStr for BinarizeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stochastic" => Ok(BinarizeMode::Stochastic),
            "threshold" => Ok(BinarizeMode::Threshold),
            other => Err(format!(
                "unknown binarization '{other}' (expected stochastic or threshold)"
            )),
        }
    }
}

/// Load `split` of `name` from `data_dir`, binarized. Bars and stripes has one split (its
/// 30 images serve as both).
pub fn load_binary(
    name: DatasetName,
    data_dir: &Path,
    split: Split,
    mode: BinarizeMode,
) -> Result<Dataset, DataError> {
    match name {
        DatasetName::BarsAndStripes => Ok(bars_and_stripes::dataset(4)),
        DatasetName::Mnist => {
            let mut data = mnist::load(&data_dir.join("mnist"), split)?;
            let how = match (mode, split) {
                (BinarizeMode::Threshold, _) => Binarization::Threshold(0.5),
                (BinarizeMode::Stochastic, Split::Train) => Binarization::Stochastic {
                    seed: BINARIZE_SEED_TRAIN,
                },
                (BinarizeMode::Stochastic, Split::Test) => Binarization::Stochastic {
                    seed: BINARIZE_SEED_TEST,
                },
            };
            binarize(&mut data.features, how);
            Ok(data)
        }
    }
}
