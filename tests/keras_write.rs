//! graft's Keras writers against real Keras: every committed small fixture (written by Keras 3
//! and by tf.keras 2) and every generated keras.applications fixture is read by graft, written
//! as a Keras 3 legacy `.h5`, a tf.keras 2 legacy `.h5` and a Keras 3 `.keras`, then
//!
//! - read back by graft: the same graph (layer names, ops, calls, bit-identical weights);
//! - loaded by the framework of the dialect (`keras.models.load_model` for Keras 3 files,
//!   `tf_keras.models.load_model` for tf.keras 2 files), whose predictions on the fixture's
//!   inputs must match the fixture's outputs within 1e-4 of the largest output; small fixtures
//!   also go through `save_weights` (legacy and `.weights.h5` layouts) and `load_weights`.
//!
//! A layer a dialect cannot express must be refused before anything is written. The Python
//! checks run in one process per framework (`scripts/fixtures/keras_roundtrip/check_written.py`,
//! in the `.venv` that `scripts/test.sh` sets up); `GRAFT_SKIP_PYTHON=1` runs only graft's side.

#[path = "support/keras_checker.rs"]
mod keras_checker;

use std::path::{Path, PathBuf};

use graft::Graph;
use graft::ir::{
    Activation, DType, DataFormat, DenseConfig, InputConfig, Layer, Op, Padding, PoolConfig,
    PoolKind, Shape, TensorRef,
};
use graft::keras::{Dialect, KerasFormat, Reason, SaveOptions};
use graft_tests::{Fixture, fixtures};
use keras_checker::{Checkers, Framework, VARIANTS, Variant, checker, checkers, weight};
use serde_json::{Value, json};

/// The graph graft should read back from a file written in `dialect`: Keras 3 names lose `/`.
fn expected_after_write(graph: &Graph, dialect: Dialect) -> Graph {
    let mut g = graph.clone();
    if dialect == Dialect::Keras3 {
        fn fix(g: &mut Graph) {
            g.name = g.name.replace('/', "_");
            let r = |t: &mut TensorRef| t.layer = t.layer.replace('/', "_");
            for l in &mut g.layers {
                l.name = l.name.replace('/', "_");
                for n in &mut l.nodes {
                    n.inputs.iter_mut().for_each(r);
                }
                if let Op::Model(inner) = &mut l.op {
                    fix(inner);
                }
            }
            g.inputs.iter_mut().chain(g.outputs.iter_mut()).for_each(r);
        }
        fix(&mut g);
    }
    g
}

/// The first difference between two graphs.
fn first_difference(a: &Graph, b: &Graph) -> String {
    if a.name != b.name || a.kind != b.kind || a.inputs != b.inputs || a.outputs != b.outputs {
        return format!(
            "model {:?} {:?} {:?} -> {:?} vs {:?} {:?} {:?} -> {:?}",
            a.name, a.kind, a.inputs, a.outputs, b.name, b.kind, b.inputs, b.outputs
        );
    }
    if a.layers.len() != b.layers.len() {
        return format!("{} layers vs {}", a.layers.len(), b.layers.len());
    }
    for (x, y) in a.layers.iter().zip(&b.layers) {
        if x == y {
            continue;
        }
        if let (Some(gx), Some(gy)) = (x.as_model(), y.as_model()) {
            return format!("nested '{}': {}", x.name, first_difference(gx, gy));
        }
        if x.weights != y.weights {
            return format!("layer '{}': weights differ", x.name);
        }
        let s = format!(
            "layer {} {:?} {} {:?}\n  vs {} {:?} {} {:?}",
            x.name, x.op, x.trainable, x.nodes, y.name, y.op, y.trainable, y.nodes
        );
        return s.chars().take(800).collect();
    }
    "no difference".into()
}

/// What happened to one fixture in one variant.
enum Outcome {
    /// Written and read back; Keras' answer is pending on the framework's checker.
    Pending(Framework, Vec<PathBuf>),
    /// Written and read back; no Keras check (GRAFT_SKIP_PYTHON).
    Unchecked,
    Refused(String),
}

