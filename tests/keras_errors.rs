//! Files graft cannot read fail with an error that names the file and the layer or weight at
//! fault: unknown layer classes, Lambda layers, missing or misshapen weights, truncated and
//! non-HDF5 files (fixtures written by real Keras, then damaged by `scripts/fixtures/error_files.py`).

use graft_tests::fixtures;
use serde_json::Value;

#[test]
fn broken_files_fail_with_a_named_cause() {
    let root = fixtures().join("keras").join("errors");
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("errors.json")).expect("errors.json"),
    )
    .expect("JSON");
    let mut failures = vec![];
    let mut checked = 0;
    for case in index["errors"].as_array().expect("errors") {
        let file = case["file"].as_str().expect("file");
        let expect = case["expect"].as_str().expect("expect");
        checked += 1;
        match graft::load_graph(root.join(file)) {
            Ok(_) => failures.push(format!("{file}: loaded, but {}", case["what"])),
            Err(e) => {
                let message = e.to_string();
                println!("{file}: {message}");
                if !message.contains(file) {
                    failures.push(format!(
                        "{file}: the error does not name the file: {message}"
                    ));
                }
                if !message.contains(expect) {
                    failures.push(format!(
                        "{file}: the error does not mention '{expect}': {message}"
                    ));
                }
            }
        }
    }
    assert!(checked > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reference_files_beside_the_broken_ones_load() {
    // The damaged files were made from these: they must load, so the failures above are about
    // the damage and nothing else.
    let root = fixtures().join("keras").join("errors");
    for file in [
        "keras3_reference.h5",
        "keras3_reference.keras",
        "tfkeras2_reference.h5",
    ] {
        graft::load_graph(root.join(file)).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A file another process holds an exclusive `flock` on still loads. This is what a child
/// process spawned while graft was writing a checkpoint leaves behind (HDF5 opens without
/// `O_CLOEXEC`, so the child inherits the descriptor and its lock): before graft opened files
/// without HDF5's lock, reading the finished checkpoint failed with "unable to lock file,
/// errno = 11" (seen in CI, `model_checkpoint_writes_keras_and_onnx_files`).
#[test]
fn a_file_locked_by_another_process_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("locked.h5");
    std::fs::copy(
        fixtures()
            .join("keras")
            .join("errors")
            .join("keras3_reference.h5"),
        &file,
    )
    .unwrap();
    let mut holder = std::process::Command::new("flock")
        .arg("--exclusive")
        .arg(&file)
        .args(["sleep", "60"])
        .spawn()
        .expect("flock(1) from util-linux");
    // Wait until the lock is really held: a non-blocking shared lock then fails.
    let held = (0..200).any(|_| {
        let free = std::process::Command::new("flock")
            .args(["--shared", "--nonblock"])
            .arg(&file)
            .arg("true")
            .status()
            .unwrap()
            .success();
        if free {
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        !free
    });
    let loaded = graft::load_graph(&file);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(held, "flock never took the lock");
    loaded.unwrap_or_else(|e| panic!("a locked file did not load: {e}"));
}
