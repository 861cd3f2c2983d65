//! `LearningRateScheduler` and the usual schedules, with the formulas of Keras 3's
//! `keras.optimizers.schedules`.
//!
//! Keras evaluates a schedule object at the optimizer's step count before every batch; graft's
//! schedules do the same, written in epochs for convenience and converted to steps with the
//! epoch's batch count. Each is the closed-form Keras formula of the global step, so a resumed
//! run simply evaluates it at its step. (burn's schedulers agree with Keras within a schedule's
//! span, but burn's cosine climbs back up after its last step where Keras' `CosineDecay` holds
//! its floor, and they must be stepped from the start to reach a step.) Keras' per-epoch
//! `LearningRateScheduler(schedule)` callback, `schedule(epoch, lr)`, is [`Schedule::PerEpoch`].
//! Every schedule is checked against Keras 3.15.1's values in `tests/train_optimizers.rs`.

use std::f64::consts::PI;
use std::sync::Arc;

use super::Callback;
use crate::error::TrainError;
use crate::logs::Logs;
use crate::state::TrainState;

/// How the learning rate moves over training. `steps` below is the number of batches per epoch.
#[derive(Clone)]
pub enum Schedule {
    /// Multiply by `factor` every `every_epochs` epochs: `initial * factor^floor(step /
    /// (every_epochs * steps))`, Keras' `ExponentialDecay(initial, every_epochs * steps, factor,
    /// staircase=True)`.
    Step {
        initial: f64,
        factor: f64,
        every_epochs: usize,
    },
    /// `initial * rate^(step / (decay_epochs * steps))`, continuously: Keras'
    /// `ExponentialDecay(initial, decay_epochs * steps, rate)`.
    Exponential {
        initial: f64,
        rate: f64,
        decay_epochs: f64,
    },
    /// Cosine from `initial` down to `initial * alpha` over `epochs`, then held there: Keras'
    /// `CosineDecay(initial, epochs * steps, alpha)`.
    Cosine {
        initial: f64,
        epochs: usize,
        alpha: f64,
    },
    /// Linear warm-up from `peak / 100` to `peak` over `warmup_epochs`, then cosine down to
    /// `peak * alpha` by `epochs` (counted from the start): Keras' `CosineDecay(peak / 100,
    /// (epochs - warmup_epochs) * steps, alpha, warmup_target=peak, warmup_steps=warmup_epochs *
    /// steps)`.
    WarmupCosine {
        peak: f64,
        warmup_epochs: usize,
        epochs: usize,
        alpha: f64,
    },
    /// One cycle (Smith; fastai's end point): linear up from `max / div_factor` to `max` over the
    /// first `pct_start` of training (rounded to whole steps, at least one), then cosine down to
    /// `max / final_div_factor`. Keras has no one-cycle schedule; this is its `CosineDecay(max /
    /// div_factor, rest, 1 / final_div_factor, warmup_target=max, warmup_steps=up)`.
    OneCycle {
        max: f64,
        epochs: usize,
        pct_start: f64,
        div_factor: f64,
        final_div_factor: f64,
    },
    /// Keras' `LearningRateScheduler(schedule)`: `f(epoch, current_lr) -> new_lr`, at the start of
    /// each epoch (0-based).
    PerEpoch(Arc<dyn Fn(usize, f64) -> f64 + Send + Sync>),
}

impl std::fmt::Debug for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Schedule::PerEpoch(_) => f.write_str("PerEpoch(..)"),
            Schedule::Step { .. } => f.write_str("Step"),
            Schedule::Exponential { .. } => f.write_str("Exponential"),
            Schedule::Cosine { .. } => f.write_str("Cosine"),
            Schedule::WarmupCosine { .. } => f.write_str("WarmupCosine"),
            Schedule::OneCycle { .. } => f.write_str("OneCycle"),
        }
    }
}

