//! A graph compiled for execution: its calls in order, over numbered values, with the point
//! where each value is used for the last time (so memory is freed as the pass goes), and where an
//! inference fold may apply (see [`crate::fold`]).

use std::collections::HashMap;

use graft_ir::{
    Activation, DataFormat, Graph, InputConfig, Op, Padding, TensorRef, normalize_axis,
};

use crate::error::ExecError;
use crate::fold::{BnFold, conv_parts};

/// What a step computes.
#[derive(Clone, Debug)]
pub enum StepKind {
    /// A layer's op (never `Op::Model` or `Op::Input`).
    Op(Op),
    /// A call of a nested model (its module is the layer's [`crate::layers::LayerModule::Graph`]).
    Model,
}

/// One call of one layer.
#[derive(Clone, Debug)]
pub struct Step {
    /// Index of the layer in the graph (and in the module's `layers`).
    pub layer: usize,
    pub kind: StepKind,
    pub inputs: Vec<usize>,
    /// `take[i]`: input `i` is its value's last use, so it is moved out rather than cloned.
    pub take: Vec<bool>,
    pub outputs: Vec<usize>,
    /// The call's `training=` argument.
    pub training: Option<bool>,
    /// A ZeroPadding whose only reader is a convolution that can pad by itself
    /// (see [`crate::fold`]).
    pub defer_padding: bool,
    /// A convolution whose only reader is a BatchNormalization that folds into it in inference
    /// mode (see [`crate::fold`]).
    pub bn_fold: Option<BnFold>,
}

/// A model input.
#[derive(Clone, Debug)]
pub struct PlanInput {
    pub value: usize,
    pub name: String,
    pub config: InputConfig,
}

/// The compiled graph.
#[derive(Clone, Debug)]
pub struct Plan {
    pub name: String,
    /// `(name, type)` of every layer, by layer index.
    pub layers: Vec<(String, String)>,
    pub inputs: Vec<PlanInput>,
    pub steps: Vec<Step>,
    pub outputs: Vec<usize>,
    pub num_values: usize,
    /// The value id of every top-level layer output the plan computes.
    pub ids: HashMap<TensorRef, usize>,
}

impl Plan {
    /// A copy of the plan whose `output`-th output is computed without its final activation,
    /// when that activation is one `wanted` accepts (Keras trains a softmax or sigmoid output on
    /// its logits). Returns the removed activation.
    pub fn without_output_activation(
        &self,
        output: usize,
        wanted: impl Fn(&Activation) -> bool,
    ) -> Option<(Plan, Activation)> {
        let value = *self.outputs.get(output)?;
        let index = self.steps.iter().position(|s| s.outputs.contains(&value))?;
        let StepKind::Op(op) = &self.steps[index].kind else {
            return None;
        };
        let (new_op, removed) = match op {
            Op::Dense(c) if wanted(&c.activation) => {
                let mut c = c.clone();
                let a = std::mem::replace(&mut c.activation, Activation::Linear);
                (Op::Dense(c), a)
            }
            Op::Conv(c) if wanted(&c.activation) => {
                let mut c = c.clone();
                let a = std::mem::replace(&mut c.activation, Activation::Linear);
                (Op::Conv(c), a)
            }
            other => match other.as_activation() {
                Some(a) if wanted(&a) => (Op::Identity, a),
                _ => return None,
            },
        };
        let mut plan = self.clone();
        plan.steps[index].kind = StepKind::Op(new_op);
        Some((plan, removed))
    }

    /// A copy of the plan that runs every layer as written, with no inference folds (see
    /// [`crate::fold`]): the reference the folds are checked against.
    pub fn without_folds(&self) -> Plan {
        let mut plan = self.clone();
        for step in &mut plan.steps {
            step.defer_padding = false;
            step.bn_fold = None;
        }
        plan
    }

    /// How many `(BatchNormalization, ZeroPadding)` calls the plan may fold into convolutions.
    pub fn fold_counts(&self) -> (usize, usize) {
        let bn = self.steps.iter().filter(|s| s.bn_fold.is_some()).count();
        let padding = self.steps.iter().filter(|s| s.defer_padding).count();
        (bn, padding)
    }

    /// The value id of a layer output, when the plan computes it.
    pub fn value_of(&self, r: &TensorRef) -> Option<usize> {
        self.ids.get(r).copied()
    }

