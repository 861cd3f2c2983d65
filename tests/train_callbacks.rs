//! Callbacks behave as Keras' do: EarlyStopping stops at the right epoch and restores the best
//! weights, ModelCheckpoint keeps only improvements, ReduceLROnPlateau changes the rate when it
//! should, BackupAndRestore resumes a killed run to the same weights as an uninterrupted one, and
//! feature caching trains to the same weights as the uncached path.
//!
//! "Right" is decided by replaying Keras' rule on the values the run recorded, with an
//! implementation written here independently of graft's.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use graft::train::callbacks::{
    BackupAndRestore, Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
};
use graft::train::{DataSource, FitOptions, Logs, TrainError, TrainState, Trainer};
use graft_tests::tasks::{compile_options, data, flat_weights, mlp};

/// Records the weights at the end of every epoch.
struct Record(std::sync::Arc<std::sync::Mutex<Vec<Vec<f32>>>>);

impl Callback for Record {
    fn on_epoch_end(
        &mut self,
        _: usize,
        _: &mut Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        self.0.lock().unwrap().push(flat_weights(&state.to_graph()));
        Ok(())
    }
}

fn trainer(lr: f64) -> Trainer {
    let model = graft::Model::new(mlp(), &graft::default_device()).expect("model");
    Trainer::compile(model, compile_options(lr)).expect("compile")
}

fn options(epochs: usize, callbacks: Vec<Box<dyn Callback>>) -> FitOptions {
    graft_tests::tasks::quiet_fit(epochs, callbacks)
}

fn temp(name: &str) -> PathBuf {
    graft_tests::tasks::fresh_temp_dir("cb", name)
}

#[test]
fn early_stopping_stops_at_the_right_epoch_and_restores_the_best_weights() {
    let (train, val) = data(96);
    let mut t = trainer(1e-2);
    let recorded = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let patience = 3;
    let history = t
        .fit(
            &train,
            Some(&val),
            options(
                40,
                vec![
                    Box::new(Record(recorded.clone())),
                    Box::new(
                        EarlyStopping::new("val_loss")
                            .patience(patience)
                            .restore_best_weights(true),
                    ),
                ],
            ),
        )
        .unwrap();
    let val_loss = history.get("val_loss").unwrap().to_vec();
    // Keras' rule: wait counts epochs since the best; stop when wait >= patience (epoch > 0).
    let (mut best, mut best_epoch, mut wait, mut stop) = (f64::INFINITY, 0, 0, None);
    for (epoch, &v) in val_loss.iter().enumerate() {
        wait += 1;
        if v < best {
            best = v;
            best_epoch = epoch;
            wait = 0;
            continue;
        }
        if wait >= patience && epoch > 0 {
            stop = Some(epoch);
            break;
        }
    }
    let stop = stop.expect("the validation loss of this task rises: early stopping must trigger");
    assert!(
        stop < 39,
        "stopped at the last epoch: the test task does not exercise stopping"
    );
    assert_eq!(
        history.epoch.len(),
        stop + 1,
        "ran {} epochs, Keras' rule stops after {}",
        history.epoch.len(),
        stop + 1
    );
    let final_weights = flat_weights(&t.model().to_graph());
    let expected = &recorded.lock().unwrap()[best_epoch];
    assert_eq!(
        &final_weights, expected,
        "the weights are not those of the best epoch ({best_epoch})"
    );
}

