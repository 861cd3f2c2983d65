//! Keras 3's image preprocessing layers inside a model: at inference graft computes what Keras
//! computes (random layers pass through; Resizing and CenterCrop resize and crop exactly as
//! Keras), and in training the random layers act, per image, as their Keras definitions say.

use std::path::Path;

use graft::Tensor;
use graft::exec::{download, random};
use graft::ir::{
    DType, DataFormat, Fill, FillMode, Graph, InputConfig, Interpolation, Layer, Op, Preprocessing,
    PreprocessingConfig, Shape,
};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keras/keras3/preprocessing")
        .join(name)
}

#[test]
fn inference_matches_keras() {
    let model = graft::load_model(fixture("model.keras"), &graft::default_device()).unwrap();
    let x = graft::npy::read(fixture("input_0.npy")).unwrap();
    let keras = graft::npy::read(fixture("output_0.npy")).unwrap();
    let ours = model.predict(&[x]).unwrap().remove(0);
    let scale = keras.data().iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = ours
        .data()
        .iter()
        .zip(keras.data())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= 1e-4 * scale,
        "max |graft - keras| = {worst:e} (scale {scale})"
    );
}

/// A one-layer model around `kind` on `size`x`size`x1 images.
fn one_layer(kind: Preprocessing, size: usize) -> graft::Model {
    let mut g = Graph::new("pp");
    let x = g.push_input(
        "image",
        InputConfig {
            shape: Shape::batched(&[size, size, 1]),
            dtype: DType::F32,
        },
    );
    let op = Op::Preprocessing(PreprocessingConfig {
        kind,
        data_format: DataFormat::ChannelsLast,
        seed: None,
    });
    let y = g.push(Layer::new("pp", op), vec![x]);
    g.outputs = vec![y];
    graft::Model::new(g, &graft::default_device()).unwrap()
}

fn run(model: &graft::Model, x: &Tensor, training: bool) -> Tensor {
    let inputs = model.upload(std::slice::from_ref(x)).unwrap();
    download(model.module().forward(inputs, training).unwrap().remove(0))
}

/// `n` distinct `size`x`size` images: pixel value = 100 * image + 10 * row + column.
fn images(n: usize, size: usize) -> Tensor {
    let data = (0..n * size * size)
        .map(|i| {
            let (img, r, c) = (i / (size * size), (i / size) % size, i % size);
            (100 * img + 10 * r + c) as f32
        })
        .collect();
    Tensor::new(vec![n, size, size, 1], data).unwrap()
}

fn image(t: &Tensor, i: usize) -> &[f32] {
    let per = t.numel() / t.shape()[0];
    &t.data()[i * per..(i + 1) * per]
}

#[test]
fn random_layers_pass_through_at_inference() {
    let x = images(3, 6);
    let fill = Fill {
        mode: FillMode::Reflect,
        value: 0.0,
        interpolation: Interpolation::Bilinear,
    };
    for kind in [
        Preprocessing::RandomFlip {
            horizontal: true,
            vertical: true,
        },
        Preprocessing::RandomRotation {
            factor: (-0.2, 0.2),
            fill,
        },
        Preprocessing::RandomContrast {
            factor: (0.5, 0.5),
            value_range: (0.0, 255.0),
        },
    ] {
        assert_eq!(
            run(&one_layer(kind.clone(), 6), &x, false).data(),
            x.data(),
            "{kind:?}"
        );
    }
}

#[test]
fn flips_mirror_some_images_and_keep_the_others() {
    let (n, size) = (32, 5);
    let x = images(n, size);
    let model = one_layer(
        Preprocessing::RandomFlip {
            horizontal: true,
            vertical: false,
        },
        size,
    );
    random::seed(11);
    let y = run(&model, &x, true);
    let mut flipped = 0;
    for i in 0..n {
        let (a, b) = (image(&x, i), image(&y, i));
        let mirror: Vec<f32> = a
            .chunks(size)
            .flat_map(|row| row.iter().rev().copied())
            .collect();
        if b == mirror.as_slice() {
            flipped += 1;
        } else {
            assert_eq!(a, b, "image {i} is neither itself nor its mirror");
        }
    }
    assert!((6..=26).contains(&flipped), "{flipped} of {n} flipped");
    // Seeded: the same draws again.
    random::seed(11);
    assert_eq!(run(&model, &x, true).data(), y.data());
}

