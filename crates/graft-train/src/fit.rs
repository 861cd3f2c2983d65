//! The Keras training loop: `compile`, `fit`, `evaluate`, `predict`.

use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::Tensor as BurnTensor;
use graft_burn::plan::Plan;
use graft_burn::value::{Dyn, Value};
use graft_burn::{Device, Model};
use graft_ir::Graph;
use graft_ir::{Activation, Tensor};

use crate::cache::{FeatureCache, frontier, largest_row_bytes};
use crate::callbacks::Callback;
use crate::class_weight::{ClassWeight, batch_labels};
use crate::data::{Batch, DataSource, Split};
use crate::error::TrainError;
use crate::logs::{History, Logs};
use crate::loss::{Loss, ProbabilityKind};
use crate::metrics::{Metric, MetricState};
use crate::optimizer::OptimizerConfig;
use crate::progress::{EpochProgress, Verbosity};
use crate::state::TrainState;

/// What `compile` takes: the optimizer (with its learning rate), the loss and the metrics.
#[derive(Clone, Debug)]
pub struct CompileOptions {
    pub optimizer: OptimizerConfig,
    pub loss: Loss,
    pub metrics: Vec<Metric>,
}

/// What `fit` takes besides the data.
pub struct FitOptions {
    pub epochs: usize,
    /// Start counting at this epoch (to continue an earlier `fit`).
    pub initial_epoch: usize,
    pub class_weight: Option<ClassWeight>,
    pub callbacks: Vec<Box<dyn Callback>>,
    pub verbosity: Verbosity,
    /// Cache the frozen part's outputs when that is exact (see the `cache` module).
    pub cache_features: bool,
    /// Cached features (training and validation together) above this many bytes go to a
    /// temporary file.
    pub cache_memory_limit: usize,
    /// Seeds dropout; the data sources carry their own seeds for order and augmentation.
    pub seed: u64,
    /// Keras' `validation_split`: with no validation data, the last fraction of the training
    /// samples (before shuffling) validates instead of training.
    pub validation_split: f32,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            epochs: 1,
            initial_epoch: 0,
            class_weight: None,
            callbacks: vec![],
            verbosity: Verbosity::Auto,
            cache_features: true,
            cache_memory_limit: 2 << 30,
            seed: 0,
            validation_split: 0.0,
        }
    }
}

/// A model compiled for training (Keras' `model.compile(...)`).
pub struct Trainer {
    state: TrainState,
    compile: CompileOptions,
    /// The plan to restore after training.
    inference_plan: Arc<Plan>,
    /// The plan training runs (without the output's softmax/sigmoid when the loss can take
    /// logits) and the activation removed.
    training_plan: Option<(Arc<Plan>, Activation)>,
    /// How the last `fit` used feature caching: `(memory bytes, disk bytes)` when it did.
    pub last_cache: Option<(usize, usize)>,
}

fn mix(seed: u64, epoch: usize, step: usize) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for v in [epoch as u64, step as u64] {
        h = (h ^ v).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
    }
    h
}

fn upload(t: &Tensor, device: &Device) -> Value {
    Value::logical(Dyn::from_host(t.shape(), t.data().to_vec(), device))
}

/// Predictions as `[n, k]`.
fn as_matrix(v: Value) -> Result<BurnTensor<2>, TrainError> {
    let dims = v.logical_dims();
    let n = dims[0];
    let k: usize = dims[1..].iter().product();
    Ok(match v.into_logical().reshape(&[n, k.max(1)]) {
        Dyn::R2(t) => t,
        _ => unreachable!("rank-2 reshape"),
    })
}

/// Host probabilities for metrics, applying the activation training removed.
fn probabilities(pred: &BurnTensor<2>, removed: Option<&Activation>) -> Vec<f32> {
    let p = match removed {
        Some(Activation::Softmax { .. }) => {
            burn::tensor::activation::softmax(pred.clone().detach(), 1)
        }
        Some(Activation::Sigmoid) => burn::tensor::activation::sigmoid(pred.clone().detach()),
        _ => pred.clone().detach(),
    };
    p.to_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("float data")
}

