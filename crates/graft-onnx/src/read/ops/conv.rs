//! `Conv` (grouped and depthwise) and `ConvTranspose`.

use graft_ir::{
    Activation, ConvConfig, ConvTransposeConfig, DataFormat, DepthwiseConvConfig, Op, Padding,
};

use super::{padding, per_axis, single, weight};
use crate::read::graph::{Builder, Ctx};

fn kernel_dims(cx: &Ctx, w: &[usize]) -> Result<Vec<usize>, String> {
    if w.len() < 3 {
        return Err(format!(
            "weight has shape {w:?}, expected (out, in/groups, k...)"
        ));
    }
    let k = w[2..].to_vec();
    if let Some(attr) = cx.attrs.sizes("kernel_shape")?
        && attr != k
    {
        return Err(format!(
            "kernel_shape {attr:?} disagrees with the weight's {k:?}"
        ));
    }
    Ok(k)
}

pub(super) fn conv(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let w = b.constant(cx, 1)?;
    let bias = b.opt_constant(cx, 2)?;
    let kernel_size = kernel_dims(cx, &w.dims)?;
    let rank = kernel_size.len();
    if shape.rank() != rank + 2 {
        return Err(format!("input {shape} does not fit a {rank}D kernel"));
    }
    let strides = per_axis(cx, "strides", rank)?;
    let dilation = per_axis(cx, "dilations", rank)?;
    let padding = padding(cx, rank)?;
    let groups = usize::try_from(cx.attrs.int("group", 1)).map_err(|_| "negative group")?;
    let filters = w.dims[0];
    let cin = shape.dims()[1].ok_or("needs a known channel count")?;
    let mut weights = vec![w.to_tensor()?];
    if let Some(bias) = &bias {
        weights.push(weight(bias, "bias", &[filters])?);
    }
    let use_bias = bias.is_some();
    let op = if groups > 1 && groups == cin && w.dims[1] == 1 && filters % cin == 0 {
        Op::DepthwiseConv(DepthwiseConvConfig {
            depth_multiplier: filters / cin,
            kernel_size,
            strides,
            padding,
            dilation,
            use_bias,
            activation: Activation::Linear,
            data_format: DataFormat::ChannelsFirst,
        })
    } else {
        Op::Conv(ConvConfig {
            filters,
            kernel_size,
            strides,
            padding,
            dilation,
            groups,
            use_bias,
            activation: Activation::Linear,
            data_format: DataFormat::ChannelsFirst,
        })
    };
    single(b, cx, op, weights)
}

pub(super) fn conv_transpose(b: &mut Builder, cx: &Ctx) -> Result<(), String> {
    let (_, shape) = b.tensor(cx, 0)?;
    let w = b.constant(cx, 1)?;
    let bias = b.opt_constant(cx, 2)?;
    let kernel_size = kernel_dims(cx, &w.dims)?;
    let rank = kernel_size.len();
    if shape.rank() != rank + 2 {
        return Err(format!("input {shape} does not fit a {rank}D kernel"));
    }
    let strides = per_axis(cx, "strides", rank)?;
    let dilation = per_axis(cx, "dilations", rank)?;
    let output_padding = cx
        .attrs
        .sizes("output_padding")?
        .unwrap_or_else(|| vec![0; rank]);
    if output_padding.len() != rank {
        return Err(format!(
            "output_padding has {} values",
            output_padding.len()
        ));
    }
    let groups = usize::try_from(cx.attrs.int("group", 1)).map_err(|_| "negative group")?;
    let filters = w.dims[1] * groups;
    let auto = cx.attrs.string("auto_pad", "NOTSET");
    let padding = match cx.attrs.sizes("output_shape")? {
        // The output size fixes the crop (ONNX's rule).
        Some(out) => {
            let out = if out.len() == rank + 2 {
                out[2..].to_vec()
            } else {
                out
            };
            if out.len() != rank {
                return Err(format!("output_shape {out:?} does not have {rank} sizes"));
            }
            let spatial = DataFormat::ChannelsFirst.spatial_dims(&shape);
            let mut pads = Vec::with_capacity(rank);
            for i in 0..rank {
                let n = spatial[i].ok_or("output_shape needs known spatial input sizes")?;
                let full = strides[i] * (n - 1)
                    + output_padding[i]
                    + (kernel_size[i] - 1) * dilation[i]
                    + 1;
                let total = full.checked_sub(out[i]).ok_or_else(|| {
                    format!("output_shape {out:?} is larger than the full output {full}")
                })?;
                pads.push(if auto == "SAME_UPPER" {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                });
            }
            Padding::Explicit(pads)
        }
        None => padding(cx, rank)?,
    };
    let mut weights = vec![w.to_tensor()?];
    if let Some(bias) = &bias {
        weights.push(weight(bias, "bias", &[filters])?);
    }
    let op = Op::ConvTranspose(ConvTransposeConfig {
        filters,
        kernel_size,
        strides,
        padding,
        output_padding,
        dilation,
        groups,
        use_bias: bias.is_some(),
        activation: Activation::Linear,
        data_format: DataFormat::ChannelsFirst,
    });
    single(b, cx, op, weights)
}