#[test]
fn model_checkpoint_keeps_only_improvements() {
    let (train, val) = data(96);
    let mut t = trainer(1e-2);
    let dir = temp("ckpt");
    let template = dir
        .join("ckpt-{epoch:02d}-{val_loss:.3f}.bpk")
        .display()
        .to_string();
    let history = t
        .fit(
            &train,
            Some(&val),
            options(
                12,
                vec![Box::new(
                    ModelCheckpoint::new(template).save_best_only(true),
                )],
            ),
        )
        .unwrap();
    let val_loss = history.get("val_loss").unwrap();
    let mut best = f64::INFINITY;
    let mut expected = vec![];
    for (epoch, &v) in val_loss.iter().enumerate() {
        if v < best {
            best = v;
            expected.push(format!("ckpt-{:02}-{v:.3}.bpk", epoch + 1));
        }
    }
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    assert!(
        expected.len() < val_loss.len(),
        "every epoch improved: the task does not exercise save_best_only"
    );
    assert_eq!(found, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reduce_lr_on_plateau_changes_the_rate_when_it_should() {
    let (train, val) = data(96);
    let mut t = trainer(1e-2);
    let (patience, factor, min_delta) = (2, 0.5, 1e-4);
    let history = t
        .fit(
            &train,
            Some(&val),
            options(
                14,
                vec![Box::new(
                    ReduceLROnPlateau::new("val_loss")
                        .patience(patience)
                        .factor(factor),
                )],
            ),
        )
        .unwrap();
    let val_loss = history.get("val_loss").unwrap();
    let lr_logged = history.get("learning_rate").unwrap();
    // Replay: the rate logged at epoch e is the one used during epoch e.
    let (mut lr, mut best, mut wait) = (1e-2f64, f64::INFINITY, 0);
    let mut expected = vec![];
    for &v in val_loss {
        expected.push(lr);
        if v + min_delta < best {
            best = v;
            wait = 0;
        } else {
            wait += 1;
            if wait >= patience {
                lr *= factor;
                wait = 0;
            }
        }
    }
    assert!(
        expected.windows(2).any(|w| w[1] < w[0]),
        "no plateau: the task does not exercise ReduceLROnPlateau"
    );
    for (epoch, (a, b)) in lr_logged.iter().zip(&expected).enumerate() {
        assert!(
            (a - b).abs() <= 1e-12 * b.abs(),
            "epoch {epoch}: learning rate {a}, expected {b}"
        );
    }
}

#[test]
fn backup_and_restore_resumes_a_killed_run_to_the_same_weights() {
    const EPOCHS: usize = 6;
    let child = env!("CARGO_BIN_EXE_train-child");
    let dir = temp("backup");
    let reference = dir.join("reference.json");
    let resumed = dir.join("resumed.json");
    // Uninterrupted run (its own backup folder, removed when it completes).
    let status = Command::new(child)
        .args([
            dir.join("bk-ref").to_str().unwrap(),
            reference.to_str().unwrap(),
            &EPOCHS.to_string(),
            "0",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    // A slow run, killed in the middle of epoch 3 (after two epochs were backed up).
    let backup = dir.join("bk");
    let mut run = Command::new(child)
        .args([
            backup.to_str().unwrap(),
            resumed.to_str().unwrap(),
            &EPOCHS.to_string(),
            "40",
        ])
        .spawn()
        .unwrap();
    let progress = backup.join("progress.json");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let done = std::fs::read_to_string(&progress)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["epoch"].as_u64());
        if done.is_some_and(|e| e >= 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the child never backed up two epochs"
        );
        assert!(
            run.try_wait().unwrap().is_none(),
            "the child ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(150)); // into the next epoch
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(!resumed.exists(), "the killed run must not have finished");
    // The last epoch the killed run completed, as its backup records it (read after the kill:
    // another epoch may have ended during the sleep). A kill between the two renames of a
    // backup swap leaves the previous backup in `.graft-backup-old-bk`, where BackupAndRestore
    // finds it.
    let last_done = [
        progress.clone(),
        dir.join(".graft-backup-old-bk/progress.json"),
    ]
    .iter()
    .find_map(|p| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["epoch"].as_u64())
    })
    .expect("the killed run left a backup") as usize;
    assert!(
        last_done + 1 < EPOCHS,
        "the killed run had completed {} of {EPOCHS} epochs: nothing left to resume",
        last_done + 1
    );
    // Run again with the same backup: it resumes and finishes.
    let status = Command::new(child)
        .args([
            backup.to_str().unwrap(),
            resumed.to_str().unwrap(),
            &EPOCHS.to_string(),
            "0",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let read = |p: &PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let (a, b) = (read(&reference), read(&resumed));
    let numbers = |v: &serde_json::Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_u64().unwrap())
            .collect()
    };
    let steps = b["steps_per_epoch"].as_u64().unwrap();
    // The uninterrupted run trained every epoch from 0.
    assert_eq!(a["initial_epoch"], 0);
    assert_eq!(
        numbers(&a["ran_epochs"]),
        (0..EPOCHS as u64).collect::<Vec<_>>()
    );
    // The second process must have started after the last completed epoch and trained only the
    // epochs left: a run that ignored the backup would start at 0 and still end with the same
    // weights (training is deterministic), so the weights alone prove nothing.
    let first = last_done as u64 + 1;
    assert_eq!(
        b["initial_epoch"].as_u64(),
        Some(first),
        "the resumed run did not start after the last backed-up epoch ({last_done})"
    );
    assert_eq!(
        numbers(&b["ran_epochs"]),
        (first..EPOCHS as u64).collect::<Vec<_>>(),
        "epochs the resumed process ran"
    );
    assert_eq!(
        b["ran_batches"].as_u64(),
        Some((EPOCHS as u64 - first) * steps),
        "batches the resumed process trained"
    );
    assert_eq!(
        numbers(&b["epochs"]),
        (0..EPOCHS as u64).collect::<Vec<_>>(),
        "the resumed history covers every epoch"
    );
    // The restored epochs' logs are those the uninterrupted run recorded, to the bit (the
    // workspace's serde_json round-trips floats exactly).
    assert_eq!(
        a["history"], b["history"],
        "the resumed history differs from the uninterrupted run's"
    );
    assert_eq!(
        a["weights"], b["weights"],
        "the resumed run ended with other weights"
    );
    assert!(
        !backup.exists(),
        "the backup is removed once training completes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `graft::model_checkpoint` writes the formats other tools read: each checkpoint loads back
/// with the weights the trainer had when it was written.
/// Fails at the end of one epoch, as a full disk or an unwritable checkpoint would.
struct FailAt(usize);

impl Callback for FailAt {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _: &mut Logs,
        _: &mut TrainState,
    ) -> Result<(), TrainError> {
        if epoch == self.0 {
            return Err(TrainError::Config(format!(
                "simulated failure at epoch {epoch}"
            )));
        }
        Ok(())
    }
}

/// Counts the epochs a run actually trains.
struct CountEpochs(std::sync::Arc<std::sync::Mutex<Vec<usize>>>);

impl Callback for CountEpochs {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _: &mut Logs,
        _: &mut TrainState,
    ) -> Result<(), TrainError> {
        self.0.lock().unwrap().push(epoch);
        Ok(())
    }
}

#[test]
fn backup_survives_a_failed_run_and_the_rerun_resumes_from_it() {
    const EPOCHS: usize = 5;
    let (train, _) = data(64);
    let dir = temp("backup-failed");
    let backup = dir.join("bk");
    // The first run fails at the end of epoch 2, after the backup of that epoch was written.
    let err = trainer(1e-2)
        .fit(
            &train,
            None,
            options(
                EPOCHS,
                vec![
                    Box::new(BackupAndRestore::new(&backup)),
                    Box::new(FailAt(2)),
                ],
            ),
        )
        .unwrap_err();
    assert!(err.to_string().contains("simulated failure"), "{err}");
    assert!(
        backup.join("progress.json").is_file(),
        "a failed run must keep its backup (Keras does), or the rerun starts over"
    );
    // The rerun trains only epochs 3 and 4, then removes the backup as a finished run does.
    let trained = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let history = trainer(1e-2)
        .fit(
            &train,
            None,
            options(
                EPOCHS,
                vec![
                    Box::new(BackupAndRestore::new(&backup)),
                    Box::new(CountEpochs(trained.clone())),
                ],
            ),
        )
        .unwrap();
    assert_eq!(*trained.lock().unwrap(), vec![3, 4]);
    assert_eq!(history.epoch, (0..EPOCHS).collect::<Vec<_>>());
    assert!(!backup.exists(), "a finished run removes its backup");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_checkpoint_that_cannot_be_written_names_its_file_once() {
    let (train, _) = data(32);
    let dir = temp("ckpt-fail");
    // The first checkpoint's path is taken by a folder.
    let taken = dir.join("01.keras");
    std::fs::create_dir_all(&taken).unwrap();
    let template = dir.join("{epoch:02d}.keras").display().to_string();
    let err = trainer(1e-2)
        .fit(
            &train,
            None,
            options(2, vec![Box::new(graft::model_checkpoint(template))]),
        )
        .unwrap_err()
        .to_string();
    let path = taken.display().to_string();
    assert_eq!(err.matches(&path).count(), 1, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn model_checkpoint_writes_keras_and_onnx_files() {
    let (train, val) = data(64);
    let mut t = trainer(1e-2);
    let dir = temp("ckpt-formats");
    let callbacks: Vec<Box<dyn Callback>> = ["keras", "h5", "onnx"]
        .iter()
        .map(|ext| {
            let template = dir
                .join(format!("model-{{epoch:02d}}.{ext}"))
                .display()
                .to_string();
            Box::new(graft::model_checkpoint(template)) as Box<dyn Callback>
        })
        .collect();
    t.fit(&train, Some(&val), options(2, callbacks)).unwrap();
    let trained = flat_weights(&t.model().to_graph());
    for ext in ["keras", "h5", "onnx"] {
        // Epoch 2's file holds the final weights; epoch 1's differs from them.
        let last = graft::load_graph(dir.join(format!("model-02.{ext}"))).unwrap();
        assert_eq!(
            flat_weights(&last),
            trained,
            "{ext} checkpoint of the last epoch"
        );
        let first = graft::load_graph(dir.join(format!("model-01.{ext}"))).unwrap();
        assert_ne!(flat_weights(&first), trained, "{ext} checkpoint of epoch 1");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `validation_split` validates on the last fraction of the samples, as Keras' `fit` does.
#[test]
fn validation_split_validates_on_the_last_samples() {
    let (train, _) = data(80);
    let mut t = trainer(1e-2);
    let mut opts = options(3, vec![]);
    opts.validation_split = 0.25;
    let history = t.fit(&train, None, opts).unwrap();
    let last_val_loss = *history.get("val_loss").unwrap().last().unwrap();
    let (_, held_out) = train.clone().split(0.25).unwrap();
    assert_eq!(held_out.len(), 20);
    let evaluated = t.evaluate(&held_out).unwrap().get("loss").unwrap();
    assert!(
        (last_val_loss - evaluated).abs() <= 1e-6 * evaluated.abs().max(1.0),
        "val_loss {last_val_loss} vs evaluate on the last 25%: {evaluated}"
    );
}
