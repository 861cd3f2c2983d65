//! `--base`: where the pretrained base comes from (a model file, or a keras.applications
//! architecture with `--weights`), where to cut it, and the preprocessing its weights expect.

use std::path::Path;

use anyhow::{Context, bail};
use graft::applications::{Application, Options, Preprocessing, Weights};
use graft::hub::Registry;
use graft::ir::{Graph, Op};

/// The base model, ready to cut.
pub struct Base {
    pub graph: Graph,
    /// The layer a cut keeps by default.
    pub default_cut: String,
    /// The preprocessing its weights were trained with, when known.
    pub preprocessing: Option<Preprocessing>,
    /// How to name it in messages.
    pub label: String,
}

/// What `--base`, `--weights`, `--alpha` and `--image-size` ask for.
pub struct BaseRequest<'a> {
    pub base: &'a str,
    pub weights: Option<&'a str>,
    pub alpha: Option<f64>,
    pub image_size: Option<(usize, usize)>,
}

/// Loads a model file, or builds an application (as `Application(include_top=False,
/// weights=..., input_shape=(h, w, 3))`) when `base` names one and is not a file.
pub fn resolve(request: &BaseRequest) -> anyhow::Result<Base> {
    let path = Path::new(request.base);
    if path.exists() || Application::from_name(request.base).is_none() {
        if !path.exists() {
            let names: Vec<&str> = Application::ALL.iter().map(|a| a.name()).collect();
            bail!(
                "--base {}: no such file, and not a keras.applications name ({})",
                request.base,
                names.join(", ")
            );
        }
        if request.weights.is_some() || request.alpha.is_some() {
            bail!(
                "--weights and --alpha go with an application name for --base (such as \
                 MobileNetV2), not with the model file {}",
                path.display()
            );
        }
        let graph = graft::load_graph(path)?;
        let default_cut = default_cut(&graph)
            .with_context(|| format!("{}: the model has no output", path.display()))?;
        return Ok(Base {
            graph,
            default_cut,
            preprocessing: registry_preprocessing(path),
            label: path.display().to_string(),
        });
    }
    application(request)
}

fn application(request: &BaseRequest) -> anyhow::Result<Base> {
    let mut app = Application::from_name(request.base).context("an application name")?;
    if let Some(alpha) = request.alpha {
        app = app
            .with_alpha(alpha)
            .with_context(|| format!("--alpha: {} has no width multiplier", app.name()))?;
    }
    let weights = match request.weights.unwrap_or("imagenet") {
        "none" => Weights::None,
        "imagenet" => Weights::imagenet(),
        w if Path::new(w).exists() => Weights::Path(w.into()),
        w if Registry::load_default().is_ok_and(|r| r.get(w).is_some()) => {
            Weights::Registry(w.to_string())
        }
        w => bail!(
            "--weights {w}: no such file or registry name (expected imagenet, none, a weights \
             file or a name that `graft applications` lists)"
        ),
    };
    let (h, w) = request
        .image_size
        .unwrap_or((app.default_size(), app.default_size()));
    let options = Options::default()
        .include_top(false)
        .weights(weights)
        .input_shape(h, w, 3);
    let graph = app
        .build(&options)
        .with_context(|| format!("--base {}", app.name()))?;
    let default_cut = graph
        .outputs
        .first()
        .map(|r| r.layer.clone())
        .context("the application has no output")?;
    Ok(Base {
        label: format!("{} ({})", app.name(), graph.name),
        graph,
        default_cut,
        preprocessing: Some(app.preprocessing()),
    })
}

/// The preprocessing of a keras-applications weights file, recognised by its file name.
fn registry_preprocessing(path: &Path) -> Option<Preprocessing> {
    let name = path.file_name()?.to_str()?;
    let registry = Registry::load_default().ok()?;
    registry
        .weights()
        .iter()
        .find(|e| e.file_name == name)
        .map(|e| e.preprocessing)
}

/// The layer a default cut keeps: the input of the last Dense layer when the model ends in
/// one (Keras' include_top=False), else the model's output.
pub fn default_cut(graph: &Graph) -> Option<String> {
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
pub fn unfreeze_base_top(graph: &mut Graph, base: &[String], n: usize) -> Vec<String> {
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
