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

/// `data/subdir`, where a relative `data` is looked up from the working directory and
/// then from its ancestors: cargo runs each package's tests in that package's folder, so
/// `EBM_DATA=../shared/data` (relative to the workspace root) must also work from
/// `crates/NAME`.
fn locate_relative(data: &Path, subdir: &str) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => locate_relative_from(&cwd, data, subdir),
        Err(_) => data.join(subdir),
    }
}

/// [`locate_relative`] with the working directory given.
fn locate_relative_from(cwd: &Path, data: &Path, subdir: &str) -> PathBuf {
    let direct = data.join(subdir);
    if data.is_absolute() {
        return direct;
    }
    for ancestor in cwd.ancestors() {
        let candidate = ancestor.join(data).join(subdir);
        if candidate.is_dir() {
            return if ancestor == cwd { direct } else { candidate };
        }
    }
    direct
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
            let dir = locate_relative(Path::new(&v), subdir);
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

    #[test]
    fn relative_data_is_found_from_an_ancestor() {
        let root = std::env::temp_dir().join(format!("ebm-data-dir-{}", std::process::id()));
        let nested = root.join("a").join("b");
        std::fs::create_dir_all(root.join("shared").join("ml")).unwrap();
        std::fs::create_dir_all(&nested).unwrap();
        let found = locate_relative_from(&nested, Path::new("shared"), "ml");
        assert_eq!(found, root.join("shared").join("ml"));
        let here = locate_relative_from(&root, Path::new("shared"), "ml");
        assert_eq!(here, PathBuf::from("shared/ml"));
        assert_eq!(
            locate_relative_from(&nested, Path::new("/abs"), "ml"),
            PathBuf::from("/abs/ml")
        );
        let missing = locate_relative_from(&nested, Path::new("nowhere"), "ml");
        assert_eq!(missing, PathBuf::from("nowhere/ml"));
    }
}
