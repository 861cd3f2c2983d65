//! Which IR weight each stored Keras weight fills, in the order Keras stores them, and the
//! bookkeeping that fills a graph's layers from them.
//!
//! Keras' legacy files store a layer's weights as `layer.trainable_weights +
//! layer.non_trainable_weights`. For a plain layer that is its creation order; for a nested model
//! it is every trainable weight of every inner layer first, then every non-trainable one (BN
//! moving statistics, and all weights of frozen inner layers) — a stable partition by effective
//! trainability, which [`layer_slots`] reproduces.

use std::collections::BTreeMap;

use graft_ir::{Graph, Layer, Op, Shape, Tensor, Weight, WeightSpec};

use super::layout::{keras_shape, keras_to_ir};
use crate::error::Reason;

/// Where one stored weight goes.
#[derive(Clone, Debug)]
pub struct Slot {
    /// Layer indices from the top graph down to the owning layer.
    pub path: Vec<usize>,
    /// `/`-joined layer names, for messages.
    pub layer_name: String,
    /// The IR weight this stored weight becomes: its index among the layer's specs, and the
    /// spec.
    pub spec: (usize, WeightSpec),
    /// How many weights the owning layer has in the IR.
    pub layer_weights: usize,
    /// Canonical name.
    pub name: String,
    /// Effective trainability: the weight's own flag and every enclosing layer's.
    pub trainable: bool,
}

/// The weight specs of every layer of `graph` (empty for weightless ones and nested models).
pub fn graph_specs(graph: &Graph) -> Result<Vec<Vec<WeightSpec>>, Reason> {
    let shapes = graph.infer_shapes()?;
    graph
        .layers
        .iter()
        .map(|layer| {
            if layer.as_model().is_some() {
                return Ok(vec![]);
            }
            let Some(node) = layer.nodes.first() else {
                return Ok(vec![]);
            };
            let inputs: Vec<Shape> = node
                .inputs
                .iter()
                .map(|r| shapes.get(r).cloned().unwrap_or_default())
                .collect();
            layer
                .op
                .weight_specs(&inputs)
                .map_err(|m| Reason::layer(&layer.name, &layer.op.type_name(), m))
        })
        .collect()
}

/// The slots of top-level layer `index` (whose graph's specs are `specs`), in the order a
/// legacy Keras file stores them.
pub fn layer_slots(
    graph: &Graph,
    specs: &[Vec<WeightSpec>],
    index: usize,
) -> Result<Vec<Slot>, Reason> {
    let mut out = vec![];
    collect(graph, specs, index, &mut vec![], "", true, &mut out)?;
    // Stable partition: trainable first.
    let (mut trainable, rest): (Vec<Slot>, Vec<Slot>) = out.into_iter().partition(|s| s.trainable);
    trainable.extend(rest);
    Ok(trainable)
}

/// True when layer `index` stores any weight (nested models: any inner layer does).
pub fn has_weights(graph: &Graph, specs: &[Vec<WeightSpec>], index: usize) -> Result<bool, Reason> {
    match graph.layers[index].as_model() {
        Some(inner) => {
            let inner_specs = graph_specs(inner)?;
            for i in 0..inner.layers.len() {
                if has_weights(inner, &inner_specs, i)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        None => Ok(!specs[index].is_empty()),
    }
}

fn collect(
    graph: &Graph,
    specs: &[Vec<WeightSpec>],
    index: usize,
    path: &mut Vec<usize>,
    prefix: &str,
    parent_trainable: bool,
    out: &mut Vec<Slot>,
) -> Result<(), Reason> {
    let layer = &graph.layers[index];
    let trainable = parent_trainable && layer.trainable;
    let name = format!("{prefix}{}", layer.name);
    path.push(index);
    if let Op::Model(inner) = &layer.op {
        let inner_specs = graph_specs(inner)?;
        let nested_prefix = format!("{name}/");
        for i in 0..inner.layers.len() {
            collect(inner, &inner_specs, i, path, &nested_prefix, trainable, out)?;
        }
    } else {
        let layer_specs = &specs[index];
        for (i, spec) in layer_specs.iter().enumerate() {
            out.push(Slot {
                path: path.clone(),
                layer_name: name.clone(),
                spec: (i, spec.clone()),
                layer_weights: layer_specs.len(),
                name: spec.name.to_string(),
                trainable: trainable && spec.trainable,
            });
        }
    }
    path.pop();
    Ok(())
}

/// The layer at `path`.
pub fn layer_at<'a>(graph: &'a Graph, path: &[usize]) -> &'a Layer {
    let (&last, parents) = path.split_last().expect("non-empty path");
    let mut g = graph;
    for &i in parents {
        g = g.layers[i]
            .as_model()
            .expect("paths go through nested models");
    }
    &g.layers[last]
}

