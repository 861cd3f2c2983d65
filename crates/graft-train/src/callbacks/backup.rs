//! `BackupAndRestore`: survive a killed run. After every epoch the weights, the optimizer state,
//! the learning rate and the history are saved; a new run with the same backup folder resumes at
//! the next epoch and ends with the weights an uninterrupted run would have.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Callback;
use crate::error::TrainError;
use crate::logs::{History, Logs};
use crate::state::TrainState;

#[derive(Serialize, Deserialize)]
struct Progress {
    /// The last completed epoch.
    epoch: usize,
    lr: f64,
    history: History,
}

/// Keras' `BackupAndRestore(backup_dir)`, saving at the end of each epoch. The backup is
/// removed when training ends normally (`delete_checkpoint`, Keras' default); a run that fails
/// (an error from a callback, the data or the disk) keeps it, as Keras does, so a rerun resumes.
/// Unlike Keras, a run stopped by an invalid loss (TerminateOnNaN) keeps its backup too, and an
/// epoch whose loss is not finite is not backed up: the backup left is the last good epoch's.
pub struct BackupAndRestore {
    dir: PathBuf,
    delete_checkpoint: bool,
    /// The epoch this run resumed after, if it resumed.
    pub resumed_from: Option<usize>,
}

impl BackupAndRestore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            delete_checkpoint: true,
            resumed_from: None,
        }
    }

    /// Keep the backup after a completed run.
    pub fn delete_checkpoint(mut self, delete: bool) -> Self {
        self.delete_checkpoint = delete;
        self
    }

    fn old_dir(&self) -> PathBuf {
        let parent = self
            .dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        parent.join(format!(
            ".graft-backup-old-{}",
            self.dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ))
    }

    fn files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
        (
            dir.join("weights.bpk"),
            dir.join("optimizer.bpk"),
            dir.join("progress.json"),
        )
    }
}

impl Callback for BackupAndRestore {
    fn on_train_begin(&mut self, state: &mut TrainState) -> Result<(), TrainError> {
        // A kill between the two renames of a swap leaves only the previous backup.
        let old = self.old_dir();
        if !self.dir.exists() && old.exists() {
            std::fs::rename(&old, &self.dir).map_err(|e| TrainError::file(&self.dir, e))?;
        }
        let (weights, optimizer, progress) = Self::files(&self.dir);
        if !progress.exists() {
            return Ok(());
        }
        let text =
            std::fs::read_to_string(&progress).map_err(|e| TrainError::file(&progress, e))?;
        let p: Progress = serde_json::from_str(&text)
            .map_err(|e| TrainError::file(&progress, format!("not a graft backup: {e}")))?;
        state.load_weights_record(&weights)?;
        state.load_optimizer_record(&optimizer)?;
        state.lr = p.lr;
        state.history = p.history;
        state.initial_epoch = p.epoch + 1;
        self.resumed_from = Some(p.epoch);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        // An epoch whose loss is not finite (what TerminateOnNaN stops on) left weights nothing
        // can resume from: keep the backup of the last good epoch, which `on_train_end` keeps.
        if logs.get("loss").is_some_and(|l| !l.is_finite()) {
            return Ok(());
        }
        // Write a complete new backup beside the old one, then swap: a kill at any point leaves
        // one complete backup.
        let parent = self
            .dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| TrainError::file(parent, e))?;
        let staging = tempfile::Builder::new()
            .prefix(".graft-backup-")
            .tempdir_in(parent)
            .map_err(|e| TrainError::file(parent, e))?;
        let (weights, optimizer, progress) = Self::files(staging.path());
        state.save_weights_record(&weights)?;
        state.save_optimizer_record(&optimizer)?;
        let mut history = state.history.clone();
        history.push(epoch, logs);
        let p = Progress {
            epoch,
            lr: state.lr,
            history,
        };
        std::fs::write(&progress, serde_json::to_vec(&p).expect("serializable"))
            .map_err(|e| TrainError::file(&progress, e))?;
        let staged = staging.keep();
        let old = self.old_dir();
        let _ = std::fs::remove_dir_all(&old);
        if self.dir.exists() {
            std::fs::rename(&self.dir, &old).map_err(|e| TrainError::file(&self.dir, e))?;
        }
        std::fs::rename(&staged, &self.dir).map_err(|e| TrainError::file(&self.dir, e))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }

    fn on_train_end(&mut self, state: &mut TrainState) -> Result<(), TrainError> {
        let invalid_loss = state
            .stop_reason
            .as_deref()
            .is_some_and(|r| r.starts_with("invalid loss"));
        let interrupted = invalid_loss || state.error.is_some();
        if self.delete_checkpoint && !interrupted {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        Ok(())
    }
}
