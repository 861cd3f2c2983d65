//! The ONNX graph under construction: nodes, small constant initializers, and references to
//! the IR's weight tensors (streamed to the file at the end, never copied).

use std::collections::{HashMap, HashSet};

use graft_ir::{Tensor, TensorRef};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{AttributeProto, NodeProto, attribute_proto::AttributeType};

/// The data of one initializer.
pub(crate) enum InitData<'g> {
    /// An IR weight, written as it is.
    Weight(&'g Tensor),
    /// Values made while lowering (BatchNorm's ones, pads, scalars).
    F32(Vec<f32>),
    I64(Vec<i64>),
}

pub(crate) struct Init<'g> {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: InitData<'g>,
}

impl Init<'_> {
    pub(crate) fn data_type(&self) -> DataType {
        match self.data {
            InitData::I64(_) => DataType::Int64,
            _ => DataType::Float,
        }
    }

    pub(crate) fn byte_len(&self) -> u64 {
        match &self.data {
            InitData::Weight(t) => t.numel() as u64 * 4,
            InitData::F32(v) => v.len() as u64 * 4,
            InitData::I64(v) => v.len() as u64 * 8,
        }
    }
}

/// Nodes and initializers of the graph being written.
pub(crate) struct OnnxBuilder<'g> {
    pub nodes: Vec<NodeProto>,
    pub inits: Vec<Init<'g>>,
    names: HashSet<String>,
    /// Initializers already written for a graph weight, by (base name, tensor address).
    written_weights: HashMap<(String, usize), String>,
    /// Node names given so far, and how many later calls each layer name has had.
    node_names: HashSet<String>,
    calls: HashMap<String, usize>,
}

/// An attribute value.
pub(crate) enum A {
    I(i64),
    F(f32),
    S(&'static str),
    Is(Vec<i64>),
}

impl<'g> OnnxBuilder<'g> {
    pub(crate) fn new(reserved: impl IntoIterator<Item = String>) -> Self {
        Self {
            nodes: Vec::new(),
            inits: Vec::new(),
            names: reserved.into_iter().collect(),
            written_weights: HashMap::new(),
            node_names: HashSet::new(),
            calls: HashMap::new(),
        }
    }

    /// A fresh value or node name starting with `base`.
    pub(crate) fn fresh(&mut self, base: &str) -> String {
        graft_ir::reserve_unique_name(&mut self.names, base)
    }

    /// Adds a node named `name` with one output named `output`. The name is used as is the first
    /// time (layer names are unique); a shared layer's later calls are named `<name>/call1`,
    /// `<name>/call2`, ..., since ONNX node names must be unique.
    pub(crate) fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        output: &str,
        attrs: Vec<(&str, A)>,
    ) {
        let name = if self.node_names.insert(name.to_string()) {
            name.to_string()
        } else {
            let k = self.calls.entry(name.to_string()).or_insert(0);
            *k += 1;
            let call = format!("{name}/call{k}");
            let call = self.fresh(&call);
            self.node_names.insert(call.clone());
            call
        };
        let attribute = attrs
            .into_iter()
            .map(|(k, v)| {
                let mut a = AttributeProto {
                    name: k.to_string(),
                    ..Default::default()
                };
                match v {
                    A::I(i) => {
                        a.i = i;
                        a.r#type = AttributeType::Int as i32;
                    }
                    A::F(f) => {
                        a.f = f;
                        a.r#type = AttributeType::Float as i32;
                    }
                    A::S(s) => {
                        a.s = s.as_bytes().to_vec();
                        a.r#type = AttributeType::String as i32;
                    }
                    A::Is(v) => {
                        a.ints = v;
                        a.r#type = AttributeType::Ints as i32;
                    }
                }
                a
            })
            .collect();
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name,
            op_type: op.to_string(),
            domain: String::new(),
            attribute,
            doc_string: String::new(),
        });
    }

    /// A node with a fresh name and output `<base>`; returns the output.
    pub(crate) fn op(
        &mut self,
        op: &str,
        base: &str,
        inputs: &[&str],
        attrs: Vec<(&str, A)>,
    ) -> String {
        let name = self.fresh(base);
        self.node(op, &name, inputs, &name, attrs);
        name
    }

    /// An initializer holding an IR weight.
    /// The calls of a shared layer all read its one initializer: the same tensor under the same
    /// name is written once.
    pub(crate) fn weight(&mut self, base: &str, t: &'g Tensor) -> String {
        let key = (base.to_string(), std::ptr::from_ref(t) as usize);
        if let Some(name) = self.written_weights.get(&key) {
            return name.clone();
        }
        let name = self.fresh(base);
        self.inits.push(Init {
            name: name.clone(),
            dims: t.shape().iter().map(|&d| d as i64).collect(),
            data: InitData::Weight(t),
        });
        self.written_weights.insert(key, name.clone());
        name
    }

    pub(crate) fn floats(&mut self, base: &str, dims: Vec<i64>, v: Vec<f32>) -> String {
        let name = self.fresh(base);
        self.inits.push(Init {
            name: name.clone(),
            dims,
            data: InitData::F32(v),
        });
        name
    }

    pub(crate) fn scalar(&mut self, base: &str, v: f32) -> String {
        self.floats(base, vec![], vec![v])
    }

    pub(crate) fn ints(&mut self, base: &str, v: Vec<i64>) -> String {
        let name = self.fresh(base);
        self.inits.push(Init {
            name: name.clone(),
            dims: vec![v.len() as i64],
            data: InitData::I64(v),
        });
        name
    }
}

/// The ONNX value name of a layer output.
pub(crate) fn value_name(r: &TensorRef, single: bool) -> String {
    if single {
        r.layer.clone()
    } else {
        format!("{}:{}:{}", r.layer, r.node, r.output)
    }
}