/// Writes `graph` as `variant` into `dir`, reads it back, and sends Keras a check request
/// (answered later, so both frameworks work at once). `weights` also writes weights-only files.
fn write_and_send(
    graph: &Graph,
    fixture: &Fixture,
    variant: Variant,
    dir: &Path,
    keras: &mut Checkers,
    weights: bool,
) -> Result<Outcome, String> {
    let path = dir.join(variant.file);
    let options = SaveOptions {
        format: variant.format,
        dialect: variant.dialect,
        overwrite: true,
    };
    let report = match graft::keras::save_model(graph, &path, &options) {
        Ok(r) => r,
        Err(e) if matches!(*e.reason, Reason::NotExpressible { .. }) => {
            let _ = std::fs::remove_file(&path);
            return Ok(Outcome::Refused(e.reason.to_string()));
        }
        Err(e) => return Err(format!("write: {e}")),
    };
    let back = graft::keras::load_model(&path)
        .map_err(|e| format!("graft reading it back: {e}"))?
        .graph;
    let expected = expected_after_write(graph, variant.dialect);
    if back != expected {
        if report.notes.is_empty() {
            return Err(format!(
                "graft reads back another graph: {}",
                first_difference(&expected, &back)
            ));
        }
        // Rewritten on purpose (see the notes): it must still compute Keras' numbers.
        graft_tests::check_fixture_graph(fixture, &back, "read back", graft_tests::TOLERANCE)
            .map_err(|e| {
                format!(
                    "rewritten ({}) but computes other values: {e}",
                    report.notes.join("; ")
                )
            })?;
    }
    drop(back);
    let mut files = vec![path.clone()];
    if weights {
        // Keras 3 picks the layout by name: `.weights.h5` is its own, other `.h5` legacy.
        let mut layouts = vec![(KerasFormat::LegacyH5, "legacy.h5")];
        if variant.dialect == Dialect::Keras3 {
            layouts.push((KerasFormat::KerasV3, "v3.weights.h5"));
        }
        for (format, name) in layouts {
            let w = dir.join(format!("{}.{name}", variant.file));
            let options = SaveOptions {
                format,
                dialect: variant.dialect,
                overwrite: true,
            };
            graft::keras::save_weights(graph, &w, &options)
                .map_err(|e| format!("save_weights: {e}"))?;
            files.push(w);
        }
    }
    let Some(k) = checker(keras, variant.framework) else {
        for f in &files {
            let _ = std::fs::remove_file(f);
        }
        return Ok(Outcome::Unchecked);
    };
    let dir_of = |e: &Value| fixture.dir.join(e["file"].as_str().expect("file"));
    let list = |key: &str| -> Vec<String> {
        fixture.meta[key]
            .as_array()
            .map(|a| a.iter().map(|e| dir_of(e).display().to_string()).collect())
            .unwrap_or_default()
    };
    k.send(&json!({
        "model": path.display().to_string(),
        "inputs": list("inputs"),
        "outputs": list("outputs"),
        "tolerance": graft_tests::TOLERANCE,
        "weights": files[1..].iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    }));
    Ok(Outcome::Pending(variant.framework, files))
}

