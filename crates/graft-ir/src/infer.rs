//! Topological order, shape inference and validation of a [`Graph`].

use std::collections::{BTreeSet, HashMap};

use crate::error::IrError;
use crate::graph::{Graph, TensorRef};
use crate::op::Op;
use crate::shape::Shape;

/// One call of one layer: indices into `graph.layers` and that layer's `nodes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallSite {
    pub layer: usize,
    pub node: usize,
}

/// The output shapes of every call in a graph.
#[derive(Clone, Debug)]
pub struct ShapeMap {
    index: HashMap<String, usize>,
    /// `[layer][node]` -> output shapes (`None` for calls not reached).
    shapes: Vec<Vec<Option<Vec<Shape>>>>,
}

impl ShapeMap {
    /// The shape of one layer output.
    pub fn get(&self, r: &TensorRef) -> Option<&Shape> {
        let &layer = self.index.get(&r.layer)?;
        self.shapes.get(layer)?.get(r.node)?.as_ref()?.get(r.output)
    }

    /// The output shapes of one call.
    pub fn outputs(&self, site: CallSite) -> Option<&[Shape]> {
        self.shapes.get(site.layer)?.get(site.node)?.as_deref()
    }

    /// Every output shape of every call reached, layer by layer.
    pub fn all(&self) -> impl Iterator<Item = &Shape> {
        self.shapes.iter().flatten().flatten().flatten()
    }
}

impl Graph {
    /// Every call of every layer, each after the calls that produce its inputs. Ties keep the
    /// definition order, so the result is deterministic.
    pub fn topological_order(&self) -> Result<Vec<CallSite>, IrError> {
        let index = self.index();
        if index.len() != self.layers.len() {
            let mut seen = std::collections::HashSet::new();
            for l in &self.layers {
                if !seen.insert(l.name.as_str()) {
                    return Err(IrError::DuplicateLayer(l.name.clone()));
                }
            }
        }
        let mut pending: HashMap<CallSite, usize> = HashMap::new();
        let mut users: HashMap<CallSite, Vec<CallSite>> = HashMap::new();
        let mut ready = BTreeSet::new();
        for (li, layer) in self.layers.iter().enumerate() {
            for (ni, node) in layer.nodes.iter().enumerate() {
                let site = CallSite {
                    layer: li,
                    node: ni,
                };
                let mut deps = 0;
                for input in &node.inputs {
                    let producer =
                        resolve(&index, self, input).ok_or_else(|| IrError::DanglingInput {
                            layer: layer.name.clone(),
                            input: input.to_string(),
                        })?;
                    users.entry(producer).or_default().push(site);
                    deps += 1;
                }
                if deps == 0 {
                    ready.insert(site);
                } else {
                    pending.insert(site, deps);
                }
            }
        }
        let mut order = Vec::new();
        while let Some(site) = ready.pop_first() {
            order.push(site);
            for user in users.get(&site).map(Vec::as_slice).unwrap_or(&[]) {
                let n = pending.get_mut(user).expect("every user is pending");
                *n -= 1;
                if *n == 0 {
                    pending.remove(user);
                    ready.insert(*user);
                }
            }
        }
        if let Some(site) = pending.keys().min() {
            return Err(IrError::Cycle(self.layers[site.layer].name.clone()));
        }
        Ok(order)
    }

    /// Output shapes of every call, from the input layers' declared shapes.
    pub fn infer_shapes(&self) -> Result<ShapeMap, IrError> {
        self.infer_shapes_with(None)
    }

    /// Output shapes when the model's inputs have the given shapes (which must agree with the
    /// declared ones wherever both are known).
    pub fn infer_shapes_for(&self, inputs: &[Shape]) -> Result<ShapeMap, IrError> {
        self.infer_shapes_with(Some(inputs))
    }