#[test]
fn a_quarter_turn_rotates_counter_clockwise_exactly() {
    let size = 6;
    let x = images(2, size);
    let fill = Fill {
        mode: FillMode::Constant,
        value: -1.0,
        interpolation: Interpolation::Bilinear,
    };
    let y = run(
        &one_layer(
            Preprocessing::RandomRotation {
                factor: (0.25, 0.25),
                fill,
            },
            size,
        ),
        &x,
        true,
    );
    for i in 0..2 {
        let a = image(&x, i);
        // numpy's rot90(k=1): out[r][c] = in[c][size - 1 - r].
        let expected: Vec<f32> = (0..size * size)
            .map(|k| a[(k % size) * size + (size - 1 - k / size)])
            .collect();
        let got = image(&y, i);
        let worst = got
            .iter()
            .zip(&expected)
            .fold(0f32, |m, (g, e)| m.max((g - e).abs()));
        assert!(worst < 1e-3, "image {i}: {got:?} vs {expected:?}");
    }
}

#[test]
fn translation_fills_with_the_constant_and_brightness_stays_in_range() {
    let size = 6;
    let x = images(1, size);
    let fill = Fill {
        mode: FillMode::Constant,
        value: -7.0,
        interpolation: Interpolation::Nearest,
    };
    // Exactly half the width to the right: the left half is fill, the right half the old left half.
    let kind = Preprocessing::RandomTranslation {
        height_factor: (0.0, 0.0),
        width_factor: (0.5, 0.5),
        fill,
    };
    let y = run(&one_layer(kind, size), &x, true);
    for r in 0..size {
        let row = &y.data()[r * size..(r + 1) * size];
        let old = &x.data()[r * size..(r + 1) * size];
        assert_eq!(&row[..3], &[-7.0; 3], "row {r}: {row:?}");
        assert_eq!(&row[3..], &old[..3], "row {r}: {row:?}");
    }
    let bright = Preprocessing::RandomBrightness {
        factor: (0.5, 0.5),
        value_range: (0.0, 100.0),
    };
    let y = run(&one_layer(bright, size), &images(1, size), true);
    // +0.5 of the range (50), clipped at 100.
    for (a, b) in images(1, size).data().iter().zip(y.data()) {
        assert_eq!(*b, (a + 50.0).min(100.0));
    }
}

/// Exports keep the layers where the target has them: Keras 3 and tf.keras 2 load graft's files
/// with the preprocessing layers in place, and the ONNX file (random layers as identities,
/// Resizing as Resize, CenterCrop as Slice) passes onnx.checker; all compute Keras' outputs.
#[test]
fn exports_are_loaded_by_keras_and_onnxruntime() {
    let graph = graft::load_graph(fixture("model.keras")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (onnx, keras, tfkeras) = (
        dir.path().join("m.onnx"),
        dir.path().join("m.keras"),
        dir.path().join("m.h5"),
    );
    graft::save_graph(&graph, &onnx, false).unwrap();
    graft::save_graph(&graph, &keras, false).unwrap();
    let options = graft::keras::SaveOptions {
        format: graft::keras::KerasFormat::LegacyH5,
        dialect: graft::keras::Dialect::TfKeras2,
        overwrite: false,
    };
    graft::keras::save_model(&graph, &tfkeras, &options).unwrap();
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run scripts/setup.sh --python",
        python.display()
    );
    let script = r#"
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, onnx, onnxruntime as ort, keras, tf_keras
fixture, onnx_path, keras_path, tfkeras_path = sys.argv[1:5]
x = np.load(os.path.join(fixture, "input_0.npy"))
y = np.load(os.path.join(fixture, "output_0.npy"))
onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
s = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
results = {
    "onnxruntime": s.run(None, {s.get_inputs()[0].name: x})[0],
    "keras": keras.models.load_model(keras_path).predict(x, verbose=0),
    "tf_keras": tf_keras.models.load_model(tfkeras_path).predict(x, verbose=0),
}
classes = [l.__class__.__name__ for l in keras.models.load_model(keras_path).layers]
assert "RandomRotation" in classes and "CenterCrop" in classes, classes
scale = np.abs(y).max()
for name, out in results.items():
    err = np.abs(out - y).max() / scale
    print(name, err)
    assert err <= 1e-4, (name, err)
"#;
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(fixture(""))
        .args([&onnx, &keras, &tfkeras])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