fn layer_at_mut<'a>(graph: &'a mut Graph, path: &[usize]) -> &'a mut Layer {
    let (&last, parents) = path.split_last().expect("non-empty path");
    let mut g = graph;
    for &i in parents {
        g = match &mut g.layers[i].op {
            Op::Model(inner) => inner,
            _ => unreachable!("paths go through nested models"),
        };
    }
    &mut g.layers[last]
}

/// Weights read so far, waiting to be put into their layers once each layer is complete.
#[derive(Default)]
pub struct Filler {
    pending: BTreeMap<Vec<usize>, (String, Vec<Option<Weight>>)>,
}

impl Filler {
    /// Converts a stored tensor (Keras layout) for `slot` and checks its shape. `stored_name` is
    /// the name in the file, checked against the slot where it says something.
    pub fn put(
        &mut self,
        graph: &Graph,
        slot: &Slot,
        stored_name: &str,
        tensor: Tensor,
    ) -> Result<(), Reason> {
        let (spec_index, spec) = &slot.spec;
        check_name(slot, stored_name)?;
        let layer = layer_at(graph, &slot.path);
        let found = tensor.shape().to_vec();
        let converted = keras_to_ir(&layer.op, spec.name, tensor)
            .map_err(|m| Reason::weight(&slot.layer_name, stored_name, m))?;
        if converted.shape() != spec.shape.as_slice() {
            return Err(Reason::weight(
                &slot.layer_name,
                stored_name,
                format!(
                    "has shape {found:?} in the file; the layer needs {:?}",
                    keras_shape(&layer.op, spec.name, &spec.shape)
                ),
            ));
        }
        let entry = self
            .pending
            .entry(slot.path.clone())
            .or_insert_with(|| (slot.layer_name.clone(), vec![None; slot.layer_weights]));
        entry.1[*spec_index] = Some(Weight::from_spec(spec, converted));
        Ok(())
    }

    /// Puts every completed layer's weights in place; a layer left incomplete is an error.
    /// Returns how many layers were filled.
    pub fn finish(self, graph: &mut Graph) -> Result<usize, Reason> {
        let mut filled = 0;
        for (path, (name, values)) in self.pending {
            let weights = values
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    Reason::Weights(format!("layer '{name}' got only some of its weights"))
                })?;
            layer_at_mut(graph, &path).weights = weights;
            filled += 1;
        }
        Ok(filled)
    }
}

/// Every name Keras gives weights; a stored name ending in one of these must match its slot.
const KNOWN: &[&str] = &[
    "kernel",
    "bias",
    "depthwise_kernel",
    "pointwise_kernel",
    "gamma",
    "beta",
    "moving_mean",
    "moving_variance",
    "embeddings",
    "mean",
    "variance",
    "count",
];

/// `conv1/kernel:0` -> `kernel`. Keras-1 names (`block1_conv1_W_1:0`) say nothing checkable.
fn check_name(slot: &Slot, stored: &str) -> Result<(), Reason> {
    let base = stored.rsplit('/').next().unwrap_or(stored);
    let base = base.split(':').next().unwrap_or(base);
    // Keras 3 calls DepthwiseConv2D's weight `kernel`.
    let alias = slot.name == "depthwise_kernel" && base == "kernel";
    if KNOWN.contains(&base) && base != slot.name && !alias {
        return Err(Reason::weight(
            &slot.layer_name,
            stored,
            format!(
                "stored where graft expects '{}': the file's weight order does not match the layer",
                slot.name
            ),
        ));
    }
    Ok(())
}
