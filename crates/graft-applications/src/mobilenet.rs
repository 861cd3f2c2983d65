//! MobileNet (v1) and MobileNetV2 (`keras/src/applications/mobilenet.py`, `mobilenet_v2.py`).

use graft_ir::{Graph, MergeKind, PoolKind, TensorRef};

use crate::error::{ApplicationError, Result};
use crate::net::{Conv, Net};
use crate::options::{Options, correct_pad, obtain_input_shape};

/// MobileNet's own options (`alpha`, `depth_multiplier`, `dropout`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MobileNetConfig {
    /// Width multiplier: every layer's filters are scaled by it (default 1.0; ImageNet
    /// weights exist for 0.25, 0.5, 0.75 and 1.0).
    pub alpha: f64,
    /// Depthwise multiplier of the depthwise convolutions (default 1).
    pub depth_multiplier: usize,
    /// Dropout rate before the classifier (default 0.001).
    pub dropout: f64,
}

impl Default for MobileNetConfig {
    fn default() -> Self {
        MobileNetConfig {
            alpha: 1.0,
            depth_multiplier: 1,
            dropout: 1e-3,
        }
    }
}

/// MobileNetV2's own option (`alpha`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MobileNetV2Config {
    /// Width multiplier (default 1.0; ImageNet weights exist for 0.35, 0.5, 0.75, 1.0, 1.3,
    /// 1.4).
    pub alpha: f64,
}

impl Default for MobileNetV2Config {
    fn default() -> Self {
        MobileNetV2Config { alpha: 1.0 }
    }
}

/// Keras' `_make_divisible` / `_depth`: `v` rounded to a multiple of `divisor`, never below
/// `divisor` nor 10% below `v`.
pub(crate) fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut new_v = divisor.max(((v + d / 2.0) as usize) / divisor * divisor);
    if (new_v as f64) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// The rows Keras puts in the model name and uses to pick pretrained weights: the input's
/// rows, or 224 when ImageNet weights come for a size that has none.
fn name_rows(shape: &[Option<usize>; 3], sizes: &[usize], opts: &Options) -> Option<usize> {
    let (rows, cols) = (shape[0], shape[1]);
    if opts.weights.is_imagenet() && (rows != cols || !rows.is_some_and(|r| sizes.contains(&r))) {
        return Some(224);
    }
    rows
}

fn rows_text(rows: Option<usize>) -> String {
    rows.map_or_else(|| "None".to_string(), |r| r.to_string())
}

/// Keras picks its default size from a square input of a size it has weights for.
fn default_size(input_shape: &Option<[Option<usize>; 3]>, sizes: &[usize]) -> usize {
    match input_shape {
        Some([Some(r), Some(c), _]) if r == c && sizes.contains(r) => *r,
        _ => 224,
    }
}

const V1_SIZES: [usize; 4] = [128, 160, 192, 224];
const V2_SIZES: [usize; 5] = [96, 128, 160, 192, 224];