impl Trainer {
    /// Compiles `model` for training on its device's autodiff counterpart.
    pub fn compile(model: Model, compile: CompileOptions) -> Result<Self, TrainError> {
        let (structure, module, device) = model.into_parts();
        if structure.outputs.len() != 1 {
            return Err(TrainError::Config(format!(
                "training models with {} outputs is not supported yet; cut the model to one output",
                structure.outputs.len()
            )));
        }
        let device = if device.is_autodiff() {
            device
        } else {
            device.autodiff()
        };
        let module = module.to_device(&device).train();
        let inference_plan = module.plan.clone();
        let training_plan = compile.loss.probability_activation().and_then(|kind| {
            inference_plan
                .without_output_activation(0, |a| match kind {
                    ProbabilityKind::Softmax => matches!(a, Activation::Softmax { axis: -1 }),
                    ProbabilityKind::Sigmoid => matches!(a, Activation::Sigmoid),
                })
                .map(|(p, a)| (Arc::new(p), a))
        });
        let optimizer = compile.optimizer.build();
        Ok(Self {
            state: TrainState {
                structure,
                module,
                device,
                optimizer,
                lr: compile.optimizer.learning_rate,
                epoch: 0,
                initial_epoch: 0,
                stop_training: false,
                stop_reason: None,
                error: None,
                history: History::default(),
            },
            compile,
            inference_plan,
            training_plan,
            last_cache: None,
        })
    }

    /// The model with its current weights, for inference on the plain (non-autodiff) device.
    pub fn model(&self) -> Model {
        let module = self
            .state
            .module
            .clone()
            .with_plan(self.inference_plan.clone())
            .valid();
        Model::from_parts(
            self.state.structure.clone(),
            module,
            self.state.device.clone().without_autodiff(),
        )
    }

    /// The training state (weights, optimizer, learning rate).
    pub fn state(&self) -> &TrainState {
        &self.state
    }

    /// Changes which layers train (Keras: set `trainable`, then compile again): the optimizer
    /// starts afresh, the learning rate becomes `learning_rate`.
    pub fn recompile<R>(&mut self, learning_rate: f64, edit: impl FnOnce(&mut Graph) -> R) -> R {
        let model = Model::from_parts(
            self.state.structure.clone(),
            self.state.module.clone(),
            self.state.device.clone(),
        );
        let mut model = model;
        let r = model.set_trainable(edit);
        let (structure, module, _) = model.into_parts();
        self.state.structure = structure;
        self.state.module = module;
        self.compile.optimizer.learning_rate = learning_rate;
        self.state.optimizer = self.compile.optimizer.build();
        self.state.lr = learning_rate;
        r
    }

    /// Trainable and non-trainable parameter counts, as `summary` reports them.
    pub fn param_counts(&self) -> graft_ir::ParamCounts {
        self.state.to_graph().param_counts()
    }

    fn output_width(&self) -> usize {
        self.state
            .structure
            .output_shapes()
            .ok()
            .and_then(|s| s.first().and_then(|s| s.feature_size()))
            .unwrap_or(1)
    }

    /// Keras' `fit`: trains on `train` for `options.epochs`, validating on `validation` after
    /// each epoch. Returns the history.
    pub fn fit(
        &mut self,
        train: &dyn DataSource,
        validation: Option<&dyn DataSource>,
        mut options: FitOptions,
    ) -> Result<History, TrainError> {
        if options.validation_split > 0.0 && validation.is_none() {
            let (t, v) = Split::validation_split(train, options.validation_split)?;
            options.validation_split = 0.0;
            return self.fit(&t, Some(&v), options);
        }
        if train.is_empty() {
            return Err(TrainError::Data("the training data has no samples".into()));
        }
        if options.epochs <= options.initial_epoch {
            return Err(TrainError::Config(format!(
                "epochs ({}) must be greater than initial_epoch ({})",
                options.epochs, options.initial_epoch
            )));
        }
        if !has_trainable_params(&self.state.structure) {
            return Err(TrainError::Config(
                "no layer is trainable: unfreeze some layers (e.g. the new head) before fit".into(),
            ));
        }
        let classes = self.output_width();
        let class_weights = match &options.class_weight {
            Some(cw) => {
                let labels = train.labels().ok_or_else(|| {
                    TrainError::Config("class_weight needs data whose labels are known".into())
                })?;
                Some(cw.resolve(&labels, classes.max(2))?)
            }
            None => None,
        };

        let removed = self.training_plan.as_ref().map(|(_, a)| *a);
        if let Some((plan, _)) = &self.training_plan {
            self.state.module = self.state.module.clone().with_plan(plan.clone());
        }
        self.state.initial_epoch = options.initial_epoch;
        self.state.stop_training = false;
        self.state.stop_reason = None;
        self.state.error = None;
        self.state.history = History::default();
        let mut callbacks = std::mem::take(&mut options.callbacks);
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(&mut self.state)?;
        }

