//! Ops that rearrange values: flatten, reshape, permute, repeat, concatenate. All but
//! concatenate work in logical order (that is what makes Keras' flatten order exact).

use graft_ir::{DataFormat, FlattenConfig, PermuteConfig, ReshapeConfig, normalize_axis};

use crate::value::{Dyn, Value};

pub fn flatten(config: &FlattenConfig, x: Value) -> Value {
    let rank = x.rank();
    let x = if config.data_format == DataFormat::ChannelsFirst && rank > 2 {
        // Keras: channels_first flattens as if the channels were last.
        let mut perm = vec![0];
        perm.extend(2..rank);
        perm.push(1);
        Value::logical(x.into_logical().permute(&perm))
    } else {
        x
    };
    let dims = x.logical_dims();
    let n = dims[0];
    let rest: usize = dims[1..].iter().product();
    Value::logical(x.into_logical().reshape(&[n, rest]))
}

pub fn reshape(config: &ReshapeConfig, x: Value) -> Value {
    let dims = x.logical_dims();
    let n = dims[0];
    let total: usize = dims[1..].iter().product();
    let known: usize = config
        .target_shape
        .iter()
        .filter(|&&d| d > 0)
        .map(|&d| d as usize)
        .product();
    let mut shape = vec![n];
    shape.extend(config.target_shape.iter().map(|&d| {
        if d < 0 {
            total / known.max(1)
        } else {
            d as usize
        }
    }));
    Value::logical(x.into_logical().reshape(&shape))
}

pub fn permute(config: &PermuteConfig, x: Value) -> Value {
    Value::logical(x.into_logical().permute(&config.full_permutation()))
}

pub fn repeat_vector(n: usize, x: Value) -> Value {
    let t = x.into_logical().r2();
    let [b, f] = t.dims();
    Value::logical(Dyn::R3(t.reshape([b, 1, f]).repeat_dim(1, n)))
}

pub fn concatenate(axis: i64, inputs: Vec<Value>) -> Value {
    let rank = inputs[0].rank();
    let logical = normalize_axis(axis, rank).expect("checked by shape inference");
    let perm = inputs[0].perm.clone();
    let physical = inputs[0].physical_axis(logical);
    let tensors: Vec<Dyn> = inputs
        .into_iter()
        .map(|v| v.to_perm(&perm).tensor)
        .collect();
    macro_rules! cat {
        ($variant:ident) => {{
            let parts = tensors
                .into_iter()
                .map(|t| match t {
                    Dyn::$variant(t) => t,
                    _ => unreachable!("same rank"),
                })
                .collect::<Vec<_>>();
            Dyn::$variant(burn::tensor::Tensor::cat(parts, physical))
        }};
    }
    let out = match rank {
        1 => cat!(R1),
        2 => cat!(R2),
        3 => cat!(R3),
        4 => cat!(R4),
        _ => cat!(R5),
    };
    Value::with_perm(out, perm)
}
