//! `model_config` JSON (and `.keras`' `config.json`) to an IR [`Graph`].

mod activation;
pub mod dialect;
mod fields;
mod layers;
mod preprocessing;

use graft_ir::{Graph, GraphKind, InputConfig, Layer, Node, Op, Shape, TensorRef};
use serde_json::{Map, Value};

use crate::error::Reason;
pub use dialect::Dialect;
use dialect::{Call, parse_dtype, parse_inbound_nodes, parse_io_list};
use fields::Fields;
use layers::{LayerError, layer_op};

#[cfg(test)]
pub(crate) use activation::from_name as activation_from_name;

/// A parsed model, plus the Keras class of every layer (the `.keras` weights file names its
/// groups after classes).
pub struct ParsedModel {
    pub graph: Graph,
    pub classes: ClassTree,
}

/// The Keras class name of each layer, in layer order, nested models included.
#[derive(Clone, Debug, Default)]
pub struct ClassTree {
    pub layers: Vec<LayerClass>,
}

/// One entry of a [`ClassTree`].
#[derive(Clone, Debug)]
pub struct LayerClass {
    pub name: String,
    pub class: String,
    pub nested: Option<ClassTree>,
}

/// Parses `{"class_name": "Functional" | "Sequential" | "Model", "config": {...}}`.
pub fn parse_model(v: &Value, dialect: Dialect) -> Result<ParsedModel, Reason> {
    let class = v
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| Reason::Config("no 'class_name' at the top level".into()))?;
    let config = v
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| Reason::Config("no 'config' object at the top level".into()))?;
    parse_model_class(class, config, dialect)
}

fn parse_model_class(
    class: &str,
    config: &Map<String, Value>,
    dialect: Dialect,
) -> Result<ParsedModel, Reason> {
    match class {
        "Sequential" => parse_sequential(config, dialect),
        "Functional" | "Model" => parse_functional(config, dialect),
        other if config.contains_key("layers") && config.contains_key("input_layers") => {
            // A subclass of Model that serialized as a functional graph.
            let _ = other;
            parse_functional(config, dialect)
        }
        other => Err(Reason::Config(format!(
            "the model is a '{other}', not a Functional or Sequential model; subclassed models \
             carry their architecture in Python code and cannot be loaded"
        ))),
    }
}

fn layer_list(config: &Map<String, Value>) -> Result<&Vec<Value>, Reason> {
    config
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| Reason::Config("model config has no 'layers' list".into()))
}

fn model_name(config: &Map<String, Value>, default: &str) -> String {
    config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_string()
}

/// A layer entry: its class, module, config and name.
struct Entry<'a> {
    class: &'a str,
    module: Option<&'a str>,
    config: &'a Map<String, Value>,
    name: String,
}

fn entry(v: &Value) -> Result<Entry<'_>, Reason> {
    let class = v
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| Reason::Config(format!("layer entry without 'class_name': {}", short(v))))?;
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let config = v
        .get("config")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new));
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| v.get("name").and_then(Value::as_str))
        .ok_or_else(|| Reason::Config(format!("a '{class}' layer without a name")))?
        .to_string();
    Ok(Entry {
        class,
        module: v.get("module").and_then(Value::as_str),
        config,
        name,
    })
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        format!("{}...", &s[..120])
    } else {
        s
    }
}

fn is_model_class(e: &Entry) -> bool {
    matches!(e.class, "Functional" | "Sequential" | "Model")
        || (e.config.contains_key("layers") && e.config.contains_key("input_layers"))
}

