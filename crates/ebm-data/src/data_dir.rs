//! Where data sets are found: `--data DIR`, else `$EBM_DATA`, else `./data`.

use std::path::{Path, PathBuf};

/// Environment variable naming the data folder.
pub const DATA_ENV: &str = "EBM_DATA";

/// The data folder: the flag if given, else `$EBM_DATA` if set and non-empty, else `./data`.
pub fn resolve(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match std::env::var_os(DATA_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("data"),
    }
}

/// What a real-data test should do: `Some(dir)` to run, `None` to skip (after printing
/// `skipped: EBM_DATA not set`). Panics when `EBM_REQUIRE_DATA=1` and the data is missing,
/// so CI cannot silently skip.
pub fn for_tests(subdir: &str) -> Option<PathBuf> {
    let required = std::env::var("EBM_REQUIRE_DATA")
        .map(|v| v == "1")
        .unwrap_or(false);
    match std::env::var_os(DATA_ENV) {
        Some(v) if !v.is_empty() => {
            let dir = PathBuf::from(v).join(subdir);
            assert!(
                dir.is_dir(),
                "{}: not a directory (EBM_DATA is set but has no {subdir}/)",
                dir.display()
            );
            Some(dir)
        }
        _ => {
            assert!(!required, "EBM_REQUIRE_DATA=1 but EBM_DATA is not set");
            println!("skipped: EBM_DATA not set");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_wins() {
        assert_eq!(resolve(Some(Path::new("/x"))), PathBuf::from("/x"));
    }
}
