//! Archive extraction (`get_file(extract=True)`) on archives written by the real tools: GNU tar
//! (as the TensorFlow datasets such as flower_photos.tgz are) and Python's zipfile/tarfile.

use std::fs;
use std::path::Path;
use std::process::Command;

use graft_hub::{ArchiveFormat, EXTRACTED_STAMP, HubError, extract_archive, extraction_dir_for};

/// A small class-folder dataset with a top-level file, like flower_photos.
fn make_tree(root: &Path) {
    for (class, n) in [("daisy", 3), ("roses", 2)] {
        let dir = root.join("flower_photos").join(class);
        fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            fs::write(dir.join(format!("{i}.jpg")), format!("{class} {i}")).unwrap();
        }
    }
    fs::write(root.join("flower_photos").join("LICENSE.txt"), "CC-BY").unwrap();
}

fn check_tree(dir: &Path) {
    let root = dir.join("flower_photos");
    assert_eq!(
        fs::read_to_string(root.join("daisy/2.jpg")).unwrap(),
        "daisy 2"
    );
    assert_eq!(
        fs::read_to_string(root.join("roses/1.jpg")).unwrap(),
        "roses 1"
    );
    assert_eq!(
        fs::read_to_string(root.join("LICENSE.txt")).unwrap(),
        "CC-BY"
    );
    assert_eq!(fs::read_dir(root.join("daisy")).unwrap().count(), 3);
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("running an archiver");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `tar -c<flags>f ARCHIVE -C ROOT flower_photos`.
fn tar(flags: &str, archive: &Path, root: &Path) {
    run(Command::new("tar")
        .arg(format!("-c{flags}f"))
        .arg(archive)
        .arg("-C")
        .arg(root)
        .arg("flower_photos"));
}

fn python(script: &str, args: &[&Path]) {
    run(Command::new("python3").arg("-c").arg(script).args(args));
}

#[test]
fn gnu_tar_gz_extracts_like_keras_and_is_reused() {
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let archive = work.path().join("flower_photos.tgz");
    tar("z", &archive, work.path());
    assert_eq!(
        ArchiveFormat::detect(&archive).unwrap(),
        Some(ArchiveFormat::TarGz)
    );
    let dest = extraction_dir_for(&archive);
    assert_eq!(dest, work.path().join("flower_photos_extracted"));
    let first = extract_archive(&archive, &dest, true).unwrap();
    assert_eq!((first.files, first.reused), (6, false));
    check_tree(&dest);
    assert!(dest.join(EXTRACTED_STAMP).is_file());

    // Unchanged archive: nothing is extracted again (a file we remove stays removed).
    fs::remove_file(dest.join("flower_photos/LICENSE.txt")).unwrap();
    let second = extract_archive(&archive, &dest, true).unwrap();
    assert!(second.reused);
    assert!(!dest.join("flower_photos/LICENSE.txt").exists());

    // A new archive replaces the old extraction entirely.
    fs::write(work.path().join("flower_photos/daisy/2.jpg"), "daisy two").unwrap();
    tar("z", &archive, work.path());
    let third = extract_archive(&archive, &dest, true).unwrap();
    assert!(!third.reused);
    assert_eq!(
        fs::read_to_string(dest.join("flower_photos/daisy/2.jpg")).unwrap(),
        "daisy two"
    );
    assert!(dest.join("flower_photos/LICENSE.txt").exists());
}

#[test]
fn plain_tar_and_zip_extract() {
    let work = tempfile::tempdir().unwrap();
    make_tree(work.path());
    let plain = work.path().join("photos.tar");
    tar("", &plain, work.path());
    assert_eq!(
        ArchiveFormat::detect(&plain).unwrap(),
        Some(ArchiveFormat::Tar)
    );
    let out = work.path().join("from_tar");
    extract_archive(&plain, &out, true).unwrap();
    check_tree(&out);

    let zip = work.path().join("photos.zip");
    python(
        "import shutil,sys; shutil.make_archive(sys.argv[1][:-4], 'zip', sys.argv[2], 'flower_photos')",
        &[&zip, work.path()],
    );
    assert_eq!(
        ArchiveFormat::detect(&zip).unwrap(),
        Some(ArchiveFormat::Zip)
    );
    let out = work.path().join("from_zip");
    extract_archive(&zip, &out, true).unwrap();
    check_tree(&out);
}

#[test]
fn escaping_members_fail_and_leave_nothing() {
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("evil.tar.gz");
    python(
        "import io,sys,tarfile\n\
         t = tarfile.open(sys.argv[1], 'w:gz')\n\
         for name in ['ok/a.txt', '../escaped.txt']:\n\
         \x20   data = b'x'\n\
         \x20   info = tarfile.TarInfo(name); info.size = len(data)\n\
         \x20   t.addfile(info, io.BytesIO(data))\n\
         t.close()",
        &[&archive],
    );
    let dest = work.path().join("sub").join("evil_extracted");
    let err = extract_archive(&archive, &dest, true).unwrap_err();
    assert!(matches!(err, HubError::Archive { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("evil.tar.gz") && text.contains("../escaped.txt"),
        "{text}"
    );
    assert!(!dest.exists());
    assert!(
        !work
            .path()
            .join("sub")
            .join("..")
            .join("escaped.txt")
            .exists()
    );
    assert!(!work.path().join("escaped.txt").exists());
    // No staging folder left behind.
    let left: Vec<_> = fs::read_dir(work.path().join("sub")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn non_archives_and_truncated_archives_are_clear_errors() {
    let work = tempfile::tempdir().unwrap();
    let weights = work.path().join("weights.h5");
    fs::write(&weights, b"\x89HDF\r\n\x1a\n not an archive").unwrap();
    let err = extract_archive(&weights, &work.path().join("w"), true).unwrap_err();
    assert!(
        err.to_string().contains("not a tar, tar.gz or zip"),
        "{err}"
    );

    make_tree(work.path());
    let archive = work.path().join("cut.tgz");
    tar("z", &archive, work.path());
    let bytes = fs::read(&archive).unwrap();
    fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    let dest = work.path().join("cut_extracted");
    let err = extract_archive(&archive, &dest, true).unwrap_err();
    assert!(err.to_string().contains("cut.tgz"), "{err}");
    assert!(!dest.exists());
}