/// Builds the op of one entry; nested models recurse.
fn entry_op(
    e: &Entry,
    calls: &[Call],
    dialect: Dialect,
) -> Result<(Op, Option<ClassTree>), Reason> {
    if e.class == "InputLayer" {
        return Ok((Op::Input(input_config(e)?), None));
    }
    if is_model_class(e) {
        let inner = parse_model_class(e.class, e.config, dialect).map_err(|r| match r {
            // Name the enclosing model too: "layer 'conv' ... in nested model 'base'".
            Reason::Layer {
                layer,
                class,
                message,
            } => Reason::Layer {
                layer: format!("{}/{layer}", e.name),
                class,
                message,
            },
            other => other,
        })?;
        return Ok((Op::Model(Box::new(inner.graph)), Some(inner.classes)));
    }
    let fields = Fields::new(e.config);
    match layer_op(e.class, e.module, &fields, dialect, calls) {
        Ok(op) => Ok((op, None)),
        Err(LayerError::Config(message)) => Err(Reason::layer(&e.name, e.class, message)),
        Err(LayerError::Lambda) => Err(Reason::Lambda {
            layer: e.name.clone(),
        }),
        Err(LayerError::Unknown(class)) => Err(Reason::UnknownLayer {
            layer: e.name.clone(),
            class,
            hint: if e.module.is_some_and(|m| !m.starts_with("keras")) || e.config.is_empty() {
                " (a custom layer: graft only runs Keras' built-in layers)".into()
            } else {
                String::new()
            },
        }),
    }
}

