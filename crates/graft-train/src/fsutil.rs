//! Atomic file writes: a temporary file in the target folder, renamed into place.

use std::io::Write;
use std::path::Path;

use crate::error::TrainError;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| TrainError::file(path, e))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".graft-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| TrainError::file(path, e))?;
    temp.write_all(bytes)
        .map_err(|e| TrainError::file(path, e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| TrainError::file(path, e))?;
    temp.persist(path)
        .map_err(|e| TrainError::file(path, e.error))?;
    Ok(())
}
