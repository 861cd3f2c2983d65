//! Activation functions on values of any rank and layout.

use burn::tensor::{Tensor, activation as act};
use graft_ir::{Activation, normalize_axis};

use crate::value::{Value, map_dyn};

/// Applies `a` to a value. Element-wise functions ignore the layout; softmax maps its logical
/// axis to the physical one.
pub fn activate(v: Value, a: &Activation) -> Value {
    if a.is_linear() {
        return v;
    }
    let axis = |axis: i64| {
        let logical = normalize_axis(axis, v.rank()).unwrap_or(v.rank() - 1);
        v.physical_axis(logical)
    };
    let f = match a {
        Activation::Softmax { axis: ax }
        | Activation::LogSoftmax { axis: ax }
        | Activation::Glu { axis: ax }
        | Activation::Sparsemax { axis: ax } => Some(axis(*ax)),
        _ => None,
    };
    let perm = v.perm;
    let tensor = map_dyn!(v.tensor, x => elementwise(x, a, f.unwrap_or(0)));
    Value::with_perm(tensor, perm)
}

/// Applies `f` to every element of a plain (non-autodiff) f32 tensor, in place and on all
/// cores; any other tensor goes to burn's `op`. burn's Flex backend runs ReLU and
/// clamp one element at a time on one core, a tenth of a MobileNetV2 forward pass. `f` must be
/// the exact function burn computes (same NaN and signed-zero results): the feature cache runs
/// this path and the uncached (autodiff) path runs burn's, and the two must agree bit for bit.
/// `f` is generic, not a `fn` pointer, so that it inlines and the loop vectorises.
fn in_place<const D: usize>(
    x: Tensor<D>,
    f: impl Fn(f32) -> f32 + Sync,
    op: impl FnOnce(Tensor<D>) -> Tensor<D>,
) -> Tensor<D> {
    use rayon::prelude::*;
    if x.is_autodiff() || x.dtype() != burn::tensor::DType::F32 {
        return op(x);
    }
    let device = x.device();
    let mut data = x.into_data();
    let values = data.as_mut_slice::<f32>().expect("an f32 tensor");
    // Chunks of 64 KiB: small enough to share out, large enough for rayon's overhead.
    values
        .par_chunks_mut(1 << 14)
        .for_each(|chunk| chunk.iter_mut().for_each(|v| *v = f(*v)));
    Tensor::from_data(data, &device)
}

/// Sparsemax along `dim` (the reference algorithm Keras uses: sort, cumulative sums, support).
fn sparsemax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let n = x.dims()[dim];
    let sorted = x.clone().sort_descending(dim);
    let cumsum = sorted.clone().cumsum(dim);
    let mut r_shape = [1usize; D];
    r_shape[dim] = n;
    let ranks: Vec<f32> = (1..=n).map(|i| i as f32).collect();
    let r = Tensor::<1>::from_floats(ranks.as_slice(), &x.device()).reshape(r_shape);
    // support: sorted - (cumsum - 1) / r > 0
    let support = sorted
        .sub(cumsum.clone().sub_scalar(1.0).div(r))
        .greater_elem(0.0);
    let k = support.clone().float().sum_dim(dim);
    let cumsum_safe = cumsum.mask_fill(support.bool_not(), 0.0);
    let tau = cumsum_safe.sum_dim(dim).sub_scalar(1.0).div(k);
    x.sub(tau).clamp_min(0.0)
}

