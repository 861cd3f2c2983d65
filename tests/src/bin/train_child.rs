//! A training run for the BackupAndRestore test, in its own process so the test can kill it:
//! `train-child BACKUP_DIR OUT_WEIGHTS.json EPOCHS SLEEP_MS_PER_BATCH`.

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

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, backup, out, epochs, sleep] = &args[..] else {
        eprintln!("usage: train-child BACKUP_DIR OUT.json EPOCHS SLEEP_MS");
        std::process::exit(2);
    };
    let (train, val) = data(96);
    let model = graft::Model::new(mlp(), &graft::default_device()).expect("model");
    let mut trainer = Trainer::compile(model, compile_options(1e-2)).expect("compile");
    let options = FitOptions {
        epochs: epochs.parse().expect("epochs"),
        callbacks: vec![
            Box::new(BackupAndRestore::new(backup)),
            Box::new(Slow(sleep.parse().expect("sleep"))),
        ],
        verbosity: Verbosity::Quiet,
        seed: 5,
        ..Default::default()
    };
    let history = trainer.fit(&train, Some(&val), options).expect("fit");
    let weights = flat_weights(&trainer.model().to_graph());
    let report = serde_json::json!({"weights": weights, "epochs": history.epoch});
    std::fs::write(out, report.to_string()).expect("write weights");
}
