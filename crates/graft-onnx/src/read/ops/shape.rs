//! Ops that move values: flatten, reshape (and squeeze/unsqueeze), transpose (pairs that cancel
//! fold away), slice (a spatial crop), concat, pad, resize/upsample, dropout, identity, and
//! `Shape` of a computed tensor (a constant with the batch size left symbolic).

use graft_ir::{
    CroppingConfig, DataFormat, Dim, DropoutConfig, FlattenConfig, Interpolation, Op, PadConfig,
    PadMode, PermuteConfig, ReshapeConfig, Shape, UpSamplingConfig, ZeroPaddingConfig,
    normalize_axis,
};

use super::single;
use crate::read::graph::{Builder, Ctx, Val};
use crate::read::tensor::{Const, Sym};

pub(super) fn identity(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    if cx.op() == "Cast" && !matches!(cx.attrs.int("to", 1), 1 | 10 | 11 | 16) {
        return Err("casts a computed tensor to integers; graft computes in float".into());
    }
    let v = b.input(cx, 0)?;
    // graft writes an Identity node only for a layer (Activation('linear'), Identity): in its
    // own files the node keeps its layer. Other exporters' Identity nodes pass values through.
    if cx.op() == "Identity" && b.graft_file && matches!(v, Val::Tensor { .. }) {
        return single(b, cx, Op::Activation(graft_ir::Activation::Linear), vec![]);
    }
    b.output(cx, v);
    Ok(())
}

/// `Tile` of a `(batch, 1, features)` tensor by `[1, n, 1]`: Keras' `RepeatVector(n)` (what
/// graft writes for it, after an `Unsqueeze` of axis 1). The layer reads the `(batch, features)`
/// tensor before that Unsqueeze when there is one; otherwise a Reshape drops the axis first.
pub(super) fn tile(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (x, shape) = b.tensor(cx, 0)?;
    let reps = b.constant(cx, 1)?.to_i64()?;
    let as_repeat = shape.rank() == 3
        && shape.dims()[1] == Some(1)
        && reps.len() == 3
        && reps[0] == 1
        && reps[2] == 1
        && reps[1] >= 1;
    if !as_repeat {
        return Err(format!(
            "repeats {reps:?} on {shape}; graft maps Tile only as a RepeatVector (a \
             (batch, 1, features) tensor repeated [1, n, 1])"
        ));
    }
    let n = reps[1] as usize;
    let features = shape.dims()[2].ok_or("needs a known feature size")?;
    // The Unsqueeze's input, when the Unsqueeze was mapped as a Reshape read by this node only.
    let input_name = &cx.node.input[0];
    let unsqueezed = b
        .graph
        .layer(&x.layer)
        .and_then(|l| match (&l.op, l.nodes.as_slice()) {
            (Op::Reshape(r), [node])
                if r.target_shape == [1, features as i64] && node.inputs.len() == 1 =>
            {
                Some(node.inputs[0].clone())
            }
            _ => None,
        });
    let src = match unsqueezed {
        Some(r)
            if b.uses.get(input_name).copied().unwrap_or(0) == 1 && b.shape_of(&r)?.rank() == 2 =>
        {
            r
        }
        _ => {
            let name = b.unique(&format!("{}/squeeze", cx.name));
            let v = b.add(
                &name,
                Op::Reshape(ReshapeConfig {
                    target_shape: vec![features as i64],
                }),
                vec![],
                vec![x],
            )?;
            let Val::Tensor { r, .. } = v else {
                unreachable!("add returns a tensor")
            };
            r
        }
    };
    let v = b.add(&cx.name, Op::RepeatVector { n }, vec![], vec![src])?;
    b.output(cx, v);
    Ok(())
}

pub(super) fn shape(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let syms: Vec<Sym> = shape
        .dims()
        .iter()
        .enumerate()
        .map(|(i, d)| match d {
            Some(n) => Sym::Known(*n as i64),
            None if i == 0 => Sym::Batch,
            None => Sym::Unknown,
        })
        .collect();
    let c = if cx.op() == "Size" {
        let n = syms
            .iter()
            .try_fold(1i64, |a, s| s.known().map(|v| a * v))
            .ok_or("the size depends on the batch size")?;
        Const::ints(vec![], vec![Sym::Known(n)])
    } else {
        let r = syms.len() as i64;
        let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
        let start = clamp(cx.attrs.int("start", 0));
        let end = clamp(cx.attrs.int("end", r));
        let part = syms[start..end.max(start)].to_vec();
        Const::ints(vec![part.len()], part)
    };
    b.output(cx, Val::Const(c));
    Ok(())
}

