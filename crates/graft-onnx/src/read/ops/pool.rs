//! `MaxPool`, `AveragePool` (ceil_mode, count_include_pad, every auto_pad), global pooling, and
//! `ReduceMean`/`ReduceMax` over the spatial axes (what exporters write for global pooling).

use graft_ir::{DataFormat, GlobalPoolConfig, Op, PoolConfig, PoolKind};

use super::{padding, per_axis, single};
use crate::read::graph::{Builder, Ctx};

pub(super) fn pool(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let pool_size = cx
        .attrs
        .sizes("kernel_shape")?
        .ok_or("has no kernel_shape")?;
    let rank = pool_size.len();
    if shape.rank() != rank + 2 {
        return Err(format!("input {shape} does not fit a {rank}D window"));
    }
    if per_axis(cx, "dilations", rank)?.iter().any(|&d| d != 1) {
        return Err("dilated pooling is not supported".into());
    }
    let kind = if cx.op() == "MaxPool" {
        b.unused_output(cx, 1)?;
        PoolKind::Max
    } else {
        PoolKind::Average
    };
    let op = Op::Pool(PoolConfig {
        kind,
        pool_size,
        strides: per_axis(cx, "strides", rank)?,
        padding: padding(cx, rank)?,
        data_format: DataFormat::ChannelsFirst,
        ceil_mode: cx.attrs.int("ceil_mode", 0) != 0,
        count_include_pad: cx.attrs.int("count_include_pad", 0) != 0,
    });
    single(b, cx, op, vec![])
}

fn kind(op: &str) -> PoolKind {
    if op.contains("Max") {
        PoolKind::Max
    } else {
        PoolKind::Average
    }
}

pub(super) fn global(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    if shape.rank() < 3 {
        return Err(format!("input {shape} has no spatial axes"));
    }
    let op = Op::GlobalPool(GlobalPoolConfig {
        kind: kind(cx.op()),
        keepdims: true,
        data_format: DataFormat::ChannelsFirst,
        rank: shape.rank() - 2,
    });
    single(b, cx, op, vec![])
}

pub(super) fn reduce(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let r = shape.rank();
    let axes = if cx.opset >= 18 {
        match b.opt_constant(cx, 1)? {
            Some(c) => Some(c.to_i64()?),
            None => None,
        }
    } else {
        cx.attrs.ints("axes")
    };
    // Opset 18: with noop_with_empty_axes=1, no axes (or an empty list) means no reduction.
    if cx.opset >= 18
        && cx.attrs.int("noop_with_empty_axes", 0) != 0
        && axes.as_ref().is_none_or(Vec::is_empty)
    {
        let v = b.input(cx, 0)?;
        b.output(cx, v);
        return Ok(());
    }
    let mut axes = axes
        .ok_or("reduces over every axis; graft expresses reductions over the spatial axes only")?
        .iter()
        .map(|&a| graft_ir::normalize_axis(a, r).ok_or(format!("axis {a} is out of range")))
        .collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    if r < 3 || axes != (2..r).collect::<Vec<_>>() {
        return Err(format!(
            "reduces axes {axes:?} of {shape}; graft expresses reductions over all the spatial \
             axes (2..{r}) only"
        ));
    }
    let op = Op::GlobalPool(GlobalPoolConfig {
        kind: kind(cx.op()),
        keepdims: cx.attrs.int("keepdims", 1) != 0,
        data_format: DataFormat::ChannelsFirst,
        rank: r - 2,
    });
    single(b, cx, op, vec![])
}
