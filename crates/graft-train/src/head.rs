//! New heads for transfer learning: pooling, dropout and dense layers on top of a cut model,
//! initialised the way Keras initialises new layers.

use graft_ir::{
    Activation, DataFormat, DenseConfig, DropoutConfig, FlattenConfig, GlobalPoolConfig, Graph,
    Layer, Op, PoolKind, TensorRef,
};

use crate::error::TrainError;

/// How the head reduces a feature map to a vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum HeadPooling {
    /// GlobalAveragePooling2D (Keras' `pooling="avg"`).
    #[default]
    Average,
    /// GlobalMaxPooling2D (`pooling="max"`).
    Max,
    /// Flatten.
    Flatten,
    /// The cut output is already a vector.
    None,
}

/// A classification head: `pooling -> [dropout] -> dense(hidden...) -> [dropout] -> dense(classes)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Head {
    pub pooling: HeadPooling,
    /// Hidden Dense layers' widths.
    pub hidden: Vec<usize>,
    pub hidden_activation: Activation,
    /// Dropout rate before each Dense layer (0 for none).
    pub dropout: f32,
    /// Output units and their activation: softmax over `classes` for multi-class, one sigmoid
    /// unit for binary, `classes` sigmoids for multi-label, linear for regression.
    pub outputs: usize,
    pub output_activation: Activation,
    /// Seeds the new layers' initial weights.
    pub seed: u64,
}

impl Head {
    /// `classes` mutually exclusive classes (softmax).
    pub fn classifier(classes: usize) -> Self {
        Self {
            pooling: HeadPooling::Average,
            hidden: vec![],
            hidden_activation: Activation::Relu,
            dropout: 0.0,
            outputs: classes,
            output_activation: Activation::Softmax { axis: -1 },
            seed: 0,
        }
    }

    /// Two classes with one sigmoid unit.
    pub fn binary() -> Self {
        Self {
            outputs: 1,
            output_activation: Activation::Sigmoid,
            ..Self::classifier(1)
        }
    }

    /// `labels` independent yes/no labels (sigmoids).
    pub fn multi_label(labels: usize) -> Self {
        Self {
            outputs: labels,
            output_activation: Activation::Sigmoid,
            ..Self::classifier(labels)
        }
    }

    pub fn pooling(mut self, pooling: HeadPooling) -> Self {
        self.pooling = pooling;
        self
    }

    pub fn dropout(mut self, rate: f32) -> Self {
        self.dropout = rate;
        self
    }

    pub fn hidden(mut self, units: &[usize], activation: Activation) -> Self {
        self.hidden = units.to_vec();
        self.hidden_activation = activation;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Appends the head to `base`'s (single) output and returns the new model. New layers are
    /// named `head_pool`, `head_dropout_1`, `head_dense_1`, ..., `predictions` (suffixed when a
    /// name is taken) and start with Keras' default initial weights.
    pub fn attach(&self, base: &Graph) -> Result<Graph, TrainError> {
        let [output] = base.outputs.as_slice() else {
            return Err(TrainError::Config(format!(
                "a head attaches to a model with one output; '{}' has {}",
                base.name,
                base.outputs.len()
            )));
        };
        let shapes = base.infer_shapes()?;
        let shape = shapes
            .get(output)
            .cloned()
            .ok_or_else(|| TrainError::Config("the base's output shape is unknown".into()))?;
        let mut g = base.clone();
        let mut x: TensorRef = output.clone();
        let mut add = |g: &mut Graph, name: &str, op: Op, x: &mut TensorRef| {
            let name = g.unique_name(name);
            *x = g.push(Layer::new(name, op), vec![x.clone()]);
        };
        let spatial = shape.rank() > 2;
        match (self.pooling, spatial) {
            (HeadPooling::None, true) => {
                return Err(TrainError::Config(format!(
                    "the base's output {shape} is a feature map: choose a pooling (avg, max or flatten)"
                )));
            }
            (HeadPooling::None, false) | (_, false) => {}
            (HeadPooling::Flatten, true) => add(
                &mut g,
                "head_flatten",
                Op::Flatten(FlattenConfig {
                    data_format: DataFormat::ChannelsLast,
                }),
                &mut x,
            ),
            (pooling, true) => {
                // The base's own layout: channels-first for ONNX imports.
                let data_format = base
                    .layers
                    .iter()
                    .rev()
                    .find_map(|l| spatial_format(&l.op))
                    .unwrap_or(DataFormat::ChannelsLast);
                add(
                    &mut g,
                    "head_pool",
                    Op::GlobalPool(GlobalPoolConfig {
                        kind: if pooling == HeadPooling::Max {
                            PoolKind::Max
                        } else {
                            PoolKind::Average
                        },
                        keepdims: false,
                        data_format,
                        rank: shape.rank() - 2,
                    }),
                    &mut x,
                );
            }
        }
        let dropout =
            |g: &mut Graph,
             x: &mut TensorRef,
             i: usize,
             add: &mut dyn FnMut(&mut Graph, &str, Op, &mut TensorRef)| {
                if self.dropout > 0.0 {
                    add(
                        g,
                        &format!("head_dropout_{i}"),
                        Op::Dropout(DropoutConfig {
                            rate: self.dropout,
                            noise_shape: None,
                            seed: None,
                        }),
                        x,
                    );
                }
            };
        for (i, &units) in self.hidden.iter().enumerate() {
            dropout(&mut g, &mut x, i + 1, &mut add);
            add(
                &mut g,
                &format!("head_dense_{}", i + 1),
                Op::Dense(DenseConfig {
                    units,
                    use_bias: true,
                    activation: self.hidden_activation,
                }),
                &mut x,
            );
        }
        dropout(&mut g, &mut x, self.hidden.len() + 1, &mut add);
        add(
            &mut g,
            "predictions",
            Op::Dense(DenseConfig {
                units: self.outputs,
                use_bias: true,
                activation: self.output_activation,
            }),
            &mut x,
        );
        g.outputs = vec![x];
        g.initialize_missing_weights(self.seed)?;
        g.validate()?;
        Ok(g)
    }
}

fn spatial_format(op: &Op) -> Option<DataFormat> {
    match op {
        Op::Conv(c) => Some(c.data_format),
        Op::DepthwiseConv(c) => Some(c.data_format),
        Op::SeparableConv(c) => Some(c.data_format),
        Op::Pool(c) => Some(c.data_format),
        Op::ZeroPadding(c) => Some(c.data_format),
        _ => None,
    }
}
