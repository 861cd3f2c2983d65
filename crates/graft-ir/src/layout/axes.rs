//! Axis bookkeeping of the layout pass: which ops are spatial, where an axis goes when a value's
//! channel axis moves, and the axis-carrying activations.

use crate::op::{Activation, DataFormat, Op};
use crate::shape::normalize_axis;

pub(super) fn other(f: DataFormat) -> DataFormat {
    match f {
        DataFormat::ChannelsFirst => DataFormat::ChannelsLast,
        DataFormat::ChannelsLast => DataFormat::ChannelsFirst,
    }
}

/// The data format of a spatial op.
pub(super) fn spatial_format(op: &Op) -> Option<DataFormat> {
    match op {
        Op::Conv(c) => Some(c.data_format),
        Op::DepthwiseConv(c) => Some(c.data_format),
        Op::SeparableConv(c) => Some(c.data_format),
        Op::ConvTranspose(c) => Some(c.data_format),
        Op::Pool(c) => Some(c.data_format),
        Op::GlobalPool(c) => Some(c.data_format),
        Op::ZeroPadding(c) => Some(c.data_format),
        Op::Cropping(c) => Some(c.data_format),
        Op::UpSampling(c) => Some(c.data_format),
        Op::Lrn(c) => Some(c.data_format),
        Op::Preprocessing(c) => Some(c.data_format),
        _ => None,
    }
}

pub(super) fn set_format(op: &mut Op, f: DataFormat) {
    match op {
        Op::Conv(c) => c.data_format = f,
        Op::DepthwiseConv(c) => c.data_format = f,
        Op::SeparableConv(c) => c.data_format = f,
        Op::ConvTranspose(c) => c.data_format = f,
        Op::Pool(c) => c.data_format = f,
        Op::GlobalPool(c) => c.data_format = f,
        Op::ZeroPadding(c) => c.data_format = f,
        Op::Cropping(c) => c.data_format = f,
        Op::UpSampling(c) => c.data_format = f,
        Op::Lrn(c) => c.data_format = f,
        Op::Preprocessing(c) => c.data_format = f,
        _ => {}
    }
}

/// `old -> new` axis numbering when a rank-`r` value is moved from `from` to the other format.
pub(super) fn move_axis(a: usize, r: usize, from: DataFormat) -> usize {
    match from {
        DataFormat::ChannelsLast => match a {
            0 => 0,
            a if a == r - 1 => 1,
            a => a + 1,
        },
        DataFormat::ChannelsFirst => match a {
            0 => 0,
            1 => r - 1,
            a => a - 1,
        },
    }
}

/// The full permutation (numpy `transpose`) that moves a rank-`r` value out of `from`.
pub(super) fn move_perm(r: usize, from: DataFormat) -> Vec<usize> {
    let mut p = vec![0; r];
    for (a, _) in p.clone().iter().enumerate() {
        p[move_axis(a, r, from)] = a;
    }
    p
}

pub(super) fn inverse(p: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; p.len()];
    for (i, &x) in p.iter().enumerate() {
        inv[x] = i;
    }
    inv
}

pub(super) fn remap_axis(axis: i64, r: usize, from: DataFormat) -> i64 {
    match normalize_axis(axis, r) {
        Some(a) => move_axis(a, r, from) as i64,
        None => axis,
    }
}

pub(super) fn remap_activation(a: &mut Activation, r: usize, from: DataFormat) {
    match a {
        Activation::Softmax { axis }
        | Activation::LogSoftmax { axis }
        | Activation::Glu { axis }
        | Activation::Sparsemax { axis } => *axis = remap_axis(*axis, r, from),
        _ => {}
    }
}

pub(super) fn activation_has_axis(a: &Activation) -> bool {
    matches!(
        a,
        Activation::Softmax { .. }
            | Activation::LogSoftmax { .. }
            | Activation::Glu { .. }
            | Activation::Sparsemax { .. }
    )
}

pub(super) fn fused_activation_mut(op: &mut Op) -> Option<&mut Activation> {
    match op {
        Op::Conv(c) => Some(&mut c.activation),
        Op::DepthwiseConv(c) => Some(&mut c.activation),
        Op::SeparableConv(c) => Some(&mut c.activation),
        Op::ConvTranspose(c) => Some(&mut c.activation),
        _ => None,
    }
}
