//! Shared helpers of graft's integration tests: fixture discovery and the comparison rule every
//! test applies.
//!
//! Fixtures are written by the pinned scripts in `scripts/fixtures/` (see `tests/fixtures/README.md`):
//! small ones are committed under `tests/fixtures/keras/`, full-size applications are generated
//! into `tests/fixtures/generated/` by `scripts/fixtures/generate.sh` (which `scripts/test.sh`
//! runs first).

pub mod synthetic;
pub mod tasks;

use std::path::{Path, PathBuf};

use graft::{Graph, Tensor};
use serde_json::Value;

/// `tests/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A fixture folder and its `meta.json`.
pub struct Fixture {
    pub dir: PathBuf,
    pub meta: Value,
}

impl Fixture {
    /// Opens `dir/meta.json`, with a message saying how to make it when it is missing.
    pub fn open(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        let meta_path = dir.join("meta.json");
        let text = std::fs::read_to_string(&meta_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}\nGenerated fixtures are made by `scripts/fixtures/generate.sh` \
                 (scripts/test.sh runs it).",
                meta_path.display()
            )
        });
        let meta = serde_json::from_str(&text).expect("meta.json is JSON");
        Self { dir, meta }
    }

    pub fn name(&self) -> String {
        format!(
            "{}/{}",
            self.meta["framework"].as_str().unwrap_or("?"),
            self.meta["name"].as_str().unwrap_or("?")
        )
    }

    /// The model files: `(kind, path)` for "h5" and "keras".
    pub fn model_files(&self) -> Vec<(String, PathBuf)> {
        let files = self.meta["files"].as_object().expect("files");
        ["h5", "keras"]
            .iter()
            .filter_map(|k| {
                files
                    .get(*k)
                    .and_then(Value::as_str)
                    .map(|f| (k.to_string(), self.dir.join(f)))
            })
            .collect()
    }

    /// A file listed under `files`.
    pub fn file(&self, kind: &str) -> Option<PathBuf> {
        self.meta["files"][kind].as_str().map(|f| self.dir.join(f))
    }

    fn arrays(&self, key: &str) -> Vec<Tensor> {
        self.meta[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| self.npy(e["file"].as_str().expect("file")))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn npy(&self, file: &str) -> Tensor {
        graft::npy::read(self.dir.join(file)).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn inputs(&self) -> Vec<Tensor> {
        self.arrays("inputs")
    }

    pub fn outputs(&self) -> Vec<Tensor> {
        self.arrays("outputs")
    }

    /// `(layer name, expected output)` of inner layers Keras recorded.
    pub fn probes(&self) -> Vec<(String, Tensor)> {
        self.meta["probes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        (
                            p["layer"].as_str().expect("layer").to_string(),
                            self.npy(p["file"].as_str().expect("file")),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The rule: `max |graft - keras| <= tolerance * max |keras|`. Returns the relative
/// error, or a description of the mismatch.
pub fn check_close(
    what: &str,
    actual: &Tensor,
    expected: &Tensor,
    tolerance: f32,
) -> Result<f32, String> {
    if actual.shape() != expected.shape() {
        return Err(format!(
            "{what}: shape {:?}, Keras {:?}",
            actual.shape(),
            expected.shape()
        ));
    }
    let scale = expected.data().iter().fold(0f32, |m, v| m.max(v.abs()));
    let mut worst = 0f32;
    let mut worst_at = 0;
    for (i, (a, e)) in actual.data().iter().zip(expected.data()).enumerate() {
        let d = (a - e).abs();
        if d > worst || d.is_nan() {
            worst = if d.is_nan() { f32::INFINITY } else { d };
            worst_at = i;
        }
    }
    let rel = if scale > 0.0 { worst / scale } else { worst };
    if rel > tolerance || !rel.is_finite() {
        return Err(format!(
            "{what}: max |graft - keras| = {worst:e} at {worst_at} (graft {}, keras {}), {rel:e} of max |keras| = {scale:e}",
            actual.data()[worst_at],
            expected.data()[worst_at]
        ));
    }
    Ok(rel)
}

/// The graph with its outputs replaced by the first output of `layer`.
pub fn with_output(graph: &Graph, layer: &str) -> Graph {
    let mut g = graph.clone();
    g.outputs = vec![graft::ir::TensorRef::new(layer)];
    g
}

/// Runs `graph` on the fixture's inputs and checks outputs and probes. Returns the worst relative
/// error.
pub fn check_fixture_graph(
    fixture: &Fixture,
    graph: &Graph,
    what: &str,
    tolerance: f32,
) -> Result<f32, String> {
    let device = graft::default_device();
    let inputs = fixture.inputs();
    let model = graft::Model::from_graph(graph, &device).map_err(|e| format!("{what}: {e}"))?;
    let outputs = model.predict(&inputs).map_err(|e| format!("{what}: {e}"))?;
    let expected = fixture.outputs();
    if outputs.len() != expected.len() {
        return Err(format!(
            "{what}: {} outputs, Keras {}",
            outputs.len(),
            expected.len()
        ));
    }
    let mut worst = 0f32;
    for (i, (a, e)) in outputs.iter().zip(&expected).enumerate() {
        worst = worst.max(check_close(&format!("{what} output {i}"), a, e, tolerance)?);
    }
    for (layer, expected) in fixture.probes() {
        let probe = graft::Model::from_graph(&with_output(graph, &layer), &device)
            .map_err(|e| format!("{what} probe {layer}: {e}"))?;
        let out = probe
            .predict(&inputs)
            .map_err(|e| format!("{what} probe {layer}: {e}"))?;
        worst = worst.max(check_close(
            &format!("{what} probe '{layer}'"),
            &out[0],
            &expected,
            tolerance * PROBE_FACTOR,
        )?);
    }
    Ok(worst)
}

/// The tolerance the issues set for model outputs: 1e-4 of the largest Keras value.
pub const TOLERANCE: f32 = 1e-4;

/// Extra room for inner feature maps ("probes"). Deep random-weight networks amplify float
/// rounding: on EfficientNetB0's `top_activation` (values up to ~1400) Keras disagrees with
/// itself by 5e-5 to 6.3e-5 of the maximum between two runs (oneDNN kernels on vs off, measured
/// on the committed fixture), and graft lands at 0.9e-4 to 1.1e-4. Outputs keep the strict rule.
pub const PROBE_FACTOR: f32 = 2.0;
