//! IR weights to what Keras stores: Keras' layouts (HWIO kernels), its variable names in each
//! dialect, and its two storage orders (legacy `.h5`: a nested model's trainable weights first
//! across all its layers; `.keras`: each layer's own variables).

use std::collections::HashMap;

use graft_ir::{Graph, GraphKind, Layer, Op, ShapeMap, Tensor};

use crate::config::Dialect;
use crate::error::Reason;
use crate::weights::layout::ir_to_keras;
use crate::weights::slots::{graph_specs, layer_slots};

/// One weight as Keras stores it.
#[derive(Clone, Debug)]
pub(crate) struct StoredWeight {
    /// The variable's own name (`kernel`, `moving_mean`).
    pub var: &'static str,
    /// The name a legacy `.h5` file lists in `weight_names` (`conv1/kernel:0`).
    pub legacy_name: String,
    /// In Keras' layout.
    pub tensor: Tensor,
    /// Stored as int64 (Normalization's sample count), otherwise float32.
    pub int64: bool,
}

/// Keras' variable name for IR weight `weight` of `op`.
fn var_name(op: &Op, weight: &str, dialect: Dialect) -> &'static str {
    match (op, weight) {
        // Keras 3 calls DepthwiseConv's kernel `kernel`, tf.keras `depthwise_kernel`.
        (Op::DepthwiseConv(_), "depthwise_kernel") if dialect == Dialect::Keras3 => "kernel",
        (_, "kernel") => "kernel",
        (_, "bias") => "bias",
        (_, "depthwise_kernel") => "depthwise_kernel",
        (_, "pointwise_kernel") => "pointwise_kernel",
        (_, "gamma") => "gamma",
        (_, "beta") => "beta",
        (_, "moving_mean") => "moving_mean",
        (_, "moving_variance") => "moving_variance",
        (_, "mean") => "mean",
        (_, "variance") => "variance",
        (_, "count") => "count",
        (_, "embeddings") => "embeddings",
        _ => "weight",
    }
}

/// The legacy name of variable `var` of layer `layer` whose enclosing model is `container`:
/// Keras 3 names variables by their creation path (a Sequential builds its layers inside its
/// own name scope), tf.keras by `layer/var:0`.
fn legacy_name(
    container: &Graph,
    container_name: &str,
    layer: &str,
    var: &str,
    dialect: Dialect,
) -> String {
    match dialect {
        Dialect::Keras3 if container.kind == GraphKind::Sequential => {
            format!("{container_name}/{layer}/{var}")
        }
        Dialect::Keras3 => format!("{layer}/{var}"),
        Dialect::TfKeras2 => format!("{layer}/{var}:0"),
    }
}

/// The input channel count of a layer's first call, which splits depthwise kernels.
fn in_channels(layer: &Layer, shapes: &ShapeMap) -> usize {
    let format = match &layer.op {
        Op::DepthwiseConv(c) => c.data_format,
        Op::SeparableConv(c) => c.data_format,
        _ => return 0,
    };
    layer
        .nodes
        .first()
        .and_then(|n| n.inputs.first())
        .and_then(|r| shapes.get(r))
        .and_then(|s| format.channels(s))
        .unwrap_or(0)
}

fn convert(
    layer: &Layer,
    index: usize,
    shapes: &ShapeMap,
    dialect: Dialect,
    container: (&Graph, &str),
) -> Result<StoredWeight, Reason> {
    let w = &layer.weights[index];
    let tensor = ir_to_keras(&layer.op, &w.name, &w.tensor, in_channels(layer, shapes))
        .map_err(|m| Reason::weight(&layer.name, &w.name, m))?;
    let var = var_name(&layer.op, &w.name, dialect);
    Ok(StoredWeight {
        var,
        legacy_name: legacy_name(container.0, container.1, &layer.name, var, dialect),
        tensor,
        int64: w.name == "count",
    })
}

/// A plain layer's weights in its own order (what `.keras` files store under `vars/<i>`).
pub(crate) fn own_weights(
    graph: &Graph,
    graph_name: &str,
    shapes: &ShapeMap,
    layer: &Layer,
    dialect: Dialect,
) -> Result<Vec<StoredWeight>, Reason> {
    (0..layer.weights.len())
        .map(|i| convert(layer, i, shapes, dialect, (graph, graph_name)))
        .collect()
}

/// What a legacy `.h5` stores for top-level layer `index` of `graph` (named `graph_name`):
/// `layer.trainable_weights + layer.non_trainable_weights`, which for a nested model is every
/// trainable weight of every inner layer first.
pub(crate) fn legacy_weights(
    graph: &Graph,
    graph_name: &str,
    shapes: &ShapeMap,
    index: usize,
    dialect: Dialect,
) -> Result<Vec<StoredWeight>, Reason> {
    let layer = &graph.layers[index];
    let Op::Model(_) = &layer.op else {
        return own_weights(graph, graph_name, shapes, layer, dialect);
    };
    let specs = graph_specs(graph)?;
    let slots = layer_slots(graph, &specs, index)?;
    let mut cache: HashMap<Vec<usize>, ShapeMap> = HashMap::new();
    let mut out = Vec::with_capacity(slots.len());
    for slot in slots {
        // Walk down to the owning layer, remembering its enclosing model.
        let (&last, parents) = slot.path.split_last().expect("non-empty path");
        let mut container = graph;
        let mut container_name = graph_name;
        for &i in parents {
            container_name = &container.layers[i].name;
            container = container.layers[i]
                .as_model()
                .expect("slot paths go through nested models");
        }
        let owner = &container.layers[last];
        if !cache.contains_key(parents) {
            cache.insert(parents.to_vec(), container.infer_shapes()?);
        }
        let inner_shapes = &cache[parents];
        out.push(convert(
            owner,
            slot.spec.0,
            inner_shapes,
            dialect,
            (container, container_name),
        )?);
    }
    Ok(out)
}
