//! MobileNetV3Small and MobileNetV3Large (`keras/src/applications/mobilenet_v3.py`).
//!
//! Keras writes its hard sigmoid as `ReLU(6.0)(x + 3.0) * (1.0 / 6.0)`: two `keras.ops`
//! operations (auto-named `add`, `multiply`) around an auto-named `ReLU`. The graph reproduces
//! those layers one for one, so Keras' files load by position and by name.

use graft_ir::{Activation, Graph, MathOp, MergeKind, PoolKind, TensorRef};

use crate::error::{ApplicationError, Result};
use crate::mobilenet::make_divisible;
use crate::net::{Conv, Net};
use crate::options::{Options, correct_pad};

/// MobileNetV3's own options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MobileNetV3Config {
    /// Width multiplier (default 1.0; ImageNet weights exist for 0.75 and 1.0, and 1.0 only
    /// when minimalistic).
    pub alpha: f64,
    /// The minimalistic variant: 3x3 kernels, ReLU everywhere, no squeeze-and-excite.
    pub minimalistic: bool,
    /// Dropout rate before the classifier (default 0.2; 0 leaves the layer out).
    pub dropout_rate: f64,
    /// Whether the model starts with `Rescaling(1/127.5, -1)` (default true: feed raw 0..255).
    pub include_preprocessing: bool,
}

impl Default for MobileNetV3Config {
    fn default() -> Self {
        MobileNetV3Config {
            alpha: 1.0,
            minimalistic: false,
            dropout_rate: 0.2,
            include_preprocessing: true,
        }
    }
}

/// The activation of a block: ReLU, or hard swish in the full model.
#[derive(Clone, Copy, PartialEq)]
enum Act {
    Relu,
    HardSwish,
}

fn act(net: &mut Net, x: &TensorRef, a: Act) -> Result<TensorRef> {
    match a {
        Act::Relu => net.relu(None, x, None),
        Act::HardSwish => net.activation(None, x, Activation::HardSwish),
    }
}

fn hard_sigmoid(net: &mut Net, x: &TensorRef) -> Result<TensorRef> {
    let y = net.scalar(MathOp::Add, x, 3.0)?;
    let y = net.relu(None, &y, Some(6.0))?;
    net.scalar(MathOp::Multiply, &y, 1.0 / 6.0)
}

fn se_block(
    net: &mut Net,
    inputs: &TensorRef,
    filters: usize,
    se_ratio: f64,
    prefix: &str,
) -> Result<TensorRef> {
    let x = net.global_pool(
        Some(format!("{prefix}squeeze_excite_avg_pool")),
        inputs,
        PoolKind::Average,
        true,
    )?;
    let squeezed = make_divisible(filters as f64 * se_ratio, 8);
    let x = net.conv(
        format!("{prefix}squeeze_excite_conv"),
        &x,
        Conv::new(squeezed, 1).same(),
    )?;
    let x = net.relu(Some(format!("{prefix}squeeze_excite_relu")), &x, None)?;
    let x = net.conv(
        format!("{prefix}squeeze_excite_conv_1"),
        &x,
        Conv::new(filters, 1).same(),
    )?;
    let x = hard_sigmoid(net, &x)?;
    net.merge(
        format!("{prefix}squeeze_excite_mul"),
        MergeKind::Multiply,
        inputs,
        &x,
    )
}

/// One `_inverted_res_block(x, expansion, filters, kernel, stride, se_ratio, activation, id)`.
struct Block {
    expansion: f64,
    filters: usize,
    kernel: usize,
    stride: usize,
    se: bool,
    act: Act,
}

fn inverted_res_block(
    net: &mut Net,
    inputs: &TensorRef,
    b: &Block,
    se_ratio: Option<f64>,
    block_id: usize,
) -> Result<TensorRef> {
    let infilters = net.channels(inputs);
    let mut x = inputs.clone();
    let expanded = make_divisible(infilters as f64 * b.expansion, 8);
    let prefix = if block_id > 0 {
        let prefix = format!("expanded_conv_{block_id}_");
        let conv = Conv::new(expanded, 1).same().no_bias();
        x = net.conv(format!("{prefix}expand"), &x, conv)?;
        x = net.bn(format!("{prefix}expand_bn"), &x, -1, 1e-3, 0.999)?;
        x = act(net, &x, b.act)?;
        prefix
    } else {
        "expanded_conv_".to_string()
    };
    if b.stride == 2 {
        let pad = correct_pad(net.spatial(&x), b.kernel);
        x = net.zero_pad(format!("{prefix}depthwise_pad"), &x, pad)?;
    }
    x = net.depthwise(
        format!("{prefix}depthwise"),
        &x,
        b.kernel,
        b.stride,
        1,
        b.stride == 1,
    )?;
    x = net.bn(format!("{prefix}depthwise_bn"), &x, -1, 1e-3, 0.999)?;
    x = act(net, &x, b.act)?;
    if let (true, Some(ratio)) = (b.se, se_ratio) {
        x = se_block(net, &x, expanded, ratio, &prefix)?;
    }
    let conv = Conv::new(b.filters, 1).same().no_bias();
    x = net.conv(format!("{prefix}project"), &x, conv)?;
    x = net.bn(format!("{prefix}project_bn"), &x, -1, 1e-3, 0.999)?;
    if b.stride == 1 && infilters == b.filters {
        x = net.merge(format!("{prefix}add"), MergeKind::Add, inputs, &x)?;
    }
    Ok(x)
}

