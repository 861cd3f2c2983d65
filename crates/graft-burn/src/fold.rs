//! Inference folds: work the executor can skip when a layer's output has a single reader that
//! can do the same work itself.
//!
//! - **BatchNormalization into the convolution before it.** In inference mode (frozen, or not
//!   training) BatchNormalization is an affine map per channel, `y = x * scale + shift`; when it
//!   is the only reader of a linear convolution's output, the convolution runs with its kernel
//!   scaled and its bias shifted instead, and the normalisation's four passes over the
//!   activation (and their buffers) disappear. The folded weights are computed on every call from
//!   the current parameters, so training the convolution under a frozen BatchNormalization still
//!   gets the right gradients.
//! - **ZeroPadding into the convolution after it.** A ZeroPadding whose only reader is a
//!   convolution with `valid` or explicit padding becomes part of that convolution's padding
//!   (Keras' MobileNets and ResNets pad before every strided convolution): one activation copy
//!   fewer.
//!
//! The plan marks where a fold may apply (`Plan::compile`); `GraphModule::run` decides per call,
//! since it depends on the call (training mode, which values are wanted). Both folds change
//! rounding only: the results agree with the unfolded ones to float precision, and a feature
//! cache and the uncached path take the same folds, so they stay bit-identical.

use burn::tensor::Tensor;
use graft_ir::{BatchNormConfig, DataFormat, Op, Padding};

use crate::layers::BatchNormModule;

/// A BatchNormalization call that reads only the output of the convolution step carrying it.
#[derive(Clone, Debug)]
pub struct BnFold {
    /// The BatchNormalization's layer index (its module holds the statistics).
    pub layer: usize,
    pub config: BatchNormConfig,
    /// The value the BatchNormalization computes.
    pub output: usize,
    /// The BatchNormalization call's own `training=` argument.
    pub training: Option<bool>,
}

/// The padding, data format, spatial rank and linearity of a convolution op.
pub(crate) fn conv_parts(op: &Op) -> Option<(&Padding, DataFormat, usize, bool)> {
    match op {
        Op::Conv(c) => Some((
            &c.padding,
            c.data_format,
            c.kernel_size.len(),
            c.activation.is_linear(),
        )),
        Op::DepthwiseConv(c) => Some((
            &c.padding,
            c.data_format,
            c.kernel_size.len(),
            c.activation.is_linear(),
        )),
        Op::SeparableConv(c) => Some((
            &c.padding,
            c.data_format,
            c.kernel_size.len(),
            c.activation.is_linear(),
        )),
        _ => None,
    }
}

/// `op` with `extra` cells of zero padding added before and after each spatial axis.
/// Only called on convolutions the plan accepted (padding `valid` or explicit).
pub fn with_extra_padding(op: &Op, extra: &[(usize, usize)]) -> Op {
    let combine = |p: &Padding| match p {
        Padding::Explicit(own) => Padding::Explicit(
            own.iter()
                .zip(extra)
                .map(|(a, b)| (a.0 + b.0, a.1 + b.1))
                .collect(),
        ),
        _ => Padding::Explicit(extra.to_vec()),
    };
    let mut op = op.clone();
    match &mut op {
        Op::Conv(c) => c.padding = combine(&c.padding),
        Op::DepthwiseConv(c) => c.padding = combine(&c.padding),
        Op::SeparableConv(c) => c.padding = combine(&c.padding),
        _ => unreachable!("only convolutions take a folded padding"),
    }
    op
}

/// Whether a BatchNormalization call runs in inference mode, so it can be folded.
pub fn runs_in_inference(bn: &BatchNormModule, fold: &BnFold, training: bool) -> bool {
    !(fold.training.unwrap_or(training) && bn.training.is_enabled())
}

/// The per-channel `(scale, shift)` of an inference-mode BatchNormalization:
/// `(x - mean) / sqrt(var + eps) * gamma + beta = x * scale + shift`.
pub fn bn_affine(bn: &BatchNormModule, config: &BatchNormConfig) -> (Tensor<1>, Tensor<1>) {
    let mean = bn.moving_mean.value();
    let std = bn.moving_variance.value().add_scalar(config.epsilon).sqrt();
    let scale = match &bn.gamma {
        Some(g) => g.val().div(std),
        None => std.recip(),
    };
    let shift = mean.mul(scale.clone()).neg();
    let shift = match &bn.beta {
        Some(b) => shift.add(b.val()),
        None => shift,
    };
    (scale, shift)
}
