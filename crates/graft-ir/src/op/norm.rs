//! Normalisation layers.

use super::WeightSpec;
use crate::shape::{Shape, normalize_axis};

/// `BatchNormalization`.
///
/// Inference computes `(x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta`
/// along `axis`. `momentum` follows Keras: the weight kept by the OLD moving statistic at each
/// training step (`new = momentum * old + (1 - momentum) * batch`), which is `1 - momentum` in
/// PyTorch's and burn's convention.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormConfig {
    /// The channel axis (negative counts from the end).
    pub axis: i64,
    pub epsilon: f64,
    pub momentum: f64,
    /// Has a `beta` offset.
    pub center: bool,
    /// Has a `gamma` scale.
    pub scale: bool,
}

/// `LayerNormalization`: normalises over `axes` of each sample.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormConfig {
    pub axes: Vec<i64>,
    pub epsilon: f64,
    pub center: bool,
    pub scale: bool,
    /// Keras 3 `rms_scaling`: divide by the root mean square, no centring, no beta.
    pub rms_scaling: bool,
}

/// Keras' `Normalization` preprocessing layer with learned (adapted) statistics:
/// `(x - mean) / max(sqrt(variance), 1e-7)`, or its inverse when `invert`.
#[derive(Clone, Debug, PartialEq)]
pub struct NormalizationConfig {
    /// The axes that keep their own statistics (Keras `axis`, usually the channels).
    pub axes: Vec<i64>,
    pub invert: bool,
    /// Statistics fixed in the configuration (Keras' `mean=`/`variance=` arguments), flattened
    /// over the kept axes or a single value for all; the layer then has no weights.
    pub mean: Option<Vec<f32>>,
    pub variance: Option<Vec<f32>>,
}

fn channel(input: &Shape, axis: i64) -> Result<usize, String> {
    let a = normalize_axis(axis, input.rank())
        .ok_or_else(|| format!("axis {axis} is out of range for input {input}"))?;
    input.dims()[a].ok_or_else(|| format!("axis {axis} of input {input} must have a known size"))
}

impl BatchNormConfig {
    pub(crate) fn weights(&self, input: &Shape) -> Result<Vec<WeightSpec>, String> {
        let c = channel(input, self.axis)?;
        let mut w = Vec::with_capacity(4);
        if self.scale {
            w.push(WeightSpec::trainable("gamma", vec![c]));
        }
        if self.center {
            w.push(WeightSpec::trainable("beta", vec![c]));
        }
        w.push(WeightSpec::state("moving_mean", vec![c]));
        w.push(WeightSpec::state("moving_variance", vec![c]));
        Ok(w)
    }
}

impl LayerNormConfig {
    pub(crate) fn weights(&self, input: &Shape) -> Result<Vec<WeightSpec>, String> {
        let shape = self
            .axes
            .iter()
            .map(|&a| channel(input, a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut w = Vec::with_capacity(2);
        if self.scale {
            w.push(WeightSpec::trainable("gamma", shape.clone()));
        }
        if self.center && !self.rms_scaling {
            w.push(WeightSpec::trainable("beta", shape));
        }
        Ok(w)
    }
}

impl NormalizationConfig {
    pub(crate) fn weights(&self, input: &Shape) -> Result<Vec<WeightSpec>, String> {
        if self.mean.is_some() || self.variance.is_some() {
            return Ok(vec![]);
        }
        let shape = self
            .axes
            .iter()
            .map(|&a| channel(input, a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(vec![
            WeightSpec::state("mean", shape.clone()),
            WeightSpec::state("variance", shape),
            // How many samples the statistics were adapted on (Keras keeps and counts it).
            WeightSpec::state("count", vec![]),
        ])
    }
}

/// Local response normalisation across channels (ONNX `LRN`, AlexNet/GoogLeNet era):
/// `y = x / (bias + alpha / size * sum(x^2 over a window of size channels))^beta`, the window
/// spanning channels `c - floor((size - 1) / 2) ..= c + ceil((size - 1) / 2)`, clipped to the
/// existing ones.
#[derive(Clone, Debug, PartialEq)]
pub struct LrnConfig {
    pub size: usize,
    pub alpha: f32,
    pub beta: f32,
    pub bias: f32,
    pub data_format: super::DataFormat,
}

impl LrnConfig {
    pub(crate) fn infer(&self, input: &Shape) -> Result<Shape, String> {
        if self.size == 0 {
            return Err("size must be positive".into());
        }
        if input.rank() < 3 {
            return Err(format!(
                "expects a (batch, channels, spatial...) input, got {input}"
            ));
        }
        Ok(input.clone())
    }
}
