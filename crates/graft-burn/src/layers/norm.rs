//! Normalisation layers: BatchNormalization (with Keras' moving-average semantics),
//! LayerNormalization and the Normalization preprocessing layer.

use burn::module::{Flag, Module, Param, RunningState};
use burn::tensor::module::{batch_norm, batch_norm_train};
use burn::tensor::{Device, Tensor};
use graft_ir::{BatchNormConfig, Layer, LayerNormConfig, NormalizationConfig, normalize_axis};

use super::{host, param};
use crate::value::{Dyn, Value, map_dyn};

/// BatchNormalization: learned scale/offset (each optional) and moving statistics.
#[derive(Module, Debug)]
pub struct BatchNormModule {
    pub gamma: Option<Param<Tensor<1>>>,
    pub beta: Option<Param<Tensor<1>>>,
    pub moving_mean: RunningState<Tensor<1>>,
    pub moving_variance: RunningState<Tensor<1>>,
    /// Cleared by `freeze()`: a frozen BatchNormalization runs in inference mode and leaves its
    /// statistics alone, as in Keras >= 2.1.
    pub training: Param<Flag>,
}

impl BatchNormModule {
    pub fn from_layer(layer: &mut Layer, device: &Device) -> Self {
        let gamma = super::has(layer, "gamma").then(|| param(layer, "gamma", device));
        let beta = super::has(layer, "beta").then(|| param(layer, "beta", device));
        let mut running = |name| RunningState::new(param::<1>(layer, name, device).val());
        Self {
            gamma,
            beta,
            moving_mean: running("moving_mean"),
            moving_variance: running("moving_variance"),
            training: Param::from_bool(true),
        }
    }

    pub fn export(&self) -> Vec<(&'static str, graft_ir::Tensor)> {
        let mut out = vec![];
        if let Some(g) = &self.gamma {
            out.push(("gamma", host(&g.val())));
        }
        if let Some(b) = &self.beta {
            out.push(("beta", host(&b.val())));
        }
        out.push(("moving_mean", host(&self.moving_mean.value())));
        out.push(("moving_variance", host(&self.moving_variance.value())));
        out
    }

    /// Normalises along `config.axis`. In training mode (and not frozen) it uses the batch's
    /// statistics and moves the moving ones: `new = momentum * old + (1 - momentum) * batch`.
    pub fn forward(&self, config: &BatchNormConfig, x: Value, training: bool) -> Value {
        let rank = x.rank();
        let axis = normalize_axis(config.axis, rank).expect("axis checked by shape inference");
        // burn normalises along physical axis 1: hold the channel axis there.
        let x = if rank >= 2 && x.physical_axis(axis) == 1 {
            x
        } else {
            let mut perm = vec![0, axis];
            perm.extend((1..rank).filter(|&a| a != axis));
            x.to_perm(&perm)
        };
        let c = x.tensor.dims()[1];
        let device = crate::value::with_dyn!(&x.tensor, t => t.device());
        let gamma = self
            .gamma
            .as_ref()
            .map(Param::val)
            .unwrap_or_else(|| Tensor::ones([c], &device));
        let beta = self
            .beta
            .as_ref()
            .map(Param::val)
            .unwrap_or_else(|| Tensor::zeros([c], &device));
        let eps = config.epsilon;
        let perm = x.perm.clone();
        let train = training && self.training.is_enabled();
        let y = if train {
            let momentum = config.momentum;
            let stats;
            let y = map_dyn!(x.tensor, t => {
                let out = batch_norm_train(t, gamma.clone(), beta.clone(), eps);
                stats = Some((out.mean, out.variance));
                out.output
            });
            let (mean, var) = stats.expect("set above");
            let update = |state: &RunningState<Tensor<1>>, batch: Tensor<1>| {
                let old = state.value_sync();
                state.update(
                    old.mul_scalar(momentum)
                        .add(batch.detach().mul_scalar(1.0 - momentum))
                        .detach(),
                );
            };
            update(&self.moving_mean, mean);
            update(&self.moving_variance, var);
            y
        } else {
            let mean = self.moving_mean.value();
            let var = self.moving_variance.value();
            map_dyn!(x.tensor, t => batch_norm(t, gamma.clone(), beta.clone(), mean.clone(), var.clone(), eps))
        };
        Value::with_perm(y, perm)
    }
}

