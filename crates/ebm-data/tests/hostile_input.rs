//! Every reader on hostile input: arbitrary bytes never panic, every error is one line
//! naming the file, and the memory a read takes is bounded by a constant times the
//! input's length (measured by a counting allocator), however large the counts the
//! input declares.

use ebm_data::csv::{ColumnRef, CsvOptions, HeaderMode};
use ebm_data::formats::{self, Format, LabelSource, ReadOptions};
use ebm_data::svmlight::SvmlightOptions;
use ebm_data::{conll, csv, idx, npy, puzzles, ratings, svmlight, uai};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// The system allocator, counting the bytes live on each thread and their peak.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(delta: isize) {
    let _ = LIVE.try_with(|live| {
        live.set(live.get() + delta);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
    });
}

// SAFETY: every call is forwarded to `System` with the same arguments; the counters are
// plain thread-local cells that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (see `alloc`).
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes allocated on this thread while `f` runs, beyond what was live before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let out = f();
    let peak = PEAK.with(Cell::get) - before;
    (out, peak.max(0) as usize)
}

/// What a read may take: a constant times the input, plus a constant for messages.
fn budget(input_len: usize) -> usize {
    64 * input_len + (256 << 10)
}

fn check<T>(path: &Path, input_len: usize, read: impl FnOnce() -> Result<T, ebm_data::DataError>) {
    let (result, peak) = peak_during(read);
    assert!(
        peak <= budget(input_len),
        "{}: peak {peak} bytes for {input_len} bytes of input",
        path.display()
    );
    if let Err(e) = result {
        let message = e.to_string();
        assert!(
            message.starts_with(&format!("{}: ", path.display())),
            "{message}"
        );
        assert!(
            !message.contains('\n') && !message.contains('\u{1b}'),
            "{message}"
        );
    }
}

fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// Every reader on one input (text readers on its lossy UTF-8).
fn all_readers(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let n = bytes.len();
    let p = Path::new("in.uai");
    check(p, n, || uai::parse(p, &text));
    let model = uai::parse(Path::new("m.uai"), "MARKOV 3 2 2 3 1 2 0 1 4 1 1 1 1").unwrap();
    let p = Path::new("in.uai.evid");
    check(p, n, || uai::parse_evidence(p, &text, &model));
    let p = Path::new("in.MAR");
    check(p, n, || uai::parse_mar(p, &text));
    let p = Path::new("in.idx");
    check(p, n, || idx::parse(p, bytes));
    let p = Path::new("in.data");
    check(p, n, || ratings::parse(p, &text));
    let p = Path::new("in.item");
    check(p, n, || ratings::parse_titles(p, &text));
    let (_dir, p) = temp_file("in.txt", bytes);
    check(&p, n, || puzzles::read_sudoku(&p));
    let (_dir, p) = temp_file("in.col", bytes);
    check(&p, n, || puzzles::read_dimacs(&p));
    let (_dir, p) = temp_file("in.idx.gz", bytes);
    check(&p, n, || idx::read(&p));
    data_readers(bytes);
}

/// The readers of users' data files (issue 18) on one input.
fn data_readers(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let n = bytes.len();
    let p = Path::new("in.npy");
    check(p, n, || npy::parse(p, bytes));
    check(p, n, || npy::parse_labels(p, bytes));
    check(p, n, || npy::parse_array(p, bytes));
    check(p, n, || npy::parse_integer_array(p, bytes));
    let p = Path::new("in.conll");
    check(p, n, || conll::parse(p, text.to_string()));
    let p = Path::new("in.idx3-ubyte");
    check(p, n, || idx::parse_dataset(p, bytes));
    check(p, n, || idx::parse_labels(p, bytes));
    let p = Path::new("in.csv");
    for options in [
        CsvOptions::default(),
        CsvOptions {
            delimiter: Some(' '),
            header: HeaderMode::Absent,
            label_column: Some(ColumnRef::Last),
        },
        CsvOptions {
            delimiter: None,
            header: HeaderMode::Present,
            label_column: Some(ColumnRef::Name("y".into())),
        },
    ] {
        check(p, n, || csv::parse(p, &text, &options));
    }
    check(p, n, || csv::parse_labels(p, &text));
    let p = Path::new("in.svm");
    check(p, n, || {
        svmlight::parse(p, &text, &SvmlightOptions::default())
    });
    let wide = SvmlightOptions {
        n_features: Some(1 << 40),
    };
    check(p, n, || svmlight::parse(p, &text, &wide));
    let (_dir, p) = temp_file("in.data", bytes);
    check(&p, n, || formats::read(&p, &ReadOptions::default()));
    check(&p, n, || formats::read_labels(&p, None));
    let by_column = ReadOptions {
        labels: LabelSource::Column(ColumnRef::Index(1)),
        ..ReadOptions::default()
    };
    check(&p, n, || formats::read(&p, &by_column));
    for format in Format::ALL {
        let forced = ReadOptions {
            format: Some(format),
            ..ReadOptions::default()
        };
        check(&p, n, || formats::read(&p, &forced));
    }
}

