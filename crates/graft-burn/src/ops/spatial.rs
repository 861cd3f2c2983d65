//! Spatial ops without weights: pooling, global pooling, zero padding, cropping, upsampling.

use burn::tensor::module::{avg_pool2d, interpolate, max_pool2d};
use burn::tensor::ops::{
    AvgPoolOptions, InterpolateMode, InterpolateOptions, MaxPoolOptions, PadMode,
};
use graft_ir::{
    CroppingConfig, DataFormat, GlobalPoolConfig, Interpolation, PoolConfig, PoolKind,
    UpSamplingConfig, ZeroPaddingConfig,
};

use crate::layers::{ConvGeometry, from_nchw, resolve_padding, to_nchw};
use crate::value::{Dyn, Value, channels_first_of_last, identity};

/// 1D and 2D windows, 1D as 2D over a unit height.
fn window(sizes: &[usize]) -> [usize; 2] {
    match *sizes {
        [w] => [1, w],
        [h, w] => [h, w],
        _ => panic!("pooling over {} axes is not supported", sizes.len()),
    }
}

pub fn pool(config: &PoolConfig, x: Value) -> Value {
    let rank = x.rank();
    let (t, perm) = to_nchw(x, config.data_format);
    let kernel = window(&config.pool_size);
    let ones = vec![1; config.pool_size.len()];
    let geometry = ConvGeometry {
        strides: &config.strides,
        dilation: &ones,
        padding: &config.padding,
        data_format: DataFormat::ChannelsFirst,
    };
    let (strides, _, pads) = resolve_padding(&t, kernel, &geometry);
    let y = match config.kind {
        PoolKind::Max => max_pool2d(
            t,
            MaxPoolOptions::new(kernel)
                .with_stride(strides)
                .with_padding_pairs(pads)
                .with_ceil_mode(config.ceil_mode),
        ),
        PoolKind::Average => avg_pool2d(
            t,
            AvgPoolOptions::new(kernel)
                .with_stride(strides)
                .with_padding_pairs(pads)
                .with_count_include_pad(config.count_include_pad)
                .with_ceil_mode(config.ceil_mode),
        ),
    };
    from_nchw(y, rank, perm)
}

pub fn global_pool(config: &GlobalPoolConfig, x: Value) -> Value {
    let rank = x.rank();
    let perm = match config.data_format {
        DataFormat::ChannelsLast => channels_first_of_last(rank),
        DataFormat::ChannelsFirst => identity(rank),
    };
    let x = x.to_perm(&perm);
    let dims = x.tensor.dims();
    let (n, c) = (dims[0], dims[1]);
    let spatial: usize = dims[2..].iter().product();
    // [N, C, S] then reduce S.
    let t = match x.tensor.reshape(&[n, c, spatial]) {
        Dyn::R3(t) => t,
        _ => unreachable!("rank-3 reshape"),
    };
    let pooled = match config.kind {
        PoolKind::Average => t.mean_dim(2),
        PoolKind::Max => t.max_dim(2),
    };
    if config.keepdims {
        let mut shape = vec![n, c];
        shape.extend(std::iter::repeat_n(1, rank - 2));
        Value::with_perm(Dyn::R3(pooled).reshape(&shape), perm)
    } else {
        Value::logical(Dyn::R3(pooled).reshape(&[n, c]))
    }
}

pub fn zero_padding(config: &ZeroPaddingConfig, x: Value) -> Value {
    let rank = x.rank();
    let (t, perm) = to_nchw(x, config.data_format);
    let pads = match config.padding.as_slice() {
        [w] => [(0, 0), *w],
        [h, w] => [*h, *w],
        _ => panic!(
            "zero padding of {} axes is not supported",
            config.padding.len()
        ),
    };
    let y = t.pad(&pads[..], PadMode::Constant(0.0));
    from_nchw(y, rank, perm)
}

pub fn cropping(config: &CroppingConfig, x: Value) -> Value {
    let rank = x.rank();
    let (t, perm) = to_nchw(x, config.data_format);
    let crops = match config.cropping.as_slice() {
        [w] => [(0, 0), *w],
        [h, w] => [*h, *w],
        _ => panic!(
            "cropping of {} axes is not supported",
            config.cropping.len()
        ),
    };
    let [_, _, h, w] = t.dims();
    let y = t.narrow(2, crops[0].0, h - crops[0].0 - crops[0].1).narrow(
        3,
        crops[1].0,
        w - crops[1].0 - crops[1].1,
    );
    from_nchw(y, rank, perm)
}

pub fn upsampling(config: &UpSamplingConfig, x: Value) -> Value {
    let rank = x.rank();
    let (t, perm) = to_nchw(x, config.data_format);
    let [n, c, h, w] = t.dims();
    let factors = window(&config.size);
    let y = match config.interpolation {
        // Integer nearest upsampling repeats each cell: expand a unit axis after each spatial one.
        Interpolation::Nearest => t
            .reshape([n * c, h, 1, w])
            .repeat_dim(2, factors[0])
            .reshape([n * c, h * factors[0], w, 1])
            .repeat_dim(3, factors[1])
            .reshape([n, c, h * factors[0], w * factors[1]]),
        // TensorFlow's resize: half-pixel centres, no corner alignment.
        Interpolation::Bilinear => interpolate(
            t,
            InterpolateOptions::new(InterpolateMode::Bilinear)
                .with_align_corners(false)
                .with_output_size([h * factors[0], w * factors[1]]),
        ),
    };
    from_nchw(y, rank, perm)
}
