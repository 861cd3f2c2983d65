//! Small training tasks for callback tests: fast, deterministic, with a validation loss that
//! improves and then gets worse (the validation labels are shifted by one class, so fitting the
//! training labels eventually hurts it).

use graft::ir::{Activation, DType, DenseConfig, DropoutConfig, InputConfig};
use graft::train::callbacks::Callback;
use graft::train::{
    ArrayData, CompileOptions, FitOptions, Loss, Metric, OptimizerConfig, Verbosity,
};
use graft::{Graph, Layer, Op, Shape, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const FEATURES: usize = 8;
pub const CLASSES: usize = 3;

/// `Input(8) -> Dense(32, relu) -> Dropout(0.2) -> Dense(3, softmax)`, seeded Keras init.
pub fn mlp() -> Graph {
    let mut g = Graph::new("mlp");
    let mut x = g.push_input(
        "x",
        InputConfig {
            shape: Shape::batched(&[FEATURES]),
            dtype: DType::F32,
        },
    );
    let dense = |units, activation| {
        Op::Dense(DenseConfig {
            units,
            use_bias: true,
            activation,
        })
    };
    x = g.push(Layer::new("hidden", dense(32, Activation::Relu)), vec![x]);
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
        Layer::new("out", dense(CLASSES, Activation::Softmax { axis: -1 })),
        vec![x],
    );
    g.outputs = vec![x];
    g.initialize_missing_weights(42).expect("init");
    g
}

/// Training data (labels = argmax of the first 3 features) and validation data whose labels are
/// shifted by one class.
pub fn data(n: usize) -> (ArrayData, ArrayData) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x: Vec<f32> = (0..n * FEATURES)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let labels: Vec<f32> = (0..n)
        .map(|i| {
            let row = &x[i * FEATURES..i * FEATURES + CLASSES];
            (0..CLASSES)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0) as f32
        })
        .collect();
    let shifted: Vec<f32> = labels
        .iter()
        .map(|&l| ((l as usize + 1) % CLASSES) as f32)
        .collect();
    let xs = Tensor::new(vec![n, FEATURES], x).expect("x");
    let train = ArrayData::new(vec![xs.clone()], Tensor::new(vec![n], labels).expect("y"))
        .expect("train")
        .batch_size(16)
        .seed(3);
    let val = ArrayData::new(vec![xs], Tensor::new(vec![n], shifted).expect("y"))
        .expect("val")
        .batch_size(16)
        .shuffle(false);
    (train, val)
}

pub fn compile_options(learning_rate: f64) -> CompileOptions {
    CompileOptions {
        optimizer: OptimizerConfig::adam(learning_rate),
        loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
        metrics: vec![Metric::Accuracy],
    }
}

/// Every weight of a graph, flattened in layer order.
pub fn flat_weights(graph: &Graph) -> Vec<f32> {
    graph
        .layers
        .iter()
        .flat_map(|l| l.weights.iter().flat_map(|w| w.tensor.data().to_vec()))
        .collect()
}

/// `fit` options for the tests: quiet, seeded, with these callbacks.
pub fn quiet_fit(epochs: usize, callbacks: Vec<Box<dyn Callback>>) -> FitOptions {
    FitOptions {
        epochs,
        callbacks,
        verbosity: Verbosity::Quiet,
        seed: 5,
        ..Default::default()
    }
}

/// A fresh, empty folder in the system's temporary folder, named after the test file's `kind`,
/// the case and this process (tests of one binary run in parallel).
pub fn fresh_temp_dir(kind: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("graft-{kind}-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
