//! `BatchNormalization` (every opset, with the older `spatial` attribute), `LayerNormalization`
//! (opset 17) and `LRN`.

use graft_ir::{BatchNormConfig, DataFormat, LayerNormConfig, LrnConfig, Op};

use super::single;
use crate::read::graph::{Builder, Ctx};

pub(super) fn batch_norm(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    if shape.rank() < 2 {
        return Err(format!("input {shape} has no channel axis"));
    }
    let c = shape.dims()[1].ok_or("needs a known channel count")?;
    if cx.opset < 9 && cx.attrs.int("spatial", 1) == 0 {
        // Per-activation statistics: expressible only when they are per channel anyway.
        let n = b.constant(cx, 1)?.len();
        if n != c {
            return Err(format!(
                "spatial=0 with statistics of {n} values (per activation); graft normalises \
                 per channel ({c} values)"
            ));
        }
    }
    // Opset 14: training_mode=1 normalises with the batch's own statistics (and outputs the
    // updated running ones); graft's layer reads as inference, with the stored statistics.
    if cx.opset >= 14 && cx.attrs.int("training_mode", 0) != 0 {
        return Err(
            "training_mode=1 normalises with the batch's statistics; graft reads \
             BatchNormalization in inference mode (the stored mean and variance)"
                .into(),
        );
    }
    for i in 1..=4 {
        b.unused_output(cx, i)?;
    }
    let names = ["scale", "B", "mean", "var"];
    let mut weights = Vec::with_capacity(4);
    for (i, what) in names.iter().enumerate() {
        let t = b.constant(cx, i + 1)?;
        // Some exporters write [C, 1, 1] statistics.
        if t.len() != c {
            return Err(format!("{what} has shape {:?}, expected [{c}]", t.dims));
        }
        let t = graft_ir::Tensor::new(vec![c], t.to_f32()?).map_err(|e| e.to_string())?;
        weights.push(t);
    }
    let op = Op::BatchNorm(BatchNormConfig {
        axis: 1,
        epsilon: cx.attrs.float("epsilon", 1e-5) as f64,
        // ONNX's momentum is the weight of the old statistic, as Keras'.
        momentum: cx.attrs.float("momentum", 0.9) as f64,
        center: true,
        scale: true,
    });
    single(b, cx, op, weights)
}

/// `LayerNormalization` (opset 17): normalises axes `axis..` of each sample, then
/// `* Scale + B`. Scale (and B) may be stored with leading ones (`[1, C]`); graft keeps them as
/// the normalised axes' sizes. Scale is required by ONNX, so the layer always has a gamma; no B
/// means no beta (`center=False`).
pub(super) fn layer_norm(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let rank = shape.rank();
    let axis = cx.attrs.int("axis", -1);
    let first = graft_ir::normalize_axis(axis, rank)
        .ok_or_else(|| format!("axis {axis} is out of range for input {shape}"))?;
    if first == 0 {
        return Err("normalises over the batch axis too; graft normalises each sample".into());
    }
    if cx.attrs.int("stash_type", 1) != 1 {
        return Err("stash_type is not float; graft computes the statistics in float".into());
    }
    for i in 1..=2 {
        b.unused_output(cx, i)?;
    }
    let sizes: Vec<usize> = shape.dims()[first..]
        .iter()
        .map(|d| d.ok_or("needs known sizes on the normalised axes"))
        .collect::<Result<_, _>>()?;
    let n: usize = sizes.iter().product();
    let per_axis = |c: &crate::read::tensor::Const, what: &str| {
        // Broadcasting a smaller tensor (one value, or one per trailing axis) is ONNX's rule;
        // graft's layer holds one value per normalised element.
        let v = c.to_f32()?;
        let values = if v.len() == n {
            v
        } else if v.len() == 1 {
            vec![v[0]; n]
        } else {
            return Err(format!(
                "{what} has shape {:?}; graft needs one value per normalised element {sizes:?}",
                c.dims
            ));
        };
        graft_ir::Tensor::new(sizes.clone(), values).map_err(|e| e.to_string())
    };
    let mut weights = vec![per_axis(&b.constant(cx, 1)?, "Scale")?];
    let center = match b.opt_constant(cx, 2)? {
        Some(c) => {
            weights.push(per_axis(&c, "B")?);
            true
        }
        None => false,
    };
    let op = Op::LayerNorm(LayerNormConfig {
        axes: (first as i64..rank as i64).collect(),
        epsilon: f64::from(cx.attrs.float("epsilon", 1e-5)),
        center,
        scale: true,
        rms_scaling: false,
    });
    single(b, cx, op, weights)
}

pub(super) fn lrn(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let size = cx.attrs.int("size", 0);
    if size <= 0 {
        return Err("size must be a positive attribute".into());
    }
    let op = Op::Lrn(LrnConfig {
        size: size as usize,
        alpha: cx.attrs.float("alpha", 1e-4),
        beta: cx.attrs.float("beta", 0.75),
        bias: cx.attrs.float("bias", 1.0),
        data_format: DataFormat::ChannelsFirst,
    });
    single(b, cx, op, vec![])
}
