//! ONNX files to the IR.
//!
//! The protobuf is decoded with tract-onnx's prost types; initializers become constants (inline,
//! `raw_data` or external data next to the model); every node maps to IR layers by op family
//! (`ops/`), with shape-only arithmetic (`Shape`, `Gather`, `Slice`, `Concat`, ... on sizes)
//! folded at load time (`fold`), `Transpose` pairs that cancel removed, `x * sigmoid(x)` read as a
//! swish and a `MatMul` + bias `Add` as one Dense layer. Multi-node spellings of one activation
//! (GELU through `Erf` or `Tanh`, Keras' thresholded ReLU through `Less`/`Where`) are found before
//! mapping (`fuse`); graft's own two-`Conv` SeparableConv and `Unsqueeze` + `Tile` RepeatVector
//! read back as those layers, and in files graft wrote, `Identity` nodes keep their layers
//! (`Activation('linear')`). Layers are named after their nodes (a pattern after its last).

mod external;
mod fold;
mod fuse;
mod graph;
mod ops;
pub(crate) mod proto;
pub(crate) mod tensor;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use graft_ir::{DType, Graph, InputConfig, Shape};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, ValueInfoProto, type_proto};

use crate::error::{NodeId, NodeProblem, OnnxError, Reason};
use graph::{Builder, Ctx, Val};
use proto::Attrs;

/// An ONNX model read into the IR.
#[derive(Clone, Debug)]
pub struct OnnxModel {
    pub graph: Graph,
    /// The opset of the default ONNX domain.
    pub opset: i64,
    pub ir_version: i64,
    /// The tool that wrote the file (`tf2onnx`, `pytorch`, `graft`, ...) and its version.
    pub producer: String,
    pub producer_version: String,
}

/// Reads an ONNX model file (architecture and weights) into the IR.
pub fn load_model(path: impl AsRef<Path>) -> Result<OnnxModel, OnnxError> {
    let path = path.as_ref();
    let wrap = |r| OnnxError::new(path, r);
    let model = proto::read_model(path).map_err(wrap)?;
    let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    convert(model, &dir, &stem).map_err(wrap)
}

/// True when `bytes` decode as an ONNX model (what format detection asks).
pub fn is_onnx(bytes: &[u8]) -> bool {
    proto::decode(bytes).is_ok()
}

fn is_default_domain(d: &str) -> bool {
    d.is_empty() || d == "ai.onnx"
}

/// Names every node: its own name, or `<op_type>_<n>` for nameless ones.
fn node_names(g: &GraphProto) -> Vec<String> {
    let mut counters: HashMap<&str, usize> = HashMap::new();
    g.node
        .iter()
        .map(|n| {
            if n.name.is_empty() {
                let c = counters.entry(n.op_type.as_str()).or_insert(0);
                *c += 1;
                format!("{}_{}", n.op_type, *c - 1)
            } else {
                n.name.clone()
            }
        })
        .collect()
}

/// Keeps the items of `v` whose flag in `gone` is false.
fn drop_gone<T>(v: &mut Vec<T>, gone: &[bool]) {
    let mut k = gone.iter();
    v.retain(|_| !k.next().copied().unwrap_or(false));
}

fn node_id(n: &NodeProto, name: &str) -> NodeId {
    NodeId {
        name: name.to_string(),
        op_type: n.op_type.clone(),
        domain: n.domain.clone(),
    }
}

/// Node indices in an order where every input is computed first (files are supposed to be
/// sorted already; this tolerates those that are not).
fn topological(g: &GraphProto, known: &HashSet<String>) -> Vec<usize> {
    let mut available: HashSet<&str> = known.iter().map(String::as_str).collect();
    let mut done = vec![false; g.node.len()];
    let mut order = Vec::with_capacity(g.node.len());
    loop {
        let mut progressed = false;
        for (i, n) in g.node.iter().enumerate() {
            if done[i] {
                continue;
            }
            if n.input
                .iter()
                .all(|x| x.is_empty() || available.contains(x.as_str()))
            {
                done[i] = true;
                order.push(i);
                available.extend(n.output.iter().map(String::as_str));
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    // Nodes never ready (a cycle, a missing input) come last; mapping reports them.
    order.extend((0..g.node.len()).filter(|&i| !done[i]));
    order
}

fn input_config(v: &ValueInfoProto) -> Result<InputConfig, String> {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Err("is not a tensor".into());
    };
    let dtype = match DataType::try_from(t.elem_type) {
        Ok(DataType::Float | DataType::Double | DataType::Float16) => DType::F32,
        Ok(DataType::Int32) => DType::I32,
        Ok(DataType::Int64) => DType::I64,
        _ => {
            return Err(format!(
                "has element type {}, graft runs float inputs",
                t.elem_type
            ));
        }
    };
    let shape = t.shape.as_ref().ok_or("has no declared shape")?;
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as D;
    let dims = shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(D::DimValue(v)) if *v > 0 => Some(*v as usize),
            _ => None,
        })
        .collect::<Vec<_>>();
    if dims.is_empty() || dims.len() > 5 {
        return Err(format!("has rank {}, graft runs ranks 1 to 5", dims.len()));
    }
    Ok(InputConfig {
        shape: Shape::new(dims),
        dtype,
    })
}