/// `keras.applications.MobileNetV3Small` (`large` false) or `MobileNetV3Large`.
pub(crate) fn mobilenet_v3(opts: &Options, cfg: MobileNetV3Config, large: bool) -> Result<Graph> {
    let app = if large {
        "MobileNetV3Large"
    } else {
        "MobileNetV3Small"
    };
    opts.check_common(app)?;
    // No obtain_input_shape here: Keras defaults to (None, None, 3) even with the top.
    let shape = opts.input_shape.unwrap_or([None, None, Some(3)]);
    let show = |d: Option<usize>| d.map_or("None".to_string(), |n| n.to_string());
    if let [Some(r), Some(c), _] = shape
        && (r < 32 || c < 32)
    {
        return Err(ApplicationError::option(
            app,
            format!(
                "input size must be at least 32x32 (input_shape ({r}, {c}, {}))",
                show(shape[2])
            ),
        ));
    }
    if shape[2].is_none() {
        return Err(ApplicationError::option(
            app,
            "input_shape needs a channel count",
        ));
    }
    if opts.weights.is_imagenet() {
        let ok = if cfg.minimalistic {
            cfg.alpha == 1.0
        } else {
            cfg.alpha == 0.75 || cfg.alpha == 1.0
        };
        if !ok {
            return Err(ApplicationError::option(
                app,
                format!(
                    "ImageNet weights exist for alpha 0.75 and 1.0, or 1.0 when minimalistic \
                     (got alpha {}, minimalistic {})",
                    cfg.alpha, cfg.minimalistic
                ),
            ));
        }
    }
    if cfg.alpha <= 0.0 {
        return Err(ApplicationError::option(app, "alpha must be positive"));
    }
    let (kernel, activation, se_ratio) = if cfg.minimalistic {
        (3, Act::Relu, None)
    } else {
        (5, Act::HardSwish, Some(0.25))
    };
    let mut net = Net::new(opts.name.as_deref().unwrap_or(app));
    let input = net.input(shape);
    let mut x = input;
    if cfg.include_preprocessing {
        let name = net.auto("rescaling");
        let op = graft_ir::Op::Rescaling(graft_ir::RescalingConfig {
            scale: vec![(1.0f64 / 127.5) as f32],
            offset: vec![-1.0],
        });
        x = net.layer(name, op, vec![x])?;
    }
    x = net.conv("conv", &x, Conv::new(16, 3).stride(2).same().no_bias())?;
    x = net.bn("conv_bn", &x, -1, 1e-3, 0.999)?;
    x = act(&mut net, &x, activation)?;
    let depth = |d: usize| make_divisible(d as f64 * cfg.alpha, 8);
    let blk =
        |expansion: f64, filters: usize, kernel: usize, stride: usize, se: bool, act: Act| Block {
            expansion,
            filters: depth(filters),
            kernel,
            stride,
            se,
            act,
        };
    let (k, a, r) = (kernel, activation, Act::Relu);
    let blocks: Vec<Block> = if large {
        vec![
            blk(1.0, 16, 3, 1, false, r),
            blk(4.0, 24, 3, 2, false, r),
            blk(3.0, 24, 3, 1, false, r),
            blk(3.0, 40, k, 2, true, r),
            blk(3.0, 40, k, 1, true, r),
            blk(3.0, 40, k, 1, true, r),
            blk(6.0, 80, 3, 2, false, a),
            blk(2.5, 80, 3, 1, false, a),
            blk(2.3, 80, 3, 1, false, a),
            blk(2.3, 80, 3, 1, false, a),
            blk(6.0, 112, 3, 1, true, a),
            blk(6.0, 112, 3, 1, true, a),
            blk(6.0, 160, k, 2, true, a),
            blk(6.0, 160, k, 1, true, a),
            blk(6.0, 160, k, 1, true, a),
        ]
    } else {
        vec![
            blk(1.0, 16, 3, 2, true, r),
            blk(72.0 / 16.0, 24, 3, 2, false, r),
            blk(88.0 / 24.0, 24, 3, 1, false, r),
            blk(4.0, 40, k, 2, true, a),
            blk(6.0, 40, k, 1, true, a),
            blk(6.0, 40, k, 1, true, a),
            blk(3.0, 48, k, 1, true, a),
            blk(3.0, 48, k, 1, true, a),
            blk(6.0, 96, k, 2, true, a),
            blk(6.0, 96, k, 1, true, a),
            blk(6.0, 96, k, 1, true, a),
        ]
    };
    for (id, b) in blocks.iter().enumerate() {
        x = inverted_res_block(&mut net, &x, b, se_ratio, id)?;
    }
    let last_conv = make_divisible(net.channels(&x) as f64 * 6.0, 8);
    let mut last_point = if large { 1280 } else { 1024 };
    if cfg.alpha > 1.0 {
        last_point = make_divisible(last_point as f64 * cfg.alpha, 8);
    }
    x = net.conv("conv_1", &x, Conv::new(last_conv, 1).same().no_bias())?;
    x = net.bn("conv_1_bn", &x, -1, 1e-3, 0.999)?;
    x = act(&mut net, &x, activation)?;
    if opts.include_top {
        x = net.global_pool(None, &x, PoolKind::Average, true)?;
        x = net.conv("conv_2", &x, Conv::new(last_point, 1).same())?;
        x = act(&mut net, &x, activation)?;
        if cfg.dropout_rate > 0.0 {
            x = net.dropout(None, &x, cfg.dropout_rate)?;
        }
        x = net.conv("logits", &x, Conv::new(opts.classes, 1).same())?;
        x = net.flatten(None, &x)?;
        opts.check_activation(app)?;
        x = net.activation(Some("predictions".into()), &x, opts.top_activation())?;
    } else {
        x = net.pooling(x, opts.pooling, true)?;
    }
    Ok(net.finish(x))
}
