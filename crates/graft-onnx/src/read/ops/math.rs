//! Element-wise arithmetic with numpy broadcasting (two computed tensors, a tensor and a scalar,
//! or a tensor and a constant tensor through a `Constant` layer), `Gemm` and `MatMul` as Dense
//! layers. Two folds happen here: `x * sigmoid(x)` is a swish, and a bias `Add` after a Dense
//! without bias becomes its bias.

use graft_ir::{
    Activation, DenseConfig, MathConfig, MathOp, MergeKind, Op, Shape, Tensor, TensorRef, Weight,
    broadcast,
};

use super::single;
use crate::read::graph::{Builder, Ctx, Val};
use crate::read::tensor::Const;

/// What a binary op of ONNX becomes with two computed operands, and with a scalar.
fn kinds(op: &str) -> (Op, MathOp) {
    let merge = |k| Op::Merge(k);
    let math = |op| {
        Op::Math(MathConfig {
            op,
            scalar: None,
            scalar_first: false,
        })
    };
    match op {
        "Add" | "Sum" => (merge(MergeKind::Add), MathOp::Add),
        "Sub" => (merge(MergeKind::Subtract), MathOp::Subtract),
        "Mul" => (merge(MergeKind::Multiply), MathOp::Multiply),
        "Max" => (merge(MergeKind::Maximum), MathOp::Maximum),
        "Min" => (merge(MergeKind::Minimum), MathOp::Minimum),
        "Mean" => (merge(MergeKind::Average), MathOp::Add),
        "Div" => (math(MathOp::Divide), MathOp::Divide),
        _ => (math(MathOp::Power), MathOp::Power),
    }
}

/// True when broadcasting `c` against `shape` leaves `shape` as it is.
fn keeps_shape(shape: &Shape, c: &Const) -> bool {
    let cs = Shape::new(c.dims.iter().map(|&d| Some(d)).collect());
    broadcast(shape, &cs).is_ok_and(|s| s == *shape)
}

/// The Sigmoid layer input when `r` is the output of an Activation(Sigmoid) layer.
fn sigmoid_of(b: &Builder, r: &TensorRef) -> Option<TensorRef> {
    let l = b.graph.layer(&r.layer)?;
    match (&l.op, l.nodes.first()) {
        (Op::Activation(Activation::Sigmoid), Some(n)) if n.inputs.len() == 1 => {
            Some(n.inputs[0].clone())
        }
        _ => None,
    }
}

/// Folds `Add(dense_without_bias, c)` into the Dense layer's bias. True when done.
fn fold_bias(b: &mut Builder, cx: &Ctx, t: &TensorRef, c: &Const, t_input: usize) -> bool {
    let name = &cx.node.input[t_input];
    if b.uses.get(name).copied().unwrap_or(0) != 1 || t.node != 0 {
        return false;
    }
    let Some(layer) = b.producer_mut(t) else {
        return false;
    };
    let units = match &layer.op {
        Op::Dense(d) if !d.use_bias && d.activation.is_linear() && layer.nodes.len() == 1 => {
            d.units
        }
        _ => return false,
    };
    if c.len() != units || c.dims.iter().rev().skip(1).any(|&d| d != 1) {
        return false;
    }
    let Ok(bias) = c
        .to_f32()
        .and_then(|v| Tensor::new(vec![units], v).map_err(|e| e.to_string()))
    else {
        return false;
    };
    if let Op::Dense(d) = &mut layer.op {
        d.use_bias = true;
    }
    layer.weights.push(Weight {
        name: "bias".into(),
        tensor: bias,
        trainable: true,
    });
    true
}

pub(super) fn elementwise(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let op = cx.op().to_string();
    let n = cx.node.input.len();
    let variadic = matches!(op.as_str(), "Sum" | "Max" | "Min" | "Mean");
    if variadic && n == 1 {
        let v = b.input(cx, 0)?;
        b.output(cx, v);
        return Ok(());
    }
    if !variadic && n != 2 {
        return Err(format!("has {n} inputs, expected 2"));
    }
    let (layer_op, math_op) = kinds(&op);
    if n == 2 {
        let (x, y) = (b.input(cx, 0)?, b.input(cx, 1)?);
        match (&x, &y) {
            (Val::Tensor { r: a, .. }, Val::Tensor { r: s, .. }) if op == "Mul" => {
                // x * sigmoid(x), either way round.
                for (t, g) in [(a, s), (s, a)] {
                    if sigmoid_of(b, g).as_ref() == Some(t) {
                        let v = b.add(
                            &cx.name,
                            Op::Activation(Activation::Swish),
                            vec![],
                            vec![t.clone()],
                        )?;
                        b.output(cx, v);
                        return Ok(());
                    }
                }
            }
            (Val::Tensor { r, shape }, Val::Const(c))
            | (Val::Const(c), Val::Tensor { r, shape }) => {
                let const_first = matches!(x, Val::Const(_));
                if op == "Add" && fold_bias(b, cx, r, c, usize::from(const_first)) {
                    b.output(
                        cx,
                        Val::Tensor {
                            r: r.clone(),
                            shape: shape.clone(),
                        },
                    );
                    return Ok(());
                }
                if let Some(s) = c.uniform_f32().filter(|_| keeps_shape(shape, c))
                    && !matches!(op.as_str(), "Mean")
                {
                    let cfg = MathConfig {
                        op: math_op,
                        scalar: Some(s),
                        scalar_first: const_first,
                    };
                    return single_on(b, cx, r.clone(), Op::Math(cfg));
                }
            }
            _ => {}
        }
    }
    let mut inputs = Vec::with_capacity(n);
    for i in 0..n {
        let v = b.input(cx, i)?;
        inputs.push(b.operand(&cx.node.input[i], &v)?);
    }
    if !variadic || n == 2 {
        let v = b.add(&cx.name, layer_op, vec![], inputs)?;
        b.output(cx, v);
        return Ok(());
    }
    match layer_op {
        // n-ary merges exist for these.
        Op::Merge(_) => {
            let v = b.add(&cx.name, layer_op, vec![], inputs)?;
            b.output(cx, v);
            Ok(())
        }
        _ => Err(format!("{op} of {n} inputs is not supported")),
    }
}

