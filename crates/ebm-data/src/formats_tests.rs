use super::*;
use flate2::{Compression, write::GzEncoder};
use std::io::Write;

fn idx_bytes(code: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, code, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Self {
        Files(tempfile::tempdir().unwrap())
    }

    fn put(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

fn with_labels(labels: LabelSource) -> ReadOptions {
    ReadOptions {
        labels,
        ..ReadOptions::default()
    }
}

#[test]
fn formats_are_sniffed_from_magic_then_name_then_content() {
    let npy = npy::encode_f32(&[1, 2], &[1.0, 2.0]);
    let idx = idx_bytes(0x08, &[1, 2], &[1, 2]);
    let p = Path::new("data");
    assert_eq!(Format::sniff(p, &npy), Format::Npy);
    assert_eq!(Format::sniff(Path::new("x.csv"), &idx), Format::Idx);
    assert_eq!(Format::sniff(Path::new("x.npy"), b"garbage"), Format::Npy);
    assert_eq!(
        Format::sniff(Path::new("T.LIBSVM.gz"), b"1,2"),
        Format::Svmlight
    );
    assert_eq!(
        Format::sniff(Path::new("train-images-idx3-ubyte"), b""),
        Format::Idx
    );
    assert_eq!(Format::sniff(Path::new("a.tsv"), b"1 1:1"), Format::Csv);
    assert_eq!(Format::sniff(p, b"# c\n\n1 3:1 7:0.5\n"), Format::Svmlight);
    assert_eq!(Format::sniff(p, b"1,2,3\n"), Format::Csv);
    assert_eq!(Format::sniff(p, b"\xff\xfe"), Format::Csv);
    assert_eq!("libsvm".parse(), Ok(Format::Svmlight));
    assert_eq!(
        "parquet".parse::<Format>(),
        Err("unknown format 'parquet' (expected npy, csv, svmlight, idx)".into())
    );
    for f in Format::ALL {
        assert_eq!(f.name().parse(), Ok(f));
    }
}

#[test]
fn every_format_reads_the_same_matrix_under_any_name() {
    let files = Files::new();
    let want = Dataset {
        features: vec![1.0, 0.0, 0.0, 1.0],
        n_examples: 2,
        n_features: 2,
        image_shape: None,
        labels: None,
    };
    let csv = files.put("a.txt", b"1,0\n0,1\n");
    let npy = files.put("b.bin", &npy::encode_f32(&[2, 2], &want.features));
    let idx = files.put("c.data", &idx_bytes(0x08, &[2, 2], &[1, 0, 0, 1]));
    let gz = files.put("d.csv.gz", &gzip(b"1,0\n0,1\n"));
    for path in [csv, npy, idx, gz] {
        assert_eq!(
            read(&path, &ReadOptions::default()).unwrap(),
            want,
            "{}",
            path.display()
        );
    }
    let svm = files.put("e", b"4 1:1\n2 2:1\n");
    let data = read(&svm, &ReadOptions::default()).unwrap();
    assert_eq!(data.features, want.features);
    assert_eq!(data.labels, Some(vec![4, 2]));
    // An explicit format wins over sniffing.
    let forced = ReadOptions {
        format: Some(Format::Csv),
        ..ReadOptions::default()
    };
    let e = read(&svm, &forced).unwrap_err().to_string();
    assert!(
        e.ends_with("e: line 2: column 2 ('1:1') is '2:1', not a finite number"),
        "{e}"
    );
}

#[test]
fn labels_from_a_column_of_any_format() {
    let files = Files::new();
    let npy = files.put(
        "x.npy",
        &npy::encode_f32(&[2, 3], &[0.5, 1.0, 3.0, 0.0, 0.25, 9.0]),
    );
    let last = read(&npy, &with_labels(LabelSource::Column(ColumnRef::Last))).unwrap();
    assert_eq!(last.features, vec![0.5, 1.0, 0.0, 0.25]);
    assert_eq!(last.labels, Some(vec![3, 9]));
    let by_index = read(&npy, &with_labels(LabelSource::Column(ColumnRef::Index(2)))).unwrap();
    assert_eq!(by_index, last);
    let e = read(&npy, &with_labels(LabelSource::Column(ColumnRef::Index(0))))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("x.npy: row 1, label column 0: 0.5 is not a class label"),
        "{e}"
    );
    let e = read(
        &npy,
        &with_labels(LabelSource::Column(ColumnRef::Name("y".into()))),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("npy files have no column names"), "{e}");
    let csv = files.put("t.csv", b"a,y\n1,2\n");
    let d = read(
        &csv,
        &with_labels(LabelSource::Column(ColumnRef::Name("y".into()))),
    )
    .unwrap();
    assert_eq!(d.labels, Some(vec![2]));
    let svm = files.put("s.svm", b"1 1:1\n");
    let e = read(&svm, &with_labels(LabelSource::Column(ColumnRef::Last))).unwrap_err();
    assert!(e.to_string().contains("first field of each line"), "{e}");
}

#[test]
fn labels_from_a_separate_file_of_any_format() {
    let files = Files::new();
    let data = files.put("x.csv", b"1,0\n0,1\n1,1\n");
    let want = Some(vec![7, 0, 2]);
    let label_files = [
        files.put("y.npy", &npy::encode_labels(&[7, 0, 2])),
        files.put("y.txt", b"7\n0\n2\n"),
        files.put("y.csv", b"label\n7\n0\n2\n"),
        files.put(
            "y-labels-idx1-ubyte.gz",
            &gzip(&idx_bytes(0x08, &[3], &[7, 0, 2])),
        ),
        files.put("y.svm", b"7 1:1\n0 1:1\n2 1:1\n"),
    ];
    for labels in label_files {
        let d = read(&data, &with_labels(LabelSource::File(labels.clone()))).unwrap();
        assert_eq!(d.labels, want, "{}", labels.display());
    }
    let short = files.put("short.txt", b"1\n2\n");
    let e = read(&data, &with_labels(LabelSource::File(short.clone())))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!("{}: 2 labels, but the data have 3 rows", short.display())
    );
    let bad = files.put("bad.txt", b"1\n2\n300\n");
    let e = read(&data, &with_labels(LabelSource::File(bad.clone())))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&format!("{}: line 3: column 1 is '300'", bad.display())),
        "{e}"
    );
    let missing = files.0.path().join("none.txt");
    let e = read(&data, &with_labels(LabelSource::File(missing.clone()))).unwrap_err();
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );
}
