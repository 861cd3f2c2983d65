//! Optimizers with Keras 3's names, defaults and update rules, run by burn's optimizer machinery.
//!
//! burn's `ModuleOptimizer` walks the model's parameters, clips each gradient, keeps one state per
//! parameter (saved and restored with the optimizer record) and calls a [`burn::optim::Optimizer`]
//! on each tensor. graft plugs its own rule into it, [`KerasRule`], because burn's stock
//! optimizers follow PyTorch and differ from Keras in ways that change the weights:
//!
//! | | Keras 3 (what graft does) | burn's stock optimizer |
//! |---|---|---|
//! | `weight_decay` | decoupled, every optimizer: `w -= w * wd * lr` before the step | an L2 term added to the gradient (AdamW aside) |
//! | SGD momentum | `m = momentum * m - lr * g; w += m` (the rate lives in `m`) | `v = momentum * v + g; w -= lr * v` (same only while the rate is constant) |
//! | Adam epsilon | `lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)` | `lr * m̂ / (sqrt(v̂) + eps)` |
//! | RMSprop | `lr * g / sqrt(v + eps)`, momentum on the increment | `lr * g / (sqrt(v) + eps)` |
//! | Adagrad | accumulator starts at 0.1, `lr * g / sqrt(acc + eps)` | starts at 0, `lr * g / (sqrt(acc) + eps)` |
//!
//! Gradient clipping is burn's, per parameter, as Keras 3's `clipnorm` and `clipvalue` are
//! (Keras: `g * c / max(‖g‖, c)`; burn: `g * min(1, c / (‖g‖ + tiny))`, equal up to rounding).
//! Keras' `global_clipnorm` (one norm over all gradients together) is graft's
//! ([`OptimizerConfig::clip_global`]): burn clips one parameter at a time.
//!
//! The rules run Keras' float32 operations in Keras' order and form their scalars as Keras does
//! (`1 - beta` from the decimal the user wrote, Adam's step size in float32), so on the CPU they
//! reproduce Keras 3.15.1 (TensorFlow backend) bit for bit, `clipnorm` within an ulp: checked
//! step by step in `tests/train_optimizers.rs`.

use burn::grad_clipping::GradientClippingConfig;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer, RecordState, StateSink, StateSource};
use burn::tensor::{Device, Tensor, TensorData};

/// An optimizer and its hyper-parameters (the learning rate is kept separately: schedules and
/// callbacks change it during training). The fields are Keras' constructor arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum Optimizer {
    /// `keras.optimizers.SGD`.
    Sgd { momentum: f32, nesterov: bool },
    /// `keras.optimizers.Adam`.
    Adam {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        amsgrad: bool,
    },
    /// `keras.optimizers.AdamW`: Adam with its own (decoupled) `weight_decay`, default 0.004.
    AdamW {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        weight_decay: f32,
    },
    /// `keras.optimizers.RMSprop`.
    RmsProp {
        rho: f32,
        momentum: f32,
        epsilon: f32,
        centered: bool,
    },
    /// `keras.optimizers.Adagrad`.
    Adagrad {
        initial_accumulator_value: f32,
        epsilon: f32,
    },
}

/// An optimizer with its learning rate, weight decay and gradient clipping.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerConfig {
    pub optimizer: Optimizer,
    pub learning_rate: f64,
    /// Keras' `weight_decay`: decoupled decay `w -= w * weight_decay * lr` before each step, for
    /// every optimizer (for AdamW it replaces AdamW's own `weight_decay` when set).
    pub weight_decay: Option<f32>,
    /// Keras' `clipnorm`: each parameter's gradient is rescaled to at most this L2 norm.
    pub clipnorm: Option<f32>,
    /// Keras' `clipvalue`: each gradient value is clipped to `[-clipvalue, clipvalue]` (ignored
    /// when `clipnorm` or `global_clipnorm` is set, as in Keras).
    pub clipvalue: Option<f32>,
    /// Keras' `global_clipnorm`: all gradients are rescaled together so that their joint L2
    /// norm is at most this (ignored when `clipnorm` is set, as in Keras).
    pub global_clipnorm: Option<f32>,
}

impl OptimizerConfig {
    fn with(optimizer: Optimizer, learning_rate: f64) -> Self {
        Self {
            optimizer,
            learning_rate,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
        }
    }

    /// `keras.optimizers.SGD(learning_rate=0.01, momentum=0.0, nesterov=False)`.
    pub fn sgd(learning_rate: f64) -> Self {
        Self::with(
            Optimizer::Sgd {
                momentum: 0.0,
                nesterov: false,
            },
            learning_rate,
        )
    }

