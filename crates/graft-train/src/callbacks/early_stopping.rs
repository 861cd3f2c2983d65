//! `EarlyStopping`: stop when a monitored value stops improving, as Keras 3 does.

use graft_burn::GraphModule;

use super::Callback;
use super::monitor::{Mode, Monitor};
use crate::error::TrainError;
use crate::logs::Logs;
use crate::state::TrainState;

/// Stops training when `monitor` has not improved for `patience` epochs. With
/// `restore_best_weights`, the weights of the best epoch are put back when training ends.
pub struct EarlyStopping {
    key: String,
    mode: Mode,
    min_delta: f64,
    monitor: Monitor,
    patience: usize,
    baseline: Option<f64>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    wait: usize,
    best: Option<f64>,
    best_weights: Option<GraphModule>,
    /// The epoch at which training was stopped (0 when it was not).
    pub stopped_epoch: usize,
    /// The epoch with the best value.
    pub best_epoch: usize,
}

impl EarlyStopping {
    /// Keras' defaults: `min_delta=0, patience=0, mode="auto"`.
    pub fn new(monitor: &str) -> Self {
        Self {
            key: monitor.to_string(),
            mode: Mode::Auto,
            min_delta: 0.0,
            monitor: Monitor::new(monitor, Mode::Auto, 0.0),
            patience: 0,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            best: None,
            best_weights: None,
            stopped_epoch: 0,
            best_epoch: 0,
        }
    }

    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }

    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    pub fn baseline(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self
    }

    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    pub fn start_from_epoch(mut self, epoch: usize) -> Self {
        self.start_from_epoch = epoch;
        self
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _state: &mut TrainState) -> Result<(), TrainError> {
        self.monitor = Monitor::new(&self.key, self.mode, self.min_delta);
        self.wait = 0;
        self.stopped_epoch = 0;
        self.best = None;
        self.best_weights = None;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        let Some(current) = logs.get(&self.monitor.key) else {
            return Ok(());
        };
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(state.snapshot());
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if self.monitor.is_improvement(current, self.best) {
            self.best = Some(current);
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(state.snapshot());
            }
            if self.baseline.is_none() || self.monitor.is_improvement(current, self.baseline) {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = epoch;
            state.stop_training = true;
            state.stop_reason = Some(format!(
                "early stopping: '{}' did not improve for {} epochs (best {:.4} at epoch {})",
                self.monitor.key,
                self.wait,
                self.best.unwrap_or(f64::NAN),
                self.best_epoch + 1
            ));
        }
        Ok(())
    }

    fn on_train_end(&mut self, state: &mut TrainState) -> Result<(), TrainError> {
        if let (true, Some(best)) = (self.restore_best_weights, self.best_weights.take()) {
            state.restore(best);
        }
        Ok(())
    }
}