/// A `.npy` file with any header dict text, version and payload.
fn npy_file(version: u8, dict: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = npy::MAGIC.to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// One of `list`, as it is written.
fn words(list: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(list).prop_map(String::from)
}

/// Dimensions that reach deep: small, huge, overflowing.
fn dimension() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..5).prop_map(|n| n.to_string()),
        words(&[
            "1000000000000",
            "4294967296",
            "18446744073709551615",
            "99999999999999999999999",
            "-1"
        ]),
    ]
}

/// Cells of a table: numbers, text, empties, quotes, delimiters, escapes.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..300).prop_map(|n| n.to_string()),
        words(&[
            "0.5",
            "nan",
            "-1",
            "",
            "y",
            "\"q,\"\"\"",
            "\"",
            "4000000000:1",
            "1:0.5",
            "0:1",
            "qid:3",
            "\u{1b}[2J"
        ]),
    ]
}

/// Tokens that reach deep into the readers: counts small, huge and overflowing.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..5).prop_map(|n| n.to_string()),
        "[.1-9]{16}",
        words(&[
            "99999999999",
            "4000000000",
            "18446744073709551616",
            "MARKOV",
            "MAR",
            "p edge",
            "e",
            "\u{1b}[31m",
            "0.5",
            "\n",
            "\t",
            "::"
        ]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_name_the_file(
        bytes in proptest::collection::vec(any::<u8>(), 0..200)
    ) {
        all_readers(&bytes);
    }

    #[test]
    fn token_soup_never_panics_and_stays_within_budget(
        tokens in proptest::collection::vec(token(), 0..24)
    ) {
        all_readers(tokens.join(" ").as_bytes());
    }

    #[test]
    fn idx_headers_with_any_dimensions_stay_within_budget(
        dims in proptest::collection::vec(any::<u32>(), 0..4),
        data in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut bytes = vec![0, 0, 0x08, dims.len() as u8];
        for d in &dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(&data);
        all_readers(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn npy_headers_with_any_dtype_order_and_shape_stay_within_budget(
        version in 1u8..4,
        descr in prop::sample::select(vec!["<f4", ">f8", "|u1", "|b1", "<i8", "<f2", "<c16", "|O", "<U3", "x", ""]),
        fortran in any::<bool>(),
        shape in proptest::collection::vec(dimension(), 0..4),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        cut in 0usize..200,
    ) {
        let order = if fortran { "True" } else { "False" };
        let dict = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': ({},), }}\n", shape.join(", "));
        let mut bytes = npy_file(version, &dict, &payload);
        if cut < bytes.len() && cut % 3 == 0 {
            bytes.truncate(cut);
        }
        data_readers(&bytes);
    }

    #[test]
    fn tables_and_sparse_lines_of_any_cells_stay_within_budget(
        rows in proptest::collection::vec(proptest::collection::vec(cell(), 0..6), 0..8),
        delimiter in prop::sample::select(vec![",", "\t", ";", " "]),
    ) {
        let text: Vec<String> = rows.iter().map(|r| r.join(delimiter)).collect();
        data_readers(text.join("\n").as_bytes());
    }
}

/// The hostile files of issue 18: each refused with a one-line error naming the file,
/// within budget.
#[test]
fn the_hostile_data_files_of_issue_18_are_refused_within_budget() {
    let refused = |name: &str, bytes: &[u8], options: ReadOptions, says: &str| {
        let (_dir, p) = temp_file(name, bytes);
        let (r, peak) = peak_during(|| formats::read(&p, &options));
        let e = r.unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: ", p.display())) && e.contains(says),
            "{e}"
        );
        assert!(
            !e.contains('\n') && peak < budget(bytes.len()),
            "{e}: {peak}"
        );
    };
    let shape = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }";
    let huge = npy_file(1, shape, &[0; 20]);
    assert!(huge.len() <= 100, "{}", huge.len());
    refused("huge.npy", &huge, ReadOptions::default(), "[1000000000000]");
    let complex = npy_file(
        1,
        "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
        &[0; 8],
    );
    refused(
        "c.npy",
        &complex,
        ReadOptions::default(),
        "dtype '<c8' is not supported",
    );
    let good = npy::encode_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
    refused(
        "cut.npy",
        &good[..good.len() - 3],
        ReadOptions::default(),
        "needs 16 bytes of data, the file has 13",
    );
    refused(
        "r.csv",
        b"1,2,3\n4,5\n",
        ReadOptions::default(),
        "line 2: 2 fields, but line 1 has 3",
    );
    let labels = ReadOptions {
        labels: LabelSource::Column(ColumnRef::Last),
        ..ReadOptions::default()
    };
    refused(
        "l.csv",
        b"1,2\n3,x\n",
        labels,
        "line 2: column 2 is 'x', not a class label",
    );
    refused(
        "l.svm",
        b"2.5 1:1\n",
        ReadOptions::default(),
        "the label 2.5 is not a class label",
    );
    refused(
        "w.svm",
        b"1 4000000000:1\n",
        ReadOptions::default(),
        "4000000000 features",
    );
    let (_dir, bad_labels) = temp_file("y.txt", b"1\n-3\n");
    let from_file = ReadOptions {
        labels: LabelSource::File(bad_labels.clone()),
        ..ReadOptions::default()
    };
    let (_data_dir, data) = temp_file("x.csv", b"1\n2\n");
    let e = formats::read(&data, &from_file).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{}: line 2: column 1 is '-3'",
            bad_labels.display()
        )),
        "{e}"
    );
    let idx_huge = [0u8, 0, 0x0d, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
    refused(
        "big-idx1-ubyte",
        &idx_huge,
        ReadOptions::default(),
        "need 4294967295 values",
    );
}

