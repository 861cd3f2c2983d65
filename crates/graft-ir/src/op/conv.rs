//! Convolutions: regular (grouped), depthwise and separable, in 1, 2 or 3 spatial dimensions.

use super::{Activation, DataFormat, Padding, WeightSpec, spatial_output};
use crate::shape::{Dim, Shape};

/// `Conv1D`/`Conv2D`/`Conv3D`, and ONNX `Conv` (with `groups`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConvConfig {
    /// Output channels.
    pub filters: usize,
    /// One size per spatial axis; its length is the convolution's rank.
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    pub dilation: Vec<usize>,
    /// Input and output channels split into this many independent groups.
    pub groups: usize,
    pub use_bias: bool,
    /// Applied after the bias (Keras' fused `activation` argument).
    pub activation: Activation,
    pub data_format: DataFormat,
}

/// `DepthwiseConv1D`/`DepthwiseConv2D`: one filter bank per input channel.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthwiseConvConfig {
    /// Output channels per input channel.
    pub depth_multiplier: usize,
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    pub dilation: Vec<usize>,
    pub use_bias: bool,
    pub activation: Activation,
    pub data_format: DataFormat,
}

/// `SeparableConv1D`/`SeparableConv2D`: a depthwise convolution, then a 1x1 convolution.
#[derive(Clone, Debug, PartialEq)]
pub struct SeparableConvConfig {
    pub filters: usize,
    pub depth_multiplier: usize,
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    pub dilation: Vec<usize>,
    pub use_bias: bool,
    pub activation: Activation,
    pub data_format: DataFormat,
}

fn conv_shape(
    input: &Shape,
    out_channels: usize,
    kernel: &[usize],
    strides: &[usize],
    dilation: &[usize],
    padding: &Padding,
    data_format: DataFormat,
) -> Result<Shape, String> {
    let rank = kernel.len();
    if input.rank() != rank + 2 {
        return Err(format!(
            "expects a rank-{} input (batch, {} spatial axes, channels), got {input}",
            rank + 2,
            rank
        ));
    }
    if strides.len() != rank || dilation.len() != rank {
        return Err(format!(
            "kernel_size, strides and dilation must have the same length ({rank}, {}, {})",
            strides.len(),
            dilation.len()
        ));
    }
    let spatial = data_format.spatial_dims(input);
    let mut out_spatial: Vec<Dim> = Vec::with_capacity(rank);
    for i in 0..rank {
        out_spatial.push(spatial_output(
            spatial[i],
            kernel[i],
            strides[i],
            dilation[i],
            padding,
            i,
            false,
        )?);
    }
    Ok(data_format.assemble(input.dims()[0], Some(out_channels), &out_spatial))
}

fn input_channels(input: &Shape, data_format: DataFormat) -> Result<usize, String> {
    data_format
        .channels(input)
        .ok_or_else(|| format!("needs a known channel count, got input {input}"))
}

impl ConvConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        if let Some(c) = self.data_format.channels(input)
            && (self.groups == 0
                || c % self.groups != 0
                || !self.filters.is_multiple_of(self.groups))
        {
            return Err(format!(
                "groups={} must divide both the input channels ({c}) and filters ({})",
                self.groups, self.filters
            ));
        }
        conv_shape(
            input,
            self.filters,
            &self.kernel_size,
            &self.strides,
            &self.dilation,
            &self.padding,
            self.data_format,
        )
    }

    pub(crate) fn weights(&self, input: &Shape) -> Result<Vec<WeightSpec>, String> {
        let cin = input_channels(input, self.data_format)?;
        let mut kernel = vec![self.filters, cin / self.groups.max(1)];
        kernel.extend(&self.kernel_size);
        let mut w = vec![WeightSpec::trainable("kernel", kernel)];
        if self.use_bias {
            w.push(WeightSpec::trainable("bias", vec![self.filters]));
        }
        Ok(w)
    }
}

impl DepthwiseConvConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        let cin = input_channels(input, self.data_format)?;
        conv_shape(
            input,
            cin * self.depth_multiplier,
            &self.kernel_size,
            &self.strides,
            &self.dilation,
            &self.padding,
            self.data_format,
        )
    }

    pub(crate) fn weights(&self, input: &Shape) -> Result<Vec<WeightSpec>, String> {
        let cin = input_channels(input, self.data_format)?;
        let cout = cin * self.depth_multiplier;
        let mut kernel = vec![cout, 1];
        kernel.extend(&self.kernel_size);
        let mut w = vec![WeightSpec::trainable("depthwise_kernel", kernel)];
        if self.use_bias {
            w.push(WeightSpec::trainable("bias", vec![cout]));
        }
        Ok(w)
    }
}

