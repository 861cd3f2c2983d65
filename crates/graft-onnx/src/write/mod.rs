//! The IR to ONNX (opset 17, IR version 8).
//!
//! A graph is prepared first (nested models inlined, then the layout pass brings every spatial
//! op to channels-first, keeping or converting the input layout as asked), then lowered layer by
//! layer (`ops/`): explicit pads, ReLU6 as `Clip`, hard sigmoid/swish as themselves, depthwise
//! convolutions as grouped `Conv`, Keras' flatten order kept by a `Transpose` the layout pass
//! inserts, BatchNormalization with the model's epsilon. Node names are the IR layer names, and
//! graph outputs keep the names of the layers computing them (even when a layout Transpose
//! follows). A layer ONNX cannot express fails here, before any file is touched.
//!
//! The file is then streamed (`encode`): weights go from the IR's buffers to the file without a
//! copy in memory, into a temporary file in the target folder renamed into place when complete.
//! Models whose weights pass protobuf's 2 GB limit put them in an external data file next to
//! the model (`<file>.data`); the small constants made while lowering (pads, shapes, scales)
//! stay inline, where ONNX shape inference can read them.

mod builder;
mod encode;
mod inline;
mod ops;

use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use graft_ir::layout::{self, Boundary, LayoutOptions, MovedBoundaries};
use graft_ir::{DType, DataFormat, Graph, Op, Shape};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::{Dimension, dimension};
use tract_onnx::pb::{
    GraphProto, ModelProto, OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
    type_proto,
};

use crate::error::{OnnxError, Reason};
use builder::{OnnxBuilder, value_name};
use encode::Placement;

/// The opset graft writes.
pub const OPSET: i64 = 17;
/// The ONNX IR version graft writes (opset 17's).
pub const IR_VERSION: i64 = 8;
/// Weights past this many bytes go to an external data file ([`ExternalData::Auto`]):
/// protobuf caps a message at 2 GB.
pub const EXTERNAL_THRESHOLD: u64 = 1_900_000_000;

/// Where the weights go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExternalData {
    /// Inside the model file, unless they pass [`EXTERNAL_THRESHOLD`].
    #[default]
    Auto,
    /// Always in `<file>.data` next to the model (the model's weights; the few small constants
    /// the writer makes, such as pads and shapes, stay inside the model file, as ONNX shape
    /// inference needs them there).
    Always,
    /// Always inside the model file (fails past 2 GB).
    Never,
}

/// How [`save_model`] writes.
#[derive(Clone, Copy, Debug, Default)]
pub struct SaveOptions {
    /// The layout the ONNX graph's image inputs (and feature-map outputs) take: `None` keeps the
    /// source model's (NHWC for Keras, NCHW for ONNX/PyTorch).
    pub layout: Option<DataFormat>,
    /// Replace an existing file.
    pub overwrite: bool,
    pub external_data: ExternalData,
}

/// What a write produced.
#[derive(Clone, Debug, Default)]
pub struct SaveReport {
    pub nodes: usize,
    pub initializers: usize,
    /// Bytes of weights written (initializers, wherever they went).
    pub weight_bytes: u64,
    /// The external data file, when one was written.
    pub external_data: Option<PathBuf>,
    /// The layout of the graph's inputs as written (`None`: no spatial input).
    pub input_layout: Option<DataFormat>,
    /// Which of the model's inputs and outputs the file declares in the other layout than the
    /// source model's (all false unless `layout` asked for the other one).
    pub moved: MovedBoundaries,
}

/// A graph ready to write: inlined and channels-first.
struct Prepared {
    graph: Graph,
    /// The layout of its inputs as written.
    input_layout: Option<DataFormat>,
    /// The inputs and outputs declared in the other layout than the source's.
    moved: MovedBoundaries,
    /// The value names of the graph's outputs before the layout pass, which the file keeps.
    output_names: Vec<String>,
}

/// The ONNX value name of `r` in `g`: the layer's name for the only output of a layer called
/// once.
fn value_name_in(g: &Graph, r: &graft_ir::TensorRef) -> String {
    let single = g
        .layers
        .iter()
        .find(|l| l.name == r.layer)
        .is_none_or(|l| l.nodes.len() <= 1);
    value_name(r, single && r.output == 0)
}