/// Keras' verdict on a pending check: the worst relative error.
fn receive(keras: &mut Checkers, framework: Framework) -> Result<f64, String> {
    let k = checker(keras, framework).expect("a check was sent");
    let answer = k.read();
    if answer["ok"] != true {
        return Err(format!("{framework:?} rejects it: {answer}"));
    }
    Ok(answer["rel"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(
            answer["weights_rel"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|a| a.as_array().into_iter().flatten()),
        )
        .filter_map(Value::as_f64)
        .fold(0f64, f64::max))
}

fn run_fixtures(fixtures: Vec<(Fixture, PathBuf)>, weights: bool) {
    let mut keras = checkers();
    let (mut checked, mut refused, mut failures) = (0, vec![], vec![]);
    for (fixture, source) in fixtures {
        let graph = match graft::load_graph(&source) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{}: {e}", source.display()));
                continue;
            }
        };
        // One folder per source: the variants' files coexist while both frameworks check them.
        let dir = tempfile::tempdir().expect("temp dir");
        let mut pending = vec![];
        for variant in VARIANTS {
            let what = format!(
                "{} ({}) -> {}",
                fixture.name(),
                source.file_name().unwrap_or_default().to_string_lossy(),
                variant.file
            );
            match write_and_send(&graph, &fixture, variant, dir.path(), &mut keras, weights) {
                Ok(Outcome::Pending(framework, files)) => pending.push((what, framework, files)),
                Ok(Outcome::Unchecked) => {
                    checked += 1;
                    println!("ok      {what}: read back (no Keras check)");
                }
                Ok(Outcome::Refused(why)) => {
                    println!("refused {what}: {why}");
                    refused.push(what);
                }
                Err(e) => failures.push(format!("{what}: {e}")),
            }
        }
        for (what, framework, files) in pending {
            match receive(&mut keras, framework) {
                Ok(rel) => {
                    checked += 1;
                    println!("ok      {what}: max error {rel:.1e} of max |keras|");
                }
                Err(e) => failures.push(format!("{what}: {e}")),
            }
            for f in files {
                let _ = std::fs::remove_file(f);
            }
        }
    }
    println!(
        "{checked} written, read back and checked; {} refused",
        refused.len()
    );
    assert!(checked > 0, "nothing was checked");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn small_fixtures() -> Vec<(Fixture, PathBuf)> {
    let root = fixtures().join("keras");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    manifest["fixtures"]
        .as_array()
        .expect("fixtures")
        .iter()
        .flat_map(|f| {
            let fixture = Fixture::open(root.join(f["path"].as_str().expect("path")));
            fixture
                .model_files()
                .into_iter()
                .map(move |(_, p)| (Fixture::open(&fixture.dir), p))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every small fixture, from its `.h5` and (Keras 3) its `.keras`, in every variant.
#[test]
fn small_fixtures_written_for_keras_3_and_tf_keras_2() {
    run_fixtures(small_fixtures(), true);
}

/// Every generated keras.applications fixture (and the frozen-MobileNetV2 transfer model), from
/// its `.h5`, in every variant.
#[test]
fn applications_written_for_keras_3_and_tf_keras_2() {
    let base = fixtures().join("generated").join("keras");
    let mut apps = vec![];
    for framework in ["keras3", "tfkeras2"] {
        let Ok(dirs) = std::fs::read_dir(base.join(framework)) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = dirs.flatten().map(|d| d.path()).collect();
        dirs.sort();
        for d in dirs {
            let fixture = Fixture::open(&d);
            let h5 = fixture.file("h5").expect("an .h5");
            apps.push((fixture, h5));
        }
    }
    assert!(
        !apps.is_empty(),
        "no generated fixtures under {}: run scripts/fixtures/generate.sh --applications",
        base.display()
    );
    run_fixtures(apps, false);
}

/// A tiny graph: input (None, 4) -> Dense(3, activation) -> output.
fn dense_graph(activation: Activation) -> Graph {
    let mut g = Graph::new("tiny");
    let x = g.push_input(
        "x",
        InputConfig {
            shape: Shape::batched(&[4]),
            dtype: DType::F32,
        },
    );
    let mut dense = Layer::new(
        "dense_odd",
        Op::Dense(DenseConfig {
            units: 3,
            use_bias: true,
            activation,
        }),
    );
    dense.weights = vec![weight("kernel", vec![4, 3]), weight("bias", vec![3])];
    let y = g.push(dense, vec![x]);
    g.outputs = vec![y];
    g
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// A layer the target cannot express fails before anything is written: no file, no temporary
/// file, and the message names the file, the layer and the reason.
#[test]
fn inexpressible_layers_fail_before_writing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let celu = dense_graph(Activation::Celu { alpha: 1.0 });
    let tf_hard_sigmoid = dense_graph(Activation::HardSigmoid {
        alpha: 0.2,
        beta: 0.5,
    });
    let tanh_gelu = dense_graph(Activation::Gelu { approximate: true });
    // A fused activation the target has no name for (a separate Activation layer of it would be
    // rewritten; a fused one is not).
    let cases = [
        (&celu, Dialect::TfKeras2, KerasFormat::LegacyH5, "celu"),
        (
            &tf_hard_sigmoid,
            Dialect::Keras3,
            KerasFormat::LegacyH5,
            "hard_sigmoid",
        ),
        (
            &tf_hard_sigmoid,
            Dialect::Keras3,
            KerasFormat::KerasV3,
            "hard_sigmoid",
        ),
        (&tanh_gelu, Dialect::TfKeras2, KerasFormat::LegacyH5, "gelu"),
        (&tanh_gelu, Dialect::Keras3, KerasFormat::KerasV3, "gelu"),
    ];
    for (graph, dialect, format, reason) in cases {
        let path = dir.path().join("out.h5");
        let options = SaveOptions {
            format,
            dialect,
            overwrite: true,
        };
        let err = graft::keras::save_model(graph, &path, &options).expect_err("refused");
        let message = err.to_string();
        assert!(message.contains("out.h5"), "{message}");
        assert!(message.contains("'dense_odd'"), "{message}");
        assert!(message.contains(reason), "{message}");
        assert!(
            entries(dir.path()).is_empty(),
            "left {:?}",
            entries(dir.path())
        );
        let check = graft::keras::check_expressible(graph, dialect).expect_err("refused");
        assert!(check.to_string().contains("'dense_odd'"), "{check}");
        // Weights-only files are refused the same way.
        assert!(graft::keras::save_weights(graph, &path, &options).is_err());
        assert!(entries(dir.path()).is_empty());
    }
    // Both are fine in the dialect whose function they are.
    assert!(graft::keras::check_expressible(&celu, Dialect::Keras3).is_ok());
    assert!(graft::keras::check_expressible(&tf_hard_sigmoid, Dialect::TfKeras2).is_ok());

    // Pooling with a partial last window (ceil_mode) has no Keras equivalent in either dialect.
    let mut g = Graph::new("pool");
    let x = g.push_input(
        "x",
        InputConfig {
            shape: Shape::batched(&[8, 8, 2]),
            dtype: DType::F32,
        },
    );
    let pool = Layer::new(
        "ceil_pool",
        Op::Pool(PoolConfig {
            kind: PoolKind::Max,
            pool_size: vec![3, 3],
            strides: vec![2, 2],
            padding: Padding::Valid,
            data_format: DataFormat::ChannelsLast,
            ceil_mode: true,
            count_include_pad: false,
        }),
    );
    let y = g.push(pool, vec![x]);
    g.outputs = vec![y];
    for dialect in [Dialect::Keras3, Dialect::TfKeras2] {
        let err = graft::keras::check_expressible(&g, dialect).expect_err("refused");
        assert!(
            err.to_string().contains("'ceil_pool'") && err.to_string().contains("ceil_mode"),
            "{err}"
        );
    }
    // .keras archives are Keras 3 only.
    let options = SaveOptions {
        format: KerasFormat::KerasV3,
        dialect: Dialect::TfKeras2,
        overwrite: false,
    };
    assert!(graft::keras::save_model(&celu, dir.path().join("x.keras"), &options).is_err());
    assert!(entries(dir.path()).is_empty());
}

/// An existing file is kept unless overwriting is allowed; a successful write leaves no
/// temporary file.
#[test]
fn existing_files_are_kept_unless_overwriting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("model.keras");
    std::fs::write(&path, b"precious").expect("write");
    let graph = dense_graph(Activation::Relu);
    let mut options = SaveOptions::default();
    let err = graft::keras::save_model(&graph, &path, &options).expect_err("kept");
    assert!(matches!(*err.reason, Reason::Exists), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), b"precious");
    options.overwrite = true;
    graft::keras::save_model(&graph, &path, &options).expect("replaced");
    assert_eq!(entries(dir.path()), vec!["model.keras".to_string()]);
    let back = graft::keras::load_model(&path).expect("readable").graph;
    assert_eq!(back, graph);
    // The written file has the permissions of any new file (not a temporary file's 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"").expect("write");
        assert_eq!(mode(&path), mode(&plain));
    }
}
