use super::*;
use crate::op::{
    Activation, ConvConfig, DType, FlattenConfig, GlobalPoolConfig, InputConfig, MathConfig,
    MathOp, Padding, PoolKind,
};

fn conv(f: DataFormat) -> Op {
    Op::Conv(ConvConfig {
        filters: 4,
        kernel_size: vec![3, 3],
        strides: vec![1, 1],
        padding: Padding::Same,
        dilation: vec![1, 1],
        groups: 1,
        use_bias: false,
        activation: Activation::Softmax { axis: -1 },
        data_format: f,
    })
}

fn keras_graph() -> Graph {
    let mut g = Graph::new("m");
    let x = g.push_input(
        "x",
        InputConfig {
            shape: Shape::batched(&[6, 5, 3]),
            dtype: DType::F32,
        },
    );
    let mut c = Layer::new("conv", conv(DataFormat::ChannelsLast));
    c.weights = vec![crate::graph::Weight {
        name: "kernel".into(),
        tensor: Tensor::zeros(vec![4, 3, 3, 3]),
        trainable: true,
    }];
    let c = g.push(c, vec![x]);
    let s = g.push(
        Layer::new(
            "scale",
            Op::Math(MathConfig {
                op: MathOp::Multiply,
                scalar: Some(2.0),
                scalar_first: false,
            }),
        ),
        vec![c.clone()],
    );
    let cat = g.push(Layer::new("cat", Op::Concatenate { axis: -1 }), vec![c, s]);
    let p = g.push(
        Layer::new(
            "gap",
            Op::GlobalPool(GlobalPoolConfig {
                kind: PoolKind::Average,
                keepdims: true,
                data_format: DataFormat::ChannelsLast,
                rank: 2,
            }),
        ),
        vec![cat.clone()],
    );
    let f = g.push(
        Layer::new(
            "flatten",
            Op::Flatten(FlattenConfig {
                data_format: DataFormat::ChannelsLast,
            }),
        ),
        vec![cat],
    );
    g.outputs = vec![p, f];
    g
}

#[test]
fn moves_channels_and_keeps_logical_order() {
    let g = to_channels_first(keras_graph(), &LayoutOptions::default()).unwrap();
    // The input keeps NHWC and is moved once for the conv.
    assert_eq!(g.input_shapes()[0], Shape::batched(&[6, 5, 3]));
    let conv = g.layer("conv").unwrap();
    assert_eq!(conv.nodes[0].inputs[0].layer, "x/to_channels_first");
    match &conv.op {
        Op::Conv(c) => {
            assert_eq!(c.data_format, DataFormat::ChannelsFirst);
            assert_eq!(c.activation, Activation::Softmax { axis: 1 });
        }
        _ => unreachable!(),
    }
    // Concatenation along the channels, now axis 1.
    assert_eq!(g.layer("cat").unwrap().op, Op::Concatenate { axis: 1 });
    // Flatten reads the value back in NHWC order; the pooled output is put back too.
    assert_eq!(
        g.layer("flatten").unwrap().nodes[0].inputs[0].layer,
        "cat/to_channels_last"
    );
    assert_eq!(g.outputs[0].layer, "gap/to_channels_last");
    let shapes = g.output_shapes().unwrap();
    assert_eq!(shapes[0], Shape::batched(&[1, 1, 8]));
    assert_eq!(shapes[1], Shape::batched(&[240]));
}

#[test]
fn converted_boundaries_change_declared_shapes() {
    let g = to_channels_first(keras_graph(), &LayoutOptions::both(Boundary::Convert)).unwrap();
    assert_eq!(g.input_shapes()[0], Shape::batched(&[3, 6, 5]));
    assert_eq!(g.output_shapes().unwrap()[0], Shape::batched(&[8, 1, 1]));
    assert_eq!(g.layer("conv").unwrap().nodes[0].inputs[0].layer, "x");
    // And back again: the original declared shapes.
    let back = to_channels_last(g, &LayoutOptions::both(Boundary::Convert)).unwrap();
    assert_eq!(back.input_shapes()[0], Shape::batched(&[6, 5, 3]));
    assert_eq!(data_format(&back), Some(DataFormat::ChannelsLast));
}

#[test]
fn permutations() {
    assert_eq!(move_perm(4, DataFormat::ChannelsLast), vec![0, 3, 1, 2]);
    assert_eq!(move_perm(4, DataFormat::ChannelsFirst), vec![0, 2, 3, 1]);
    assert_eq!(move_perm(3, DataFormat::ChannelsLast), vec![0, 2, 1]);
    assert_eq!(remap_axis(-1, 4, DataFormat::ChannelsLast), 1);
    assert_eq!(remap_axis(1, 4, DataFormat::ChannelsFirst), 3);
}

#[test]
fn reports_which_boundaries_take_the_target_layout() {
    // Outputs: `gap` (rank 4, keepdims: a feature map) and `flatten` (rank 2, never moved).
    let convert_all = LayoutOptions::both(Boundary::Convert);
    let (_, moved) =
        convert_reporting(keras_graph(), DataFormat::ChannelsFirst, &convert_all).unwrap();
    assert_eq!(
        moved,
        MovedBoundaries {
            inputs: vec![true],
            outputs: vec![true, false]
        }
    );
    // Kept boundaries: the declared layout stays, Permutes do the moving inside.
    let (_, moved) = convert_reporting(
        keras_graph(),
        DataFormat::ChannelsFirst,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(moved.inputs, vec![false]);
    assert_eq!(moved.outputs, vec![false, false]);
    assert!(uses_format(&keras_graph(), DataFormat::ChannelsLast));
    assert!(!uses_format(&keras_graph(), DataFormat::ChannelsFirst));
}