fn prepare(graph: Graph, layout: Option<DataFormat>) -> Result<Prepared, Reason> {
    graph.validate()?;
    let g = inline::inline(graph);
    let output_names = g.outputs.iter().map(|r| value_name_in(&g, r)).collect();
    let source = layout::data_format(&g);
    let want = layout.or(source);
    let mut g = g;
    let mut moved = MovedBoundaries {
        inputs: vec![false; g.inputs.len()],
        outputs: vec![false; g.outputs.len()],
    };
    // First declare the inputs in the wanted layout, then make everything channels-first while
    // keeping that declaration.
    if let (Some(s), Some(w)) = (source, want)
        && s != w
    {
        (g, moved) = layout::convert_reporting(g, w, &LayoutOptions::both(Boundary::Convert))?;
    }
    let has_spatial = g.walk().iter().any(|i| {
        matches!(
            i.layer.op,
            Op::Conv(_)
                | Op::DepthwiseConv(_)
                | Op::SeparableConv(_)
                | Op::ConvTranspose(_)
                | Op::Pool(_)
                | Op::GlobalPool(_)
                | Op::ZeroPadding(_)
                | Op::Cropping(_)
                | Op::UpSampling(_)
                | Op::Lrn(_)
                | Op::Preprocessing(_)
                | Op::BatchNorm(_)
        )
    });
    if has_spatial {
        g = layout::to_channels_first(g, &LayoutOptions::default())?;
    }
    Ok(Prepared {
        graph: g,
        input_layout: if source.is_some() { want } else { None },
        moved,
        output_names,
    })
}

fn elem_type(d: DType) -> i32 {
    match d {
        DType::F32 => DataType::Float as i32,
        DType::I32 => DataType::Int32 as i32,
        DType::I64 => DataType::Int64 as i32,
    }
}

fn value_info(name: &str, elem: i32, shape: &Shape) -> ValueInfoProto {
    let dim = shape
        .dims()
        .iter()
        .enumerate()
        .map(|(i, d)| Dimension {
            denotation: String::new(),
            value: Some(match d {
                Some(n) => dimension::Value::DimValue(*n as i64),
                None if i == 0 => dimension::Value::DimParam("N".into()),
                None => dimension::Value::DimParam(format!("{name}_d{i}")),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            denotation: String::new(),
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        doc_string: String::new(),
    }
}

/// A graph lowered to ONNX nodes (weights still referenced, not copied).
struct Lowered<'g> {
    proto: GraphProto,
    b: OnnxBuilder<'g>,
}

/// Lowers `g`; its outputs take `output_names` (their names before the layout pass).
fn lower<'g>(g: &'g Graph, output_names: &[String]) -> Result<Lowered<'g>, Reason> {
    let shapes = g.infer_shapes()?;
    let order = g.topological_order()?;
    let mut b = OnnxBuilder::new(g.layers.iter().map(|l| l.name.clone()));
    let single: HashMap<&str, bool> = g
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.nodes.len() <= 1))
        .collect();
    let raw_name = |r: &graft_ir::TensorRef| {
        value_name(
            r,
            single.get(r.layer.as_str()).copied().unwrap_or(true) && r.output == 0,
        )
    };
    // Graph outputs keep the names of the layers that compute them. When the layout pass moved
    // an output back to the source's layout (a Transpose `<layer>/to_channels_last` after a
    // channels-first `<layer>`), the Transpose's value takes the layer's name and the layer's
    // own value becomes `<layer>/inner`. Node names stay the layers' names.
    let inputs: Vec<&str> = g.input_configs().iter().map(|(n, _)| *n).collect();
    let mut alias: HashMap<String, String> = HashMap::new();
    for (r, want) in g.outputs.iter().zip(output_names) {
        let got = raw_name(r);
        if got == *want
            || alias.contains_key(&got)
            || alias.values().any(|v| v == want)
            || inputs.contains(&want.as_str())
            || inputs.contains(&got.as_str())
        {
            continue;
        }
        let inner = b.fresh(&format!("{want}/inner"));
        alias.insert(want.clone(), inner);
        alias.insert(got, want.clone());
    }
    let vname = |r: &graft_ir::TensorRef| {
        let name = raw_name(r);
        alias.get(&name).cloned().unwrap_or(name)
    };
    let mut proto = GraphProto {
        name: if g.name.is_empty() {
            "graft".into()
        } else {
            g.name.clone()
        },
        ..Default::default()
    };
    for (name, c) in g.input_configs() {
        proto
            .input
            .push(value_info(name, elem_type(c.dtype), &c.shape));
    }
    for site in order {
        let layer = &g.layers[site.layer];
        let node = &layer.nodes[site.node];
        let out_ref = graft_ir::TensorRef::at(layer.name.clone(), site.node, 0);
        if let Op::Constant(_) = layer.op {
            let w = layer
                .weight("value")
                .ok_or_else(|| Reason::NotExpressible {
                    layer: layer.name.clone(),
                    type_name: layer.op.type_name(),
                    message: "has no value".into(),
                })?;
            let name = vname(&out_ref);
            b.inits.push(builder::Init {
                name,
                dims: w.tensor.shape().iter().map(|&d| d as i64).collect(),
                data: builder::InitData::Weight(&w.tensor),
            });
            continue;
        }
        let mut cx = ops::Cx {
            b: &mut b,
            layer,
            inputs: node.inputs.iter().map(&vname).collect(),
            in_shapes: node
                .inputs
                .iter()
                .map(|r| shapes.get(r).cloned().unwrap_or_default())
                .collect(),
            out: vname(&out_ref),
        };
        ops::lower(&mut cx).map_err(|message| Reason::NotExpressible {
            layer: layer.name.clone(),
            type_name: layer.op.type_name(),
            message,
        })?;
    }
    let mut seen = HashMap::new();
    for r in &g.outputs {
        let mut name = vname(r);
        // ONNX outputs are value names: the same value twice, or an input, needs an Identity.
        if seen.contains_key(&name) || g.input_configs().iter().any(|(n, _)| *n == name) {
            let id = b.fresh(&format!("{name}/output"));
            b.node("Identity", &id, &[&name], &id, vec![]);
            name = id;
        }
        seen.insert(name.clone(), ());
        let shape = shapes.get(r).cloned().unwrap_or_default();
        proto
            .output
            .push(value_info(&name, DataType::Float as i32, &shape));
    }
    proto.node = std::mem::take(&mut b.nodes);
    Ok(Lowered { proto, b })
}

