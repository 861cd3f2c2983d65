//! What a layer computes: the [`Op`] enum, one file per layer family (as Keras organises them),
//! shape inference, and the weights each op owns.

mod activation;
mod conv;
mod core;
mod merge;
mod norm;
mod pooling;
mod preprocessing;
mod reshaping;

pub use activation::{Activation, ReluConfig};
pub use conv::{ConvConfig, ConvTransposeConfig, DepthwiseConvConfig, SeparableConvConfig};
pub use core::{
    ConstantConfig, DType, DenseConfig, DropoutConfig, EmbeddingConfig, InputConfig,
    RescalingConfig,
};
pub use merge::{MathConfig, MathOp, MergeKind, broadcast};
pub use norm::{BatchNormConfig, LayerNormConfig, LrnConfig, NormalizationConfig};
pub use pooling::{GlobalPoolConfig, PoolConfig, PoolKind};
pub use preprocessing::{Fill, FillMode, Preprocessing, PreprocessingConfig, aspect_ratio_crop};
pub use reshaping::{
    CroppingConfig, FlattenConfig, Interpolation, PadConfig, PadMode, PermuteConfig, ReshapeConfig,
    UpSamplingConfig, ZeroPaddingConfig,
};

use crate::graph::Graph;
use crate::shape::{Dim, Shape};

/// Where the channel axis of a spatial tensor sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DataFormat {
    /// `(batch, spatial..., channels)`: Keras' default, what TensorFlow runs on CPU.
    #[default]
    ChannelsLast,
    /// `(batch, channels, spatial...)`: ONNX and PyTorch.
    ChannelsFirst,
}

impl DataFormat {
    /// Index of the channel axis in a tensor of `rank` axes.
    pub fn channel_axis(&self, rank: usize) -> usize {
        match self {
            DataFormat::ChannelsLast => rank - 1,
            DataFormat::ChannelsFirst => 1,
        }
    }

    /// Indices of the spatial axes in a tensor of `rank` axes.
    pub fn spatial_axes(&self, rank: usize) -> std::ops::Range<usize> {
        match self {
            DataFormat::ChannelsLast => 1..rank - 1,
            DataFormat::ChannelsFirst => 2..rank,
        }
    }

    /// The channel count of `shape`, when known.
    pub fn channels(&self, shape: &Shape) -> Option<usize> {
        if shape.rank() < 2 {
            return None;
        }
        shape.dims()[self.channel_axis(shape.rank())]
    }

    /// The spatial dimensions of `shape`.
    pub fn spatial_dims(&self, shape: &Shape) -> Vec<Dim> {
        if shape.rank() < 3 {
            return vec![];
        }
        shape.dims()[self.spatial_axes(shape.rank())].to_vec()
    }

    /// Builds a shape from its batch, channel and spatial sizes.
    pub fn assemble(&self, batch: Dim, channels: Dim, spatial: &[Dim]) -> Shape {
        let mut dims = Vec::with_capacity(spatial.len() + 2);
        dims.push(batch);
        if *self == DataFormat::ChannelsFirst {
            dims.push(channels);
        }
        dims.extend_from_slice(spatial);
        if *self == DataFormat::ChannelsLast {
            dims.push(channels);
        }
        Shape::new(dims)
    }

    /// Keras' spelling.
    pub fn keras_name(&self) -> &'static str {
        match self {
            DataFormat::ChannelsLast => "channels_last",
            DataFormat::ChannelsFirst => "channels_first",
        }
    }
}

/// How a convolution or pooling window treats the borders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding; windows that do not fit are dropped.
    Valid,
    /// TensorFlow's `'same'` (= ONNX `SAME_UPPER`): the output has `ceil(in / stride)` cells;
    /// the total padding is split with the odd cell AFTER, so a stride-2 3x3 window over an
    /// even size pads `(0, 1)`, not PyTorch's `(1, 1)`.
    Same,
    /// ONNX `SAME_LOWER`: as `Same`, the odd cell BEFORE.
    SameLower,
    /// Keras' `'causal'` (1D): `(kernel - 1) * dilation` cells before, none after.
    Causal,
    /// `(before, after)` per spatial axis.
    Explicit(Vec<(usize, usize)>),
}

