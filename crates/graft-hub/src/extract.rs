//! Unpacking downloaded archives, as `keras.utils.get_file(..., extract=True)` does: tar,
//! tar.gz and zip files, detected by their first bytes (not their names).
//!
//! Like every file graft-hub writes, an extraction is never seen half-done: members are unpacked
//! into a temporary folder next to the destination, which is renamed into place at the end. A
//! stamp inside it records which archive (size and modification time) it came from, so a
//! re-downloaded archive is extracted again and an unchanged one is not.
//!
//! Safer than Keras, which skips unsafe members with a warning: a member whose path is absolute
//! or climbs out of the destination (`../x`) fails the whole extraction, since such an archive is
//! broken or hostile. Links, devices and other special members are skipped (and counted), as
//! datasets are plain files and a link could point anywhere.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use crate::error::{HubError, Result};
use crate::progress::Reporter;

/// Name of the stamp file written inside an extraction folder.
pub const EXTRACTED_STAMP: &str = ".graft-extracted";

/// The archive formats graft extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// An uncompressed POSIX/GNU tar file.
    Tar,
    /// A gzip-compressed tar file (`.tar.gz`, `.tgz`).
    TarGz,
    /// A zip file.
    Zip,
}

impl ArchiveFormat {
    /// The format of `path` from its magic bytes, or `None` when it is none of them.
    pub fn detect(path: &Path) -> Result<Option<ArchiveFormat>> {
        let mut file = File::open(path).map_err(|e| HubError::io("opening", path, e))?;
        let mut head = [0u8; 262];
        let n = read_up_to(&mut file, &mut head).map_err(|e| HubError::io("reading", path, e))?;
        let head = &head[..n];
        Ok(if head.starts_with(&[0x1f, 0x8b]) {
            Some(ArchiveFormat::TarGz)
        } else if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(ArchiveFormat::Zip)
        } else if head.len() >= 262 && &head[257..262] == b"ustar" {
            Some(ArchiveFormat::Tar)
        } else {
            None
        })
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Where `get_file(fname, extract=True)` extracts `archive`: `<stem>_extracted` next to it, the
/// stem being the file name up to its first dot (`flower_photos.tgz` -> `flower_photos_extracted`).
pub fn extraction_dir_for(archive: &Path) -> PathBuf {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = match name.find('.') {
        Some(0) | None => name.as_str(),
        Some(i) => &name[..i],
    };
    archive.with_file_name(format!("{stem}_extracted"))
}

/// What one extraction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The folder holding the archive's members.
    pub dir: PathBuf,
    /// Regular files written (0 when an earlier extraction was reused).
    pub files: usize,
    /// Links and special members skipped.
    pub skipped: usize,
    /// Whether an up-to-date earlier extraction was reused.
    pub reused: bool,
}

impl Extracted {
    fn reused(dest: &Path) -> Extracted {
        Extracted {
            dir: dest.to_path_buf(),
            files: 0,
            skipped: 0,
            reused: true,
        }
    }
}

/// Extracts `archive` into the folder `dest` (created; replaced if it holds an extraction of an
/// older archive), showing progress unless `quiet`.
pub fn extract_archive(archive: &Path, dest: &Path, quiet: bool) -> Result<Extracted> {
    let reporter = Reporter::new(quiet);
    let stamp = archive_stamp(archive)?;
    if is_current(dest, &stamp) {
        return Ok(Extracted::reused(dest));
    }
    let format = ArchiveFormat::detect(archive)?.ok_or_else(|| HubError::Archive {
        archive: archive.to_path_buf(),
        entry: None,
        reason: "not a tar, tar.gz or zip archive".into(),
    })?;
    let parent = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| HubError::io("creating folder", parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".extracting-")
        .tempdir_in(parent)
        .map_err(|e| HubError::io("creating a temporary folder in", parent, e))?;

    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    reporter.message(&format!(
        "extracting {} to {}",
        archive.display(),
        dest.display()
    ));
    let file = File::open(archive).map_err(|e| HubError::io("opening", archive, e))?;
    let size = file.metadata().map(|m| m.len()).ok();
    let bar = reporter.bar(&name, size, 0);
    let counts = match format {
        ArchiveFormat::Tar => unpack_tar(archive, bar.wrap_read(file), staging.path()),
        ArchiveFormat::TarGz => unpack_tar(
            archive,
            flate2::read::GzDecoder::new(bar.wrap_read(file)),
            staging.path(),
        ),
        ArchiveFormat::Zip => unpack_zip(archive, file, staging.path()),
    }?;
    bar.finish_and_clear();
    fs::write(staging.path().join(EXTRACTED_STAMP), &stamp)
        .map_err(|e| HubError::io("writing", staging.path().join(EXTRACTED_STAMP), e))?;

    if dest.exists() {
        if is_current(dest, &stamp) {
            // Another process finished the same extraction while we worked.
            return Ok(Extracted::reused(dest));
        }
        fs::remove_dir_all(dest)
            .map_err(|e| HubError::io("removing the old extraction", dest, e))?;
    }
    let staged = staging.keep();
    if let Err(e) = fs::rename(&staged, dest) {
        let _ = fs::remove_dir_all(&staged);
        if is_current(dest, &stamp) {
            return Ok(Extracted::reused(dest));
        }
        return Err(HubError::io("moving the extraction into place at", dest, e));
    }
    if counts.1 > 0 {
        reporter.message(&format!(
            "skipped {} link or special member(s) of {}",
            counts.1,
            archive.display()
        ));
    }
    Ok(Extracted {
        dir: dest.to_path_buf(),
        files: counts.0,
        skipped: counts.1,
        reused: false,
    })
}

