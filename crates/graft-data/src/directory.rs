//! Listing a class-per-folder tree exactly as Keras' `DirectoryIterator` does.
//!
//! Keras' rules, reproduced (they decide which file gets which label and in which order, so a model trained
//! with graft sees the same class indices as one trained with Keras):
//! - classes are the subdirectories of the root, sorted by code point ("10" < "2" < "Dog" < "cat"),
//!   symlinked directories included, hidden ones too; or the `classes` list as given;
//! - each class folder is walked recursively (`os.walk`); directories are visited in the order of their
//!   full path *as a string* (so "a-b" comes before "a/b"), files within a directory by name;
//! - a file is kept when its lower-cased name ends with one of the formats — a plain suffix test without
//!   the dot, so `.PNG` counts and so would a file named `xpng`; nothing is opened at this stage, so a
//!   corrupt `.jpg` is listed (and fails when loaded);
//! - `subset` takes, per class, the first `int(validation_split * n)` files for validation and the rest for
//!   training (the split is in the listing order, not shuffled);
//! - symlinked subdirectories are followed only with `follow_links`; unreadable directories are skipped
//!   silently, as `os.walk` does. graft also stops at symlink cycles, where `os.walk` would recurse forever.

use crate::error::DataError;
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Keras' `Iterator.white_list_formats`: the suffixes `flow_from_directory` keeps.
pub const WHITE_LIST_FORMATS: [&str; 7] = ["png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff"];

/// The result of listing a directory: what Keras' `DirectoryIterator` exposes as `class_indices`,
/// `filenames`, `filepaths` and `classes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectoryListing {
    /// Class names in index order (`class_indices` maps `class_names[i]` to `i`).
    pub class_names: Vec<String>,
    /// Paths relative to the root directory ("cat/sub/img.png"), in Keras' order.
    pub filenames: Vec<PathBuf>,
    /// The same files as paths under the root directory.
    pub filepaths: Vec<PathBuf>,
    /// The class index of each file.
    pub classes: Vec<usize>,
}

/// The subdirectory names of `directory`, sorted by code point (`sorted(os.listdir(d))` filtered by
/// `os.path.isdir`, which follows symlinks).
pub fn list_classes(directory: &Path) -> Result<Vec<String>, DataError> {
    let mut names: Vec<OsString> = Vec::new();
    for entry in std::fs::read_dir(directory).map_err(|e| DataError::io(directory, e))? {
        let entry = entry.map_err(|e| DataError::io(directory, e))?;
        if entry.path().is_dir() {
            names.push(entry.file_name());
        }
    }
    names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    Ok(names
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect())
}

/// Whether a file name passes Keras' format test: its lower-cased name ends with one of `formats`.
pub fn has_white_listed_suffix(file_name: &str, formats: &[String]) -> bool {
    let lower = file_name.to_lowercase();
    formats.iter().any(|f| lower.ends_with(f.as_str()))
}

/// Lists `directory` as `flow_from_directory` does: `classes` (None or empty: every subdirectory), the
/// formats kept, an optional `(start, stop)` fraction of each class (Keras' `split`), and `follow_links`.
pub fn scan_directory(
    directory: &Path,
    classes: Option<&[String]>,
    formats: &[String],
    split: Option<(f64, f64)>,
    follow_links: bool,
) -> Result<DirectoryListing, DataError> {
    let class_names = match classes {
        Some(given) if !given.is_empty() => given.to_vec(),
        _ => list_classes(directory)?,
    };
    let mut listing = DirectoryListing {
        class_names,
        ..Default::default()
    };
    for (index, class) in listing.class_names.iter().enumerate() {
        let class_dir = directory.join(class);
        let dirname = Path::new(class)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(class));
        let mut files = walk_files(&class_dir, formats, follow_links);
        if let Some((start, stop)) = split {
            let n = files.len() as f64;
            let (start, stop) = ((start * n) as usize, (stop * n) as usize);
            let stop = stop.min(files.len());
            files = files.drain(start.min(stop)..stop).collect();
        }
        for file in files {
            let relative = file.strip_prefix(&class_dir).unwrap_or(&file);
            let filename = dirname.join(relative);
            listing.filepaths.push(directory.join(&filename));
            listing.filenames.push(filename);
            listing.classes.push(index);
        }
    }
    Ok(listing)
}

/// `_iter_valid_files`: every kept file under `class_dir`, directories in full-path string order, files
/// by name within each.
fn walk_files(class_dir: &Path, formats: &[String], follow_links: bool) -> Vec<PathBuf> {
    let mut directories: Vec<(PathBuf, Vec<OsString>)> = Vec::new();
    let mut visited = HashSet::new();
    walk(class_dir, follow_links, &mut visited, &mut directories);
    directories.sort_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    let mut files = Vec::new();
    for (root, mut names) in directories {
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        for name in names {
            if has_white_listed_suffix(&name.to_string_lossy(), formats) {
                files.push(root.join(name));
            }
        }
    }
    files
}

/// `os.walk` without ordering: each directory with its non-directory entries. Symlinks to directories
/// are descended only with `follow_links`; errors skip the directory.
fn walk(
    dir: &Path,
    follow_links: bool,
    visited: &mut HashSet<PathBuf>,
    out: &mut Vec<(PathBuf, Vec<OsString>)>,
) {
    // Cycle guard (only symlinks can create cycles).
    if follow_links {
        let Ok(canonical) = dir.canonicalize() else {
            return;
        };
        if !visited.insert(canonical) {
            return;
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names = Vec::new();
    let mut subdirectories = Vec::new();
    for entry in entries.flatten() {
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let is_dir = if file_type.is_symlink() {
            path.is_dir()
        } else {
            file_type.is_dir()
        };
        if is_dir {
            if follow_links || !file_type.is_symlink() {
                subdirectories.push(path);
            }
        } else {
            names.push(entry.file_name());
        }
    }
    out.push((dir.to_path_buf(), names));
    for sub in subdirectories {
        walk(&sub, follow_links, visited, out);
    }
}

/// Keras' `validate_filename` (used by `flow_from_dataframe`): a white-listed suffix and an existing
/// regular file.
pub fn validate_filename(path: &Path, formats: &[String]) -> bool {
    path.file_name()
        .is_some_and(|name| has_white_listed_suffix(&name.to_string_lossy(), formats))
        && path.is_file()
}

/// The default formats as owned strings.
pub(crate) fn default_formats() -> Vec<String> {
    WHITE_LIST_FORMATS.iter().map(|s| s.to_string()).collect()
}
