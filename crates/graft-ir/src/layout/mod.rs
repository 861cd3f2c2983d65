//! Re-expressing a graph in the other data format: a channels-last (Keras) graph as a
//! channels-first one (what ONNX and PyTorch run), or the reverse, computing the same numbers.
//!
//! Each value of the graph is either kept as it is (*same*) or held with its channel axis moved
//! to where the target format wants it (*moved*; only values of rank 3 and more). Walking the
//! calls in topological order:
//!
//! - spatial ops in the source format (convolutions, pooling, padding, cropping, upsampling,
//!   LRN, BatchNormalization over the channel axis) take moved inputs and switch their
//!   `data_format` to the target;
//! - element-wise ops (activations, dropout, arithmetic with a scalar) pass the state through;
//! - ops with axes (softmax, concatenation, normalisation over one axis, padding of every axis,
//!   dropout's noise shape) pass it through with their axes renumbered;
//! - binary ops bring their inputs to one state; constant operands get a moved copy of their
//!   values (padded to the other operand's rank) instead of a run-time transpose;
//! - ops that depend on the logical order (flatten, reshape, permute, dense on rank > 2,
//!   embeddings, nested models) take same inputs, so a Keras `Flatten` keeps flattening in
//!   `H, W, C` order and an ONNX one in `C, H, W` order.
//!
//! Where a value must change state, a `Permute` layer is inserted (named after the producer:
//! `<layer>/to_channels_first` or `/to_channels_last`, one per value and state). Graph inputs
//! and outputs keep their declared layout ([`Boundary::Keep`], a `Permute` right after the input
//! or before the output) or take the target's ([`Boundary::Convert`], the declared shape changes).
//! Nested models are converted inside, with their own boundaries kept.

mod axes;

use std::collections::HashMap;

use axes::{
    activation_has_axis, fused_activation_mut, inverse, move_perm, other, remap_activation,
    remap_axis, set_format, spatial_format,
};

use crate::error::IrError;
use crate::graph::{Graph, Layer, Node, TensorRef};
use crate::op::{DataFormat, Op, PermuteConfig};
use crate::shape::{Shape, normalize_axis};
use crate::tensor::Tensor;

/// What happens to the graph's inputs and outputs of rank 3 and more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Boundary {
    /// Keep the declared layout (a `Permute` follows the input / precedes the output).
    #[default]
    Keep,
    /// Declare them in the target layout.
    Convert,
}

/// How [`convert`] treats the graph's boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LayoutOptions {
    pub inputs: Boundary,
    pub outputs: Boundary,
}

impl LayoutOptions {
    /// Inputs and outputs both kept or both converted.
    pub fn both(b: Boundary) -> Self {
        Self {
            inputs: b,
            outputs: b,
        }
    }
}

/// Which of a converted graph's inputs and outputs are declared in the target layout rather
/// than the source's, in the order of `graph.inputs` and `graph.outputs`. Only values of rank 3
/// and more under [`Boundary::Convert`] can be moved; a caller that feeds or reads the graph
/// needs this, since shapes alone cannot tell (a 4x4x4 feature map looks the same both ways).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MovedBoundaries {
    pub inputs: Vec<bool>,
    pub outputs: Vec<bool>,
}

/// `graph` re-expressed with every spatial op in `target` format. See the module docs.
pub fn convert(
    graph: Graph,
    target: DataFormat,
    options: &LayoutOptions,
) -> Result<Graph, IrError> {
    convert_reporting(graph, target, options).map(|(g, _)| g)
}

/// [`convert`], also saying which inputs and outputs now take the target layout.
pub fn convert_reporting(
    graph: Graph,
    target: DataFormat,
    options: &LayoutOptions,
) -> Result<(Graph, MovedBoundaries), IrError> {
    let mut g = graph;
    let moved = Pass::run(&mut g, target, options)?;
    g.validate()?;
    Ok((g, moved))
}

/// [`convert`] to channels-first (ONNX, PyTorch).
pub fn to_channels_first(graph: Graph, options: &LayoutOptions) -> Result<Graph, IrError> {
    convert(graph, DataFormat::ChannelsFirst, options)
}

