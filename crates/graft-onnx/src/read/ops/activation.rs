//! Activation functions: one layer each, `Clip` by its bounds, `Softmax` by opset (before 13 it
//! normalises over all axes from `axis` on).

use graft_ir::{Activation, MathConfig, MathOp, Op, ReshapeConfig};

use super::single;
use crate::read::graph::{Builder, Ctx, Val};

const SELU_ALPHA: f32 = 1.673_263_2;
const SELU_GAMMA: f32 = 1.050_701;

/// The activation of an element-wise op, `None` for ops that are not one.
pub(super) fn unary(cx: &Ctx) -> Result<Option<Activation>, String> {
    let a = &cx.attrs;
    Ok(Some(match cx.op() {
        "Relu" => Activation::Relu,
        "LeakyRelu" => Activation::LeakyRelu {
            negative_slope: a.float("alpha", 0.01),
        },
        "Sigmoid" => Activation::Sigmoid,
        "HardSigmoid" => Activation::HardSigmoid {
            alpha: a.float("alpha", 0.2),
            beta: a.float("beta", 0.5),
        },
        "HardSwish" => Activation::HardSwish,
        "Tanh" => Activation::Tanh,
        "Elu" => Activation::Elu {
            alpha: a.float("alpha", 1.0),
        },
        "Selu" => {
            let (alpha, gamma) = (a.float("alpha", SELU_ALPHA), a.float("gamma", SELU_GAMMA));
            if (alpha - SELU_ALPHA).abs() > 1e-6 || (gamma - SELU_GAMMA).abs() > 1e-6 {
                return Err(format!(
                    "alpha={alpha}, gamma={gamma}: graft's SELU uses the standard constants"
                ));
            }
            Activation::Selu
        }
        "Gelu" => match a.string("approximate", "none").as_str() {
            "none" => Activation::Gelu { approximate: false },
            "tanh" => Activation::Gelu { approximate: true },
            other => return Err(format!("approximate={other:?} is not an ONNX value")),
        },
        "Softplus" => Activation::Softplus,
        "Softsign" => Activation::Softsign,
        "Exp" => Activation::Exponential,
        "Mish" => Activation::Mish,
        _ => return Ok(None),
    }))
}

/// `Clip(min, max)`: ReLU6, ReLU and hard tanh by name, other bounds as min/max layers.
pub(super) fn clip(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let bound = |i: usize, attr: &str, default: f32| -> Result<f32, String> {
        if cx.opset < 11 {
            return Ok(cx.attrs.float(attr, default));
        }
        match b.opt_constant(cx, i)? {
            None => Ok(default),
            Some(c) => c
                .scalar_f32()
                .ok_or_else(|| format!("{attr} is not a scalar: shape {:?}", c.dims)),
        }
    };
    let lo = bound(1, "min", f32::NEG_INFINITY)?;
    let hi = bound(2, "max", f32::INFINITY)?;
    let finite = |v: f32| v.is_finite() && v.abs() < f32::MAX;
    let named = match (lo, hi) {
        (l, h) if l == 0.0 && h == 6.0 => Some(Activation::Relu6),
        (l, h) if l == 0.0 && !finite(h) => Some(Activation::Relu),
        (l, h) if l == -1.0 && h == 1.0 => Some(Activation::HardTanh),
        _ => None,
    };
    if let Some(a) = named {
        return single(b, cx, Op::Activation(a), vec![]);
    }
    let (x, shape) = b.tensor(cx, 0)?;
    let mut v = Val::Tensor { r: x, shape };
    let steps: Vec<(MathOp, f32)> = [(MathOp::Maximum, lo), (MathOp::Minimum, hi)]
        .into_iter()
        .filter(|&(_, s)| finite(s))
        .collect();
    if steps.is_empty() {
        b.output(cx, v);
        return Ok(());
    }
    for (k, (op, s)) in steps.iter().enumerate() {
        let name = if k + 1 == steps.len() {
            cx.name.clone()
        } else {
            b.unique(&format!("{}/min", cx.name))
        };
        let Val::Tensor { r, .. } = &v else {
            unreachable!()
        };
        let input = r.clone();
        v = b.add(
            &name,
            Op::Math(MathConfig {
                op: *op,
                scalar: Some(*s),
                scalar_first: false,
            }),
            vec![],
            vec![input],
        )?;
    }
    b.output(cx, v);
    Ok(())
}

/// `Softmax` / `LogSoftmax`. From opset 13 along `axis` (default -1); before, over all axes from
/// `axis` (default 1) flattened together.
pub(super) fn softmax(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (x, shape) = b.tensor(cx, 0)?;
    let log = cx.op() == "LogSoftmax";
    let make = |axis: i64| {
        Op::Activation(if log {
            Activation::LogSoftmax { axis }
        } else {
            Activation::Softmax { axis }
        })
    };
    let rank = shape.rank() as i64;
    if cx.opset >= 13 {
        return single(b, cx, make(cx.attrs.int("axis", -1)), vec![]);
    }
    let axis = cx.attrs.int("axis", 1);
    let axis = if axis < 0 { axis + rank } else { axis };
    if axis < 0 || axis >= rank {
        return Err(format!("axis {axis} is out of range for input {shape}"));
    }
    let trailing_ones = shape.dims()[axis as usize + 1..]
        .iter()
        .all(|d| *d == Some(1));
    if axis == rank - 1 || trailing_ones {
        return single(b, cx, make(axis), vec![]);
    }
    if axis != 1 {
        return Err(format!(
            "before opset 13 softmax covers axes {axis}.. flattened; graft expresses that for \
             axis 1 only"
        ));
    }
    // Flatten, normalise, restore.
    let back: Vec<i64> = shape.dims()[1..]
        .iter()
        .map(|d| {
            d.map(|d| d as i64)
                .ok_or("needs known sizes after the batch")
        })
        .collect::<Result<_, _>>()?;
    let flat = b.unique(&format!("{}/flatten", cx.name));
    let v = b.add(
        &flat,
        Op::Reshape(ReshapeConfig {
            target_shape: vec![-1],
        }),
        vec![],
        vec![x],
    )?;
    let Val::Tensor { r, .. } = v else {
        unreachable!()
    };
    let inner = b.unique(&format!("{}/softmax", cx.name));
    let v = b.add(&inner, make(-1), vec![], vec![r])?;
    let Val::Tensor { r, .. } = v else {
        unreachable!()
    };
    let v = b.add(
        &cx.name,
        Op::Reshape(ReshapeConfig { target_shape: back }),
        vec![],
        vec![r],
    )?;
    b.output(cx, v);
    Ok(())
}
