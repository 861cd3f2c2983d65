//! `TerminateOnNaN`: stop as soon as the loss is not a number.

use super::Callback;
use crate::error::TrainError;
use crate::logs::Logs;
use crate::state::TrainState;

/// Stops training at the first batch whose loss is NaN or infinite.
#[derive(Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_batch_end(
        &mut self,
        step: usize,
        logs: &Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        if let Some(loss) = logs.get("loss")
            && !loss.is_finite()
        {
            state.stop_training = true;
            state.stop_reason = Some(format!(
                "invalid loss {loss} at epoch {}, batch {step}",
                state.epoch + 1
            ));
        }
        Ok(())
    }
}