/// [`convert`] to channels-last (Keras, TensorFlow).
pub fn to_channels_last(graph: Graph, options: &LayoutOptions) -> Result<Graph, IrError> {
    convert(graph, DataFormat::ChannelsLast, options)
}

/// Whether any spatial op of the graph (nested models included) works in `format`.
pub fn uses_format(graph: &Graph, format: DataFormat) -> bool {
    graph
        .walk()
        .iter()
        .any(|item| spatial_format(&item.layer.op) == Some(format))
}

/// The data format of a graph's spatial ops: `Some` when they all agree, `None` when the graph
/// has none or mixes both.
pub fn data_format(graph: &Graph) -> Option<DataFormat> {
    let mut found = None;
    for item in graph.walk() {
        if let Some(f) = spatial_format(&item.layer.op) {
            match found {
                None => found = Some(f),
                Some(g) if g != f => return None,
                _ => {}
            }
        }
    }
    found
}

/// The layout of a value in the converted graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum State {
    Same,
    Moved,
}

/// How an op treats the layout of its inputs.
enum Kind {
    /// Wants moved inputs; switches to the target format.
    Spatial,
    /// Element-wise: any state, passed through.
    Passthrough,
    /// Any state, axes renumbered when moved.
    Axis,
    /// Several inputs brought to one state (axes renumbered when moved).
    Binary,
    /// Wants same inputs.
    Logical,
}

struct Pass<'a> {
    source: DataFormat,
    target: DataFormat,
    options: &'a LayoutOptions,
    shapes: crate::infer::ShapeMap,
    states: HashMap<TensorRef, State>,
    /// Converter layers made, by (value, wanted state).
    converters: HashMap<(TensorRef, State), TensorRef>,
    /// New layers to insert after the layer at this index.
    inserted: HashMap<usize, Vec<Layer>>,
    names: std::collections::HashSet<String>,
    /// Per-layer state decided by the first call (shared layers keep one configuration).
    decided: HashMap<usize, State>,
}

impl<'a> Pass<'a> {
    fn run(
        g: &mut Graph,
        target: DataFormat,
        options: &'a LayoutOptions,
    ) -> Result<MovedBoundaries, IrError> {
        // Nested models first, each with its own boundaries kept.
        for layer in &mut g.layers {
            if let Op::Model(inner) = &mut layer.op {
                let taken = std::mem::take(inner.as_mut());
                **inner = convert(taken, target, &LayoutOptions::default())?;
            }
        }
        let mut pass = Pass {
            source: other(target),
            target,
            options,
            shapes: g.infer_shapes()?,
            states: HashMap::new(),
            converters: HashMap::new(),
            inserted: HashMap::new(),
            names: g.layers.iter().map(|l| l.name.clone()).collect(),
            decided: HashMap::new(),
        };
        let order = g.topological_order()?;
        let index = g
            .index()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<HashMap<_, _>>();
        for site in order {
            pass.call(g, site.layer, site.node, &index)?;
        }
        let mut moved = MovedBoundaries {
            inputs: g
                .inputs
                .iter()
                .map(|r| pass.state(r) == State::Moved)
                .collect(),
            outputs: vec![],
        };
        // Outputs.
        let outputs = g.outputs.clone();
        let mut new_outputs = Vec::with_capacity(outputs.len());
        for r in outputs {
            let state = pass.state(&r);
            moved
                .outputs
                .push(state == State::Moved && options.outputs == Boundary::Convert);
            new_outputs.push(
                if state == State::Moved && options.outputs == Boundary::Keep {
                    pass.value_in_state(g, &index, &r, State::Same)?
                } else {
                    r
                },
            );
        }
        g.outputs = new_outputs;
        // Insert converters right after their producers.
        let layers = std::mem::take(&mut g.layers);
        for (i, l) in layers.into_iter().enumerate() {
            g.layers.push(l);
            if let Some(extra) = pass.inserted.remove(&i) {
                g.layers.extend(extra);
            }
        }
        // Constants whose every use moved to a moved copy are dropped.
        let mut used: std::collections::HashSet<String> =
            g.outputs.iter().map(|r| r.layer.clone()).collect();
        for l in &g.layers {
            for n in &l.nodes {
                used.extend(n.inputs.iter().map(|r| r.layer.clone()));
            }
        }
        g.layers
            .retain(|l| !matches!(l.op, Op::Constant(_)) || used.contains(&l.name));
        Ok(moved)
    }

