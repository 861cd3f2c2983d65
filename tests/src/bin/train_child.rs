//! A training run for the BackupAndRestore test, in its own process so the test can kill it:
//! `train-child BACKUP_DIR OUT.json EPOCHS SLEEP_MS_PER_BATCH`.
//!
//! `OUT.json` (written when `fit` returns) holds the final weights, the history, and what this
//! process itself ran: the `initial_epoch` `fit` started from once BackupAndRestore had looked at
//! its backup, the epochs it began and the batches it trained. Those prove a resume: a run that
//! ignored the backup would start from epoch 0 and train every batch again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use graft::train::callbacks::{BackupAndRestore, Callback};
use graft::train::{FitOptions, Logs, TrainError, TrainState, Trainer, Verbosity};
use graft_tests::tasks::{compile_options, data, flat_weights, mlp};

/// Slows batches down so the parent can kill the run in the middle of an epoch.
struct Slow(u64);

impl Callback for Slow {
    fn on_batch_end(&mut self, _: usize, _: &Logs, _: &mut TrainState) -> Result<(), TrainError> {
        std::thread::sleep(Duration::from_millis(self.0));
        Ok(())
    }
}

/// What this process ran.
#[derive(Default)]
struct Ran {
    initial_epoch: Option<usize>,
    epochs: Vec<usize>,
    batches: usize,
}

/// Records [`Ran`]; placed after BackupAndRestore, so `on_train_begin` sees the epoch the
/// restored backup moved `initial_epoch` to.
struct Recorder(Arc<Mutex<Ran>>);

impl Callback for Recorder {
    fn on_train_begin(&mut self, state: &mut TrainState) -> Result<(), TrainError> {
        self.0.lock().unwrap().initial_epoch = Some(state.initial_epoch);
        Ok(())
    }
    fn on_epoch_begin(&mut self, epoch: usize, _: &mut TrainState) -> Result<(), TrainError> {
        self.0.lock().unwrap().epochs.push(epoch);
        Ok(())
    }
    fn on_batch_end(&mut self, _: usize, _: &Logs, _: &mut TrainState) -> Result<(), TrainError> {
        self.0.lock().unwrap().batches += 1;
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, backup, out, epochs, sleep] = &args[..] else {
        eprintln!("usage: train-child BACKUP_DIR OUT.json EPOCHS SLEEP_MS");
        std::process::exit(2);
    };
    let (train, val) = data(96);
    let model = graft::Model::new(mlp(), &graft::default_device()).expect("model");
    let mut trainer = Trainer::compile(model, compile_options(1e-2)).expect("compile");
    let ran = Arc::new(Mutex::new(Ran::default()));
    let options = FitOptions {
        epochs: epochs.parse().expect("epochs"),
        callbacks: vec![
            Box::new(BackupAndRestore::new(backup)),
            Box::new(Recorder(ran.clone())),
            Box::new(Slow(sleep.parse().expect("sleep"))),
        ],
        verbosity: Verbosity::Quiet,
        seed: 5,
        ..Default::default()
    };
    let history = trainer.fit(&train, Some(&val), options).expect("fit");
    let weights = flat_weights(&trainer.model().to_graph());
    let ran = ran.lock().unwrap();
    let report = serde_json::json!({
        "weights": weights,
        "epochs": history.epoch,
        "history": history.to_json(),
        "initial_epoch": ran.initial_epoch,
        "ran_epochs": ran.epochs,
        "ran_batches": ran.batches,
        "steps_per_epoch": graft::train::DataSource::steps(&train),
    });
    std::fs::write(out, report.to_string()).expect("write weights");
}
