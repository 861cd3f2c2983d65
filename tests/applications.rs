//! graft's keras.applications builders against Keras 3.15.1.
//!
//! - Every builder and option set of `tests/fixtures/keras/applications_summary.json` (written by
//!   `scripts/fixtures/applications_summary.py`): model name, every layer's name, class, output
//!   shape, parameter count and inbound layers, the activation of every layer that has one
//!   (Dense, Conv, Activation: so `classifier_activation` is checked) and every Dropout's rate,
//!   total and trainable parameters.
//! - The graph a builder makes equals the one graft-keras reads from the file Keras saved for the
//!   same options (ops, configurations, wiring), and with the weights of that file loaded
//!   topologically, by name, or from the Keras 3 `.weights.h5`, it equals the file's whole graph,
//!   weights included. Small option sets (tests/fixtures/generated/applications/, written by the
//!   same script) are also run and match Keras' outputs within 1e-4 of the largest value; the
//!   full-size applications (tests/fixtures/generated/keras/keras3/, which `keras_applications`
//!   runs against Keras' outputs) are compared as graphs.

use std::path::{Path, PathBuf};

use graft::applications::{
    Application, MobileNetConfig, MobileNetV2Config, MobileNetV3Config, Options, Pooling, Weights,
};
use graft::ir::{Activation, Graph, Shape};
use graft::keras::LoadWeightsOptions;
use graft_tests::{TOLERANCE, check_close, fixtures};
use serde_json::Value;

/// The application and options of a Keras builder call (`kwargs` as the script wrote them).
fn application(builder: &str, kwargs: &Value) -> (Application, Options) {
    let f = |k: &str| kwargs.get(k).and_then(Value::as_f64);
    let b = |k: &str| kwargs.get(k).and_then(Value::as_bool);
    let app = match Application::from_name(builder).expect("known builder") {
        Application::MobileNet(mut c) => {
            c.alpha = f("alpha").unwrap_or(c.alpha);
            c.depth_multiplier = f("depth_multiplier").map_or(c.depth_multiplier, |v| v as usize);
            c.dropout = f("dropout").unwrap_or(c.dropout);
            Application::MobileNet(c)
        }
        Application::MobileNetV2(mut c) => {
            c.alpha = f("alpha").unwrap_or(c.alpha);
            Application::MobileNetV2(c)
        }
        Application::MobileNetV3Small(c) | Application::MobileNetV3Large(c) => {
            let c = MobileNetV3Config {
                alpha: f("alpha").unwrap_or(c.alpha),
                minimalistic: b("minimalistic").unwrap_or(c.minimalistic),
                dropout_rate: f("dropout_rate").unwrap_or(c.dropout_rate),
                include_preprocessing: b("include_preprocessing")
                    .unwrap_or(c.include_preprocessing),
            };
            if builder == "MobileNetV3Small" {
                Application::MobileNetV3Small(c)
            } else {
                Application::MobileNetV3Large(c)
            }
        }
        other => other,
    };
    let mut options = Options::default();
    if let Some(top) = b("include_top") {
        options.include_top = top;
    }
    if let Some(shape) = kwargs.get("input_shape").and_then(Value::as_array) {
        let d: Vec<Option<usize>> = shape
            .iter()
            .map(|v| v.as_u64().map(|n| n as usize))
            .collect();
        options.input_shape = Some([d[0], d[1], d[2]]);
    }
    options.pooling = match kwargs.get("pooling").and_then(Value::as_str) {
        Some("avg") => Pooling::Avg,
        Some("max") => Pooling::Max,
        _ => Pooling::None,
    };
    if let Some(classes) = kwargs.get("classes").and_then(Value::as_u64) {
        options.classes = classes as usize;
    }
    if let Some(a) = kwargs.get("classifier_activation") {
        options.classifier_activation = match a.as_str() {
            None => None,
            Some("softmax") => Some(Activation::Softmax { axis: -1 }),
            Some(other) => panic!("classifier_activation {other} not mapped by this test"),
        };
    }
    (app, options)
}

