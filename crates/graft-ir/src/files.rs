//! Files that appear complete or not at all, shared by every crate that writes one (Keras,
//! ONNX, plots, training logs and checkpoints, the facade's streams): the file is written as a
//! temporary file in the target's own folder and renamed over the target once complete, so a
//! failed write leaves the target untouched and the rename never crosses file systems.

use std::path::Path;

use tempfile::NamedTempFile;

/// The folder `path` is written into (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A new empty temporary file next to `path`, named `.graft-*<suffix>` (removed when dropped
/// unless persisted). It gets the permissions of any new file (0666 less the umask), not
/// tempfile's private 0600, since it becomes the written file.
pub fn temp_file_next_to(path: &Path, suffix: &str) -> std::io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".graft-").suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(folder_of(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_files_sit_next_to_the_target() {
        assert_eq!(folder_of(Path::new("model.onnx")), Path::new("."));
        assert_eq!(folder_of(Path::new("out/model.onnx")), Path::new("out"));
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("plot.svg");
        let temp = temp_file_next_to(&target, ".partial").unwrap();
        assert_eq!(temp.path().parent(), Some(dir.path()));
        let name = temp
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(".graft-") && name.ends_with(".partial"),
            "{name}"
        );
    }
}
