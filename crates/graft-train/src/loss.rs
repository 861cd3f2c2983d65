//! Losses with Keras' exact definitions: per-sample values, then `sum(loss * weight) / batch`.
//!
//! Cross-entropies are written here on burn tensor ops rather than taken from burn-nn: Keras
//! clips probabilities at 1e-7, smooths labels its own way, takes per-sample weights and divides
//! the weighted sum by the batch size, where burn's losses follow PyTorch (class weights normalise
//! by their sum, no per-sample weights). MSE and Huber use burn's element-wise forms.

use burn::nn::loss::{HuberLossConfig, MseLoss};
use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::TrainError;

/// Keras' `backend.epsilon()`.
const EPSILON: f64 = 1e-7;

/// A training loss, with Keras' names and defaults.
#[derive(Clone, Debug, PartialEq)]
pub enum Loss {
    /// One-hot targets `[n, k]`.
    CategoricalCrossentropy {
        from_logits: bool,
        label_smoothing: f32,
    },
    /// Class-index targets `[n]`.
    SparseCategoricalCrossentropy {
        from_logits: bool,
    },
    /// 0/1 targets `[n, k]` (binary or multi-label).
    BinaryCrossentropy {
        from_logits: bool,
        label_smoothing: f32,
    },
    MeanSquaredError,
    MeanAbsoluteError,
    Huber {
        delta: f32,
    },
}

