//! The graph under construction: ONNX value names to IR tensors or load-time constants, unique
//! layer names, and layers added with their shapes inferred (so every mapping sees the shapes
//! of its inputs and a misfit is reported on the node that caused it).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use graft_ir::{ConstantConfig, Graph, Layer, Op, Shape, Tensor, TensorRef, Weight};
use tract_onnx::pb::NodeProto;

use super::proto::Attrs;
use super::tensor::{Const, Data};

/// What an ONNX value name stands for.
#[derive(Clone, Debug)]
pub(crate) enum Val {
    /// Computed by a layer when the model runs.
    Tensor { r: TensorRef, shape: Shape },
    /// Known at load time (initializers, `Constant` nodes, folded shape arithmetic).
    Const(Const),
}

/// The node being mapped.
pub(crate) struct Ctx<'a> {
    pub node: &'a NodeProto,
    /// The layer name this node's (last) layer gets: the node's name, made unique.
    pub name: String,
    pub attrs: Attrs<'a>,
    pub opset: i64,
}

impl Ctx<'_> {
    pub(crate) fn op(&self) -> &str {
        &self.node.op_type
    }
}

pub(crate) struct Builder {
    pub graph: Graph,
    values: HashMap<String, Val>,
    taken: HashSet<String>,
    /// Constant layers already made for a constant value, by value name.
    const_layers: HashMap<String, TensorRef>,
    shapes: HashMap<TensorRef, Shape>,
    /// How many nodes (and graph outputs) read each value.
    pub uses: HashMap<String, usize>,
    pub model_dir: PathBuf,
    /// The file was written by graft, whose `Identity` nodes are layers of their own
    /// (`Activation('linear')`, Keras' `Identity`, random preprocessing layers at inference).
    pub graft_file: bool,
}

impl Builder {
    pub(crate) fn new(name: &str, model_dir: PathBuf, uses: HashMap<String, usize>) -> Self {
        Self {
            graph: Graph::new(name),
            values: HashMap::new(),
            taken: HashSet::new(),
            const_layers: HashMap::new(),
            shapes: HashMap::new(),
            uses,
            model_dir,
            graft_file: false,
        }
    }

    /// `base`, or `base_1`, `base_2`, ... when taken; reserves the result.
    pub(crate) fn unique(&mut self, base: &str) -> String {
        graft_ir::reserve_unique_name(&mut self.taken, base)
    }

    pub(crate) fn set(&mut self, name: &str, v: Val) {
        if !name.is_empty() {
            self.values.insert(name.to_string(), v);
        }
    }

    pub(crate) fn value(&self, name: &str) -> Option<&Val> {
        self.values.get(name)
    }