    fn infer_shapes_with(&self, given: Option<&[Shape]>) -> Result<ShapeMap, IrError> {
        let order = self.topological_order()?;
        let index: HashMap<String, usize> = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.clone(), i))
            .collect();
        let mut map = ShapeMap {
            index,
            shapes: self
                .layers
                .iter()
                .map(|l| vec![None; l.nodes.len()])
                .collect(),
        };
        if let Some(given) = given
            && given.len() != self.inputs.len()
        {
            return Err(IrError::InputCount {
                expected: self.inputs.len(),
                found: given.len(),
            });
        }
        for site in order {
            let layer = &self.layers[site.layer];
            let node = &layer.nodes[site.node];
            let outputs = if let (Op::Input(config), Some(given)) = (&layer.op, given) {
                let position = self
                    .inputs
                    .iter()
                    .position(|r| r.layer == layer.name)
                    .ok_or_else(|| {
                        IrError::Invalid(format!(
                            "input layer '{}' is not among the model's inputs",
                            layer.name
                        ))
                    })?;
                vec![merge_input_shape(
                    position,
                    &layer.name,
                    &config.shape,
                    &given[position],
                )?]
            } else {
                let inputs: Vec<Shape> = node
                    .inputs
                    .iter()
                    .map(|r| map.get(r).cloned())
                    .collect::<Option<_>>()
                    .ok_or_else(|| IrError::DanglingInput {
                        layer: layer.name.clone(),
                        input: node
                            .inputs
                            .iter()
                            .find(|r| map.get(r).is_none())
                            .map(|r| r.to_string())
                            .unwrap_or_default(),
                    })?;
                layer.op.infer(&inputs).map_err(|message| IrError::Shape {
                    layer: layer.name.clone(),
                    type_name: layer.op.type_name(),
                    message,
                })?
            };
            map.shapes[site.layer][site.node] = Some(outputs);
        }
        for (what, refs) in [("input", &self.inputs), ("output", &self.outputs)] {
            for r in refs {
                if map.get(r).is_none() {
                    return Err(IrError::DanglingGraphRef {
                        what,
                        reference: r.to_string(),
                    });
                }
            }
        }
        Ok(map)
    }

    /// The model's output shapes for the given input shapes.
    pub fn infer_outputs(&self, inputs: &[Shape]) -> Result<Vec<Shape>, IrError> {
        let map = self.infer_shapes_for(inputs)?;
        Ok(self
            .outputs
            .iter()
            .map(|r| map.get(r).cloned().expect("checked by inference"))
            .collect())
    }

    /// The model's declared input shapes.
    pub fn input_shapes(&self) -> Vec<Shape> {
        self.input_configs()
            .into_iter()
            .map(|(_, c)| c.shape.clone())
            .collect()
    }

    /// The model's output shapes for its declared inputs.
    pub fn output_shapes(&self) -> Result<Vec<Shape>, IrError> {
        self.infer_outputs(&self.input_shapes())
    }

    /// Checks everything a backend relies on: unique names, resolvable inputs, no cycles, shapes
    /// that fit, and weights with the names and shapes their op expects. Recurses into nested
    /// models.
    pub fn validate(&self) -> Result<(), IrError> {
        let shapes = self.infer_shapes()?;
        for layer in &self.layers {
            if let Op::Model(inner) = &layer.op {
                inner.validate()?;
                if !layer.weights.is_empty() {
                    return Err(IrError::Invalid(format!(
                        "nested model '{}' holds weights itself; they belong to its layers",
                        layer.name
                    )));
                }
                continue;
            }
            let Some(node) = layer.nodes.first() else {
                continue;
            };
            let inputs: Vec<Shape> = node
                .inputs
                .iter()
                .map(|r| shapes.get(r).cloned().expect("inferred above"))
                .collect();
            let specs = layer
                .op
                .weight_specs(&inputs)
                .map_err(|message| IrError::Shape {
                    layer: layer.name.clone(),
                    type_name: layer.op.type_name(),
                    message,
                })?;
            let names = |v: &mut dyn Iterator<Item = &str>| v.collect::<Vec<_>>().join(", ");
            if specs.len() != layer.weights.len()
                || specs
                    .iter()
                    .zip(&layer.weights)
                    .any(|(s, w)| s.name != w.name)
            {
                return Err(IrError::WeightNames {
                    layer: layer.name.clone(),
                    type_name: layer.op.type_name(),
                    expected: names(&mut specs.iter().map(|s| s.name)),
                    found: names(&mut layer.weights.iter().map(|w| w.name.as_str())),
                });
            }
            for (spec, w) in specs.iter().zip(&layer.weights) {
                if spec.shape != w.tensor.shape() {
                    return Err(IrError::WeightShape {
                        layer: layer.name.clone(),
                        weight: w.name.clone(),
                        expected: spec.shape.clone(),
                        found: w.tensor.shape().to_vec(),
                    });
                }
            }
        }
        Ok(())
    }
}

fn resolve(index: &HashMap<&str, usize>, graph: &Graph, r: &TensorRef) -> Option<CallSite> {
    let &layer = index.get(r.layer.as_str())?;
    (r.node < graph.layers[layer].nodes.len()).then_some(CallSite {
        layer,
        node: r.node,
    })
}

fn merge_input_shape(
    index: usize,
    name: &str,
    declared: &Shape,
    given: &Shape,
) -> Result<Shape, IrError> {
    let mismatch = || IrError::InputShape {
        index,
        name: name.to_string(),
        expected: declared.to_string(),
        found: given.to_string(),
    };
    if declared.rank() != given.rank() {
        return Err(mismatch());
    }
    declared
        .dims()
        .iter()
        .zip(given.dims())
        .map(|(d, g)| match (d, g) {
            (Some(a), Some(b)) if a != b => Err(mismatch()),
            (Some(a), _) => Ok(Some(*a)),
            (None, g) => Ok(*g),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Shape::new)
}