impl Loss {
    /// Keras' name (`categorical_crossentropy`, ...).
    pub fn keras_name(&self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::Huber { .. } => "huber",
        }
    }

    /// Parses a Keras name with default arguments.
    pub fn from_keras_name(name: &str) -> Option<Self> {
        Some(match name {
            "categorical_crossentropy" => Loss::CategoricalCrossentropy {
                from_logits: false,
                label_smoothing: 0.0,
            },
            "sparse_categorical_crossentropy" => {
                Loss::SparseCategoricalCrossentropy { from_logits: false }
            }
            "binary_crossentropy" => Loss::BinaryCrossentropy {
                from_logits: false,
                label_smoothing: 0.0,
            },
            "mse" | "mean_squared_error" => Loss::MeanSquaredError,
            "mae" | "mean_absolute_error" => Loss::MeanAbsoluteError,
            "huber" => Loss::Huber { delta: 1.0 },
            _ => return None,
        })
    }

    /// True when targets are class indices.
    pub fn is_sparse(&self) -> bool {
        matches!(self, Loss::SparseCategoricalCrossentropy { .. })
    }

    /// Whether the loss takes probabilities (so a softmax/sigmoid output can be trained on its
    /// logits instead, as Keras does) and which activation that would be.
    pub fn probability_activation(&self) -> Option<ProbabilityKind> {
        match self {
            Loss::CategoricalCrossentropy {
                from_logits: false, ..
            }
            | Loss::SparseCategoricalCrossentropy { from_logits: false } => {
                Some(ProbabilityKind::Softmax)
            }
            Loss::BinaryCrossentropy {
                from_logits: false, ..
            } => Some(ProbabilityKind::Sigmoid),
            _ => None,
        }
    }

    /// Per-sample losses `[n]` of predictions `[n, k]`. `logits` says the predictions are the
    /// pre-activation values of a softmax/sigmoid output (Keras' `_get_logits` shortcut).
    pub fn per_sample(
        &self,
        pred: Tensor<2>,
        target: &graft_ir::Tensor,
        logits: bool,
        device: &Device,
    ) -> Result<Tensor<1>, TrainError> {
        let [n, k] = pred.dims();
        let dense = |t: &graft_ir::Tensor| -> Result<Tensor<2>, TrainError> {
            if t.numel() != n * k {
                return Err(TrainError::Data(format!(
                    "targets of shape {:?} do not match predictions of shape [{n}, {k}] (loss {})",
                    t.shape(),
                    self.keras_name()
                )));
            }
            Ok(Tensor::from_data(
                TensorData::new(t.data().to_vec(), [n, k]),
                device,
            ))
        };
        Ok(match self {
            Loss::CategoricalCrossentropy {
                from_logits,
                label_smoothing,
            } => {
                let mut y = dense(target)?;
                if *label_smoothing > 0.0 {
                    let ls = *label_smoothing;
                    y = y.mul_scalar(1.0 - ls).add_scalar(ls / k as f32);
                }
                let log_p = if *from_logits || logits {
                    log_softmax(pred, 1)
                } else {
                    let p = pred.clone().div(pred.sum_dim(1));
                    p.clamp(EPSILON, 1.0 - EPSILON).log()
                };
                y.mul(log_p).sum_dim(1).neg().reshape([n])
            }
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                if target.numel() != n {
                    return Err(TrainError::Data(format!(
                        "sparse targets need one class index per sample, got shape {:?} for {n} samples",
                        target.shape()
                    )));
                }
                if let Some(bad) = target
                    .data()
                    .iter()
                    .find(|&&v| v < 0.0 || v as usize >= k || v.fract() != 0.0)
                {
                    return Err(TrainError::Data(format!(
                        "class index {bad} is not in 0..{k} (the model has {k} outputs)"
                    )));
                }
                let idx: Vec<i64> = target.data().iter().map(|&v| v as i64).collect();
                let idx = Tensor::<2, Int>::from_data(TensorData::new(idx, [n, 1]), device);
                let log_p = if *from_logits || logits {
                    log_softmax(pred, 1)
                } else {
                    pred.clamp(EPSILON, 1.0 - EPSILON).log()
                };
                log_p.gather(1, idx).neg().reshape([n])
            }
            Loss::BinaryCrossentropy {
                from_logits,
                label_smoothing,
            } => {
                let mut y = dense(target)?;
                if *label_smoothing > 0.0 {
                    let ls = *label_smoothing;
                    y = y.mul_scalar(1.0 - ls).add_scalar(0.5 * ls);
                }
                let per_element = if *from_logits || logits {
                    // -(y log s(x) + (1 - y) log(1 - s(x))), with log(1 - s(x)) = log s(-x).
                    let pos = log_sigmoid(pred.clone());
                    let neg = log_sigmoid(pred.neg());
                    y.clone()
                        .mul(pos)
                        .add(y.neg().add_scalar(1.0).mul(neg))
                        .neg()
                } else {
                    let p = pred.clamp(EPSILON, 1.0 - EPSILON);
                    let one_minus = p.clone().neg().add_scalar(1.0);
                    y.clone()
                        .mul(p.log())
                        .add(y.neg().add_scalar(1.0).mul(one_minus.log()))
                        .neg()
                };
                per_element.mean_dim(1).reshape([n])
            }
            Loss::MeanSquaredError => MseLoss::new()
                .forward_no_reduction(pred, dense(target)?)
                .mean_dim(1)
                .reshape([n]),
            Loss::MeanAbsoluteError => pred.sub(dense(target)?).abs().mean_dim(1).reshape([n]),
            Loss::Huber { delta } => HuberLossConfig::new(*delta)
                .init()
                .forward_no_reduction(pred, dense(target)?)
                .mean_dim(1)
                .reshape([n]),
        })
    }

    /// Keras' `sum_over_batch_size` reduction: `sum(loss * weight) / n`.
    /// Keras' `loss(y_true, y_pred, sample_weight)` on host tensors: predictions `[n, k]` (or
    /// `[n]`, read as `[n, 1]`), the mean over the batch of the weighted per-sample losses.
    pub fn compute(
        &self,
        y_true: &graft_ir::Tensor,
        y_pred: &graft_ir::Tensor,
        sample_weight: Option<&[f32]>,
    ) -> Result<f64, TrainError> {
        let device = graft_burn::default_device();
        let n = y_pred.shape().first().copied().unwrap_or(0);
        let k = y_pred.numel().checked_div(n).unwrap_or(0);
        if let Some(w) = sample_weight.filter(|w| w.len() != n) {
            return Err(TrainError::Data(format!(
                "{} sample weights for {n} samples",
                w.len()
            )));
        }
        let pred = Tensor::<2>::from_data(TensorData::new(y_pred.data().to_vec(), [n, k]), &device);
        let per = self.per_sample(pred, y_true, false, &device)?;
        Ok(Self::reduce(per, sample_weight, &device).into_scalar::<f32>() as f64)
    }

    pub fn reduce(per_sample: Tensor<1>, weights: Option<&[f32]>, device: &Device) -> Tensor<1> {
        let [n] = per_sample.dims();
        let weighted = match weights {
            Some(w) => per_sample.mul(Tensor::from_data(TensorData::new(w.to_vec(), [n]), device)),
            None => per_sample,
        };
        weighted.sum().div_scalar(n.max(1) as f32)
    }
}

/// The activation a probability loss pairs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbabilityKind {
    Softmax,
    Sigmoid,
}