fn input_config(e: &Entry) -> Result<InputConfig, Reason> {
    let shape = e
        .config
        .get("batch_shape")
        .or_else(|| e.config.get("batch_input_shape"))
        .and_then(Value::as_array)
        .ok_or_else(|| {
            Reason::layer(&e.name, e.class, "no 'batch_shape' or 'batch_input_shape'")
        })?;
    let dims = shape
        .iter()
        .map(|d| match d {
            Value::Null => Ok(None),
            v => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| Reason::layer(&e.name, e.class, format!("bad dimension {v}"))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(InputConfig {
        shape: Shape::new(dims),
        dtype: parse_dtype(e.config.get("dtype"))
            .map_err(|m| Reason::layer(&e.name, e.class, m))?,
    })
}

fn trainable(config: &Map<String, Value>) -> bool {
    config
        .get("trainable")
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

fn parse_functional(config: &Map<String, Value>, dialect: Dialect) -> Result<ParsedModel, Reason> {
    let mut graph = Graph::new(model_name(config, "functional"));
    let mut classes = ClassTree::default();
    for v in layer_list(config)? {
        let e = entry(v)?;
        let calls = parse_inbound_nodes(v.get("inbound_nodes").unwrap_or(&Value::Null), dialect)
            .map_err(|m| Reason::layer(&e.name, e.class, m))?;
        let (op, nested) = entry_op(&e, &calls, dialect)?;
        let mut layer = Layer::new(e.name.clone(), op);
        layer.trainable = trainable(e.config);
        layer.nodes = if layer.is_input() {
            vec![Node::default()]
        } else {
            calls
                .iter()
                .map(|c| Node {
                    inputs: c.tensors.clone(),
                    // Keras 3 records `training=False` on calls it builds symbolically (every
                    // Dropout of keras.applications, `base(x, training=False)`), but its
                    // Functional.call passes the outer `training` to every layer and nested
                    // model, overriding the recorded value (measured with Keras 3.15.1: a
                    // Dropout called with training=False drops when the model runs with
                    // training=True). tf.keras 2 keeps the recorded value.
                    training: match dialect {
                        Dialect::Keras3 => None,
                        Dialect::TfKeras2 => c.training(),
                    },
                })
                .collect()
        };
        classes.layers.push(LayerClass {
            name: e.name,
            class: e.class.to_string(),
            nested,
        });
        graph.layers.push(layer);
    }
    let io = |key: &str| -> Result<Vec<TensorRef>, Reason> {
        let v = config.get(key).ok_or_else(|| {
            Reason::Config(format!("functional model '{}' has no '{key}'", graph.name))
        })?;
        parse_io_list(v, key).map_err(Reason::Config)
    };
    graph.inputs = io("input_layers")?;
    graph.outputs = io("output_layers")?;
    if dialect == Dialect::TfKeras2 {
        renumber_nested_calls(&mut graph, config)?;
    }
    Ok(ParsedModel { graph, classes })
}

/// tf.keras numbers the calls of a nested model from 1: a model built on an Input already has
/// a node (input to output) that the config leaves out (`_should_skip_first_node` in tf.keras'
/// functional.py). Keras 3 numbers from 0. Shift tf.keras references to such models down by one.
fn renumber_nested_calls(graph: &mut Graph, config: &Map<String, Value>) -> Result<(), Reason> {
    let mut skips = std::collections::HashSet::new();
    for v in layer_list(config)? {
        let e = entry(v)?;
        let starts_with_input = e
            .config
            .get("layers")
            .and_then(Value::as_array)
            .and_then(|l| l.first())
            .and_then(|l| l.get("class_name"))
            .and_then(Value::as_str)
            == Some("InputLayer");
        let skip = match e.class {
            "Functional" | "Model" => true,
            "Sequential" => starts_with_input,
            _ => is_model_class(&e),
        };
        if skip {
            skips.insert(e.name);
        }
    }
    if skips.is_empty() {
        return Ok(());
    }
    let fix = |r: &mut TensorRef| -> Result<(), Reason> {
        if skips.contains(&r.layer) {
            r.node = r.node.checked_sub(1).ok_or_else(|| {
                Reason::Config(format!(
                    "reference {r} points at the construction node of nested model '{}'",
                    r.layer
                ))
            })?;
        }
        Ok(())
    };
    for layer in &mut graph.layers {
        for node in &mut layer.nodes {
            for r in &mut node.inputs {
                fix(r)?;
            }
        }
    }
    for r in graph.inputs.iter_mut().chain(graph.outputs.iter_mut()) {
        fix(r)?;
    }
    Ok(())
}

fn parse_sequential(config: &Map<String, Value>, dialect: Dialect) -> Result<ParsedModel, Reason> {
    let name = model_name(config, "sequential");
    let mut graph = Graph::new(name.clone());
    graph.kind = GraphKind::Sequential;
    let mut classes = ClassTree::default();
    let entries = layer_list(config)?
        .iter()
        .map(entry)
        .collect::<Result<Vec<_>, _>>()?;

    // The input: an explicit InputLayer (Keras 3, tf.keras with Input), else the first layer's
    // batch_input_shape (tf.keras `input_shape=`), else the recorded build shape.
    let mut rest = &entries[..];
    let mut previous = match entries.first() {
        Some(e) if e.class == "InputLayer" => {
            rest = &entries[1..];
            classes.layers.push(LayerClass {
                name: e.name.clone(),
                class: e.class.into(),
                nested: None,
            });
            graph.push_input(e.name.clone(), input_config(e)?)
        }
        Some(e) => {
            let shape = e
                .config
                .get("batch_shape")
                .or_else(|| e.config.get("batch_input_shape"))
                .or_else(|| config.get("build_input_shape"))
                .ok_or_else(|| {
                    Reason::Config(format!(
                        "sequential model '{name}' records no input shape (it was never built)"
                    ))
                })?;
            let fake = serde_json::json!({"batch_shape": shape, "dtype": e.config.get("dtype")});
            let input_entry = Entry {
                class: "InputLayer",
                module: None,
                config: fake.as_object().expect("object"),
                name: format!("{}_input", e.name),
            };
            let input = input_config(&input_entry)?;
            graph.push_input(input_entry.name, input)
        }
        None => {
            return Err(Reason::Config(format!(
                "sequential model '{name}' has no layers"
            )));
        }
    };
    for e in rest {
        let (op, nested) = entry_op(e, &[], dialect)?;
        let mut layer = Layer::new(e.name.clone(), op);
        layer.trainable = trainable(e.config);
        classes.layers.push(LayerClass {
            name: e.name.clone(),
            class: e.class.to_string(),
            nested,
        });
        previous = graph.push(layer, vec![previous]);
    }
    graph.outputs = vec![previous];
    Ok(ParsedModel { graph, classes })
}
