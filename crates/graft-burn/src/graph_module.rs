//! A whole graph as one burn module: the layers' parameters plus the compiled plan that runs them.

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::Device;
use graft_ir::{Graph, Op};

use crate::error::ExecError;
use crate::layers::{ConvGeometry, LayerModule};
use crate::ops::{activation, elementwise, reshaping, spatial};
use crate::plan::{Plan, StepKind};
use crate::value::Value;

/// The burn module of a graph. `layers[i]` holds the parameters of the graph's layer `i`
/// (`None` for layers without weights); a shared layer's parameters are used by every call.
#[derive(Module, Debug)]
pub struct GraphModule {
    pub layers: Vec<Option<LayerModule>>,
    #[module(skip)]
    pub plan: Arc<Plan>,
}

impl GraphModule {
    /// Uploads a validated graph's weights to `device` and compiles its plan. The weights are
    /// moved into burn: `graph` is left with empty weight tensors.
    pub fn build(graph: &mut Graph, device: &Device) -> Result<Self, ExecError> {
        Self::build_nested(graph, device, true)
    }

    /// As [`Self::build`] for a graph inside a model whose trainability is `trainable`.
    pub(crate) fn build_nested(
        graph: &mut Graph,
        device: &Device,
        trainable: bool,
    ) -> Result<Self, ExecError> {
        let plan = Plan::compile(graph)?;
        let layers = graph
            .layers
            .iter_mut()
            .map(|layer| LayerModule::from_layer(layer, device, trainable))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            layers,
            plan: Arc::new(plan),
        })
    }

    /// Runs the graph. `inputs` are in the plan's input order; `training` selects batch
    /// statistics and active dropout (a call's own `training=` argument wins).
    pub fn forward(&self, inputs: Vec<Value>, training: bool) -> Result<Vec<Value>, ExecError> {
        let plan = &self.plan;
        let mut values: Vec<Option<Value>> = vec![None; plan.num_values];
        for (input, v) in plan.inputs.iter().zip(inputs) {
            values[input.value] = Some(v);
        }
        for step in &plan.steps {
            let args: Vec<Value> = step
                .inputs
                .iter()
                .zip(&step.take)
                .map(|(&v, &take)| {
                    if take {
                        values[v].take()
                    } else {
                        values[v].clone()
                    }
                    .expect("plan order computes inputs first")
                })
                .collect();
            let training = step.training.unwrap_or(training);
            let module = self.layers[step.layer].as_ref();
            let outputs = match &step.kind {
                StepKind::Model => match module {
                    Some(LayerModule::Graph(inner)) => inner.forward(args, training)?,
                    _ => unreachable!("nested models have a graph module"),
                },
                StepKind::Op(op) => vec![run_op(op, module, args, training)],
            };
            for (&id, v) in step.outputs.iter().zip(outputs) {
                values[id] = Some(v);
            }
        }
        Ok(plan
            .outputs
            .iter()
            .map(|&o| values[o].clone().expect("outputs are computed"))
            .collect())
    }
}

fn one(mut args: Vec<Value>) -> Value {
    args.pop().expect("one input")
}

fn run_op(op: &Op, module: Option<&LayerModule>, args: Vec<Value>, training: bool) -> Value {
    match (op, module) {
        (Op::Dense(c), Some(LayerModule::Dense(m))) => m.forward(c, one(args)),
        (Op::Conv(c), Some(LayerModule::Conv(m))) => m.forward(
            one(args),
            c.groups,
            &ConvGeometry {
                strides: &c.strides,
                dilation: &c.dilation,
                padding: &c.padding,
                data_format: c.data_format,
            },
            &c.activation,
        ),
        (Op::DepthwiseConv(c), Some(LayerModule::Conv(m))) => m.forward(
            one(args),
            0,
            &ConvGeometry {
                strides: &c.strides,
                dilation: &c.dilation,
                padding: &c.padding,
                data_format: c.data_format,
            },
            &c.activation,
        ),
        (Op::SeparableConv(c), Some(LayerModule::Separable(m))) => m.forward(
            one(args),
            &ConvGeometry {
                strides: &c.strides,
                dilation: &c.dilation,
                padding: &c.padding,
                data_format: c.data_format,
            },
            &c.activation,
        ),
        (Op::BatchNorm(c), Some(LayerModule::BatchNorm(m))) => m.forward(c, one(args), training),
        (Op::LayerNorm(c), Some(LayerModule::LayerNorm(m))) => m.forward(c, one(args)),
        (Op::Normalization(c), Some(LayerModule::Normalization(m))) => m.forward(c, one(args)),
        (Op::Embedding(_), Some(LayerModule::Embedding(m))) => m.forward(one(args)),
        (
            Op::Activation(_)
            | Op::ReLU(_)
            | Op::LeakyReLU { .. }
            | Op::ELU { .. }
            | Op::Softmax { .. },
            _,
        ) => activation::activate(one(args), &op.as_activation().expect("activation layer")),
        (Op::Pool(c), _) => spatial::pool(c, one(args)),
        (Op::GlobalPool(c), _) => spatial::global_pool(c, one(args)),
        (Op::ZeroPadding(c), _) => spatial::zero_padding(c, one(args)),
        (Op::Cropping(c), _) => spatial::cropping(c, one(args)),
        (Op::UpSampling(c), _) => spatial::upsampling(c, one(args)),
        (Op::Flatten(c), _) => reshaping::flatten(c, one(args)),
        (Op::Reshape(c), _) => reshaping::reshape(c, one(args)),
        (Op::Permute(c), _) => reshaping::permute(c, one(args)),
        (Op::RepeatVector { n }, _) => reshaping::repeat_vector(*n, one(args)),
        (Op::Concatenate { axis }, _) => reshaping::concatenate(*axis, args),
        (Op::Merge(kind), _) => elementwise::merge(*kind, args),
        (Op::Math(c), _) => elementwise::math(c, args),
        (Op::Rescaling(c), _) => elementwise::rescaling(c, one(args)),
        (Op::Dropout(c), _) if training => elementwise::dropout(c, one(args)),
        (Op::Dropout(_) | Op::Identity, _) => one(args),
        (op, _) => unreachable!("{} has no module or is not executable here", op.type_name()),
    }
}