    fn input_name<'a>(cx: &'a Ctx, i: usize) -> Option<&'a str> {
        cx.node
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Input `i` of the node, when present.
    pub(crate) fn opt_input(&self, cx: &Ctx, i: usize) -> Result<Option<Val>, String> {
        match Self::input_name(cx, i) {
            None => Ok(None),
            Some(n) => self
                .values
                .get(n)
                .cloned()
                .map(Some)
                .ok_or_else(|| format!("input '{n}' is not computed before this node")),
        }
    }

    /// Input `i` of the node.
    pub(crate) fn input(&self, cx: &Ctx, i: usize) -> Result<Val, String> {
        self.opt_input(cx, i)?
            .ok_or_else(|| format!("input {i} is missing"))
    }

    /// Input `i`, which must be computed at run time.
    pub(crate) fn tensor(&self, cx: &Ctx, i: usize) -> Result<(TensorRef, Shape), String> {
        match self.input(cx, i)? {
            Val::Tensor { r, shape } => Ok((r, shape)),
            Val::Const(_) => Err(format!(
                "input {i} ('{}') is a constant; graft maps this op on computed tensors only",
                Self::input_name(cx, i).unwrap_or("")
            )),
        }
    }

    /// Input `i`, which must be known at load time.
    pub(crate) fn constant(&self, cx: &Ctx, i: usize) -> Result<Const, String> {
        self.opt_constant(cx, i)?
            .ok_or_else(|| format!("input {i} is missing"))
    }

    /// Input `i` when present, which must be known at load time.
    pub(crate) fn opt_constant(&self, cx: &Ctx, i: usize) -> Result<Option<Const>, String> {
        match self.opt_input(cx, i)? {
            None => Ok(None),
            Some(Val::Const(c)) => Ok(Some(c)),
            Some(Val::Tensor { .. }) => Err(format!(
                "input {i} ('{}') is computed at run time; graft needs it to be a constant \
                 (an initializer or a value folded at load time)",
                Self::input_name(cx, i).unwrap_or("")
            )),
        }
    }

    /// Fails when output `i` of the node is read by another node or the graph (for optional
    /// outputs graft does not compute, like MaxPool's indices).
    pub(crate) fn unused_output(&self, cx: &Ctx, i: usize) -> Result<(), String> {
        match cx.node.output.get(i).filter(|s| !s.is_empty()) {
            Some(n) if self.uses.get(n).copied().unwrap_or(0) > 0 => Err(format!(
                "output {i} ('{n}') is used, and graft computes only output 0 of {}",
                cx.op()
            )),
            _ => Ok(()),
        }
    }

    /// Sets output 0 of the node.
    pub(crate) fn output(&mut self, cx: &Ctx, v: Val) {
        if let Some(n) = cx.node.output.first() {
            self.set(n, v);
        }
    }

    /// Adds a layer called on `inputs`, with `weights` in the op's canonical order, and returns
    /// its output. Shapes are inferred and weights checked against the op's specs here.
    pub(crate) fn add(
        &mut self,
        name: &str,
        op: Op,
        weights: Vec<Tensor>,
        inputs: Vec<TensorRef>,
    ) -> Result<Val, String> {
        let shapes = inputs
            .iter()
            .map(|r| self.shape_of(r))
            .collect::<Result<Vec<_>, _>>()?;
        let out = op.infer(&shapes)?;
        let specs = op.weight_specs(&shapes)?;
        if specs.len() != weights.len() {
            return Err(format!(
                "{} expects {} weights, got {}",
                op.type_name(),
                specs.len(),
                weights.len()
            ));
        }
        let mut ws = Vec::with_capacity(weights.len());
        for (spec, t) in specs.iter().zip(weights) {
            if spec.shape != t.shape() {
                return Err(format!(
                    "weight '{}' has shape {:?}, {} expects {:?}",
                    spec.name,
                    t.shape(),
                    op.type_name(),
                    spec.shape
                ));
            }
            ws.push(Weight::from_spec(spec, t));
        }
        let mut layer = Layer::new(name, op);
        layer.weights = ws;
        let r = self.graph.push(layer, inputs);
        let shape = out.into_iter().next().ok_or("the op has no output")?;
        self.shapes.insert(r.clone(), shape.clone());
        Ok(Val::Tensor { r, shape })
    }

    /// Adds a model input.
    pub(crate) fn add_input(&mut self, name: &str, config: graft_ir::InputConfig) -> Val {
        let shape = config.shape.clone();
        let r = self.graph.push_input(name, config);
        self.shapes.insert(r.clone(), shape.clone());
        Val::Tensor { r, shape }
    }

    /// The shape of a layer output made by this builder.
    pub(crate) fn shape_of(&self, r: &TensorRef) -> Result<Shape, String> {
        self.shapes
            .get(r)
            .cloned()
            .ok_or_else(|| format!("no shape for {r}"))
    }

    /// A value as a layer output: computed tensors as they are, constants through a `Constant`
    /// layer (one per constant value, named after it).
    pub(crate) fn operand(&mut self, value_name: &str, v: &Val) -> Result<TensorRef, String> {
        match v {
            Val::Tensor { r, .. } => Ok(r.clone()),
            Val::Const(c) => {
                if let Some(r) = self.const_layers.get(value_name) {
                    return Ok(r.clone());
                }
                let Data::F32(_) = &c.data else {
                    return Err(format!(
                        "constant '{value_name}' holds integers where graft needs floats"
                    ));
                };
                let mut dims = c.dims.clone();
                if dims.is_empty() {
                    dims.push(1);
                }
                let name = self.unique(if value_name.is_empty() {
                    "constant"
                } else {
                    value_name
                });
                let t = Tensor::new(dims.clone(), c.to_f32()?).map_err(|e| e.to_string())?;
                let v = self.add(
                    &name,
                    Op::Constant(ConstantConfig { shape: dims }),
                    vec![t],
                    vec![],
                )?;
                let Val::Tensor { r, .. } = v else {
                    unreachable!("add returns a tensor")
                };
                self.const_layers.insert(value_name.to_string(), r.clone());
                Ok(r)
            }
        }
    }

    /// Removes layers nothing reads (a Sigmoid folded into a swish, a Dense whose bias Add
    /// was folded), keeping inputs.
    pub(crate) fn prune(&mut self) {
        loop {
            let mut used: HashSet<&str> = self
                .graph
                .outputs
                .iter()
                .map(|r| r.layer.as_str())
                .collect();
            for l in &self.graph.layers {
                for n in &l.nodes {
                    used.extend(n.inputs.iter().map(|r| r.layer.as_str()));
                }
            }
            let dead: HashSet<String> = self
                .graph
                .layers
                .iter()
                .filter(|l| !l.is_input() && !used.contains(l.name.as_str()))
                .map(|l| l.name.clone())
                .collect();
            if dead.is_empty() {
                return;
            }
            self.graph.layers.retain(|l| !dead.contains(&l.name));
        }
    }

    /// The layer that produces `r`, mutably.
    pub(crate) fn producer_mut(&mut self, r: &TensorRef) -> Option<&mut Layer> {
        self.graph.layer_mut(&r.layer)
    }
}