pub(super) fn dropout(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    b.unused_output(cx, 1)?;
    // Opset 12: a `training_mode` input; true makes the file's inference drop values, which a
    // graft Dropout does only when training.
    if cx.opset >= 12
        && let Some(t) = b.opt_input(cx, 2)?
    {
        match t {
            Val::Const(c) if c.to_f32()?.iter().all(|&v| v == 0.0) => {}
            Val::Const(_) => {
                return Err(
                    "training_mode is true: the file drops values at inference, which \
                            graft's Dropout does only in training"
                        .into(),
                );
            }
            Val::Tensor { .. } => {
                return Err(
                    "training_mode is computed at run time; graft needs it constant".into(),
                );
            }
        }
    }
    let rate = if cx.opset >= 12 {
        match b.opt_constant(cx, 1)? {
            Some(c) => c.scalar_f32().ok_or("ratio is not a scalar")?,
            None => 0.5,
        }
    } else {
        cx.attrs.float("ratio", 0.5)
    };
    let op = Op::Dropout(DropoutConfig {
        rate,
        noise_shape: None,
        seed: None,
    });
    single(b, cx, op, vec![])
}

/// A Reshape target (sizes after the batch) for output dims whose axis 0 is the batch.
fn target(dims: &[Dim], shape: &Shape) -> Result<Vec<i64>, String> {
    let mut unknown = 0;
    let t: Vec<i64> = dims[1..]
        .iter()
        .map(|d| match d {
            Some(n) => *n as i64,
            None => {
                unknown += 1;
                -1
            }
        })
        .collect();
    if unknown > 1 {
        return Err(format!(
            "the result of reshaping {shape} has {unknown} sizes unknown at load time"
        ));
    }
    if t.contains(&0) {
        return Err("reshapes to an empty axis".into());
    }
    Ok(t)
}

fn reshape_to(b: &mut Builder, cx: &Ctx, dims: &[Dim], shape: &Shape) -> Result<(), String> {
    let (x, _) = b.tensor(cx, 0)?;
    if dims.len() == shape.rank() && dims == shape.dims() {
        b.output(
            cx,
            Val::Tensor {
                r: x,
                shape: shape.clone(),
            },
        );
        return Ok(());
    }
    let t = target(dims, shape)?;
    let v = b.add(
        &cx.name,
        Op::Reshape(ReshapeConfig { target_shape: t }),
        vec![],
        vec![x],
    )?;
    b.output(cx, v);
    Ok(())
}

/// `Reshape` (shape input or, in old opsets, attribute), `Squeeze`, `Unsqueeze`: the batch axis
/// must stay axis 0.
pub(super) fn reshape(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let r = shape.rank();
    // Squeeze/Unsqueeze axes: an input from opset 13, an attribute before.
    let raw_axes = |b: &Builder| -> Result<Option<Vec<i64>>, String> {
        if cx.opset >= 13 {
            match b.opt_constant(cx, 1)? {
                Some(c) => Ok(Some(c.to_i64()?)),
                None => Ok(None),
            }
        } else {
            Ok(cx.attrs.ints("axes"))
        }
    };
    // Axes normalised against rank `r` (Squeeze: the input's; Unsqueeze: the output's).
    let normalize = |v: Vec<i64>, r: usize| -> Result<Vec<usize>, String> {
        v.iter()
            .map(|&a| normalize_axis(a, r).ok_or(format!("axis {a} is out of range")))
            .collect()
    };
    let axes_of = |b: &Builder, r: usize| -> Result<Option<Vec<usize>>, String> {
        raw_axes(b)?.map(|v| normalize(v, r)).transpose()
    };
    let dims: Vec<Dim> = match cx.op() {
        "Squeeze" => {
            let axes = axes_of(b, r)?
                .unwrap_or_else(|| (0..r).filter(|&i| shape.dims()[i] == Some(1)).collect());
            if axes.contains(&0) {
                return Err("squeezes the batch axis".into());
            }
            for &a in &axes {
                if shape.dims()[a] != Some(1) {
                    return Err(format!("squeezes axis {a} of {shape}, which is not 1"));
                }
            }
            (0..r)
                .filter(|i| !axes.contains(i))
                .map(|i| shape.dims()[i])
                .collect()
        }
        "Unsqueeze" => {
            // Axes index the output, whose rank is the input's plus one per axis.
            let raw = raw_axes(b)?.ok_or("has no axes")?;
            let out_rank = r + raw.len();
            let mut axes = normalize(raw, out_rank)?;
            axes.sort_unstable();
            if axes.windows(2).any(|w| w[0] == w[1]) {
                return Err(format!("axes {axes:?} repeat an axis"));
            }
            if axes.first() == Some(&0) {
                return Err("inserts an axis before the batch".into());
            }
            let mut d = shape.dims().to_vec();
            for a in axes {
                d.insert(a, Some(1));
            }
            d
        }
        _ => {
            let t = match b.opt_constant(cx, 1)? {
                Some(c) => c.to_syms(),
                None => cx
                    .attrs
                    .ints("shape")
                    .ok_or("has no target shape")?
                    .into_iter()
                    .map(Sym::Known)
                    .collect(),
            };
            reshape_dims(&t, &shape, cx.attrs.int("allowzero", 0) != 0)?
        }
    };
    reshape_to(b, cx, &dims, &shape)
}

