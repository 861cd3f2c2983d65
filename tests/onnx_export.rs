//! ONNX export (issue 4): Keras 3 `.h5`/`.keras` and tf.keras `.h5` applications written as ONNX
//! by `graft_onnx::save_model` pass `onnx.checker.check_model(full_check=True)`, and onnxruntime
//! and tract (in-process) compute Keras' outputs within 1e-4 of the largest Keras value, at
//! batch 1 and batch 3 (the written batch is dynamic).
//!
//! Inputs and expected outputs come from the Keras application fixtures
//! (`tests/fixtures/generated/keras/`, made by `scripts/fixtures/generate.sh --applications`):
//! batch 1 is sample 0, batch 3 samples 1, 0, 1 (inference is per sample). The Python side is
//! `scripts/fixtures/onnx/check_export.py`, run once per format with `.venv/bin/python` (made by
//! `scripts/setup.sh --python`); a missing fixture or virtualenv fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use graft::Tensor;
use graft::onnx::runtime::TractModel;
use graft_tests::{Fixture, TOLERANCE, check_close, fixtures};
use serde_json::{Value, json};

const MODELS: [&str; 6] = [
    "resnet50",
    "mobilenetv2",
    "mobilenet",
    "vgg16",
    "densenet121",
    "efficientnetb0",
];
/// Samples of the fixture's batch of 2 that make each checked batch.
const BATCHES: [&[usize]; 2] = [&[0], &[1, 0, 1]];

fn python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        py.exists(),
        "{}: missing; `scripts/setup.sh --python` makes it (scripts/test.sh runs it)",
        py.display()
    );
    py
}

/// The samples `idx` of a batched tensor, in that order.
fn pick(t: &Tensor, idx: &[usize]) -> Tensor {
    let per: usize = t.shape()[1..].iter().product();
    let mut shape = t.shape().to_vec();
    shape[0] = idx.len();
    let data = idx
        .iter()
        .flat_map(|&i| t.data()[i * per..(i + 1) * per].iter().copied())
        .collect();
    Tensor::new(shape, data).unwrap()
}

/// Writes one model as ONNX, checks it with tract, and returns its case for check_export.py.
fn export_one(
    fixture: &Fixture,
    kind: &str,
    file: &Path,
    dir: &Path,
    failures: &mut Vec<String>,
) -> Option<Value> {
    let what = format!("{} ({kind})", fixture.name());
    let stem = format!(
        "{}_{kind}",
        fixture.meta["name"]
            .as_str()
            .unwrap_or("model")
            .to_lowercase()
    );
    let graph = match graft::load_graph(file) {
        Ok(g) => g,
        Err(e) => {
            failures.push(format!("{what}: {e}"));
            return None;
        }
    };
    let onnx = dir.join(format!("{stem}.onnx"));
    let t0 = std::time::Instant::now();
    let options = graft::onnx::SaveOptions::default();
    if let Err(e) = graft::onnx::save_model(graph, &onnx, &options, &mut |_, _| {}) {
        failures.push(format!("{what}: {e}"));
        return None;
    }
    println!("     {what}: written in {:.1?}", t0.elapsed());
    let inputs = fixture.inputs();
    let expected = fixture.outputs();
    let mut runs = vec![];
    for idx in BATCHES {
        let ins: Vec<Tensor> = inputs.iter().map(|t| pick(t, idx)).collect();
        let want: Vec<Tensor> = expected.iter().map(|t| pick(t, idx)).collect();
        let batch = idx.len();
        let mut files = json!({"inputs": [], "expected": []});
        for (key, tensors) in [("inputs", &ins), ("expected", &want)] {
            for (i, t) in tensors.iter().enumerate() {
                let f = format!("{stem}.b{batch}.{key}{i}.npy");
                graft::npy::write(dir.join(&f), t).unwrap();
                files[key].as_array_mut().unwrap().push(json!(f));
            }
        }
        runs.push(files);
        let shapes: Vec<Vec<usize>> = ins.iter().map(|t| t.shape().to_vec()).collect();
        let outs = TractModel::load(&onnx, &shapes).and_then(|m| m.run(&ins));
        match outs {
            Ok(outs) if outs.len() == want.len() => {
                for (i, (o, e)) in outs.iter().zip(&want).enumerate() {
                    let name = format!("{what} tract output {i} at batch {batch}");
                    match check_close(&name, o, e, TOLERANCE) {
                        Ok(rel) => println!("ok   {name}: {rel:.1e} of max |keras|"),
                        Err(msg) => failures.push(msg),
                    }
                }
            }
            Ok(outs) => failures.push(format!(
                "{what}: tract gives {} outputs, Keras {}",
                outs.len(),
                want.len()
            )),
            Err(e) => failures.push(format!("{what}: tract at batch {batch}: {e}")),
        }
    }
    Some(json!({"name": what, "model": format!("{stem}.onnx"), "runs": runs}))
}

/// Reads check_export.py's results.json into failures.
fn python_failures(results: &Value, failures: &mut Vec<String>) {
    for r in results.as_array().expect("results.json is a list") {
        let name = r["name"].as_str().unwrap_or("?");
        if r["checker"] != "ok" {
            failures.push(format!("{name}: onnx.checker: {}", r["checker"]));
        }
        for run in r["runs"].as_array().into_iter().flatten() {
            if let Some(e) = run["error"].as_str() {
                failures.push(format!(
                    "{name}: onnxruntime at batch {}: {e}",
                    run["batch"]
                ));
                continue;
            }
            let rels = run["rel"].as_array().expect("rel");
            let bad = rels
                .iter()
                .any(|v| v.as_f64().is_none_or(|v| v > f64::from(TOLERANCE)));
            if bad {
                failures.push(format!(
                    "{name}: onnxruntime vs Keras at batch {}: {run} (tolerance {TOLERANCE:e})",
                    run["batch"]
                ));
            }
        }
    }
}

fn check_format(framework: &str, kind: &str, models: &[&str]) {
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = vec![];
    let mut cases = vec![];
    for name in models {
        let fixture = Fixture::open(
            fixtures()
                .join("generated/keras")
                .join(framework)
                .join(name),
        );
        let file = fixture
            .file(kind)
            .unwrap_or_else(|| panic!("{framework}/{name}: the fixture has no {kind} file"));
        if let Some(case) = export_one(&fixture, kind, &file, dir.path(), &mut failures) {
            cases.push(case);
        }
    }
    let cases_path = dir.path().join("cases.json");
    let doc = json!({"tolerance": TOLERANCE, "cases": cases});
    std::fs::write(&cases_path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fixtures/onnx/check_export.py");
    let out = Command::new(&py)
        .arg(&script)
        .arg(&cases_path)
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .expect("python runs");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "check_export.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    python_failures(&results, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn keras3_h5_to_onnx() {
    check_format("keras3", "h5", &MODELS);
}

#[test]
fn keras3_keras_to_onnx() {
    check_format("keras3", "keras", &MODELS);
}

/// tf.keras 2 fixtures exist for ResNet50 and MobileNetV2 only.
#[test]
fn tfkeras2_h5_to_onnx() {
    check_format("tfkeras2", "h5", &["resnet50", "mobilenetv2"]);
}
