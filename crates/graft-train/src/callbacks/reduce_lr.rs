//! `ReduceLROnPlateau`: divide the learning rate when a monitored value plateaus.

use super::Callback;
use super::monitor::{Mode, Monitor};
use crate::error::TrainError;
use crate::logs::Logs;
use crate::state::TrainState;

/// Multiplies the learning rate by `factor` when `monitor` has not improved by `min_delta` for
/// `patience` epochs, then waits `cooldown` epochs; never below `min_lr`. Adds `learning_rate`
/// to the epoch's logs, as Keras does.
pub struct ReduceLROnPlateau {
    key: String,
    mode: Mode,
    min_delta: f64,
    factor: f64,
    patience: usize,
    cooldown: usize,
    min_lr: f64,
    monitor: Monitor,
    best: Option<f64>,
    wait: usize,
    cooldown_counter: usize,
    /// `(epoch, new learning rate)` for every reduction made.
    pub reductions: Vec<(usize, f64)>,
}

impl ReduceLROnPlateau {
    /// Keras' defaults: `factor=0.1, patience=10, min_delta=1e-4, cooldown=0, min_lr=0`.
    pub fn new(monitor: &str) -> Self {
        Self {
            key: monitor.to_string(),
            mode: Mode::Auto,
            min_delta: 1e-4,
            factor: 0.1,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            monitor: Monitor::new(monitor, Mode::Auto, 1e-4),
            best: None,
            wait: 0,
            cooldown_counter: 0,
            reductions: vec![],
        }
    }

    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }
    pub fn patience(mut self, patience: usize) -> Self {
        self.patience = patience;
        self
    }
    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }
    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
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
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _state: &mut TrainState) -> Result<(), TrainError> {
        self.monitor = Monitor::new(&self.key, self.mode, self.min_delta);
        self.best = None;
        self.wait = 0;
        self.cooldown_counter = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        logs.set("learning_rate", state.lr);
        let Some(current) = logs.get(&self.key) else {
            return Ok(());
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.monitor.is_improvement(current, self.best) {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                // Keras compares with min_lr in float32.
                if (state.lr as f32) > (self.min_lr as f32) {
                    state.lr = (state.lr * self.factor).max(self.min_lr);
                    self.reductions.push((epoch, state.lr));
                }
                self.cooldown_counter = self.cooldown;
                self.wait = 0;
            }
        }
        Ok(())
    }
}
