//! `LearningRateScheduler` and the usual schedules, built on burn's schedulers.
//!
//! Schedules advance once per batch (a smooth warm-up or cosine needs that); Keras' per-epoch
//! `schedule(epoch, lr)` function is [`Schedule::PerEpoch`]. A resumed run fast-forwards the
//! schedule to its global step, so it continues where it stopped.

use std::sync::Arc;

use burn::lr_scheduler::LrSchedulerConfig;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::sequential::SequentialLrSchedulerConfig;
use burn::lr_scheduler::step::StepLrSchedulerConfig;

use super::Callback;
use crate::error::TrainError;
use crate::logs::Logs;
use crate::state::TrainState;

/// How the learning rate moves over training.
#[derive(Clone)]
pub enum Schedule {
    /// Multiply by `factor` every `every_epochs` epochs (Keras' step decay).
    Step {
        initial: f64,
        factor: f64,
        every_epochs: usize,
    },
    /// `initial * rate ^ (epoch / decay_epochs)`, continuously (Keras' `ExponentialDecay`).
    Exponential {
        initial: f64,
        rate: f64,
        decay_epochs: f64,
    },
    /// Cosine from `initial` down to `initial * alpha` over `epochs` (Keras' `CosineDecay`).
    Cosine {
        initial: f64,
        epochs: usize,
        alpha: f64,
    },
    /// Linear warm-up from `peak / 100` to `peak` over `warmup_epochs`, then cosine down to
    /// `peak * alpha` by `epochs`.
    WarmupCosine {
        peak: f64,
        warmup_epochs: usize,
        epochs: usize,
        alpha: f64,
    },
    /// One cycle (Smith): linear up from `max / div_factor` to `max` over the first `pct_start`
    /// of training, then cosine down to `max / final_div_factor`.
    OneCycle {
        max: f64,
        epochs: usize,
        pct_start: f64,
        div_factor: f64,
        final_div_factor: f64,
    },
    /// Keras' `LearningRateScheduler(schedule)`: `f(epoch, current_lr) -> new_lr`, at each epoch.
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

impl Schedule {
    /// burn's scheduler for a run of `steps` batches per epoch (`None` for per-epoch ones).
    fn burn_scheduler(&self, steps: usize) -> Result<Option<ModuleLrScheduler>, String> {
        let steps = steps.max(1);
        let total = |epochs: usize| (epochs * steps).max(1);
        Ok(Some(match self {
            Schedule::PerEpoch(_) => return Ok(None),
            Schedule::Step {
                initial,
                factor,
                every_epochs,
            } => StepLrSchedulerConfig::new(*initial, total(*every_epochs))
                .with_gamma(*factor)
                .init()?,
            Schedule::Exponential {
                initial,
                rate,
                decay_epochs,
            } => ExponentialLrSchedulerConfig::new(
                *initial,
                rate.powf(1.0 / (decay_epochs * steps as f64)),
            )
            .init()?,
            Schedule::Cosine {
                initial,
                epochs,
                alpha,
            } => CosineAnnealingLrSchedulerConfig::new(*initial, total(*epochs))
                .with_min_lr(initial * alpha)
                .init()?,
            Schedule::WarmupCosine {
                peak,
                warmup_epochs,
                epochs,
                alpha,
            } => {
                let warm = total(*warmup_epochs);
                SequentialLrSchedulerConfig::new(
                    vec![
                        LrSchedulerConfig::Linear(LinearLrSchedulerConfig::new(
                            peak / 100.0,
                            *peak,
                            warm,
                        )),
                        LrSchedulerConfig::Cosine(
                            CosineAnnealingLrSchedulerConfig::new(
                                *peak,
                                total(*epochs).saturating_sub(warm).max(1),
                            )
                            .with_min_lr(peak * alpha),
                        ),
                    ],
                    vec![warm],
                )
                .init()?
            }
            Schedule::OneCycle {
                max,
                epochs,
                pct_start,
                div_factor,
                final_div_factor,
            } => {
                let all = total(*epochs);
                let up = ((all as f64 * pct_start).round() as usize)
                    .clamp(1, all.saturating_sub(1).max(1));
                SequentialLrSchedulerConfig::new(
                    vec![
                        LrSchedulerConfig::Linear(LinearLrSchedulerConfig::new(
                            max / div_factor,
                            *max,
                            up,
                        )),
                        LrSchedulerConfig::Cosine(
                            CosineAnnealingLrSchedulerConfig::new(*max, (all - up).max(1))
                                .with_min_lr(max / final_div_factor),
                        ),
                    ],
                    vec![up],
                )
                .init()?
            }
        }))
    }
}

/// Sets the learning rate from a [`Schedule`] before every batch (or epoch, for `PerEpoch`),
/// and logs it as `learning_rate`.
pub struct LearningRateScheduler {
    schedule: Schedule,
    scheduler: Option<ModuleLrScheduler>,
    /// Global step the scheduler has reached.
    position: usize,
}

impl LearningRateScheduler {
    pub fn new(schedule: Schedule) -> Self {
        Self {
            schedule,
            scheduler: None,
            position: 0,
        }
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
        let global = state.epoch * steps.max(1) + step;
        if self.scheduler.is_none() {
            let built = self.schedule.burn_scheduler(steps).map_err(|e| {
                TrainError::Config(format!("learning-rate schedule {:?}: {e}", self.schedule))
            })?;
            let Some(scheduler) = built else {
                return Ok(());
            };
            self.scheduler = Some(scheduler);
            self.position = 0;
        }
        let scheduler = self.scheduler.as_mut().expect("built above");
        // One step per batch; a resumed run catches up to its global step first.
        let mut lr = None;
        while self.position <= global {
            lr = Some(scheduler.step().base());
            self.position += 1;
        }
        if let Some(lr) = lr {
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