        // Feature caching, decided after callbacks may have restored weights.
        let mut caches: Option<(FeatureCache, Option<FeatureCache>)> = None;
        self.last_cache = None;
        let augmented = train.is_augmented() || validation.is_some_and(|v| v.is_augmented());
        let cut = (options.cache_features && !augmented)
            .then(|| frontier(&self.state.structure))
            .flatten();
        let plan = self.state.module.plan.clone();
        if let Some(ids) = cut.and_then(|cut| {
            cut.iter()
                .map(|r| plan.value_of(r))
                .collect::<Option<Vec<usize>>>()
        }) {
            // One limit for everything cached: the validation features get what the training
            // features left of it.
            let limit = options.cache_memory_limit;
            let row_bytes = largest_row_bytes(&self.state.structure);
            let build = |data: &dyn DataSource, ids: Vec<usize>, limit: usize| {
                let (module, device) = (&self.state.module, &self.state.device);
                FeatureCache::build(module, device, ids, data, limit, row_bytes)
            };
            let t = build(train, ids.clone(), limit)?;
            let v = validation
                .map(|v| build(v, ids, limit.saturating_sub(t.memory_bytes)))
                .transpose()?;
            self.last_cache = Some((
                t.memory_bytes + v.as_ref().map_or(0, |v| v.memory_bytes),
                t.disk_bytes + v.as_ref().map_or(0, |v| v.disk_bytes),
            ));
            caches = Some((t, v));
        }