/// The output dims of ONNX `Reshape` to `t` (`0` copies, `-1` infers), batch at axis 0.
fn reshape_dims(t: &[Sym], shape: &Shape, allowzero: bool) -> Result<Vec<Dim>, String> {
    let mut out: Vec<Option<Dim>> = Vec::with_capacity(t.len());
    let mut infer = None;
    for (i, s) in t.iter().enumerate() {
        out.push(match *s {
            Sym::Known(0) if !allowzero => {
                Some(*shape.dims().get(i).ok_or("copies a missing axis")?)
            }
            Sym::Known(-1) => {
                if infer.replace(i).is_some() {
                    return Err("has two -1 sizes".into());
                }
                None
            }
            Sym::Known(n) if n > 0 => Some(Some(n as usize)),
            Sym::Known(n) => return Err(format!("has a size {n}")),
            Sym::Batch => Some(None),
            Sym::Unknown => return Err("has a size only known at run time".into()),
        });
    }
    let batch_kept = matches!(t.first(), Some(Sym::Batch))
        || (matches!(t.first(), Some(Sym::Known(0))) && !allowzero);
    if t.is_empty() {
        return Err("reshapes to a scalar".into());
    }
    if !batch_kept {
        match (t[0], shape.dims()[0]) {
            (Sym::Known(-1), _) => {
                // -1 at axis 0: the batch, when the rest is the whole sample.
                let rest: Option<usize> = out[1..]
                    .iter()
                    .map(|d| d.flatten())
                    .try_fold(1usize, |a, d| d.map(|d| a * d));
                if rest.is_none() || rest != shape.feature_size() {
                    return Err(format!(
                        "reshapes {shape} with -1 on axis 0 and sizes that do not keep each \
                         sample whole; graft keeps the batch axis"
                    ));
                }
                out[0] = Some(shape.dims()[0]);
            }
            (Sym::Known(n), Some(b)) if n as usize == b => {}
            (Sym::Known(n), _) => {
                return Err(format!(
                    "fixes axis 0 to {n} while the batch is {}; graft keeps the batch axis",
                    shape.dims()[0].map_or("dynamic".into(), |b| b.to_string())
                ));
            }
            _ => {}
        }
    }
    let mut dims: Vec<Dim> = out.iter().map(|d| d.flatten()).collect();
    if let Some(i) = infer
        && i > 0
    {
        let known: Option<usize> = dims[1..]
            .iter()
            .enumerate()
            .filter(|(j, _)| j + 1 != i)
            .try_fold(1usize, |a, (_, d)| d.map(|d| a * d));
        dims[i] = match (shape.feature_size(), known) {
            (Some(f), Some(k)) if k > 0 && f % k == 0 => Some(f / k),
            (Some(f), Some(k)) => {
                return Err(format!(
                    "cannot reshape {f} values a sample into blocks of {k}"
                ));
            }
            _ => None,
        };
    }
    Ok(dims)
}

