//! External data: tensors whose bytes live in a file next to the model (models over protobuf's
//! 2 GB limit). The location must stay inside the model's folder.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use tract_onnx::pb::TensorProto;

/// Where a tensor's external bytes are: file, offset, length (`None`: to the end).
pub(crate) struct Location {
    pub file: PathBuf,
    pub offset: u64,
    pub length: Option<u64>,
}

/// Resolves `location` relative to `model_dir`, refusing absolute paths, `..`, and links that
/// lead outside the folder.
pub(crate) fn resolve(model_dir: &Path, location: &str) -> Result<PathBuf, String> {
    let rel = Path::new(location);
    if location.is_empty()
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "external data location {location:?} escapes the model's folder (only relative \
             paths inside it are allowed)"
        ));
    }
    let dir = if model_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        model_dir
    };
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve the model's folder {}: {e}", dir.display()))?;
    let file = dir.join(rel);
    let file = file
        .canonicalize()
        .map_err(|e| format!("external data file {location:?}: {e}"))?;
    if !file.starts_with(&dir) {
        return Err(format!(
            "external data location {location:?} resolves outside the model's folder"
        ));
    }
    Ok(file)
}

/// The `external_data` entries of `t`.
pub(crate) fn location(t: &TensorProto, model_dir: &Path) -> Result<Location, String> {
    let entry = |key: &str| {
        t.external_data
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    };
    let number = |key: &str| -> Result<Option<u64>, String> {
        entry(key)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("external data '{key}' is not a number: {v:?}"))
            })
            .transpose()
    };
    let loc = entry("location").ok_or("external data without a 'location'")?;
    Ok(Location {
        file: resolve(model_dir, loc)?,
        offset: number("offset")?.unwrap_or(0),
        length: number("length")?,
    })
}

/// Reads the bytes of a location, checking them against the file's size before allocating, and
/// that they hold `expected` bytes when given.
pub(crate) fn read(loc: &Location, expected: Option<u64>) -> Result<Vec<u8>, String> {
    let mut f = std::fs::File::open(&loc.file)
        .map_err(|e| format!("cannot open {}: {e}", loc.file.display()))?;
    let size = f
        .metadata()
        .map_err(|e| format!("{}: {e}", loc.file.display()))?
        .len();
    let available = size.checked_sub(loc.offset).ok_or_else(|| {
        format!(
            "external data offset {} is past the end of {} ({size} bytes)",
            loc.offset,
            loc.file.display()
        )
    })?;
    let length = loc.length.or(expected).unwrap_or(available);
    if length > available {
        return Err(format!(
            "external data ({length} bytes at offset {}) runs past the end of {} ({size} bytes)",
            loc.offset,
            loc.file.display()
        ));
    }
    if let Some(e) = expected
        && e != length
    {
        return Err(format!(
            "external data holds {length} bytes, the tensor needs {e}"
        ));
    }
    f.seek(SeekFrom::Start(loc.offset))
        .map_err(|e| format!("{}: {e}", loc.file.display()))?;
    let mut buf = vec![0u8; length as usize];
    f.read_exact(&mut buf)
        .map_err(|e| format!("{}: {e}", loc.file.display()))?;
    Ok(buf)
}