/// `keras.applications.MobileNet`.
pub(crate) fn mobilenet_v1(opts: &Options, cfg: MobileNetConfig) -> Result<Graph> {
    let app = "MobileNet";
    opts.check_common(app)?;
    let size = default_size(&opts.input_shape, &V1_SIZES);
    let shape = obtain_input_shape(
        app,
        opts.input_shape,
        size,
        32,
        opts.include_top,
        &opts.weights,
    )?;
    if opts.weights.is_imagenet() {
        if cfg.depth_multiplier != 1 {
            return Err(ApplicationError::option(
                app,
                format!(
                    "ImageNet weights need depth_multiplier 1 (got {})",
                    cfg.depth_multiplier
                ),
            ));
        }
        if ![0.25, 0.5, 0.75, 1.0].contains(&cfg.alpha) {
            return Err(ApplicationError::option(
                app,
                format!(
                    "ImageNet weights exist for alpha 0.25, 0.5, 0.75 and 1.0 only (got {})",
                    cfg.alpha
                ),
            ));
        }
    }
    if cfg.alpha <= 0.0 || cfg.depth_multiplier == 0 {
        return Err(ApplicationError::option(
            app,
            "alpha and depth_multiplier must be positive",
        ));
    }
    let rows = name_rows(&shape, &V1_SIZES, opts);
    let default_name = format!("mobilenet_{:.2}_{}", cfg.alpha, rows_text(rows));
    let mut net = Net::new(opts.name.as_deref().unwrap_or(&default_name));
    let input = net.input(shape);
    let filters = |f: usize| (f as f64 * cfg.alpha) as usize;
    let conv = Conv::new(filters(32), 3).same().no_bias().stride(2);
    let mut x = net.conv("conv1", &input, conv)?;
    x = net.bn("conv1_bn", &x, -1, 1e-3, 0.99)?;
    x = net.relu(Some("conv1_relu".into()), &x, Some(6.0))?;
    let blocks: [(usize, usize); 13] = [
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (1024, 2),
        (1024, 1),
    ];
    for (i, &(pointwise, stride)) in blocks.iter().enumerate() {
        let id = i + 1;
        if stride != 1 {
            x = net.zero_pad(format!("conv_pad_{id}"), &x, vec![(0, 1), (0, 1)])?;
        }
        x = net.depthwise(
            format!("conv_dw_{id}"),
            &x,
            3,
            stride,
            cfg.depth_multiplier,
            stride == 1,
        )?;
        x = net.bn(format!("conv_dw_{id}_bn"), &x, -1, 1e-3, 0.99)?;
        x = net.relu(Some(format!("conv_dw_{id}_relu")), &x, Some(6.0))?;
        let conv = Conv::new(filters(pointwise), 1).same().no_bias();
        x = net.conv(format!("conv_pw_{id}"), &x, conv)?;
        x = net.bn(format!("conv_pw_{id}_bn"), &x, -1, 1e-3, 0.99)?;
        x = net.relu(Some(format!("conv_pw_{id}_relu")), &x, Some(6.0))?;
    }
    if opts.include_top {
        x = net.global_pool(None, &x, PoolKind::Average, true)?;
        x = net.dropout(Some("dropout".into()), &x, cfg.dropout)?;
        x = net.conv("conv_preds", &x, Conv::new(opts.classes, 1).same())?;
        let reshape = graft_ir::Op::Reshape(graft_ir::ReshapeConfig {
            target_shape: vec![opts.classes as i64],
        });
        x = net.layer("reshape_2".into(), reshape, vec![x])?;
        opts.check_activation(app)?;
        x = net.activation(Some("predictions".into()), &x, opts.top_activation())?;
    } else {
        x = net.pooling(x, opts.pooling, false)?;
    }
    Ok(net.finish(x))
}

fn inverted_res_block_v2(
    net: &mut Net,
    inputs: &TensorRef,
    expansion: usize,
    stride: usize,
    alpha: f64,
    filters: usize,
    block_id: usize,
) -> Result<TensorRef> {
    let in_channels = net.channels(inputs);
    let pointwise_filters = make_divisible(((filters as f64 * alpha) as usize) as f64, 8);
    let mut x = inputs.clone();
    let prefix = if block_id > 0 {
        let prefix = format!("block_{block_id}_");
        let conv = Conv::new(expansion * in_channels, 1).same().no_bias();
        x = net.conv(format!("{prefix}expand"), &x, conv)?;
        x = net.bn(format!("{prefix}expand_BN"), &x, -1, 1e-3, 0.999)?;
        x = net.relu(Some(format!("{prefix}expand_relu")), &x, Some(6.0))?;
        prefix
    } else {
        "expanded_conv_".to_string()
    };
    if stride == 2 {
        let pad = correct_pad(net.spatial(&x), 3);
        x = net.zero_pad(format!("{prefix}pad"), &x, pad)?;
    }
    x = net.depthwise(format!("{prefix}depthwise"), &x, 3, stride, 1, stride == 1)?;
    x = net.bn(format!("{prefix}depthwise_BN"), &x, -1, 1e-3, 0.999)?;
    x = net.relu(Some(format!("{prefix}depthwise_relu")), &x, Some(6.0))?;
    let conv = Conv::new(pointwise_filters, 1).same().no_bias();
    x = net.conv(format!("{prefix}project"), &x, conv)?;
    x = net.bn(format!("{prefix}project_BN"), &x, -1, 1e-3, 0.999)?;
    if in_channels == pointwise_filters && stride == 1 {
        return net.merge(format!("{prefix}add"), MergeKind::Add, inputs, &x);
    }
    Ok(x)
}