pub(super) fn flatten(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let r = shape.rank() as i64;
    let axis = cx.attrs.int("axis", 1);
    let axis = if axis < 0 { axis + r } else { axis };
    if axis == 1 {
        return single(
            b,
            cx,
            Op::Flatten(FlattenConfig {
                data_format: DataFormat::ChannelsLast,
            }),
            vec![],
        );
    }
    if axis <= 0 || axis > r {
        return Err(format!(
            "axis {axis} merges the batch axis with others; graft keeps the batch axis"
        ));
    }
    let a = axis as usize;
    if shape.dims()[1..a].iter().any(|d| *d != Some(1)) {
        return Err(format!(
            "flattening {shape} at axis {axis} merges the batch axis with others"
        ));
    }
    let rest: Dim = shape.dims()[a..]
        .iter()
        .try_fold(1usize, |acc, d| d.map(|d| acc * d));
    reshape_to(b, cx, &[shape.dims()[0], rest], &shape)
}

pub(super) fn transpose(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (x, shape) = b.tensor(cx, 0)?;
    let r = shape.rank();
    let perm: Vec<usize> = match cx.attrs.ints("perm") {
        Some(p) => p
            .iter()
            .map(|&a| normalize_axis(a, r).ok_or(format!("perm entry {a} is out of range")))
            .collect::<Result<_, _>>()?,
        None => (0..r).rev().collect(),
    };
    if perm.len() != r {
        return Err(format!("perm {perm:?} does not fit input {shape}"));
    }
    if perm[0] != 0 {
        return Err(format!(
            "perm {perm:?} moves the batch axis; graft keeps the batch axis first"
        ));
    }
    // A transpose of a transpose is one transpose (and none when they cancel).
    let (source, perm) = match b.graph.layer(&x.layer) {
        Some(l) if x.node == 0 && b.uses.get(&cx.node.input[0]).copied() == Some(1) => {
            match (&l.op, l.nodes.first()) {
                (Op::Permute(p), Some(n)) if n.inputs.len() == 1 => {
                    let first = p.full_permutation();
                    (
                        n.inputs[0].clone(),
                        perm.iter().map(|&i| first[i]).collect::<Vec<_>>(),
                    )
                }
                _ => (x.clone(), perm),
            }
        }
        _ => (x.clone(), perm),
    };
    let src_shape = b.shape_of(&source)?;
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        b.output(
            cx,
            Val::Tensor {
                r: source,
                shape: src_shape,
            },
        );
        return Ok(());
    }
    let v = b.add(
        &cx.name,
        Op::Permute(PermuteConfig {
            dims: perm[1..].to_vec(),
        }),
        vec![],
        vec![source],
    )?;
    b.output(cx, v);
    Ok(())
}

/// `Slice` of a computed tensor (the constant case is folded): a `Cropping` of the spatial axes
/// of a 1D or 2D feature map, as graft writes Cropping layers and exporters write crops. The
/// batch and channel axes must be kept whole and every step be 1; a crop from the end needs the
/// axis' size known at load time unless `end` is negative (counting from the end) or past it.
pub(super) fn slice(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let r = shape.rank();
    // starts/ends/axes/steps: inputs from opset 10, attributes before.
    let part = |i: usize, attr: &str| -> Result<Option<Vec<i64>>, String> {
        if cx.opset >= 10 {
            b.opt_constant(cx, i)?.map(|c| c.to_i64()).transpose()
        } else {
            Ok(cx.attrs.ints(attr))
        }
    };
    let starts = part(1, "starts")?.ok_or("has no starts")?;
    let ends = part(2, "ends")?.ok_or("has no ends")?;
    let axes = part(3, "axes")?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = part(4, "steps")?.unwrap_or_else(|| vec![1; starts.len()]);
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(format!(
            "starts {starts:?}, ends {ends:?}, axes {axes:?} and steps {steps:?} differ in length"
        ));
    }
    if r != 3 && r != 4 {
        return Err(format!(
            "slices {shape}; graft crops the spatial axes of 1D and 2D feature maps only"
        ));
    }
    let mut crop = vec![(0usize, 0usize); r];
    for k in 0..axes.len() {
        let a = normalize_axis(axes[k], r)
            .ok_or(format!("axis {} is out of range for {shape}", axes[k]))?;
        if steps[k] != 1 {
            return Err(format!(
                "step {} on axis {a}; graft crops with step 1",
                steps[k]
            ));
        }
        let dim = shape.dims()[a];
        // Cells removed before and after, from ONNX's clamping of start and end.
        let before = match (starts[k], dim) {
            (s, _) if s >= 0 => dim.map_or(s as usize, |d| (s as usize).min(d)),
            (s, Some(d)) => d.saturating_sub(s.unsigned_abs() as usize),
            (s, None) => {
                return Err(format!(
                    "start {s} on axis {a} of {shape} counts from an end unknown at load time"
                ));
            }
        };
        let after = match (ends[k], dim) {
            (e, _) if e < 0 => e.unsigned_abs() as usize,
            (e, Some(d)) => d.saturating_sub((e as u64).min(d as u64) as usize),
            // Past any size an axis can have: to the end.
            (e, None) if e >= i32::MAX as i64 => 0,
            (e, None) => {
                return Err(format!(
                    "end {e} on axis {a} of {shape} needs the axis' size, unknown at load time"
                ));
            }
        };
        if let Some(d) = dim
            && before + after > d
        {
            return Err(format!("slices axis {a} of {shape} to nothing"));
        }
        crop[a] = (before, after);
    }
    if crop[0] != (0, 0) || crop[1] != (0, 0) {
        return Err(format!(
            "slices the batch or channel axis of {shape}; graft crops the spatial axes only"
        ));
    }
    let op = Op::Cropping(CroppingConfig {
        cropping: crop[2..].to_vec(),
        data_format: DataFormat::ChannelsFirst,
    });
    single(b, cx, op, vec![])
}

