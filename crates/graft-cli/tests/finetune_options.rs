//! `graft finetune`'s options end to end, each checked by its effect: the head they build
//! (read back from the exported files), the files they write, the training they change, and
//! what the command prints. Also `graft demo` with no arguments.
//!
//! Every run uses the demo backbone (`models/demo_backbone.h5`, cut at its pooled `features`, or
//! at its last feature map where the head's pooling matters) on a small synthetic four-class
//! task of 32x32 images, for a few epochs. The whole file takes seconds in release.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use burn::module::Module;
use graft::Tensor;
use graft::ir::{Activation, Op};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn graft(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graft"))
        .args(args)
        .output()
        .expect("graft runs")
}

/// Runs graft and fails the test, with its output, unless it succeeds.
fn graft_ok(args: &[String]) -> Output {
    let out = graft(args);
    assert!(
        out.status.success(),
        "graft {}\nstdout: {}\nstderr: {}",
        args.join(" "),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// The demo backbone (pretrained by Keras on circles, squares, triangles and crosses).
fn backbone() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/demo_backbone.h5")
}

/// A temporary folder with a small task: `train/` (12 images a class) and `val/` (6 a class) of
/// the four shapes the backbone never saw.
struct Task {
    dir: tempfile::TempDir,
}

impl Task {
    fn new(seed: u64) -> Task {
        let dir = tempfile::tempdir().expect("temp dir");
        let shapes = graft::data::synthetic::NEW_SHAPES;
        graft::data::synthetic::write_folder(&dir.path().join("train"), &shapes, 12, 32, seed)
            .unwrap();
        graft::data::synthetic::write_folder(&dir.path().join("val"), &shapes, 6, 32, seed + 1)
            .unwrap();
        Task { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// `graft finetune` on this task (the backbone cut at `features`, its pooled features,
    /// batches of 16, seed 5) followed by `extra`. Paths in `extra` are taken as they are.
    fn finetune(&self, extra: &[&str]) -> Vec<String> {
        self.finetune_cut("features", extra)
    }

    /// As [`Task::finetune`], with the backbone cut after layer `cut`.
    fn finetune_cut(&self, cut: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "finetune",
            "--base",
            &backbone().display().to_string(),
            "--cut-at",
            cut,
            "--data",
            &self.p("train"),
            "--val-data",
            &self.p("val"),
            "--batch-size",
            "16",
            "--seed",
            "5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }
}

/// One list of a history JSON (`graft finetune --history`).
fn series(history: &Path, key: &str) -> Vec<f64> {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(history).unwrap()).unwrap();
    json[key]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no \"{key}\" in {json}", history.display()))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// A layer of the head: its Keras type and, for a Dense layer, its units and activation.
#[derive(Debug, PartialEq)]
struct HeadLayer {
    kind: String,
    dense: Option<(usize, Activation)>,
}

/// The layers after the base's layer `cut` (where the run cut it) in a written model.
fn head_of(model: &Path, cut: &str) -> Vec<HeadLayer> {
    let graph = graft::load_graph(model)
        .unwrap_or_else(|e| panic!("{} does not load: {e}", model.display()));
    let cut = graph
        .layers
        .iter()
        .position(|l| l.name == cut)
        .unwrap_or_else(|| panic!("{}: no layer '{cut}'", model.display()));
    graph.layers[cut + 1..]
        .iter()
        .map(|l| HeadLayer {
            kind: l.op.type_name(),
            dense: match &l.op {
                Op::Dense(c) => Some((c.units, c.activation)),
                _ => None,
            },
        })
        .collect()
}

fn layer(kind: &str) -> HeadLayer {
    HeadLayer {
        kind: kind.into(),
        dense: None,
    }
}

fn dense(units: usize, activation: Activation) -> HeadLayer {
    HeadLayer {
        kind: "Dense".into(),
        dense: Some((units, activation)),
    }
}

/// The classifier every head ends with: one unit per class (4), softmax.
fn predictions() -> HeadLayer {
    dense(4, Activation::Softmax { axis: -1 })
}

/// The validation images as one NHWC batch of raw pixels (the task's preprocessing is none),
/// with their class indices (class folders in sorted order, as flow_from_directory numbers
/// them).
fn val_batch(task: &Task) -> (Tensor, Vec<usize>) {
    let mut classes: Vec<PathBuf> = std::fs::read_dir(task.path("val"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    classes.sort();
    let (mut data, mut labels, mut n) = (vec![], vec![], 0);
    for (label, dir) in classes.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files {
            let rgb = image::open(&file).unwrap().to_rgb8();
            assert_eq!(rgb.dimensions(), (32, 32), "{}", file.display());
            data.extend(rgb.as_raw().iter().map(|&v| v as f32));
            labels.push(label);
            n += 1;
        }
    }
    (Tensor::new(vec![n, 32, 32, 3], data).unwrap(), labels)
}

/// The model's class probabilities for `x`: one row of 4 per image, each summing to 1.
fn predict(model: &graft::Model, x: &Tensor) -> Tensor {
    let y = model.predict(std::slice::from_ref(x)).unwrap().remove(0);
    assert_eq!(y.shape(), [x.shape()[0], 4]);
    for row in y.data().chunks(4) {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "not probabilities: {row:?}");
    }
    y
}

fn load(path: &Path) -> graft::Model {
    graft::load_model(path, &graft::default_device())
        .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()))
}

