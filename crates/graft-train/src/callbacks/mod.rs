//! Callbacks: small objects with hooks around epochs and batches, as in Keras.
//!
//! Every hook gets the [`TrainState`] mutably, so a callback can read the logs, stop training,
//! change the learning rate, snapshot or restore weights, and save the model.

mod backup;
mod checkpoint;
mod csv_logger;
mod early_stopping;
mod monitor;
mod reduce_lr;
mod scheduler;
mod terminate_on_nan;

pub use backup::BackupAndRestore;
pub use checkpoint::{ModelCheckpoint, ModelSaver};
pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStopping;
pub use monitor::Mode;
pub use reduce_lr::ReduceLROnPlateau;
pub use scheduler::{LearningRateScheduler, Schedule};
pub use terminate_on_nan::TerminateOnNaN;

use crate::error::TrainError;
use crate::logs::Logs;
use crate::state::TrainState;

/// Hooks called during `fit`. Every method has a default that does nothing.
pub trait Callback {
    fn on_train_begin(&mut self, _state: &mut TrainState) -> Result<(), TrainError> {
        Ok(())
    }
    fn on_train_end(&mut self, _state: &mut TrainState) -> Result<(), TrainError> {
        Ok(())
    }
    fn on_epoch_begin(&mut self, _epoch: usize, _state: &mut TrainState) -> Result<(), TrainError> {
        Ok(())
    }
    /// `logs` holds the epoch's training and validation values; a callback may add entries
    /// (ReduceLROnPlateau adds `learning_rate`, as in Keras).
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _state: &mut TrainState,
    ) -> Result<(), TrainError> {
        Ok(())
    }
    /// `step` counts batches within the epoch; `steps` is the epoch's batch count.
    fn on_batch_begin(
        &mut self,
        _step: usize,
        _steps: usize,
        _state: &mut TrainState,
    ) -> Result<(), TrainError> {
        Ok(())
    }
    fn on_batch_end(
        &mut self,
        _step: usize,
        _logs: &Logs,
        _state: &mut TrainState,
    ) -> Result<(), TrainError> {
        Ok(())
    }
}
