//! `graft finetune --base MODEL --data DIR --out OUT`: the whole transfer-learning job in one
//! command. Cut the base, freeze it, attach a new head, train it on an image folder (with
//! augmentation), optionally unfreeze the top of the base and train again at a lower learning
//! rate, export, and report on the validation images.
//!
//! Everything a run could trip over later (folders, classes, the cut layer, output paths) is
//! checked before the first epoch.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use graft::applications::{Preprocessing, preprocess_pixels};
use graft::data::{
    ClassMode, Flow, FlowFromDirectoryOptions, ImageDataGenerator, Shift, Subset, Zoom,
};
use graft::ir::{Graph, Op};
use graft::train::callbacks::{BackupAndRestore, Callback, EarlyStopping};
use graft::train::{
    ClassWeight, CompileOptions, FitOptions, Head, HeadPooling, Loss, Metric, OptimizerConfig,
    Trainer, Verbosity,
};

use super::args::parse_size;
use super::report::Confusion;

#[derive(clap::Args)]
pub struct Args {
    /// The pretrained base: a Keras .h5/.keras or an ONNX file.
    #[arg(long)]
    pub base: PathBuf,

    /// Training images: one subfolder per class.
    #[arg(long)]
    pub data: PathBuf,

    /// Validation images, laid out like --data (otherwise see --validation-split).
    #[arg(long, conflicts_with = "validation_split")]
    pub val_data: Option<PathBuf>,

    /// Hold out this fraction of --data for validation (Keras' validation_split, per class).
    #[arg(long)]
    pub validation_split: Option<f64>,

    /// Where to write the fine-tuned model: .onnx, .keras, .h5, .weights.h5 or a burn record (.bpk).
    #[arg(long)]
    pub out: PathBuf,

    /// Also write the model here (repeatable; the format follows the extension).
    #[arg(long)]
    pub export: Vec<PathBuf>,

    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,

    /// Cut the base after this layer (default: the layer before the base's last Dense
    /// classifier, or the whole base when it has none).
    #[arg(long)]
    pub cut_at: Option<String>,

    /// Images are resized to this "HEIGHT,WIDTH" (default: the base's input size).
    #[arg(long, value_parser = parse_size)]
    pub image_size: Option<(usize, usize)>,

    /// Input preprocessing, as keras.applications' preprocess_input: caffe, tf, torch or none
    /// (the base's own layers, such as a Rescaling, still apply).
    #[arg(long, default_value = "none")]
    pub preprocess: Preprocessing,

    /// How the head reduces the feature map: avg, max or flatten.
    #[arg(long, default_value = "avg", value_parser = parse_pooling)]
    pub pooling: HeadPooling,

    /// Dropout rate before each Dense layer of the head.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,

    /// Hidden Dense layers of the head, e.g. "256,128" (ReLU).
    #[arg(long, value_delimiter = ',')]
    pub dense: Vec<usize>,

    /// Epochs of head training (base frozen).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,

    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,

    /// sgd, adam, adamw, rmsprop or adagrad.
    #[arg(long, default_value = "adam")]
    pub optimizer: String,

    /// Learning rate of the head-training phase.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,

    /// After head training, unfreeze this many of the base's top layers that have weights
    /// (BatchNormalization layers stay frozen, in inference mode)...
    #[arg(long, default_value_t = 0)]
    pub fine_tune_top: usize,

    /// ...and train this many more epochs...
    #[arg(long, default_value_t = 5)]
    pub fine_tune_epochs: usize,

    /// ...at this learning rate.
    #[arg(long, default_value_t = 1e-5)]
    pub fine_tune_lr: f64,

    /// Random rotations in degrees (rotation_range).
    #[arg(long, default_value_t = 0.0)]
    pub rotation_range: f64,

    /// Horizontal shifts, fraction of the width or pixels (width_shift_range).
    #[arg(long, default_value = "0")]
    pub width_shift_range: Shift,

    /// Vertical shifts (height_shift_range).
    #[arg(long, default_value = "0")]
    pub height_shift_range: Shift,

    /// Shear in degrees (shear_range).
    #[arg(long, default_value_t = 0.0)]
    pub shear_range: f64,

    /// Zoom: z for [1-z, 1+z] or "lo,hi" (zoom_range).
    #[arg(long, default_value = "0")]
    pub zoom_range: Zoom,

    /// Random left-right flips (horizontal_flip).
    #[arg(long)]
    pub horizontal_flip: bool,

