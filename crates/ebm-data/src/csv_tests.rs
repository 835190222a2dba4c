use super::*;

fn p() -> &'static Path {
    Path::new("t.csv")
}

fn with(label: Option<ColumnRef>, header: HeaderMode) -> CsvOptions {
    CsvOptions {
        delimiter: None,
        header,
        label_column: label,
    }
}

fn err(text: &str, options: &CsvOptions) -> String {
    let e = parse(p(), text, options).unwrap_err().to_string();
    assert!(e.starts_with("t.csv: ") && !e.contains('\n'), "{e}");
    e
}

#[test]
fn header_or_not_gives_the_same_rows() {
    let detect = CsvOptions::default();
    let with_header = parse(p(), "a,b,c\n1,2,3\n4,5,6\n", &detect).unwrap();
    let without = parse(p(), "1,2,3\n4,5,6\n", &detect).unwrap();
    assert_eq!(with_header, without);
    assert_eq!((without.n_examples, without.n_features), (2, 3));
    assert_eq!(without.features, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    // Forced: a numeric first line taken as a header, or a named one taken as data.
    let forced = parse(p(), "1,2,3\n4,5,6\n", &with(None, HeaderMode::Present)).unwrap();
    assert_eq!(forced.n_examples, 1);
    let e = err("a,b\n1,2\n", &with(None, HeaderMode::Absent));
    assert_eq!(e, "t.csv: line 1: column 1 is 'a', not a finite number");
}

#[test]
fn label_column_by_name_index_or_last() {
    let text = "x,y,label\n0.5,1,3\n0,2,9\n";
    let by_name = parse(
        p(),
        text,
        &with(Some(ColumnRef::Name("label".into())), HeaderMode::Detect),
    )
    .unwrap();
    let by_index = parse(
        p(),
        text,
        &with(Some(ColumnRef::Index(2)), HeaderMode::Detect),
    )
    .unwrap();
    let by_last = parse(p(), text, &with(Some(ColumnRef::Last), HeaderMode::Detect)).unwrap();
    assert_eq!(by_name, by_index);
    assert_eq!(by_name, by_last);
    assert_eq!(by_name.features, vec![0.5, 1.0, 0.0, 2.0]);
    assert_eq!(by_name.labels, Some(vec![3, 9]));
    let first = parse(
        p(),
        "7,1,2\n",
        &with(Some(ColumnRef::Index(0)), HeaderMode::Detect),
    )
    .unwrap();
    assert_eq!(
        (first.features, first.labels),
        (vec![1.0, 2.0], Some(vec![7]))
    );
    assert_eq!("label".parse(), Ok(ColumnRef::Name("label".into())));
    assert_eq!("3".parse(), Ok(ColumnRef::Index(3)));
    assert_eq!("-1".parse(), Ok(ColumnRef::Last));
    assert!("".parse::<ColumnRef>().is_err());
}

#[test]
fn missing_label_columns_and_bad_labels_are_explained() {
    let name = |n: &str| with(Some(ColumnRef::Name(n.into())), HeaderMode::Detect);
    assert_eq!(
        err("a,b\n1,2\n", &name("y")),
        "t.csv: no column named 'y' (the header has 'a', 'b')"
    );
    assert!(err("1,2\n", &name("y")).contains("no header line"));
    assert_eq!(
        err(
            "1,2\n",
            &with(Some(ColumnRef::Index(2)), HeaderMode::Detect)
        ),
        "t.csv: label column index 2 (from 0), but the rows have 2 columns"
    );
    assert_eq!(
        err("a,y\n1,2\n1,2.5\n", &name("y")),
        "t.csv: line 3: column 2 ('y') is '2.5', not a class label (a class label must be an integer in 0..=255)"
    );
    assert!(err("1,-1\n", &with(Some(ColumnRef::Last), HeaderMode::Detect)).contains("'-1'"));
    assert!(err("1,256\n", &with(Some(ColumnRef::Last), HeaderMode::Detect)).contains("'256'"));
}

#[test]
fn ragged_rows_and_non_numeric_cells_name_line_and_column() {
    let d = CsvOptions::default();
    assert_eq!(
        err("1,2,3\n\n4,5\n", &d),
        "t.csv: line 3: 2 fields, but line 1 has 3 (every row needs the same number)"
    );
    assert_eq!(
        err("a,b\n1,x\n", &d),
        "t.csv: line 2: column 2 ('b') is 'x', not a finite number"
    );
    assert!(err("1,2\n3,nan\n", &d).contains("line 2: column 2 is 'nan'"));
    assert!(err("1,2\n3,\n", &d).contains("column 2 is ''"));
    assert!(err("1,\"2\n", &d).contains("line 1: column 2: a quote is not closed"));
    assert!(err("", &d).contains("empty"));
    assert!(err("a,b\n", &d).contains("only a header"));
    let e = err("1,2\n3,\u{1b}[31m\n", &d);
    assert!(!e.contains('\u{1b}'), "{e}");
}

#[test]
fn delimiters_quotes_and_line_endings() {
    let d = CsvOptions::default();
    let comma = parse(p(), "1,2\r\n3,4\r\n", &d).unwrap();
    for text in [
        "1\t2\n3\t4\n",
        "1;2\n3;4\n",
        "1 2\n  3   4\n",
        "\u{feff}\"1\", \"2\"\n3,4",
    ] {
        assert_eq!(parse(p(), text, &d).unwrap(), comma, "{text:?}");
    }
    // A European CSV: ';' between fields, never split at the ',' count alone.
    let semi = parse(p(), "\"a,b\";c\n1;2\n", &d).unwrap();
    assert_eq!(semi.features, vec![1.0, 2.0]);
    let forced = CsvOptions {
        delimiter: Some('|'),
        ..CsvOptions::default()
    };
    assert_eq!(parse(p(), "1|2\n3|4\n", &forced).unwrap(), comma);
    let quoted = parse(p(), "\"a \"\"x\"\"\",b\n1,2\n", &d).unwrap();
    assert_eq!(quoted.features, vec![1.0, 2.0]);
    let single = parse(p(), "5\n6\n", &d).unwrap();
    assert_eq!((single.n_examples, single.n_features), (2, 1));
}

#[test]
fn round_trip_through_a_file_and_labels_files() {
    let data = Dataset {
        features: vec![0.1, 2.0, -3.5, 1e-7],
        n_examples: 2,
        n_features: 2,
        image_shape: None,
        labels: Some(vec![1, 0]),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.csv");
    std::fs::write(&path, encode(&data)).unwrap();
    let options = with(Some(ColumnRef::Name("label".into())), HeaderMode::Detect);
    assert_eq!(read(&path, &options).unwrap(), data);
    assert_eq!(
        parse_labels(p(), "label\n3\n4\n\n5\n").unwrap(),
        vec![3, 4, 5]
    );
    assert_eq!(parse_labels(p(), "3\r\n4\r\n").unwrap(), vec![3, 4]);
    assert!(
        parse_labels(p(), "3,4\n")
            .unwrap_err()
            .to_string()
            .contains("one column, this one has 2")
    );
    std::fs::write(&path, b"1,2\n\xff\n").unwrap();
    let e = read(&path, &CsvOptions::default()).unwrap_err().to_string();
    assert!(e.contains("not UTF-8 text (at byte 4)"), "{e}");
}