pub(super) fn concat(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let n = cx.node.input.len();
    let mut inputs = Vec::with_capacity(n);
    let mut rank = 0;
    for i in 0..n {
        let (r, s) = b.tensor(cx, i).map_err(|_| {
            format!("input {i} is a constant; graft concatenates computed tensors only")
        })?;
        rank = s.rank();
        inputs.push(r);
    }
    if n == 1 {
        let v = b.input(cx, 0)?;
        b.output(cx, v);
        return Ok(());
    }
    let axis = cx.attrs.int("axis", 0);
    let a = normalize_axis(axis, rank).ok_or(format!("axis {axis} is out of range"))?;
    if a == 0 {
        return Err("concatenates along the batch axis".into());
    }
    let v = b.add(&cx.name, Op::Concatenate { axis: a as i64 }, vec![], inputs)?;
    b.output(cx, v);
    Ok(())
}

pub(super) fn pad(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let r = shape.rank();
    let (pads, value, mode) = if cx.opset < 11 {
        (
            cx.attrs.ints("pads").ok_or("has no pads")?,
            cx.attrs.float("value", 0.0),
            cx.attrs.string("mode", "constant"),
        )
    } else {
        let value = match b.opt_constant(cx, 2)? {
            Some(c) => c.scalar_f32().ok_or("constant_value is not a scalar")?,
            None => 0.0,
        };
        let mut pads = b.constant(cx, 1)?.to_i64()?;
        if let Some(axes) = b.opt_constant(cx, 3)? {
            // opset 18: pads for the listed axes only (begins, then ends, in the axes' order;
            // negative axes count from the end).
            let axes = axes.to_i64()?;
            if pads.len() != 2 * axes.len() {
                return Err(format!(
                    "pads has {} values for the {} axes {axes:?}; it needs {}",
                    pads.len(),
                    axes.len(),
                    2 * axes.len()
                ));
            }
            let mut full = vec![0i64; 2 * r];
            let mut seen = vec![false; r];
            for (k, &a) in axes.iter().enumerate() {
                let a = normalize_axis(a, r)
                    .ok_or(format!("axis {a} is out of range for a rank-{r} input"))?;
                if std::mem::replace(&mut seen[a], true) {
                    return Err(format!("axes {axes:?} list axis {a} twice"));
                }
                full[a] = pads[k];
                full[a + r] = pads[k + axes.len()];
            }
            pads = full;
        }
        (pads, value, cx.attrs.string("mode", "constant"))
    };
    if pads.len() != 2 * r {
        return Err(format!(
            "pads has {} values for a rank-{r} input",
            pads.len()
        ));
    }
    if let Some(p) = pads.iter().find(|&&p| p < 0) {
        return Err(format!("negative pads ({p}) crop; graft pads only"));
    }
    let pairs: Vec<(usize, usize)> = (0..r)
        .map(|i| (pads[i] as usize, pads[i + r] as usize))
        .collect();
    if pairs[0] != (0, 0) {
        return Err("pads the batch axis".into());
    }
    let mode = match mode.as_str() {
        "constant" => PadMode::Constant(value),
        "reflect" => PadMode::Reflect,
        "edge" => PadMode::Edge,
        // opset 19: circular padding; graft pads with constants, reflections and edges only.
        "wrap" => {
            return Err(
                "mode \"wrap\" (circular padding, opset 19) is not supported; graft pads \
                 with constant, reflect or edge"
                    .into(),
            );
        }
        other => return Err(format!("mode {other:?} is not supported")),
    };
    let op = if mode == PadMode::Constant(0.0) && (r == 3 || r == 4) && pairs[1] == (0, 0) {
        Op::ZeroPadding(ZeroPaddingConfig {
            padding: pairs[2..].to_vec(),
            data_format: DataFormat::ChannelsFirst,
        })
    } else {
        Op::Pad(PadConfig {
            pads: pairs[1..].to_vec(),
            mode,
        })
    };
    single(b, cx, op, vec![])
}