    /// SGD with momentum.
    pub fn sgd_momentum(learning_rate: f64, momentum: f32, nesterov: bool) -> Self {
        Self::with(Optimizer::Sgd { momentum, nesterov }, learning_rate)
    }

    /// `keras.optimizers.Adam(learning_rate=0.001)`.
    pub fn adam(learning_rate: f64) -> Self {
        Self::with(
            Optimizer::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            learning_rate,
        )
    }

    /// `keras.optimizers.AdamW(learning_rate=0.001, weight_decay=0.004)`.
    pub fn adamw(learning_rate: f64, weight_decay: f32) -> Self {
        Self::with(
            Optimizer::AdamW {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                weight_decay,
            },
            learning_rate,
        )
    }

    /// `keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7)`.
    pub fn rmsprop(learning_rate: f64) -> Self {
        Self::with(
            Optimizer::RmsProp {
                rho: 0.9,
                momentum: 0.0,
                epsilon: 1e-7,
                centered: false,
            },
            learning_rate,
        )
    }

    /// `keras.optimizers.Adagrad(learning_rate=0.001, initial_accumulator_value=0.1,
    /// epsilon=1e-7)`.
    pub fn adagrad(learning_rate: f64) -> Self {
        Self::with(
            Optimizer::Adagrad {
                initial_accumulator_value: 0.1,
                epsilon: 1e-7,
            },
            learning_rate,
        )
    }