impl Padding {
    /// The `(before, after)` padding of one spatial axis of size `input`.
    pub fn resolve(
        &self,
        axis: usize,
        input: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
    ) -> (usize, usize) {
        let effective = dilation * (kernel.max(1) - 1) + 1;
        match self {
            Padding::Valid => (0, 0),
            Padding::Same | Padding::SameLower => {
                let out = input.div_ceil(stride.max(1));
                let total = ((out.max(1) - 1) * stride + effective).saturating_sub(input);
                if *self == Padding::Same {
                    (total / 2, total - total / 2)
                } else {
                    (total - total / 2, total / 2)
                }
            }
            Padding::Causal => (effective - 1, 0),
            Padding::Explicit(p) => p.get(axis).copied().unwrap_or((0, 0)),
        }
    }

    /// True for padding that changes with the input size.
    pub fn depends_on_input(&self) -> bool {
        matches!(self, Padding::Same | Padding::SameLower)
    }
}

/// The output size of one spatial axis.
pub(crate) fn spatial_output(
    input: Dim,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: &Padding,
    axis: usize,
    ceil_mode: bool,
) -> Result<Dim, String> {
    if kernel == 0 || stride == 0 || dilation == 0 {
        return Err(format!(
            "kernel size, stride and dilation must be positive (got {kernel}, {stride}, {dilation})"
        ));
    }
    let Some(input) = input else {
        return Ok(None);
    };
    let effective = dilation * (kernel - 1) + 1;
    if matches!(padding, Padding::Same | Padding::SameLower) {
        return Ok(Some(input.div_ceil(stride)));
    }
    let (before, after) = padding.resolve(axis, input, kernel, stride, dilation);
    let padded = input + before + after;
    if padded < effective {
        return Err(format!(
            "a window of {effective} does not fit a spatial size of {input} (padded to {padded})"
        ));
    }
    let span = padded - effective;
    let mut out = if ceil_mode {
        span.div_ceil(stride) + 1
    } else {
        span / stride + 1
    };
    // PyTorch/ONNX rule: the last window must start inside the input or the leading padding.
    if ceil_mode && (out - 1) * stride >= input + before {
        out -= 1;
    }
    Ok(Some(out))
}

/// A weight an op owns: its canonical name, shape, and whether training updates it by gradient
/// (BatchNorm's moving statistics are state, not trainable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightSpec {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub trainable: bool,
}

impl WeightSpec {
    pub(crate) fn trainable(name: &'static str, shape: Vec<usize>) -> Self {
        Self {
            name,
            shape,
            trainable: true,
        }
    }

    pub(crate) fn state(name: &'static str, shape: Vec<usize>) -> Self {
        Self {
            name,
            shape,
            trainable: false,
        }
    }
}

/// What a layer computes.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// A graph input. Has one call with no inputs.
    Input(InputConfig),
    Dense(DenseConfig),
    Conv(ConvConfig),
    DepthwiseConv(DepthwiseConvConfig),
    SeparableConv(SeparableConvConfig),
    BatchNorm(BatchNormConfig),
    LayerNorm(LayerNormConfig),
    Normalization(NormalizationConfig),
    /// Keras' `Activation` layer.
    Activation(Activation),
    /// Keras' `ReLU` layer.
    ReLU(ReluConfig),
    /// Keras' `LeakyReLU` layer.
    LeakyReLU {
        negative_slope: f32,
    },
    /// Keras' `ELU` layer.
    ELU {
        alpha: f32,
    },
    /// Keras' `Softmax` layer.
    Softmax {
        axis: i64,
    },
    Pool(PoolConfig),
    GlobalPool(GlobalPoolConfig),
    ZeroPadding(ZeroPaddingConfig),
    Cropping(CroppingConfig),
    UpSampling(UpSamplingConfig),
    Flatten(FlattenConfig),
    Reshape(ReshapeConfig),
    Permute(PermuteConfig),
    RepeatVector {
        n: usize,
    },
    Dropout(DropoutConfig),
    Merge(MergeKind),
    Concatenate {
        axis: i64,
    },
    Math(MathConfig),
    Rescaling(RescalingConfig),
    Embedding(EmbeddingConfig),
    /// Passes its input through.
    Identity,
    /// A whole model used as a layer (Keras nested `Functional`/`Sequential`). Its weights live
    /// in its own layers.
    Model(Box<Graph>),
    /// Transposed convolution (ONNX `ConvTranspose`, Keras `Conv2DTranspose`).
    ConvTranspose(ConvTransposeConfig),
    /// A constant tensor operand (its weight `value`); takes no input.
    Constant(ConstantConfig),
    /// Padding of any axis after the batch, with a constant, reflected or repeated border.
    Pad(PadConfig),
    /// Local response normalisation across channels (ONNX `LRN`).
    Lrn(LrnConfig),
    /// Keras 3's image preprocessing layers (`Resizing`, `CenterCrop`, `RandomFlip`, ...).
    Preprocessing(PreprocessingConfig),
}

