//! The architecture JSON (`model_config` of a legacy `.h5`, `config.json` of a `.keras`) of a
//! graph ready for writing, in either dialect: layer entries, the calls that wire them (Keras 3
//! `{"args", "kwargs"}` nodes or tf.keras nested lists), nested models, and the description of
//! which layers Keras lists in `model.layers` that the weights writers follow.

use std::collections::HashMap;

use graft_ir::{Graph, GraphKind, Layer, MathConfig, Op, ShapeMap, TensorRef};
use serde_json::{Map, Value, json};

use super::activation::dialect_name;
use super::json::{dims, f32_num};
use super::layers::{LayerJson, layer_json};
use crate::config::Dialect;
use crate::error::Reason;

/// Which file the JSON goes into: `.keras` configs carry `module`, `registered_name` and
/// `build_config` on every entry; legacy `.h5` configs do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    LegacyH5,
    KerasV3,
}

/// A graph as it is written: its Keras class, the layers Keras lists in `model.layers`, and
/// the same for each nested model.
#[derive(Debug)]
pub(crate) struct Written<'g> {
    pub graph: &'g Graph,
    /// The model's Keras name (the layer name for nested models).
    pub name: String,
    /// Written as a `Sequential` (a plain chain whose IR says Sequential) or a `Functional`.
    pub sequential: bool,
    /// Effective trainability of the model's own layer (false inside a frozen model).
    pub trainable: bool,
    /// `(layer index, Keras class)` of each layer in `model.layers`, in order: every layer but
    /// Keras 3 operation nodes, and but the input of a Sequential.
    pub layers: Vec<(usize, String)>,
    /// Nested models, by layer index.
    pub nested: HashMap<usize, Written<'g>>,
    pub shapes: ShapeMap,
    /// Each layer's class and config (nested models: their own [`Written`]).
    entries: Vec<LayerJson>,
}

impl Written<'_> {
    /// Keras' class of the model itself.
    pub fn class_name(&self) -> &'static str {
        if self.sequential {
            "Sequential"
        } else {
            "Functional"
        }
    }
}

/// Describes `graph` (named `name`) for `dialect`, failing on the first layer Keras cannot
/// express. `trainable` is the model's own effective flag.
pub(crate) fn describe<'g>(
    graph: &'g Graph,
    name: &str,
    trainable: bool,
    dialect: Dialect,
    path: &str,
) -> Result<Written<'g>, Reason> {
    let shapes = graph.infer_shapes()?;
    let sequential = is_chain(graph, dialect);
    let mut entries = Vec::with_capacity(graph.layers.len());
    let mut nested = HashMap::new();
    let mut layers = Vec::new();
    for (i, layer) in graph.layers.iter().enumerate() {
        let effective = trainable && layer.trainable;
        let json = if let Op::Model(inner) = &layer.op {
            let w = describe(
                inner,
                &layer.name,
                effective,
                dialect,
                &format!("{path}{}/", layer.name),
            )?;
            let j = LayerJson {
                class_name: w.class_name().into(),
                config: Map::new(),
                operation: false,
                build_config: true,
                module_in_h5: false,
            };
            nested.insert(i, w);
            j
        } else {
            layer_json(layer, effective, dialect).map_err(|message| Reason::NotExpressible {
                layer: format!("{path}{}", layer.name),
                class: layer.op.type_name(),
                target: dialect_name(dialect).into(),
                message,
            })?
        };
        let listed = !(json.operation || sequential && layer.is_input());
        if listed {
            layers.push((i, json.class_name.clone()));
        }
        entries.push(json);
    }
    Ok(Written {
        graph,
        name: name.to_string(),
        sequential,
        trainable,
        layers,
        nested,
        shapes,
        entries,
    })
}

/// True when the graph is a Sequential that Keras can rebuild as one: an input, then layers
/// each called once on the previous one's output.
fn is_chain(graph: &Graph, dialect: Dialect) -> bool {
    if graph.kind != GraphKind::Sequential || graph.layers.len() < 2 {
        return false;
    }
    let first = &graph.layers[0];
    if !first.is_input() || graph.inputs != [TensorRef::new(first.name.clone())] {
        return false;
    }
    for pair in graph.layers.windows(2) {
        let [prev, layer] = pair else { unreachable!() };
        let ok = layer.nodes.len() == 1
            && layer.nodes[0].training.is_none()
            && layer.nodes[0].inputs == [TensorRef::new(prev.name.clone())]
            && !(dialect == Dialect::Keras3 && matches!(layer.op, Op::Math(_)))
            && !layer.is_input();
        if !ok {
            return false;
        }
    }
    let last = graph.layers.last().expect("two layers or more");
    graph.outputs == [TensorRef::new(last.name.clone())]
}