    /// Parses a Keras name (`sgd`, `adam`, `adamw`, `rmsprop`, `adagrad`) with Keras' default
    /// learning rate for it unless one is given.
    pub fn from_keras_name(name: &str, learning_rate: Option<f64>) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "sgd" => Self::sgd(learning_rate.unwrap_or(0.01)),
            "adam" => Self::adam(learning_rate.unwrap_or(0.001)),
            "adamw" => Self::adamw(learning_rate.unwrap_or(0.001), 0.004),
            "rmsprop" => Self::rmsprop(learning_rate.unwrap_or(0.001)),
            "adagrad" => Self::adagrad(learning_rate.unwrap_or(0.001)),
            _ => return None,
        })
    }

    /// Builder: Keras' (decoupled) weight decay.
    pub fn weight_decay(mut self, decay: f32) -> Self {
        self.weight_decay = Some(decay);
        self
    }

    /// Builder: clip each gradient's norm.
    pub fn clipnorm(mut self, norm: f32) -> Self {
        self.clipnorm = Some(norm);
        self
    }

    /// Builder: clip each gradient value.
    pub fn clipvalue(mut self, value: f32) -> Self {
        self.clipvalue = Some(value);
        self
    }

    /// Builder: clip the joint norm of all gradients.
    pub fn global_clipnorm(mut self, norm: f32) -> Self {
        self.global_clipnorm = Some(norm);
        self
    }

    /// Applies `global_clipnorm` to the gradients of `module`'s parameters (before the
    /// optimizer's step), with Keras 3's formula and float32 operations in its order:
    /// `norm = sqrt(sum over gradients of sum(g^2))`, `scale = c * min(1 / norm, 1 / c)`, and a
    /// non-finite norm makes every gradient NaN as in Keras. Per-parameter
    /// `clipnorm` wins, as in Keras' `_clip_gradients`.
    pub fn clip_global<M: Module>(
        &self,
        mut grads: GradientsParams,
        module: &M,
    ) -> GradientsParams {
        let Some(clip) = self.global_clipnorm.filter(|&c| c > 0.0) else {
            return grads;
        };
        if self.clipnorm.is_some_and(|c| c > 0.0) {
            return grads;
        }
        struct SquaredSum<'a> {
            grads: &'a GradientsParams,
            sums: Vec<f32>,
        }
        impl ModuleVisitor for SquaredSum<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(g) = self.grads.get::<D>(param.id) {
                    self.sums.push(g.square().sum().into_scalar::<f32>());
                }
            }
        }
        struct Scale<'a> {
            grads: &'a mut GradientsParams,
            scale: f32,
        }
        impl ModuleVisitor for Scale<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(g) = self.grads.remove::<D>(param.id) {
                    self.grads.register(param.id, g.mul_scalar(self.scale));
                }
            }
        }
        let mut squared = SquaredSum {
            grads: &grads,
            sums: vec![],
        };
        module.visit(&mut squared);
        let norm = squared.sums.iter().sum::<f32>().sqrt();
        // Keras adds `norm - norm`: 0 for a finite norm, NaN otherwise.
        let scale = if norm.is_finite() {
            clip * (1.0 / norm).min(1.0 / clip)
        } else {
            f32::NAN
        };
        module.visit(&mut Scale {
            grads: &mut grads,
            scale,
        });
        grads
    }

    /// The burn optimizer: [`KerasRule`] inside burn's `ModuleOptimizer`, with burn's clipping.
    pub fn build(&self) -> ModuleOptimizer {
        // Keras ignores a clip of 0 (`if self.clipnorm and self.clipnorm > 0`).
        // (`global_clipnorm` is applied to the gradients before the step: `clip_global`.)
        let global = self.global_clipnorm.is_some_and(|c| c > 0.0);
        let clip = match (self.clipnorm, self.clipvalue) {
            (Some(n), _) if n > 0.0 => Some(GradientClippingConfig::Norm(n)),
            (_, Some(v)) if v > 0.0 && !global => Some(GradientClippingConfig::Value(v)),
            _ => None,
        };
        let weight_decay = match &self.optimizer {
            Optimizer::AdamW { weight_decay, .. } => self.weight_decay.or(Some(*weight_decay)),
            _ => self.weight_decay,
        };
        let rule = KerasRule {
            optimizer: self.optimizer.clone(),
            weight_decay: weight_decay.filter(|d| *d != 0.0),
        };
        let optimizer = ModuleOptimizer::from(rule);
        match clip {
            Some(clip) => optimizer.with_grad_clipping(clip.init()),
            None => optimizer,
        }
    }

    /// Runs this optimizer the way `fit` does (autodiff gradients, burn's `ModuleOptimizer`,
    /// clipping) on given variables and gradients, for parity tests against Keras: the gradient
    /// of `sum(w * g)` with respect to `w` is exactly `g`. `variables` are flat values (every
    /// rule is elementwise and clipping takes a whole variable's norm, so shapes do not matter),
    /// `gradients[step][variable]` the gradients, `learning_rates[step]` the rate of each step.
    /// Returns every variable's values after each step.
    #[doc(hidden)]
    pub fn run_on_gradients(
        &self,
        variables: &[Vec<f32>],
        gradients: &[Vec<Vec<f32>>],
        learning_rates: &[f64],
    ) -> Vec<Vec<Vec<f32>>> {
        let device = graft_burn::default_device().autodiff();
        let tensor = |values: &[f32]| {
            Tensor::<1>::from_data(TensorData::new(values.to_vec(), [values.len()]), &device)
        };
        let mut params: Vec<Param<Tensor<1>>> = variables
            .iter()
            .map(|v| Param::from_tensor(tensor(v)))
            .collect();
        let mut optimizer = self.build();
        let mut after = Vec::with_capacity(gradients.len());
        for (step, grads) in gradients.iter().enumerate() {
            let loss = params
                .iter()
                .zip(grads)
                .map(|(w, g)| w.val().mul(tensor(g)).sum())
                .reduce(|a, b| a + b)
                .expect("at least one variable");
            let grads = GradientsParams::from_grads(loss.backward(), &params);
            let grads = self.clip_global(grads, &params);
            params = optimizer.step(learning_rates[step], params, grads);
            after.push(
                params
                    .iter()
                    .map(|p| {
                        p.val()
                            .into_data()
                            .try_to_vec::<f32>()
                            .expect("f32 weights")
                    })
                    .collect(),
            );
        }
        after
    }
}

/// Keras 3's update rule for one variable (its `update_step`), preceded by Keras' decoupled
/// weight decay; burn's `ModuleOptimizer` calls it for each parameter with its clipped gradient.
#[derive(Clone, Debug)]
pub struct KerasRule {
    optimizer: Optimizer,
    weight_decay: Option<f32>,
}

/// One parameter's optimizer state: Keras' `iterations` (steps taken) and its slot variables, in
/// the order `KerasRule::step` lists per optimizer.
#[derive(Clone, Debug)]
pub struct KerasState<const D: usize> {
    iterations: u64,
    slots: Vec<Tensor<D>>,
}

