//! Element-wise ops between values (merge layers, arithmetic) and with constants (arithmetic,
//! rescaling), plus dropout.

use burn::tensor::{Distribution, Tensor, TensorData};
use graft_ir::{DropoutConfig, MathConfig, MathOp, MergeKind, RescalingConfig};

use crate::value::{Dyn, Value, identity, map_dyn, with_dyn};

fn apply<const D: usize>(a: Tensor<D>, b: Tensor<D>, op: MathOp) -> Tensor<D> {
    match op {
        MathOp::Add => a.add(b),
        MathOp::Subtract => a.sub(b),
        MathOp::Multiply => a.mul(b),
        MathOp::Divide => a.div(b),
        MathOp::Maximum => a.max_pair(b),
        MathOp::Minimum => a.min_pair(b),
        MathOp::Power => a.powf(b),
    }
}

/// `a <op> b` with numpy broadcasting, in a common layout.
fn binary(a: Value, b: Value, op: MathOp) -> Value {
    let (a, b) = if a.rank() == b.rank() {
        let perm = a.perm.clone();
        (a, b.to_perm(&perm))
    } else {
        // Different ranks align trailing logical axes: go logical, pad the shorter with 1s.
        let rank = a.rank().max(b.rank());
        let lift = |v: Value| {
            let dims = v.logical_dims();
            let mut shape = vec![1; rank - dims.len()];
            shape.extend(dims);
            Value::logical(v.into_logical().reshape(&shape))
        };
        (lift(a), lift(b))
    };
    let perm = a.perm.clone();
    let t = match (a.tensor, b.tensor) {
        (Dyn::R1(x), Dyn::R1(y)) => Dyn::R1(apply(x, y, op)),
        (Dyn::R2(x), Dyn::R2(y)) => Dyn::R2(apply(x, y, op)),
        (Dyn::R3(x), Dyn::R3(y)) => Dyn::R3(apply(x, y, op)),
        (Dyn::R4(x), Dyn::R4(y)) => Dyn::R4(apply(x, y, op)),
        (Dyn::R5(x), Dyn::R5(y)) => Dyn::R5(apply(x, y, op)),
        _ => unreachable!("ranks aligned above"),
    };
    Value::with_perm(t, perm)
}

pub fn merge(kind: MergeKind, inputs: Vec<Value>) -> Value {
    let n = inputs.len();
    let mut it = inputs.into_iter();
    let first = it.next().expect("merge layers have inputs");
    let op = match kind {
        MergeKind::Add | MergeKind::Average => MathOp::Add,
        MergeKind::Subtract => MathOp::Subtract,
        MergeKind::Multiply => MathOp::Multiply,
        MergeKind::Maximum => MathOp::Maximum,
        MergeKind::Minimum => MathOp::Minimum,
    };
    let out = it.fold(first, |acc, v| binary(acc, v, op));
    if kind == MergeKind::Average {
        let perm = out.perm;
        Value::with_perm(map_dyn!(out.tensor, x => x.div_scalar(n as f32)), perm)
    } else {
        out
    }
}

fn with_scalar<const D: usize>(x: Tensor<D>, op: MathOp, s: f32, scalar_first: bool) -> Tensor<D> {
    match (op, scalar_first) {
        (MathOp::Add, _) => x.add_scalar(s),
        (MathOp::Multiply, _) => x.mul_scalar(s),
        (MathOp::Maximum, _) => x.clamp_min(s),
        (MathOp::Minimum, _) => x.clamp_max(s),
        (MathOp::Subtract, false) => x.sub_scalar(s),
        (MathOp::Subtract, true) => x.neg().add_scalar(s),
        (MathOp::Divide, false) => x.div_scalar(s),
        (MathOp::Divide, true) => x.recip().mul_scalar(s),
        (MathOp::Power, false) => x.powf_scalar(s),
        // s^x = exp(x ln s)
        (MathOp::Power, true) => x.mul_scalar(s.ln()).exp(),
    }
}

pub fn math(config: &MathConfig, inputs: Vec<Value>) -> Value {
    let mut it = inputs.into_iter();
    let a = it.next().expect("math ops have inputs");
    match config.scalar {
        Some(s) => {
            let perm = a.perm;
            Value::with_perm(
                map_dyn!(a.tensor, x => with_scalar(x, config.op, s, config.scalar_first)),
                perm,
            )
        }
        None => binary(a, it.next().expect("two inputs"), config.op),
    }
}

/// A per-channel vector shaped to broadcast along the physical axis that holds the value's
/// last logical axis.
fn along_last_axis(v: &Value, values: &[f32]) -> Dyn {
    let rank = v.rank();
    let axis = v.physical_axis(rank - 1);
    let mut shape = vec![1; rank];
    shape[axis] = values.len();
    let device = with_dyn!(&v.tensor, t => t.device());
    Dyn::from_host(&shape, values.to_vec(), &device)
}

pub fn rescaling(config: &RescalingConfig, x: Value) -> Value {
    let mut x = x;
    for (values, op) in [
        (&config.scale, MathOp::Multiply),
        (&config.offset, MathOp::Add),
    ] {
        x = match values.as_slice() {
            [v] if (op == MathOp::Multiply && *v == 1.0) || (op == MathOp::Add && *v == 0.0) => x,
            [v] => {
                let perm = x.perm;
                Value::with_perm(map_dyn!(x.tensor, t => with_scalar(t, op, *v, false)), perm)
            }
            vector => {
                let b = Value::with_perm(along_last_axis(&x, vector), x.perm.clone());
                binary(x, b, op)
            }
        };
    }
    x
}

/// Training-time dropout: keep each value (or each `noise_shape` group) with probability
/// `1 - rate` and scale kept values by `1 / (1 - rate)`.
pub fn dropout(config: &DropoutConfig, x: Value) -> Value {
    if config.rate <= 0.0 {
        return x;
    }
    let keep = 1.0 - config.rate as f64;
    let dims = x.logical_dims();
    let mask_shape: Vec<usize> = match &config.noise_shape {
        Some(ns) => dims
            .iter()
            .enumerate()
            .map(|(i, &d)| ns.get(i).copied().flatten().unwrap_or(d))
            .collect(),
        None => dims,
    };
    let t = x.into_logical();
    let device = with_dyn!(&t, t => t.device());
    let n: usize = mask_shape.iter().product();
    let mask = match crate::random::bernoulli(n, keep) {
        Some(draws) => Tensor::<1>::from_data(TensorData::new(draws, [n]), &device),
        None => Tensor::<1>::random([n], Distribution::Bernoulli(keep), &device),
    };
    let mask = Dyn::R1(mask).reshape(&mask_shape);
    let scaled = Value::logical(map_dyn!(t, t => t.div_scalar(keep as f32)));
    let rank = scaled.rank();
    binary(
        scaled,
        Value::with_perm(mask, identity(rank)),
        MathOp::Multiply,
    )
}
