//! `Trainer::fit`'s options and the callbacks that shape its output, on tiny Dense models:
//!
//! - class weights (a given map and "balanced") and sample weights change the loss as Keras 3
//!   does (`sum(loss * weight) / batch size`): the same model trained by Keras with each kind of
//!   weighting (`tests/fixtures/keras/train_weighted.json`, written by
//!   `scripts/fixtures/train_weighted.py`) ends with the same weights and logs the same losses;
//! - feature caching spilled to disk trains exactly as the in-memory cache and the uncached path;
//! - the oversampling wrapper draws every class equally, repeatably under a seed;
//! - CSVLogger writes Keras' file (checked against files Keras wrote), appends as Keras does, and
//!   `History` saved as CSV is the same file;
//! - TerminateOnNaN stops at the first non-finite batch loss;
//! - `freeze_all` / `unfreeze_top` move parameters between Keras' trainable and non-trainable
//!   totals as Keras counts them, and training then changes exactly the trainable weights;
//! - a seed makes a run repeat bit for bit (also while another trains beside it); another seed
//!   gives other weights.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use graft::ir::{
    Activation, BatchNormConfig, DType, DenseConfig, DropoutConfig, InputConfig, ParamCounts,
};
use graft::train::callbacks::{BackupAndRestore, Callback, CsvLogger, TerminateOnNaN};
use graft::train::{
    ArrayData, ClassWeight, CompileOptions, DataSource, FitOptions, History, Logs, Loss,
    OptimizerConfig, Oversampled, TrainError, TrainState, Trainer,
};
use graft::{Graph, Layer, Op, Shape, SummaryOptions, Tensor};
use graft_tests::tasks::{compile_options, data, flat_weights, mlp};
use graft_tests::{TOLERANCE, check_close, fixtures};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers

