//! The `graft` binary end to end: demo, summary, run, and clear one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn graft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(args)
        .output()
        .expect("graft runs")
}

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/keras")
        .join(path)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn demo_imports_runs_and_matches_keras() {
    let dir = tempfile::tempdir().unwrap();
    let out = graft(&["demo", "--out", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("8/8 top-1 agree"), "{stdout}");
    for f in [
        "demo_backbone.h5",
        "sample_images.npy",
        "keras_outputs.npy",
        "graft_outputs.npy",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
}

#[test]
fn summary_prints_keras_totals() {
    let out = graft(&[
        "summary",
        fixture("keras3/nested_frozen/model.h5").to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("keras3/nested_frozen/meta.json")).unwrap(),
    )
    .unwrap();
    let total = meta["summary"]["total_params"].as_u64().unwrap();
    let grouped = graft::ir::summary::group_digits(total as usize);
    assert!(
        stdout.contains(&format!("Total params: {grouped}")),
        "{stdout}"
    );
    assert!(stdout.contains("base (Functional)"), "{stdout}");
}

#[test]
fn run_writes_keras_outputs_for_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let fx = fixture("keras3/multi_io");
    let y = dir.path().join("y.npy");
    let out = graft(&[
        "run",
        fx.join("model.keras").to_str().unwrap(),
        "-i",
        fx.join("input_0.npy").to_str().unwrap(),
        "-i",
        fx.join("input_1.npy").to_str().unwrap(),
        "-o",
        y.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for i in 0..2 {
        let ours = graft::npy::read(dir.path().join(format!("y_{i}.npy"))).unwrap();
        let keras = graft::npy::read(fx.join(format!("output_{i}.npy"))).unwrap();
        assert_eq!(ours.shape(), keras.shape());
        let scale = keras.data().iter().fold(0f32, |m, v| m.max(v.abs()));
        for (a, b) in ours.data().iter().zip(keras.data()) {
            assert!((a - b).abs() <= 1e-4 * scale, "{a} vs {b}");
        }
    }
    assert!(
        !y.exists(),
        "a multi-output model writes y_0.npy, y_1.npy, not y.npy"
    );
}

#[test]
fn bad_inputs_fail_with_one_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let y = dir.path().join("y.npy");
    // Not a model.
    let out = graft(&["summary", fixture("errors/not_hdf5.h5").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("not_hdf5.h5"),
        "{err}"
    );
    // A Lambda layer.
    let out = graft(&[
        "summary",
        fixture("errors/keras3_lambda.keras").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("my_lambda"));
    // An input of the wrong shape: error naming the input, no output file.
    let fx = fixture("keras3/nested_frozen");
    let out = graft(&[
        "run",
        fx.join("model.h5").to_str().unwrap(),
        "-i",
        fixture("keras3/multi_io/input_1.npy").to_str().unwrap(),
        "-o",
        y.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("input 0") && err.contains("expects shape"),
        "{err}"
    );
    assert!(!y.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no temporary file left"
    );
}
