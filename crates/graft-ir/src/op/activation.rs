//! Activation functions, and the layers whose only job is one.

use std::fmt;

use crate::shape::{Shape, normalize_axis};

/// An element-wise (or, for softmax, per-axis) activation function.
///
/// The variants carry exact semantics, not names: Keras' `hard_sigmoid` means
/// `clip(x/6 + 1/2, 0, 1)` in Keras 3 and `clip(0.2x + 1/2, 0, 1)` in tf.keras 2, so readers
/// translate names into [`Activation::HardSigmoid`] with the right slope.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `x`.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` for `x >= 0`, `negative_slope * x` below.
    LeakyRelu { negative_slope: f32 },
    /// Keras' general `ReLU` layer: `max_value` above `max_value`, `x` on
    /// `[threshold, max_value)`, `negative_slope * (x - threshold)` below `threshold`.
    ClippedRelu {
        max_value: Option<f32>,
        negative_slope: f32,
        threshold: f32,
    },
    /// `x` for `x > 0`, `alpha * (exp(x) - 1)` below.
    Elu { alpha: f32 },
    /// Scaled ELU with the fixed constants of Klambauer et al.
    Selu,
    /// Gaussian error linear unit; exact (erf) or tanh approximation.
    Gelu { approximate: bool },
    /// `x * sigmoid(x)` (Keras `swish`/`silu`).
    Swish,
    /// `clip(alpha * x + beta, 0, 1)`.
    HardSigmoid { alpha: f32, beta: f32 },
    /// `x * relu6(x + 3) / 6` (Keras `hard_swish`/`hard_silu`, ONNX `HardSwish`).
    HardSwish,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `exp(x) / sum(exp(x))` along `axis` (negative counts from the end).
    Softmax { axis: i64 },
    /// `log(softmax(x))` along `axis`.
    LogSoftmax { axis: i64 },
    /// `log(1 + exp(x))`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `exp(x)`.
    Exponential,
    /// `x * tanh(softplus(x))`.
    Mish,
    /// `max(x, 0) + alpha * expm1(min(x, 0) / alpha)`.
    Celu { alpha: f32 },
    /// Gated linear unit: splits `axis` in halves `a, b` and returns `a * sigmoid(b)`; the axis
    /// halves.
    Glu { axis: i64 },
    /// `x` where `|x| > threshold`, else 0.
    HardShrink { threshold: f32 },
    /// `clip(x, -1, 1)`.
    HardTanh,
    /// `log(sigmoid(x))`.
    LogSigmoid,
    /// `x - threshold` above `threshold`, `x + threshold` below `-threshold`, else 0.
    SoftShrink { threshold: f32 },
    /// 0 for `x <= -1`, `(x + 1)^2 / 4` on `(-1, 1)`, `x` from 1.
    SparsePlus,
    /// `clip((x + 1) / 2, 0, 1)`.
    SparseSigmoid,
    /// Euclidean projection onto the simplex along `axis` (Martins & Astudillo).
    Sparsemax { axis: i64 },
    /// `(x + sqrt(x^2 + b)) / 2`.
    Squareplus { b: f32 },
    /// `x - tanh(x)`.
    TanhShrink,
}

impl Activation {
    /// The simplest variant that computes Keras' `ReLU(max_value, negative_slope, threshold)`.
    pub fn relu_layer(max_value: Option<f32>, negative_slope: f32, threshold: f32) -> Self {
        match (max_value, negative_slope, threshold) {
            (None, s, t) if s == 0.0 && t == 0.0 => Activation::Relu,
            (Some(m), s, t) if m == 6.0 && s == 0.0 && t == 0.0 => Activation::Relu6,
            (None, s, 0.0) => Activation::LeakyRelu { negative_slope: s },
            _ => Activation::ClippedRelu {
                max_value,
                negative_slope,
                threshold,
            },
        }
    }

    /// True for `Linear`.
    pub fn is_linear(&self) -> bool {
        matches!(self, Activation::Linear)
    }