fn fixture() -> Value {
    let path = fixtures().join("keras/train_weighted.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (written by scripts/fixtures/train_weighted.py)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("train_weighted.json is JSON")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("a list of numbers")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

fn input(g: &mut Graph, features: usize) -> graft::ir::TensorRef {
    g.push_input(
        "x",
        InputConfig {
            shape: Shape::batched(&[features]),
            dtype: DType::F32,
        },
    )
}

fn dense(units: usize, activation: Activation) -> Op {
    Op::Dense(DenseConfig {
        units,
        use_bias: true,
        activation,
    })
}

fn compile(graph: Graph, compile: CompileOptions) -> Trainer {
    let model = graft::Model::new(graph, &graft::default_device()).expect("model");
    Trainer::compile(model, compile).expect("compile")
}

fn quiet(epochs: usize, callbacks: Vec<Box<dyn Callback>>) -> FitOptions {
    graft_tests::tasks::quiet_fit(epochs, callbacks)
}

fn temp(name: &str) -> PathBuf {
    graft_tests::tasks::fresh_temp_dir("fit", name)
}

/// `(epoch, step, batch loss)` of every batch trained.
#[derive(Clone, Default)]
struct Batches(Arc<Mutex<Vec<(usize, usize, f64)>>>);

impl Callback for Batches {
    fn on_batch_end(
        &mut self,
        step: usize,
        logs: &Logs,
        state: &mut TrainState,
    ) -> Result<(), TrainError> {
        let loss = logs.get("loss").expect("batch loss");
        self.0.lock().unwrap().push((state.epoch, step, loss));
        Ok(())
    }
}

impl Batches {
    fn take(&self) -> Vec<(usize, usize, f64)> {
        self.0.lock().unwrap().clone()
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn history_bits(h: &History) -> BTreeMap<String, Vec<u64>> {
    h.history
        .iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|x| x.to_bits()).collect()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Class and sample weights, against Keras

/// The fixture's `Input(4) -> Dense(6, tanh) -> Dense(3, softmax)` with Keras' initial weights.
fn keras_fit_model(fx: &Value) -> Graph {
    let fit = &fx["fit"];
    let mut g = Graph::new("weighted");
    let mut x = input(&mut g, fit["features"].as_u64().unwrap() as usize);
    x = g.push(Layer::new("hidden", dense(6, Activation::Tanh)), vec![x]);
    let classes = fit["classes"].as_u64().unwrap() as usize;
    x = g.push(
        Layer::new("out", dense(classes, Activation::Softmax { axis: -1 })),
        vec![x],
    );
    g.outputs = vec![x];
    g.initialize_missing_weights(0).expect("init");
    for layer in &mut g.layers {
        let Some(stored) = fit["initial"].get(&layer.name) else {
            continue;
        };
        for w in &mut layer.weights {
            let data = floats(&stored[&w.name]);
            // Dense kernels are `[in, units]` in the IR, as in Keras.
            w.tensor = Tensor::new(w.tensor.shape().to_vec(), data).expect("weight");
        }
    }
    g
}

fn layer_weights(g: &Graph, layer: &str, weight: &str) -> Tensor {
    g.layer(layer)
        .unwrap()
        .weights
        .iter()
        .find(|w| w.name == weight)
        .unwrap()
        .tensor
        .clone()
}

#[test]
fn class_and_sample_weights_train_as_keras() {
    let fx = fixture();
    let fit = &fx["fit"];
    let n = fit["n"].as_u64().unwrap() as usize;
    let features = fit["features"].as_u64().unwrap() as usize;
    let x = Tensor::new(vec![n, features], floats(&fit["x"])).unwrap();
    let y = Tensor::new(vec![n], floats(&fit["y"])).unwrap();
    let sample_weight = floats(&fit["sample_weight"]);
    let batch_size = fit["batch_size"].as_u64().unwrap() as usize;
    assert_ne!(
        n % batch_size,
        0,
        "the last batch must be short: Keras divides each batch's weighted sum by that batch's size"
    );
    let plain = ArrayData::new(vec![x.clone()], y.clone())
        .unwrap()
        .batch_size(batch_size)
        .shuffle(false);
    let weighted = plain.clone().sample_weight(sample_weight).unwrap();
    let labels = plain.labels().unwrap();
    let cases = fit["cases"].as_array().unwrap();
    let keras_plain = cases.iter().find(|c| c["name"] == "plain").unwrap();

    for case in cases {
        let name = case["name"].as_str().unwrap();
        let class_weight = match name {
            "plain" | "sample_weight" => None,
            "class_weight" => Some(ClassWeight::Given(floats(&case["class_weight"]))),
            // Keras has no "balanced": the script passes scikit-learn's formula as a dict, and
            // graft must resolve `Balanced` to the same weights.
            "balanced" => {
                let resolved = ClassWeight::Balanced.resolve(&labels, 3).unwrap();
                let keras = floats(&case["class_weight"]);
                for (a, b) in resolved.iter().zip(&keras) {
                    assert!(
                        (a - b).abs() <= 1e-6 * b,
                        "balanced weights {resolved:?} vs {keras:?}"
                    );
                }
                Some(ClassWeight::Balanced)
            }
            other => panic!("unknown case {other}"),
        };
        let data = if case["sample_weight"].as_bool().unwrap() {
            &weighted
        } else {
            &plain
        };
        let mut trainer = compile(
            keras_fit_model(&fx),
            CompileOptions {
                optimizer: OptimizerConfig::sgd(fit["learning_rate"].as_f64().unwrap()),
                loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
                metrics: vec![],
            },
        );
        let history = trainer
            .fit(
                data,
                None,
                FitOptions {
                    class_weight,
                    ..quiet(fit["epochs"].as_u64().unwrap() as usize, vec![])
                },
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        // The epoch loss: Keras averages the batch losses weighted by batch size.
        let keras_loss = case["loss"].as_array().unwrap();
        let loss = history.get("loss").unwrap();
        assert_eq!(loss.len(), keras_loss.len());
        for (epoch, (a, b)) in loss.iter().zip(keras_loss).enumerate() {
            let b = b.as_f64().unwrap();
            assert!(
                (a - b).abs() <= 1e-5 * b.abs(),
                "{name}: epoch {epoch} loss {a}, Keras {b}"
            );
        }
        // The weights SGD reached: the gradients were weighted as Keras weights them.
        let trained = trainer.model().to_graph();
        for layer in ["hidden", "out"] {
            for weight in ["kernel", "bias"] {
                let ours = layer_weights(&trained, layer, weight);
                let keras = Tensor::new(
                    ours.shape().to_vec(),
                    floats(&case["weights"][layer][weight]),
                )
                .unwrap();
                let rel = check_close(
                    &format!("{name} {layer}/{weight}"),
                    &ours,
                    &keras,
                    TOLERANCE,
                )
                .unwrap_or_else(|e| panic!("{e}"));
                println!("{name}: {layer}/{weight} within {rel:.1e} of Keras' largest value");
                // The weighting must matter far more than the tolerance, or this proves nothing.
                if name != "plain" {
                    let unweighted = Tensor::new(
                        ours.shape().to_vec(),
                        floats(&keras_plain["weights"][layer][weight]),
                    )
                    .unwrap();
                    assert!(
                        check_close("", &unweighted, &keras, 100.0 * TOLERANCE).is_err(),
                        "{name}: Keras' weights hardly depend on the weighting ({rel:e})"
                    );
                }
            }
        }
        // `evaluate` weights by the data's sample weights (never by class weights, as Keras).
        for (data, key) in [(&plain, "evaluate"), (&weighted, "evaluate_weighted")] {
            let ours = trainer.evaluate(data).unwrap().get("loss").unwrap();
            let keras = case[key].as_f64().unwrap();
            assert!(
                (ours - keras).abs() <= 1e-5 * keras.abs(),
                "{name}: {key} {ours}, Keras {keras}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Feature caching on disk

#[test]
fn feature_cache_spilled_to_disk_trains_like_memory_and_no_cache() {
    let (train, val) = data(80);
    // Sample weights travel with the cached features (training loss and validation loss).
    let weights: Vec<f32> = (0..80).map(|i| 0.25 + (i % 7) as f32 * 0.5).collect();
    let train = train.sample_weight(weights.clone()).unwrap();
    let val = val
        .sample_weight(weights.into_iter().rev().collect())
        .unwrap();
    // Freeze the first Dense: its outputs (32 floats a sample) are the cached features; the
    // Dropout after it is random, so it runs every step from the cache.
    let run = |cache: bool, limit: usize| {
        let mut graph = mlp();
        graph.freeze_until("hidden").unwrap();
        let mut trainer = compile(graph, compile_options(1e-2));
        let history = trainer
            .fit(
                &train,
                Some(&val),
                FitOptions {
                    cache_features: cache,
                    cache_memory_limit: limit,
                    ..quiet(4, vec![])
                },
            )
            .unwrap();
        (
            flat_weights(&trainer.model().to_graph()),
            history,
            trainer.last_cache,
        )
    };
    let row = 32 * 4;
    let (train_bytes, val_bytes) = (train.len() * row, val.len() * row);
    let (memory, memory_history, memory_info) = run(true, usize::MAX);
    let (disk, disk_history, disk_info) = run(true, 0);
    // One limit for both caches: the training features fit in it, the validation ones then go
    // to disk.
    let (mixed, mixed_history, mixed_info) = run(true, train_bytes);
    let (plain, plain_history, plain_info) = run(false, usize::MAX);
    assert_eq!(memory_info, Some((train_bytes + val_bytes, 0)));
    assert_eq!(disk_info, Some((0, train_bytes + val_bytes)));
    assert_eq!(mixed_info, Some((train_bytes, val_bytes)));
    assert_eq!(plain_info, None);
    // The same floats come back from the file as from memory.
    assert_eq!(bits(&disk), bits(&memory), "disk vs memory cache");
    assert_eq!(bits(&mixed), bits(&memory), "mixed vs memory cache");
    assert_eq!(history_bits(&disk_history), history_bits(&memory_history));
    assert_eq!(history_bits(&mixed_history), history_bits(&memory_history));
    // And the cache changes nothing: the uncached run recomputes the frozen layer each step.
    assert_eq!(bits(&memory), bits(&plain), "cached vs uncached weights");
    assert_eq!(history_bits(&memory_history), history_bits(&plain_history));
}

// ---------------------------------------------------------------------------------------------
// Oversampling

/// 45 samples: 30 of class 0, 10 of class 1, 5 of class 2, the sample index as the feature.
fn imbalanced() -> ArrayData {
    let labels: Vec<f32> = (0..45)
        .map(|i| match i % 9 {
            0..=5 => 0.0,
            6 | 7 => 1.0,
            _ => 2.0,
        })
        .collect();
    let x: Vec<f32> = (0..45).map(|i| i as f32).collect();
    ArrayData::new(
        vec![Tensor::new(vec![45, 1], x).unwrap()],
        Tensor::new(vec![45], labels).unwrap(),
    )
    .unwrap()
    .batch_size(8)
}

#[test]
fn oversampling_draws_every_class_equally_and_repeats_under_a_seed() {
    let data = imbalanced();
    let labels = data.labels().unwrap();
    let counts = |l: &[usize]| -> Vec<usize> {
        (0..3)
            .map(|c| l.iter().filter(|&&x| x == c).count())
            .collect()
    };
    assert_eq!(counts(&labels), vec![30, 10, 5]);
    let over = Oversampled::new(&data, 17).unwrap();
    assert_eq!(over.len(), 3 * 30, "every class as often as the largest");
    assert_eq!(counts(&over.labels().unwrap()), vec![30, 30, 30]);

    for epoch in 0..3 {
        let order = over.order(epoch);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..90).collect::<Vec<_>>(), "a permutation");
        // What the batches of an epoch actually load: each class 30 times, and each sample of
        // a class as often as the others of its class (30/10 = 3 times, 30/5 = 6 times).
        let mut per_class = [0usize; 3];
        let mut per_sample = [0usize; 45];
        for chunk in order.chunks(over.batch_size()) {
            let batch = over.load(chunk, epoch).unwrap();
            for (i, &t) in batch.targets.data().iter().enumerate() {
                let sample = batch.inputs[0].data()[i] as usize;
                assert_eq!(labels[sample] as f32, t, "the target of sample {sample}");
                per_class[t as usize] += 1;
                per_sample[sample] += 1;
            }
        }
        assert_eq!(per_class, [30, 30, 30], "epoch {epoch}");
        for (sample, &seen) in per_sample.iter().enumerate() {
            let expected = [1, 3, 6][labels[sample]];
            assert_eq!(seen, expected, "sample {sample} (class {})", labels[sample]);
        }
    }
    // Repeatable under a seed; another seed or another epoch gives another order.
    let again = Oversampled::new(&data, 17).unwrap();
    let other = Oversampled::new(&data, 18).unwrap();
    assert_eq!(over.order(0), again.order(0));
    assert_eq!(over.order(2), again.order(2));
    assert_ne!(over.order(0), other.order(0));
    assert_ne!(over.order(0), over.order(1));

    // fit trains on the oversampled epoch: ceil(90 / 8) batches each.
    let mut g = Graph::new("tiny");
    let x = input(&mut g, 1);
    let out = g.push(
        Layer::new("out", dense(3, Activation::Softmax { axis: -1 })),
        vec![x],
    );
    g.outputs = vec![out];
    g.initialize_missing_weights(1).unwrap();
    let mut trainer = compile(g, compile_options(1e-3));
    let batches = Batches::default();
    trainer
        .fit(&over, None, quiet(2, vec![Box::new(batches.clone())]))
        .unwrap();
    assert_eq!(batches.take().len(), 2 * 90usize.div_ceil(8));
}

// ---------------------------------------------------------------------------------------------
// CSVLogger and History as CSV

/// Checks `ours` has the layout of `keras` (the file Keras' CSVLogger wrote for a run with the
/// same columns and epochs): the same header, `\r\n` line ends, the same epoch column, `NA`
/// where Keras has it; every other field is the value of `history` for that epoch and column,
/// written so that it reads back exactly.
fn check_csv(what: &str, ours: &str, keras: &str, history: &History) {
    assert!(
        ours.ends_with("\r\n") && !ours.replace("\r\n", "").contains(['\r', '\n']),
        "{what}: lines must end with \\r\\n as Python's csv writes them:\n{ours:?}"
    );
    let lines: Vec<&str> = ours.split_terminator("\r\n").collect();
    let keras_lines: Vec<&str> = keras.split_terminator("\r\n").collect();
    assert_eq!(
        lines.len(),
        keras_lines.len(),
        "{what}: rows\n{ours}\nKeras:\n{keras}"
    );
    assert_eq!(lines[0], keras_lines[0], "{what}: header");
    let columns: Vec<&str> = lines[0].split(',').collect();
    for (row, (line, keras_line)) in lines[1..].iter().zip(&keras_lines[1..]).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        let keras_fields: Vec<&str> = keras_line.split(',').collect();
        assert_eq!(fields.len(), columns.len(), "{what}: row {row}: {line}");
        assert_eq!(fields[0], keras_fields[0], "{what}: row {row}: epoch");
        let epoch: usize = fields[0].parse().unwrap();
        let at = history
            .epoch
            .iter()
            .position(|&e| e == epoch)
            .unwrap_or_else(|| panic!("{what}: epoch {epoch} is not in the history"));
        for (c, (field, keras_field)) in fields.iter().zip(&keras_fields).enumerate().skip(1) {
            if *keras_field == "NA" {
                assert_eq!(*field, "NA", "{what}: row {row}, {}", columns[c]);
                continue;
            }
            let expected = history.get(columns[c]).unwrap()[at];
            let value: f64 = field
                .parse()
                .unwrap_or_else(|_| panic!("{what}: row {row}, {}: {field}", columns[c]));
            assert_eq!(
                value.to_bits(),
                expected.to_bits(),
                "{what}: row {row}, {}: {field} for {expected}",
                columns[c]
            );
            // Python's repr: a float always shows a '.' or an exponent.
            assert!(
                field.contains(['.', 'e']),
                "{what}: {field} is not a float's repr"
            );
        }
    }
}

#[test]
fn csv_logger_writes_keras_files_and_appends_like_keras() {
    let fx = fixture();
    let keras_append = fx["csv_logger"]["validation_then_append"].as_str().unwrap();
    let keras_no_val = fx["csv_logger"]["no_validation"].as_str().unwrap();
    let (train, val) = data(48);
    let dir = temp("csv");
    let log = dir.join("log.csv");
    let mut trainer = compile(mlp(), compile_options(1e-2));

    // Two epochs with validation, then a second fit continuing with append=True: the file Keras
    // writes for the same calls has one header and three rows.
    let first = trainer
        .fit(
            &train,
            Some(&val),
            quiet(2, vec![Box::new(CsvLogger::new(&log))]),
        )
        .unwrap();
    let after_first = std::fs::read_to_string(&log).unwrap();
    let second = trainer
        .fit(
            &train,
            Some(&val),
            FitOptions {
                initial_epoch: 2,
                ..quiet(3, vec![Box::new(CsvLogger::new(&log).append(true))])
            },
        )
        .unwrap();
    assert_eq!(second.epoch, vec![2]);
    let mut both = first.clone();
    both.extend(&second);
    let appended = std::fs::read_to_string(&log).unwrap();
    check_csv("appended", &appended, keras_append, &both);
    assert!(
        appended.starts_with(&after_first),
        "append mode must keep the earlier rows as they were"
    );

    // History saved as CSV is the same file as the logger's.
    let saved = dir.join("history.csv");
    first.save(&saved).unwrap();
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), after_first);
    // ... and as JSON, it reads back.
    let json = dir.join("history.json");
    first.save(&json).unwrap();
    assert_eq!(History::load(&json).unwrap(), first);

    // Without append, a new fit starts the file afresh.
    let third = trainer
        .fit(
            &train,
            Some(&val),
            quiet(2, vec![Box::new(CsvLogger::new(&log))]),
        )
        .unwrap();
    let fresh = std::fs::read_to_string(&log).unwrap();
    let keras_fresh: String = keras_append.split_inclusive("\r\n").take(3).collect();
    check_csv("rewritten", &fresh, &keras_fresh, &third);

    // Without validation data Keras adds val_ columns anyway, all NA.
    let no_val = trainer
        .fit(&train, None, quiet(2, vec![Box::new(CsvLogger::new(&log))]))
        .unwrap();
    check_csv(
        "no validation",
        &std::fs::read_to_string(&log).unwrap(),
        keras_no_val,
        &no_val,
    );

    // Appending to a missing file writes the header first.
    let fresh_log = dir.join("new.csv");
    let h = trainer
        .fit(
            &train,
            Some(&val),
            quiet(2, vec![Box::new(CsvLogger::new(&fresh_log).append(true))]),
        )
        .unwrap();
    let keras_two: String = keras_append.split_inclusive("\r\n").take(3).collect();
    check_csv(
        "append to a new file",
        &std::fs::read_to_string(&fresh_log).unwrap(),
        &keras_two,
        &h,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run resumed by BackupAndRestore logs every epoch once: without `append` the file is
/// rewritten with the restored epochs' rows first; with it (Keras' advice for resumable runs)
/// the resumed run adds only the epochs it trains.
#[test]
fn csv_logger_after_backup_and_restore_has_every_epoch_once() {
    let (train, val) = data(48);
    let dir = temp("csv-backup");
    let backup = dir.join("backup");
    let (rewritten, appended) = (dir.join("rewritten.csv"), dir.join("appended.csv"));
    let callbacks = || -> Vec<Box<dyn Callback>> {
        vec![
            Box::new(BackupAndRestore::new(&backup).delete_checkpoint(false)),
            Box::new(CsvLogger::new(&rewritten)),
            Box::new(CsvLogger::new(&appended).append(true)),
        ]
    };
    // A first process trains two epochs (its backup stays, as if it had been killed).
    let mut first = compile(mlp(), compile_options(1e-2));
    first
        .fit(&train, Some(&val), quiet(2, callbacks()))
        .unwrap();
    // A second one resumes at epoch 2 and trains to 4.
    let mut second = compile(mlp(), compile_options(1e-2));
    let history = second
        .fit(&train, Some(&val), quiet(4, callbacks()))
        .unwrap();
    assert_eq!(history.epoch, vec![0, 1, 2, 3], "the restored history");
    let epochs = |path: &PathBuf| -> Vec<String> {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines[0], "epoch,accuracy,loss,val_accuracy,val_loss");
        lines[1..]
            .iter()
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect()
    };
    assert_eq!(epochs(&rewritten), ["0", "1", "2", "3"]);
    assert_eq!(epochs(&appended), ["0", "1", "2", "3"]);
    // Both files hold the same values: the restored rows are the first process's.
    assert_eq!(
        std::fs::read_to_string(&rewritten).unwrap(),
        std::fs::read_to_string(&appended).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(&rewritten).unwrap(),
        history.to_csv()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// TerminateOnNaN

#[test]
fn terminate_on_nan_stops_at_a_nan_input() {
    let (train, _) = data(64);
    // Sample 37 becomes NaN; without shuffling it is in batch 2 (samples 32..48) of epoch 0.
    let mut batch = train.load(&(0..64).collect::<Vec<_>>(), 0).unwrap();
    let mut x = batch.inputs[0].data().to_vec();
    x[37 * 8 + 3] = f32::NAN;
    batch.inputs[0] = Tensor::new(batch.inputs[0].shape().to_vec(), x).unwrap();
    let poisoned = ArrayData::new(batch.inputs, batch.targets)
        .unwrap()
        .batch_size(16)
        .shuffle(false);
    let mut trainer = compile(mlp(), compile_options(1e-2));
    let batches = Batches::default();
    let history = trainer
        .fit(
            &poisoned,
            None,
            quiet(5, vec![Box::new(TerminateOnNaN), Box::new(batches.clone())]),
        )
        .unwrap();
    let ran = batches.take();
    let steps: Vec<(usize, usize)> = ran.iter().map(|&(e, s, _)| (e, s)).collect();
    assert_eq!(steps, vec![(0, 0), (0, 1), (0, 2)], "batches trained");
    assert!(ran[..2].iter().all(|b| b.2.is_finite()));
    assert!(ran[2].2.is_nan());
    // Keras ends the epoch it stopped in (its logs are recorded), and runs no other.
    assert_eq!(history.epoch, vec![0]);
    assert!(history.get("loss").unwrap()[0].is_nan());
    let reason = trainer.state().stop_reason.clone().unwrap_or_default();
    assert!(reason.contains("invalid loss"), "stop reason: {reason:?}");
}

#[test]
fn terminate_on_nan_stops_a_diverging_run() {
    // Linear regression with plain SGD at a learning rate of 1e9: every step multiplies the
    // weights' size by about 1e9, so the squared error overflows within a few batches.
    let (train, _) = data(96);
    let all: Vec<usize> = (0..96).collect();
    let b = train.load(&all, 0).unwrap();
    let sums: Vec<f32> = b.inputs[0]
        .data()
        .chunks(8)
        .map(|r| r.iter().sum())
        .collect();
    let regression = ArrayData::new(b.inputs, Tensor::new(vec![96, 1], sums).unwrap())
        .unwrap()
        .batch_size(16)
        .shuffle(false);
    let mut g = Graph::new("linear");
    let x = input(&mut g, 8);
    let out = g.push(Layer::new("out", dense(1, Activation::Linear)), vec![x]);
    g.outputs = vec![out];
    g.initialize_missing_weights(3).unwrap();
    let run = |terminate: bool| {
        let mut trainer = compile(
            g.clone(),
            CompileOptions {
                optimizer: OptimizerConfig::sgd(1e9),
                loss: Loss::MeanSquaredError,
                metrics: vec![],
            },
        );
        let batches = Batches::default();
        let mut callbacks: Vec<Box<dyn Callback>> = vec![Box::new(batches.clone())];
        if terminate {
            callbacks.insert(0, Box::new(TerminateOnNaN));
        }
        let history = trainer.fit(&regression, None, quiet(4, callbacks)).unwrap();
        (batches.take(), history)
    };
    // Without the callback, all 4 x 6 batches run, and the loss stops being finite on the way.
    let (all_batches, _) = run(false);
    assert_eq!(all_batches.len(), 24);
    let first_bad = all_batches
        .iter()
        .position(|b| !b.2.is_finite())
        .expect("the run diverges");
    assert!(
        first_bad > 0 && first_bad < 23,
        "diverged at batch {first_bad}"
    );
    // With it, training stops right at that batch, and the epoch it was in is the last logged.
    let (stopped, history) = run(true);
    assert_eq!(stopped.len(), first_bad + 1, "batches trained");
    assert_eq!(*history.epoch.last().unwrap(), stopped[first_bad].0);
    assert_eq!(history.epoch.len(), stopped[first_bad].0 + 1);
}

/// Clean samples until `from_epoch`, then one NaN feature in every batch.
struct PoisonedFrom {
    inner: ArrayData,
    from_epoch: usize,
}

impl DataSource for PoisonedFrom {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn batch_size(&self) -> usize {
        DataSource::batch_size(&self.inner)
    }
    fn order(&self, epoch: usize) -> Vec<usize> {
        self.inner.order(epoch)
    }
    fn load(&self, indices: &[usize], epoch: usize) -> Result<graft::train::Batch, TrainError> {
        let mut batch = self.inner.load(indices, epoch)?;
        if epoch >= self.from_epoch {
            let mut x = batch.inputs[0].data().to_vec();
            x[0] = f32::NAN;
            batch.inputs[0] = Tensor::new(batch.inputs[0].shape().to_vec(), x).unwrap();
        }
        Ok(batch)
    }
    fn is_augmented(&self) -> bool {
        false
    }
}

/// A run TerminateOnNaN stops keeps its BackupAndRestore backup, and that backup is the last
/// good epoch's: a run resumed from it on clean data ends where an uninterrupted clean run does.
#[test]
fn terminate_on_nan_keeps_the_last_good_backup() {
    let (train, val) = data(48);
    let dir = temp("nan-backup");
    let backup = dir.join("backup");
    let poisoned = PoisonedFrom {
        inner: train.clone(),
        from_epoch: 2,
    };
    let mut trainer = compile(mlp(), compile_options(1e-2));
    let history = trainer
        .fit(
            &poisoned,
            Some(&val),
            quiet(
                4,
                vec![
                    Box::new(BackupAndRestore::new(&backup)),
                    Box::new(TerminateOnNaN),
                ],
            ),
        )
        .unwrap();
    assert_eq!(history.epoch, vec![0, 1, 2], "stopped in epoch 2");
    assert!(history.get("loss").unwrap()[2].is_nan());
    let progress: Value =
        serde_json::from_str(&std::fs::read_to_string(backup.join("progress.json")).unwrap())
            .expect("the backup of a run stopped on NaN is kept");
    assert_eq!(progress["epoch"], 1, "the backup is the last good epoch's");

    // Resume on clean data: epochs 2 and 3 run from the backed-up state.
    let mut resumed = compile(mlp(), compile_options(1e-2));
    let batches = Batches::default();
    let history = resumed
        .fit(
            &train,
            Some(&val),
            quiet(
                4,
                vec![
                    Box::new(BackupAndRestore::new(&backup)),
                    Box::new(batches.clone()),
                ],
            ),
        )
        .unwrap();
    assert_eq!(history.epoch, vec![0, 1, 2, 3]);
    assert!(
        batches.take().iter().all(|b| b.0 >= 2),
        "resumed at epoch 2"
    );
    let mut clean = compile(mlp(), compile_options(1e-2));
    clean.fit(&train, Some(&val), quiet(4, vec![])).unwrap();
    assert_eq!(
        bits(&flat_weights(&resumed.model().to_graph())),
        bits(&flat_weights(&clean.model().to_graph())),
        "resumed from the last good backup"
    );
    assert!(!backup.exists(), "a completed run removes its backup");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Freezing and parameter counts

/// `Input(8) -> Dense(32, relu) -> BatchNormalization -> Dropout -> Dense(3, softmax)`, the model
/// the fixture counted in Keras.
fn bn_model() -> Graph {
    let mut g = Graph::new("bn_model");
    let mut x = input(&mut g, 8);
    x = g.push(Layer::new("hidden", dense(32, Activation::Relu)), vec![x]);
    x = g.push(
        Layer::new(
            "bn",
            Op::BatchNorm(BatchNormConfig {
                axis: -1,
                epsilon: 1e-3,
                momentum: 0.99,
                center: true,
                scale: true,
            }),
        ),
        vec![x],
    );
    x = g.push(
        Layer::new(
            "dropout",
            Op::Dropout(DropoutConfig {
                rate: 0.2,
                noise_shape: None,
                seed: None,
            }),
        ),
        vec![x],
    );
    x = g.push(
        Layer::new("out", dense(3, Activation::Softmax { axis: -1 })),
        vec![x],
    );
    g.outputs = vec![x];
    g.initialize_missing_weights(8).unwrap();
    g
}

/// Counts from the layers' weights, by Keras' rule: a weight counts as trainable when it is a
/// trainable weight (not a moving statistic) of a layer whose `trainable` is set.
fn counted(g: &Graph) -> ParamCounts {
    let mut c = ParamCounts::default();
    for l in &g.layers {
        for w in &l.weights {
            if l.trainable && w.trainable {
                c.trainable += w.tensor.numel();
            } else {
                c.non_trainable += w.tensor.numel();
            }
        }
    }
    c
}

/// The totals the summary prints: `Trainable params: 1,234 (4.82 KB)`.
fn summary_counts(g: &Graph) -> ParamCounts {
    let text = g.summary(&SummaryOptions::default()).unwrap();
    let read = |label: &str| -> usize {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no '{label}' in\n{text}"));
        line.trim_start()[label.len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap()
    };
    ParamCounts {
        trainable: read("Trainable params:"),
        non_trainable: read("Non-trainable params:"),
    }
}

fn weights_of(g: &Graph, layer: &str) -> Vec<(String, Vec<u32>)> {
    g.layer(layer)
        .unwrap()
        .weights
        .iter()
        .map(|w| (w.name.clone(), bits(w.tensor.data())))
        .collect()
}

#[test]
fn freezing_moves_parameters_between_the_summary_totals_as_keras_counts_them() {
    let fx = fixture();
    let keras: Vec<(String, ParamCounts)> = fx["param_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["state"].as_str().unwrap().to_string(),
                ParamCounts {
                    trainable: c["trainable"].as_u64().unwrap() as usize,
                    non_trainable: c["non_trainable"].as_u64().unwrap() as usize,
                },
            )
        })
        .collect();
    let check = |g: &Graph, state: &str| {
        let expected = keras
            .iter()
            .find(|(s, _)| s == state)
            .unwrap_or_else(|| panic!("no Keras count for {state}"))
            .1;
        assert_eq!(counted(g), expected, "{state}: counted from the weights");
        assert_eq!(g.param_counts(), expected, "{state}: param_counts");
        assert_eq!(summary_counts(g), expected, "{state}: summary");
    };
    let mut g = bn_model();
    check(&g, "all trainable");
    g.freeze_all();
    check(&g, "all frozen");
    for n in 1..=3 {
        let mut top = g.clone();
        top.unfreeze_top(n);
        check(&top, &format!("top {n} unfrozen"));
    }

    // The same model nested in another (`-> Dense(2)`): freezing the nested model's layer
    // freezes everything inside it; inside a trainable one, each layer's own flag counts.
    let nested = |base_trainable: bool, inner_frozen: &[&str]| {
        let mut inner = bn_model();
        for name in inner_frozen {
            inner.layer_mut(name).unwrap().trainable = false;
        }
        let mut g = Graph::new("outer");
        let mut x = input(&mut g, 8);
        let mut base = Layer::new("base", Op::Model(Box::new(inner)));
        base.trainable = base_trainable;
        x = g.push(base, vec![x]);
        x = g.push(Layer::new("top", dense(2, Activation::Linear)), vec![x]);
        g.outputs = vec![x];
        g.initialize_missing_weights(4).unwrap();
        g
    };
    let check_nested = |g: &Graph, state: &str| {
        let expected = keras.iter().find(|(s, _)| s == state).unwrap().1;
        assert_eq!(g.param_counts(), expected, "{state}: param_counts");
        assert_eq!(summary_counts(g), expected, "{state}: summary");
    };
    check_nested(&nested(true, &[]), "nested: all trainable");
    check_nested(&nested(false, &[]), "nested: base frozen");
    check_nested(
        &nested(true, &["hidden"]),
        "nested: base trainable, its hidden frozen",
    );
    // Not checked: "nested: base frozen, its out unfrozen". Keras 3 keeps `trainable` on each
    // variable and only the model asked (the outer one) hides its weights, so an inner layer
    // unfrozen after `base.trainable = False` trains (the fixture counts its 99 parameters as
    // trainable); graft, like tf.keras 2, lets a frozen nested model freeze everything inside.

    // Training changes exactly what is trainable: with only `out` unfrozen, `hidden` and the
    // frozen BatchNormalization (weights and moving statistics: it runs in inference mode) stay
    // bit-identical.
    let (train, _) = data(64);
    let mut frozen = bn_model();
    frozen.freeze_all();
    frozen.unfreeze_top(1);
    let mut trainer = compile(frozen.clone(), compile_options(1e-2));
    assert_eq!(trainer.param_counts(), frozen.param_counts());
    trainer.fit(&train, None, quiet(2, vec![])).unwrap();
    let after = trainer.model().to_graph();
    for layer in ["hidden", "bn"] {
        assert_eq!(
            weights_of(&after, layer),
            weights_of(&frozen, layer),
            "{layer} changed"
        );
    }
    assert_ne!(
        weights_of(&after, "out"),
        weights_of(&frozen, "out"),
        "out did not train"
    );

    // Recompiling with the top two unfrozen: the trainer's totals follow, and BatchNormalization
    // now trains (gamma, beta) and updates its statistics, while `hidden` stays put.
    let before = after;
    trainer.recompile(1e-3, |g| g.unfreeze_top(2));
    let mut top2 = frozen.clone();
    top2.unfreeze_top(2);
    assert_eq!(trainer.param_counts(), top2.param_counts());
    check(&trainer.state().to_graph(), "top 2 unfrozen");
    trainer.fit(&train, None, quiet(1, vec![])).unwrap();
    let after = trainer.model().to_graph();
    assert_eq!(weights_of(&after, "hidden"), weights_of(&before, "hidden"));
    for (name, old) in weights_of(&before, "bn") {
        let new = weights_of(&after, "bn")
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        assert_ne!(new, old, "bn/{name} did not change once unfrozen");
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds

fn seeded_run(fit_seed: u64, data_seed: u64) -> (Vec<u32>, BTreeMap<String, Vec<u64>>) {
    let (train, val) = data(64);
    let train = train.seed(data_seed);
    let mut trainer = compile(mlp(), compile_options(1e-2));
    let history = trainer
        .fit(
            &train,
            Some(&val),
            FitOptions {
                seed: fit_seed,
                ..quiet(3, vec![])
            },
        )
        .unwrap();
    (
        bits(&flat_weights(&trainer.model().to_graph())),
        history_bits(&history),
    )
}

#[test]
fn a_seed_repeats_a_run_bit_for_bit_and_another_seed_does_not() {
    let reference = seeded_run(5, 3);
    assert_eq!(seeded_run(5, 3), reference, "same seeds, second run");
    // Two runs at once in this process: dropout masks come from per-thread generators, so each
    // repeats the sequential run.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| seeded_run(5, 3));
        let b = s.spawn(|| seeded_run(5, 3));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a, reference, "concurrent run 1");
    assert_eq!(b, reference, "concurrent run 2");
    // Another dropout seed, or another shuffling seed, trains to other weights.
    assert_ne!(seeded_run(6, 3).0, reference.0, "fit seed 6 vs 5");
    assert_ne!(seeded_run(5, 4).0, reference.0, "data seed 4 vs 3");
}
