//! Reading the protobuf: the file into memory, decoded into tract-onnx's prost types, and typed
//! access to node attributes.

use std::path::Path;

use prost::Message;
use tract_onnx::pb::{AttributeProto, ModelProto, NodeProto, TensorProto};

use crate::error::Reason;

/// Reads and decodes `path`. The decoder never allocates more than the file holds.
pub(crate) fn read_model(path: &Path) -> Result<ModelProto, Reason> {
    let bytes =
        std::fs::read(path).map_err(|e| Reason::Io(format!("cannot read the file: {e}")))?;
    decode(&bytes)
}

/// Decodes a serialized `ModelProto`, refusing bytes that decode but are no model.
pub(crate) fn decode(bytes: &[u8]) -> Result<ModelProto, Reason> {
    let model = ModelProto::decode(bytes).map_err(|e| Reason::Decode(e.to_string()))?;
    if model.graph.is_none() || (model.ir_version == 0 && model.opset_import.is_empty()) {
        return Err(Reason::Decode(
            "the protobuf holds no ONNX graph (no graph, ir_version or opset_import)".into(),
        ));
    }
    Ok(model)
}

/// The opset of the default ONNX domain (`""` or `ai.onnx`); 1 when none is declared.
pub(crate) fn default_opset(model: &ModelProto) -> i64 {
    model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .unwrap_or(1)
}

/// A node's attributes with typed getters; each error names the attribute.
pub(crate) struct Attrs<'a> {
    node: &'a NodeProto,
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(node: &'a NodeProto) -> Self {
        Self { node }
    }

    fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub(crate) fn int(&self, name: &str, default: i64) -> i64 {
        self.get(name).map_or(default, |a| a.i)
    }

    pub(crate) fn float(&self, name: &str, default: f32) -> f32 {
        self.get(name).map_or(default, |a| a.f)
    }

    pub(crate) fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.get(name).map(|a| a.ints.clone())
    }

    pub(crate) fn floats(&self, name: &str) -> Option<Vec<f32>> {
        self.get(name).map(|a| a.floats.clone())
    }

    pub(crate) fn string(&self, name: &str, default: &str) -> String {
        self.get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
            .unwrap_or_else(|| default.to_string())
    }

    pub(crate) fn tensor(&self, name: &str) -> Option<&'a TensorProto> {
        self.get(name).and_then(|a| a.t.as_ref())
    }

    /// Sizes: non-negative ints.
    pub(crate) fn sizes(&self, name: &str) -> Result<Option<Vec<usize>>, String> {
        self.ints(name)
            .map(|v| {
                v.iter()
                    .map(|&i| {
                        usize::try_from(i)
                            .map_err(|_| format!("attribute '{name}' holds a negative size {i}"))
                    })
                    .collect()
            })
            .transpose()
    }
}
