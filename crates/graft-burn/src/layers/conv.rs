//! Convolutions: regular and grouped, depthwise (as a grouped convolution), separable.
//! 1D convolutions run as 2D ones over a unit height.

use burn::module::{Module, Param};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};
use graft_ir::{Activation, DataFormat, Layer, Op, Padding};

use super::{host, param_shaped};
use crate::ops::activation::activate;
use crate::value::{Dyn, Value, channels_first_of_last, identity};

/// The geometry of one convolution.
pub struct ConvGeometry<'a> {
    pub strides: &'a [usize],
    pub dilation: &'a [usize],
    pub padding: &'a Padding,
    pub data_format: DataFormat,
}

/// A convolution kernel `[out, in/groups, kh, kw]` (1D kernels get `kh = 1`) and its bias.
#[derive(Module, Debug)]
pub struct ConvModule {
    pub weight: Param<Tensor<4>>,
    pub bias: Option<Param<Tensor<1>>>,
}

/// Moves a value to channels-first physical layout and returns it as a rank-4 NCHW tensor
/// (a 1D `[N, C, L]` value becomes `[N, C, 1, L]`), with the layout the output keeps.
pub fn to_nchw(x: Value, data_format: DataFormat) -> (Tensor<4>, Vec<usize>) {
    let rank = x.rank();
    let perm = match data_format {
        DataFormat::ChannelsLast => channels_first_of_last(rank),
        DataFormat::ChannelsFirst => identity(rank),
    };
    let t = x.to_perm(&perm).tensor;
    let t = match t {
        Dyn::R3(t) => t.unsqueeze_dim::<4>(2),
        Dyn::R4(t) => t,
        other => panic!(
            "spatial ops take rank 3 or 4 values, got rank {}",
            other.rank()
        ),
    };
    (t, perm)
}

/// The inverse of [`to_nchw`]: back to the value's rank.
pub fn from_nchw(t: Tensor<4>, rank: usize, perm: Vec<usize>) -> Value {
    let t = if rank == 3 {
        Dyn::R3(t.squeeze_dim::<3>(2))
    } else {
        Dyn::R4(t)
    };
    Value::with_perm(t, perm)
}

/// Per spatial axis `(before, after)` padding for an NCHW input (1D geometry covers the width).
pub fn resolve_padding(
    x: &Tensor<4>,
    kernel: [usize; 2],
    g: &ConvGeometry,
) -> ([usize; 2], [usize; 2], [(usize, usize); 2]) {
    let [_, _, h, w] = x.dims();
    let one_d = g.strides.len() == 1;
    let (strides, dilation) = if one_d {
        ([1, g.strides[0]], [1, g.dilation[0]])
    } else {
        ([g.strides[0], g.strides[1]], [g.dilation[0], g.dilation[1]])
    };
    let pads = if one_d {
        [
            (0, 0),
            g.padding.resolve(0, w, kernel[1], strides[1], dilation[1]),
        ]
    } else {
        [
            g.padding.resolve(0, h, kernel[0], strides[0], dilation[0]),
            g.padding.resolve(1, w, kernel[1], strides[1], dilation[1]),
        ]
    };
    (strides, dilation, pads)
}

fn convolve(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    groups: usize,
    g: &ConvGeometry,
) -> Tensor<4> {
    let [_, _, kh, kw] = weight.dims();
    let (strides, dilation, pads) = resolve_padding(&x, [kh, kw], g);
    conv2d(
        x,
        weight,
        bias,
        ConvOptions::new_with_padding(strides, pads, dilation, groups),
    )
}

/// A per-output-channel affine map `y * scale + shift` applied after a convolution (an
/// inference-mode BatchNormalization, see [`crate::fold`]).
pub type Affine = (Tensor<1>, Tensor<1>);

/// Folds `affine` into a kernel `[out, ...]` and its bias.
fn fold_affine(
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    affine: Option<Affine>,
) -> (Tensor<4>, Option<Tensor<1>>) {
    match affine {
        None => (weight, bias),
        Some((scale, shift)) => {
            let out = scale.dims()[0];
            let weight = weight.mul(scale.clone().reshape([out, 1, 1, 1]));
            let bias = match bias {
                Some(b) => b.mul(scale).add(shift),
                None => shift,
            };
            (weight, Some(bias))
        }
    }
}

