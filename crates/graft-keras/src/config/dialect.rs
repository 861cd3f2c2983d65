//! The two JSON dialects of `model_config`: tf.keras 2 and Keras 3 differ in how they write input
//! shapes, dtypes and, above all, the calls that wire layers together.

use graft_ir::{DType, TensorRef};
use serde_json::{Map, Value};

/// Which Keras wrote the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// tf.keras 2.x (and standalone Keras 2): `batch_input_shape`, nested-list inbound nodes,
    /// `hard_sigmoid` = `clip(0.2x + 0.5)`.
    TfKeras2,
    /// Keras 3: `batch_shape`, `{"args", "kwargs"}` inbound nodes, `hard_sigmoid` =
    /// `clip(x/6 + 0.5)`.
    Keras3,
}

impl Dialect {
    /// From a `keras_version` string ("2.15.0", "3.15.1").
    pub fn from_version(version: &str) -> Option<Self> {
        match version.split('.').next()?.parse::<u32>().ok()? {
            0..=2 => Some(Dialect::TfKeras2),
            _ => Some(Dialect::Keras3),
        }
    }

    /// Guesses from the config itself when no version is recorded.
    pub fn sniff(config_text: &str) -> Self {
        if config_text.contains("\"__keras_tensor__\"") || config_text.contains("\"batch_shape\"") {
            Dialect::Keras3
        } else {
            Dialect::TfKeras2
        }
    }
}

/// One call of a layer as the config records it.
#[derive(Clone, Debug, Default)]
pub struct Call {
    /// Tensor inputs, in argument order.
    pub tensors: Vec<TensorRef>,
    /// Constant numeric arguments with their positions among all positional arguments
    /// (tensors included), e.g. `[tensor, 3.0]` gives `(1, 3.0)`.
    pub constants: Vec<(usize, f64)>,
    /// Keyword arguments other than tensors.
    pub kwargs: Map<String, Value>,
    /// How many top-level positional arguments the call had: a merge layer gets one (a list of
    /// tensors), an operation like `x + 3.0` two.
    pub positional: usize,
}

impl Call {
    /// The `training=` argument, when given.
    pub fn training(&self) -> Option<bool> {
        self.kwargs.get("training").and_then(Value::as_bool)
    }
}

/// Parses the `inbound_nodes` entry of one layer into its calls.
pub fn parse_inbound_nodes(nodes: &Value, dialect: Dialect) -> Result<Vec<Call>, String> {
    let list = match nodes {
        Value::Array(a) => a,
        Value::Null => return Ok(vec![]),
        other => return Err(format!("inbound_nodes must be a list, found {other}")),
    };
    list.iter()
        .map(|node| match (dialect, node) {
            (_, Value::Object(obj)) if obj.contains_key("args") => parse_keras3_call(obj),
            // TFOpLambda nodes are one flat entry, `[layer, node, index, kwargs]`.
            (_, Value::Array(entry)) if entry.first().is_some_and(Value::is_string) => {
                parse_tfkeras_call(std::slice::from_ref(node))
            }
            (_, Value::Array(entries)) => parse_tfkeras_call(entries),
            (_, other) => Err(format!("unrecognised inbound node {other}")),
        })
        .collect()
}

/// Keras 3: `{"args": [...], "kwargs": {...}}`; tensors are `{"class_name": "__keras_tensor__",
/// "config": {"keras_history": [layer, node, index]}}`, possibly inside lists (merge layers).
fn parse_keras3_call(obj: &Map<String, Value>) -> Result<Call, String> {
    let mut call = Call::default();
    let empty = vec![];
    let args = obj.get("args").and_then(Value::as_array).unwrap_or(&empty);
    call.positional = args.len();
    let mut position = 0;
    for arg in args {
        collect_keras3_arg(arg, &mut call, &mut position)?;
    }
    if let Some(Value::Object(kwargs)) = obj.get("kwargs") {
        for (k, v) in kwargs {
            let mut found = vec![];
            keras3_tensors(v, &mut found)?;
            if found.is_empty() {
                call.kwargs.insert(k.clone(), v.clone());
            } else {
                call.tensors.extend(found);
            }
        }
    }
    Ok(call)
}