/// Keras 3's name of an activation (what a layer config's `activation` holds).
fn keras_activation(a: &Activation) -> String {
    match a {
        Activation::Linear => "linear".into(),
        Activation::Relu => "relu".into(),
        Activation::Relu6 => "relu6".into(),
        Activation::Softmax { axis: -1 } => "softmax".into(),
        Activation::Sigmoid => "sigmoid".into(),
        Activation::Tanh => "tanh".into(),
        Activation::Swish => "silu".into(),
        Activation::HardSwish => "hard_silu".into(),
        Activation::Gelu { approximate: false } => "gelu".into(),
        Activation::Selu => "selu".into(),
        Activation::Softplus => "softplus".into(),
        Activation::Softsign => "softsign".into(),
        Activation::Exponential => "exponential".into(),
        Activation::Mish => "mish".into(),
        // Anything else has no plain Keras name: spelled so that it matches no Keras entry.
        other => format!("graft:{other}"),
    }
}

/// The config values the summary records for a layer (`CONFIG_KEYS` of the script): the
/// activation of layers that have one ("linear" left out, as the script leaves it out) and a
/// Dropout's rate.
fn config_values(op: &graft::Op) -> serde_json::Map<String, Value> {
    use graft::Op;
    let mut m = serde_json::Map::new();
    let activation = match op {
        Op::Dense(c) => Some(&c.activation),
        Op::Conv(c) => Some(&c.activation),
        Op::DepthwiseConv(c) => Some(&c.activation),
        Op::SeparableConv(c) => Some(&c.activation),
        Op::ConvTranspose(c) => Some(&c.activation),
        Op::Activation(a) => Some(a),
        _ => None,
    };
    if let Some(a) = activation.filter(|a| !a.is_linear()) {
        m.insert("activation".into(), Value::from(keras_activation(a)));
    }
    if let Op::Dropout(d) = op {
        m.insert("rate".into(), Value::from(d.rate as f64));
    }
    m
}

/// Differences between the config values of one of graft's layers and Keras' (`rate` within
/// f32 rounding, since graft stores it as f32).
fn config_mismatch(
    ours: &serde_json::Map<String, Value>,
    keras: &serde_json::Map<String, Value>,
) -> Option<String> {
    let keys: std::collections::BTreeSet<&String> = ours.keys().chain(keras.keys()).collect();
    for k in keys {
        let (a, b) = (ours.get(k), keras.get(k));
        let same = match (a.and_then(Value::as_f64), b.and_then(Value::as_f64)) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * y.abs().max(1.0),
            _ => a == b,
        };
        if !same {
            let show = |v: Option<&Value>| v.map_or("none (linear)".to_string(), Value::to_string);
            return Some(format!("{k} {}, Keras {}", show(a), show(b)));
        }
    }
    None
}

/// Per layer: (name, class, output shape, params, inbound layer names), params counted from
/// the ops' weight specs (no weights are allocated).
fn describe(graph: &Graph) -> Vec<(String, String, Shape, usize, Vec<String>)> {
    let shapes = graph.infer_shapes().expect("shapes");
    graph
        .layers
        .iter()
        .map(|layer| {
            let node = &layer.nodes[0];
            let inputs: Vec<Shape> = node
                .inputs
                .iter()
                .map(|r| shapes.get(r).cloned().unwrap())
                .collect();
            let params = layer
                .op
                .weight_specs(&inputs)
                .unwrap()
                .iter()
                .map(|s| s.shape.iter().product::<usize>())
                .sum();
            let out = shapes
                .get(&graft::ir::TensorRef::new(layer.name.clone()))
                .cloned()
                .unwrap();
            let inbound = node.inputs.iter().map(|r| r.layer.clone()).collect();
            (
                layer.name.clone(),
                layer.op.type_name(),
                out,
                params,
                inbound,
            )
        })
        .collect()
}

fn trainable_params(graph: &Graph) -> usize {
    let shapes = graph.infer_shapes().unwrap();
    graph
        .layers
        .iter()
        .map(|layer| {
            let inputs: Vec<Shape> = layer.nodes[0]
                .inputs
                .iter()
                .map(|r| shapes.get(r).cloned().unwrap())
                .collect();
            layer
                .op
                .weight_specs(&inputs)
                .unwrap()
                .iter()
                .filter(|s| s.trainable)
                .map(|s| s.shape.iter().product::<usize>())
                .sum::<usize>()
        })
        .sum()
}

