//! `BatchNormalization` (every opset, with the older `spatial` attribute) and `LRN`.

use graft_ir::{BatchNormConfig, DataFormat, LrnConfig, Op};

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
