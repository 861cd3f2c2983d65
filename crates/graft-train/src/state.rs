//! What a training run holds, and what callbacks may read and change.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use graft_burn::{GraphModule, Model};
use graft_ir::Graph;

use crate::error::TrainError;
use crate::logs::History;

/// The state of a training run: the model (structure and burn module), the optimizer and its
/// learning rate, the epoch, and the history so far. Callbacks receive it mutably.
pub struct TrainState {
    pub(crate) structure: Graph,
    pub(crate) module: GraphModule,
    pub(crate) device: Device,
    pub(crate) optimizer: ModuleOptimizer,
    /// The learning rate the next optimizer step uses.
    pub lr: f64,
    /// The epoch being run (0-based).
    pub epoch: usize,
    /// The first epoch `fit` runs (Keras' `initial_epoch`; BackupAndRestore moves it).
    pub initial_epoch: usize,
    /// Set by a callback to end training after the current batch or epoch.
    pub stop_training: bool,
    /// Why training stopped early, if it did.
    pub stop_reason: Option<String>,
    /// The error training ended with, if it failed (set by `fit` before the callbacks'
    /// `on_train_end`, so that they can tell a failed run from a finished one).
    pub error: Option<String>,
    pub history: History,
}

impl TrainState {
    /// A copy of the current weights (cheap: burn shares the tensors until they change).
    pub fn snapshot(&self) -> GraphModule {
        self.module.clone()
    }

    /// Puts weights from [`TrainState::snapshot`] back.
    pub fn restore(&mut self, snapshot: GraphModule) {
        self.module = snapshot;
    }

    /// The model with its current weights as an IR graph (for checkpoints and export).
    pub fn to_graph(&self) -> Graph {
        Model::from_parts(
            self.structure.clone(),
            self.module.valid(),
            self.device.clone(),
        )
        .to_graph()
    }

    /// The model's structure (without weights).
    pub fn structure(&self) -> &Graph {
        &self.structure
    }

    /// Saves the weights as a burn record (`.bpk`).
    pub fn save_weights_record(&self, path: &Path) -> Result<(), TrainError> {
        self.module
            .clone()
            .save_file(path)
            .map_err(|e| TrainError::file(path, e))
    }

    /// Loads weights saved by [`TrainState::save_weights_record`].
    pub fn load_weights_record(&mut self, path: &Path) -> Result<(), TrainError> {
        let module = self.module.clone();
        self.module = module
            .try_load_file(path)
            .map_err(|e| TrainError::file(path, e))?;
        Ok(())
    }

    /// Saves the optimizer's state (moments, step counts).
    pub fn save_optimizer_record(&self, path: &Path) -> Result<(), TrainError> {
        self.optimizer
            .to_record()
            .save(path)
            .map_err(|e| TrainError::file(path, e))
    }

    /// Loads an optimizer state saved by [`TrainState::save_optimizer_record`].
    pub fn load_optimizer_record(&mut self, path: &Path) -> Result<(), TrainError> {
        let record =
            burn::optim::OptimizerRecord::load(path).map_err(|e| TrainError::file(path, e))?;
        self.optimizer = self.optimizer.clone().load_record(record);
        Ok(())
    }
}