/// Shape `[1, .., d, .., 1]` that puts a vector on logical axes `axes` of a rank-`rank` value.
fn broadcast_shape(dims: &[usize], axes: &[usize], rank: usize) -> Vec<usize> {
    (0..rank)
        .map(|a| if axes.contains(&a) { dims[a] } else { 1 })
        .collect()
}

/// LayerNormalization over `config.axes` of each sample.
#[derive(Module, Debug)]
pub struct LayerNormModule {
    /// Flattened over the normalised axes.
    pub gamma: Option<Param<Tensor<1>>>,
    pub beta: Option<Param<Tensor<1>>>,
}

impl LayerNormModule {
    pub fn from_layer(layer: &mut Layer, device: &Device) -> Self {
        let flat = |name| {
            layer.weight(name).map(|w| {
                let t = graft_ir::Tensor::new(vec![w.tensor.numel()], w.tensor.data().to_vec())
                    .expect("same size");
                super::upload(t, device)
            })
        };
        Self {
            gamma: flat("gamma"),
            beta: flat("beta"),
        }
    }

    pub fn export(&self, layer: &Layer) -> Vec<(&'static str, graft_ir::Tensor)> {
        let shaped = |name: &'static str, p: &Param<Tensor<1>>| {
            let shape = layer
                .weight(name)
                .map(|w| w.tensor.shape().to_vec())
                .unwrap_or_default();
            (name, host(&p.val()).reshaped(shape).expect("same size"))
        };
        let mut out = vec![];
        if let Some(g) = &self.gamma {
            out.push(shaped("gamma", g));
        }
        if let Some(b) = &self.beta {
            out.push(shaped("beta", b));
        }
        out
    }

    pub fn forward(&self, config: &LayerNormConfig, x: Value) -> Value {
        let rank = x.rank();
        let dims = x.logical_dims();
        let mut axes: Vec<usize> = config
            .axes
            .iter()
            .map(|&a| normalize_axis(a, rank).expect("checked by shape inference"))
            .collect();
        axes.sort_unstable();
        let bshape = broadcast_shape(&dims, &axes, rank);
        let eps = config.epsilon;
        let gamma = self
            .gamma
            .as_ref()
            .map(|g| Dyn::R1(g.val()).reshape(&bshape));
        let beta = self
            .beta
            .as_ref()
            .map(|b| Dyn::R1(b.val()).reshape(&bshape));
        let t = x.into_logical();
        let y = map_dyn!(t, t => {
            let mut y = if config.rms_scaling {
                let ms = mean_over(t.clone().square(), &axes);
                t.div(ms.add_scalar(eps).sqrt())
            } else {
                let mean = mean_over(t.clone(), &axes);
                let centred = t.sub(mean);
                let var = mean_over(centred.clone().square(), &axes);
                centred.div(var.add_scalar(eps).sqrt())
            };
            if let Some(g) = &gamma {
                y = y.mul(same_rank(g.clone()));
            }
            if let Some(b) = &beta {
                y = y.add(same_rank(b.clone()));
            }
            y
        });
        Value::logical(y)
    }
}

/// Mean over several axes, keeping them with size 1.
fn mean_over<const D: usize>(t: Tensor<D>, axes: &[usize]) -> Tensor<D> {
    axes.iter().fold(t, |acc, &a| acc.mean_dim(a))
}