/// Where output cell `x` reads from for an integer scale `s`, per ONNX's coordinate transform
/// and nearest rounding; `None` for modes graft does not model.
fn nearest_source(x: usize, s: usize, transform: &str, rounding: &str) -> Option<i64> {
    let (x, sf) = (x as f64, s as f64);
    let orig = match transform {
        // half_pixel_symmetric (opset 19) shifts by `in/2 * (1 - out_int/out)`, which is 0 for
        // whole factors (the only ones graft reads): it is half_pixel then.
        "half_pixel" | "pytorch_half_pixel" | "half_pixel_symmetric" => (x + 0.5) / sf - 0.5,
        "asymmetric" => x / sf,
        "tf_half_pixel_for_nn" => (x + 0.5) / sf,
        _ => return None,
    };
    Some(match rounding {
        "round_prefer_floor" => {
            if orig.fract() == 0.5 {
                orig.floor()
            } else {
                orig.round()
            }
        }
        "round_prefer_ceil" => (orig + 0.5).floor(),
        "floor" => orig.floor(),
        "ceil" => orig.ceil(),
        _ => return None,
    } as i64)
}

/// `Resize` (opset 10+) and `Upsample` (opset 7-9) by integer factors on the spatial axes:
/// nearest neighbour where the coordinate mode repeats each cell, linear with half-pixel
/// centres.
pub(super) fn resize(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let r = shape.rank();
    if r != 3 && r != 4 {
        return Err(format!(
            "resizes {shape}; graft resizes 1D and 2D feature maps"
        ));
    }
    let upsample = cx.op() == "Upsample";
    let (scales, sizes): (Option<Vec<f32>>, Option<Vec<Sym>>) = if upsample {
        if cx.opset >= 9 {
            (Some(b.constant(cx, 1)?.to_f32()?), None)
        } else {
            (
                Some(cx.attrs.floats("scales").ok_or("has no scales")?),
                None,
            )
        }
    } else if cx.opset < 11 {
        (Some(b.constant(cx, 1)?.to_f32()?), None)
    } else {
        let scales = b.opt_constant(cx, 2)?.filter(|c| c.len() > 0);
        let sizes = b.opt_constant(cx, 3)?.filter(|c| c.len() > 0);
        (
            scales.map(|c| c.to_f32()).transpose()?,
            sizes.map(|c| c.to_syms()),
        )
    };
    // Opset 18: `axes` lists the axes that scales/sizes give (the others keep their size),
    // negative axes counting from the end.
    let axes: Vec<usize> = match cx
        .attrs
        .ints("axes")
        .filter(|_| !upsample && cx.opset >= 18)
    {
        Some(a) => {
            let axes = a
                .iter()
                .map(|&x| {
                    normalize_axis(x, r)
                        .ok_or(format!("axes entry {x} is out of range for input {shape}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if (1..axes.len()).any(|i| axes[..i].contains(&axes[i])) {
                return Err(format!("axes {a:?} list an axis twice"));
            }
            axes
        }
        None => (0..r).collect(),
    };
    let n = axes.len();
    let mut factors = vec![1.0f64; r];
    match (scales, sizes) {
        (Some(s), _) if s.len() == n => {
            for (&a, &v) in axes.iter().zip(&s) {
                factors[a] = v as f64;
            }
        }
        // Target sizes, written by the exporter (the batch it traced with) or computed from
        // `Shape(x)` (PyTorch's `interpolate(size=...)`: the batch stays symbolic). Resizing
        // across samples is never what a CNN does, so with a dynamic batch the batch entry means
        // "the batch". Other axes need a known input size to become a factor.
        (_, Some(z)) if z.len() == n => {
            for (&axis, &o) in axes.iter().zip(&z) {
                let d = shape.dims()[axis];
                factors[axis] = match (o, d) {
                    (Sym::Known(o), Some(d)) => o as f64 / d as f64,
                    (Sym::Batch, _) if axis == 0 => 1.0,
                    (Sym::Known(_), None) if axis == 0 => 1.0,
                    (Sym::Known(0), None) => 1.0,
                    _ => {
                        return Err(format!(
                            "sizes [{}] on axis {axis} of input {shape}: graft upsamples by \
                             whole factors, so it needs both sizes known when the model loads",
                            z.iter()
                                .map(|s| match s {
                                    Sym::Known(v) => v.to_string(),
                                    Sym::Batch => "N".into(),
                                    Sym::Unknown => "?".into(),
                                })
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                };
            }
            // Opset 18: sizes may be a box to fit while keeping the aspect ratio: one factor
            // for every listed axis, the smallest (not_larger) or the largest (not_smaller)
            // ratio; the output size is then round(factor * input), which is exact for the
            // whole factors graft reads.
            let policy = if cx.opset >= 18 {
                cx.attrs.string("keep_aspect_ratio_policy", "stretch")
            } else {
                "stretch".to_string()
            };
            let ratios = axes.iter().map(|&a| factors[a]);
            let common = match policy.as_str() {
                "stretch" => None,
                "not_larger" => ratios.reduce(f64::min),
                "not_smaller" => ratios.reduce(f64::max),
                other => {
                    return Err(format!(
                        "keep_aspect_ratio_policy {other:?} is not an ONNX value"
                    ));
                }
            };
            if let Some(f) = common {
                for &a in &axes {
                    factors[a] = f;
                }
            }
        }
        _ if n == r => return Err(format!("needs {r} scales or sizes")),
        _ => {
            return Err(format!(
                "needs {n} scales or sizes, one per axis of {axes:?}"
            ));
        }
    }
    if factors[0] != 1.0 || factors[1] != 1.0 {
        return Err(format!(
            "scales {factors:?} resize the batch or channel axis"
        ));
    }
    let size: Vec<usize> = factors[2..]
        .iter()
        .map(|&f| {
            (f >= 1.0 && f.fract() == 0.0)
                .then_some(f as usize)
                .ok_or(format!(
                    "scale {f} is not a whole factor; graft upsamples by integer factors"
                ))
        })
        .collect::<Result<_, _>>()?;
    let mode = cx.attrs.string("mode", "nearest");
    let (transform, rounding) = if upsample || cx.opset < 11 {
        ("asymmetric".to_string(), "floor".to_string())
    } else {
        (
            cx.attrs
                .string("coordinate_transformation_mode", "half_pixel"),
            cx.attrs.string("nearest_mode", "round_prefer_floor"),
        )
    };
    // `antialias` (opset 18) widens the filter only when shrinking, which graft refuses above:
    // for whole upsampling factors it changes nothing (checked against onnxruntime).
    let interpolation = match mode.as_str() {
        "nearest" => {
            for &s in &size {
                for x in 0..3 * s {
                    if nearest_source(x, s, &transform, &rounding).map(|v| v.max(0))
                        != Some((x / s) as i64)
                    {
                        return Err(format!(
                            "nearest mode with coordinate_transformation_mode={transform:?} and \
                             nearest_mode={rounding:?} does not repeat cells; graft cannot express it"
                        ));
                    }
                }
            }
            Interpolation::Nearest
        }
        "linear" | "bilinear"
            if matches!(
                transform.as_str(),
                "half_pixel" | "pytorch_half_pixel" | "half_pixel_symmetric"
            ) =>
        {
            Interpolation::Bilinear
        }
        "linear" | "bilinear" => {
            return Err(format!(
                "linear mode with coordinate_transformation_mode={transform:?}; graft's \
                 bilinear resize uses half-pixel centres"
            ));
        }
        other => return Err(format!("mode {other:?} is not supported")),
    };
    let op = Op::UpSampling(UpSamplingConfig {
        size,
        interpolation,
        data_format: DataFormat::ChannelsFirst,
    });
    single(b, cx, op, vec![])
}
