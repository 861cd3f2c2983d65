//! The core layers: inputs, dense, embedding, dropout, rescaling.

use super::{Activation, WeightSpec};
use crate::shape::Shape;

/// The element type a model input takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    I32,
    I64,
}

impl DType {
    /// numpy/Keras spelling.
    pub fn name(&self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::I32 => "int32",
            DType::I64 => "int64",
        }
    }
}

/// A model input (Keras `InputLayer`).
#[derive(Clone, Debug, PartialEq)]
pub struct InputConfig {
    /// Batch axis included; `None` where any size is accepted.
    pub shape: Shape,
    pub dtype: DType,
}

/// `Dense`: `activation(x . kernel + bias)` over the last axis.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseConfig {
    pub units: usize,
    pub use_bias: bool,
    pub activation: Activation,
}

/// `Embedding`: integer indices to rows of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbeddingConfig {
    pub input_dim: usize,
    pub output_dim: usize,
}

/// `Dropout`: identity at inference; during training zeroes a `rate` fraction and scales the
/// rest by `1 / (1 - rate)`.
#[derive(Clone, Debug, PartialEq)]
pub struct DropoutConfig {
    pub rate: f32,
    /// Keras `noise_shape`: axes of size 1 share one mask value (`None` = input's size).
    pub noise_shape: Option<Vec<Option<usize>>>,
    pub seed: Option<u64>,
}

/// `Rescaling`: `x * scale + offset`. Each of `scale` and `offset` holds one value, or one per
/// entry of the last axis.
#[derive(Clone, Debug, PartialEq)]
pub struct RescalingConfig {
    pub scale: Vec<f32>,
    pub offset: Vec<f32>,
}

impl DenseConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        if input.rank() < 2 {
            return Err(format!("expects a rank-2 or higher input, got {input}"));
        }
        let mut dims = input.dims().to_vec();
        *dims.last_mut().expect("rank >= 2") = Some(self.units);
        Ok(Shape::new(dims))
    }

    pub(crate) fn weights(&self, input: &Shape) -> Result<Vec<WeightSpec>, String> {
        let cin = input
            .last()
            .ok_or_else(|| format!("needs a known last axis, got input {input}"))?;
        let mut w = vec![WeightSpec::trainable("kernel", vec![cin, self.units])];
        if self.use_bias {
            w.push(WeightSpec::trainable("bias", vec![self.units]));
        }
        Ok(w)
    }
}

impl EmbeddingConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        let mut dims = input.dims().to_vec();
        dims.push(Some(self.output_dim));
        Ok(Shape::new(dims))
    }

    pub(crate) fn weights(&self) -> Vec<WeightSpec> {
        vec![WeightSpec::trainable(
            "embeddings",
            vec![self.input_dim, self.output_dim],
        )]
    }
}

impl RescalingConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        for (what, v) in [("scale", &self.scale), ("offset", &self.offset)] {
            if v.len() > 1 {
                if let Some(c) = input.last()
                    && c != v.len()
                {
                    return Err(format!(
                        "{what} has {} values but the input's last axis has {c}",
                        v.len()
                    ));
                }
            } else if v.is_empty() {
                return Err(format!("{what} is empty"));
            }
        }
        Ok(input.clone())
    }
}

/// A constant tensor (ONNX initializers used as operands: `x * scale` with a `[1, C, 1, 1]`
/// scale, `x + bias`). Takes no input; its output is the weight `value`, whose shape has NO
/// batch axis and broadcasts against the other operand as in numpy.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstantConfig {
    pub shape: Vec<usize>,
}

impl ConstantConfig {
    pub(crate) fn infer(&self, inputs: &[Shape]) -> Result<Shape, String> {
        if !inputs.is_empty() {
            return Err("a constant takes no inputs".into());
        }
        if self.shape.is_empty() || self.shape.len() > 5 {
            return Err(format!(
                "constants have rank 1 to 5, got shape {:?}",
                self.shape
            ));
        }
        Ok(Shape::new(self.shape.iter().map(|&d| Some(d)).collect()))
    }

    pub(crate) fn weights(&self) -> Vec<WeightSpec> {
        vec![WeightSpec::trainable("value", self.shape.clone())]
    }
}
