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
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".graft-").suffix(".partial");
    // The file becomes the output: the permissions of any new file (0666 less the umask), not
    // tempfile's private 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder
        .tempfile_in(dir)
        .map_err(|e| err(format!("cannot create a file in {}: {e}", dir.display())))?;
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
