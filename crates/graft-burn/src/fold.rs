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
//! The plan marks where a fold may apply ([`plan_folds`]); `GraphModule::run` decides per call,
//! since it depends on the call (training mode, which values are wanted). Both folds change
//! rounding only: the results agree with the unfolded ones to float precision, and a feature
//! cache and the uncached path take the same folds, so they stay bit-identical.

use burn::tensor::Tensor;
use graft_ir::{BatchNormConfig, DataFormat, Op, Padding, normalize_axis};

use crate::layers::BatchNormModule;
use crate::plan::{Step, StepKind};

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
fn conv_parts(op: &Op) -> Option<(&Padding, DataFormat, usize, bool)> {
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
/// Only called on convolutions [`plan_folds`] accepted (padding `valid` or explicit).
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

/// Marks the steps whose work may be folded into their output's only reader.
pub fn plan_folds(steps: &mut [Step], graph_outputs: &[usize], num_values: usize) {
    // Who reads each value: (step, input position), plus graph outputs.
    let mut readers: Vec<Vec<usize>> = vec![vec![]; num_values];
    for (s, step) in steps.iter().enumerate() {
        for &v in &step.inputs {
            readers[v].push(s);
        }
    }
    let mut is_output = vec![false; num_values];
    for &o in graph_outputs {
        is_output[o] = true;
    }
    let only_reader = |v: usize| match readers[v].as_slice() {
        [s] if !is_output[v] => Some(*s),
        _ => None,
    };
    let producer: Vec<Option<usize>> = {
        let mut p = vec![None; num_values];
        for (s, step) in steps.iter().enumerate() {
            for &o in &step.outputs {
                p[o] = Some(s);
            }
        }
        p
    };
    for s in 0..steps.len() {
        let StepKind::Op(op) = &steps[s].kind else {
            continue;
        };
        let Some((padding, format, spatial, linear)) = conv_parts(op) else {
            continue;
        };
        let (padding_folds, format) = (
            matches!(padding, Padding::Valid | Padding::Explicit(_)),
            format,
        );
        // ZeroPadding -> this convolution.
        let input = steps[s].inputs[0];
        if padding_folds
            && let Some(p) = producer[input]
            && let StepKind::Op(Op::ZeroPadding(z)) = &steps[p].kind
            && z.data_format == format
            && z.padding.len() == spatial
            && only_reader(input) == Some(s)
            && steps[s].inputs.len() == 1
        {
            steps[p].defer_padding = true;
        }
        // This convolution -> BatchNormalization.
        let output = steps[s].outputs[0];
        if linear
            && let Some(r) = only_reader(output)
            && let StepKind::Op(Op::BatchNorm(bn)) = &steps[r].kind
            && steps[r].inputs.len() == 1
        {
            let rank = spatial + 2;
            let channel_axis = match format {
                DataFormat::ChannelsLast => rank - 1,
                DataFormat::ChannelsFirst => 1,
            };
            if normalize_axis(bn.axis, rank) == Some(channel_axis) {
                steps[s].bn_fold = Some(BnFold {
                    layer: steps[r].layer,
                    config: bn.clone(),
                    output: steps[r].outputs[0],
                    training: steps[r].training,
                });
            }
        }
    }
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
