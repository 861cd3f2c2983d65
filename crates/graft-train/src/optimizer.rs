//! Optimizers with Keras' names and defaults, built on burn's.
//!
//! Differences from Keras that remain, all small: burn's Adam puts epsilon outside the bias
//! correction as PyTorch does; its weight decay is an L2 term added to the gradient (Keras 3
//! decays the weights directly, "decoupled", for every optimizer but AdamW, where both agree);
//! Adagrad's accumulator starts at 0 rather than Keras' 0.1; `clipnorm` clips each parameter's
//! gradient (Keras' `clipnorm` too; its `global_clipnorm` has no burn counterpart).

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdaGradConfig, AdamConfig, AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig,
};

/// An optimizer and its hyper-parameters (the learning rate is kept separately: schedules and
/// callbacks change it during training).
#[derive(Clone, Debug, PartialEq)]
pub enum Optimizer {
    Sgd {
        momentum: f32,
        nesterov: bool,
    },
    Adam {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        amsgrad: bool,
    },
    AdamW {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        weight_decay: f32,
    },
    RmsProp {
        rho: f32,
        momentum: f32,
        epsilon: f32,
        centered: bool,
    },
    Adagrad {
        epsilon: f32,
    },
}

/// An optimizer with its learning rate, weight decay and gradient clipping.
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerConfig {
    pub optimizer: Optimizer,
    pub learning_rate: f64,
    /// L2 penalty (AdamW: its own decoupled decay instead).
    pub weight_decay: Option<f32>,
    pub clipnorm: Option<f32>,
    pub clipvalue: Option<f32>,
}

impl OptimizerConfig {
    fn with(optimizer: Optimizer, learning_rate: f64) -> Self {
        Self {
            optimizer,
            learning_rate,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
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

    /// `keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0)`.
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

    /// `keras.optimizers.Adagrad(learning_rate=0.001)`.
    pub fn adagrad(learning_rate: f64) -> Self {
        Self::with(Optimizer::Adagrad { epsilon: 1e-7 }, learning_rate)
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

    /// Builder: L2 weight decay.
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

    /// The burn optimizer.
    pub fn build(&self) -> ModuleOptimizer {
        let decay = self.weight_decay.map(WeightDecayConfig::new);
        let clip = match (self.clipnorm, self.clipvalue) {
            (Some(n), _) => Some(GradientClippingConfig::Norm(n)),
            (None, Some(v)) => Some(GradientClippingConfig::Value(v)),
            (None, None) => None,
        };
        match &self.optimizer {
            Optimizer::Sgd { momentum, nesterov } => SgdConfig::new()
                .with_momentum((*momentum > 0.0).then(|| {
                    MomentumConfig::new()
                        .with_momentum(*momentum as f64)
                        .with_dampening(0.0)
                        .with_nesterov(*nesterov)
                }))
                .with_weight_decay(decay)
                .with_gradient_clipping(clip)
                .init(),
            Optimizer::Adam {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
            } => AdamConfig::new()
                .with_beta_1(*beta_1)
                .with_beta_2(*beta_2)
                .with_epsilon(*epsilon)
                .with_amsgrad(*amsgrad)
                .with_weight_decay(decay)
                .with_grad_clipping(clip)
                .init(),
            Optimizer::AdamW {
                beta_1,
                beta_2,
                epsilon,
                weight_decay,
            } => AdamWConfig::new()
                .with_beta_1(*beta_1)
                .with_beta_2(*beta_2)
                .with_epsilon(*epsilon)
                .with_weight_decay(*weight_decay)
                .with_grad_clipping(clip)
                .init(),
            Optimizer::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => RmsPropConfig::new()
                .with_alpha(*rho)
                .with_momentum(*momentum)
                .with_epsilon(*epsilon)
                .with_centered(*centered)
                .with_weight_decay(decay)
                .with_grad_clipping(clip)
                .init(),
            Optimizer::Adagrad { epsilon } => AdaGradConfig::new()
                .with_epsilon(*epsilon)
                .with_weight_decay(decay)
                .with_grad_clipping(clip)
                .init(),
        }
    }
}