/// The whole model: `{"class_name", "config"}`, plus `module`, `registered_name`,
/// `build_config` and `compile_config` for `.keras`.
pub(crate) fn model_json(w: &Written, dialect: Dialect, flavor: Flavor) -> Value {
    let mut top = Map::new();
    let config = model_config(w, dialect, flavor);
    if flavor == Flavor::KerasV3 {
        let (module, registered) = model_module(w);
        top.insert("module".into(), module.into());
        top.insert("class_name".into(), w.class_name().into());
        top.insert("config".into(), Value::Object(config));
        top.insert("registered_name".into(), registered);
        top.insert("build_config".into(), model_build_config(w));
        top.insert("compile_config".into(), json!({}));
    } else {
        top.insert("class_name".into(), w.class_name().into());
        top.insert("config".into(), Value::Object(config));
    }
    Value::Object(top)
}

fn model_module(w: &Written) -> (&'static str, Value) {
    if w.sequential {
        ("keras", Value::Null)
    } else {
        ("keras.src.models.functional", json!("Functional"))
    }
}

fn model_build_config(w: &Written) -> Value {
    if w.sequential {
        json!({"input_shape": dims(w.graph.input_shapes()[0].dims())})
    } else {
        json!({"input_shape": null})
    }
}

fn model_config(w: &Written, dialect: Dialect, flavor: Flavor) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert("name".into(), w.name.clone().into());
    c.insert("trainable".into(), w.trainable.into());
    if w.sequential {
        if dialect == Dialect::Keras3 {
            c.insert("dtype".into(), super::json::dtype_policy(dialect));
        }
        let layers = (0..w.graph.layers.len())
            .map(|i| entry(w, i, dialect, flavor, false))
            .collect();
        c.insert("layers".into(), Value::Array(layers));
        if dialect == Dialect::Keras3 {
            c.insert(
                "build_input_shape".into(),
                dims(w.graph.input_shapes()[0].dims()),
            );
        }
    } else {
        let layers = (0..w.graph.layers.len())
            .map(|i| entry(w, i, dialect, flavor, true))
            .collect();
        c.insert("layers".into(), Value::Array(layers));
        let nested = nested_names(w.graph);
        c.insert(
            "input_layers".into(),
            io_list(&w.graph.inputs, dialect, &nested),
        );
        c.insert(
            "output_layers".into(),
            io_list(&w.graph.outputs, dialect, &nested),
        );
    }
    c
}

/// Names of the nested models of a graph (tf.keras numbers their calls from 1).
fn nested_names(g: &Graph) -> Vec<&str> {
    g.layers
        .iter()
        .filter(|l| l.as_model().is_some())
        .map(|l| l.name.as_str())
        .collect()
}

/// A `[layer, node, index]` reference; tf.keras counts a nested model's construction call
/// (`_should_skip_first_node`), so its calls start at 1.
fn history(r: &TensorRef, dialect: Dialect, nested: &[&str]) -> Value {
    let shift = usize::from(dialect == Dialect::TfKeras2 && nested.contains(&r.layer.as_str()));
    json!([r.layer, r.node + shift, r.output])
}

fn io_list(refs: &[TensorRef], dialect: Dialect, nested: &[&str]) -> Value {
    if dialect == Dialect::Keras3 && refs.len() == 1 {
        return history(&refs[0], dialect, nested);
    }
    Value::Array(refs.iter().map(|r| history(r, dialect, nested)).collect())
}

/// One entry of the `layers` list. `functional` entries carry `name` and `inbound_nodes`.
fn entry(w: &Written, i: usize, dialect: Dialect, flavor: Flavor, functional: bool) -> Value {
    let layer = &w.graph.layers[i];
    let e = &w.entries[i];
    let (class, config) = match w.nested.get(&i) {
        Some(inner) => (
            inner.class_name().to_string(),
            model_config(inner, dialect, flavor),
        ),
        None => (e.class_name.clone(), e.config.clone()),
    };
    let mut m = Map::new();
    let with_module = flavor == Flavor::KerasV3 || (dialect == Dialect::Keras3 && e.module_in_h5);
    let (module, registered) = match w.nested.get(&i) {
        Some(inner) => model_module(inner),
        None if e.operation => ("keras.src.ops.numpy", json!(class)),
        None => ("keras.layers", Value::Null),
    };
    if with_module {
        m.insert("module".into(), module.into());
    }
    m.insert("class_name".into(), class.into());
    m.insert("config".into(), Value::Object(config));
    if with_module {
        m.insert("registered_name".into(), registered);
    }
    if flavor == Flavor::KerasV3 {
        if let Some(inner) = w.nested.get(&i) {
            m.insert("build_config".into(), model_build_config(inner));
            m.insert("compile_config".into(), json!({}));
        } else if e.build_config && !layer.nodes.is_empty() {
            m.insert(
                "build_config".into(),
                json!({"input_shape": input_shapes(w, layer)}),
            );
        }
    }
    if functional {
        m.insert("name".into(), layer.name.clone().into());
        m.insert("inbound_nodes".into(), inbound_nodes(w, layer, dialect));
    }
    Value::Object(m)
}