fn collect_keras3_arg(arg: &Value, call: &mut Call, position: &mut usize) -> Result<(), String> {
    match arg {
        Value::Number(n) => {
            call.constants
                .push((*position, n.as_f64().unwrap_or(f64::NAN)));
            *position += 1;
        }
        Value::Array(items) => {
            for item in items {
                collect_keras3_arg(item, call, position)?;
            }
        }
        Value::Object(_) => {
            let mut found = vec![];
            keras3_tensors(arg, &mut found)?;
            if found.is_empty() {
                return Err(format!("unsupported call argument {arg}"));
            }
            *position += found.len();
            call.tensors.extend(found);
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {
            *position += 1;
        }
    }
    Ok(())
}

fn keras3_tensors(v: &Value, out: &mut Vec<TensorRef>) -> Result<(), String> {
    match v {
        Value::Object(o)
            if o.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") =>
        {
            let history = o
                .get("config")
                .and_then(|c| c.get("keras_history"))
                .ok_or_else(|| format!("keras tensor without keras_history: {v}"))?;
            out.push(history_ref(history)?);
        }
        Value::Array(items) => {
            for item in items {
                keras3_tensors(item, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// tf.keras 2: `[[layer, node, index, kwargs], ...]`, one entry per input tensor; the call's
/// keyword arguments ride on the entries. Tensors inside kwargs are `[layer, node, index]`.
fn parse_tfkeras_call(entries: &[Value]) -> Result<Call, String> {
    let mut call = Call::default();
    for entry in entries {
        let parts = entry
            .as_array()
            .ok_or_else(|| format!("inbound node entry must be a list, found {entry}"))?;
        if parts.len() < 3 {
            return Err(format!("inbound node entry too short: {entry}"));
        }
        // `1.0 - x` is recorded as `["_CONSTANT_VALUE", -1, 1.0, {"y": ["x", 0, 0]}]`.
        if parts[0].as_str() == Some("_CONSTANT_VALUE") {
            let value = parts[2]
                .as_f64()
                .ok_or_else(|| format!("non-numeric constant operand {entry}"))?;
            call.constants.push((call.positional, value));
        } else {
            call.tensors.push(history_ref(entry)?);
        }
        call.positional += 1;
        if let Some(Value::Object(kwargs)) = parts.get(3) {
            for (k, v) in kwargs {
                if let Some(r) = tfkeras_tensor_in_kwargs(v) {
                    call.tensors.push(r);
                } else {
                    call.kwargs.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(call)
}

fn tfkeras_tensor_in_kwargs(v: &Value) -> Option<TensorRef> {
    let a = v.as_array()?;
    if a.len() == 3 && a[0].is_string() && a[1].is_u64() && a[2].is_u64() {
        history_ref(v).ok()
    } else {
        None
    }
}

/// `[layer, node, index]` (extra trailing entries ignored).
pub fn history_ref(v: &Value) -> Result<TensorRef, String> {
    let a = v
        .as_array()
        .ok_or_else(|| format!("expected [layer, node, index], found {v}"))?;
    match (
        a.first().and_then(Value::as_str),
        a.get(1).and_then(Value::as_u64),
        a.get(2).and_then(Value::as_u64),
    ) {
        (Some(layer), Some(node), Some(index)) => {
            Ok(TensorRef::at(layer, node as usize, index as usize))
        }
        _ => Err(format!("expected [layer, node, index], found {v}")),
    }
}

/// `input_layers`/`output_layers`: a list of `[layer, node, index]`, or (Keras 3, one tensor) a
/// single flat triple.
pub fn parse_io_list(v: &Value, what: &str) -> Result<Vec<TensorRef>, String> {
    let a = v
        .as_array()
        .ok_or_else(|| format!("{what} must be a list, found {v}"))?;
    if a.first().is_some_and(Value::is_string) {
        return Ok(vec![history_ref(v)?]);
    }
    a.iter().map(history_ref).collect()
}

/// A layer's dtype: a string (tf.keras) or a `DTypePolicy` object (Keras 3).
pub fn parse_dtype(v: Option<&Value>) -> Result<DType, String> {
    let name = match v {
        None | Some(Value::Null) => return Ok(DType::F32),
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) => o
            .get("config")
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("float32"),
        Some(other) => return Err(format!("unrecognised dtype {other}")),
    };
    match name {
        "float32" | "float16" | "bfloat16" | "float64" | "mixed_float16" | "mixed_bfloat16" => {
            Ok(DType::F32)
        }
        "int32" | "uint8" | "int8" | "int16" | "uint16" => Ok(DType::I32),
        "int64" | "uint32" => Ok(DType::I64),
        other => Err(format!("unsupported dtype '{other}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keras3_call_with_constant() {
        let node = json!([{"args": [{"class_name": "__keras_tensor__", "config": {"shape": [null, 1], "dtype": "float32", "keras_history": ["conv", 0, 0]}}, 3.0], "kwargs": {}}]);
        let calls = parse_inbound_nodes(&node, Dialect::Keras3).unwrap();
        assert_eq!(calls[0].tensors, vec![TensorRef::new("conv")]);
        assert_eq!(calls[0].constants, vec![(1, 3.0)]);
    }

    #[test]
    fn keras3_merge_call_and_training_kwarg() {
        let t = |n: &str| json!({"class_name": "__keras_tensor__", "config": {"keras_history": [n, 0, 0]}});
        let node = json!([{"args": [[t("a"), t("b")]], "kwargs": {"training": false}}]);
        let calls = parse_inbound_nodes(&node, Dialect::Keras3).unwrap();
        assert_eq!(calls[0].tensors.len(), 2);
        assert_eq!(calls[0].training(), Some(false));
    }

    #[test]
    fn tfkeras_call_with_kwargs() {
        let node = json!([[["bn", 0, 0, {"y": 3.0, "name": null}]]]);
        let calls = parse_inbound_nodes(&node, Dialect::TfKeras2).unwrap();
        assert_eq!(calls[0].tensors, vec![TensorRef::new("bn")]);
        assert_eq!(calls[0].kwargs.get("y"), Some(&json!(3.0)));
    }

    #[test]
    fn tfkeras_flat_tfoplambda_node() {
        let node = json!([["Conv/BatchNorm", 0, 0, {"y": 3.0, "name": null}]]);
        let calls = parse_inbound_nodes(&node, Dialect::TfKeras2).unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].tensors, vec![TensorRef::new("Conv/BatchNorm")]);
    }

    #[test]
    fn tfkeras_constant_value_entry() {
        let node = json!([[["_CONSTANT_VALUE", -1, 1.0, {"name": null, "y": ["dense", 0, 0]}]]]);
        let calls = parse_inbound_nodes(&node, Dialect::TfKeras2).unwrap();
        assert_eq!(calls[0].tensors, vec![TensorRef::new("dense")]);
        assert_eq!(calls[0].constants, vec![(0, 1.0)]);
    }

    #[test]
    fn io_lists() {
        assert_eq!(parse_io_list(&json!(["in", 0, 0]), "x").unwrap().len(), 1);
        assert_eq!(
            parse_io_list(&json!([["a", 0, 0], ["b", 0, 0]]), "x")
                .unwrap()
                .len(),
            2
        );
    }
}
