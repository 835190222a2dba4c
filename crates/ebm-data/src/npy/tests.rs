use super::*;
use std::path::Path;

/// A version 1.0 file with any header dict text and payload.
fn raw(dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(payload);
    out
}

fn dict(descr: &str, fortran: bool, shape: &str) -> String {
    let order = if fortran { "True" } else { "False" };
    format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}\n")
}

fn p() -> &'static Path {
    Path::new("a.npy")
}

#[test]
fn round_trip_of_f32_matrices_and_images() {
    let values: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
    let bytes = encode_f32(&[3, 4], &values);
    let header = parse_header(p(), &bytes).unwrap();
    assert_eq!(header.data_offset % 64, 0);
    let d = parse(p(), &bytes).unwrap();
    assert_eq!((d.n_examples, d.n_features, d.image_shape), (3, 4, None));
    assert_eq!(d.features, values);
    let images = parse(p(), &encode_f32(&[2, 2, 3], &values)).unwrap();
    assert_eq!((images.n_examples, images.n_features), (2, 6));
    assert_eq!(images.image_shape, Some((2, 3)));
    let column = parse(p(), &encode_f32(&[12], &values)).unwrap();
    assert_eq!((column.n_examples, column.n_features), (12, 1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    write(&path, &images).unwrap();
    assert_eq!(read(&path).unwrap(), images);
}

#[test]
fn c_and_fortran_order_give_the_same_matrix() {
    // [[1, 2, 3], [4, 5, 6]] in C order and in Fortran order.
    let c: Vec<u8> = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let f: Vec<u8> = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let from_c = parse(p(), &raw(&dict("<f8", false, "(2, 3)"), &c)).unwrap();
    let from_f = parse(p(), &raw(&dict("<f8", true, "(2, 3)"), &f)).unwrap();
    assert_eq!(from_c, from_f);
    assert_eq!(from_c.features, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // A 3-D array (2, 2, 2): element (i, y, x) = 4i + 2y + x, stored column-major.
    let mut f3 = Vec::new();
    for x in 0..2u8 {
        for y in 0..2u8 {
            for i in 0..2u8 {
                f3.push(4 * i + 2 * y + x);
            }
        }
    }
    let d = parse(p(), &raw(&dict("|u1", true, "(2, 2, 2)"), &f3)).unwrap();
    assert_eq!(d.features, (0..8).map(|v| v as f32).collect::<Vec<_>>());
    assert_eq!(d.image_shape, Some((2, 2)));
}

#[test]
fn every_supported_dtype_and_byte_order() {
    let cases: [(&str, Vec<u8>); 8] = [
        ("|b1", vec![0, 1, 1]),
        ("|u1", vec![0, 1, 255]),
        ("|i1", vec![0, 1, 0xff]),
        ("<i2", vec![0, 0, 1, 0, 0xff, 0xff]),
        (">i4", vec![0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]),
        (
            "<u8",
            [0u64, 1, 7].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        (
            ">f4",
            [0f32, 1.0, -2.5]
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect(),
        ),
        (
            "<i8",
            [0i64, 1, -3].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
    ];
    let expected = [
        [0.0, 1.0, 1.0],
        [0.0, 1.0, 255.0],
        [0.0, 1.0, -1.0],
        [0.0, 1.0, -1.0],
        [0.0, 1.0, -1.0],
        [0.0, 1.0, 7.0],
        [0.0, 1.0, -2.5],
        [0.0, 1.0, -3.0],
    ];
    for ((descr, payload), want) in cases.iter().zip(expected) {
        let d = parse(p(), &raw(&dict(descr, false, "(3,)"), payload)).unwrap();
        assert_eq!(d.features, want, "{descr}");
    }
}

#[test]
fn unsupported_dtypes_and_structured_arrays_are_named() {
    for descr in ["<f2", "<c8", "<U3", "|O", "|S4", "<M8[D]"] {
        let e = parse(p(), &raw(&dict(descr, false, "(0,)"), &[]))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("a.npy: dtype '") && e.contains(descr), "{e}");
    }
    let structured = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
    let e = parse(p(), &raw(structured, &[0; 4]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("structured"), "{e}");
}

#[test]
fn truncated_files_and_lying_shapes_are_refused_before_allocating() {
    let good = encode_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    for cut in [0, 5, 7, 9, 20, good.len() - 1] {
        let e = parse(p(), &good[..cut]).unwrap_err().to_string();
        assert!(e.starts_with("a.npy: ") && !e.contains('\n'), "{cut}: {e}");
    }
    // 100 bytes declaring 10^12 values.
    let huge = raw(&dict("<f4", false, "(1000000000000,)"), &[0; 20]);
    let e = parse(p(), &huge).unwrap_err().to_string();
    assert_eq!(
        e,
        "a.npy: the shape [1000000000000] of 4-byte values needs 4000000000000 bytes of data, the file has 20"
    );
    let overflow = raw(
        &dict("<f8", false, "(4294967296, 4294967296, 4294967296)"),
        &[],
    );
    assert!(
        parse(p(), &overflow)
            .unwrap_err()
            .to_string()
            .contains("overflows")
    );
    let empty_but_wide = raw(&dict("<f4", false, "(0, 1000000000000)"), &[]);
    let e = parse(p(), &empty_but_wide).unwrap_err().to_string();
    assert!(e.contains("the extent of the .npy shape"), "{e}");
    assert!(parse(p(), &raw(&dict("<f4", false, "(0, 784)"), &[])).is_ok());
    let deep = raw(&format!("{{'shape': {}", "(".repeat(1000)), &[]);
    assert!(
        parse(p(), &deep)
            .unwrap_err()
            .to_string()
            .contains("deeper")
    );
    let scalar = raw(&dict("<f4", false, "()"), &[0; 4]);
    assert!(
        parse(p(), &scalar)
            .unwrap_err()
            .to_string()
            .contains("0 dimensions")
    );
}

#[test]
fn non_finite_values_are_refused_with_their_place() {
    let bytes = encode_f32(&[2, 2], &[1.0, 2.0, f32::NAN, 4.0]);
    let e = parse(p(), &bytes).unwrap_err().to_string();
    assert!(e.starts_with("a.npy: row 2, column 1: "), "{e}");
    let big: Vec<u8> = [1e300f64].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert!(parse(p(), &raw(&dict("<f8", false, "(1,)"), &big)).is_err());
}

#[test]
fn labels_of_any_integer_dtype_and_refused_labels() {
    let int64: Vec<u8> = [3i64, 0, 9].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        parse_labels(p(), &raw(&dict("<i8", false, "(3,)"), &int64)).unwrap(),
        vec![3, 0, 9]
    );
    assert_eq!(
        parse_labels(p(), &raw(&dict("<i8", false, "(3, 1)"), &int64)).unwrap(),
        vec![3, 0, 9]
    );
    assert_eq!(
        parse_labels(p(), &encode_labels(&[1, 2])).unwrap(),
        vec![1, 2]
    );
    let negative: Vec<u8> = [3i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let e = parse_labels(p(), &raw(&dict("<i8", false, "(2,)"), &negative))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("a.npy: label 1 (0-based) is -1, not a class label"),
        "{e}"
    );
    let e = parse_labels(p(), &encode_f32(&[1, 2], &[0.0, 1.0])).unwrap_err();
    assert!(e.to_string().contains("1-D"), "{e}");
}

#[test]
fn header_literals_in_any_key_order_and_python_2_longs() {
    let text = "{'shape': (2L, 1L), 'fortran_order': False, 'descr': '<f4'}";
    let d = parse(p(), &raw(text, &[0; 8])).unwrap();
    assert_eq!((d.n_examples, d.n_features), (2, 1));
    let no_shape = "{'descr': '<f4', 'fortran_order': False}";
    let e = parse(p(), &raw(no_shape, &[])).unwrap_err().to_string();
    assert_eq!(e, "a.npy: .npy header has no 'shape'");
    let e = parse(p(), &raw("{'descr' '<f4'}", &[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected ':'"), "{e}");
}

#[test]
fn arrays_keep_their_shape_and_integer_arrays_refuse_floats() {
    let values: Vec<f32> = (0..12).map(|i| i as f32 - 3.0).collect();
    let a = parse_array(p(), &encode_f32(&[1, 2, 3, 2], &values)).unwrap();
    assert_eq!(a.shape, vec![1, 2, 3, 2]);
    assert_eq!(a.values[0], -3.0);
    // Fortran order is transposed to row-major, as for rows.
    let fortran: Vec<u8> = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let a = parse_array(p(), &raw(&dict("<f8", true, "(2, 3)"), &fortran)).unwrap();
    assert_eq!(a.values, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let nan = encode_f32(&[2], &[1.0, f32::NAN]);
    let e = parse_array(p(), &nan).unwrap_err().to_string();
    assert!(
        e.starts_with("a.npy: value 1 (0-based, row-major) is NaN"),
        "{e}"
    );
    let labels = encode_i64(&[2, 2], &[0, 3, -1, 7]);
    let a = parse_integer_array(p(), &labels).unwrap();
    assert_eq!((a.shape, a.values), (vec![2, 2], vec![0, 3, -1, 7]));
    let small = parse_integer_array(p(), &encode_labels(&[4, 5])).unwrap();
    assert_eq!(small.values, vec![4, 5]);
    let e = parse_integer_array(p(), &encode_f32(&[2], &[0.0, 1.0]))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("a.npy: dtype f4 is a float type"), "{e}");
    let huge: Vec<u8> = u64::MAX.to_le_bytes().to_vec();
    let e = parse_integer_array(p(), &raw(&dict("<u8", false, "(1,)"), &huge))
        .unwrap_err()
        .to_string();
    assert!(e.contains("beyond +-2^53"), "{e}");
}