impl Op {
    /// The function an activation-only layer applies, `None` for other layers.
    pub fn as_activation(&self) -> Option<Activation> {
        match self {
            Op::Activation(a) => Some(*a),
            Op::ReLU(r) => Some(r.activation()),
            Op::LeakyReLU { negative_slope } => Some(Activation::LeakyRelu {
                negative_slope: *negative_slope,
            }),
            Op::ELU { alpha } => Some(Activation::Elu { alpha: *alpha }),
            Op::Softmax { axis } => Some(Activation::Softmax { axis: *axis }),
            _ => None,
        }
    }

    /// The layer's type as Keras names it (`Conv2D`, `BatchNormalization`, ...).
    pub fn type_name(&self) -> String {
        fn nd(base: &str, rank: usize, suffix: &str) -> String {
            format!("{base}{rank}D{suffix}")
        }
        match self {
            Op::Input(_) => "InputLayer".into(),
            Op::Dense(_) => "Dense".into(),
            Op::Conv(c) => nd("Conv", c.kernel_size.len(), ""),
            Op::DepthwiseConv(c) => nd("DepthwiseConv", c.kernel_size.len(), ""),
            Op::SeparableConv(c) => nd("SeparableConv", c.kernel_size.len(), ""),
            Op::BatchNorm(_) => "BatchNormalization".into(),
            Op::LayerNorm(_) => "LayerNormalization".into(),
            Op::Normalization(_) => "Normalization".into(),
            Op::Activation(_) => "Activation".into(),
            Op::ReLU(_) => "ReLU".into(),
            Op::LeakyReLU { .. } => "LeakyReLU".into(),
            Op::ELU { .. } => "ELU".into(),
            Op::Softmax { .. } => "Softmax".into(),
            Op::Pool(p) => match p.kind {
                PoolKind::Max => nd("MaxPooling", p.pool_size.len(), ""),
                PoolKind::Average => nd("AveragePooling", p.pool_size.len(), ""),
            },
            Op::GlobalPool(p) => match p.kind {
                PoolKind::Max => nd("GlobalMaxPooling", p.rank, ""),
                PoolKind::Average => nd("GlobalAveragePooling", p.rank, ""),
            },
            Op::ZeroPadding(p) => nd("ZeroPadding", p.padding.len(), ""),
            Op::Cropping(c) => nd("Cropping", c.cropping.len(), ""),
            Op::UpSampling(u) => nd("UpSampling", u.size.len(), ""),
            Op::Flatten(_) => "Flatten".into(),
            Op::Reshape(_) => "Reshape".into(),
            Op::Permute(_) => "Permute".into(),
            Op::RepeatVector { .. } => "RepeatVector".into(),
            Op::Dropout(_) => "Dropout".into(),
            Op::Merge(k) => format!("{k:?}"),
            Op::Concatenate { .. } => "Concatenate".into(),
            Op::Math(m) => format!("{:?}", m.op),
            Op::Rescaling(_) => "Rescaling".into(),
            Op::Embedding(_) => "Embedding".into(),
            Op::Identity => "Identity".into(),
            Op::Preprocessing(p) => p.type_name().into(),
            Op::Model(g) => g.class_name().into(),
            Op::ConvTranspose(c) => nd("Conv", c.kernel_size.len(), "Transpose"),
            Op::Constant(_) => "Constant".into(),
            Op::Pad(_) => "Pad".into(),
            Op::Lrn(_) => "LocalResponseNormalization".into(),
        }
    }

