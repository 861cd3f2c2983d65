//! A whole graph as one burn module: the layers' parameters plus the compiled plan that runs them.

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::Device;
use graft_ir::{Graph, Op};

use crate::error::ExecError;
use crate::fold;
use crate::layers::{Affine, ConvGeometry, LayerModule};
use crate::ops::{activation, elementwise, norm, padding, preprocessing, reshaping, spatial};
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
    /// Tunes the process allocator for activation buffers on first use (see [`crate::memory`]).
    pub fn build(graph: &mut Graph, device: &Device) -> Result<Self, ExecError> {
        crate::memory::tune_allocator();
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

    /// The same parameters run by another plan of the same graph (see
    /// [`Plan::without_output_activation`]).
    pub fn with_plan(mut self, plan: Arc<Plan>) -> Self {
        self.plan = plan;
        self
    }

    /// Runs the graph. `inputs` are in the plan's input order; `training` selects batch
    /// statistics and active dropout (a call's own `training=` argument wins).
    pub fn forward(&self, inputs: Vec<Value>, training: bool) -> Result<Vec<Value>, ExecError> {
        let plan = &self.plan;
        let known: Vec<(usize, Value)> = plan.inputs.iter().map(|i| i.value).zip(inputs).collect();
        let steps: Vec<usize> = (0..plan.steps.len()).collect();
        self.run(known, &steps, &plan.outputs, training)
    }

    /// Computes the values `wanted` (plan value ids, see [`Plan::value_of`]) from the `known`
    /// ones, running only the calls in between. Feature caching runs a frozen base once this way
    /// (known: the inputs; wanted: the base's outputs), then trains the head from cached values
    /// (known: those outputs; wanted: the model's outputs).
    pub fn forward_subset(
        &self,
        known: Vec<(usize, Value)>,
        wanted: &[usize],
        training: bool,
    ) -> Result<Vec<Value>, ExecError> {
        let ids: Vec<usize> = known.iter().map(|(id, _)| *id).collect();
        let steps = self.plan.steps_for(&ids, wanted);
        self.run(known, &steps, wanted, training)
    }

    fn run(
        &self,
        known: Vec<(usize, Value)>,
        steps: &[usize],
        wanted: &[usize],
        training: bool,
    ) -> Result<Vec<Value>, ExecError> {
        let plan = &self.plan;
        let mut values: Vec<Option<Value>> = vec![None; plan.num_values];
        for (id, v) in known {
            values[id] = Some(v);
        }
        // A value is moved out at its last use, unless it is wanted at the end.
        let mut keep = vec![false; plan.num_values];
        for &w in wanted {
            keep[w] = true;
        }
        // Inference folds (see `crate::fold`): values computed by a folded BatchNormalization
        // ahead of its step, and ZeroPadding left to the convolution reading it.
        let mut folded = vec![false; plan.num_values];
        let mut deferred_padding: Vec<Option<&[(usize, usize)]>> = vec![None; plan.num_values];
        for &index in steps {
            let step = &plan.steps[index];
            if step.outputs.iter().all(|&o| folded[o]) {
                continue;
            }
            let args: Vec<Value> = step
                .inputs
                .iter()
                .zip(&step.take)
                .map(|(&v, &take)| {
                    if take && !keep[v] {
                        values[v].take()
                    } else {
                        values[v].clone()
                    }
                    .ok_or_else(|| {
                        ExecError::Invalid(format!(
                            "layer '{}' needs a value that was neither given nor computed",
                            plan.layers[step.layer].0
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
            let call_training = step.training.unwrap_or(training);
            let module = self.layers[step.layer].as_ref();
            let outputs = match &step.kind {
                StepKind::Model => match module {
                    Some(LayerModule::Graph(inner)) => inner.forward(args, call_training)?,
                    _ => unreachable!("nested models have a graph module"),
                },
                StepKind::Op(Op::ZeroPadding(z))
                    if step.defer_padding && !keep[step.outputs[0]] =>
                {
                    deferred_padding[step.outputs[0]] = Some(&z.padding);
                    args
                }
                StepKind::Op(op @ (Op::Conv(_) | Op::DepthwiseConv(_) | Op::SeparableConv(_))) => {
                    let padded = deferred_padding[step.inputs[0]]
                        .take()
                        .map(|extra| fold::with_extra_padding(op, extra));
                    let op = padded.as_ref().unwrap_or(op);
                    let bn = step.bn_fold.as_ref().filter(|_| !keep[step.outputs[0]]);
                    match bn.map(|f| (f, self.layers[f.layer].as_ref())) {
                        Some((f, Some(LayerModule::BatchNorm(bn))))
                            if fold::runs_in_inference(bn, f, training) =>
                        {
                            let affine = fold::bn_affine(bn, &f.config);
                            values[f.output] = Some(run_conv(op, module, one(args), Some(affine)));
                            folded[f.output] = true;
                            continue;
                        }
                        _ => vec![run_conv(op, module, one(args), None)],
                    }
                }
                StepKind::Op(op) => vec![run_op(op, module, args, call_training)],
            };
            for (&id, v) in step.outputs.iter().zip(outputs) {
                values[id] = Some(v);
            }
        }
        wanted
            .iter()
            .map(|&o| {
                values[o].clone().ok_or_else(|| {
                    ExecError::Invalid(format!("value {o} was neither given nor computed"))
                })
            })
            .collect()
    }
}

/// A convolution, with an inference-mode BatchNormalization folded in when `affine` is given.
fn run_conv(op: &Op, module: Option<&LayerModule>, x: Value, affine: Option<Affine>) -> Value {
    match (op, module) {
        (Op::Conv(c), Some(LayerModule::Conv(m))) => m.forward(
            x,
            c.groups,
            &ConvGeometry {
                strides: &c.strides,
                dilation: &c.dilation,
                padding: &c.padding,
                data_format: c.data_format,
            },
            &c.activation,
            affine,
        ),
        (Op::DepthwiseConv(c), Some(LayerModule::Conv(m))) => m.forward(
            x,
            0,
            &ConvGeometry {
                strides: &c.strides,
                dilation: &c.dilation,
                padding: &c.padding,
                data_format: c.data_format,
            },
            &c.activation,
            affine,
        ),
        (Op::SeparableConv(c), Some(LayerModule::Separable(m))) => m.forward(
            x,
            &ConvGeometry {
                strides: &c.strides,
                dilation: &c.dilation,
                padding: &c.padding,
                data_format: c.data_format,
            },
            &c.activation,
            affine,
        ),
        (op, _) => unreachable!("{} is not a convolution with weights", op.type_name()),
    }
}

fn one(mut args: Vec<Value>) -> Value {
    args.pop().expect("one input")
}

fn run_op(op: &Op, module: Option<&LayerModule>, args: Vec<Value>, training: bool) -> Value {
    match (op, module) {
        (Op::Dense(c), Some(LayerModule::Dense(m))) => m.forward(c, one(args)),
        (Op::Conv(_) | Op::DepthwiseConv(_) | Op::SeparableConv(_), _) => {
            run_conv(op, module, one(args), None)
        }
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
        (Op::Preprocessing(c), _) => preprocessing::preprocessing(c, one(args), training),
        (Op::Dropout(_) | Op::Identity, _) => one(args),
        (Op::ConvTranspose(c), Some(LayerModule::ConvTranspose(m))) => m.forward(c, one(args)),
        (Op::Constant(_), Some(LayerModule::Constant(m))) => m.forward(),
        (Op::Pad(c), _) => padding::pad(c, one(args)),
        (Op::Lrn(c), _) => norm::lrn(c, one(args)),
        (op, _) => unreachable!("{} has no module or is not executable here", op.type_name()),
    }
}
