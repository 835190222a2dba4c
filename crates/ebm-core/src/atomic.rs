//! Safe file writes: the only write path for model files and other outputs.
//!
//! [`write_atomic`] writes a temporary file created exclusively (`O_EXCL`, with an
//! unpredictable name, by the `tempfile` crate) in the target's directory, flushes it to
//! disk, renames it over the target and flushes the directory, so a reader sees the old
//! file or the new one, never half of one, and a crash leaves the old file intact. A
//! target that exists and is not a regular file (a device such as `/dev/null`, a
//! directory, a FIFO, a symbolic link) is refused, never replaced or followed. On any
//! failure the temporary file is removed.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Write `bytes` to `path` atomically. On error the previous file at `path` is untouched
/// and the temporary file is removed. The error says what was wrong without repeating
/// `path`, which every caller puts in front (as [`crate::model_file::save`] does).
///
/// Refused (with [`io::ErrorKind::InvalidInput`]): a `path` that exists and is not a
/// regular file (a symbolic link is refused even if it points at one), or a `path` with
/// no file name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let refuse = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("is {why}; refusing to replace it with a regular file"),
        )
    };
    if path.file_name().is_none() {
        return Err(refuse("not a file name"));
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(refuse("a symbolic link")),
        Ok(meta) if meta.is_dir() => return Err(refuse("a directory")),
        Ok(meta) if !meta.is_file() => {
            return Err(refuse("not a regular file (a device, FIFO or socket)"));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // `NamedTempFile` removes the file when dropped: every early return below cleans up.
    let mut tmp = tempfile::Builder::new()
        .prefix(".ebm-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // Keep the permissions a plain `File::create` would give (tempfile makes 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mask = current_umask();
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o666 & !mask))?;
    }
    // Checked again just before the rename: something planted since is not replaced.
    if let Ok(meta) = fs::symlink_metadata(path)
        && !meta.is_file()
    {
        return Err(refuse("no longer a regular file"));
    }
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Flush the directory entry of a rename to disk (a no-op where directories cannot be
/// opened, as on Windows).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, File::open);
        Ok(())
    }
}

/// The process's file-creation mask, read from `/proc/self/status` (Linux) or assumed
/// to be the usual `022`.
#[cfg(unix)]
fn current_umask() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("ebm-atomic-{name}-"))
            .tempdir()
            .unwrap()
    }

    /// A fresh folder holding a file `victim` whose content must survive.
    fn with_victim(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = temp_dir(name);
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        (dir, victim)
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = temp_dir("replace");
        let path = dir.path().join("f.bin");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(entries(dir.path()), ["f.bin"]);
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
    }

    #[test]
    fn failure_keeps_nothing_behind() {
        let path = Path::new("/nonexistent-dir-for-ebm/f.bin");
        assert!(write_atomic(path, b"x").is_err());
    }

    /// The old code wrote `.<name>.<pid>.tmp` with `File::create`, which follows a
    /// symbolic link planted there and overwrites its target.
    #[cfg(unix)]
    #[test]
    fn a_planted_symlink_at_the_old_temp_path_is_not_followed() {
        let (dir, victim) = with_victim("plant");
        let path = dir.path().join("model.ebm");
        let predictable = dir
            .path()
            .join(format!(".model.ebm.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &predictable).unwrap();
        write_atomic(&path, b"model").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&path).unwrap(), b"model");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        // Only the planted link (untouched), the victim and the model remain.
        assert_eq!(entries(dir.path()).len(), 3);
    }

    /// The old code renamed over whatever was at the target: a symbolic link was replaced
    /// (and a device node, as `/dev/null` was when run as root).
    #[cfg(unix)]
    #[test]
    fn a_symlink_target_is_refused_and_kept() {
        let (dir, victim) = with_victim("link");
        let path = dir.path().join("out.ebm");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let e = write_atomic(&path, b"model").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(
            fs::symlink_metadata(&path)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(entries(dir.path()), ["out.ebm", "victim"]);
    }

    #[test]
    fn a_directory_target_is_refused_and_nothing_is_left() {
        let dir = temp_dir("dir");
        let path = dir.path().join("sub");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("inside"), b"x").unwrap();
        let e = write_atomic(&path, b"model").unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
        assert!(path.join("inside").is_file());
        assert_eq!(entries(dir.path()), ["sub"]);
    }

    /// A FIFO stands in for `/dev/null`: a non-regular file that the old code replaced
    /// with a regular one.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_target_is_refused_and_kept() {
        let dir = temp_dir("fifo");
        let path = dir.path().join("null");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let e = write_atomic(&path, b"model").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::symlink_metadata(&path).unwrap().file_type().is_fifo());
        assert_eq!(entries(dir.path()), ["null"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_failed_write_removes_its_temporary_file() {
        // A read-only directory: creating the temporary fails (unless run as root, where
        // the write succeeds; either way no temporary file is left).
        let dir = temp_dir("ro");
        let sub = dir.path().join("ro");
        fs::create_dir(&sub).unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o555)).unwrap();
        let result = write_atomic(&sub.join("f"), b"x");
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
        match result {
            Ok(()) => assert_eq!(entries(&sub), ["f"]),
            Err(_) => assert!(entries(&sub).is_empty()),
        }
    }

    #[cfg(unix)]
    #[test]
    fn written_files_get_the_usual_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        let path = dir.path().join("f");
        write_atomic(&path, b"x").unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o666 & !current_umask());
    }

    /// The model-file writer goes through `write_atomic`; its refusal names the path once.
    #[test]
    fn model_files_refuse_a_directory_and_name_it() {
        let dir = temp_dir("model");
        let path = dir.path().join("m.ebm");
        fs::create_dir(&path).unwrap();
        let e = crate::model_file::save(&path, "demo", &[1], &vec![1.0f32])
            .unwrap_err()
            .to_string();
        assert_eq!(e.matches("m.ebm").count(), 1, "{e}");
        assert!(e.contains("a directory") && !e.contains('\n'), "{e}");
    }
}