/// Fails, before anything is written, when a layer of `graph` cannot be written to ONNX.
pub fn check_expressible(graph: &Graph, layout: Option<DataFormat>) -> Result<(), Reason> {
    let p = prepare(graph.clone(), layout)?;
    lower(&p.graph, &p.output_names).map(|_| ())
}

/// A temporary file next to `path`, removed unless persisted (see
/// [`graft_ir::files::temp_file_next_to`]).
fn temp_next_to(path: &Path) -> Result<tempfile::NamedTempFile, Reason> {
    graft_ir::files::temp_file_next_to(path, ".partial").map_err(|e| {
        let dir = graft_ir::files::folder_of(path);
        Reason::Io(format!("cannot create a file in {}: {e}", dir.display()))
    })
}

/// Writes `graph` with its weights as an ONNX model. `progress` is told the bytes of weights
/// written so far and the total.
pub fn save_model(
    graph: Graph,
    path: impl AsRef<Path>,
    options: &SaveOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SaveReport, OnnxError> {
    let path = path.as_ref();
    let wrap = |r| OnnxError::new(path, r);
    if path.exists() && !options.overwrite {
        return Err(wrap(Reason::Exists));
    }
    let Prepared {
        graph: g,
        input_layout,
        moved,
        output_names,
    } = prepare(graph, options.layout).map_err(wrap)?;
    let Lowered { proto, b } = lower(&g, &output_names).map_err(wrap)?;
    let total: u64 = b.inits.iter().map(builder::Init::byte_len).sum();
    let external = match options.external_data {
        ExternalData::Always => true,
        ExternalData::Never => false,
        ExternalData::Auto => total > EXTERNAL_THRESHOLD,
    };
    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "graft".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(proto),
        ..Default::default()
    };
    let nodes = model.graph.as_ref().map_or(0, |g| g.node.len());
    let mut done = 0u64;
    let mut tick = |n: u64| {
        done += n;
        progress(done, total);
    };
    let io = |e: std::io::Error| wrap(Reason::Io(format!("write failed: {e}")));
    let mut data_path = None;
    let placement = if external {
        let file_name = format!(
            "{}.data",
            path.file_name()
                .map_or("model.onnx".into(), |f| f.to_string_lossy().into_owned())
        );
        let target = path.with_file_name(&file_name);
        if target.exists() && !options.overwrite {
            return Err(OnnxError::new(&target, Reason::Exists));
        }
        let mut temp = temp_next_to(&target).map_err(wrap)?;
        let mut offsets = Vec::with_capacity(b.inits.len());
        {
            let mut w = BufWriter::with_capacity(1 << 20, temp.as_file_mut());
            let mut offset = 0u64;
            for init in &b.inits {
                if encode::external(init) {
                    offsets.push(Some(offset));
                    encode::write_data(&mut w, &init.data, &mut tick).map_err(io)?;
                    offset += init.byte_len();
                } else {
                    offsets.push(None);
                }
            }
            w.flush().map_err(io)?;
        }
        temp.persist(&target)
            .map_err(|e| wrap(Reason::Io(format!("cannot rename into place: {}", e.error))))?;
        data_path = Some(target);
        Placement::External {
            location: file_name,
            offsets,
        }
    } else {
        Placement::Inline
    };
    let mut temp = temp_next_to(path).map_err(wrap)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, temp.as_file_mut());
        encode::write_model(&mut w, model, &b.inits, &placement, &mut tick).map_err(io)?;
        w.flush().map_err(io)?;
    }
    temp.persist(path)
        .map_err(|e| wrap(Reason::Io(format!("cannot rename into place: {}", e.error))))?;
    Ok(SaveReport {
        nodes,
        initializers: b.inits.len(),
        weight_bytes: total,
        external_data: data_path,
        input_layout,
        moved,
    })
}
