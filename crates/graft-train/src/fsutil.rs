//! Atomic file writes: a temporary file in the target folder, renamed into place.

use std::io::Write;
use std::path::Path;

use crate::error::TrainError;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    std::fs::create_dir_all(graft_ir::files::folder_of(path))
        .map_err(|e| TrainError::file(path, e))?;
    let mut temp = graft_ir::files::temp_file_next_to(path, ".partial")
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
