//! Rewrites a graph into one Keras can express layer for layer, without changing what it
//! computes:
//!
//! - explicit and `SAME_LOWER` padding (ONNX, PyTorch) becomes `'valid'`, `'same'` or a
//!   `ZeroPadding` layer (see [`super::padding`]);
//! - names Keras would reject get `_` for each character it forbids ([`keras_name`]): Keras 3
//!   forbids `/` (and TensorFlow name scopes `:`, spaces...), tf.keras 2 allows `/` but wants
//!   names to start with a letter, a digit or `.` (so `/features/conv1/Conv` loses its first `/`);
//! - an `Activation` layer whose function the target has no name for, but which is a clipped
//!   line, becomes layers both generations have: `hard_sigmoid` of the other generation's slope
//!   is `Rescaling(slope, 0.5)` then `ReLU(max_value=1)`, and tf.keras 2 (which has no
//!   `hard_swish`) gets `x * hard_sigmoid(x)` as `Rescaling`, `ReLU` and `Multiply`. The last
//!   layer keeps the original name.
//!
//! Every rewrite is reported in the notes the writers return. What stays inexpressible is
//! refused later, naming the layer (`layers::layer_json`).

use std::collections::HashSet;

use graft_ir::{
    Activation, Graph, Layer, MergeKind, Node, Op, ReluConfig, RescalingConfig, TensorRef,
};

use super::activation::{self, dialect_name};
use super::padding;
use crate::config::Dialect;
use crate::error::Reason;

/// True when [`legalize`] would change `graph`.
pub(crate) fn needed(graph: &Graph, dialect: Dialect) -> bool {
    keras_name(&graph.name, dialect) != graph.name || graph_needs(graph, dialect)
}

/// `name` as `dialect` accepts it: Keras 3 allows letters, digits and `_.->`; tf.keras 2 also
/// `/`, but a TensorFlow root name scope must start with a letter, a digit or `.` (leading
/// characters that cannot are dropped). Every other character becomes `_`.
pub(crate) fn keras_name(name: &str, dialect: Dialect) -> String {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | '-' | '>')
            || (c == '/' && dialect == Dialect::TfKeras2)
    };
    let mut out: String = name
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    if dialect == Dialect::TfKeras2 {
        let start = |c: char| c.is_ascii_alphanumeric() || c == '.';
        let kept = out.trim_start_matches(|c: char| !start(c));
        out = if kept.is_empty() {
            format!("layer{out}")
        } else {
            kept.to_string()
        };
    }
    if out.is_empty() {
        out.push_str("layer");
    }
    out
}

fn graph_needs(g: &Graph, dialect: Dialect) -> bool {
    g.layers.iter().any(|l| {
        keras_name(&l.name, dialect) != l.name
            || padding::needs_fix(l)
            || expansion(&l.op, dialect).is_some()
            || l.as_model()
                .is_some_and(|inner| graph_needs(inner, dialect))
    })
}

/// Applies every rewrite to `graph` (and its nested models), appending a note per rewrite.
pub(crate) fn legalize(
    graph: &mut Graph,
    dialect: Dialect,
    notes: &mut Vec<String>,
) -> Result<(), Reason> {
    let new = keras_name(&graph.name, dialect);
    if new != graph.name {
        notes.push(format!(
            "model '{}' renamed '{new}' ({} rejects the name)",
            graph.name,
            dialect_name(dialect)
        ));
        graph.name = new;
    }
    legalize_graph(graph, dialect, notes, "")
}

fn legalize_graph(
    g: &mut Graph,
    dialect: Dialect,
    notes: &mut Vec<String>,
    path: &str,
) -> Result<(), Reason> {
    rename_invalid(g, dialect, notes, path);
    for layer in &mut g.layers {
        let inner_path = format!("{path}{}/", layer.name);
        if let Op::Model(inner) = &mut layer.op {
            legalize_graph(inner, dialect, notes, &inner_path)?;
        }
    }
    expand_activations(g, dialect, notes, path);
    padding::pad_layers(g, dialect, notes, path, &mut taken_names(g))
}

/// How an unnamed activation is built from other layers.
#[derive(Clone, Copy)]
enum Expansion {
    /// `clip(alpha * x + beta, 0, 1)`.
    HardSigmoid { alpha: f32, beta: f32 },
    /// `x * clip(x / 6 + 1/2, 0, 1)`.
    HardSwish,
}

fn expansion(op: &Op, dialect: Dialect) -> Option<Expansion> {
    let Op::Activation(a) = op else { return None };
    if activation::name(a, dialect).is_some() {
        return None;
    }
    match *a {
        Activation::HardSigmoid { alpha, beta } => Some(Expansion::HardSigmoid { alpha, beta }),
        Activation::HardSwish => Some(Expansion::HardSwish),
        _ => None,
    }
}