    fn state(&self, r: &TensorRef) -> State {
        self.states.get(r).copied().unwrap_or(State::Same)
    }

    fn rank(&self, r: &TensorRef) -> usize {
        self.shapes.get(r).map_or(0, Shape::rank)
    }

    fn kind(&self, op: &Op, rank: usize) -> Kind {
        if let Some(f) = spatial_format(op) {
            return if f == self.source {
                Kind::Spatial
            } else {
                Kind::Logical
            };
        }
        match op {
            Op::BatchNorm(c) if rank >= 3 => match normalize_axis(c.axis, rank) {
                Some(a) if a == self.source.channel_axis(rank) => Kind::Spatial,
                _ => Kind::Axis,
            },
            Op::BatchNorm(_) => Kind::Axis,
            Op::LayerNorm(c) if c.axes.len() == 1 => Kind::Axis,
            Op::Normalization(c) if c.axes.len() == 1 => Kind::Axis,
            Op::Activation(a) if activation_has_axis(a) => Kind::Axis,
            Op::Softmax { .. } => Kind::Axis,
            Op::Activation(_) | Op::ReLU(_) | Op::LeakyReLU { .. } | Op::ELU { .. } => {
                Kind::Passthrough
            }
            Op::Identity => Kind::Passthrough,
            Op::Dropout(d) if d.noise_shape.is_none() => Kind::Passthrough,
            Op::Dropout(_) | Op::Pad(_) => Kind::Axis,
            Op::Math(m) if m.scalar.is_some() => Kind::Passthrough,
            Op::Rescaling(r) if r.scale.len() <= 1 && r.offset.len() <= 1 => Kind::Passthrough,
            Op::Math(_) | Op::Merge(_) | Op::Concatenate { .. } => Kind::Binary,
            _ => Kind::Logical,
        }
    }

    fn unique(&mut self, base: &str) -> String {
        crate::edit::reserve_unique_name(&mut self.names, base)
    }

    /// `r` in state `want`: itself, or through a (cached) converter layer.
    fn value_in_state(
        &mut self,
        g: &Graph,
        index: &HashMap<String, usize>,
        r: &TensorRef,
        want: State,
    ) -> Result<TensorRef, IrError> {
        let have = self.state(r);
        let rank = self.rank(r);
        if have == want || rank < 3 {
            return Ok(r.clone());
        }
        if let Some(c) = self.converters.get(&(r.clone(), want)) {
            return Ok(c.clone());
        }
        let at = *index
            .get(&r.layer)
            .ok_or_else(|| IrError::NoSuchLayer(r.layer.clone()))?;
        // Moving out of the source format, or back into it.
        let perm = match want {
            State::Moved => move_perm(rank, self.source),
            State::Same => inverse(&move_perm(rank, self.source)),
        };
        let suffix = match (want, self.target) {
            (State::Moved, DataFormat::ChannelsFirst) | (State::Same, DataFormat::ChannelsLast) => {
                "to_channels_first"
            }
            _ => "to_channels_last",
        };
        let producer = &g.layers[at];
        let base = if producer.nodes.len() > 1 || r.output > 0 {
            format!("{}_{}_{}/{suffix}", r.layer, r.node, r.output)
        } else {
            format!("{}/{suffix}", r.layer)
        };
        let name = self.unique(&base);
        let layer = Layer::new(
            name.clone(),
            Op::Permute(PermuteConfig {
                dims: perm[1..].to_vec(),
            }),
        )
        .called_on(vec![r.clone()]);
        self.inserted.entry(at).or_default().push(layer);
        let out = TensorRef::new(name);
        self.states.insert(out.clone(), want);
        self.converters.insert((r.clone(), want), out.clone());
        Ok(out)
    }