    /// The output shape for an input of `shape`: the same, except GLU halves its axis.
    pub fn output_shape(&self, shape: &Shape) -> Result<Shape, String> {
        let Activation::Glu { axis } = self else {
            return Ok(shape.clone());
        };
        let a = normalize_axis(*axis, shape.rank())
            .ok_or_else(|| format!("glu axis {axis} is out of range for {shape}"))?;
        let mut dims = shape.dims().to_vec();
        dims[a] = match dims[a] {
            Some(n) if n % 2 == 0 => Some(n / 2),
            Some(n) => return Err(format!("glu needs an even size on axis {axis}, got {n}")),
            None => None,
        };
        Ok(Shape::new(dims))
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Linear => f.write_str("linear"),
            Activation::Relu => f.write_str("relu"),
            Activation::Relu6 => f.write_str("relu6"),
            Activation::LeakyRelu { negative_slope } => write!(f, "leaky_relu({negative_slope})"),
            Activation::ClippedRelu {
                max_value,
                negative_slope,
                threshold,
            } => write!(
                f,
                "relu(max_value={max_value:?}, negative_slope={negative_slope}, threshold={threshold})"
            ),
            Activation::Elu { alpha } => write!(f, "elu({alpha})"),
            Activation::Selu => f.write_str("selu"),
            Activation::Gelu { approximate } => {
                write!(f, "gelu{}", if *approximate { "(tanh)" } else { "" })
            }
            Activation::Swish => f.write_str("swish"),
            Activation::HardSigmoid { alpha, beta } => write!(f, "hard_sigmoid({alpha}x+{beta})"),
            Activation::HardSwish => f.write_str("hard_swish"),
            Activation::Sigmoid => f.write_str("sigmoid"),
            Activation::Tanh => f.write_str("tanh"),
            Activation::Softmax { axis } => write!(f, "softmax(axis={axis})"),
            Activation::LogSoftmax { axis } => write!(f, "log_softmax(axis={axis})"),
            Activation::Softplus => f.write_str("softplus"),
            Activation::Softsign => f.write_str("softsign"),
            Activation::Exponential => f.write_str("exponential"),
            Activation::Mish => f.write_str("mish"),
            Activation::Celu { alpha } => write!(f, "celu({alpha})"),
            Activation::Glu { axis } => write!(f, "glu(axis={axis})"),
            Activation::HardShrink { threshold } => write!(f, "hard_shrink({threshold})"),
            Activation::HardTanh => f.write_str("hard_tanh"),
            Activation::LogSigmoid => f.write_str("log_sigmoid"),
            Activation::SoftShrink { threshold } => write!(f, "soft_shrink({threshold})"),
            Activation::SparsePlus => f.write_str("sparse_plus"),
            Activation::SparseSigmoid => f.write_str("sparse_sigmoid"),
            Activation::Sparsemax { axis } => write!(f, "sparsemax(axis={axis})"),
            Activation::Squareplus { b } => write!(f, "squareplus({b})"),
            Activation::TanhShrink => f.write_str("tanh_shrink"),
        }
    }
}

/// Keras' `ReLU` layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReluConfig {
    pub max_value: Option<f32>,
    pub negative_slope: f32,
    pub threshold: f32,
}

impl ReluConfig {
    /// The function this layer computes.
    pub fn activation(&self) -> Activation {
        Activation::relu_layer(self.max_value, self.negative_slope, self.threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_layer_simplifies() {
        assert_eq!(Activation::relu_layer(None, 0.0, 0.0), Activation::Relu);
        assert_eq!(
            Activation::relu_layer(Some(6.0), 0.0, 0.0),
            Activation::Relu6
        );
        assert_eq!(
            Activation::relu_layer(None, 0.1, 0.0),
            Activation::LeakyRelu {
                negative_slope: 0.1
            }
        );
        assert!(matches!(
            Activation::relu_layer(Some(4.0), 0.0, 1.0),
            Activation::ClippedRelu { .. }
        ));
    }
}