impl ConvModule {
    /// From a `Conv` or `DepthwiseConv` layer.
    pub fn from_layer(layer: &mut Layer, device: &Device) -> Self {
        let name = match layer.op {
            Op::DepthwiseConv(_) => "depthwise_kernel",
            _ => "kernel",
        };
        Self {
            weight: param_shaped(layer, name, device),
            bias: super::has(layer, "bias").then(|| param_shaped(layer, "bias", device)),
        }
    }

    /// The weights in IR layout (1D kernels lose their unit height again).
    pub fn export(&self, op: &Op) -> Vec<(&'static str, graft_ir::Tensor)> {
        let (name, one_d) = match op {
            Op::DepthwiseConv(c) => ("depthwise_kernel", c.kernel_size.len() == 1),
            Op::Conv(c) => ("kernel", c.kernel_size.len() == 1),
            _ => ("kernel", false),
        };
        let mut w = host(&self.weight.val());
        if one_d {
            let s = w.shape().to_vec();
            w = w.reshaped(vec![s[0], s[1], s[3]]).expect("same size");
        }
        let mut out = vec![(name, w)];
        if let Some(b) = &self.bias {
            out.push(("bias", host(&b.val())));
        }
        out
    }

    /// `groups == 0` means one group per input channel (depthwise).
    pub fn forward(
        &self,
        x: Value,
        groups: usize,
        g: &ConvGeometry,
        activation: &Activation,
        affine: Option<Affine>,
    ) -> Value {
        let rank = x.rank();
        let (t, perm) = to_nchw(x, g.data_format);
        let groups = if groups == 0 { t.dims()[1] } else { groups };
        let (weight, bias) = fold_affine(
            self.weight.val(),
            self.bias.as_ref().map(Param::val),
            affine,
        );
        let y = convolve(t, weight, bias, groups, g);
        activate(from_nchw(y, rank, perm), activation)
    }
}

/// A depthwise kernel, a pointwise kernel, and the bias after both.
#[derive(Module, Debug)]
pub struct SeparableModule {
    pub depthwise: Param<Tensor<4>>,
    pub pointwise: Param<Tensor<4>>,
    pub bias: Option<Param<Tensor<1>>>,
}

impl SeparableModule {
    pub fn from_layer(layer: &mut Layer, device: &Device) -> Self {
        Self {
            depthwise: param_shaped(layer, "depthwise_kernel", device),
            pointwise: param_shaped(layer, "pointwise_kernel", device),
            bias: super::has(layer, "bias").then(|| param_shaped(layer, "bias", device)),
        }
    }

    pub fn export(&self, one_d: bool) -> Vec<(&'static str, graft_ir::Tensor)> {
        let squeeze = |t: graft_ir::Tensor| {
            if one_d {
                let s = t.shape().to_vec();
                t.reshaped(vec![s[0], s[1], s[3]]).expect("same size")
            } else {
                t
            }
        };
        let mut out = vec![
            ("depthwise_kernel", squeeze(host(&self.depthwise.val()))),
            ("pointwise_kernel", squeeze(host(&self.pointwise.val()))),
        ];
        if let Some(b) = &self.bias {
            out.push(("bias", host(&b.val())));
        }
        out
    }

    pub fn forward(
        &self,
        x: Value,
        g: &ConvGeometry,
        activation: &Activation,
        affine: Option<Affine>,
    ) -> Value {
        let rank = x.rank();
        let (t, perm) = to_nchw(x, g.data_format);
        let channels = t.dims()[1];
        let mid = convolve(t, self.depthwise.val(), None, channels, g);
        let ones = vec![1; g.strides.len()];
        let pointwise = ConvGeometry {
            strides: &ones,
            dilation: &ones,
            padding: &Padding::Valid,
            data_format: DataFormat::ChannelsFirst,
        };
        let (weight, bias) = fold_affine(
            self.pointwise.val(),
            self.bias.as_ref().map(Param::val),
            affine,
        );
        let y = convolve(mid, weight, bias, 1, &pointwise);
        activate(from_nchw(y, rank, perm), activation)
    }
}
