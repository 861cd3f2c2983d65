//! Graphs Keras cannot take as they are, written as Keras layers computing the same values:
//! explicit (ONNX/PyTorch) padding and channels-first graphs. Each is checked against graft's
//! executor on the original graph, then loaded by real Keras 3 and tf.keras 2
//! (`GRAFT_SKIP_PYTHON=1` runs only graft's side).

#[path = "support/keras_checker.rs"]
mod keras_checker;

use graft::Graph;
use graft::ir::{
    Activation, DType, DataFormat, DenseConfig, GlobalPoolConfig, InputConfig, Layer, Op, Padding,
    PoolConfig, PoolKind, Shape, Tensor,
};
use graft::keras::SaveOptions;
use keras_checker::{VARIANTS, checker, checkers, weight};
use serde_json::json;

/// Explicit padding (ONNX/PyTorch style) is written as Keras layers computing the same values:
/// checked against graft's own executor on the original graph, then against real Keras.
#[test]
fn explicit_padding_becomes_zero_padding_layers() {
    use graft::ir::{ConvConfig, DepthwiseConvConfig};
    let mut g = Graph::new("padded");
    let x = g.push_input(
        "image",
        InputConfig {
            shape: Shape::batched(&[9, 10, 3]),
            dtype: DType::F32,
        },
    );
    let conv =
        |name: &str, filters: usize, k: usize, s: usize, padding: Padding, cin: usize, act| {
            let mut l = Layer::new(
                name,
                Op::Conv(ConvConfig {
                    filters,
                    kernel_size: vec![k, k],
                    strides: vec![s, s],
                    padding,
                    dilation: vec![1, 1],
                    groups: 1,
                    use_bias: true,
                    activation: act,
                    data_format: DataFormat::ChannelsLast,
                }),
            );
            l.weights = vec![
                weight("kernel", vec![filters, cin, k, k]),
                weight("bias", vec![filters]),
            ];
            l
        };
    // Stride 2 over 9x10 with PyTorch's (1, 1): 'same' would pad (0, 1) on the width.
    let a = g.push(
        conv(
            "conv_pt",
            4,
            3,
            2,
            Padding::Explicit(vec![(1, 1), (1, 1)]),
            3,
            Activation::Relu,
        ),
        vec![x],
    );
    // Max pooling after a ReLU: zero padding is -inf padding there.
    let p = g.push(
        Layer::new(
            "maxpool_pt",
            Op::Pool(PoolConfig {
                kind: PoolKind::Max,
                pool_size: vec![3, 3],
                strides: vec![2, 2],
                padding: Padding::Explicit(vec![(1, 1), (1, 1)]),
                data_format: DataFormat::ChannelsLast,
                ceil_mode: false,
                count_include_pad: false,
            }),
        ),
        vec![a],
    );
    let q = g.push(
        Layer::new(
            "avgpool_counting_pads",
            Op::Pool(PoolConfig {
                kind: PoolKind::Average,
                pool_size: vec![2, 2],
                strides: vec![1, 1],
                padding: Padding::Explicit(vec![(1, 0), (0, 1)]),
                data_format: DataFormat::ChannelsLast,
                ceil_mode: false,
                count_include_pad: true,
            }),
        ),
        vec![p],
    );
    // SAME_LOWER puts the odd cell first.
    let b = g.push(
        conv(
            "conv_same_lower",
            5,
            2,
            1,
            Padding::SameLower,
            4,
            Activation::Linear,
        ),
        vec![q],
    );
    let mut dw = Layer::new(
        "depthwise_zero_pads",
        Op::DepthwiseConv(DepthwiseConvConfig {
            depth_multiplier: 2,
            kernel_size: vec![3, 3],
            strides: vec![1, 1],
            padding: Padding::Explicit(vec![(1, 1), (1, 1)]),
            dilation: vec![1, 1],
            use_bias: true,
            activation: Activation::Linear,
            data_format: DataFormat::ChannelsLast,
        }),
    );
    dw.weights = vec![
        weight("depthwise_kernel", vec![10, 1, 3, 3]),
        weight("bias", vec![10]),
    ];
    let c = g.push(dw, vec![b]);
    let gap = g.push(
        Layer::new(
            "gap",
            Op::GlobalPool(GlobalPoolConfig {
                kind: PoolKind::Average,
                keepdims: false,
                data_format: DataFormat::ChannelsLast,
                rank: 2,
            }),
        ),
        vec![c],
    );
    let mut dense = Layer::new(
        "logits",
        Op::Dense(DenseConfig {
            units: 3,
            use_bias: true,
            activation: Activation::Linear,
        }),
    );
    dense.weights = vec![weight("kernel", vec![10, 3]), weight("bias", vec![3])];
    let y = g.push(dense, vec![gap]);
    g.outputs = vec![y];
    g.validate().expect("valid");

    // Reference outputs from graft's executor on the original graph.
    let dir = tempfile::tempdir().expect("temp dir");
    let input = Tensor::new(
        vec![2, 9, 10, 3],
        (0..2 * 9 * 10 * 3)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
            .collect(),
    )
    .expect("sized");
    let device = graft::default_device();
    let expected = graft::Model::from_graph(&g, &device)
        .expect("builds")
        .predict(std::slice::from_ref(&input))
        .expect("runs");
    let input_path = dir.path().join("input_0.npy");
    let output_path = dir.path().join("output_0.npy");
    graft::npy::write(&input_path, &input).expect("npy");
    graft::npy::write(&output_path, &expected[0]).expect("npy");

    let mut keras = checkers();
    for variant in VARIANTS {
        let path = dir.path().join(variant.file);
        let options = SaveOptions {
            format: variant.format,
            dialect: variant.dialect,
            overwrite: true,
        };
        let report = graft::keras::save_model(&g, &path, &options).expect("writable");
        let notes = report.notes.join("\n");
        // Where TensorFlow's 'same' rule gives the same cells, the padding is written as
        // 'same'; otherwise it moves into a ZeroPadding layer.
        for layer in ["conv_pt", "avgpool_counting_pads", "conv_same_lower"] {
            assert!(
                notes.contains(&format!("new ZeroPadding layer '{layer}_pad'")),
                "{notes}"
            );
        }
        for layer in ["maxpool_pt", "depthwise_zero_pads"] {
            assert!(
                notes.contains(&format!(
                    "'{layer}': padding [(1, 1), (1, 1)] written as 'same'"
                )),
                "{notes}"
            );
        }
        // graft computes the same on what it wrote.
        let back = graft::keras::load_model(&path).expect("readable").graph;
        assert!(back.layer("conv_pt_pad").is_some());
        let out = graft::Model::from_graph(&back, &device)
            .expect("builds")
            .predict(std::slice::from_ref(&input))
            .expect("runs");
        graft_tests::check_close("read back", &out[0], &expected[0], 1e-6).expect("same values");
        if let Some(k) = checker(&mut keras, variant.framework) {
            let answer = k.check(&json!({
                "model": path.display().to_string(),
                "inputs": [input_path.display().to_string()],
                "outputs": [output_path.display().to_string()],
                "tolerance": graft_tests::TOLERANCE,
            }));
            assert_eq!(answer["ok"], true, "{}: {answer}", variant.file);
            println!("ok {}: {}", variant.file, answer["rel"]);
        }
    }
}