impl SeparableConvConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        conv_shape(
            input,
            self.filters,
            &self.kernel_size,
            &self.strides,
            &self.dilation,
            &self.padding,
            self.data_format,
        )
    }

    pub(crate) fn weights(&self, input: &Shape) -> Result<Vec<WeightSpec>, String> {
        let cin = input_channels(input, self.data_format)?;
        let mid = cin * self.depth_multiplier;
        let mut depthwise = vec![mid, 1];
        depthwise.extend(&self.kernel_size);
        let mut pointwise = vec![self.filters, mid];
        pointwise.extend(std::iter::repeat_n(1, self.kernel_size.len()));
        let mut w = vec![
            WeightSpec::trainable("depthwise_kernel", depthwise),
            WeightSpec::trainable("pointwise_kernel", pointwise),
        ];
        if self.use_bias {
            w.push(WeightSpec::trainable("bias", vec![self.filters]));
        }
        Ok(w)
    }
}

/// `Conv2DTranspose` / ONNX `ConvTranspose` (a.k.a. deconvolution): the gradient of a
/// convolution with the same geometry. Each input cell scatters a `kernel_size` window,
/// `strides` apart, into a full output of `(in - 1) * stride + dilation * (k - 1) + 1` cells per
/// axis; then `padding` crops that full output and `output_padding` cells are added at the end.
///
/// - `Padding::Valid`: no crop.
/// - `Padding::Same` / `SameLower`: the output has `in * stride` cells; the crop
///   `total = full + output_padding - in * stride` is split with the odd cell AFTER (`Same`, ONNX
///   `SAME_UPPER`, TensorFlow) or BEFORE (`SameLower`).
/// - `Padding::Explicit`: `(before, after)` cells cropped per axis (ONNX `pads`, PyTorch
///   `padding`).
///
/// The kernel is `[in, filters / groups, k1, .., kr]` (ONNX, PyTorch and burn); see the
/// crate's weight-layout table.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvTransposeConfig {
    /// Output channels.
    pub filters: usize,
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    /// Extra cells at the end of each spatial axis (ONNX `output_padding`).
    pub output_padding: Vec<usize>,
    pub dilation: Vec<usize>,
    pub groups: usize,
    pub use_bias: bool,
    pub activation: Activation,
    pub data_format: DataFormat,
}

impl ConvTransposeConfig {
    /// The `(before, after)` crop of spatial axis `axis` for an input of `input` cells.
    pub fn crop(&self, axis: usize, input: usize) -> (usize, usize) {
        let k = self.kernel_size[axis];
        let s = self.strides[axis];
        let d = self.dilation[axis];
        let extra = self.output_padding.get(axis).copied().unwrap_or(0);
        let full = (input.max(1) - 1) * s + d * (k.max(1) - 1) + 1 + extra;
        match &self.padding {
            Padding::Valid | Padding::Causal => (0, 0),
            Padding::Same | Padding::SameLower => {
                let total = full.saturating_sub(input * s);
                if self.padding == Padding::Same {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            }
            Padding::Explicit(p) => p.get(axis).copied().unwrap_or((0, 0)),
        }
    }

    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        let rank = self.kernel_size.len();
        if input.rank() != rank + 2 {
            return Err(format!("expects a rank-{} input, got {input}", rank + 2));
        }
        if self.strides.len() != rank
            || self.dilation.len() != rank
            || self.output_padding.len() != rank
        {
            return Err(format!(
                "kernel_size, strides, dilation and output_padding must have {rank} entries"
            ));
        }
        if self.kernel_size.contains(&0) || self.strides.contains(&0) || self.dilation.contains(&0)
        {
            return Err("kernel size, stride and dilation must be positive".into());
        }
        if matches!(self.padding, Padding::Causal) {
            return Err("causal padding does not apply to a transposed convolution".into());
        }
        if let Some(c) = self.data_format.channels(input)
            && (self.groups == 0
                || c % self.groups != 0
                || !self.filters.is_multiple_of(self.groups))
        {
            return Err(format!(
                "groups={} must divide both the input channels ({c}) and filters ({})",
                self.groups, self.filters
            ));
        }
        let spatial = self.data_format.spatial_dims(input);
        let mut out = Vec::with_capacity(rank);
        for (i, d) in spatial.iter().enumerate() {
            out.push(match d {
                None => None,
                Some(n) => {
                    let (k, s, dil) = (self.kernel_size[i], self.strides[i], self.dilation[i]);
                    let full = (n - 1) * s + dil * (k - 1) + 1 + self.output_padding[i];
                    let (b, a) = self.crop(i, *n);
                    Some(full.checked_sub(b + a).filter(|&o| o > 0).ok_or_else(|| {
                        format!("cropping ({b}, {a}) leaves nothing of {full} output cells")
                    })?)
                }
            });
        }
        Ok(self
            .data_format
            .assemble(input.dims()[0], Some(self.filters), &out))
    }

    pub(crate) fn weights(&self, input: &Shape) -> Result<Vec<WeightSpec>, String> {
        let cin = input_channels(input, self.data_format)?;
        let mut kernel = vec![cin, self.filters / self.groups.max(1)];
        kernel.extend(&self.kernel_size);
        let mut w = vec![WeightSpec::trainable("kernel", kernel)];
        if self.use_bias {
            w.push(WeightSpec::trainable("bias", vec![self.filters]));
        }
        Ok(w)
    }
}