/// A [`Dyn`] known to have rank `D` (a broadcast shape built for that rank).
fn same_rank<const D: usize>(t: Dyn) -> Tensor<D> {
    let dims = t.dims();
    let flat = match t.reshape(&[dims.iter().product()]) {
        Dyn::R1(f) => f,
        _ => unreachable!("rank-1 reshape"),
    };
    let shape: [usize; D] = dims.try_into().expect("rank D broadcast shape");
    flat.reshape(shape)
}

/// The Normalization preprocessing layer: `(x - mean) / max(sqrt(variance), 1e-7)`.
#[derive(Module, Debug)]
pub struct NormalizationModule {
    /// Statistics, never trained (state, like BatchNormalization's moving ones).
    pub mean: RunningState<Tensor<1>>,
    pub variance: RunningState<Tensor<1>>,
    /// Samples the statistics came from (kept for export; unused in computation).
    pub count: Option<RunningState<Tensor<1>>>,
}

/// Keras' `backend.epsilon()`, the floor of Normalization's divisor.
const KERAS_EPSILON: f32 = 1e-7;

impl NormalizationModule {
    /// From the layer's weights, or from the statistics in its configuration.
    pub fn from_layer(layer: &mut Layer, config: &NormalizationConfig, device: &Device) -> Self {
        let flat = |name: &str, fixed: &Option<Vec<f32>>| {
            let values = match (fixed, layer.weight(name)) {
                (Some(v), _) => v.clone(),
                (None, Some(w)) => w.tensor.data().to_vec(),
                (None, None) => vec![if name == "mean" { 0.0 } else { 1.0 }],
            };
            let t = graft_ir::Tensor::new(vec![values.len()], values).expect("1-D");
            RunningState::new(super::upload::<1>(t, device).val())
        };
        Self {
            mean: flat("mean", &config.mean),
            variance: flat("variance", &config.variance),
            count: layer.weight("count").map(|w| {
                let t = graft_ir::Tensor::new(vec![1], w.tensor.data().to_vec()).expect("scalar");
                RunningState::new(super::upload::<1>(t, device).val())
            }),
        }
    }

    pub fn export(&self, layer: &Layer) -> Vec<(&'static str, graft_ir::Tensor)> {
        if layer.weights.is_empty()
            && layer.weight("mean").is_none()
            && let graft_ir::Op::Normalization(c) = &layer.op
            && (c.mean.is_some() || c.variance.is_some())
        {
            return vec![];
        }
        let shape = |name: &str| {
            layer
                .weight(name)
                .map(|w| w.tensor.shape().to_vec())
                .unwrap_or_default()
        };
        let mut out = vec![
            (
                "mean",
                host(&self.mean.value())
                    .reshaped(shape("mean"))
                    .expect("same size"),
            ),
            (
                "variance",
                host(&self.variance.value())
                    .reshaped(shape("variance"))
                    .expect("same size"),
            ),
        ];
        if let Some(c) = &self.count {
            out.push(("count", host(&c.value()).reshaped(vec![]).expect("scalar")));
        }
        out
    }

    pub fn forward(&self, config: &NormalizationConfig, x: Value) -> Value {
        let rank = x.rank();
        let dims = x.logical_dims();
        let axes: Vec<usize> = config
            .axes
            .iter()
            .map(|&a| normalize_axis(a, rank).expect("checked by shape inference"))
            .collect();
        let mut bshape = broadcast_shape(&dims, &axes, rank);
        let (mean, variance) = (self.mean.value(), self.variance.value());
        if mean.dims()[0] == 1 {
            // One statistic for every kept position.
            bshape = vec![1; rank];
        }
        let mean = Dyn::R1(mean).reshape(&bshape);
        let std = Dyn::R1(variance.sqrt().clamp_min(KERAS_EPSILON)).reshape(&bshape);
        let t = x.into_logical();
        let y = map_dyn!(t, t => {
            let (m, s) = (same_rank(mean.clone()), same_rank(std.clone()));
            if config.invert { t.mul(s).add(m) } else { t.sub(m).div(s) }
        });
        Value::logical(y)
    }
}
