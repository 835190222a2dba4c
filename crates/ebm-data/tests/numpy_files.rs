//! `.npy` files written by NumPy itself (2.4), committed under `tests/fixtures/` (each
//! under 200 bytes) so no Python is needed to run the tests. They were made, in that
//! folder, by:
//!
//! ```text
//! python3 -c "
//! import numpy as np
//! np.save('f64_fortran_2x3.npy', np.asfortranarray(np.arange(6, dtype='f8').reshape(2, 3) / 2))
//! np.save('f64_c_2x3.npy', np.arange(6, dtype='f8').reshape(2, 3) / 2)
//! np.save('u8_images_2x2x3.npy', np.arange(12, dtype='u1').reshape(2, 2, 3))
//! np.save('labels_int64.npy', np.array([3, 0, 9]))
//! np.save('bool_2x2.npy', np.array([[True, False], [False, True]]))
//! "
//! ```

use ebm_data::npy;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn numpy_fortran_and_c_arrays_read_as_the_same_rows() {
    let c = npy::read(&fixture("f64_c_2x3.npy")).unwrap();
    let f = npy::read(&fixture("f64_fortran_2x3.npy")).unwrap();
    assert!(
        npy::parse_header(
            Path::new("f"),
            &std::fs::read(fixture("f64_fortran_2x3.npy")).unwrap()
        )
        .unwrap()
        .fortran_order
    );
    assert_eq!(c, f);
    assert_eq!((c.n_examples, c.n_features), (2, 3));
    assert_eq!(c.features, vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
}

#[test]
fn numpy_images_labels_and_booleans() {
    let images = npy::read(&fixture("u8_images_2x2x3.npy")).unwrap();
    assert_eq!((images.n_examples, images.n_features), (2, 6));
    assert_eq!(images.image_shape, Some((2, 3)));
    assert_eq!(
        images.features,
        (0..12).map(|v| v as f32).collect::<Vec<_>>()
    );
    assert_eq!(
        npy::read_labels(&fixture("labels_int64.npy")).unwrap(),
        vec![3, 0, 9]
    );
    let b = npy::read(&fixture("bool_2x2.npy")).unwrap();
    assert_eq!(b.features, vec![1.0, 0.0, 0.0, 1.0]);
}

/// What this crate writes, NumPy's reader takes: the header layout is checked here
/// against NumPy's rules (magic, version 1.0, length a multiple of 64, ending in '\n').
#[test]
fn written_files_follow_numpy_header_rules() {
    let bytes = npy::encode_f32(&[2, 3], &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0);
    assert_eq!(bytes[10 + header_len - 1], b'\n');
    let numpy = std::fs::read(fixture("f64_c_2x3.npy")).unwrap();
    assert_eq!(&bytes[..8], &numpy[..8]);
}