/// `keras.applications.MobileNetV2`.
pub(crate) fn mobilenet_v2(opts: &Options, cfg: MobileNetV2Config) -> Result<Graph> {
    let app = "MobileNetV2";
    opts.check_common(app)?;
    let size = default_size(&opts.input_shape, &V2_SIZES);
    let shape = obtain_input_shape(
        app,
        opts.input_shape,
        size,
        32,
        opts.include_top,
        &opts.weights,
    )?;
    if opts.weights.is_imagenet() && ![0.35, 0.5, 0.75, 1.0, 1.3, 1.4].contains(&cfg.alpha) {
        return Err(ApplicationError::option(
            app,
            format!(
                "ImageNet weights exist for alpha 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4 only (got {})",
                cfg.alpha
            ),
        ));
    }
    if cfg.alpha <= 0.0 {
        return Err(ApplicationError::option(app, "alpha must be positive"));
    }
    let rows = name_rows(&shape, &V2_SIZES, opts);
    let default_name = format!("mobilenetv2_{:.2}_{}", cfg.alpha, rows_text(rows));
    let mut net = Net::new(opts.name.as_deref().unwrap_or(&default_name));
    let input = net.input(shape);
    let first = make_divisible(32.0 * cfg.alpha, 8);
    let mut x = net.conv(
        "Conv1",
        &input,
        Conv::new(first, 3).stride(2).same().no_bias(),
    )?;
    x = net.bn("bn_Conv1", &x, -1, 1e-3, 0.999)?;
    x = net.relu(Some("Conv1_relu".into()), &x, Some(6.0))?;
    // (filters, stride, expansion) of blocks 0..=16.
    let blocks: [(usize, usize, usize); 17] = [
        (16, 1, 1),
        (24, 2, 6),
        (24, 1, 6),
        (32, 2, 6),
        (32, 1, 6),
        (32, 1, 6),
        (64, 2, 6),
        (64, 1, 6),
        (64, 1, 6),
        (64, 1, 6),
        (96, 1, 6),
        (96, 1, 6),
        (96, 1, 6),
        (160, 2, 6),
        (160, 1, 6),
        (160, 1, 6),
        (320, 1, 6),
    ];
    for (id, &(filters, stride, expansion)) in blocks.iter().enumerate() {
        x = inverted_res_block_v2(&mut net, &x, expansion, stride, cfg.alpha, filters, id)?;
    }
    let last = if cfg.alpha > 1.0 {
        make_divisible(1280.0 * cfg.alpha, 8)
    } else {
        1280
    };
    x = net.conv("Conv_1", &x, Conv::new(last, 1).no_bias())?;
    x = net.bn("Conv_1_bn", &x, -1, 1e-3, 0.999)?;
    x = net.relu(Some("out_relu".into()), &x, Some(6.0))?;
    if opts.include_top {
        x = net.global_pool(None, &x, PoolKind::Average, false)?;
        opts.check_activation(app)?;
        x = net.dense("predictions", &x, opts.classes, opts.top_activation())?;
    } else {
        x = net.pooling(x, opts.pooling, false)?;
    }
    Ok(net.finish(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_divisible_matches_keras() {
        assert_eq!(make_divisible(32.0 * 0.35, 8), 16);
        assert_eq!(make_divisible(1280.0 * 1.4, 8), 1792);
        assert_eq!(make_divisible(16.0 * 0.75, 8), 16);
        assert_eq!(make_divisible(72.0, 8), 72);
        assert_eq!(make_divisible(4.0, 8), 8);
    }
}
