//! [`Model`]: an IR graph built into burn, run on host tensors.

use burn::tensor::Device;
use graft_ir::{DType, Graph, Op, Tensor, Weight};

use crate::error::ExecError;
use crate::graph_module::GraphModule;
use crate::layers::LayerModule;
use crate::value::{Dyn, Value};

/// A graph whose weights live in burn parameters on a device.
///
/// The structure is kept without its weights (they would double the memory); [`Model::to_graph`]
/// reads the current weights back from the parameters.
#[derive(Debug, Clone)]
pub struct Model {
    structure: Graph,
    module: GraphModule,
    device: Device,
}

/// The default device: the Flex CPU backend.
pub fn default_device() -> Device {
    Device::flex()
}

fn strip_weights(graph: &mut Graph) {
    for layer in &mut graph.layers {
        layer.weights.clear();
        if let Op::Model(inner) = &mut layer.op {
            strip_weights(inner);
        }
    }
}

impl Model {
    /// Validates `graph` and uploads its weights to `device`.
    pub fn new(graph: Graph, device: &Device) -> Result<Self, ExecError> {
        graph.validate()?;
        let mut structure = graph;
        let module = GraphModule::build(&mut structure, device)?;
        strip_weights(&mut structure);
        Ok(Self {
            structure,
            module,
            device: device.clone(),
        })
    }

    /// As [`Model::new`] from a borrowed graph.
    pub fn from_graph(graph: &Graph, device: &Device) -> Result<Self, ExecError> {
        Self::new(graph.clone(), device)
    }

    /// The device the parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The burn module.
    pub fn module(&self) -> &GraphModule {
        &self.module
    }

    /// Replaces the burn module (after training), keeping the structure.
    pub fn with_module(self, module: GraphModule) -> Self {
        Self { module, ..self }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.structure.name
    }

    /// The graph without weights.
    pub fn structure(&self) -> &Graph {
        &self.structure
    }

    /// Splits into the weightless structure, the module and the device (for a training loop
    /// that owns the module between optimizer steps).
    pub fn into_parts(self) -> (Graph, GraphModule, Device) {
        (self.structure, self.module, self.device)
    }

    /// Rebuilds a model from [`Model::into_parts`].
    pub fn from_parts(structure: Graph, module: GraphModule, device: Device) -> Self {
        Self {
            structure,
            module,
            device,
        }
    }

    /// Changes which layers train, Keras-style: `edit` sets `trainable` on the structure's
    /// layers (see graft-ir's `freeze_all`, `freeze_until`, `unfreeze_top`, ...), then the module
    /// follows: a frozen layer's parameters get no gradients and its BatchNormalization runs in
    /// inference mode without updating its statistics.
    pub fn set_trainable<R>(&mut self, edit: impl FnOnce(&mut Graph) -> R) -> R {
        let result = edit(&mut self.structure);
        let module = self.module.clone();
        self.module = sync_trainable(module, &self.structure, true);
        result
    }

    /// The graph with the current weights.
    pub fn to_graph(&self) -> Graph {
        let mut graph = self.structure.clone();
        fill(&mut graph, &self.module);
        graph
    }

    /// Runs the model in inference mode on host tensors in the model's own input layout (NHWC
    /// for Keras image models) and returns its outputs the same way.
    pub fn predict(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, ExecError> {
        let values = self.upload(inputs)?;
        let outputs = self.module.forward(values, false)?;
        Ok(outputs.into_iter().map(download).collect())
    }

    /// Checks host inputs against the model's inputs and uploads them in logical layout.
    pub fn upload(&self, inputs: &[Tensor]) -> Result<Vec<Value>, ExecError> {
        let plan_inputs = &self.module.plan.inputs;
        if inputs.len() != plan_inputs.len() {
            return Err(ExecError::Invalid(format!(
                "model '{}' takes {} inputs ({}), got {}",
                self.structure.name,
                plan_inputs.len(),
                plan_inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                inputs.len()
            )));
        }
        inputs
            .iter()
            .zip(plan_inputs)
            .enumerate()
            .map(|(index, (t, spec))| {
                let err = |message: String| ExecError::Input {
                    index,
                    name: spec.name.clone(),
                    message,
                };
                let declared = &spec.config.shape;
                let fits = t.shape().len() == declared.rank()
                    && declared
                        .dims()
                        .iter()
                        .zip(t.shape())
                        .all(|(d, &n)| d.is_none_or(|d| d == n));
                if !fits {
                    return Err(err(format!(
                        "expects shape {declared}, got {:?}",
                        t.shape()
                    )));
                }
                if !(1..=5).contains(&t.shape().len()) {
                    return Err(err("graft runs inputs of rank 1 to 5".into()));
                }
                if t.shape().contains(&0) {
                    return Err(err("has an empty axis".into()));
                }
                if spec.config.dtype != DType::F32 && t.data().iter().any(|v| v.fract() != 0.0) {
                    return Err(err(format!(
                        "is an integer input ({}) but holds non-integer values",
                        spec.config.dtype.name()
                    )));
                }
                Ok(Value::logical(Dyn::from_host(
                    t.shape(),
                    t.data().to_vec(),
                    &self.device,
                )))
            })
            .collect()
    }
}

/// A value back on the host, in logical layout.
pub fn download(v: Value) -> Tensor {
    let dims = v.logical_dims();
    let data = v.into_logical().to_host();
    Tensor::new(dims, data).expect("consistent")
}

fn sync_trainable(mut module: GraphModule, graph: &Graph, parent: bool) -> GraphModule {
    use burn::module::Module;
    module.layers = std::mem::take(&mut module.layers)
        .into_iter()
        .zip(&graph.layers)
        .map(|(m, layer)| {
            let trainable = parent && layer.trainable;
            match (m, &layer.op) {
                (Some(LayerModule::Graph(inner)), Op::Model(g)) => {
                    Some(LayerModule::Graph(sync_trainable(inner, g, trainable)))
                }
                (Some(m), _) if trainable => Some(m.unfreeze()),
                (Some(m), _) => Some(m.freeze()),
                (None, _) => None,
            }
        })
        .collect();
    module
}

fn fill(graph: &mut Graph, module: &GraphModule) {
    for (layer, m) in graph.layers.iter_mut().zip(&module.layers) {
        match (m, &mut layer.op) {
            (Some(LayerModule::Graph(inner_module)), Op::Model(inner)) => fill(inner, inner_module),
            (Some(m), _) => {
                let exported = m.export(layer);
                layer.weights = exported
                    .into_iter()
                    .map(|(name, tensor)| Weight {
                        name: name.to_string(),
                        trainable: !matches!(
                            name,
                            "moving_mean" | "moving_variance" | "mean" | "variance" | "count"
                        ),
                        tensor,
                    })
                    .collect();
            }
            (None, _) => {}
        }
    }
}