/// A channels-first graph (the shape of an ONNX/PyTorch CNN) is written channels-last through
/// the IR's layout pass, keeping its NCHW inputs: real Keras computes what graft computes on the
/// original graph.
#[test]
fn channels_first_graphs_are_written_channels_last() {
    use graft::ir::{BatchNormConfig, ConvConfig, DepthwiseConvConfig, FlattenConfig};
    let cf = DataFormat::ChannelsFirst;
    let mut g = Graph::new("torch_like");
    let x = g.push_input(
        "input.1",
        InputConfig {
            shape: Shape::batched(&[3, 10, 9]),
            dtype: DType::F32,
        },
    );
    let mut conv = Layer::new(
        "/features/conv1/Conv",
        Op::Conv(ConvConfig {
            filters: 4,
            kernel_size: vec![3, 3],
            strides: vec![2, 2],
            padding: Padding::Explicit(vec![(1, 1), (1, 1)]),
            dilation: vec![1, 1],
            groups: 1,
            use_bias: true,
            activation: Activation::Linear,
            data_format: cf,
        }),
    );
    conv.weights = vec![weight("kernel", vec![4, 3, 3, 3]), weight("bias", vec![4])];
    let a = g.push(conv, vec![x]);
    let mut bn = Layer::new(
        "/features/bn1/BatchNormalization",
        Op::BatchNorm(BatchNormConfig {
            axis: 1,
            epsilon: 1e-5,
            momentum: 0.9,
            center: true,
            scale: true,
        }),
    );
    let mut var = weight("moving_variance", vec![4]);
    var.tensor
        .data_mut()
        .iter_mut()
        .for_each(|v| *v = v.abs() + 0.5);
    bn.weights = vec![
        weight("gamma", vec![4]),
        weight("beta", vec![4]),
        weight("moving_mean", vec![4]),
        var,
    ];
    let b = g.push(bn, vec![a]);
    let r = g.push(
        Layer::new("/features/relu/Relu", Op::Activation(Activation::Relu)),
        vec![b],
    );
    let p = g.push(
        Layer::new(
            "/features/maxpool/MaxPool",
            Op::Pool(PoolConfig {
                kind: PoolKind::Max,
                pool_size: vec![3, 3],
                strides: vec![2, 2],
                padding: Padding::Explicit(vec![(1, 1), (1, 1)]),
                data_format: cf,
                ceil_mode: false,
                count_include_pad: false,
            }),
        ),
        vec![r],
    );
    let mut dw = Layer::new(
        "/features/dw/Conv",
        Op::DepthwiseConv(DepthwiseConvConfig {
            depth_multiplier: 1,
            kernel_size: vec![3, 3],
            strides: vec![1, 1],
            padding: Padding::Explicit(vec![(1, 1), (1, 1)]),
            dilation: vec![1, 1],
            use_bias: true,
            activation: Activation::Relu6,
            data_format: cf,
        }),
    );
    dw.weights = vec![
        weight("depthwise_kernel", vec![4, 1, 3, 3]),
        weight("bias", vec![4]),
    ];
    let d = g.push(dw, vec![p]);
    // ONNX Flatten: the logical (C, H, W) order.
    let f = g.push(
        Layer::new(
            "/Flatten",
            Op::Flatten(FlattenConfig {
                data_format: DataFormat::ChannelsLast,
            }),
        ),
        vec![d],
    );
    let mut fc = Layer::new(
        "/fc/Gemm",
        Op::Dense(DenseConfig {
            units: 3,
            use_bias: true,
            activation: Activation::Linear,
        }),
    );
    // (3x10x9) -> conv s2 -> 4x5x5 -> pool s2 -> 4x3x3 = 36 features.
    fc.weights = vec![weight("kernel", vec![36, 3]), weight("bias", vec![3])];
    let y = g.push(fc, vec![f]);
    g.outputs = vec![y];
    g.validate().expect("valid");

    let dir = tempfile::tempdir().expect("temp dir");
    let input = Tensor::new(
        vec![2, 3, 10, 9],
        (0..2 * 3 * 10 * 9)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 20.0)
            .collect(),
    )
    .expect("sized");
    let device = graft::default_device();
    let expected = graft::Model::from_graph(&g, &device)
        .expect("builds")
        .predict(std::slice::from_ref(&input))
        .expect("runs");
    let input_path = dir.path().join("input_0.npy");
    let output_path = dir.path().join("output_0.npy");
    graft::npy::write(&input_path, &input).expect("npy");
    graft::npy::write(&output_path, &expected[0]).expect("npy");

    let mut keras = checkers();
    for variant in VARIANTS {
        let path = dir.path().join(variant.file);
        let options = SaveOptions {
            format: variant.format,
            dialect: variant.dialect,
            overwrite: true,
        };
        let report = graft::keras::save_model(&g, &path, &options).expect("writable");
        assert!(
            report.notes.iter().any(|n| n.contains("channels-last")),
            "{:?}",
            report.notes
        );
        let back = graft::keras::load_model(&path).expect("readable").graph;
        assert!(
            back.walk()
                .iter()
                .all(|i| !matches!(&i.layer.op, Op::Conv(c) if c.data_format == cf)),
            "{}: a channels-first convolution was written",
            variant.file
        );
        let out = graft::Model::from_graph(&back, &device)
            .expect("builds")
            .predict(std::slice::from_ref(&input))
            .expect("runs");
        graft_tests::check_close("read back", &out[0], &expected[0], 1e-5).expect("same values");
        if let Some(k) = checker(&mut keras, variant.framework) {
            let answer = k.check(&json!({
                "model": path.display().to_string(),
                "inputs": [input_path.display().to_string()],
                "outputs": [output_path.display().to_string()],
                "tolerance": graft_tests::TOLERANCE,
            }));
            assert_eq!(answer["ok"], true, "{}: {answer}", variant.file);
            println!("ok {}: {}", variant.file, answer["rel"]);
        }
    }
}