fn max_difference(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.data()
        .iter()
        .zip(b.data())
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// Two runs' histories agree (to float noise: parallel sums may round differently).
fn same_history(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 * x.abs().max(1.0))
}

/// Two runs' histories differ by more than float noise, at every epoch.
fn different_history(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() > 1e-4)
}

/// Keras' sparse categorical crossentropy of probabilities `y` for `labels`, averaged.
fn crossentropy(y: &Tensor, labels: &[usize]) -> f64 {
    let k = y.shape()[1];
    let total: f64 = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| -(y.data()[i * k + l].max(1e-7) as f64).ln())
        .sum();
    total / labels.len() as f64
}

/// The backbone's last feature map (8x8x64), where a head needs a pooling.
const SPATIAL_CUT: &str = "block3_relu";

/// `--pooling max --dense 16,8` builds that head; `--out` .h5 with `--export` given twice writes
/// three files of one model; `--quiet` prints nothing (and still prints errors).
#[test]
fn max_pooling_dense_layers_three_formats_and_quiet() {
    let task = Task::new(11);
    let args = task.finetune_cut(
        SPATIAL_CUT,
        &[
            "--epochs",
            "2",
            "--pooling",
            "max",
            "--dense",
            "16,8",
            "--out",
            &task.p("m.h5"),
            "--export",
            &task.p("m.onnx"),
            "--export",
            &task.p("m.keras"),
            "--quiet",
        ],
    );
    let out = graft_ok(&args);
    assert_eq!(text(&out.stderr), "", "--quiet: nothing on stderr");
    assert_eq!(text(&out.stdout), "", "--quiet: nothing on stdout");

    let expected = vec![
        layer("GlobalMaxPooling2D"),
        dense(16, Activation::Relu),
        dense(8, Activation::Relu),
        predictions(),
    ];
    for keras in ["m.h5", "m.keras"] {
        assert_eq!(head_of(&task.path(keras), SPATIAL_CUT), expected, "{keras}");
    }
    // The three files hold one model: the same probabilities from each.
    let (x, _) = val_batch(&task);
    let h5 = predict(&load(&task.path("m.h5")), &x);
    for other in ["m.keras", "m.onnx"] {
        let y = predict(&load(&task.path(other)), &x);
        let diff = max_difference(&h5, &y);
        assert!(diff < 1e-5, "{other} vs m.h5: max difference {diff}");
    }

    // Quiet still reports an error, on one line.
    let mut bad = task.finetune(&["--out", &task.p("m.txt"), "--quiet"]);
    bad.extend(["--epochs".into(), "2".into()]);
    let out = graft(&bad);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("m.txt") && err.lines().count() == 1,
        "{err}"
    );
}