    /// Output shapes for the given input shapes. The message says what does not fit; callers add
    /// the layer's name.
    pub fn infer(&self, inputs: &[Shape]) -> Result<Vec<Shape>, String> {
        let one = |inputs: &[Shape]| -> Result<Shape, String> {
            match inputs {
                [x] => Ok(x.clone()),
                _ => Err(format!("expects one input, got {}", inputs.len())),
            }
        };
        let out = match self {
            Op::Input(c) => {
                if !inputs.is_empty() {
                    return Err("an input layer takes no inputs".into());
                }
                c.shape.clone()
            }
            // A fused activation may change the shape (GLU).
            Op::Dense(c) => c.activation.output_shape(&c.infer(&one(inputs)?)?)?,
            Op::Conv(c) => c.activation.output_shape(&c.infer(&one(inputs)?)?)?,
            Op::DepthwiseConv(c) => c.activation.output_shape(&c.infer(&one(inputs)?)?)?,
            Op::SeparableConv(c) => c.activation.output_shape(&c.infer(&one(inputs)?)?)?,
            Op::Activation(a) => a.output_shape(&one(inputs)?)?,
            Op::BatchNorm(_)
            | Op::LayerNorm(_)
            | Op::Normalization(_)
            | Op::ReLU(_)
            | Op::LeakyReLU { .. }
            | Op::ELU { .. }
            | Op::Softmax { .. }
            | Op::Dropout(_)
            | Op::Identity => {
                let x = one(inputs)?;
                // Weight shapes check the axis; here only that it exists.
                if let Op::BatchNorm(c) = self
                    && crate::shape::normalize_axis(c.axis, x.rank()).is_none()
                {
                    return Err(format!("axis {} is out of range for input {x}", c.axis));
                }
                x
            }
            Op::Pool(c) => c.infer(&one(inputs)?)?,
            Op::GlobalPool(c) => c.infer(&one(inputs)?)?,
            Op::ZeroPadding(c) => c.infer(&one(inputs)?)?,
            Op::Cropping(c) => c.infer(&one(inputs)?)?,
            Op::UpSampling(c) => c.infer(&one(inputs)?)?,
            Op::Preprocessing(c) => c.infer(&one(inputs)?)?,
            Op::Flatten(c) => c.infer(&one(inputs)?)?,
            Op::Reshape(c) => c.infer(&one(inputs)?)?,
            Op::Permute(c) => c.infer(&one(inputs)?)?,
            Op::RepeatVector { n } => reshaping::repeat_vector_infer(*n, &one(inputs)?)?,
            Op::Merge(k) => merge::merge_infer(*k, inputs)?,
            Op::Concatenate { axis } => merge::concat_infer(*axis, inputs)?,
            Op::Math(c) => c.infer(inputs)?,
            Op::Rescaling(c) => c.infer(&one(inputs)?)?,
            Op::Embedding(c) => c.infer(&one(inputs)?)?,
            Op::Model(g) => {
                return g.infer_outputs(inputs).map_err(|e| e.to_string());
            }
            Op::ConvTranspose(c) => c.activation.output_shape(&c.infer(&one(inputs)?)?)?,
            Op::Constant(c) => c.infer(inputs)?,
            Op::Pad(c) => c.infer(&one(inputs)?)?,
            Op::Lrn(c) => c.infer(&one(inputs)?)?,
        };
        Ok(vec![out])
    }