    /// Random top-bottom flips (vertical_flip).
    #[arg(long)]
    pub vertical_flip: bool,

    /// "balanced" weights classes by n_samples / (n_classes * count), as scikit-learn.
    #[arg(long, value_parser = ["balanced"])]
    pub class_weight: Option<String>,

    /// Stop when val_loss has not improved for this many epochs, and keep the best weights.
    #[arg(long)]
    pub early_stopping: Option<usize>,

    /// Save a checkpoint every epoch, e.g. "ckpt/{epoch:02d}-{val_loss:.3f}.keras".
    #[arg(long)]
    pub checkpoint: Option<String>,

    /// With --checkpoint: only when val_loss improved.
    #[arg(long, requires = "checkpoint")]
    pub save_best_only: bool,

    /// Keep a backup every epoch next to OUT and resume an interrupted run from it.
    #[arg(long)]
    pub resume: bool,

    /// Seed of shuffling, augmentation, dropout and the head's initial weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Write the per-epoch history (loss, accuracy, val_loss, val_accuracy, ...) as JSON.
    #[arg(long)]
    pub history: Option<PathBuf>,

    /// Write the validation report (accuracy, per-class precision/recall, confusion matrix) as JSON.
    #[arg(long)]
    pub report_json: Option<PathBuf>,
}

fn parse_pooling(s: &str) -> Result<HeadPooling, String> {
    match s {
        "avg" => Ok(HeadPooling::Average),
        "max" => Ok(HeadPooling::Max),
        "flatten" => Ok(HeadPooling::Flatten),
        other => Err(format!("\"{other}\": expected avg, max or flatten")),
    }
}

/// The layer a default cut keeps: the input of the last Dense layer when the model ends in
/// one (Keras' include_top=False), else the model's output.
fn default_cut(graph: &Graph) -> Option<String> {
    let last = graph.outputs.first()?;
    let layer = graph.layer(&last.layer)?;
    if matches!(layer.op, Op::Dense(_)) {
        let input = layer.nodes.first()?.inputs.first()?;
        // Skip a Dropout just before the classifier too.
        let before = graph.layer(&input.layer)?;
        if matches!(before.op, Op::Dropout(_)) {
            return before
                .nodes
                .first()?
                .inputs
                .first()
                .map(|r| r.layer.clone());
        }
        return Some(input.layer.clone());
    }
    Some(last.layer.clone())
}

/// Checks an output path before training: a known extension, a writable folder, and no file in
/// the way unless `force`.
fn check_output(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.extension().is_none_or(|e| e != "bpk") {
        graft::SaveFormat::from_path(path)?;
    }
    if path.exists() && !force {
        bail!(
            "{}: already exists (use --force to replace it)",
            path.display()
        );
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create the folder", dir.display()))?;
    tempfile::Builder::new()
        .prefix(".graft-probe-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: the folder is not writable", dir.display()))?;
    Ok(())
}

/// Writes the trained model in the format `path` names.
fn export(trainer: &Trainer, path: &Path, force: bool) -> anyhow::Result<()> {
    if path.extension().is_some_and(|e| e == "bpk") {
        if path.exists() && force {
            std::fs::remove_file(path)?;
        }
        trainer.state().save_weights_record(path)?;
    } else {
        graft::save_graph(&trainer.model().to_graph(), path, force)?;
    }
    Ok(())
}

struct Data {
    train: Flow,
    val: Option<Flow>,
    classes: Vec<String>,
}

