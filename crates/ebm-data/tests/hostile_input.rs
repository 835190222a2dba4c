//! Every reader on hostile input: arbitrary bytes never panic, every error is one line
//! naming the file, and the memory a read takes is bounded by a constant times the
//! input's length (measured by a counting allocator), however large the counts the
//! input declares.

use ebm_data::{idx, puzzles, ratings, uai};
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
}

/// Tokens that reach deep into the readers: counts small, huge and overflowing.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..5).prop_map(|n| n.to_string()),
        Just("99999999999".to_string()),
        Just("4000000000".to_string()),
        Just("18446744073709551616".to_string()),
        Just("MARKOV".to_string()),
        Just("MAR".to_string()),
        Just("p edge".to_string()),
        Just("e".to_string()),
        Just("\u{1b}[31m".to_string()),
        Just("0.5".to_string()),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just("::".to_string()),
        "[.1-9]{16}",
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