fn elementwise<const D: usize>(x: Tensor<D>, a: &Activation, softmax_dim: usize) -> Tensor<D> {
    match *a {
        Activation::Linear => x,
        Activation::Relu => in_place(
            x,
            |v| if v.is_nan() || v > 0.0 { v } else { 0.0 },
            act::relu,
        ),
        // relu, then clamp_max: under autodiff burn has a native ReLU but builds clamp out of
        // two compare-and-fill passes each way, and this halves them (ReLU6 was a fifth of a
        // MobileNetV2 fine-tuning step). The plain path computes the same values bit for bit.
        Activation::Relu6 => in_place(
            x,
            |v| {
                let r = if v.is_nan() || v > 0.0 { v } else { 0.0 };
                if r > 6.0 { 6.0 } else { r }
            },
            |x| act::relu(x).clamp_max(6.0),
        ),
        Activation::LeakyRelu { negative_slope } => act::leaky_relu(x, negative_slope as f64),
        Activation::ClippedRelu {
            max_value,
            negative_slope,
            threshold,
        } => {
            // Keras' ReLU layer: max_value above, x on [threshold, max), slope*(x - t) below.
            let below = x.clone().lower_elem(threshold);
            let low = x.clone().sub_scalar(threshold).mul_scalar(negative_slope);
            let y = x.mask_where(below, low);
            match max_value {
                Some(m) => y.clamp_max(m),
                None => y,
            }
        }
        Activation::Elu { alpha } => act::elu(x, alpha as f64),
        Activation::Selu => act::selu(x),
        Activation::Gelu { approximate: false } => act::gelu(x),
        Activation::Gelu { approximate: true } => act::gelu_approximate(x),
        Activation::Swish => act::silu(x),
        Activation::HardSigmoid { alpha, beta } => act::hard_sigmoid(x, alpha as f64, beta as f64),
        Activation::HardSwish => act::hard_swish(x),
        Activation::Sigmoid => act::sigmoid(x),
        Activation::Tanh => act::tanh(x),
        Activation::Softmax { .. } => act::softmax(x, softmax_dim),
        Activation::LogSoftmax { .. } => act::log_softmax(x, softmax_dim),
        Activation::Softplus => act::softplus(x, 1.0),
        Activation::Softsign => act::softsign(x),
        Activation::Exponential => x.exp(),
        Activation::Mish => act::mish(x),
        Activation::Celu { alpha } => {
            let a = alpha as f64;
            // max(x, 0) + alpha * expm1(min(x, 0) / alpha)
            x.clone().clamp_min(0.0).add(
                x.clamp_max(0.0)
                    .div_scalar(a)
                    .exp()
                    .sub_scalar(1.0)
                    .mul_scalar(a),
            )
        }
        Activation::Glu { .. } => {
            let n = x.dims()[softmax_dim];
            let a = x.clone().narrow(softmax_dim, 0, n / 2);
            let b = x.narrow(softmax_dim, n / 2, n / 2);
            a.mul(act::sigmoid(b))
        }
        Activation::HardShrink { threshold } => {
            let keep = x.clone().abs().greater_elem(threshold);
            x.mask_fill(keep.bool_not(), 0.0)
        }
        Activation::HardTanh => x.clamp(-1.0, 1.0),
        Activation::LogSigmoid => act::log_sigmoid(x),
        Activation::SoftShrink { threshold } => {
            let t = threshold;
            let above = x.clone().greater_elem(t);
            let below = x.clone().lower_elem(-t);
            let zero = x.zeros_like();
            zero.mask_where(above, x.clone().sub_scalar(t))
                .mask_where(below, x.add_scalar(t))
        }
        Activation::SparsePlus => {
            let low = x.clone().lower_equal_elem(-1.0);
            let high = x.clone().greater_equal_elem(1.0);
            let mid = x.clone().add_scalar(1.0).square().mul_scalar(0.25);
            mid.mask_where(high, x.clone()).mask_fill(low, 0.0)
        }
        Activation::SparseSigmoid => x.add_scalar(1.0).mul_scalar(0.5).clamp(0.0, 1.0),
        Activation::Sparsemax { .. } => sparsemax(x, softmax_dim),
        Activation::Squareplus { b } => x
            .clone()
            .add(x.square().add_scalar(b).sqrt())
            .mul_scalar(0.5),
        Activation::TanhShrink => x.clone().sub(x.tanh()),
    }
}