/// `--pooling flatten` builds a Flatten head; a burn record (`.bpk`) as `--out` holds the same
/// weights as the `.keras` export; without `--quiet` the run shows its progress and report.
#[test]
fn flatten_head_and_a_burn_record() {
    let task = Task::new(21);
    let args = task.finetune_cut(
        SPATIAL_CUT,
        &[
            "--epochs",
            "2",
            "--pooling",
            "flatten",
            "--out",
            &task.p("m.bpk"),
            "--export",
            &task.p("m.keras"),
        ],
    );
    let out = graft_ok(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stderr.contains("Epoch 1/2") && stderr.contains("Epoch 2/2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("m.bpk") && stderr.contains("m.keras"),
        "{stderr}"
    );
    assert!(stdout.contains("confusion matrix"), "{stdout}");

    assert_eq!(
        head_of(&task.path("m.keras"), SPATIAL_CUT),
        vec![layer("Flatten"), predictions()]
    );
    // Load the record into the .keras model with its head's weights zeroed: it must bring back
    // exactly the trained weights (the .keras export's predictions).
    let (x, _) = val_batch(&task);
    let keras = predict(&load(&task.path("m.keras")), &x);
    let mut graph = graft::load_graph(task.path("m.keras")).unwrap();
    let cut = graph
        .layers
        .iter()
        .position(|l| l.name == SPATIAL_CUT)
        .unwrap();
    for layer in &mut graph.layers[cut + 1..] {
        for w in &mut layer.weights {
            w.tensor.data_mut().fill(0.0);
        }
    }
    let zeroed = graft::Model::new(graph, &graft::default_device()).unwrap();
    assert!(
        max_difference(&predict(&zeroed, &x), &keras) > 1e-3,
        "zeroing the head should change the predictions"
    );
    let (structure, module, device) = zeroed.into_parts();
    let module = module
        .try_load_file(task.path("m.bpk"))
        .expect("m.bpk loads into the model it was trained as");
    let restored = graft::Model::from_parts(structure, module, device);
    let diff = max_difference(&predict(&restored, &x), &keras);
    assert!(diff < 1e-6, "m.bpk vs m.keras: max difference {diff}");
}

/// `--optimizer` is honoured: from the same start (same seed), sgd, rmsprop and adam train
/// differently, while a repeated run trains identically.
#[test]
fn optimizers_train_differently() {
    let task = Task::new(31);
    let losses = |optimizer: &str, name: &str| {
        let history = task.path(&format!("{name}.json"));
        graft_ok(&task.finetune(&[
            "--epochs",
            "2",
            "--optimizer",
            optimizer,
            "--lr",
            "0.01",
            "--out",
            &task.p(&format!("{name}.keras")),
            "--history",
            &history.display().to_string(),
            "--quiet",
        ]));
        let mut l = series(&history, "loss");
        l.extend(series(&history, "val_loss"));
        l
    };
    let adam = losses("adam", "adam");
    let again = losses("adam", "adam-again");
    assert!(
        same_history(&adam, &again),
        "the same run twice: {adam:?} vs {again:?}"
    );
    let sgd = losses("sgd", "sgd");
    let rmsprop = losses("rmsprop", "rmsprop");
    for (a, b, what) in [
        (&sgd, &adam, "sgd vs adam"),
        (&rmsprop, &adam, "rmsprop vs adam"),
        (&sgd, &rmsprop, "sgd vs rmsprop"),
    ] {
        assert!(different_history(a, b), "{what}: {a:?} vs {b:?}");
    }
    let (x, _) = val_batch(&task);
    for name in ["adam", "sgd", "rmsprop"] {
        predict(&load(&task.path(&format!("{name}.keras"))), &x);
    }
    // An unknown optimizer stops the run before training.
    let out = graft(&task.finetune(&["--optimizer", "adadelta", "--out", &task.p("x.keras")]));
    let err = text(&out.stderr);
    assert!(!out.status.success() && err.contains("adadelta"), "{err}");
    assert!(!task.path("x.keras").exists());
}

/// The preprocessing a run uses (the HTML report states it, and the training shows it):
/// --preprocess when given, otherwise the registry's for a keras-applications weights file
/// (recognised by its name), the application's for an application base, and none for any other
/// model file.
#[test]
fn preprocess_option_and_its_defaults() {
    let task = Task::new(41);
    let registry = graft::hub::Registry::load_default().unwrap();
    let entry = registry
        .weights()
        .iter()
        .find(|e| e.preprocessing != graft::applications::Preprocessing::Identity)
        .expect("a registry entry with preprocessing");
    let registry_default = entry.preprocessing.to_string();
    // The demo backbone under the name of that entry's file.
    let renamed = task.path(&entry.file_name);
    std::fs::copy(backbone(), &renamed).unwrap();
    let renamed = renamed.display().to_string();
    let application = graft::applications::Application::from_name("MobileNetV2").unwrap();

    // (extra arguments, the preprocessing the run should use)
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec![], "none".into()),
        (vec!["--preprocess", "caffe"], "caffe".into()),
        (vec!["--preprocess", "torch"], "torch".into()),
        (
            vec!["--preprocess", &registry_default],
            registry_default.clone(),
        ),
        (vec!["--base", &renamed], registry_default.clone()),
        (
            vec!["--base", &renamed, "--preprocess", "none"],
            "none".into(),
        ),
        (
            vec![
                "--base",
                "MobileNetV2",
                "--alpha",
                "0.35",
                "--weights",
                "none",
                "--image-size",
                "32,32",
            ],
            application.preprocessing().to_string(),
        ),
    ];
    let mut losses = vec![];
    for (i, (extra, expected)) in cases.iter().enumerate() {
        let report = task.p(&format!("report{i}"));
        let out = task.p(&format!("m{i}.keras"));
        let history = task.p(&format!("h{i}.json"));
        let mut tail = vec![
            "--epochs",
            "1",
            "--out",
            &out,
            "--report",
            &report,
            "--history",
            &history,
            "-q",
        ];
        tail.extend(extra);
        // A second --base replaces the first, and an application has no 'features' layer.
        let mut args = task.finetune(&tail);
        if extra.contains(&"--base") {
            let at = args.iter().position(|a| a == "--base").unwrap();
            args.drain(at..at + 2);
        }
        if extra.contains(&"MobileNetV2") {
            let at = args.iter().position(|a| a == "--cut-at").unwrap();
            args.drain(at..at + 2);
        }
        graft_ok(&args);
        let html = std::fs::read_to_string(Path::new(&report).join("index.html")).unwrap();
        assert!(
            html.contains(&format!("preprocessing {expected}")),
            "{extra:?}: the report should say 'preprocessing {expected}'"
        );
        losses.push(series(Path::new(&history), "loss"));
    }
    // The backbone's training depends on the preprocessing...
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        assert!(
            different_history(&losses[a], &losses[b]),
            "{:?} vs {:?}: {:?} vs {:?}",
            cases[a].0,
            cases[b].0,
            losses[a],
            losses[b]
        );
    }
    // ...and the renamed backbone (the same model) trains exactly as the backbone given the
    // same preprocessing explicitly.
    assert!(
        same_history(&losses[4], &losses[3]),
        "the registry's default, {registry_default}: {:?} vs {:?}",
        losses[4],
        losses[3]
    );
    assert!(
        same_history(&losses[5], &losses[0]),
        "--preprocess none over the registry's default: {:?} vs {:?}",
        losses[5],
        losses[0]
    );
}