    /// A moved copy of a constant layer's value, padded to rank `rank`.
    fn moved_constant(
        &mut self,
        g: &Graph,
        index: &HashMap<String, usize>,
        r: &TensorRef,
        rank: usize,
    ) -> Result<TensorRef, IrError> {
        let key = (
            TensorRef::at(format!("{}#{rank}", r.layer), 0, 0),
            State::Moved,
        );
        if let Some(c) = self.converters.get(&key) {
            return Ok(c.clone());
        }
        let at = index[&r.layer];
        let src = &g.layers[at];
        let value = src
            .weight("value")
            .ok_or_else(|| IrError::Invalid(format!("constant '{}' has no value", src.name)))?;
        let mut dims = vec![1; rank.saturating_sub(value.tensor.shape().len())];
        dims.extend(value.tensor.shape());
        let t = Tensor::new(dims.clone(), value.tensor.data().to_vec())?
            .permuted(&move_perm(rank, self.source))?;
        let suffix = match self.target {
            DataFormat::ChannelsFirst => "channels_first",
            DataFormat::ChannelsLast => "channels_last",
        };
        let name = self.unique(&format!("{}/{suffix}", src.name));
        let mut layer = Layer::new(
            name.clone(),
            Op::Constant(crate::op::ConstantConfig {
                shape: t.shape().to_vec(),
            }),
        )
        .called_on(vec![]);
        layer.trainable = src.trainable;
        layer.weights = vec![crate::graph::Weight {
            name: "value".into(),
            tensor: t,
            trainable: value.trainable,
        }];
        self.inserted.entry(at).or_default().push(layer);
        let out = TensorRef::new(name);
        self.states.insert(out.clone(), State::Moved);
        self.converters.insert(key, out.clone());
        Ok(out)
    }

    fn is_constant(g: &Graph, index: &HashMap<String, usize>, r: &TensorRef) -> bool {
        index
            .get(&r.layer)
            .is_some_and(|&i| matches!(g.layers[i].op, Op::Constant(_)))
    }