    /// The steps needed to compute `wanted` when the values in `known` are given: walking back
    /// from `wanted`, stopping at known values.
    pub fn steps_for(&self, known: &[usize], wanted: &[usize]) -> Vec<usize> {
        let mut needed = vec![false; self.num_values];
        for &w in wanted {
            needed[w] = true;
        }
        for &k in known {
            needed[k] = false;
        }
        let mut is_known = vec![false; self.num_values];
        for &k in known {
            is_known[k] = true;
        }
        let mut steps = Vec::new();
        for (i, step) in self.steps.iter().enumerate().rev() {
            if step.outputs.iter().any(|&o| needed[o]) {
                for &v in &step.inputs {
                    if !is_known[v] {
                        needed[v] = true;
                    }
                }
                steps.push(i);
            }
        }
        steps.reverse();
        steps
    }
    pub fn compile(graph: &Graph) -> Result<Self, ExecError> {
        let order = graph.topological_order()?;
        let mut ids: HashMap<TensorRef, usize> = HashMap::new();
        let mut next = 0usize;
        let mut steps = Vec::new();
        let mut inputs = Vec::new();
        for site in order {
            let layer = &graph.layers[site.layer];
            let node = &layer.nodes[site.node];
            let n_outputs = match &layer.op {
                Op::Model(inner) => inner.outputs.len(),
                _ => 1,
            };
            let outputs: Vec<usize> = (0..n_outputs)
                .map(|o| {
                    let id = next;
                    next += 1;
                    ids.insert(TensorRef::at(layer.name.clone(), site.node, o), id);
                    id
                })
                .collect();
            if let Op::Input(config) = &layer.op {
                inputs.push(PlanInput {
                    value: outputs[0],
                    name: layer.name.clone(),
                    config: config.clone(),
                });
                continue;
            }
            let step_inputs = node
                .inputs
                .iter()
                .map(|r| {
                    ids.get(r).copied().ok_or_else(|| ExecError::Layer {
                        layer: layer.name.clone(),
                        type_name: layer.op.type_name(),
                        message: format!("input {r} is not computed before this layer"),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            steps.push(Step {
                layer: site.layer,
                kind: match &layer.op {
                    Op::Model(_) => StepKind::Model,
                    op => StepKind::Op(op.clone()),
                },
                take: vec![false; step_inputs.len()],
                inputs: step_inputs,
                outputs,
                training: node.training,
                defer_padding: false,
                bn_fold: None,
            });
        }
        // Graph inputs in the model's order.
        let mut ordered = Vec::with_capacity(graph.inputs.len());
        for r in &graph.inputs {
            let id = ids.get(r).copied().ok_or_else(|| {
                ExecError::Invalid(format!("model input {r} is not an input layer"))
            })?;
            let input = inputs
                .iter()
                .find(|i: &&PlanInput| i.value == id)
                .ok_or_else(|| {
                    ExecError::Invalid(format!("model input {r} is not an input layer"))
                })?;
            ordered.push(input.clone());
        }
        let outputs = graph
            .outputs
            .iter()
            .map(|r| {
                ids.get(r).copied().ok_or_else(|| {
                    ExecError::Invalid(format!("model output {r} is never computed"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let all_ids = ids.clone();
        // Keep only the calls the outputs depend on (a graph cut at an inner layer computes
        // nothing past it).
        let mut needed = vec![false; next];
        for &o in &outputs {
            needed[o] = true;
        }
        let mut kept = Vec::with_capacity(steps.len());
        for step in steps.into_iter().rev() {
            if step.outputs.iter().any(|&o| needed[o]) {
                for &i in &step.inputs {
                    needed[i] = true;
                }
                kept.push(step);
            }
        }
        kept.reverse();
        let mut steps = kept;
        // Last uses, walking backwards; graph outputs are never taken.
        let mut seen: Vec<bool> = vec![false; next];
        for &o in &outputs {
            seen[o] = true;
        }
        for step in steps.iter_mut().rev() {
            for (i, &v) in step.inputs.iter().enumerate().rev() {
                if !seen[v] {
                    step.take[i] = true;
                    seen[v] = true;
                }
            }
        }
        plan_folds(&mut steps, &outputs, next);
        Ok(Plan {
            name: graph.name.clone(),
            layers: graph
                .layers
                .iter()
                .map(|l| (l.name.clone(), l.op.type_name()))
                .collect(),
            inputs: ordered,
            steps,
            outputs,
            num_values: next,
            ids: all_ids,
        })
    }
}

/// Marks the steps whose work may be folded into their output's only reader (see
/// [`crate::fold`]).
fn plan_folds(steps: &mut [Step], graph_outputs: &[usize], num_values: usize) {
    // Who reads each value: (step, input position), plus graph outputs.
    let mut readers: Vec<Vec<usize>> = vec![vec![]; num_values];
    for (s, step) in steps.iter().enumerate() {
        for &v in &step.inputs {
            readers[v].push(s);
        }
    }
    let mut is_output = vec![false; num_values];
    for &o in graph_outputs {
        is_output[o] = true;
    }
    let only_reader = |v: usize| match readers[v].as_slice() {
        [s] if !is_output[v] => Some(*s),
        _ => None,
    };
    let producer: Vec<Option<usize>> = {
        let mut p = vec![None; num_values];
        for (s, step) in steps.iter().enumerate() {
            for &o in &step.outputs {
                p[o] = Some(s);
            }
        }
        p
    };
    for s in 0..steps.len() {
        let StepKind::Op(op) = &steps[s].kind else {
            continue;
        };
        let Some((padding, format, spatial, linear)) = conv_parts(op) else {
            continue;
        };
        let (padding_folds, format) = (
            matches!(padding, Padding::Valid | Padding::Explicit(_)),
            format,
        );
        // ZeroPadding -> this convolution.
        let input = steps[s].inputs[0];
        if padding_folds
            && let Some(p) = producer[input]
            && let StepKind::Op(Op::ZeroPadding(z)) = &steps[p].kind
            && z.data_format == format
            && z.padding.len() == spatial
            && only_reader(input) == Some(s)
            && steps[s].inputs.len() == 1
        {
            steps[p].defer_padding = true;
        }
        // This convolution -> BatchNormalization.
        let output = steps[s].outputs[0];
        if linear
            && let Some(r) = only_reader(output)
            && let StepKind::Op(Op::BatchNorm(bn)) = &steps[r].kind
            && steps[r].inputs.len() == 1
        {
            let rank = spatial + 2;
            let channel_axis = match format {
                DataFormat::ChannelsLast => rank - 1,
                DataFormat::ChannelsFirst => 1,
            };
            if normalize_axis(bn.axis, rank) == Some(channel_axis) {
                steps[s].bn_fold = Some(BnFold {
                    layer: steps[r].layer,
                    config: bn.clone(),
                    output: steps[r].outputs[0],
                    training: steps[r].training,
                });
            }
        }
    }
}
