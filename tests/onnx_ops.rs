//! Every ONNX op family graft maps, on small models written with onnx.helper (opsets 7 to 21):
//! graft's outputs match onnxruntime's within 1e-4 of the largest value, at the fixture's batch
//! and at batch 1 (the batch is dynamic); broken and unsupported files fail with the messages
//! `errors/errors.json` lists. Fixtures (committed): `.venv/bin/python scripts/fixtures/onnx/ops.py
//! --out tests/fixtures/onnx`.

use graft::Tensor;
use graft_tests::{Fixture, TOLERANCE, check_close, fixtures};

fn onnx_root() -> std::path::PathBuf {
    fixtures().join("onnx")
}

/// The first `n` samples of a batched tensor.
fn head(t: &Tensor, n: usize) -> Tensor {
    let mut shape = t.shape().to_vec();
    let per: usize = shape[1..].iter().product();
    shape[0] = n;
    Tensor::new(shape, t.data()[..n * per].to_vec()).unwrap()
}

fn check_op_fixture(name: &str) {
    let fixture = Fixture::open(onnx_root().join("ops").join(name));
    let file = fixture.file("onnx").expect("meta lists the model");
    let graph = graft::load_graph(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
    let model = graft::Model::new(graph, &graft::default_device())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let inputs = fixture.inputs();
    let expected = fixture.outputs();
    let mut failures = vec![];
    for batch in [None, Some(1)] {
        let ins: Vec<Tensor> = match batch {
            None => inputs.clone(),
            Some(n) => inputs.iter().map(|t| head(t, n)).collect(),
        };
        let outs = match model.predict(&ins) {
            Ok(o) => o,
            Err(e) => panic!("{name} (batch {batch:?}): {e}"),
        };
        assert_eq!(outs.len(), expected.len(), "{name}: output count");
        for (i, (o, e)) in outs.iter().zip(&expected).enumerate() {
            let e = match batch {
                None => e.clone(),
                Some(n) => head(e, n),
            };
            let what = format!(
                "{name} output {i} ('{}') at batch {}",
                fixture.meta["outputs"][i]["name"].as_str().unwrap_or("?"),
                e.shape()[0]
            );
            if let Err(msg) = check_close(&what, o, &e, TOLERANCE) {
                failures.push(msg);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

macro_rules! op_fixtures {
    ($($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                check_op_fixture(stringify!($name));
            }
        )*

        #[test]
        fn every_fixture_has_a_test() {
            let listed = [$(stringify!($name)),*];
            for entry in std::fs::read_dir(onnx_root().join("ops")).unwrap() {
                let name = entry.unwrap().file_name().to_string_lossy().into_owned();
                assert!(listed.contains(&name.as_str()), "fixture ops/{name} has no test");
            }
        }
    };
}

op_fixtures! {
    conv_pads,
    conv_groups,
    conv_transpose,
    batchnorm_opset7,
    batchnorm_lrn,
    gemm_matmul,
    elementwise,
    activations,
    clip_opset7,
    clip_inputs,
    softmax_opset11,
    softmax_opset13,
    pooling,
    reduce_opset18,
    shapes_opset11,
    shapes_opset13,
    transposes,
    pad_opset13,
    pad_opset7,
    resize_opset13,
    resize_computed_sizes,
    upsample_opset9,
    resize_opset10,
    misc,
    external_data,
    gemm_trans_a,
    pad_opset18_axes,
    resize_opset19,
    cnn_opset21,
    slice_crop,
    patterns,
}

#[test]
fn gemm_of_constants_folds_into_the_next_kernel() {
    // The transA/transB Gemm of two initializers is evaluated at load time: no layer of its
    // own, its result the kernel of the Dense that reads it.
    let graph = graft::load_graph(onnx_root().join("ops/gemm_trans_a/model.onnx")).unwrap();
    assert!(graph.layer("low_rank").is_none(), "the constant Gemm folds");
    let dense = graph.layer("dense_low_rank").expect("Dense layer");
    assert!(matches!(&dense.op, graft::Op::Dense(d) if d.units == 4 && d.use_bias));
    assert_eq!(dense.weight("kernel").unwrap().tensor.shape(), &[6, 4]);
}

#[test]
fn opset21_file_reads_with_its_opset() {
    let model = graft::onnx::load_model(onnx_root().join("ops/cnn_opset21/model.onnx")).unwrap();
    assert_eq!(model.opset, 21);
    let graph = &model.graph;
    // noop_with_empty_axes=1 without axes reduces nothing: no layer.
    assert!(graph.layer("reduce_noop").is_none());
    // Pad with axes [-2, -1] of zeros is a ZeroPadding of the spatial axes.
    assert!(matches!(
        graph.layer("pad").map(|l| &l.op),
        Some(graft::Op::ZeroPadding(z)) if z.padding == vec![(1, 1), (1, 1)]
    ));
}

#[test]
fn layers_are_named_after_nodes() {
    let graph = graft::load_graph(onnx_root().join("ops/gemm_matmul/model.onnx")).unwrap();
    for name in ["gemm", "gemm_noc", "dense/MatMul", "dense3/MatMul"] {
        assert!(graph.layer(name).is_some(), "no layer '{name}'");
    }
    // The bias Add folded into the MatMul's Dense layer.
    assert!(graph.layer("dense/BiasAdd").is_none());
    assert!(
        graph
            .layer("dense/MatMul")
            .unwrap()
            .weight("bias")
            .is_some()
    );
    // x * sigmoid(x) is one swish layer named after the Mul.
    let graph = graft::load_graph(onnx_root().join("ops/elementwise/model.onnx")).unwrap();
    let swish = graph.layer("swish").expect("swish layer");
    assert_eq!(
        swish.op,
        graft::Op::Activation(graft::ir::Activation::Swish)
    );
    assert!(graph.layer("sig").is_none(), "the folded sigmoid is gone");
    // The transpose pair that cancels leaves no layer.
    let graph = graft::load_graph(onnx_root().join("ops/transposes/model.onnx")).unwrap();
    assert!(graph.layer("to_nhwc").is_none() && graph.layer("back_to_nchw").is_none());
    assert_eq!(graph.input_shapes()[0].to_string(), "(None, 5, 6, 3)");
}

#[test]
fn node_patterns_read_as_one_layer() {
    use graft::ir::Activation;
    let graph = graft::load_graph(onnx_root().join("ops/patterns/model.onnx")).unwrap();
    let op = |name: &str| {
        graph
            .layer(name)
            .unwrap_or_else(|| panic!("no layer '{name}'"))
            .op
            .clone()
    };
    assert!(matches!(
        op("ln_last"),
        graft::Op::LayerNorm(c) if c.axes == vec![2] && c.center && c.scale
    ));
    assert!(matches!(
        op("ln_two"),
        graft::Op::LayerNorm(c) if c.axes == vec![1, 2] && !c.center
    ));
    assert_eq!(
        op("gelu_erf"),
        graft::Op::Activation(Activation::Gelu { approximate: false })
    );
    assert_eq!(
        op("gelu_tanh"),
        graft::Op::Activation(Activation::Gelu { approximate: true })
    );
    assert!(matches!(
        op("relu_thr"),
        graft::Op::Activation(Activation::ClippedRelu { max_value: None, threshold, .. })
            if threshold == 0.3
    ));
    assert_eq!(op("repeat"), graft::Op::RepeatVector { n: 4 });
    assert_eq!(op("repeat_rank3"), graft::Op::RepeatVector { n: 3 });
    // The pattern's inner nodes leave no layer (the Unsqueeze is read by the RepeatVector).
    for gone in [
        "gelu_erf/erf",
        "gelu_tanh/tanh",
        "relu_thr/below",
        "repeat/unsqueeze",
    ] {
        assert!(graph.layer(gone).is_none(), "'{gone}' is left");
    }
}

#[test]
fn broken_and_unsupported_files_fail_with_clear_messages() {
    let root = onnx_root().join("errors");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("errors.json")).unwrap()).unwrap();
    let mut failures = vec![];
    for case in doc["cases"].as_array().unwrap() {
        let file = root.join(case["file"].as_str().unwrap());
        let message = match graft::load_graph(&file) {
            Ok(_) => {
                failures.push(format!("{}: loaded", file.display()));
                continue;
            }
            Err(e) => e.to_string(),
        };
        for expect in case["expect"].as_array().unwrap() {
            let expect = expect.as_str().unwrap();
            if !message.contains(expect) {
                failures.push(format!("{}: {message:?} lacks {expect:?}", file.display()));
            }
        }
        assert!(
            message.contains(&file.display().to_string()),
            "{message}: names the file"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
