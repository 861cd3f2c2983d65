//! Keras' default initializers, for layers created without weights (a new head, an
//! application built with `weights=None`).
//!
//! Each layer draws from its own generator seeded by `(seed, layer name)`, so adding or removing a
//! layer never changes another layer's initial weights.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::IrError;
use crate::graph::{Graph, Weight};
use crate::op::{Op, WeightSpec};
use crate::shape::Shape;
use crate::tensor::Tensor;

fn layer_rng(seed: u64, name: &str) -> ChaCha8Rng {
    // FNV-1a of the name, mixed with the seed.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ChaCha8Rng::seed_from_u64(seed ^ h.rotate_left(17))
}

/// The value Keras would start `spec` at.
pub fn initial_value(op: &Op, spec: &WeightSpec, rng: &mut ChaCha8Rng) -> Tensor {
    let shape = spec.shape.clone();
    let n: usize = shape.iter().product();
    let uniform = |rng: &mut ChaCha8Rng, limit: f32| -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-limit..limit)).collect()
    };
    let data = match spec.name {
        "bias" | "beta" | "moving_mean" | "mean" | "count" => vec![0.0; n],
        "gamma" | "moving_variance" | "variance" => vec![1.0; n],
        "embeddings" => uniform(rng, 0.05),
        "kernel" | "pointwise_kernel" | "depthwise_kernel" => {
            let (fan_in, fan_out) = glorot_fans(op, spec);
            let limit = (6.0 / (fan_in + fan_out).max(1) as f32).sqrt();
            uniform(rng, limit)
        }
        _ => vec![0.0; n],
    };
    Tensor::new(shape, data).expect("shape and data agree")
}

/// `(fan_in, fan_out)` as Keras computes them from the weight's Keras-layout shape `(k.., in,
/// out)`: the receptive field multiplies both. IR kernels are `[out, in/groups, k..]`;
/// depthwise ones `[in*m, 1, k..]`, which Keras sees as `(k.., in, m)`.
fn glorot_fans(op: &Op, spec: &WeightSpec) -> (usize, usize) {
    let s = &spec.shape;
    let depthwise_multiplier = match op {
        Op::DepthwiseConv(c) => Some(c.depth_multiplier),
        Op::SeparableConv(c) if spec.name == "depthwise_kernel" => Some(c.depth_multiplier),
        _ => None,
    };
    match depthwise_multiplier {
        Some(m) => {
            let receptive: usize = s[2..].iter().product();
            let m = m.max(1);
            ((s[0] / m) * receptive, m * receptive)
        }
        None => fans_plain(op, spec),
    }
}

fn fans_plain(op: &Op, spec: &WeightSpec) -> (usize, usize) {
    let s = &spec.shape;
    match (op, s.len()) {
        (Op::Dense(_), _) | (Op::Embedding(_), _) => (s[0], s[1]),
        (_, r) if r >= 3 => {
            let receptive: usize = s[2..].iter().product();
            (s[1] * receptive, s[0] * receptive)
        }
        _ => {
            let n: usize = s.iter().product();
            (n, n)
        }
    }
}

impl Graph {
    /// Gives every layer that owns weights but has none Keras' initial values. Layers that
    /// already have weights are left alone. Nested models are filled too.
    pub fn initialize_missing_weights(&mut self, seed: u64) -> Result<usize, IrError> {
        let shapes = self.infer_shapes()?;
        let mut filled = 0;
        for layer in &mut self.layers {
            if let Op::Model(inner) = &mut layer.op {
                filled += inner.initialize_missing_weights(seed)?;
                continue;
            }
            if !layer.weights.is_empty() {
                continue;
            }
            let Some(node) = layer.nodes.first() else {
                continue;
            };
            let inputs: Vec<Shape> = node
                .inputs
                .iter()
                .map(|r| shapes.get(r).cloned().unwrap_or_default())
                .collect();
            let specs = layer
                .op
                .weight_specs(&inputs)
                .map_err(|message| IrError::Shape {
                    layer: layer.name.clone(),
                    type_name: layer.op.type_name(),
                    message,
                })?;
            if specs.is_empty() {
                continue;
            }
            let mut rng = layer_rng(seed, &layer.name);
            layer.weights = specs
                .iter()
                .map(|spec| Weight::from_spec(spec, initial_value(&layer.op, spec, &mut rng)))
                .collect();
            filled += 1;
        }
        Ok(filled)
    }
}
