//! Writing files without ever leaving a half-written one behind.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Writes `path` through `fill` into a temporary file in the same folder, then renames it into
/// place. On any error the temporary file is removed and `path` is untouched.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let err = |m: String| Error::file(path, m);
    let mut temp = graft_ir::files::temp_file_next_to(path, ".partial").map_err(|e| {
        let dir = graft_ir::files::folder_of(path);
        err(format!("cannot create a file in {}: {e}", dir.display()))
    })?;
    {
        let mut w = BufWriter::new(temp.as_file_mut());
        fill(&mut w).map_err(|e| err(format!("write failed: {e}")))?;
        w.flush().map_err(|e| err(format!("write failed: {e}")))?;
    }
    temp.as_file()
        .sync_all()
        .map_err(|e| err(format!("write failed: {e}")))?;
    temp.persist(path)
        .map_err(|e| err(format!("cannot rename into place: {}", e.error)))?;
    Ok(())
}