/// `--class-weight balanced` weights the loss by class frequency: it changes the training loss
/// on imbalanced classes, and nothing on balanced ones (every weight is then 1).
#[test]
fn balanced_class_weights() {
    let task = Task::new(51);
    let imbalanced = task.path("imbalanced");
    for (shape, count, seed) in [("ring", 24, 1), ("dots", 4, 2), ("stripes", 8, 3)] {
        graft::data::synthetic::write_folder(&imbalanced, &[shape], count, 32, seed).unwrap();
    }
    let loss = |data: &Path, weighted: bool, name: &str| {
        let history = task.path(&format!("{name}.json"));
        let mut extra = vec![
            "--epochs".to_string(),
            "2".into(),
            "--out".into(),
            task.p(&format!("{name}.keras")),
            "--history".into(),
            history.display().to_string(),
            "-q".into(),
        ];
        if weighted {
            extra.extend(["--class-weight".into(), "balanced".into()]);
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let mut args = task.finetune(&extra);
        // Train on `data`, with no validation set (the imbalanced folder has 3 classes).
        let at = args.iter().position(|a| a == "--data").unwrap();
        args[at + 1] = data.display().to_string();
        let at = args.iter().position(|a| a == "--val-data").unwrap();
        args.drain(at..at + 2);
        graft_ok(&args);
        series(&history, "loss")
    };
    let plain = loss(&imbalanced, false, "imbalanced");
    let weighted = loss(&imbalanced, true, "imbalanced-weighted");
    assert_eq!(plain.len(), 2);
    assert!(
        different_history(&plain, &weighted),
        "imbalanced classes: {plain:?} vs {weighted:?}"
    );
    let balanced = task.path("train");
    let plain = loss(&balanced, false, "balanced");
    let weighted = loss(&balanced, true, "balanced-weighted");
    assert!(
        same_history(&plain, &weighted),
        "balanced classes: {plain:?} vs {weighted:?}"
    );
    let out = graft(&task.finetune(&["--class-weight", "inverse", "--out", &task.p("x.keras")]));
    assert!(!out.status.success() && text(&out.stderr).contains("balanced"));
}

/// `--checkpoint` writes one file per epoch; with `--save-best-only`, exactly at the epochs
/// whose val_loss improved, and the last one holds the best weights.
#[test]
fn checkpoints_every_epoch_and_only_improvements() {
    let task = Task::new(61);
    let epochs = 8;
    let run = |name: &str, best_only: bool| -> (Vec<f64>, Vec<(usize, f64, PathBuf)>) {
        let dir = task.path(name);
        let template = dir.join("{epoch:02d}-{val_loss:.4f}.keras");
        let history = task.path(&format!("{name}.json"));
        let mut extra = vec![
            "--epochs".to_string(),
            epochs.to_string(),
            // A high learning rate, so that val_loss does not simply fall every epoch.
            "--lr".into(),
            "0.05".into(),
            "--checkpoint".into(),
            template.display().to_string(),
            "--out".into(),
            task.p(&format!("{name}.keras")),
            "--history".into(),
            history.display().to_string(),
            "-q".into(),
        ];
        if best_only {
            extra.push("--save-best-only".into());
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        graft_ok(&task.finetune(&extra));
        // (epoch, val_loss, path) of each file, in epoch order.
        let mut saved: Vec<(usize, f64, PathBuf)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let path = e.unwrap().path();
                let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
                let (epoch, loss) = stem.split_once('-').unwrap();
                (epoch.parse().unwrap(), loss.parse().unwrap(), path)
            })
            .collect();
        saved.sort_by_key(|s| s.0);
        (series(&history, "val_loss"), saved)
    };

    let (val_loss, saved) = run("every", false);
    let numbers: Vec<usize> = saved.iter().map(|s| s.0).collect();
    assert_eq!(
        numbers,
        (1..=epochs).collect::<Vec<_>>(),
        "one file per epoch"
    );
    for (epoch, loss, _) in &saved {
        assert!((loss - val_loss[epoch - 1]).abs() < 1e-4, "{epoch}: {loss}");
    }

    let (val_loss, saved) = run("best", true);
    // The epochs (1-based) at which val_loss reached a new minimum.
    let mut improved = vec![];
    let mut best = f64::INFINITY;
    for (i, &v) in val_loss.iter().enumerate() {
        if v < best {
            best = v;
            improved.push(i + 1);
        }
    }
    let numbers: Vec<usize> = saved.iter().map(|s| s.0).collect();
    assert!(
        improved.len() < epochs,
        "val_loss fell every epoch ({val_loss:?}), so this run cannot tell --save-best-only \
         from saving every epoch: give it a higher --lr or more epochs"
    );
    assert_eq!(numbers, improved, "val_loss {val_loss:?}");
    for pair in saved.windows(2) {
        assert!(
            pair[1].1 < pair[0].1,
            "a checkpoint that did not improve: {saved:?}"
        );
    }
    // The last checkpoint is the best model: its val_loss, recomputed here, is the minimum.
    let (x, labels) = val_batch(&task);
    for (_, _, path) in &saved {
        predict(&load(path), &x);
    }
    let last = &saved.last().expect("at least the first epoch").2;
    let loss = crossentropy(&predict(&load(last), &x), &labels);
    assert!(
        (loss - best).abs() < 1e-4,
        "{}: val_loss {loss}, best in the history {best}",
        last.display()
    );

    // --save-best-only means nothing without --checkpoint: refused by the parser.
    let out = graft(&task.finetune(&["--save-best-only", "--out", &task.p("x.keras")]));
    assert!(!out.status.success() && text(&out.stderr).contains("--checkpoint"));
}