fn expand_activations(g: &mut Graph, dialect: Dialect, notes: &mut Vec<String>, path: &str) {
    if !g.layers.iter().any(|l| expansion(&l.op, dialect).is_some()) {
        return;
    }
    let mut taken: HashSet<String> = g.layers.iter().map(|l| l.name.clone()).collect();
    let mut out = Vec::with_capacity(g.layers.len() + 4);
    for mut layer in std::mem::take(&mut g.layers) {
        let Some(how) = expansion(&layer.op, dialect) else {
            out.push(layer);
            continue;
        };
        let (alpha, beta) = match how {
            Expansion::HardSigmoid { alpha, beta } => (alpha, beta),
            Expansion::HardSwish => (1.0 / 6.0, 0.5),
        };
        let affine_name = unique(&format!("{}_affine", layer.name), &mut taken);
        let mut affine = Layer::new(
            affine_name.clone(),
            Op::Rescaling(RescalingConfig {
                scale: vec![alpha],
                offset: vec![beta],
            }),
        );
        affine.trainable = layer.trainable;
        affine.nodes = layer
            .nodes
            .iter()
            .map(|n| Node::new(n.inputs.clone()))
            .collect();
        let clip = Op::ReLU(ReluConfig {
            max_value: Some(1.0),
            negative_slope: 0.0,
            threshold: 0.0,
        });
        let from = |name: &str, k: usize| vec![TensorRef::at(name.to_string(), k, 0)];
        match how {
            Expansion::HardSigmoid { .. } => {
                notes.push(format!(
                    "layer '{path}{}': hard_sigmoid {alpha}x + {beta} (not {}'s) written as \
                     Rescaling '{affine_name}' and ReLU(max_value=1)",
                    layer.name,
                    dialect_name(dialect)
                ));
                out.push(affine);
                for (k, node) in layer.nodes.iter_mut().enumerate() {
                    node.inputs = from(&affine_name, k);
                }
                layer.op = clip;
                out.push(layer);
            }
            Expansion::HardSwish => {
                let gate_name = unique(&format!("{}_gate", layer.name), &mut taken);
                notes.push(format!(
                    "layer '{path}{}': hard_swish written as x * hard_sigmoid(x): Rescaling \
                     '{affine_name}', ReLU '{gate_name}' and Multiply ({} has no hard_swish)",
                    layer.name,
                    dialect_name(dialect)
                ));
                let mut gate = Layer::new(gate_name.clone(), clip);
                gate.trainable = layer.trainable;
                gate.nodes = (0..layer.nodes.len())
                    .map(|k| Node::new(from(&affine_name, k)))
                    .collect();
                out.push(affine);
                out.push(gate);
                for (k, node) in layer.nodes.iter_mut().enumerate() {
                    let x = node
                        .inputs
                        .first()
                        .cloned()
                        .expect("an activation has an input");
                    node.inputs = vec![x, TensorRef::at(gate_name.clone(), k, 0)];
                }
                layer.op = Op::Merge(MergeKind::Multiply);
                out.push(layer);
            }
        }
    }
    g.layers = out;
}

/// Every layer name of `g`.
fn taken_names(g: &Graph) -> HashSet<String> {
    g.layers.iter().map(|l| l.name.clone()).collect()
}

/// A name not yet in `taken` (`base`, `base_1`, ...), then taken.
pub(crate) fn unique(base: &str, taken: &mut HashSet<String>) -> String {
    graft_ir::reserve_unique_name(taken, base)
}

fn rename_invalid(g: &mut Graph, dialect: Dialect, notes: &mut Vec<String>, path: &str) {
    if g.layers
        .iter()
        .all(|l| keras_name(&l.name, dialect) == l.name)
    {
        return;
    }
    let mut taken: HashSet<String> = g.layers.iter().map(|l| l.name.clone()).collect();
    let mut map = std::collections::HashMap::new();
    for layer in &mut g.layers {
        let valid = keras_name(&layer.name, dialect);
        if valid != layer.name {
            let new = unique(&valid, &mut taken);
            notes.push(format!(
                "layer '{path}{}' renamed '{new}' ({} rejects the name)",
                layer.name,
                dialect_name(dialect)
            ));
            map.insert(std::mem::replace(&mut layer.name, new.clone()), new);
        }
    }
    let fix = |r: &mut TensorRef| {
        if let Some(new) = map.get(&r.layer) {
            r.layer = new.clone();
        }
    };
    for layer in &mut g.layers {
        for node in &mut layer.nodes {
            node.inputs.iter_mut().for_each(fix);
        }
    }
    g.inputs
        .iter_mut()
        .chain(g.outputs.iter_mut())
        .for_each(fix);
}
