//! Files appear complete or not at all: everything is written to a temporary file in the target
//! folder and renamed into place once complete. A failed write removes its temporary files and
//! leaves an existing file untouched. The temporary file is graft-ir's shared one
//! (`graft_ir::files`); HDF5 writes through its own file handle, so this crate keeps its own
//! persisting step (with `overwrite` refusals).

use std::path::Path;

use tempfile::NamedTempFile;

use crate::error::Reason;

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

/// A new empty temporary file next to `path` (see [`graft_ir::files::temp_file_next_to`]).
pub(crate) fn temp_next_to(path: &Path, suffix: &str) -> Result<NamedTempFile, Reason> {
    graft_ir::files::temp_file_next_to(path, suffix).map_err(|e| {
        let dir = graft_ir::files::folder_of(path);
        Reason::Io(format!("cannot create a file in {}: {e}", dir.display()))
    })
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