/// `size mtime_ns` of the archive: what the stamp compares.
fn archive_stamp(archive: &Path) -> Result<String> {
    let meta = fs::metadata(archive).map_err(|e| HubError::io("reading", archive, e))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Ok(format!("{} {mtime}\n", meta.len()))
}

fn is_current(dest: &Path, stamp: &str) -> bool {
    fs::read_to_string(dest.join(EXTRACTED_STAMP)).is_ok_and(|s| s == stamp)
}

/// `entry` as a relative path inside the destination, or an error when it would leave it.
fn safe_relative(archive: &Path, entry: &Path) -> Result<Option<PathBuf>> {
    let mut out = PathBuf::new();
    for component in entry.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(HubError::Archive {
                    archive: archive.to_path_buf(),
                    entry: Some(entry.display().to_string()),
                    reason: "a member's path leaves the extraction folder".into(),
                });
            }
        }
    }
    Ok((!out.as_os_str().is_empty()).then_some(out))
}

fn write_member(archive: &Path, root: &Path, rel: &Path, reader: &mut dyn Read) -> Result<()> {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| HubError::io("creating folder", parent, e))?;
    }
    let mut out = File::create(&path).map_err(|e| HubError::io("creating", &path, e))?;
    io::copy(reader, &mut out).map_err(|e| HubError::Archive {
        archive: archive.to_path_buf(),
        entry: Some(rel.display().to_string()),
        reason: format!("reading the member failed: {e}"),
    })?;
    Ok(())
}

fn corrupt(archive: &Path, e: impl std::fmt::Display) -> HubError {
    HubError::Archive {
        archive: archive.to_path_buf(),
        entry: None,
        reason: format!("the archive is damaged: {e}"),
    }
}

/// Unpacks a tar stream; returns (files written, members skipped).
fn unpack_tar(archive: &Path, reader: impl Read, root: &Path) -> Result<(usize, usize)> {
    let mut tar = tar::Archive::new(reader);
    let (mut files, mut skipped) = (0, 0);
    for entry in tar.entries().map_err(|e| corrupt(archive, e))? {
        let mut entry = entry.map_err(|e| corrupt(archive, e))?;
        let path = entry.path().map_err(|e| corrupt(archive, e))?.into_owned();
        let Some(rel) = safe_relative(archive, &path)? else {
            continue;
        };
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                let dir = root.join(&rel);
                fs::create_dir_all(&dir).map_err(|e| HubError::io("creating folder", &dir, e))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                write_member(archive, root, &rel, &mut entry)?;
                files += 1;
            }
            // Metadata members (pax, GNU long names) are consumed by `entries()`; the rest are
            // links and devices.
            _ => skipped += 1,
        }
    }
    Ok((files, skipped))
}

/// Unpacks a zip file; returns (files written, members skipped).
fn unpack_zip(archive: &Path, mut file: File, root: &Path) -> Result<(usize, usize)> {
    file.seek(SeekFrom::Start(0))
        .map_err(|e| HubError::io("reading", archive, e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| corrupt(archive, e))?;
    let (mut files, mut skipped) = (0, 0);
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(|e| corrupt(archive, e))?;
        let name = member.name().map_err(|e| corrupt(archive, e))?.into_owned();
        let Some(rel) = safe_relative(archive, Path::new(&name))? else {
            continue;
        };
        if member.is_dir() {
            let dir = root.join(&rel);
            fs::create_dir_all(&dir).map_err(|e| HubError::io("creating folder", &dir, e))?;
        } else if member.is_symlink() {
            skipped += 1;
        } else {
            write_member(archive, root, &rel, &mut member)?;
            files += 1;
        }
    }
    Ok((files, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keras_extraction_folder_names() {
        let dir = Path::new("/c/datasets");
        assert_eq!(
            extraction_dir_for(&dir.join("flower_photos.tgz")),
            dir.join("flower_photos_extracted")
        );
        assert_eq!(
            extraction_dir_for(&dir.join("data.tar.gz")),
            dir.join("data_extracted")
        );
        assert_eq!(
            extraction_dir_for(&dir.join("plain")),
            dir.join("plain_extracted")
        );
    }

    #[test]
    fn escaping_paths_are_refused() {
        let a = Path::new("a.tar");
        assert!(safe_relative(a, Path::new("../x")).is_err());
        assert!(safe_relative(a, Path::new("/etc/x")).is_err());
        assert!(safe_relative(a, Path::new("d/../../x")).is_err());
        assert_eq!(
            safe_relative(a, Path::new("./d/x")).unwrap(),
            Some(PathBuf::from("d/x"))
        );
        assert_eq!(safe_relative(a, Path::new("./")).unwrap(), None);
    }
}
