//! Everything that is not spatial: Dense (`Gemm`, or `MatMul` + `Add` on rank > 2),
//! normalisations, merges and arithmetic, reshapes and transposes, dropout, embeddings.

use graft_ir::{DataFormat, MathOp, MergeKind, Op, PadMode, normalize_axis};

use super::{Cx, activation};
use crate::write::builder::A;

fn math_op(op: MathOp) -> &'static str {
    match op {
        MathOp::Add => "Add",
        MathOp::Subtract => "Sub",
        MathOp::Multiply => "Mul",
        MathOp::Divide => "Div",
        MathOp::Maximum => "Max",
        MathOp::Minimum => "Min",
        MathOp::Power => "Pow",
    }
}

/// A `[1, .., n, .., 1]`-shaped constant of `values` on axis `axis` of a rank-`rank` value.
fn along(cx: &mut Cx, role: &str, values: Vec<f32>, axis: usize, rank: usize) -> String {
    let mut dims = vec![1i64; rank];
    dims[axis] = values.len() as i64;
    let name = format!("{}/{role}", cx.name());
    cx.b.floats(&name, dims, values)
}

pub(super) fn lower(cx: &mut Cx) -> Result<(), String> {
    let layer = cx.layer;
    let x = cx.inputs.first().cloned().unwrap_or_default();
    let rank = cx.in_shapes.first().map_or(0, |s| s.rank());
    match &layer.op {
        Op::Dense(d) => {
            let w = cx.weight("kernel")?;
            let bias = if d.use_bias {
                Some(cx.weight("bias")?)
            } else {
                None
            };
            let name = cx.name().to_string();
            let linear = d.activation.is_linear();
            let out = if linear {
                cx.out.clone()
            } else {
                cx.b.fresh(&format!("{name}/preactivation"))
            };
            if rank == 2 {
                let mut inputs = vec![x.as_str(), w.as_str()];
                if let Some(b) = &bias {
                    inputs.push(b);
                }
                cx.b.node("Gemm", &name, &inputs, &out, vec![]);
            } else if let Some(b) = &bias {
                let mm = cx.b.fresh(&format!("{name}/matmul"));
                cx.b.node("MatMul", &name, &[&x, &w], &mm, vec![]);
                let add = cx.b.fresh(&format!("{name}/bias"));
                cx.b.node("Add", &add, &[&mm, b], &out, vec![]);
            } else {
                cx.b.node("MatMul", &name, &[&x, &w], &out, vec![]);
            }
            if !linear {
                let act = cx.b.fresh(&format!("{name}/activation"));
                let final_out = cx.out.clone();
                activation::apply(cx.b, &d.activation, &out, &final_out, &act)?;
            }
            Ok(())
        }
        Op::BatchNorm(c) => {
            let axis = normalize_axis(c.axis, rank).ok_or("axis out of range")?;
            if axis != 1 {
                return Err(format!(
                    "normalises axis {axis}; ONNX BatchNormalization normalises axis 1"
                ));
            }
            let n = cx.in_shapes[0].dims()[1].ok_or("needs a known channel count")?;
            let name = cx.name().to_string();
            let gamma = if c.scale {
                cx.weight("gamma")?
            } else {
                cx.b.floats(&format!("{name}/gamma"), vec![n as i64], vec![1.0; n])
            };
            let beta = if c.center {
                cx.weight("beta")?
            } else {
                cx.b.floats(&format!("{name}/beta"), vec![n as i64], vec![0.0; n])
            };
            let (mean, var) = (cx.weight("moving_mean")?, cx.weight("moving_variance")?);
            cx.emit(
                "BatchNormalization",
                &[&x, &gamma, &beta, &mean, &var],
                vec![
                    ("epsilon", A::F(c.epsilon as f32)),
                    ("momentum", A::F(c.momentum as f32)),
                ],
            );
            Ok(())
        }
        Op::LayerNorm(c) => {
            if c.rms_scaling {
                return Err("rms_scaling has no ONNX operator at opset 17".into());
            }
            let mut axes: Vec<usize> = c
                .axes
                .iter()
                .map(|&a| normalize_axis(a, rank).ok_or("axis out of range"))
                .collect::<Result<_, _>>()?;
            axes.sort_unstable();
            let first = *axes.first().ok_or("normalises no axis")?;
            if axes != (first..rank).collect::<Vec<_>>() {
                return Err(format!(
                    "normalises axes {axes:?}; ONNX LayerNormalization normalises trailing axes"
                ));
            }
            let name = cx.name().to_string();
            let sizes: Vec<usize> = cx.in_shapes[0].dims()[first..]
                .iter()
                .map(|d| d.ok_or("needs known normalised sizes"))
                .collect::<Result<_, _>>()?;
            let n: usize = sizes.iter().product();
            let dims: Vec<i64> = sizes.iter().map(|&s| s as i64).collect();
            let scale = if c.scale {
                cx.weight("gamma")?
            } else {
                cx.b.floats(&format!("{name}/gamma"), dims.clone(), vec![1.0; n])
            };
            let mut inputs = vec![x.clone(), scale];
            if c.center {
                inputs.push(cx.weight("beta")?);
            }
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            cx.emit(
                "LayerNormalization",
                &refs,
                vec![
                    ("axis", A::I(first as i64)),
                    ("epsilon", A::F(c.epsilon as f32)),
                ],
            );
            Ok(())
        }
        Op::Normalization(c) => {
            let axes: Vec<usize> = c
                .axes
                .iter()
                .map(|&a| normalize_axis(a, rank).ok_or("axis out of range"))
                .collect::<Result<_, _>>()?;
            if axes.len() > 1 {
                return Err("normalises over several kept axes; graft writes one".into());
            }
            let (mean, var) = match (&c.mean, &c.variance) {
                (Some(m), Some(v)) => (m.clone(), v.clone()),
                _ => (
                    layer
                        .weight("mean")
                        .ok_or("has no mean")?
                        .tensor
                        .data()
                        .to_vec(),
                    layer
                        .weight("variance")
                        .ok_or("has no variance")?
                        .tensor
                        .data()
                        .to_vec(),
                ),
            };
            let std: Vec<f32> = var.iter().map(|v| v.sqrt().max(1e-7)).collect();
            let (m, s) = match axes.first() {
                Some(&a) => (
                    along(cx, "mean", mean, a, rank),
                    along(cx, "std", std, a, rank),
                ),
                None => {
                    let name = cx.name().to_string();
                    (
                        cx.b.scalar(&format!("{name}/mean"), mean[0]),
                        cx.b.scalar(&format!("{name}/std"), std[0]),
                    )
                }
            };
            if c.invert {
                let t = cx.step("Mul", "scaled", &[&x, &s], vec![]);
                cx.emit("Add", &[&t, &m], vec![]);
            } else {
                let t = cx.step("Sub", "centred", &[&x, &m], vec![]);
                cx.emit("Div", &[&t, &s], vec![]);
            }
            Ok(())
        }
        Op::Merge(kind) => {
            let refs: Vec<&str> = cx.inputs.iter().map(String::as_str).collect();
            let refs: Vec<String> = refs.iter().map(|s| s.to_string()).collect();
            let r: Vec<&str> = refs.iter().map(String::as_str).collect();
            match (kind, r.len()) {
                (_, 1) => cx.emit("Identity", &r, vec![]),
                (MergeKind::Add, 2) => cx.emit("Add", &r, vec![]),
                (MergeKind::Add, _) => cx.emit("Sum", &r, vec![]),
                (MergeKind::Subtract, _) => cx.emit("Sub", &r, vec![]),
                (MergeKind::Average, _) => cx.emit("Mean", &r, vec![]),
                (MergeKind::Maximum, _) => cx.emit("Max", &r, vec![]),
                (MergeKind::Minimum, _) => cx.emit("Min", &r, vec![]),
                (MergeKind::Multiply, n) => {
                    let mut acc = r[0].to_string();
                    for (i, next) in r[1..n - 1].iter().enumerate() {
                        acc = cx.step("Mul", &format!("mul{i}"), &[&acc, next], vec![]);
                    }
                    cx.emit("Mul", &[&acc, r[n - 1]], vec![]);
                }
            }
            Ok(())
        }
        Op::Math(m) => {
            let op = math_op(m.op);
            match m.scalar {
                Some(s) => {
                    let c = cx.b.scalar(&format!("{}/constant", cx.name()), s);
                    if m.scalar_first {
                        cx.emit(op, &[&c, &x], vec![]);
                    } else {
                        cx.emit(op, &[&x, &c], vec![]);
                    }
                }
                None => {
                    let y = cx.inputs[1].clone();
                    cx.emit(op, &[&x, &y], vec![]);
                }
            }
            Ok(())
        }
        Op::Rescaling(r) => {
            let name = cx.name().to_string();
            let vec = |cx: &mut Cx, role: &str, v: &[f32]| {
                if v.len() == 1 {
                    cx.b.scalar(&format!("{name}/{role}"), v[0])
                } else {
                    cx.b.floats(&format!("{name}/{role}"), vec![v.len() as i64], v.to_vec())
                }
            };
            let s = vec(cx, "scale", &r.scale);
            let o = vec(cx, "offset", &r.offset);
            let t = cx.step("Mul", "scaled", &[&x, &s], vec![]);
            cx.emit("Add", &[&t, &o], vec![]);
            Ok(())
        }
        Op::Concatenate { axis } => {
            let a = normalize_axis(*axis, rank).ok_or("axis out of range")?;
            let r: Vec<String> = cx.inputs.clone();
            let refs: Vec<&str> = r.iter().map(String::as_str).collect();
            cx.emit("Concat", &refs, vec![("axis", A::I(a as i64))]);
            Ok(())
        }
        Op::Flatten(f) => {
            let src = if f.data_format == DataFormat::ChannelsFirst && rank > 2 {
                // Keras' channels_first Flatten flattens as if the channels were last.
                let mut perm: Vec<i64> = vec![0];
                perm.extend((2..rank as i64).chain([1]));
                cx.step(
                    "Transpose",
                    "channels_last",
                    &[&x],
                    vec![("perm", A::Is(perm))],
                )
            } else {
                x.clone()
            };
            cx.emit("Flatten", &[&src], vec![("axis", A::I(1))]);
            Ok(())
        }
        Op::Reshape(r) => {
            let mut shape = vec![0i64];
            shape.extend(&r.target_shape);
            let s = cx.b.ints(&format!("{}/shape", cx.name()), shape);
            cx.emit("Reshape", &[&x, &s], vec![]);
            Ok(())
        }
        Op::Permute(p) => {
            let perm: Vec<i64> = p.full_permutation().iter().map(|&d| d as i64).collect();
            cx.emit("Transpose", &[&x], vec![("perm", A::Is(perm))]);
            Ok(())
        }
        Op::RepeatVector { n } => {
            let axes = cx.b.ints(&format!("{}/axes", cx.name()), vec![1]);
            let u = cx.step("Unsqueeze", "unsqueeze", &[&x, &axes], vec![]);
            let reps =
                cx.b.ints(&format!("{}/repeats", cx.name()), vec![1, *n as i64, 1]);
            cx.emit("Tile", &[&u, &reps], vec![]);
            Ok(())
        }
        Op::Dropout(d) => {
            let ratio = cx.b.scalar(&format!("{}/ratio", cx.name()), d.rate);
            cx.emit("Dropout", &[&x, &ratio], vec![]);
            Ok(())
        }
        Op::Identity => {
            cx.emit("Identity", &[&x], vec![]);
            Ok(())
        }
        Op::Embedding(_) => {
            let table = cx.weight("embeddings")?;
            let idx = cx.step("Cast", "indices", &[&x], vec![("to", A::I(7))]);
            cx.emit("Gather", &[&table, &idx], vec![("axis", A::I(0))]);
            Ok(())
        }
        Op::Pad(p) => {
            let n = p.pads.len() + 1;
            let mut v = vec![0i64; 2 * n];
            for (i, &(b, a)) in p.pads.iter().enumerate() {
                v[1 + i] = b as i64;
                v[n + 1 + i] = a as i64;
            }
            let pads = cx.b.ints(&format!("{}/pads", cx.name()), v);
            let (mode, value) = match p.mode {
                PadMode::Constant(v) => ("constant", Some(v)),
                PadMode::Reflect => ("reflect", None),
                PadMode::Edge => ("edge", None),
            };
            match value {
                Some(v) => {
                    let c = cx.b.scalar(&format!("{}/value", cx.name()), v);
                    cx.emit("Pad", &[&x, &pads, &c], vec![("mode", A::S(mode))]);
                }
                None => cx.emit("Pad", &[&x, &pads], vec![("mode", A::S(mode))]),
            }
            Ok(())
        }
        other => Err(format!(
            "{} has no ONNX equivalent graft writes",
            other.type_name()
        )),
    }
}
