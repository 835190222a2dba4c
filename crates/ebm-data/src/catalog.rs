//! Data sets by name, loaded and binarized the way the RBM tools use them.

use crate::binarize::{Binarization, binarize};
use crate::mnist::Split;
use crate::{DataError, Dataset, bars_and_stripes, digits, mnist};
use std::path::Path;
use std::str::FromStr;

/// A named data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetName {
    /// MNIST from `<data>/mnist`.
    Mnist,
    /// The built-in 4x4 bars and stripes (no files needed).
    BarsAndStripes,
    /// The built-in 8x8 handwritten digits (no files needed), split 80/20 by
    /// [`digits::split`].
    Digits,
}

impl FromStr for DatasetName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_named(
            s,
            "dataset",
            &[
                ("mnist", DatasetName::Mnist),
                ("bars-and-stripes", DatasetName::BarsAndStripes),
                ("digits", DatasetName::Digits),
            ],
        )
    }
}

/// The value called `s` in `names`, or an error naming `what` was asked for and listing
/// the names.
fn parse_named<T: Copy>(s: &str, what: &str, names: &[(&str, T)]) -> Result<T, String> {
    match names.iter().find(|&&(name, _)| name == s) {
        Some(&(_, value)) => Ok(value),
        None => {
            let expected: Vec<&str> = names.iter().map(|&(name, _)| name).collect();
            Err(format!(
                "unknown {what} '{s}' (expected {})",
                expected.join(" or ")
            ))
        }
    }
}

/// Seed of the stochastic binarization of each split (MNIST, digits): fixed, so every model in the
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
    /// Keep the values (in `[0, 1]`): the RBM treats them as probabilities.
    None,
}

impl FromStr for BinarizeMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_named(
            s,
            "binarization",
            &[
                ("stochastic", BinarizeMode::Stochastic),
                ("threshold", BinarizeMode::Threshold),
                ("none", BinarizeMode::None),
            ],
        )
    }
}

/// Binarize `data` (values in `[0, 1]`), the `split` of a data set, as `mode` says: the
/// stochastic draws have one fixed seed per split.
pub fn binarize_split(data: &mut Dataset, split: Split, mode: BinarizeMode) {
    let how = match (mode, split) {
        (BinarizeMode::None, _) => return,
        (BinarizeMode::Threshold, _) => Binarization::Threshold(0.5),
        (BinarizeMode::Stochastic, Split::Train) => Binarization::Stochastic {
            seed: BINARIZE_SEED_TRAIN,
        },
        (BinarizeMode::Stochastic, Split::Test) => Binarization::Stochastic {
            seed: BINARIZE_SEED_TEST,
        },
    };
    binarize(&mut data.features, how);
}

/// Load `split` of `name` from `data_dir`, binarized. Bars and stripes has one split (its
/// 30 images serve as both); the digits' split is [`digits::split`].
pub fn load_binary(
    name: DatasetName,
    data_dir: &Path,
    split: Split,
    mode: BinarizeMode,
) -> Result<Dataset, DataError> {
    match name {
        DatasetName::BarsAndStripes => Ok(bars_and_stripes::dataset(4)),
        DatasetName::Mnist | DatasetName::Digits => {
            let mut data = match name {
                DatasetName::Digits => digits::split(split).0,
                _ => mnist::load(&data_dir.join("mnist"), split)?,
            };
            binarize_split(&mut data, split, mode);
            Ok(data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_load_binarized_from_no_files() {
        let none = Path::new("/nonexistent");
        let train = load_binary(
            DatasetName::Digits,
            none,
            Split::Train,
            BinarizeMode::Threshold,
        )
        .unwrap();
        let test = load_binary(
            DatasetName::Digits,
            none,
            Split::Test,
            BinarizeMode::Stochastic,
        )
        .unwrap();
        assert_eq!((train.n_examples, test.n_examples), (1438, 359));
        assert!(train.is_binary() && test.is_binary());
        assert_eq!(train.image_shape, Some((8, 8)));
    }

    #[test]
    fn names_parse_and_unknown_names_are_listed() {
        assert_eq!("mnist".parse(), Ok(DatasetName::Mnist));
        assert_eq!("bars-and-stripes".parse(), Ok(DatasetName::BarsAndStripes));
        assert_eq!("digits".parse(), Ok(DatasetName::Digits));
        assert_eq!(
            "cifar".parse::<DatasetName>(),
            Err(
                "unknown dataset 'cifar' (expected mnist or bars-and-stripes or digits)"
                    .to_string()
            )
        );
        assert_eq!("stochastic".parse(), Ok(BinarizeMode::Stochastic));
        assert_eq!("threshold".parse(), Ok(BinarizeMode::Threshold));
        assert_eq!("none".parse(), Ok(BinarizeMode::None));
        assert_eq!(
            "dither".parse::<BinarizeMode>(),
            Err(
                "unknown binarization 'dither' (expected stochastic or threshold or none)"
                    .to_string()
            )
        );
    }
}