/// The input shape(s) of a layer's first call, for `build_config`.
fn input_shapes(w: &Written, layer: &Layer) -> Value {
    let shapes: Vec<Value> = layer.nodes[0]
        .inputs
        .iter()
        .map(|r| w.shapes.get(r).map_or(Value::Null, |s| dims(s.dims())))
        .collect();
    match shapes.len() {
        1 => shapes.into_iter().next().expect("one"),
        _ => Value::Array(shapes),
    }
}

/// How the tensors of a call are passed: one tensor, a list of tensors (merge layers and
/// multi-input models), or operands one by one (operations).
enum Args<'a> {
    Single,
    List,
    Operands(&'a MathConfig),
}

fn args_kind(layer: &Layer) -> Args<'_> {
    match &layer.op {
        Op::Merge(_) | Op::Concatenate { .. } => Args::List,
        Op::Model(g) if g.inputs.len() > 1 => Args::List,
        Op::Math(m) => Args::Operands(m),
        _ => Args::Single,
    }
}

fn inbound_nodes(w: &Written, layer: &Layer, dialect: Dialect) -> Value {
    if layer.is_input() {
        return json!([]);
    }
    let nested = nested_names(w.graph);
    let nodes = layer.nodes.iter().map(|node| {
        let kind = args_kind(layer);
        match dialect {
            Dialect::Keras3 => {
                let tensor = |r: &TensorRef| keras_tensor(w, r, dialect, &nested);
                let args: Vec<Value> = match kind {
                    Args::Single => node.inputs.iter().map(tensor).collect(),
                    Args::List => vec![Value::Array(node.inputs.iter().map(tensor).collect())],
                    Args::Operands(m) => match m.scalar {
                        Some(c) if m.scalar_first => vec![f32_num(c), tensor(&node.inputs[0])],
                        Some(c) => vec![tensor(&node.inputs[0]), f32_num(c)],
                        None => node.inputs.iter().map(tensor).collect(),
                    },
                };
                let mut kwargs = Map::new();
                if let Some(t) = node.training {
                    kwargs.insert("training".into(), t.into());
                }
                json!({"args": args, "kwargs": kwargs})
            }
            Dialect::TfKeras2 => {
                let flat = |r: &TensorRef| -> Vec<Value> {
                    match history(r, dialect, &nested) {
                        Value::Array(a) => a,
                        _ => unreachable!("history is a list"),
                    }
                };
                if let Args::Operands(m) = kind {
                    // TFOpLambda: one flat entry; the second operand rides in the kwargs.
                    let (mut e, y) = match m.scalar {
                        Some(c) if m.scalar_first => (
                            vec![json!("_CONSTANT_VALUE"), json!(-1), f32_num(c)],
                            history(&node.inputs[0], dialect, &nested),
                        ),
                        Some(c) => (flat(&node.inputs[0]), f32_num(c)),
                        None => (
                            flat(&node.inputs[0]),
                            history(&node.inputs[1], dialect, &nested),
                        ),
                    };
                    e.push(json!({"y": y, "name": null}));
                    return Value::Array(e);
                }
                let mut kwargs = Map::new();
                if let Some(t) = node.training {
                    kwargs.insert("training".into(), t.into());
                }
                Value::Array(
                    node.inputs
                        .iter()
                        .map(|r| {
                            let mut e = flat(r);
                            e.push(Value::Object(kwargs.clone()));
                            Value::Array(e)
                        })
                        .collect(),
                )
            }
        }
    });
    Value::Array(nodes.collect())
}

/// Keras 3's symbolic tensor reference.
fn keras_tensor(w: &Written, r: &TensorRef, dialect: Dialect, nested: &[&str]) -> Value {
    let shape = w.shapes.get(r).map_or(Value::Null, |s| dims(s.dims()));
    json!({
        "class_name": "__keras_tensor__",
        "config": {
            "shape": shape,
            "dtype": tensor_dtype(w.graph, r),
            "keras_history": history(r, dialect, nested),
        }
    })
}

/// The dtype of a layer output: a model input's own, carried through layers that only move
/// values; float32 otherwise.
fn tensor_dtype(g: &Graph, r: &TensorRef) -> &'static str {
    let mut r = r.clone();
    for _ in 0..g.layers.len() {
        let Some(layer) = g.layer(&r.layer) else {
            break;
        };
        match &layer.op {
            Op::Input(i) => return i.dtype.name(),
            Op::Reshape(_)
            | Op::Flatten(_)
            | Op::Permute(_)
            | Op::RepeatVector { .. }
            | Op::Cropping(_)
            | Op::ZeroPadding(_)
            | Op::Identity
            | Op::Dropout(_) => match layer.nodes.get(r.node).and_then(|n| n.inputs.first()) {
                Some(next) => r = next.clone(),
                None => break,
            },
            _ => break,
        }
    }
    "float32"
}
