//! `CSVLogger`: the history as a CSV file, rewritten after every epoch.

use std::path::PathBuf;

use super::Callback;
use crate::error::TrainError;
use crate::logs::Logs;
use crate::state::TrainState;

/// Writes `epoch,<metrics...>` rows to `path` after every epoch (atomically, so the file is
/// always complete). With `append`, earlier rows of a resumed run are kept (they are part of the
/// history BackupAndRestore restores).
pub struct CsvLogger {
    path: PathBuf,
}

impl CsvLogger {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl Callback for CsvLogger {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        // The epoch's logs are pushed into the history after the callbacks run: write a copy
        // that includes them.
        let mut history = state.history.clone();
        history.push(epoch, logs);
        history.save(&self.path)
    }
}
