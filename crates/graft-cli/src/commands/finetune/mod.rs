//! `graft finetune --base MODEL|APPLICATION --data DIR --out OUT`: the whole transfer-learning
//! job in one command. Cut the base, freeze it, attach a new head, train it on an image folder (with
//! augmentation), optionally unfreeze the top of the base and train again at a lower learning
//! rate, export, and report on the validation images.
//!
//! Everything a run could trip over later (folders, classes, the cut layer, output paths) is
//! checked before the first epoch.

mod base;
mod data;
mod output;

use std::path::PathBuf;

use anyhow::{Context, bail};
use graft::applications::Preprocessing;
use graft::train::callbacks::{BackupAndRestore, Callback, EarlyStopping};
use graft::train::{
    ClassWeight, CompileOptions, FitOptions, Head, HeadPooling, Loss, Metric, OptimizerConfig,
    Trainer, Verbosity,
};

use super::args::{Augmentation, parse_size};
use super::report::Confusion;
use super::report_html;
pub use base::image_input;
use base::{BaseRequest, unfreeze_base_top};
pub use output::check_folder_of;

#[derive(clap::Args)]
pub struct Args {
    /// The pretrained base: a Keras .h5/.keras or an ONNX file, or a keras.applications name
    /// (VGG16, ResNet50, MobileNetV2, ...; see `graft applications`), built without its top.
    #[arg(long, value_name = "MODEL|APPLICATION")]
    pub base: String,

    /// With an application --base: its weights, as Keras' `weights=`: imagenet (fetched through
    /// the verified cache), none (random), a weights file, or a registry name.
    #[arg(long, default_value = None, value_name = "imagenet|none|FILE|NAME")]
    pub weights: Option<String>,

    /// With a MobileNet --base: the width multiplier (Keras' `alpha`, default 1.0).
    #[arg(long)]
    pub alpha: Option<f64>,

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

    /// Images are resized to this "HEIGHT,WIDTH" (default: the base's input size; 224,224 for an
    /// application).
    #[arg(long, value_parser = parse_size)]
    pub image_size: Option<(usize, usize)>,

    /// Input preprocessing, as keras.applications' preprocess_input: caffe, tf, torch or none.
    /// Default: the application's (or, for a keras-applications weights file, the registry's),
    /// otherwise none (the base's own layers, such as a Rescaling, still apply).
    #[arg(long)]
    pub preprocess: Option<Preprocessing>,

    /// How the head reduces the base's feature map: avg (the default), max or flatten. Refused
    /// when the cut output is already a vector (nothing to reduce).
    #[arg(long, value_parser = parse_pooling, value_name = "avg|max|flatten")]
    pub pooling: Option<HeadPooling>,

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

    #[command(flatten)]
    pub augmentation: Augmentation,

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

    /// Write the class names, one per line in class-index order (what `graft predict --labels`
    /// reads).
    #[arg(long, value_name = "FILE")]
    pub labels_out: Option<PathBuf>,