/// The hostile files of issue 13, refused with an error naming file and count, each
/// within a few hundred KiB (the old readers asked for 1.6 TB, 32 GB, or aborted).
#[test]
fn the_hostile_files_of_the_issue_are_refused_within_budget() {
    let model = uai::parse(Path::new("m.uai"), "MARKOV 1 2 1 1 0 2 1 1").unwrap();
    let p = Path::new("h.uai.evid");
    let (r, peak) = peak_during(|| uai::parse_evidence(p, "99999999999 0 1", &model));
    assert!(r.unwrap_err().to_string().contains("99999999999") && peak < budget(15));
    for text in [
        "MARKOV 1 4000000000 1 1 0 2 1 1",
        "MARKOV 1 100000000 1 0 1 1",
    ] {
        let p = Path::new("h.uai");
        let (r, peak) = peak_during(|| uai::parse(p, text));
        assert!(r.is_err() && peak < budget(text.len()), "{text}: {peak}");
    }
    let (_dir, p) = temp_file("h.col", b"p edge 4000000000 1\n");
    let (r, peak) = peak_during(|| puzzles::read_dimacs(&p));
    assert!(r.unwrap_err().to_string().contains("4000000000") && peak < budget(20));
    let (_dir, p) = temp_file("h.txt", b"1\n");
    assert!(puzzles::read_sudoku(&p).is_err());
}
