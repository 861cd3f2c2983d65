//! ONNX node -> IR layers, one module per op family. Every mapper reads its inputs from the
//! builder, adds the layers (named after the node) and sets the node's outputs; an error says
//! why this use of the op cannot be expressed, and the reader reports it with the node's name,
//! op type and the model's opset.

mod activation;
mod conv;
mod math;
mod norm;
mod pool;
mod shape;

use graft_ir::{Op, Padding, Tensor};

use super::fold;
use super::graph::{Builder, Ctx, Val};
use super::tensor::{self, Const};

/// Ops graft maps to layers or folds at load time.
const SUPPORTED: &[&str] = &[
    // conv
    "Conv",
    "ConvTranspose",
    // norm
    "BatchNormalization",
    "LayerNormalization",
    "LRN",
    // activations
    "Relu",
    "LeakyRelu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Elu",
    "Selu",
    "Gelu",
    "Softplus",
    "Softsign",
    "Exp",
    "Mish",
    "Softmax",
    "LogSoftmax",
    "Clip",
    // pooling
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "ReduceMean",
    "ReduceMax",
    // arithmetic
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Sum",
    "Max",
    "Min",
    "Mean",
    "Gemm",
    "MatMul",
    // shapes and movement
    "Flatten",
    "Reshape",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Concat",
    "Pad",
    "Resize",
    "Upsample",
    "Dropout",
    "Identity",
    "Constant",
    "Cast",
    "Slice",
    "Tile",
    // folded at load time (shape arithmetic on constants)
    "Shape",
    "Size",
    "Gather",
    "ConstantOfShape",
    "Range",
    "Neg",
    "Sqrt",
    "Reciprocal",
    "Floor",
    "Ceil",
];

/// True for op types of the default domain that graft maps or folds.
pub(crate) fn supported(op_type: &str) -> bool {
    SUPPORTED.contains(&op_type)
}

/// Maps one node.
pub(crate) fn map(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let op = cx.op();
    if op == "Constant" {
        let c = constant_attr(b, cx)?;
        b.output(cx, Val::Const(c));
        return Ok(());
    }
    // All inputs known at load time: evaluate now.
    let present: Vec<Option<Val>> = (0..cx.node.input.len())
        .map(|i| b.opt_input(cx, i))
        .collect::<Result<_, _>>()?;
    if fold::foldable(op)
        && present.iter().any(Option::is_some)
        && present.iter().flatten().all(|v| matches!(v, Val::Const(_)))
    {
        let consts: Vec<Option<Const>> = present
            .into_iter()
            .map(|v| match v {
                Some(Val::Const(c)) => Some(c),
                _ => None,
            })
            .collect();
        let c = fold::eval(cx, &consts)?;
        b.output(cx, Val::Const(c));
        return Ok(());
    }
    match op {
        "Conv" => conv::conv(b, cx),
        "ConvTranspose" => conv::conv_transpose(b, cx),
        "BatchNormalization" => norm::batch_norm(b, cx),
        "LayerNormalization" => norm::layer_norm(b, cx),
        "LRN" => norm::lrn(b, cx),
        "Clip" => activation::clip(b, cx),
        "Softmax" | "LogSoftmax" => activation::softmax(b, cx),
        "MaxPool" | "AveragePool" => pool::pool(b, cx),
        "GlobalAveragePool" | "GlobalMaxPool" => pool::global(b, cx),
        "ReduceMean" | "ReduceMax" => pool::reduce(b, cx),
        "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Sum" | "Max" | "Min" | "Mean" => {
            math::elementwise(b, cx)
        }
        "Gemm" => math::gemm(b, cx),
        "MatMul" => math::matmul(b, cx),
        "Flatten" => shape::flatten(b, cx),
        "Reshape" | "Squeeze" | "Unsqueeze" => shape::reshape(b, cx),
        "Transpose" => shape::transpose(b, cx),
        "Slice" => shape::slice(b, cx),
        "Tile" => shape::tile(b, cx),
        "Concat" => shape::concat(b, cx),
        "Pad" => shape::pad(b, cx),
        "Resize" | "Upsample" => shape::resize(b, cx),
        "Dropout" => shape::dropout(b, cx),
        "Identity" | "Cast" => shape::identity(b, cx),
        "Shape" | "Size" => shape::shape(b, cx),
        _ => match activation::unary(cx)? {
            Some(a) => single(b, cx, Op::Activation(a), vec![]),
            None => Err(format!(
                "{op} is applied to a computed tensor; graft folds it only when it computes \
                 constant shapes"
            )),
        },
    }
}

