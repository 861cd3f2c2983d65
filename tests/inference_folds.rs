//! Inference folds (graft-burn's `fold` module) on Keras 3 applications: BatchNormalization folded
//! into the convolution before it and ZeroPadding into the convolution after it change rounding
//! only. MobileNetV2 (ZeroPadding before its strided depthwise convolutions, Conv/Depthwise ->
//! BatchNormalization -> ReLU6) and ResNet50 (ZeroPadding before conv1, Conv -> BatchNormalization
//! -> ReLU, BatchNormalization feeding an Add) run with and without folds on the inputs Keras
//! saved: in inference mode the outputs agree within float rounding (and with Keras, which the
//! application tests check), in training mode (batch statistics: nothing folds) bit for bit.
//! Needs `scripts/fixtures/generate.sh --applications`.

use std::sync::Arc;

use graft::exec::{Model, download};
use graft::ir::Tensor;
use graft_tests::{Fixture, check_close, fixtures};

/// Runs `model` on `inputs` with `plan` (folded or not) in the given mode.
fn run(model: &Model, folded: bool, inputs: &[Tensor], training: bool) -> Vec<Tensor> {
    let module = model.module().clone();
    let plan = if folded {
        module.plan.clone()
    } else {
        Arc::new(module.plan.without_folds())
    };
    let module = module.with_plan(plan);
    let values = model.upload(inputs).expect("inputs");
    module
        .forward(values, training)
        .expect("forward")
        .into_iter()
        .map(download)
        .collect()
}

fn check_folds(path: &str, min_bn: usize, min_padding: usize) {
    let fixture = Fixture::open(fixtures().join("generated/keras/keras3").join(path));
    let file = fixture.file("h5").expect("model.h5");
    let graph = graft::load_graph(&file).expect("load");
    let model = Model::new(graph, &graft::default_device()).expect("model");
    // The folds are found, so the comparison below cannot pass by folding nothing.
    let (bn, padding) = model.module().plan.fold_counts();
    assert!(
        bn >= min_bn && padding >= min_padding,
        "{path}: {bn} BatchNormalization and {padding} ZeroPadding folds planned, expected at least {min_bn} and {min_padding}"
    );
    let inputs = fixture.inputs();
    let folded = run(&model, true, &inputs, false);
    let plain = run(&model, false, &inputs, false);
    for (i, (f, p)) in folded.iter().zip(&plain).enumerate() {
        let rel = check_close(&format!("{path} output {i} folded"), f, p, 1e-5)
            .unwrap_or_else(|e| panic!("{e}"));
        println!("{path}: folded vs unfolded, max difference {rel:.1e} of the largest value");
    }
    // Keras' numbers still hold with the folds (the application tests check all of them).
    for (i, (f, k)) in folded.iter().zip(fixture.outputs()).enumerate() {
        check_close(&format!("{path} output {i} vs Keras"), f, &k, 1e-4)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // Training mode: BatchNormalization uses the batch's statistics, nothing folds.
    let folded = run(&model, true, &inputs, true);
    let plain = run(&model, false, &inputs, true);
    for (f, p) in folded.iter().zip(&plain) {
        let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert!(
            bits(f) == bits(p),
            "{path}: training mode differs with folds"
        );
    }
}

#[test]
fn mobilenetv2_folds() {
    // 52 Conv/Depthwise -> BatchNormalization pairs, 4 ZeroPadding -> strided depthwise.
    check_folds("mobilenetv2", 52, 4);
}

#[test]
fn resnet50_folds() {
    // 53 Conv -> BatchNormalization pairs, conv1_pad -> conv1 (pool1_pad feeds a MaxPooling).
    check_folds("resnet50", 53, 1);
}