    fn call(
        &mut self,
        g: &mut Graph,
        li: usize,
        ni: usize,
        index: &HashMap<String, usize>,
    ) -> Result<(), IrError> {
        let inputs: Vec<TensorRef> = g.layers[li].nodes[ni].inputs.clone();
        let out = TensorRef::at(g.layers[li].name.clone(), ni, 0);
        let rank_in = inputs.first().map_or(0, |r| self.rank(r));
        let rank_out = self.rank(&out);
        let from = self.source;
        if let Op::Input(_) = g.layers[li].op {
            let convert = self.options.inputs == Boundary::Convert && rank_out >= 3;
            if convert {
                if let Op::Input(c) = &mut g.layers[li].op {
                    let dims = c.shape.dims().to_vec();
                    let perm = move_perm(dims.len(), from);
                    c.shape = Shape::new(perm.iter().map(|&p| dims[p]).collect());
                }
                self.states.insert(out, State::Moved);
            }
            return Ok(());
        }
        if let Op::Constant(_) = g.layers[li].op {
            return Ok(());
        }
        let decided = self.decided.get(&li).copied();
        // A shared spatial layer was switched to the target format by its first call: its later
        // calls want moved inputs too (judged by its format now, they would look logical).
        let switched = spatial_format(&g.layers[li].op) == Some(self.target);
        let kind = if decided == Some(State::Moved) && switched {
            Kind::Spatial
        } else {
            self.kind(&g.layers[li].op, rank_in)
        };
        let (new_inputs, state) = match kind {
            Kind::Spatial => {
                let mut v = Vec::with_capacity(inputs.len());
                for r in &inputs {
                    v.push(self.value_in_state(g, index, r, State::Moved)?);
                }
                (v, State::Moved)
            }
            Kind::Logical => {
                let mut v = Vec::with_capacity(inputs.len());
                for r in &inputs {
                    v.push(self.value_in_state(g, index, r, State::Same)?);
                }
                (v, State::Same)
            }
            Kind::Passthrough | Kind::Axis => {
                let want = decided
                    .unwrap_or_else(|| inputs.first().map_or(State::Same, |r| self.state(r)));
                let mut v = Vec::with_capacity(inputs.len());
                for r in &inputs {
                    v.push(self.value_in_state(g, index, r, want)?);
                }
                (v, want)
            }
            Kind::Binary => {
                let ranks: Vec<usize> = inputs.iter().map(|r| self.rank(r)).collect();
                let max_rank = ranks.iter().copied().max().unwrap_or(0);
                let any_moved = inputs
                    .iter()
                    .any(|r| self.state(r) == State::Moved && !Self::is_constant(g, index, r));
                let mut want = decided.unwrap_or(if any_moved && max_rank >= 3 {
                    State::Moved
                } else {
                    State::Same
                });
                // Computed operands of lower rank align with trailing axes: only same works.
                let lower_computed = inputs
                    .iter()
                    .zip(&ranks)
                    .any(|(r, &k)| k < max_rank && !Self::is_constant(g, index, r));
                if lower_computed {
                    want = State::Same;
                }
                let mut v = Vec::with_capacity(inputs.len());
                for (r, &k) in inputs.iter().zip(&ranks) {
                    v.push(if want == State::Moved && Self::is_constant(g, index, r) {
                        if k >= 3 || k < max_rank {
                            self.moved_constant(g, index, r, max_rank)?
                        } else {
                            r.clone()
                        }
                    } else {
                        self.value_in_state(g, index, r, want)?
                    });
                }
                (v, want)
            }
        };
        // Configure the layer once (its first converted call decides).
        if decided.is_none() {
            self.decided.insert(li, state);
            let op = &mut g.layers[li].op;
            match kind {
                Kind::Spatial => {
                    set_format(op, self.target);
                    if let Op::BatchNorm(c) = op {
                        c.axis = self.target.channel_axis(rank_in) as i64;
                    }
                    if let Some(a) = fused_activation_mut(op)
                        && rank_out >= 3
                    {
                        remap_activation(a, rank_out, from);
                    }
                }
                Kind::Axis | Kind::Binary if state == State::Moved => {
                    let r = rank_out.max(rank_in);
                    match op {
                        Op::BatchNorm(c) => c.axis = remap_axis(c.axis, r, from),
                        Op::LayerNorm(c) => {
                            c.axes = c.axes.iter().map(|&a| remap_axis(a, r, from)).collect();
                        }
                        Op::Normalization(c) => {
                            c.axes = c.axes.iter().map(|&a| remap_axis(a, r, from)).collect();
                        }
                        Op::Activation(a) => remap_activation(a, r, from),
                        Op::Softmax { axis } => *axis = remap_axis(*axis, r, from),
                        Op::Concatenate { axis } => *axis = remap_axis(*axis, r, from),
                        Op::Dropout(d) => {
                            if let Some(ns) = &d.noise_shape {
                                let p = move_perm(ns.len(), from);
                                d.noise_shape = Some(p.iter().map(|&i| ns[i]).collect());
                            }
                        }
                        Op::Pad(c) => {
                            // pads[a - 1] is axis a; the moved value's axis i is old axis p[i].
                            let p = move_perm(r, from);
                            let old = c.pads.clone();
                            c.pads = p[1..].iter().map(|&a| old[a - 1]).collect();
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        g.layers[li].nodes[ni] = Node {
            inputs: new_inputs,
            training: g.layers[li].nodes[ni].training,
        };
        let out_state = if rank_out >= 3 { state } else { State::Same };
        let n_out = match &g.layers[li].op {
            Op::Model(inner) => inner.outputs.len(),
            _ => 1,
        };
        for o in 0..n_out {
            self.states
                .insert(TensorRef::at(g.layers[li].name.clone(), ni, o), out_state);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
