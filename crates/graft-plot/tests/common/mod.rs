//! Hand-built graphs shared by the tests and the `plot_samples` example.
#![allow(dead_code)]

use graft_ir::{
    Activation, BatchNormConfig, ConvConfig, DType, DataFormat, DenseConfig, GlobalPoolConfig,
    Graph, InputConfig, Layer, MergeKind, Op, Padding, PoolConfig, PoolKind, Shape, TensorRef,
};

pub fn input(g: &mut Graph, name: &str, dims: &[usize]) -> TensorRef {
    g.push_input(
        name,
        InputConfig {
            shape: Shape::batched(dims),
            dtype: DType::F32,
        },
    )
}

pub fn conv(filters: usize, k: usize, activation: Activation) -> Op {
    Op::Conv(ConvConfig {
        filters,
        kernel_size: vec![k, k],
        strides: vec![1, 1],
        padding: Padding::Same,
        dilation: vec![1, 1],
        groups: 1,
        use_bias: false,
        activation,
        data_format: DataFormat::ChannelsLast,
    })
}

pub fn dense(units: usize, activation: Activation) -> Op {
    Op::Dense(DenseConfig {
        units,
        use_bias: true,
        activation,
    })
}

pub fn bn() -> Op {
    Op::BatchNorm(BatchNormConfig {
        axis: -1,
        epsilon: 1e-3,
        momentum: 0.99,
        center: true,
        scale: true,
    })
}

pub fn avg_pool() -> Op {
    Op::Pool(PoolConfig {
        kind: PoolKind::Average,
        pool_size: vec![2, 2],
        strides: vec![2, 2],
        padding: Padding::Valid,
        data_format: DataFormat::ChannelsLast,
        ceil_mode: false,
        count_include_pad: false,
    })
}

pub fn gap() -> Op {
    Op::GlobalPool(GlobalPoolConfig {
        kind: PoolKind::Average,
        keepdims: false,
        data_format: DataFormat::ChannelsLast,
        rank: 2,
    })
}

fn push(g: &mut Graph, name: &str, op: Op, inputs: Vec<TensorRef>) -> TensorRef {
    g.push(Layer::new(name, op), inputs)
}

/// Input -> Conv2D -> BatchNormalization -> Activation(relu).
pub fn small() -> Graph {
    let mut g = Graph::new("small");
    let x = input(&mut g, "x", &[32, 32, 3]);
    let c = push(&mut g, "conv", conv(8, 3, Activation::Linear), vec![x]);
    let b = push(&mut g, "bn", bn(), vec![c]);
    let a = push(&mut g, "act", Op::Activation(Activation::Relu), vec![b]);
    g.outputs.push(a);
    g
}

/// Input -> Dense a -> Dense b, and Add(input, b) -> Dense head.
pub fn residual() -> Graph {
    let mut g = Graph::new("residual");
    let x = input(&mut g, "x", &[16]);
    let a = push(&mut g, "a", dense(16, Activation::Relu), vec![x.clone()]);
    let b = push(&mut g, "b", dense(16, Activation::Linear), vec![a]);
    let s = push(&mut g, "add", Op::Merge(MergeKind::Add), vec![x, b]);
    let h = push(
        &mut g,
        "head",
        dense(4, Activation::Softmax { axis: -1 }),
        vec![s],
    );
    g.outputs.push(h);
    g
}

/// `img -> backbone (a nested Functional: inner_in -> inner_dense -> inner_out) -> head`,
/// with the backbone frozen.
pub fn nested() -> Graph {
    let mut inner = Graph::new("backbone");
    let i = input(&mut inner, "inner_in", &[16]);
    let d = push(
        &mut inner,
        "inner_dense",
        dense(12, Activation::Relu),
        vec![i],
    );
    let o = push(
        &mut inner,
        "inner_out",
        dense(8, Activation::Linear),
        vec![d],
    );
    inner.outputs.push(o);
    let mut g = Graph::new("outer");
    let x = input(&mut g, "img", &[16]);
    let mut backbone = Layer::new("backbone", Op::Model(Box::new(inner)));
    backbone.trainable = false;
    let b = g.push(backbone, vec![x]);
    let h = push(
        &mut g,
        "head",
        dense(3, Activation::Softmax { axis: -1 }),
        vec![b],
    );
    g.outputs.push(h);
    g
}

/// A DenseNet121-shaped graph: a stem, dense blocks of 6, 12, 24 and 16 conv blocks
/// (BN-ReLU-Conv1x1-BN-ReLU-Conv3x3, then a concatenation with the block input), transitions,
/// and a classifier head: 428 layers with the same skip structure as the real model.
pub fn densenet_like() -> Graph {
    let mut g = Graph::new("densenet_like");
    let mut x = input(&mut g, "input_1", &[64, 64, 3]);
    x = push(
        &mut g,
        "conv1/conv",
        conv(64, 7, Activation::Linear),
        vec![x],
    );
    x = push(&mut g, "conv1/bn", bn(), vec![x]);
    x = push(
        &mut g,
        "conv1/relu",
        Op::Activation(Activation::Relu),
        vec![x],
    );
    x = push(&mut g, "pool1", avg_pool(), vec![x]);
    for (bi, blocks) in [6, 12, 24, 16].into_iter().enumerate() {
        let b = bi + 2;
        for k in 1..=blocks {
            let p = format!("conv{b}_block{k}");
            let mut y = push(&mut g, &format!("{p}_0_bn"), bn(), vec![x.clone()]);
            y = push(
                &mut g,
                &format!("{p}_0_relu"),
                Op::Activation(Activation::Relu),
                vec![y],
            );
            y = push(
                &mut g,
                &format!("{p}_1_conv"),
                conv(32, 1, Activation::Linear),
                vec![y],
            );
            y = push(&mut g, &format!("{p}_1_bn"), bn(), vec![y]);
            y = push(
                &mut g,
                &format!("{p}_1_relu"),
                Op::Activation(Activation::Relu),
                vec![y],
            );
            y = push(
                &mut g,
                &format!("{p}_2_conv"),
                conv(8, 3, Activation::Linear),
                vec![y],
            );
            x = push(
                &mut g,
                &format!("{p}_concat"),
                Op::Concatenate { axis: -1 },
                vec![x, y],
            );
        }
        if b < 5 {
            let p = format!("pool{b}");
            x = push(&mut g, &format!("{p}_bn"), bn(), vec![x]);
            x = push(
                &mut g,
                &format!("{p}_relu"),
                Op::Activation(Activation::Relu),
                vec![x],
            );
            x = push(
                &mut g,
                &format!("{p}_conv"),
                conv(64, 1, Activation::Linear),
                vec![x],
            );
            x = push(&mut g, &format!("{p}_pool"), avg_pool(), vec![x]);
        }
    }
    x = push(&mut g, "bn", bn(), vec![x]);
    x = push(&mut g, "relu", Op::Activation(Activation::Relu), vec![x]);
    x = push(&mut g, "avg_pool", gap(), vec![x]);
    x = push(
        &mut g,
        "predictions",
        dense(10, Activation::Softmax { axis: -1 }),
        vec![x],
    );
    g.outputs.push(x);
    g
}