impl burn::optim::Optimizer for KerasRule {
    type State<const D: usize> = KerasState<D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<KerasState<D>>,
    ) -> (Tensor<D>, Option<KerasState<D>>) {
        // Keras' `_apply_weight_decay`, before the update, with the step's learning rate:
        // `variable.assign_sub(variable * wd * lr)`.
        let mut w = match self.weight_decay {
            Some(wd) => {
                let decay = tensor.clone().mul_scalar(wd).mul_scalar(lr as f32);
                tensor - decay
            }
            None => tensor,
        };
        let zeros = || w.zeros_like();
        let (iterations, mut slots) = match state {
            Some(s) => (s.iterations, s.slots),
            None => (0, Vec::new()),
        };
        let lr32 = lr as f32;
        match &self.optimizer {
            // slots: [m] when momentum > 0.
            Optimizer::Sgd { momentum, nesterov } => {
                if *momentum != 0.0 {
                    let m = slots.pop().unwrap_or_else(zeros);
                    let m = m.mul_scalar(*momentum) - grad.clone().mul_scalar(lr32);
                    w = if *nesterov {
                        w + (m.clone().mul_scalar(*momentum) - grad.mul_scalar(lr32))
                    } else {
                        w + m.clone()
                    };
                    slots = vec![m];
                } else {
                    w = w - grad.mul_scalar(lr32);
                }
            }
            // slots: [m, v] (+ [v_hat] with amsgrad).
            Optimizer::Adam {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
            } => {
                (w, slots) = adam_step(
                    w, grad, slots, lr, iterations, *beta_1, *beta_2, *epsilon, *amsgrad,
                );
            }
            Optimizer::AdamW {
                beta_1,
                beta_2,
                epsilon,
                ..
            } => {
                (w, slots) = adam_step(
                    w, grad, slots, lr, iterations, *beta_1, *beta_2, *epsilon, false,
                );
            }
            // slots: [velocity, momentum?, average_grad?].
            Optimizer::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => {
                let mut it = slots.into_iter();
                let velocity = it.next().unwrap_or_else(zeros);
                let mom = (*momentum > 0.0).then(|| it.next().unwrap_or_else(zeros));
                let average = centered.then(|| it.next().unwrap_or_else(zeros));
                let velocity =
                    velocity.mul_scalar(*rho) + grad.clone().square().mul_scalar(one_minus(*rho));
                let (denominator, average) = match average {
                    Some(avg) => {
                        let avg = avg.mul_scalar(*rho) + grad.clone().mul_scalar(one_minus(*rho));
                        let d = velocity.clone() - avg.clone().square();
                        (d.add_scalar(*epsilon), Some(avg))
                    }
                    None => (velocity.clone().add_scalar(*epsilon), None),
                };
                let increment = grad.mul_scalar(lr32).div(denominator.sqrt());
                let mom = match mom {
                    Some(m) => {
                        let m = m.mul_scalar(*momentum) + increment;
                        w = w - m.clone();
                        Some(m)
                    }
                    None => {
                        w = w - increment;
                        None
                    }
                };
                slots = std::iter::once(velocity)
                    .chain(mom)
                    .chain(average)
                    .collect();
            }
            // slots: [accumulator].
            Optimizer::Adagrad {
                initial_accumulator_value,
                epsilon,
            } => {
                let acc = slots
                    .pop()
                    .unwrap_or_else(|| w.full_like(*initial_accumulator_value));
                let acc = acc + grad.clone().square();
                let update = grad
                    .mul_scalar(lr32)
                    .div(acc.clone().add_scalar(*epsilon).sqrt());
                w = w - update;
                slots = vec![acc];
            }
        }
        let state = KerasState {
            iterations: iterations + 1,
            slots,
        };
        (w, Some(state))
    }

    fn to_device<const D: usize>(mut state: KerasState<D>, device: &Device) -> KerasState<D> {
        state.slots = state
            .slots
            .into_iter()
            .map(|t| t.to_device(device))
            .collect();
        state
    }
}

/// `1 - x` as Keras computes it: `x` is the Python float the user wrote (graft keeps it as the
/// nearest f32, whose shortest decimal is that number), `1 - x` is taken in float64 and rounded
/// to float32 once. In float32 `1 - 0.999f32` is 0.0010000467, 5e-5 away from Keras' 0.001.
fn one_minus(x: f32) -> f32 {
    let written: f64 = x.to_string().parse().unwrap_or(x as f64);
    (1.0 - written) as f32
}

/// Keras' Adam `update_step`: `alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)`, `m += (g - m)(1 - b1)`,
/// `v += (g² - v)(1 - b2)`, `w -= m * alpha / (sqrt(v) + eps)` (epsilon outside the bias
/// correction, unlike PyTorch's and burn's Adam).
#[allow(clippy::too_many_arguments)]
fn adam_step<const D: usize>(
    w: Tensor<D>,
    grad: Tensor<D>,
    slots: Vec<Tensor<D>>,
    lr: f64,
    iterations: u64,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    amsgrad: bool,
) -> (Tensor<D>, Vec<Tensor<D>>) {
    let mut it = slots.into_iter();
    let zeros = || w.zeros_like();
    let m = it.next().unwrap_or_else(zeros);
    let v = it.next().unwrap_or_else(zeros);
    let v_hat = amsgrad.then(|| it.next().unwrap_or_else(zeros));
    // In float32, as Keras computes them (`ops.power` and `ops.sqrt` on float32 scalars).
    let t = (iterations + 1) as f32;
    let alpha = lr as f32 * (1.0 - beta_2.powf(t)).sqrt() / (1.0 - beta_1.powf(t));
    let m = m.clone() + (grad.clone() - m).mul_scalar(one_minus(beta_1));
    let v = v.clone() + (grad.square() - v).mul_scalar(one_minus(beta_2));
    let (denominator_v, v_hat) = match v_hat {
        Some(h) => {
            let h = h.max_pair(v.clone());
            (h.clone(), Some(h))
        }
        None => (v.clone(), None),
    };
    let update = m
        .clone()
        .mul_scalar(alpha)
        .div(denominator_v.sqrt().add_scalar(epsilon));
    let slots = [m, v].into_iter().chain(v_hat).collect();
    (w - update, slots)
}