fn load_data(args: &Args, size: (usize, usize)) -> anyhow::Result<Data> {
    for dir in std::iter::once(&args.data).chain(&args.val_data) {
        if !dir.is_dir() {
            bail!("{}: no such folder", dir.display());
        }
    }
    let preprocess = args.preprocess;
    let base = || {
        let g = ImageDataGenerator::new();
        match preprocess {
            Preprocessing::Identity => g,
            p => g.preprocessing_function(move |x, _| preprocess_pixels(x, p)),
        }
    };
    let split = args.validation_split.unwrap_or(0.0);
    let augment = base()
        .rotation_range(args.rotation_range)
        .width_shift_range(args.width_shift_range.clone())
        .height_shift_range(args.height_shift_range.clone())
        .shear_range(args.shear_range)
        .zoom_range(args.zoom_range)
        .horizontal_flip(args.horizontal_flip)
        .vertical_flip(args.vertical_flip)
        .validation_split(split);
    let options = |shuffle: bool, subset: Option<Subset>| FlowFromDirectoryOptions {
        target_size: size,
        class_mode: ClassMode::Sparse,
        batch_size: args.batch_size.max(1),
        shuffle,
        seed: Some(args.seed),
        subset,
        ..Default::default()
    };
    let (train_subset, val_subset) = if split > 0.0 {
        (Some(Subset::Training), Some(Subset::Validation))
    } else {
        (None, None)
    };
    let train = augment
        .flow_from_directory(&args.data, options(true, train_subset))
        .with_context(|| format!("reading {}", args.data.display()))?;
    let mut classes: Vec<(String, usize)> = train.class_indices().into_iter().collect();
    classes.sort_by_key(|(_, i)| *i);
    let classes: Vec<String> = classes.into_iter().map(|(c, _)| c).collect();
    if classes.len() < 2 {
        bail!(
            "{}: found {} class folder(s); fine-tuning a classifier needs at least two",
            args.data.display(),
            classes.len()
        );
    }
    if train.samples() == 0 {
        bail!(
            "{}: no images found in the class folders",
            args.data.display()
        );
    }
    let val = if let Some(dir) = &args.val_data {
        let mut o = options(false, None);
        o.classes = Some(classes.clone());
        Some(
            base()
                .flow_from_directory(dir, o)
                .with_context(|| format!("reading {}", dir.display()))?,
        )
    } else if split > 0.0 {
        let v = base().validation_split(split);
        Some(v.flow_from_directory(&args.data, options(false, val_subset))?)
    } else {
        None
    };
    Ok(Data {
        train,
        val,
        classes,
    })
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    // Everything that can be checked is checked before training.
    let base = graft::load_graph(&args.base)?;
    let cut_at = match &args.cut_at {
        Some(layer) => layer.clone(),
        None => default_cut(&base)
            .with_context(|| format!("{}: the model has no output", args.base.display()))?,
    };
    let cut = base
        .cut_at(cut_at.as_str())
        .with_context(|| format!("--cut-at: {}", args.base.display()))?;
    let size = match args.image_size {
        Some(s) => s,
        None => image_input(&cut).and_then(|i| i.size).with_context(|| {
            format!(
                "{}: the input size is not fixed; give --image-size HEIGHT,WIDTH",
                args.base.display()
            )
        })?,
    };
    let mut optimizer = OptimizerConfig::from_keras_name(&args.optimizer, Some(args.lr))
        .with_context(|| {
            format!(
                "--optimizer {}: expected sgd, adam, adamw, rmsprop or adagrad",
                args.optimizer
            )
        })?;
    optimizer.learning_rate = args.lr;
    for path in std::iter::once(&args.out).chain(&args.export) {
        check_output(path, args.force)?;
    }
    if let Some(split) = args.validation_split
        && !(0.0..1.0).contains(&split)
    {
        bail!("--validation-split must be in [0, 1), got {split}");
    }
    let data = load_data(&args, size)?;

    let head = Head::classifier(data.classes.len())
        .pooling(args.pooling)
        .dropout(args.dropout)
        .hidden(&args.dense, graft::ir::Activation::Relu)
        .seed(args.seed);
    let mut graph = head.attach(&cut)?;
    graph.freeze_until(cut_at.as_str())?;
    let base_layers: Vec<String> = cut.layers.iter().map(|l| l.name.clone()).collect();
    let model = graft::Model::new(graph, &graft::default_device())?;
    let mut trainer = Trainer::compile(
        model,
        CompileOptions {
            optimizer,
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            metrics: vec![Metric::Accuracy],
        },
    )?;
    let say = |s: String| {
        if !quiet {
            eprintln!("{s}");
        }
    };
    let counts = trainer.param_counts();
    say(format!(
        "{} training images, {} validation, {} classes ({}); base cut at '{cut_at}', input {}x{}; \
         {} trainable / {} frozen parameters",
        data.train.samples(),
        data.val.as_ref().map_or(0, |v| v.samples()),
        data.classes.len(),
        data.classes.join(", "),
        size.0,
        size.1,
        counts.trainable,
        counts.non_trainable
    ));

    let backup = args.out.with_file_name(format!(
        ".{}.backup",
        args.out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    // Keras' callbacks watch val_loss when there is validation data.
    let monitor = if data.val.is_some() {
        "val_loss"
    } else {
        "loss"
    };
    let callbacks = |phase: &str| -> Vec<Box<dyn Callback>> {
        let mut cbs: Vec<Box<dyn Callback>> = vec![];
        if let Some(patience) = args.early_stopping {
            cbs.push(Box::new(
                EarlyStopping::new(monitor)
                    .patience(patience)
                    .restore_best_weights(true),
            ));
        }
        if let Some(template) = &args.checkpoint {
            cbs.push(Box::new(
                graft::model_checkpoint(template.clone())
                    .monitor(monitor)
                    .save_best_only(args.save_best_only),
            ));
        }
        if args.resume {
            cbs.push(Box::new(BackupAndRestore::new(backup.join(phase))));
        }
        cbs
    };
    let verbosity = if quiet {
        Verbosity::Quiet
    } else {
        Verbosity::Auto
    };
    let class_weight = args.class_weight.as_ref().map(|_| ClassWeight::Balanced);
    let fit = |epochs: usize, initial_epoch: usize, phase: &str| FitOptions {
        epochs,
        initial_epoch,
        class_weight: class_weight.clone(),
        callbacks: callbacks(phase),
        verbosity,
        seed: args.seed,
        ..Default::default()
    };
    let val = data
        .val
        .as_ref()
        .map(|v| v as &dyn graft::train::DataSource);
    let mut history = trainer.fit(&data.train, val, fit(args.epochs, 0, "head"))?;
    if args.fine_tune_top > 0 {
        let n = args.fine_tune_top;
        let unfrozen =
            trainer.recompile(args.fine_tune_lr, |g| unfreeze_base_top(g, &base_layers, n));
        say(format!(
            "fine-tuning the top {} of the base ({}) at learning rate {:e}",
            unfrozen.len(),
            unfrozen.join(", "),
            args.fine_tune_lr
        ));
        let total = args.epochs + args.fine_tune_epochs;
        let more = trainer.fit(&data.train, val, fit(total, args.epochs, "fine_tune"))?;
        history.extend(&more);
    }
    if args.resume {
        let _ = std::fs::remove_dir_all(&backup);
    }
    if let Some(path) = &args.history {
        history.save(path)?;
    }
    for path in std::iter::once(&args.out).chain(&args.export) {
        export(&trainer, path, args.force)?;
        say(format!("wrote {}", path.display()));
    }
    if let Some(val) = &data.val {
        let scores = trainer.predict(val)?;
        let confusion = Confusion::new(data.classes.clone(), val.classes(), scores.data());
        if !quiet {
            print!("{}", confusion.render());
        }
        if let Some(path) = &args.report_json {
            let text = serde_json::to_string_pretty(&confusion.to_json())?;
            graft::fs::write_atomic(path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
        }
    }
    Ok(())
}

/// A model's single image input: its layout and, when fixed, its (height, width).
pub struct ImageInput {
    /// NCHW (ONNX/PyTorch) rather than NHWC (Keras).
    pub channels_first: bool,
    pub size: Option<(usize, usize)>,
}

/// The image input of a model with one rank-4 input. The layout is NHWC unless the channel
/// count (at most 4) sits second and not last.
pub fn image_input(graph: &Graph) -> Option<ImageInput> {
    let [input] = graph.inputs.as_slice() else {
        return None;
    };
    let Op::Input(config) = &graph.layer(&input.layer)?.op else {
        return None;
    };
    let &[_, d1, d2, d3] = config.shape.dims() else {
        return None;
    };
    let small = |d: Option<usize>| d.is_some_and(|c| c <= 4);
    let channels_first = small(d1) && !small(d3);
    let (h, w) = if channels_first { (d2, d3) } else { (d1, d2) };
    Some(ImageInput {
        channels_first,
        size: h.zip(w),
    })
}

/// Makes the last `n` weighted layers of the base trainable; returns their names.
/// BatchNormalization layers stay frozen, so they keep running in inference mode with their
/// pretrained statistics (Keras' fine-tuning guide: small batches of a new task would otherwise
/// replace them and undo much of what the head learnt).
fn unfreeze_base_top(graph: &mut Graph, base: &[String], n: usize) -> Vec<String> {
    let mut names = vec![];
    for layer in graph.layers.iter_mut().rev() {
        if names.len() == n {
            break;
        }
        let batch_norm = matches!(layer.op, Op::BatchNorm(_));
        if base.contains(&layer.name) && layer.op.has_weights() && !batch_norm {
            layer.trainable = true;
            names.push(layer.name.clone());
        }
    }
    names.reverse();
    names
}