/// The `progress.json` of a finetune backup folder (or of the previous backup, if a kill landed
/// between the two renames that replace it): the last completed epoch and the history so far.
fn backup_progress(backup: &Path) -> Option<serde_json::Value> {
    ["head", ".graft-backup-old-head"].iter().find_map(|d| {
        let text = std::fs::read_to_string(backup.join(d).join("progress.json")).ok()?;
        serde_json::from_str(&text).ok()
    })
}

/// A child process that is killed when the test ends, even by a failed assertion.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `--resume`: a killed run leaves a backup; the same command run again continues after the
/// backup's last epoch and ends with the history of an uninterrupted run. The backup is
/// removed once a run completes.
#[test]
fn resume_continues_a_killed_run() {
    let task = Task::new(71);
    let args = |epochs: usize, name: &str| {
        task.finetune(&[
            "--epochs",
            &epochs.to_string(),
            "--resume",
            "--out",
            &task.p(&format!("{name}.keras")),
            "--history",
            &task.p(&format!("{name}.json")),
        ])
    };
    let backup = task.path(".m.keras.backup");
    // A run of far more epochs than the test waits for, killed once its backup holds two.
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_graft"))
            .args(args(100_000, "m"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Only a guard against waiting forever should --resume write no backup, not a timing check.
    let give_up = Instant::now() + Duration::from_secs(120);
    loop {
        if backup_progress(&backup).is_some_and(|p| p["epoch"].as_u64() >= Some(1)) {
            break;
        }
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!("the run ended ({status}) before its backup had two epochs");
        }
        assert!(
            Instant::now() < give_up,
            "no backup appeared in {}",
            backup.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    assert!(
        !task.path("m.keras").exists(),
        "the killed run exported nothing"
    );
    let progress = backup_progress(&backup).expect("the killed run's backup");
    let done = progress["epoch"].as_u64().unwrap() as usize + 1;
    let backed_up = &progress["history"]["history"]["loss"];

    // Resume to three more epochs than the backup holds.
    let epochs = done + 3;
    let out = graft_ok(&args(epochs, "m"));
    let stderr = text(&out.stderr);
    let shown: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("Epoch "))
        .collect();
    let expected: Vec<String> = (done + 1..=epochs)
        .map(|e| format!("{e}/{epochs}"))
        .collect();
    assert_eq!(
        shown
            .iter()
            .map(|s| s.split(' ').next().unwrap())
            .collect::<Vec<_>>(),
        expected,
        "the resumed run trains only the epochs after the backup's: {stderr}"
    );
    let history = task.path("m.json");
    assert_eq!(
        series(&history, "epoch"),
        (0..epochs).map(|e| e as f64).collect::<Vec<_>>(),
        "the history covers every epoch"
    );
    let loss = series(&history, "loss");
    assert_eq!(
        serde_json::json!(loss[..done]),
        *backed_up,
        "the first epochs' history comes from the backup"
    );
    assert!(
        !backup.exists(),
        "the backup is removed after a complete run"
    );

    // An uninterrupted run of the same epochs has the same history.
    graft_ok(&args(epochs, "straight"));
    let straight = task.path("straight.json");
    for key in ["loss", "val_loss", "accuracy", "val_accuracy"] {
        let (a, b) = (series(&history, key), series(&straight, key));
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() <= 1e-5 * x.abs().max(1.0),
                "{key}: resumed {a:?} vs uninterrupted {b:?}"
            );
        }
    }
    // Both models compute the same outputs.
    let (x, _) = val_batch(&task);
    let diff = max_difference(
        &predict(&load(&task.path("m.keras")), &x),
        &predict(&load(&task.path("straight.keras")), &x),
    );
    assert!(diff < 1e-4, "resumed vs uninterrupted model: {diff}");
}

