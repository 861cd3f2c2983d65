//! Round trips through every writer on the committed fixtures: the graph graft reads back is the
//! graph it wrote (names, ops, calls, bit-identical weights), or the writer refused a layer the
//! target Keras cannot express. The real-Keras checks live in `tests/keras_write.rs`.

use std::path::PathBuf;

use graft_ir::Graph;

use super::*;
use crate::load::{LoadWeightsOptions, load_model, load_weights};

fn fixtures() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/keras");
    let mut out = vec![];
    for fw in ["keras3", "tfkeras2"] {
        let Ok(dirs) = std::fs::read_dir(root.join(fw)) else {
            continue;
        };
        for d in dirs.flatten() {
            for f in ["model.h5", "model.keras"] {
                let p = d.path().join(f);
                if p.exists() {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

const VARIANTS: [(KerasFormat, Dialect, &str); 3] = [
    (KerasFormat::LegacyH5, Dialect::Keras3, "k3.h5"),
    (KerasFormat::LegacyH5, Dialect::TfKeras2, "tf2.h5"),
    (KerasFormat::KerasV3, Dialect::Keras3, "k3.keras"),
];

/// Weights zeroed, for load_weights checks.
fn zeroed(g: &Graph) -> Graph {
    let mut g = g.clone();
    fn go(g: &mut Graph) {
        for l in &mut g.layers {
            for w in &mut l.weights {
                w.tensor.data_mut().iter_mut().for_each(|v| *v = 0.0);
            }
            if let graft_ir::Op::Model(inner) = &mut l.op {
                go(inner);
            }
        }
    }
    go(&mut g);
    g
}

#[test]
fn fixtures_round_trip_through_every_writer() {
    let dir = tempfile::tempdir().unwrap();
    // GRAFT_KEEP_WRITTEN=<folder> keeps the files for inspection.
    let kept = std::env::var_os("GRAFT_KEEP_WRITTEN").map(PathBuf::from);
    let root = kept.clone().unwrap_or_else(|| dir.path().to_path_buf());
    let (mut ok, mut refused, mut failures) = (0, vec![], vec![]);
    for src in fixtures() {
        let model = load_model(&src).unwrap();
        let tag = src
            .strip_prefix(src.ancestors().nth(3).unwrap())
            .unwrap()
            .display()
            .to_string();
        for (format, dialect, ext) in VARIANTS {
            let out = root.join(format!("{}.{ext}", tag.replace('/', "_")));
            let options = SaveOptions {
                format,
                dialect,
                overwrite: kept.is_some(),
            };
            let what = format!("{tag} -> {ext}");
            match save_model(&model.graph, &out, &options) {
                Err(e) => {
                    if matches!(*e.reason, Reason::NotExpressible { .. }) {
                        assert!(!out.exists(), "{what}: refused but wrote {}", out.display());
                        refused.push(format!("{what}: {e}"));
                    } else {
                        failures.push(format!("{what}: {e}"));
                    }
                    continue;
                }
                Ok(report) => {
                    let back = match load_model(&out) {
                        Ok(m) => m.graph,
                        Err(e) => {
                            failures.push(format!("{what}: read back: {e}"));
                            continue;
                        }
                    };
                    if report.notes.is_empty() && back != model.graph {
                        failures.push(format!(
                            "{what}: read back differs:\n{}",
                            diff(&model.graph, &back)
                        ));
                        continue;
                    }
                }
            }
            // Weights alone, in both layouts, into the same architecture zeroed.
            for (wformat, wext) in [
                (KerasFormat::LegacyH5, "w.h5"),
                (KerasFormat::KerasV3, "weights.h5"),
            ] {
                if wformat == KerasFormat::KerasV3 && dialect != Dialect::Keras3 {
                    continue;
                }
                let wout = root.join(format!("{}.{ext}.{wext}", tag.replace('/', "_")));
                let options = SaveOptions {
                    format: wformat,
                    dialect,
                    overwrite: true,
                };
                if let Err(e) = save_weights(&model.graph, &wout, &options) {
                    failures.push(format!("{what} weights {wext}: {e}"));
                    continue;
                }
                let mut g = zeroed(&model.graph);
                match load_weights(&mut g, &wout, LoadWeightsOptions::default()) {
                    Ok(_) if g == model.graph => {}
                    Ok(_) => {
                        failures.push(format!("{what} weights {wext}: differ after load_weights"))
                    }
                    Err(e) => failures.push(format!("{what} weights {wext}: {e}")),
                }
            }
            ok += 1;
        }
    }
    for r in &refused {
        println!("refused: {r}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "{ok} written and read back identically, {} refused",
        refused.len()
    );
}

/// The first difference between two graphs, for messages.
fn diff(a: &Graph, b: &Graph) -> String {
    if a.name != b.name || a.kind != b.kind {
        return format!(
            "name/kind {:?}/{:?} vs {:?}/{:?}",
            a.name, a.kind, b.name, b.kind
        );
    }
    if a.inputs != b.inputs || a.outputs != b.outputs {
        return format!(
            "io {:?} -> {:?} vs {:?} -> {:?}",
            a.inputs, a.outputs, b.inputs, b.outputs
        );
    }
    if a.layers.len() != b.layers.len() {
        let names = |g: &Graph| g.layers.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
        return format!("layers {:?} vs {:?}", names(a), names(b));
    }
    for (x, y) in a.layers.iter().zip(&b.layers) {
        if x == y {
            continue;
        }
        if let (Some(gx), Some(gy)) = (x.as_model(), y.as_model())
            && x.name == y.name
            && x.nodes == y.nodes
            && x.trainable == y.trainable
        {
            return format!("in nested '{}': {}", x.name, diff(gx, gy));
        }
        if x.weights != y.weights {
            return format!("layer '{}' weights differ", x.name);
        }
        return format!("layer {:?}\n  vs {:?}", short(x), short(y));
    }
    "equal".into()
}

fn short(l: &graft_ir::Layer) -> String {
    format!(
        "{} {:?} trainable={} nodes={:?}",
        l.name, l.op, l.trainable, l.nodes
    )
    .chars()
    .take(600)
    .collect()
}