    /// The weights this op owns for the given input shapes, in canonical order and layout (see
    /// the crate documentation). Nested models own none themselves.
    pub fn weight_specs(&self, inputs: &[Shape]) -> Result<Vec<WeightSpec>, String> {
        let first = || {
            inputs
                .first()
                .ok_or_else(|| "has no input to size its weights from".to_string())
        };
        match self {
            Op::Dense(c) => c.weights(first()?),
            Op::Conv(c) => c.weights(first()?),
            Op::DepthwiseConv(c) => c.weights(first()?),
            Op::SeparableConv(c) => c.weights(first()?),
            Op::BatchNorm(c) => c.weights(first()?),
            Op::LayerNorm(c) => c.weights(first()?),
            Op::Normalization(c) => c.weights(first()?),
            Op::Embedding(c) => Ok(c.weights()),
            Op::ConvTranspose(c) => c.weights(first()?),
            Op::Constant(c) => Ok(c.weights()),
            _ => Ok(vec![]),
        }
    }

    /// True for ops that own weights (nested models count when any inner layer does).
    pub fn has_weights(&self) -> bool {
        match self {
            Op::Dense(_)
            | Op::Conv(_)
            | Op::DepthwiseConv(_)
            | Op::SeparableConv(_)
            | Op::BatchNorm(_)
            | Op::LayerNorm(_)
            | Op::Embedding(_)
            | Op::ConvTranspose(_)
            | Op::Constant(_) => true,
            Op::Normalization(c) => c.mean.is_none() && c.variance.is_none(),
            Op::Model(g) => g.layers.iter().any(|l| l.op.has_weights()),
            _ => false,
        }
    }

    /// The fused activation of a Dense or convolution layer.
    pub fn fused_activation(&self) -> Option<Activation> {
        match self {
            Op::Dense(c) => Some(c.activation),
            Op::Conv(c) => Some(c.activation),
            Op::DepthwiseConv(c) => Some(c.activation),
            Op::SeparableConv(c) => Some(c.activation),
            Op::ConvTranspose(c) => Some(c.activation),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_follows_tensorflow() {
        // Stride 2, kernel 3, even input: (0, 1), not PyTorch's (1, 1).
        assert_eq!(Padding::Same.resolve(0, 224, 3, 2, 1), (0, 1));
        assert_eq!(Padding::Same.resolve(0, 225, 3, 2, 1), (1, 1));
        assert_eq!(Padding::SameLower.resolve(0, 224, 3, 2, 1), (1, 0));
        assert_eq!(Padding::Same.resolve(0, 7, 1, 1, 1), (0, 0));
        assert_eq!(Padding::Same.resolve(0, 56, 3, 1, 2), (2, 2));
        assert_eq!(Padding::Causal.resolve(0, 10, 3, 1, 2), (4, 0));
    }

    #[test]
    fn output_sizes() {
        let same = Padding::Same;
        assert_eq!(
            spatial_output(Some(224), 7, 2, 1, &same, 0, false),
            Ok(Some(112))
        );
        assert_eq!(
            spatial_output(Some(230), 7, 2, 1, &Padding::Valid, 0, false),
            Ok(Some(112))
        );
        assert_eq!(spatial_output(None, 3, 1, 1, &same, 0, false), Ok(None));
        assert!(spatial_output(Some(2), 3, 1, 1, &Padding::Valid, 0, false).is_err());
        // ceil_mode: 112 -> (112 + 2 - 3)/2 + 1 = 56.5 -> 57 but the last window would start in
        // the trailing pad... here it starts at 112 = input + before(1)? (57-1)*2 = 112 < 113.
        let p = Padding::Explicit(vec![(1, 1)]);
        assert_eq!(
            spatial_output(Some(112), 3, 2, 1, &p, 0, true),
            Ok(Some(57))
        );
        assert_eq!(
            spatial_output(Some(112), 3, 2, 1, &p, 0, false),
            Ok(Some(56))
        );
    }

    #[test]
    fn data_format_helpers() {
        let s = Shape::batched(&[32, 16, 3]);
        assert_eq!(DataFormat::ChannelsLast.channels(&s), Some(3));
        assert_eq!(DataFormat::ChannelsFirst.channels(&s), Some(32));
        assert_eq!(
            DataFormat::ChannelsLast.spatial_dims(&s),
            vec![Some(32), Some(16)]
        );
    }
}