    /// Write a self-contained HTML report in this folder (index.html: training curves,
    /// confusion matrix, model summary, misclassified validation images), with the curves and
    /// the matrix also as SVG and PNG files.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

fn parse_pooling(s: &str) -> Result<HeadPooling, String> {
    match s {
        "avg" => Ok(HeadPooling::Average),
        "max" => Ok(HeadPooling::Max),
        "flatten" => Ok(HeadPooling::Flatten),
        other => Err(format!("\"{other}\": expected avg, max or flatten")),
    }
}

/// An explicit `--pooling` needs a feature map to reduce: on a cut that already ends in a
/// vector it would do nothing, which is never what the user meant.
fn check_pooling(cut: &graft::ir::Graph, pooling: HeadPooling, cut_at: &str) -> anyhow::Result<()> {
    let shapes = cut.infer_shapes()?;
    let shape = cut.outputs.first().and_then(|o| shapes.get(o));
    if let Some(shape) = shape
        && shape.rank() <= 2
    {
        let name = match pooling {
            HeadPooling::Max => "max",
            HeadPooling::Flatten => "flatten",
            _ => "avg",
        };
        bail!(
            "--pooling {name}: the output of '{cut_at}' is already a vector {shape}, with \
             nothing to pool; leave --pooling out or --cut-at a layer with a feature map"
        );
    }
    Ok(())
}

pub fn run(args: Args, quiet: bool) -> anyhow::Result<()> {
    // Everything that can be checked is checked before training.
    let base = base::resolve(&BaseRequest {
        base: &args.base,
        weights: args.weights.as_deref(),
        alpha: args.alpha,
        image_size: args.image_size,
    })?;
    let cut_at = args.cut_at.clone().unwrap_or(base.default_cut.clone());
    let cut = base
        .graph
        .cut_at(cut_at.as_str())
        .with_context(|| format!("--cut-at: {}", base.label))?;
    if let Some(pooling) = args.pooling {
        check_pooling(&cut, pooling, &cut_at)?;
    }
    let preprocess = args
        .preprocess
        .or(base.preprocessing)
        .unwrap_or(Preprocessing::Identity);
    let size = match args.image_size {
        Some(s) => s,
        None => image_input(&cut).and_then(|i| i.size).with_context(|| {
            format!(
                "{}: the input size is not fixed; give --image-size HEIGHT,WIDTH",
                base.label
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
        output::check_output(path, args.force)?;
    }
    if let Some(split) = args.validation_split
        && !(0.0..1.0).contains(&split)
    {
        bail!("--validation-split must be in [0, 1), got {split}");
    }
    if let Some(dir) = &args.report {
        report_html::check_folder(dir, args.force)?;
    }
    for path in [&args.history, &args.report_json, &args.labels_out]
        .into_iter()
        .flatten()
    {
        output::check_folder_of(path)?;
    }
    let data = data::load_data(&args, size, preprocess)?;

    let head = Head::classifier(data.classes.len())
        .pooling(args.pooling.unwrap_or(HeadPooling::Average))
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
        output::export(&trainer, path, args.force)?;
        say(format!("wrote {}", path.display()));
    }
    if let Some(path) = &args.labels_out {
        let text: String = data.classes.iter().map(|c| format!("{c}\n")).collect();
        graft::fs::write_atomic(path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
    }
    let mut confusion = None;
    let mut misses = vec![];
    if let Some(val) = &data.val {
        let scores = trainer.predict(val)?;
        let c = Confusion::new(data.classes.clone(), val.classes(), scores.data());
        if !quiet {
            print!("{}", c.render());
        }
        if let Some(path) = &args.report_json {
            let text = serde_json::to_string_pretty(&c.to_json())?;
            graft::fs::write_atomic(path, |w| std::io::Write::write_all(w, text.as_bytes()))?;
        }
        if args.report.is_some() {
            misses =
                report_html::misclassified_of(&c, val.classes(), scores.data(), val.filepaths());
        }
        confusion = Some(c);
    }
    if let Some(dir) = &args.report {
        let graph = trainer.model().to_graph();
        let mut facts = vec![
            (
                "base".to_string(),
                format!("{} cut at '{cut_at}'", base.label),
            ),
            (
                "training data".to_string(),
                format!("{} ({} images)", args.data.display(), data.train.samples()),
            ),
            ("classes".to_string(), data.classes.join(", ")),
            (
                "input".to_string(),
                format!("{}x{}, preprocessing {preprocess}", size.0, size.1),
            ),
            ("epochs".to_string(), history.epoch.len().to_string()),
        ];
        if let Some(val) = &data.val {
            let source = args.val_data.as_ref().map_or_else(
                || {
                    format!(
                        "{:.0}% of the training folder",
                        100.0 * args.validation_split.unwrap_or(0.0)
                    )
                },
                |d| d.display().to_string(),
            );
            facts.push((
                "validation data".into(),
                format!("{source} ({} images)", val.samples()),
            ));
        }
        for path in std::iter::once(&args.out).chain(&args.export) {
            facts.push(("model".into(), path.display().to_string()));
        }
        let page = report_html::write(
            dir,
            &report_html::Report {
                title: format!("graft finetune: {}", graph.name),
                facts,
                history: Some(&history),
                confusion: confusion.as_ref(),
                summary: graph.summary(&Default::default())?,
                misses,
            },
        )?;
        say(format!("wrote the report {}", page.display()));
    }
    Ok(())
}