/// A node standing for a whole pattern (`fuse`): one weightless layer on its input.
pub(crate) fn map_fused(b: &mut Builder, cx: &Ctx, op: Op) -> Result<(), String> {
    single(b, cx, op, vec![])
}

/// The value of a `Constant` node.
fn constant_attr(b: &Builder, cx: &Ctx) -> Result<Const, String> {
    let a = &cx.attrs;
    if let Some(t) = a.tensor("value") {
        return tensor::decode(t, &b.model_dir);
    }
    if a.has("value_float") {
        return Ok(Const::f32(vec![], vec![a.float("value_float", 0.0)]));
    }
    if let Some(v) = a.floats("value_floats") {
        return Ok(Const::f32(vec![v.len()], v));
    }
    if a.has("value_int") {
        return Ok(Const::ints(
            vec![],
            vec![tensor::Sym::Known(a.int("value_int", 0))],
        ));
    }
    if let Some(v) = a.ints("value_ints") {
        return Ok(Const::ints(
            vec![v.len()],
            v.into_iter().map(tensor::Sym::Known).collect(),
        ));
    }
    Err("has no value graft reads (value, value_float(s), value_int(s))".into())
}

/// One layer on input 0, named after the node, as output 0.
fn single(b: &mut Builder, cx: &Ctx, op: Op, weights: Vec<Tensor>) -> Result<(), String> {
    let (x, _) = b.tensor(cx, 0)?;
    let v = b.add(&cx.name, op, weights, vec![x])?;
    b.output(cx, v);
    Ok(())
}

/// `auto_pad` and `pads` of a windowed op with `rank` spatial axes.
fn padding(cx: &Ctx, rank: usize) -> Result<Padding, String> {
    match cx.attrs.string("auto_pad", "NOTSET").as_str() {
        "SAME_UPPER" => Ok(Padding::Same),
        "SAME_LOWER" => Ok(Padding::SameLower),
        "VALID" => Ok(Padding::Valid),
        "NOTSET" | "" => {
            let pads = cx.attrs.sizes("pads")?.unwrap_or_else(|| vec![0; 2 * rank]);
            if pads.len() != 2 * rank {
                return Err(format!(
                    "pads has {} values, {rank} spatial axes need {}",
                    pads.len(),
                    2 * rank
                ));
            }
            if pads.iter().all(|&p| p == 0) {
                return Ok(Padding::Valid);
            }
            Ok(Padding::Explicit(
                (0..rank).map(|i| (pads[i], pads[i + rank])).collect(),
            ))
        }
        other => Err(format!("auto_pad {other:?} is not an ONNX value")),
    }
}

/// A per-axis size attribute (`strides`, `dilations`) defaulting to ones.
fn per_axis(cx: &Ctx, name: &str, rank: usize) -> Result<Vec<usize>, String> {
    let v = cx.attrs.sizes(name)?.unwrap_or_else(|| vec![1; rank]);
    if v.len() != rank {
        return Err(format!(
            "{name} has {} values for {rank} spatial axes",
            v.len()
        ));
    }
    Ok(v)
}

/// A constant as an IR tensor of `dims` (checked).
fn weight(c: &Const, what: &str, dims: &[usize]) -> Result<Tensor, String> {
    if c.dims != dims {
        return Err(format!("{what} has shape {:?}, expected {dims:?}", c.dims));
    }
    c.to_tensor()
}