/// Keras' `CosineDecay.__call__`: optional linear warm-up from `initial` to `warmup_target` over
/// `warmup_steps`, then `from * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)`
/// with the step clamped at the end.
fn keras_cosine_decay(
    step: f64,
    initial: f64,
    decay_steps: f64,
    alpha: f64,
    warmup: Option<(f64, f64)>,
) -> f64 {
    let decay = |s: f64, from: f64| {
        let cosine = 0.5 * (1.0 + (PI * s / decay_steps).cos());
        from * ((1.0 - alpha) * cosine + alpha)
    };
    match warmup {
        None => decay(step.min(decay_steps), initial),
        Some((target, warmup_steps)) => {
            let step = step.min(decay_steps + warmup_steps);
            if step < warmup_steps {
                (target - initial) * (step / warmup_steps) + initial
            } else {
                decay(step - warmup_steps, target)
            }
        }
    }
}

impl Schedule {
    /// The learning rate at global step `step` (0-based, counting batches over all epochs) with
    /// `steps_per_epoch` batches per epoch; `None` for [`Schedule::PerEpoch`], which depends on
    /// the current rate rather than on the step.
    pub fn learning_rate(&self, step: usize, steps_per_epoch: usize) -> Option<f64> {
        let spe = steps_per_epoch.max(1) as f64;
        let step = step as f64;
        // Keras divides by its decay_steps; a schedule of zero steps is taken as one.
        let steps_of = |epochs: f64| (epochs * spe).max(1.0);
        Some(match self {
            Schedule::PerEpoch(_) => return None,
            Schedule::Step {
                initial,
                factor,
                every_epochs,
            } => initial * factor.powf((step / steps_of(*every_epochs as f64)).floor()),
            Schedule::Exponential {
                initial,
                rate,
                decay_epochs,
            } => initial * rate.powf(step / steps_of(*decay_epochs)),
            Schedule::Cosine {
                initial,
                epochs,
                alpha,
            } => keras_cosine_decay(step, *initial, steps_of(*epochs as f64), *alpha, None),
            Schedule::WarmupCosine {
                peak,
                warmup_epochs,
                epochs,
                alpha,
            } => {
                let warm = *warmup_epochs as f64 * spe;
                let decay = (*epochs as f64 * spe - warm).max(1.0);
                keras_cosine_decay(step, peak / 100.0, decay, *alpha, Some((*peak, warm)))
            }
            Schedule::OneCycle {
                max,
                epochs,
                pct_start,
                div_factor,
                final_div_factor,
            } => {
                let all = (*epochs as f64 * spe).max(2.0);
                let up = (all * pct_start).round().clamp(1.0, all - 1.0);
                keras_cosine_decay(
                    step,
                    max / div_factor,
                    all - up,
                    1.0 / final_div_factor,
                    Some((*max, up)),
                )
            }
        })
    }
}

/// Sets the learning rate from a [`Schedule`] before every batch (or epoch, for `PerEpoch`),
/// and logs it as `learning_rate`.
pub struct LearningRateScheduler {
    schedule: Schedule,
}

impl LearningRateScheduler {
    pub fn new(schedule: Schedule) -> Self {
        Self { schedule }
    }
}

impl Callback for LearningRateScheduler {
    fn on_epoch_begin(&mut self, epoch: usize, state: &mut TrainState) -> Result<(), TrainError> {
        if let Schedule::PerEpoch(f) = &self.schedule {
            state.lr = f(epoch, state.lr);
        }
        Ok(())
    }

    fn on_batch_begin(
        &mut self,
        step: usize,
        steps: usize,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        // Keras evaluates the schedule at the optimizer's step count: the batches done so far
        // (a resumed run starts at its epoch's first step).
        let global = state.epoch * steps.max(1) + step;
        if let Some(lr) = self.schedule.learning_rate(global, steps) {
            state.lr = lr;
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        logs.set("learning_rate", state.lr);
        Ok(())
    }
}
