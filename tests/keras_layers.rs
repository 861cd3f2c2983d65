//! Every committed small Keras fixture (each layer, activation and structure graft supports,
//! written by real Keras 3 and tf.keras 2) runs in graft with Keras' numbers, reports Keras'
//! summary, and loads from its weights-only files.

use graft::Graph;
use graft::keras::LoadWeightsOptions;
use graft_tests::{Fixture, TOLERANCE, check_fixture_graph, fixtures};
use serde_json::Value;

fn small_fixtures() -> Vec<Fixture> {
    let root = fixtures().join("keras");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    manifest["fixtures"]
        .as_array()
        .expect("fixtures")
        .iter()
        .map(|f| Fixture::open(root.join(f["path"].as_str().expect("path"))))
        .collect()
}

fn report(failures: Vec<String>, checked: usize) {
    assert!(checked > 0, "no fixtures were checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_small_fixture_matches_keras() {
    let (mut failures, mut checked) = (vec![], 0);
    for fixture in small_fixtures() {
        for (kind, path) in fixture.model_files() {
            checked += 1;
            let what = format!("{} ({kind})", fixture.name());
            match graft::load_graph(&path) {
                Ok(graph) => match check_fixture_graph(&fixture, &graph, &what, TOLERANCE) {
                    Ok(rel) => println!("ok   {what}: max error {rel:.1e} of max |keras|"),
                    Err(e) => failures.push(e),
                },
                Err(e) => failures.push(format!("{what}: {e}")),
            }
        }
    }
    report(failures, checked);
}

fn shape_json(shape: &graft::Shape) -> Value {
    Value::Array(
        shape
            .dims()
            .iter()
            .map(|d| d.map(Value::from).unwrap_or(Value::Null))
            .collect(),
    )
}

#[test]
fn summaries_match_keras() {
    let (mut failures, mut checked) = (vec![], 0);
    for fixture in small_fixtures() {
        let Some(path) = fixture.file("h5") else {
            continue;
        };
        checked += 1;
        let name = fixture.name();
        let graph = match graft::load_graph(&path) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let summary = &fixture.meta["summary"];
        let counts = graph.param_counts();
        for (what, ours, theirs) in [
            ("total params", counts.total(), &summary["total_params"]),
            (
                "trainable params",
                counts.trainable,
                &summary["trainable_params"],
            ),
            (
                "non-trainable params",
                counts.non_trainable,
                &summary["non_trainable_params"],
            ),
        ] {
            if theirs.as_u64() != Some(ours as u64) {
                failures.push(format!("{name}: {what} {ours}, Keras {theirs}"));
            }
        }
        let shapes = graph.infer_shapes().expect("inferred");
        for layer in summary["layers"].as_array().expect("layers") {
            let layer_name = layer["name"].as_str().expect("name");
            let Some(ours) = graph.layer(layer_name) else {
                failures.push(format!("{name}: Keras layer '{layer_name}' is missing"));
                continue;
            };
            let params = ours.param_count() as u64;
            if layer["params"].as_u64() != Some(params) {
                failures.push(format!(
                    "{name}: layer '{layer_name}' has {params} params, Keras {}",
                    layer["params"]
                ));
            }
            let theirs = &layer["output_shape"];
            // tf.keras reports a shared layer's shape as "multiple", Keras 3 as its last call's.
            if theirs == "multiple" {
                continue;
            }
            // Multi-output layers are reported as a list of shapes; compare the first.
            let theirs = if theirs[0].is_array() {
                &theirs[0]
            } else {
                theirs
            };
            // Keras' Activation.compute_output_shape ignores that GLU halves its axis, so its
            // summary is wrong there; the output Keras computed (output_*.npy, checked by
            // every_small_fixture_matches_keras) has the halved shape graft reports.
            if layer_name == "act_glu" {
                continue;
            }
            let calls: Vec<Value> = (0..ours.nodes.len().max(1))
                .filter_map(|node| {
                    shapes
                        .get(&graft::ir::TensorRef::at(layer_name, node, 0))
                        .map(shape_json)
                })
                .collect();
            if !calls.contains(theirs) {
                failures.push(format!(
                    "{name}: layer '{layer_name}' output shapes {calls:?}, Keras {theirs}"
                ));
            }
        }
    }
    report(failures, checked);
}

fn without_weights(mut graph: Graph) -> Graph {
    fn strip(g: &mut Graph) {
        for layer in &mut g.layers {
            layer.weights.clear();
            if let graft::Op::Model(inner) = &mut layer.op {
                strip(inner);
            }
        }
    }
    strip(&mut graph);
    graph
}

#[test]
fn weights_only_files_load_into_the_architecture() {
    let (mut failures, mut checked, mut keras1) = (vec![], 0, 0);
    for fixture in small_fixtures() {
        let Some(model_path) = fixture.file("h5") else {
            continue;
        };
        let architecture = without_weights(graft::load_graph(&model_path).expect("model loads"));
        let mut files: Vec<(&str, std::path::PathBuf, bool)> = vec![];
        if let Some(w) = fixture.file("weights") {
            files.push(("weights, in order", w.clone(), false));
            if fixture.meta["framework"] == "tfkeras2" {
                files.push(("weights, by name", w, true));
            }
        }
        if let Some(w) = fixture.file("weights_keras1") {
            keras1 += 1;
            files.push(("keras-1 names, in order", w, false));
        }
        for (how, path, by_name) in files {
            checked += 1;
            let what = format!("{} ({how})", fixture.name());
            let mut graph = architecture.clone();
            match graft::keras::load_weights(&mut graph, &path, LoadWeightsOptions { by_name }) {
                Ok(_) => match check_fixture_graph(&fixture, &graph, &what, TOLERANCE) {
                    Ok(rel) => println!("ok   {what}: max error {rel:.1e}"),
                    Err(e) => failures.push(e),
                },
                Err(e) => failures.push(format!("{what}: {e}")),
            }
        }
    }
    // The manifest's key for the Keras-1-names file: a misspelt key would skip it silently.
    assert!(keras1 > 0, "no fixture has a Keras-1-names weights file");
    report(failures, checked);
}