fn shape_of(v: &Value) -> Shape {
    Shape::new(
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().map(|n| n as usize))
            .collect(),
    )
}

/// Differences between a builder's graph and Keras' summary of the same call.
fn summary_mismatches(case: &Value) -> Vec<String> {
    let id = case["id"].as_str().unwrap();
    let (app, options) = application(case["builder"].as_str().unwrap(), &case["kwargs"]);
    let graph = match app.architecture(&options) {
        Ok(g) => g,
        Err(e) => return vec![format!("{id}: {e}")],
    };
    let mut errors = vec![];
    let mut check = |what: String, ok: bool| {
        if !ok {
            errors.push(format!("{id}: {what}"));
        }
    };
    check(
        format!("model name {:?}, Keras {}", graph.name, case["model_name"]),
        graph.name == case["model_name"].as_str().unwrap(),
    );
    let ours = describe(&graph);
    let keras = case["layers"].as_array().unwrap();
    check(
        format!("{} layers, Keras {}", ours.len(), keras.len()),
        ours.len() == keras.len(),
    );
    let mut previous: Option<String> = None;
    for (((name, class, shape, params, inbound), row), layer) in
        ours.iter().zip(keras).zip(&graph.layers)
    {
        let row = row.as_array().unwrap();
        let k_name = row[0].as_str().unwrap();
        // After the four fixed entries: the inbound names (a list) when they are not just the
        // previous layer, then the config values (an object) when the layer has any.
        let k_inbound: Vec<String> = match row.get(4).and_then(Value::as_array) {
            Some(v) => v.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
            None => previous.iter().cloned().collect(),
        };
        let k_config = row[4..]
            .iter()
            .find_map(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(d) = config_mismatch(&config_values(&layer.op), &k_config) {
            check(format!("layer {name}: {d}"), false);
            break;
        }
        previous = Some(k_name.to_string());
        let got = (name.as_str(), class.as_str(), shape, *params, inbound);
        let want = (
            k_name,
            row[1].as_str().unwrap(),
            &shape_of(&row[2]),
            row[3].as_u64().unwrap() as usize,
            &k_inbound,
        );
        if got != want {
            check(format!("layer {got:?}, Keras {want:?}"), false);
            break;
        }
    }
    let total: usize = ours.iter().map(|l| l.3).sum();
    check(
        format!("{total} params, Keras {}", case["total_params"]),
        total as u64 == case["total_params"].as_u64().unwrap(),
    );
    let trainable = trainable_params(&graph);
    check(
        format!(
            "{trainable} trainable params, Keras {}",
            case["trainable_params"]
        ),
        trainable as u64 == case["trainable_params"].as_u64().unwrap(),
    );
    errors
}

#[test]
fn builders_match_keras_summaries() {
    let path = fixtures().join("keras").join("applications_summary.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let mut errors = vec![];
    for case in cases {
        let e = summary_mismatches(case);
        if e.is_empty() {
            println!("ok   {}", case["id"].as_str().unwrap());
        }
        errors.extend(e);
    }
    assert!(cases.len() >= 44, "{} cases", cases.len());
    // The cases that check what the brief of issue 5 asks: classifier_activation both ways,
    // two alphas without top for each MobileNet, a Dropout rate that is not the default.
    let has = |f: &dyn Fn(&Value) -> bool| cases.iter().any(|c| f(&c["kwargs"]));
    assert!(has(
        &|k| k.get("classifier_activation") == Some(&Value::Null)
    ));
    assert!(has(&|k| k["classifier_activation"] == "softmax"));
    assert!(has(&|k| k.get("dropout").is_some()));
    for builder in [
        "MobileNet",
        "MobileNetV2",
        "MobileNetV3Small",
        "MobileNetV3Large",
    ] {
        let alphas: std::collections::BTreeSet<String> = cases
            .iter()
            .filter(|c| c["builder"] == builder && c["kwargs"]["include_top"] == false)
            .map(|c| {
                c["kwargs"]
                    .get("alpha")
                    .map_or("1.0".into(), Value::to_string)
            })
            .collect();
        assert!(
            alphas.len() >= 2,
            "{builder} without top: alphas {alphas:?}"
        );
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The first difference between two graphs (names, ops, wiring, trainability, weights).
fn graph_difference(ours: &Graph, keras: &Graph) -> Option<String> {
    if ours.name != keras.name {
        return Some(format!("name {:?} vs {:?}", ours.name, keras.name));
    }
    if ours.layers.len() != keras.layers.len() {
        return Some(format!(
            "{} layers vs {}",
            ours.layers.len(),
            keras.layers.len()
        ));
    }
    for (a, b) in ours.layers.iter().zip(&keras.layers) {
        if a.name != b.name || a.op != b.op || a.nodes != b.nodes || a.trainable != b.trainable {
            return Some(format!(
                "layer {}: {:?} {:?} vs {}: {:?} {:?}",
                a.name, a.op, a.nodes, b.name, b.op, b.nodes
            ));
        }
        if a.weights != b.weights {
            let names = |l: &graft::Layer| -> Vec<String> {
                l.weights.iter().map(|w| w.name.clone()).collect()
            };
            return Some(format!(
                "layer {}: weights {:?} differ from Keras' {:?}",
                a.name,
                names(a),
                names(b)
            ));
        }
    }
    if ours.inputs != keras.inputs || ours.outputs != keras.outputs {
        return Some("graph inputs or outputs differ".into());
    }
    None
}

/// The builder's graph for a fixture, equal to Keras' file; with the file's weights loaded in
/// each way Keras offers, equal to the file's whole graph. Returns the graph with weights.
fn check_against_file(
    what: &str,
    app: Application,
    options: &Options,
    dir: &Path,
) -> Result<Graph, String> {
    let model_h5 = dir.join("model.h5");
    let keras = graft::keras::load_model(&model_h5)
        .map_err(|e| format!("{what}: {e}\n(run scripts/fixtures/generate.sh --applications)"))?
        .graph;
    let arch = app
        .architecture(options)
        .map_err(|e| format!("{what}: {e}"))?;
    let mut bare = keras.clone();
    for layer in &mut bare.layers {
        layer.weights.clear();
    }
    if let Some(d) = graph_difference(&arch, &bare) {
        return Err(format!(
            "{what}: architecture differs from Keras' file: {d}"
        ));
    }
    let mut last = None;
    let weights_files = [
        ("model.h5 topologically", model_h5.clone(), false),
        ("model.h5 by name", model_h5.clone(), true),
        ("model.weights.h5", dir.join("model.weights.h5"), false),
        ("model.keras", dir.join("model.keras"), false),
    ];
    for (how, file, by_name) in weights_files {
        if !file.exists() {
            continue;
        }
        let mut graph = arch.clone();
        graft::keras::load_weights(&mut graph, &file, LoadWeightsOptions { by_name })
            .map_err(|e| format!("{what}: loading {how}: {e}"))?;
        if let Some(d) = graph_difference(&graph, &keras) {
            return Err(format!("{what}: with {how}: {d}"));
        }
        last = Some(graph);
    }
    // The public builder with `weights=<path>`.
    let built = app
        .build(&options.clone().weights(Weights::Path(model_h5)))
        .map_err(|e| format!("{what}: build with weights=model.h5: {e}"))?;
    if let Some(d) = graph_difference(&built, &keras) {
        return Err(format!("{what}: build(weights=model.h5): {d}"));
    }
    Ok(last.unwrap_or(built))
}

fn generated_dirs() -> Vec<PathBuf> {
    let root = fixtures().join("generated").join("applications");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}\nwritten by scripts/fixtures/applications_summary.py \
                 (scripts/fixtures/generate.sh --applications)",
                root.display()
            )
        })
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").exists())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn small_applications_load_keras_weights_and_match_outputs() {
    let dirs = generated_dirs();
    assert!(dirs.len() >= 5, "{} fixtures", dirs.len());
    let device = graft::default_device();
    let mut errors = vec![];
    for dir in dirs {
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
        let id = meta["id"].as_str().unwrap().to_string();
        let (app, options) = application(meta["builder"].as_str().unwrap(), &meta["kwargs"]);
        let graph = match check_against_file(&id, app, &options, &dir) {
            Ok(g) => g,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let x = graft::npy::read(dir.join("input_0.npy")).unwrap();
        let expected = graft::npy::read(dir.join("output_0.npy")).unwrap();
        let result = graft::Model::new(graph, &device)
            .and_then(|m| m.predict(&[x]))
            .map_err(|e| format!("{id}: {e}"))
            .and_then(|out| check_close(&id, &out[0], &expected, TOLERANCE));
        match result {
            Ok(rel) => println!("ok   {id}: max error {rel:.1e} of max |keras|"),
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The full-size Keras 3 application fixtures (include_top, 224x224, default options).
fn full_size(folder: &str, app: Application) {
    let dir = fixtures()
        .join("generated")
        .join("keras")
        .join("keras3")
        .join(folder);
    let mut options = Options::default();
    if matches!(
        app,
        Application::MobileNetV3Small(_) | Application::MobileNetV3Large(_)
    ) {
        options.input_shape = Some([Some(224), Some(224), Some(3)]);
    }
    if let Err(e) = check_against_file(folder, app, &options, &dir) {
        panic!("{e}");
    }
}

macro_rules! full_size_applications {
    ($($test:ident => $folder:literal, $app:expr;)*) => {
        $(
            #[test]
            fn $test() {
                full_size($folder, $app);
            }
        )*
    };
}

full_size_applications! {
    full_vgg16 => "vgg16", Application::Vgg16;
    full_vgg19 => "vgg19", Application::Vgg19;
    full_resnet50 => "resnet50", Application::ResNet50;
    full_resnet101 => "resnet101", Application::ResNet101;
    full_resnet152 => "resnet152", Application::ResNet152;
    full_resnet50v2 => "resnet50v2", Application::ResNet50V2;
    full_resnet101v2 => "resnet101v2", Application::ResNet101V2;
    full_resnet152v2 => "resnet152v2", Application::ResNet152V2;
    full_mobilenet => "mobilenet", Application::MobileNet(MobileNetConfig::default());
    full_mobilenetv2 => "mobilenetv2", Application::MobileNetV2(MobileNetV2Config::default());
    full_mobilenetv3small => "mobilenetv3small",
        Application::MobileNetV3Small(MobileNetV3Config::default());
    full_mobilenetv3large => "mobilenetv3large",
        Application::MobileNetV3Large(MobileNetV3Config::default());
}

#[test]
fn options_keras_refuses_are_refused() {
    let too_small = Options::default().include_top(false).input_shape(16, 64, 3);
    for app in Application::ALL {
        let err = app.architecture(&too_small).unwrap_err().to_string();
        assert!(err.contains("at least 32x32"), "{}: {err}", app.name());
    }
    let top_size = Options::default()
        .weights(Weights::imagenet())
        .input_shape(160, 160, 3);
    let err = Application::ResNet50.architecture(&top_size).unwrap_err();
    assert!(err.to_string().contains("(224, 224, 3)"), "{err}");
    let logits_with_weights = Options::default()
        .weights(Weights::imagenet())
        .classifier_activation(Some(Activation::Sigmoid));
    assert!(
        Application::Vgg16
            .architecture(&logits_with_weights)
            .is_err()
    );
    // Registry names that do not fit the architecture are refused before any download.
    for name in ["no-such-weights", "vgg16/imagenet"] {
        let options = Options::default().weights(Weights::Registry(name.into()));
        let err = Application::ResNet50
            .build(&options)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no pretrained weights") && err.contains(name),
            "{err}"
        );
    }
    let missing = Options::default().weights(Weights::Path("no/such/weights.h5".into()));
    let err = Application::MobileNetV2(MobileNetV2Config { alpha: 0.35 })
        .build(&missing.input_shape(96, 96, 3))
        .unwrap_err();
    assert!(err.to_string().contains("no/such/weights.h5"), "{err}");
}

/// tf.keras 2 weights files (`save_weights` `.h5`, the layout of the pretrained
/// keras-applications files, with tf.keras' own automatic names) load into the builders
/// topologically and by name: every weight equals the one in tf.keras' whole-model file, and
/// MobileNetV2 computes tf.keras' outputs.
fn tfkeras2(folder: &str, app: Application, run: bool) {
    let dir = fixtures()
        .join("generated")
        .join("keras")
        .join("tfkeras2")
        .join(folder);
    let keras = graft::keras::load_model(dir.join("model.h5"))
        .unwrap_or_else(|e| panic!("{e}\n(run scripts/fixtures/generate.sh --applications)"))
        .graph;
    let mut loaded = None;
    for by_name in [false, true] {
        let mut graph = app.architecture(&Options::default()).unwrap();
        graft::keras::load_weights(
            &mut graph,
            dir.join("weights.h5"),
            LoadWeightsOptions { by_name },
        )
        .unwrap_or_else(|e| panic!("{folder} (by_name {by_name}): {e}"));
        let mut compared = 0;
        for layer in graph.layers.iter().filter(|l| !l.weights.is_empty()) {
            let theirs = keras
                .layer(&layer.name)
                .unwrap_or_else(|| panic!("{folder}: no layer {} in tf.keras' model", layer.name));
            assert!(
                layer.weights == theirs.weights,
                "{folder} (by_name {by_name}): weights of {} differ",
                layer.name
            );
            compared += 1;
        }
        assert!(compared > 50, "{folder}: only {compared} weighted layers");
        loaded = Some(graph);
    }
    if run {
        let x = graft::npy::read(dir.join("input_0.npy")).unwrap();
        let expected = graft::npy::read(dir.join("output_0.npy")).unwrap();
        let model = graft::Model::new(loaded.unwrap(), &graft::default_device()).unwrap();
        let out = model.predict(&[x]).unwrap();
        let rel =
            check_close(folder, &out[0], &expected, TOLERANCE).unwrap_or_else(|e| panic!("{e}"));
        println!("ok   tfkeras2/{folder}: max error {rel:.1e} of max |keras|");
    }
}

#[test]
fn tfkeras2_resnet50_weights_load() {
    tfkeras2("resnet50", Application::ResNet50, false);
}

#[test]
fn tfkeras2_mobilenetv2_weights_load_and_run() {
    tfkeras2(
        "mobilenetv2",
        Application::MobileNetV2(MobileNetV2Config::default()),
        true,
    );
}

/// `weights="imagenet"` resolves through the registry and the cache: with Keras' file for
/// MobileNet(alpha=0.25, 128x128) in an offline cache (the seeded fixture standing in for the
/// pretrained file), the builder loads it topologically and computes Keras' outputs.
#[test]
fn imagenet_weights_come_from_the_cache() {
    use graft::hub::{Cache, Downloader, FetchOptions};
    let dir = fixtures()
        .join("generated")
        .join("applications")
        .join("mobilenet_a025_128_top");
    let home = tempfile::tempdir().unwrap();
    let models = home.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    // keras.applications' file name for these weights (no published hash: trusted as cached).
    std::fs::copy(dir.join("model.h5"), models.join("mobilenet_2_5_128_tf.h5")).unwrap();
    let options = FetchOptions {
        offline: true,
        quiet: true,
        ..FetchOptions::default()
    };
    let downloader = Downloader::new(Cache::new(home.path()).with_keras_home(None), options);
    let app = Application::MobileNet(MobileNetConfig {
        alpha: 0.25,
        ..Default::default()
    });
    let imagenet = Options::default()
        .weights(Weights::imagenet())
        .input_shape(128, 128, 3);
    let graph = app.build_with(&imagenet, &downloader).unwrap();
    let x = graft::npy::read(dir.join("input_0.npy")).unwrap();
    let expected = graft::npy::read(dir.join("output_0.npy")).unwrap();
    let out = graft::Model::new(graph, &graft::default_device())
        .unwrap()
        .predict(&[x])
        .unwrap();
    check_close("imagenet from cache", &out[0], &expected, TOLERANCE).unwrap();
    // The no-top file is another entry, not cached: offline, the error names it.
    let err = app
        .build_with(&imagenet.clone().include_top(false), &downloader)
        .unwrap_err()
        .to_string();
    assert!(err.contains("mobilenet_2_5_128_tf_no_top.h5"), "{err}");
}