/// `graft demo` with no arguments writes its files in `graft-demo/` under the current folder,
/// and says so.
#[test]
fn demo_without_arguments_writes_in_the_current_folder() {
    let cwd = tempfile::tempdir().unwrap();
    // The demo needs no download cache; should it ever look for one, it finds an empty one
    // here rather than the user's.
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_graft"))
        .arg("demo")
        .current_dir(cwd.path())
        .env("GRAFT_HOME", home.path().join("graft"))
        .env("KERAS_HOME", home.path().join("keras"))
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    // "Done. In <folder>: ..." names the folder the outputs went to.
    let folder = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Done. In "))
        .and_then(|l| l.split_once(':'))
        .map(|(f, _)| f)
        .unwrap_or_else(|| panic!("no 'Done. In ...' line: {stdout}"));
    let folder = cwd.path().join(folder);
    for f in [
        "finetuned.onnx",
        "finetuned.keras",
        "history.json",
        "report/index.html",
    ] {
        assert!(
            folder.join(f).is_file(),
            "{} missing",
            folder.join(f).display()
        );
    }
    let mut entries: Vec<String> = std::fs::read_dir(cwd.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    let named = folder.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(entries, [named], "the demo wrote only its folder");
    // The exported model is usable.
    predict(&load(&folder.join("finetuned.keras")), &{
        let x = graft::npy::read(folder.join("sample_images.npy")).unwrap();
        // The sample images are the backbone's (32x32 RGB); the fine-tuned model takes the same.
        assert_eq!(&x.shape()[1..], [32, 32, 3]);
        x
    });
}