impl<const D: usize> RecordState for KerasState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        out.push_scalar(prefix, "iterations", self.iterations.into());
        out.push_scalar(prefix, "slots.len", self.slots.len().into());
        for (i, slot) in self.slots.iter().enumerate() {
            out.push_tensor(prefix, &format!("slots.{i}"), slot.clone().into_data());
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let iterations = u64::try_from(src.take_scalar(prefix, "iterations")?).ok()?;
        let len = usize::try_from(src.take_scalar(prefix, "slots.len")?).ok()?;
        let slots = (0..len)
            .map(|i| {
                let data = src.take_tensor(prefix, &format!("slots.{i}"))?;
                Some(Tensor::from_data(data, device))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { iterations, slots })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `global_clipnorm` scales every gradient by one factor (Keras' parity cases are in
    /// tests/train_optimizers.rs); a non-finite norm makes every step NaN, as in Keras; a
    /// per-parameter `clipnorm` takes precedence.
    #[test]
    fn global_clipnorm_scales_all_gradients_together() {
        let sgd = OptimizerConfig::sgd(1.0).global_clipnorm(1.0);
        // Gradients (3, 0) and (0, 4): joint norm 5, so each is scaled by 1/5.
        let after = sgd.run_on_gradients(
            &[vec![0.0, 0.0], vec![0.0, 0.0]],
            &[vec![vec![3.0, 0.0], vec![0.0, 4.0]]],
            &[1.0],
        );
        assert_eq!(after[0], vec![vec![-0.6, 0.0], vec![0.0, -0.8]]);
        let after = sgd.run_on_gradients(&[vec![0.0]], &[vec![vec![f32::INFINITY]]], &[1.0]);
        assert!(after[0][0][0].is_nan());
        let per_parameter = sgd.clipnorm(10.0);
        let after = per_parameter.run_on_gradients(
            &[vec![0.0, 0.0], vec![0.0, 0.0]],
            &[vec![vec![3.0, 0.0], vec![0.0, 4.0]]],
            &[1.0],
        );
        assert_eq!(after[0], vec![vec![-3.0, 0.0], vec![0.0, -4.0]]);
    }

    /// The optimizer state survives burn's record round trip (BackupAndRestore relies on it):
    /// a restored optimizer's next step equals the original's.
    #[test]
    fn state_round_trips_through_the_optimizer_record() {
        // RMSprop with momentum and centring keeps three slots per parameter.
        let mut cfg = OptimizerConfig::rmsprop(0.01);
        cfg.optimizer = Optimizer::RmsProp {
            rho: 0.9,
            momentum: 0.5,
            epsilon: 1e-7,
            centered: true,
        };
        let w = vec![vec![0.5f32, -1.0, 2.0]];
        let g = vec![vec![0.1f32, 0.2, -0.3]];
        // Two uninterrupted steps...
        let two = cfg.run_on_gradients(&w, &[g.clone(), g.clone()], &[0.01, 0.01]);
        // ...against one step, save, load into a fresh optimizer, one more step (a lost state
        // would restart the moments and land elsewhere).
        let device = graft_burn::default_device().autodiff();
        let mut params = vec![burn::module::Param::from_tensor(Tensor::<1>::from_data(
            TensorData::new(w[0].clone(), [3]),
            &device,
        ))];
        let mut opt = cfg.build();
        for round in 0..2 {
            let loss = params[0]
                .val()
                .mul(Tensor::<1>::from_data(
                    TensorData::new(g[0].clone(), [3]),
                    &device,
                ))
                .sum();
            let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &params);
            params = opt.step(0.01, params, grads);
            if round == 0 {
                opt = cfg.build().load_record(opt.to_record());
            }
        }
        let got = params[0].val().into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(got, two[1][0]);
    }
}