fn single_on(b: &mut Builder, cx: &Ctx, x: TensorRef, op: Op) -> Result<(), String> {
    let v = b.add(&cx.name, op, vec![], vec![x])?;
    b.output(cx, v);
    Ok(())
}

/// `Gemm`: `alpha * op(A) . op(B) + beta * C` with a computed A and constant B and C, as a Dense
/// layer (the kernel stored `[in, out]`, so `transB=1` weights are transposed here).
///
/// A Gemm whose inputs are all constants (`transA` or not) is evaluated at load time (`fold`),
/// so a kernel computed from initializers (a low-rank factorisation, a transposed weight)
/// becomes a constant that the next Gemm or MatMul takes as its B. With a computed A, `transA=1`
/// contracts over A's axis 0, the batch: each output row would mix samples, which no graft layer
/// does (the IR keeps axis 0 as the batch, and Permute keeps it first), so it is refused; as is a
/// constant A with a computed B, which contracts over B's batch axis the same way.
pub(super) fn gemm(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    if let Val::Const(_) = b.input(cx, 0)? {
        return Err(format!(
            "input 0 ('{}') is a constant and input 1 is computed: op(A) . op(B) would \
             contract over B's batch axis, mixing samples; graft maps Gemm with a computed A \
             and constant B and C",
            cx.node.input[0]
        ));
    }
    let (_, shape) = b.tensor(cx, 0)?;
    if shape.rank() != 2 {
        return Err(format!("input {shape} is not a matrix"));
    }
    if cx.attrs.int("transA", 0) != 0 {
        return Err(format!(
            "transA=1 on the computed A {shape} sums over its batch axis (axis 0), so each \
             output row would mix samples; graft keeps samples apart and cannot express it \
             (a transA Gemm whose inputs are all constants is folded)"
        ));
    }
    let w = b.constant(cx, 1)?;
    if w.dims.len() != 2 {
        return Err(format!("B has shape {:?}, expected a matrix", w.dims));
    }
    let alpha = cx.attrs.float("alpha", 1.0);
    let beta = cx.attrs.float("beta", 1.0);
    let mut kernel = w.to_tensor()?;
    if cx.attrs.int("transB", 0) != 0 {
        kernel = kernel.permuted(&[1, 0]).map_err(|e| e.to_string())?;
    }
    if alpha != 1.0 {
        kernel.data_mut().iter_mut().for_each(|v| *v *= alpha);
    }
    let (cin, units) = (kernel.shape()[0], kernel.shape()[1]);
    if let Some(k) = shape.dims()[1]
        && k != cin
    {
        return Err(format!("input {shape} does not fit B of {cin} rows"));
    }
    let mut weights = vec![kernel];
    let bias = match b.opt_constant(cx, 2)? {
        None => None,
        Some(c) => {
            let v = c.to_f32()?;
            let values = if v.len() == units && c.dims.iter().rev().skip(1).all(|&d| d == 1) {
                v
            } else if v.len() == 1 {
                vec![v[0]; units]
            } else {
                return Err(format!(
                    "C has shape {:?}; graft needs one bias per output ({units})",
                    c.dims
                ));
            };
            Some(values.into_iter().map(|x| x * beta).collect::<Vec<_>>())
        }
    };
    if let Some(values) = &bias {
        weights.push(Tensor::new(vec![units], values.clone()).map_err(|e| e.to_string())?);
    }
    let op = Op::Dense(DenseConfig {
        units,
        use_bias: bias.is_some(),
        activation: Activation::Linear,
    });
    single(b, cx, op, weights)
}

/// `MatMul` of a computed tensor by a constant matrix: a Dense layer without bias (a following
/// bias `Add` folds into it).
pub(super) fn matmul(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0).map_err(|_| {
        "graft maps MatMul of a computed tensor by a constant matrix only".to_string()
    })?;
    let w = b.constant(cx, 1).map_err(|_| {
        "multiplies two computed tensors; graft maps MatMul by a constant matrix only".to_string()
    })?;
    if w.dims.len() != 2 || shape.rank() < 2 {
        return Err(format!(
            "multiplies {shape} by {:?}; graft maps a rank >= 2 tensor times a matrix",
            w.dims
        ));
    }
    let op = Op::Dense(DenseConfig {
        units: w.dims[1],
        use_bias: false,
        activation: Activation::Linear,
    });
    single(b, cx, op, vec![w.to_tensor()?])
}
