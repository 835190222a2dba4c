//! Bars and stripes (MacKay 2003): every `n x n` binary image whose rows are all equal
//! (vertical stripes) or whose columns are all equal (horizontal bars). For `n = 4`
//! there are 30 distinct images (the empty and the full image are both). Small enough to
//! compute log Z exactly, so it is the toolkit's built-in data set.

use crate::Dataset;

/// The `2^(n+1) - 2` distinct bars-and-stripes images of side `n` (1 <= n <= 10).
pub fn dataset(n: usize) -> Dataset {
    assert!(
        (1..=10).contains(&n),
        "bars and stripes side must be 1..=10"
    );
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for pattern in 0u32..(1 << n) {
        let bit = |i: usize| ((pattern >> i) & 1) as f32;
        let stripes: Vec<f32> = (0..n * n).map(|p| bit(p % n)).collect();
        let bars: Vec<f32> = (0..n * n).map(|p| bit(p / n)).collect();
        for image in [stripes, bars] {
            if !rows.contains(&image) {
                rows.push(image);
            }
        }
    }
    Dataset {
        n_examples: rows.len(),
        n_features: n * n,
        features: rows.concat(),
        image_shape: Some((n, n)),
        labels: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_by_four_has_thirty_distinct_images() {
        let d = dataset(4);
        assert_eq!(d.n_examples, 30);
        assert!(d.is_binary());
        for i in 0..d.n_examples {
            let r = d.row(i);
            let rows_equal = (0..4).all(|y| r[y * 4..y * 4 + 4] == r[0..4]);
            let cols_equal = (0..4).all(|y| (0..4).all(|x| r[y * 4 + x] == r[y * 4]));
            assert!(rows_equal || cols_equal);
        }
    }
}
