//! Transposed convolutions (ONNX `ConvTranspose`, Keras `Conv2DTranspose`). 1D ones run as 2D
//! over a unit height, like the convolutions.

use burn::module::{Module, Param};
use burn::tensor::module::conv_transpose2d;
use burn::tensor::ops::{ConvTransposeOptions, PadMode};
use burn::tensor::{Device, Tensor};
use graft_ir::{ConvTransposeConfig, Layer};

use super::{from_nchw, host, param_shaped, to_nchw};
use crate::ops::activation::activate;
use crate::value::Value;

/// A kernel `[in, out / groups, kh, kw]` (1D kernels get `kh = 1`) and its bias.
#[derive(Module, Debug)]
pub struct ConvTransposeModule {
    pub weight: Param<Tensor<4>>,
    pub bias: Option<Param<Tensor<1>>>,
}

impl ConvTransposeModule {
    pub fn from_layer(layer: &mut Layer, device: &Device) -> Self {
        Self {
            weight: param_shaped(layer, "kernel", device),
            bias: super::has(layer, "bias").then(|| param_shaped(layer, "bias", device)),
        }
    }

    /// The weights in IR layout (1D kernels lose their unit height again).
    pub fn export(&self, config: &ConvTransposeConfig) -> Vec<(&'static str, graft_ir::Tensor)> {
        let mut w = host(&self.weight.val());
        if config.kernel_size.len() == 1 {
            let s = w.shape().to_vec();
            w = w.reshaped(vec![s[0], s[1], s[3]]).expect("same size");
        }
        let mut out = vec![("kernel", w)];
        if let Some(b) = &self.bias {
            out.push(("bias", host(&b.val())));
        }
        out
    }

    /// The full transposed convolution (no padding), then the crop and `output_padding` of
    /// `config` (asymmetric crops included), then the bias and activation.
    pub fn forward(&self, config: &ConvTransposeConfig, x: Value) -> Value {
        let rank = x.rank();
        let (t, perm) = to_nchw(x, config.data_format);
        let [_, _, h, w] = t.dims();
        let one_d = config.kernel_size.len() == 1;
        let two = |v: &[usize]| if one_d { [1, v[0]] } else { [v[0], v[1]] };
        let full = conv_transpose2d(
            t,
            self.weight.val(),
            None,
            ConvTransposeOptions::new(
                two(&config.strides),
                [0, 0],
                [0, 0],
                two(&config.dilation),
                config.groups.max(1),
            ),
        );
        let [_, c, fh, fw] = full.dims();
        // (before, after, extra) for the height and width.
        let axis = |i: usize, n: usize| {
            let (b, a) = config.crop(i, n);
            (b, a, config.output_padding.get(i).copied().unwrap_or(0))
        };
        let crops = if one_d {
            [(0, 0, 0), axis(0, w)]
        } else {
            [axis(0, h), axis(1, w)]
        };
        let mut y = full;
        let extra_h = crops[0].2;
        let extra_w = crops[1].2;
        if extra_h > 0 || extra_w > 0 {
            y = y.pad([(0, extra_h), (0, extra_w)], PadMode::Constant(0.0));
        }
        let oh = fh + extra_h - crops[0].0 - crops[0].1;
        let ow = fw + extra_w - crops[1].0 - crops[1].1;
        y = y.narrow(2, crops[0].0, oh).narrow(3, crops[1].0, ow);
        if let Some(b) = &self.bias {
            y = y.add(b.val().reshape([1, c, 1, 1]));
        }
        activate(from_nchw(y, rank, perm), &config.activation)
    }
}
