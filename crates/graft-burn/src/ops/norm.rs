//! Weightless normalisations: local response normalisation across channels (ONNX `LRN`).

use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use graft_ir::LrnConfig;

use crate::layers::{from_nchw, to_nchw};
use crate::value::Value;

/// `x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels)^beta`: the sum is
/// an average pool (padded cells counted, so it is the sum over `size`) over the channel axis.
pub fn lrn(config: &LrnConfig, x: Value) -> Value {
    let rank = x.rank();
    let (t, perm) = to_nchw(x, config.data_format);
    let [n, c, h, w] = t.dims();
    let before = (config.size - 1) / 2;
    let after = config.size - 1 - before;
    let squares = t.clone().square().reshape([n, 1, c, h * w]);
    let mean = avg_pool2d(
        squares,
        AvgPoolOptions::new([config.size, 1])
            .with_stride([1, 1])
            .with_padding_pairs([(before, after), (0, 0)])
            .with_count_include_pad(true),
    )
    .reshape([n, c, h, w]);
    let divisor = mean
        .mul_scalar(config.alpha)
        .add_scalar(config.bias)
        .powf_scalar(config.beta);
    from_nchw(t.div(divisor), rank, perm)
}