fn convert(mut model: ModelProto, dir: &Path, stem: &str) -> Result<OnnxModel, Reason> {
    let opset = proto::default_opset(&model);
    let mut g = model
        .graph
        .take()
        .ok_or_else(|| Reason::Model("the model has no graph".into()))?;
    let mut names = node_names(&g);
    // Patterns that read as one layer (GELU, Keras' general ReLU; graft's Rescaling and
    // Normalization): their last node takes the pattern's input, the others go.
    let graft_file = model.producer_name == "graft";
    let mut fused: Vec<Option<graft_ir::Op>> = vec![None; g.node.len()];
    let mut gone = vec![false; g.node.len()];
    for f in fuse::find(&g, dir, graft_file) {
        for &i in &f.absorbed {
            gone[i] = true;
        }
        g.node[f.last].input = vec![f.input];
        fused[f.last] = Some(f.op);
    }
    if gone.iter().any(|&x| x) {
        drop_gone(&mut g.node, &gone);
        drop_gone(&mut names, &gone);
        drop_gone(&mut fused, &gone);
    }
    // Every unsupported op, at once.
    let unsupported: Vec<NodeId> = g
        .node
        .iter()
        .zip(&names)
        .zip(&fused)
        .filter(|((n, _), f)| {
            f.is_none() && (!is_default_domain(&n.domain) || !ops::supported(&n.op_type))
        })
        .map(|((n, name), _)| node_id(n, name))
        .collect();
    if !unsupported.is_empty() {
        return Err(Reason::Unsupported {
            opset,
            nodes: unsupported,
        });
    }
    let mut uses: HashMap<String, usize> = HashMap::new();
    for n in &g.node {
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            *uses.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &g.output {
        *uses.entry(o.name.clone()).or_default() += 1;
    }
    let name = if g.name.is_empty() || g.name == "main_graph" || g.name == "tf2onnx" {
        stem.to_string()
    } else {
        g.name.clone()
    };
    let mut b = Builder::new(&name, dir.to_path_buf(), uses);
    b.graft_file = graft_file;
    // Initializers (their bytes freed as they are decoded).
    let mut known: HashSet<String> = HashSet::new();
    for mut t in std::mem::take(&mut g.initializer) {
        let c = tensor::decode(&t, dir).map_err(|message| Reason::Tensor {
            name: t.name.clone(),
            message,
        })?;
        t.raw_data = Vec::new();
        known.insert(t.name.clone());
        b.set(&t.name, Val::Const(c));
    }
    // Inputs (old files list initializers among the inputs too).
    for v in &g.input {
        if known.contains(&v.name) {
            continue;
        }
        let config = input_config(v).map_err(|message| Reason::Input {
            name: v.name.clone(),
            message,
        })?;
        let layer = b.unique(&v.name);
        let val = b.add_input(&layer, config);
        b.set(&v.name, val);
        known.insert(v.name.clone());
    }
    if b.graph.inputs.is_empty() {
        return Err(Reason::Model("the graph has no inputs".into()));
    }
    // Node names are reserved before any layer is made, so they keep their own names.
    let mut layer_names = Vec::with_capacity(names.len());
    for n in &names {
        layer_names.push(b.unique(n));
    }
    let mut problems = Vec::new();
    let mut poisoned: HashSet<String> = HashSet::new();
    for i in topological(&g, &known) {
        let node = &g.node[i];
        if node.input.iter().any(|x| poisoned.contains(x)) {
            poisoned.extend(node.output.iter().cloned());
            continue;
        }
        let cx = Ctx {
            node,
            name: layer_names[i].clone(),
            attrs: Attrs::new(node),
            opset,
        };
        let mapped = match &fused[i] {
            Some(op) => ops::map_fused(&mut b, &cx, op.clone()),
            None => ops::map(&mut b, &cx),
        };
        if let Err(message) = mapped {
            problems.push(NodeProblem {
                node: node_id(node, &names[i]),
                message,
            });
            poisoned.extend(node.output.iter().cloned());
        }
    }
    let mut outputs = Vec::new();
    for o in &g.output {
        if poisoned.contains(&o.name) {
            continue;
        }
        match b.value(&o.name) {
            Some(Val::Tensor { r, .. }) => outputs.push(r.clone()),
            Some(Val::Const(_)) => {
                return Err(Reason::Model(format!(
                    "graph output '{}' is a constant; graft models compute their outputs",
                    o.name
                )));
            }
            None => {
                return Err(Reason::Model(format!(
                    "graph output '{}' is produced by no node",
                    o.name
                )));
            }
        }
    }
    if !problems.is_empty() {
        return Err(Reason::Nodes { opset, problems });
    }
    b.graph.outputs = outputs;
    b.prune();
    b.graph.validate()?;
    Ok(OnnxModel {
        graph: b.graph,
        opset,
        ir_version: model.ir_version,
        producer: model.producer_name,
        producer_version: model.producer_version,
    })
}
