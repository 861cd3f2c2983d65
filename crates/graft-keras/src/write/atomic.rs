//! Files appear complete or not at all: everything is written to a temporary file in the target
//! folder and renamed into place once complete. A failed write removes its temporary files and
//! leaves an existing file untouched. (graft's facade has `graft::fs::write_atomic` for streams;
//! HDF5 writes through its own file handle, so this crate keeps its own small version.)

use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::Reason;

/// The folder a file is written into (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Refuses an existing target unless `overwrite`.
pub(crate) fn check_target(path: &Path, overwrite: bool) -> Result<(), Reason> {
    if path.is_dir() {
        return Err(Reason::Io("is a folder".into()));
    }
    if !overwrite && path.exists() {
        return Err(Reason::Exists);
    }
    Ok(())
}

/// A new empty temporary file next to `path` (removed when dropped unless persisted). It gets
/// the permissions of any new file (0666 less the umask), not tempfile's private 0600, since it
/// becomes the written model.
pub(crate) fn temp_next_to(path: &Path, suffix: &str) -> Result<NamedTempFile, Reason> {
    let dir = folder_of(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".graft-").suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
        .tempfile_in(&dir)
        .map_err(|e| Reason::Io(format!("cannot create a file in {}: {e}", dir.display())))
}

/// Flushes `temp` to disk and renames it to `path`. Without `overwrite`, an existing `path`
/// (even one created while writing) is kept and the write fails.
pub(crate) fn persist(temp: NamedTempFile, path: &Path, overwrite: bool) -> Result<(), Reason> {
    temp.as_file()
        .sync_all()
        .map_err(|e| Reason::Io(format!("write failed: {e}")))?;
    let result = if overwrite {
        temp.persist(path).map(|_| ())
    } else {
        temp.persist_noclobber(path).map(|_| ())
    };
    result.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            Reason::Exists
        } else {
            Reason::Io(format!("cannot rename into place: {}", e.error))
        }
    })
}