        let result = self.run_epochs(
            train,
            validation,
            &options,
            &mut callbacks,
            &mut caches,
            class_weights.as_deref(),
            removed.as_ref(),
        );
        self.state.error = result.as_ref().err().map(|e| e.to_string());
        // Whatever happened, the module runs its normal plan again.
        for cb in callbacks.iter_mut() {
            if let Err(e) = cb.on_train_end(&mut self.state) {
                self.state.module = self
                    .state
                    .module
                    .clone()
                    .with_plan(self.inference_plan.clone());
                return Err(e);
            }
        }
        self.state.module = self
            .state
            .module
            .clone()
            .with_plan(self.inference_plan.clone());
        result?;
        Ok(self.state.history.clone())
    }

    #[allow(clippy::too_many_arguments)]
    fn run_epochs(
        &mut self,
        train: &dyn DataSource,
        validation: Option<&dyn DataSource>,
        options: &FitOptions,
        callbacks: &mut [Box<dyn Callback>],
        caches: &mut Option<(FeatureCache, Option<FeatureCache>)>,
        class_weights: Option<&[f32]>,
        removed: Option<&Activation>,
    ) -> Result<(), TrainError> {
        let loss_fn = self.compile.loss.clone();
        let sparse = loss_fn.is_sparse();
        let logits = removed.is_some();
        let bs = train.batch_size().max(1);
        for epoch in self.state.initial_epoch..options.epochs {
            self.state.epoch = epoch;
            for cb in callbacks.iter_mut() {
                cb.on_epoch_begin(epoch, &mut self.state)?;
            }
            let order = train.order(epoch);
            let chunks: Vec<&[usize]> = order.chunks(bs).collect();
            let steps = chunks.len();
            let progress = EpochProgress::new(options.verbosity, epoch, options.epochs, steps);
            let mut metrics: Vec<MetricState> = self
                .compile
                .metrics
                .iter()
                .cloned()
                .map(MetricState::new)
                .collect();
            let (mut loss_sum, mut seen) = (0f64, 0usize);
            let mut logs = Logs::default();

            std::thread::scope(|scope| -> Result<(), TrainError> {
                // Load the next batches while this one trains (not needed from a feature cache).
                let (tx, rx) = sync_channel::<Result<Batch, TrainError>>(2);
                let prefetch = caches.is_none();
                if prefetch {
                    let chunks = chunks.clone();
                    scope.spawn(move || {
                        for chunk in chunks {
                            if tx.send(train.load(chunk, epoch)).is_err() {
                                break;
                            }
                        }
                    });
                }
                for (step, chunk) in chunks.iter().enumerate() {
                    for cb in callbacks.iter_mut() {
                        cb.on_batch_begin(step, steps, &mut self.state)?;
                    }
                    let device = self.state.device.clone();
                    graft_burn::random::seed(mix(options.seed, epoch, step));
                    let (outputs, batch) = match caches.as_mut() {
                        Some((cache, _)) => {
                            let (known, batch) = cache.batch(chunk, &device)?;
                            let out = *self.state.module.plan.outputs.first().expect("one output");
                            (
                                self.state.module.forward_subset(known, &[out], true)?,
                                batch,
                            )
                        }
                        None => {
                            let batch = rx.recv().map_err(|_| {
                                TrainError::Data("the data loader stopped".into())
                            })??;
                            let inputs = batch.inputs.iter().map(|t| upload(t, &device)).collect();
                            (self.state.module.forward(inputs, true)?, batch)
                        }
                    };
                    let pred = as_matrix(outputs.into_iter().next().expect("one output"))?;
                    let n = batch.len();
                    let per = loss_fn.per_sample(pred.clone(), &batch.targets, logits, &device)?;
                    let weights = combine_weights(
                        batch.sample_weight.as_deref(),
                        class_weights,
                        &batch.targets,
                    );
                    let loss = Loss::reduce(per, weights.as_deref(), &device);
                    let value = loss.clone().into_scalar::<f32>() as f64;
                    let grads = GradientsParams::from_grads(loss.backward(), &self.state.module);
                    let grads = self
                        .compile
                        .optimizer
                        .clip_global(grads, &self.state.module);
                    self.state.module =
                        self.state
                            .optimizer
                            .step(self.state.lr, self.state.module.clone(), grads);
                    let probs = probabilities(&pred, removed);
                    let k = probs.len() / n.max(1);
                    for m in metrics.iter_mut() {
                        m.update(&probs, k, batch.targets.data(), sparse);
                    }
                    loss_sum += value * n as f64;
                    seen += n;
                    logs = Logs::default();
                    logs.set("loss", loss_sum / seen.max(1) as f64);
                    for (m, spec) in metrics.iter().zip(&self.compile.metrics) {
                        logs.set(spec.name(&loss_fn), m.result());
                    }
                    progress.batch(step, &logs);
                    let mut batch_logs = logs.clone();
                    batch_logs.set("loss", value);
                    for cb in callbacks.iter_mut() {
                        cb.on_batch_end(step, &batch_logs, &mut self.state)?;
                    }
                    if self.state.stop_training {
                        break;
                    }
                }
                drop(rx);
                Ok(())
            })?;

            if let Some(v) = validation {
                let val_cache = caches.as_mut().and_then(|(_, v)| v.as_mut());
                let val_logs = self.evaluate_with(v, val_cache, removed)?;
                for (k, value) in val_logs.0 {
                    logs.set(format!("val_{k}"), value);
                }
            }
            for cb in callbacks.iter_mut() {
                cb.on_epoch_end(epoch, &mut logs, &mut self.state)?;
            }
            self.state.history.push(epoch, &logs);
            progress.finish(&logs);
            if self.state.stop_training {
                break;
            }
        }
        Ok(())
    }

    /// Loss and metrics on `data`, in inference mode (Keras' `evaluate`).
    pub fn evaluate(&mut self, data: &dyn DataSource) -> Result<Logs, TrainError> {
        self.evaluate_with(data, None, None)
    }

    fn evaluate_with(
        &self,
        data: &dyn DataSource,
        mut cache: Option<&mut FeatureCache>,
        removed: Option<&Activation>,
    ) -> Result<Logs, TrainError> {
        let module = self.state.module.valid();
        // `valid()` parameters live on the plain device under the autodiff one.
        let plain = self.state.device.clone().without_autodiff();
        let loss_fn = &self.compile.loss;
        let mut metrics: Vec<MetricState> = self
            .compile
            .metrics
            .iter()
            .cloned()
            .map(MetricState::new)
            .collect();
        let (mut loss_sum, mut seen) = (0f64, 0usize);
        let all: Vec<usize> = (0..data.len()).collect();
        let out = *module.plan.outputs.first().expect("one output");
        for chunk in all.chunks(data.batch_size().max(1)) {
            let (outputs, batch) = match cache.as_deref_mut() {
                Some(c) => {
                    let (known, batch) = c.batch(chunk, &plain)?;
                    (module.forward_subset(known, &[out], false)?, batch)
                }
                None => {
                    let batch = data.load(chunk, 0)?;
                    let inputs = batch.inputs.iter().map(|t| upload(t, &plain)).collect();
                    (module.forward(inputs, false)?, batch)
                }
            };
            let pred = as_matrix(outputs.into_iter().next().expect("one output"))?;
            let n = batch.len();
            let per =
                loss_fn.per_sample(pred.clone(), &batch.targets, removed.is_some(), &plain)?;
            let loss = Loss::reduce(per, batch.sample_weight.as_deref(), &plain);
            loss_sum += loss.into_scalar::<f32>() as f64 * n as f64;
            seen += n;
            let probs = probabilities(&pred, removed);
            let k = probs.len() / n.max(1);
            for m in metrics.iter_mut() {
                m.update(&probs, k, batch.targets.data(), loss_fn.is_sparse());
            }
        }
        let mut logs = Logs::default();
        logs.set("loss", loss_sum / seen.max(1) as f64);
        for (m, spec) in metrics.iter().zip(&self.compile.metrics) {
            logs.set(spec.name(loss_fn), m.result());
        }
        Ok(logs)
    }

    /// Keras' `predict`: the model's outputs for every sample of `data`, in index order.
    pub fn predict(&self, data: &dyn DataSource) -> Result<Tensor, TrainError> {
        let model = self.model();
        let mut rows: Vec<f32> = vec![];
        let mut shape = vec![];
        let all: Vec<usize> = (0..data.len()).collect();
        for chunk in all.chunks(data.batch_size().max(1)) {
            let batch = data.load(chunk, 0)?;
            let out = model.predict(&batch.inputs)?;
            let t = out.into_iter().next().expect("one output");
            shape = t.shape().to_vec();
            rows.extend_from_slice(t.data());
        }
        if let Some(first) = shape.first_mut() {
            *first = data.len();
        }
        Tensor::new(shape, rows).map_err(|e| TrainError::Data(e.to_string()))
    }
}

/// Per-sample weights: the given ones times the class weight of each sample's label.
fn combine_weights(
    sample: Option<&[f32]>,
    classes: Option<&[f32]>,
    targets: &Tensor,
) -> Option<Vec<f32>> {
    match (sample, classes) {
        (None, None) => None,
        (Some(s), None) => Some(s.to_vec()),
        (s, Some(cw)) => {
            let labels = batch_labels(targets);
            Some(
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| s.map_or(1.0, |s| s[i]) * cw.get(l).copied().unwrap_or(1.0))
                    .collect(),
            )
        }
    }
}

fn has_trainable_params(graph: &Graph) -> bool {
    graph.layers.iter().any(|l| {
        l.trainable
            && match &l.op {
                graft_ir::Op::Model(inner) => has_trainable_params(inner),
                op => op.has_weights(),
            }
    })
}
