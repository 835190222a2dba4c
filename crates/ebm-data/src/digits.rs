//! The 8x8 handwritten digits, built in: 1,797 images of the digits 0 to 9 (the UCI
//! "Optical Recognition of Handwritten Digits" test set, E. Alpaydin and C. Kaynak, CC
//! BY 4.0, as scikit-learn ships it in `load_digits`; the file and its attribution and
//! licenses are in this crate's `data/` folder). Real handwriting with no download.
//!
//! ```
//! let digits = ebm_data::digits::dataset();
//! assert_eq!((digits.n_examples, digits.n_features), (1797, 64));
//! assert_eq!(digits.image_shape, Some((8, 8)));
//! let (train, test) = ebm_data::digits::split(ebm_data::mnist::Split::Train);
//! assert_eq!(train.n_examples + test.n_examples, 1797);
//! ```

use crate::csv::{self, ColumnRef, CsvOptions, HeaderMode};
use crate::{Dataset, mnist::Split};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// The gzipped CSV as scikit-learn ships it: one image a line, 64 pixel values `0..=16`
/// (row by row) then the label `0..=9`.
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");

/// Number of images.
pub const N_EXAMPLES: usize = 1797;

/// Side of the square images, in pixels.
pub const SIDE: usize = 8;

/// The largest pixel value in the file (the count of on pixels in a 4x4 block).
pub const MAX_PIXEL: f32 = 16.0;

/// Fraction of the images in the held-out part of [`split`].
pub const TEST_FRACTION: f64 = 0.2;

/// Seed of [`split`]: fixed, so every model sees the same held-out images.
pub const SPLIT_SEED: u64 = 0xd161_7500;

/// The 1,797 digits: pixel values scaled to `[0, 1]` (divided by 16), images of 8x8,
/// labels 0 to 9.
pub fn dataset() -> Dataset {
    let mut text = String::with_capacity(300_000);
    GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .expect("the embedded digits file is valid gzip");
    let options = CsvOptions {
        delimiter: Some(','),
        header: HeaderMode::Absent,
        label_column: Some(ColumnRef::Last),
    };
    let mut data = csv::parse(Path::new("digits.csv.gz (built in)"), &text, &options)
        .expect("the embedded digits file is a valid table");
    for v in &mut data.features {
        *v /= MAX_PIXEL;
    }
    data.image_shape = Some((SIDE, SIDE));
    data
}

/// The fixed split of [`dataset`] used by the toolkit: `(the asked part, the other)`,
/// 80% for [`Split::Train`] and 20% for [`Split::Test`], drawn with [`SPLIT_SEED`]; each
/// part keeps the file's order.
pub fn split(part: Split) -> (Dataset, Dataset) {
    let (train, test) = dataset().split(TEST_FRACTION, SPLIT_SEED);
    match part {
        Split::Train => (train, test),
        Split::Test => (test, train),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_digits_are_all_there() {
        let d = dataset();
        assert_eq!((d.n_examples, d.n_features), (N_EXAMPLES, SIDE * SIDE));
        assert!(d.features.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert_eq!(d.features.iter().cloned().fold(0.0, f32::max), 1.0);
        let labels = d.labels.as_ref().unwrap();
        let mut counts = [0usize; 10];
        for &l in labels {
            counts[l as usize] += 1;
        }
        // load_digits: 178, 182, 177, 183, 181, 182, 181, 179, 174, 180 of each digit.
        assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        // The first image is a 0 (load_digits().images[0]).
        assert_eq!(labels[0], 0);
        assert_eq!(
            d.row(0)[..8],
            [0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0].map(|v| v / 16.0)
        );
    }

    #[test]
    fn the_split_is_fixed_and_disjoint() {
        let (train, test) = split(Split::Train);
        assert_eq!((train.n_examples, test.n_examples), (1438, 359));
        let (test_again, train_again) = split(Split::Test);
        assert_eq!((&train, &test), (&train_again, &test_again));
        let all = dataset();
        let rows = |d: &Dataset| -> std::collections::HashSet<Vec<u32>> {
            (0..d.n_examples)
                .map(|i| d.row(i).iter().map(|v| v.to_bits()).collect())
                .collect()
        };
        // Every image of the file is in exactly one part (duplicates aside).
        let (a, b, whole) = (rows(&train), rows(&test), rows(&all));
        assert_eq!(a.union(&b).count(), whole.len());
    }
}
