//! ResNet50/101/152 and ResNet50V2/101V2/152V2 (`keras/src/applications/resnet.py`,
//! `resnet_v2.py`).
//!
//! v1 is Caffe-style: the stride sits on the first 1x1 convolution of a stack's first block and
//! on its `_0_conv` shortcut; every convolution has a bias. v2 is pre-activation: the stride sits
//! on the *last* block of a stack (explicit `_2_pad` + valid 3x3), the identity shortcut of that
//! block is a 1x1 max pooling, and only `_0_conv` / `_3_conv` have a bias.

use graft_ir::{Activation, Graph, MergeKind, PoolKind, TensorRef};

use crate::error::Result;
use crate::net::{Conv, Net};
use crate::options::{Options, obtain_input_shape};

const EPS: f64 = 1.001e-5;
const MOMENTUM: f64 = 0.99;
/// Keras' `bn_axis = 3` (channels last, written as a positive axis).
const BN_AXIS: i64 = 3;

/// Blocks per stack (conv2..conv5) of ResNet50/101/152 and their V2 versions.
pub(crate) const RESNET50: [usize; 4] = [3, 4, 6, 3];
pub(crate) const RESNET101: [usize; 4] = [3, 4, 23, 3];
pub(crate) const RESNET152: [usize; 4] = [3, 8, 36, 3];

fn relu(net: &mut Net, name: String, x: &TensorRef) -> Result<TensorRef> {
    net.activation(Some(name), x, Activation::Relu)
}

fn block_v1(
    net: &mut Net,
    x: &TensorRef,
    filters: usize,
    stride: usize,
    conv_shortcut: bool,
    name: &str,
) -> Result<TensorRef> {
    let shortcut = if conv_shortcut {
        let s = net.conv(
            format!("{name}_0_conv"),
            x,
            Conv::new(4 * filters, 1).stride(stride),
        )?;
        net.bn(format!("{name}_0_bn"), &s, BN_AXIS, EPS, MOMENTUM)?
    } else {
        x.clone()
    };
    let y = net.conv(
        format!("{name}_1_conv"),
        x,
        Conv::new(filters, 1).stride(stride),
    )?;
    let y = net.bn(format!("{name}_1_bn"), &y, BN_AXIS, EPS, MOMENTUM)?;
    let y = relu(net, format!("{name}_1_relu"), &y)?;
    let y = net.conv(format!("{name}_2_conv"), &y, Conv::new(filters, 3).same())?;
    let y = net.bn(format!("{name}_2_bn"), &y, BN_AXIS, EPS, MOMENTUM)?;
    let y = relu(net, format!("{name}_2_relu"), &y)?;
    let y = net.conv(format!("{name}_3_conv"), &y, Conv::new(4 * filters, 1))?;
    let y = net.bn(format!("{name}_3_bn"), &y, BN_AXIS, EPS, MOMENTUM)?;
    let y = net.merge(format!("{name}_add"), MergeKind::Add, &shortcut, &y)?;
    relu(net, format!("{name}_out"), &y)
}

fn block_v2(
    net: &mut Net,
    x: &TensorRef,
    filters: usize,
    stride: usize,
    conv_shortcut: bool,
    name: &str,
) -> Result<TensorRef> {
    let preact = net.bn(format!("{name}_preact_bn"), x, BN_AXIS, EPS, MOMENTUM)?;
    let preact = relu(net, format!("{name}_preact_relu"), &preact)?;
    let shortcut = if conv_shortcut {
        net.conv(
            format!("{name}_0_conv"),
            &preact,
            Conv::new(4 * filters, 1).stride(stride),
        )?
    } else if stride > 1 {
        net.max_pool(None, x, 1, stride)?
    } else {
        x.clone()
    };
    let y = net.conv(
        format!("{name}_1_conv"),
        &preact,
        Conv::new(filters, 1).no_bias(),
    )?;
    let y = net.bn(format!("{name}_1_bn"), &y, BN_AXIS, EPS, MOMENTUM)?;
    let y = relu(net, format!("{name}_1_relu"), &y)?;
    let y = net.zero_pad(format!("{name}_2_pad"), &y, vec![(1, 1), (1, 1)])?;
    let y = net.conv(
        format!("{name}_2_conv"),
        &y,
        Conv::new(filters, 3).stride(stride).no_bias(),
    )?;
    let y = net.bn(format!("{name}_2_bn"), &y, BN_AXIS, EPS, MOMENTUM)?;
    let y = relu(net, format!("{name}_2_relu"), &y)?;
    let y = net.conv(format!("{name}_3_conv"), &y, Conv::new(4 * filters, 1))?;
    net.merge(format!("{name}_out"), MergeKind::Add, &shortcut, &y)
}

/// `keras.applications.ResNet*` (`v2` false) and `ResNet*V2` (`v2` true).
pub(crate) fn resnet(
    app: &str,
    name: &str,
    blocks: [usize; 4],
    v2: bool,
    opts: &Options,
) -> Result<Graph> {
    opts.check_common(app)?;
    let shape = obtain_input_shape(
        app,
        opts.input_shape,
        224,
        32,
        opts.include_top,
        &opts.weights,
    )?;
    let mut net = Net::new(opts.name.as_deref().unwrap_or(name));
    let input = net.input(shape);
    let mut x = net.zero_pad("conv1_pad", &input, vec![(3, 3), (3, 3)])?;
    x = net.conv("conv1_conv", &x, Conv::new(64, 7).stride(2))?;
    if !v2 {
        x = net.bn("conv1_bn", &x, BN_AXIS, EPS, MOMENTUM)?;
        x = relu(&mut net, "conv1_relu".into(), &x)?;
    }
    x = net.zero_pad("pool1_pad", &x, vec![(1, 1), (1, 1)])?;
    x = net.max_pool(Some("pool1_pool".into()), &x, 3, 2)?;
    for (stack, (&n, filters)) in blocks.iter().zip([64, 128, 256, 512]).enumerate() {
        let stack_name = format!("conv{}", stack + 2);
        if v2 {
            // stride1 = 2 except for the last stack; the stride is on the last block.
            let stride = if stack == 3 { 1 } else { 2 };
            x = block_v2(
                &mut net,
                &x,
                filters,
                1,
                true,
                &format!("{stack_name}_block1"),
            )?;
            for i in 2..n {
                x = block_v2(
                    &mut net,
                    &x,
                    filters,
                    1,
                    false,
                    &format!("{stack_name}_block{i}"),
                )?;
            }
            x = block_v2(
                &mut net,
                &x,
                filters,
                stride,
                false,
                &format!("{stack_name}_block{n}"),
            )?;
        } else {
            let stride = if stack == 0 { 1 } else { 2 };
            x = block_v1(
                &mut net,
                &x,
                filters,
                stride,
                true,
                &format!("{stack_name}_block1"),
            )?;
            for i in 2..=n {
                x = block_v1(
                    &mut net,
                    &x,
                    filters,
                    1,
                    false,
                    &format!("{stack_name}_block{i}"),
                )?;
            }
        }
    }
    if v2 {
        x = net.bn("post_bn", &x, BN_AXIS, EPS, MOMENTUM)?;
        x = relu(&mut net, "post_relu".into(), &x)?;
    }
    if opts.include_top {
        x = net.global_pool(Some("avg_pool".into()), &x, PoolKind::Average, false)?;
        opts.check_activation(app)?;
        x = net.dense("predictions", &x, opts.classes, opts.top_activation())?;
    } else {
        x = net.pooling(x, opts.pooling, true)?;
    }
    Ok(net.finish(x))
}
