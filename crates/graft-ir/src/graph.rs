//! The model graph: named layers, the calls that wire them, and their weights.
//!
//! The structure is Keras': a layer owns its op and weights, and may be called several times
//! (a shared layer); each call is a [`Node`] whose inputs are [`TensorRef`]s, `(layer, call,
//! output)` triples. A whole graph can be a layer of another ([`Op::Model`]).

use std::collections::HashMap;
use std::fmt;

use crate::op::{InputConfig, Op, WeightSpec};
use crate::tensor::Tensor;

/// One output of one call of a layer: Keras' `keras_history` (`["conv1", 0, 0]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorRef {
    pub layer: String,
    /// Which call of the layer (0 unless the layer is shared).
    pub node: usize,
    /// Which output of that call (0 unless the layer has several).
    pub output: usize,
}

impl TensorRef {
    /// Output 0 of call 0 of `layer`.
    pub fn new(layer: impl Into<String>) -> Self {
        Self {
            layer: layer.into(),
            node: 0,
            output: 0,
        }
    }

    /// Any output of any call.
    pub fn at(layer: impl Into<String>, node: usize, output: usize) -> Self {
        Self {
            layer: layer.into(),
            node,
            output,
        }
    }
}

impl fmt::Display for TensorRef {
    /// Keras' "Connected to" notation: `conv1[0][0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}][{}]", self.layer, self.node, self.output)
    }
}

/// One call of a layer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Node {
    pub inputs: Vec<TensorRef>,
    /// Keras' `training=` call argument when given: `Some(false)` keeps the callee in inference
    /// mode even while the outer model trains (the usual way to call a frozen base).
    pub training: Option<bool>,
}

impl Node {
    /// A call on these inputs.
    pub fn new(inputs: Vec<TensorRef>) -> Self {
        Self {
            inputs,
            training: None,
        }
    }
}

/// A named weight tensor of a layer, in the IR's canonical layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Weight {
    /// Canonical name (`kernel`, `bias`, `gamma`, `moving_mean`, ...): see [`WeightSpec`].
    pub name: String,
    pub tensor: Tensor,
    /// Updated by gradient descent (false for moving statistics).
    pub trainable: bool,
}

impl Weight {
    /// A weight named and flagged as `spec` says.
    pub fn from_spec(spec: &WeightSpec, tensor: Tensor) -> Self {
        Self {
            name: spec.name.to_string(),
            tensor,
            trainable: spec.trainable,
        }
    }
}

/// A named layer: what it computes, its weights, and where it is called.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub name: String,
    pub op: Op,
    pub weights: Vec<Weight>,
    /// Keras' `trainable`: false freezes every weight of the layer (and, for a nested model,
    /// of every layer inside) and runs BatchNormalization in inference mode.
    pub trainable: bool,
    pub nodes: Vec<Node>,
}

impl Layer {
    /// A trainable layer with no weights and no calls yet.
    pub fn new(name: impl Into<String>, op: Op) -> Self {
        Self {
            name: name.into(),
            op,
            weights: vec![],
            trainable: true,
            nodes: vec![],
        }
    }

    /// Adds a call on `inputs`.
    pub fn called_on(mut self, inputs: Vec<TensorRef>) -> Self {
        self.nodes.push(Node::new(inputs));
        self
    }

    /// The weight named `name`.
    pub fn weight(&self, name: &str) -> Option<&Weight> {
        self.weights.iter().find(|w| w.name == name)
    }

    /// The nested graph when this layer is a model.
    pub fn as_model(&self) -> Option<&Graph> {
        match &self.op {
            Op::Model(g) => Some(g),
            _ => None,
        }
    }

    /// True for graph inputs.
    pub fn is_input(&self) -> bool {
        matches!(self.op, Op::Input(_))
    }
}

/// Whether a graph was written as a layer stack or as a general graph. Only presentation and
/// writers care: both run the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GraphKind {
    #[default]
    Functional,
    Sequential,
}

/// A model: layers, and which of their outputs are the model's inputs and outputs.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Graph {
    pub name: String,
    pub kind: GraphKind,
    /// In definition order; for Keras models the order of `model.layers`.
    pub layers: Vec<Layer>,
    /// Outputs of `Op::Input` layers, in the order the model takes them.
    pub inputs: Vec<TensorRef>,
    pub outputs: Vec<TensorRef>,
}

impl Graph {
    /// An empty graph.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Keras' class name of the graph as a layer.
    pub fn class_name(&self) -> &'static str {
        match self.kind {
            GraphKind::Functional => "Functional",
            GraphKind::Sequential => "Sequential",
        }
    }

    /// Index of the layer named `name`.
    pub fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name == name)
    }

    /// The layer named `name`.
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }

    /// The layer named `name`, mutably.
    pub fn layer_mut(&mut self, name: &str) -> Option<&mut Layer> {
        self.layers.iter_mut().find(|l| l.name == name)
    }

    /// Name -> index for every layer.
    pub fn index(&self) -> HashMap<&str, usize> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.as_str(), i))
            .collect()
    }

    /// The input layers' configurations, in input order.
    pub fn input_configs(&self) -> Vec<(&str, &InputConfig)> {
        self.inputs
            .iter()
            .filter_map(|r| {
                let layer = self.layer(&r.layer)?;
                match &layer.op {
                    Op::Input(c) => Some((layer.name.as_str(), c)),
                    _ => None,
                }
            })
            .collect()
    }

    /// Appends a layer called once on `inputs` and returns its output.
    pub fn push(&mut self, layer: Layer, inputs: Vec<TensorRef>) -> TensorRef {
        let r = TensorRef::at(layer.name.clone(), layer.nodes.len(), 0);
        let mut layer = layer;
        layer.nodes.push(Node::new(inputs));
        self.layers.push(layer);
        r
    }

    /// Appends an input layer and registers it as the next model input.
    pub fn push_input(&mut self, name: impl Into<String>, config: InputConfig) -> TensorRef {
        let r = self.push(Layer::new(name, Op::Input(config)), vec![]);
        self.inputs.push(r.clone());
        r
    }

    /// Every layer of this graph and of the graphs nested in it, depth first, with the
    /// effective trainability (a layer is trainable only if every enclosing model is).
    pub fn walk(&self) -> Vec<WalkItem<'_>> {
        fn go<'a>(
            g: &'a Graph,
            path: &mut Vec<&'a str>,
            parent: bool,
            out: &mut Vec<WalkItem<'a>>,
        ) {
            for layer in &g.layers {
                let trainable = parent && layer.trainable;
                out.push(WalkItem {
                    path: path.clone(),
                    layer,
                    trainable,
                });
                if let Op::Model(inner) = &layer.op {
                    path.push(&layer.name);
                    go(inner, path, trainable, out);
                    path.pop();
                }
            }
        }
        let mut out = vec![];
        go(self, &mut vec![], true, &mut out);
        out
    }
}

/// A layer met by [`Graph::walk`].
#[derive(Clone, Debug)]
pub struct WalkItem<'a> {
    /// Names of the enclosing nested models, outermost first.
    pub path: Vec<&'a str>,
    pub layer: &'a Layer,
    pub trainable: bool,
}
