//! `Conv` (grouped and depthwise) and `ConvTranspose`. graft writes a SeparableConv as a
//! depthwise `Conv` named `<layer>/depthwise` read only by a 1x1 `Conv` named `<layer>`: that
//! pair reads back as one SeparableConv layer.

use graft_ir::{
    Activation, ConvConfig, ConvTransposeConfig, DataFormat, DepthwiseConvConfig, Op, Padding,
    SeparableConvConfig, Tensor, TensorRef,
};

use super::{padding, per_axis, single, weight};
use crate::read::graph::{Builder, Ctx};

/// The depthwise half of a SeparableConv that graft wrote: the layer computing input 0 of the
/// pointwise node `cx`, named `<cx>/depthwise`, without bias or activation, read by `cx` only.
/// Returns its input, its config and its kernel.
fn separable_depthwise(
    b: &Builder,
    cx: &Ctx,
    x: &TensorRef,
) -> Option<(TensorRef, DepthwiseConvConfig, Tensor)> {
    if b.uses.get(&cx.node.input[0]).copied().unwrap_or(0) != 1 {
        return None;
    }
    let l = b.graph.layer(&x.layer)?;
    if l.name != format!("{}/depthwise", cx.name) || l.nodes.len() != 1 || l.weights.len() != 1 {
        return None;
    }
    let input = l.nodes[0].inputs.first()?.clone();
    let kernel = l.weights[0].tensor.clone();
    let config = match &l.op {
        Op::DepthwiseConv(d) if !d.use_bias && d.activation.is_linear() => d.clone(),
        // One input channel: a depthwise kernel reads as a plain Conv.
        Op::Conv(c)
            if !c.use_bias
                && c.activation.is_linear()
                && c.groups == 1
                && kernel.shape().get(1) == Some(&1)
                && b.shape_of(&input).ok()?.dims().get(1) == Some(&Some(1)) =>
        {
            DepthwiseConvConfig {
                depth_multiplier: c.filters,
                kernel_size: c.kernel_size.clone(),
                strides: c.strides.clone(),
                padding: c.padding.clone(),
                dilation: c.dilation.clone(),
                use_bias: false,
                activation: Activation::Linear,
                data_format: c.data_format,
            }
        }
        _ => return None,
    };
    Some((input, config, kernel))
}

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
    let pointwise = groups == 1
        && kernel_size.iter().all(|&k| k == 1)
        && strides.iter().all(|&s| s == 1)
        && dilation.iter().all(|&d| d == 1)
        && padding == Padding::Valid;
    if pointwise
        && let Some((input, dw, dw_kernel)) = b
            .tensor(cx, 0)
            .ok()
            .and_then(|(x, _)| separable_depthwise(b, cx, &x))
    {
        let op = Op::SeparableConv(SeparableConvConfig {
            filters,
            depth_multiplier: dw.depth_multiplier,
            kernel_size: dw.kernel_size,
            strides: dw.strides,
            padding: dw.padding,
            dilation: dw.dilation,
            use_bias,
            activation: Activation::Linear,
            data_format: DataFormat::ChannelsFirst,
        });
        let mut ws = vec![dw_kernel];
        ws.extend(weights);
        let v = b.add(&cx.name, op, ws, vec![input])?;
        b.output(cx, v);
        return Ok(());
    }
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
