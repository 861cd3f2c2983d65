//! Spatial ops: convolutions (grouped, depthwise as grouped, separable as two), transposed
//! convolutions, pooling, padding, cropping, upsampling, LRN. Explicit pads wherever the
//! spatial sizes are known.

use graft_ir::{Activation, DataFormat, Interpolation, Op, PoolKind};

use super::{Cx, activation, ints, pads};
use crate::write::builder::A;

fn channels_first(f: DataFormat) -> Result<(), String> {
    if f == DataFormat::ChannelsFirst {
        Ok(())
    } else {
        Err("is channels-last; the layout pass should have converted it".into())
    }
}

/// The layer's main node (named after the layer), then its fused activation.
fn fused(
    cx: &mut Cx,
    op: &str,
    inputs: &[&str],
    attrs: Vec<(&str, A)>,
    act: &Activation,
) -> Result<(), String> {
    if act.is_linear() {
        cx.emit(op, inputs, attrs);
        return Ok(());
    }
    let name = cx.name().to_string();
    let pre = cx.b.fresh(&format!("{name}/preactivation"));
    cx.b.node(op, &name, inputs, &pre, attrs);
    let act_name = cx.b.fresh(&format!("{name}/activation"));
    let out = cx.out.clone();
    activation::apply(cx.b, act, &pre, &out, &act_name)
}

pub(super) fn lower(cx: &mut Cx) -> Result<(), String> {
    let layer = cx.layer;
    let x = cx.input(0).to_string();
    let shape = cx.in_shapes[0].clone();
    let channels = shape.dims().get(1).copied().flatten();
    match &layer.op {
        Op::Conv(c) => {
            channels_first(c.data_format)?;
            let w = cx.weight("kernel")?;
            let mut inputs = vec![x, w];
            if c.use_bias {
                inputs.push(cx.weight("bias")?);
            }
            let mut attrs = vec![
                ("kernel_shape", ints(&c.kernel_size)),
                ("strides", ints(&c.strides)),
                ("dilations", ints(&c.dilation)),
                ("group", A::I(c.groups as i64)),
            ];
            attrs.extend(pads(
                &c.padding,
                &shape,
                &c.kernel_size,
                &c.strides,
                &c.dilation,
            ));
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            fused(cx, "Conv", &refs, attrs, &c.activation)
        }
        Op::DepthwiseConv(c) => {
            channels_first(c.data_format)?;
            let group = channels.ok_or("needs a known channel count")?;
            let w = cx.weight("depthwise_kernel")?;
            let mut inputs = vec![x, w];
            if c.use_bias {
                inputs.push(cx.weight("bias")?);
            }
            let mut attrs = vec![
                ("kernel_shape", ints(&c.kernel_size)),
                ("strides", ints(&c.strides)),
                ("dilations", ints(&c.dilation)),
                ("group", A::I(group as i64)),
            ];
            attrs.extend(pads(
                &c.padding,
                &shape,
                &c.kernel_size,
                &c.strides,
                &c.dilation,
            ));
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            fused(cx, "Conv", &refs, attrs, &c.activation)
        }
        Op::SeparableConv(c) => {
            channels_first(c.data_format)?;
            let group = channels.ok_or("needs a known channel count")?;
            let dw = cx.weight("depthwise_kernel")?;
            let pw = cx.weight("pointwise_kernel")?;
            let mut attrs = vec![
                ("kernel_shape", ints(&c.kernel_size)),
                ("strides", ints(&c.strides)),
                ("dilations", ints(&c.dilation)),
                ("group", A::I(group as i64)),
            ];
            attrs.extend(pads(
                &c.padding,
                &shape,
                &c.kernel_size,
                &c.strides,
                &c.dilation,
            ));
            let mid = cx.step("Conv", "depthwise", &[&x, &dw], attrs);
            let mut inputs = vec![mid, pw];
            if c.use_bias {
                inputs.push(cx.weight("bias")?);
            }
            let ones = vec![1; c.kernel_size.len()];
            let attrs = vec![
                ("kernel_shape", ints(&ones)),
                ("pads", A::Is(vec![0; 2 * ones.len()])),
            ];
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            fused(cx, "Conv", &refs, attrs, &c.activation)
        }
        Op::ConvTranspose(c) => {
            channels_first(c.data_format)?;
            let w = cx.weight("kernel")?;
            let mut inputs = vec![x, w];
            if c.use_bias {
                inputs.push(cx.weight("bias")?);
            }
            let n = c.kernel_size.len();
            let spatial: Option<Vec<usize>> = shape.dims()[2..].iter().copied().collect();
            let mut attrs = vec![
                ("kernel_shape", ints(&c.kernel_size)),
                ("strides", ints(&c.strides)),
                ("dilations", ints(&c.dilation)),
                ("group", A::I(c.groups as i64)),
                ("output_padding", ints(&c.output_padding)),
            ];
            match (&c.padding, spatial) {
                (graft_ir::Padding::Same, None) => attrs.push(("auto_pad", A::S("SAME_UPPER"))),
                (graft_ir::Padding::SameLower, None) => {
                    attrs.push(("auto_pad", A::S("SAME_LOWER")))
                }
                (_, spatial) => {
                    let mut p = vec![0i64; 2 * n];
                    for i in 0..n {
                        let (b, a) = c.crop(i, spatial.as_ref().map_or(1, |s| s[i]));
                        p[i] = b as i64;
                        p[i + n] = a as i64;
                    }
                    attrs.push(("pads", A::Is(p)));
                }
            }
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            fused(cx, "ConvTranspose", &refs, attrs, &c.activation)
        }
        Op::Pool(p) => {
            channels_first(p.data_format)?;
            let ones = vec![1; p.pool_size.len()];
            let mut attrs = vec![
                ("kernel_shape", ints(&p.pool_size)),
                ("strides", ints(&p.strides)),
                ("ceil_mode", A::I(i64::from(p.ceil_mode))),
            ];
            attrs.extend(pads(&p.padding, &shape, &p.pool_size, &p.strides, &ones));
            let op = match p.kind {
                PoolKind::Max => "MaxPool",
                PoolKind::Average => {
                    attrs.push(("count_include_pad", A::I(i64::from(p.count_include_pad))));
                    "AveragePool"
                }
            };
            cx.emit(op, &[&x], attrs);
            Ok(())
        }
        Op::GlobalPool(p) => {
            channels_first(p.data_format)?;
            let op = match p.kind {
                PoolKind::Max => "GlobalMaxPool",
                PoolKind::Average => "GlobalAveragePool",
            };
            if p.keepdims {
                cx.emit(op, &[&x], vec![]);
            } else {
                let pooled = cx.step(op, "pool", &[&x], vec![]);
                cx.emit("Flatten", &[&pooled], vec![("axis", A::I(1))]);
            }
            Ok(())
        }
        Op::ZeroPadding(z) => {
            channels_first(z.data_format)?;
            let n = z.padding.len();
            let mut v = vec![0i64; 2 * (n + 2)];
            for (i, &(b, a)) in z.padding.iter().enumerate() {
                v[2 + i] = b as i64;
                v[n + 4 + i] = a as i64;
            }
            let p = cx.b.ints(&format!("{}/pads", cx.name()), v);
            cx.emit("Pad", &[&x, &p], vec![("mode", A::S("constant"))]);
            Ok(())
        }
        Op::Cropping(c) => {
            channels_first(c.data_format)?;
            let spatial: Vec<usize> = shape.dims()[2..]
                .iter()
                .map(|d| d.ok_or("cropping needs known spatial sizes"))
                .collect::<Result<_, _>>()?;
            let starts: Vec<i64> = c.cropping.iter().map(|&(b, _)| b as i64).collect();
            let ends: Vec<i64> = c
                .cropping
                .iter()
                .zip(&spatial)
                .map(|(&(_, a), &n)| (n - a) as i64)
                .collect();
            let axes: Vec<i64> = (0..c.cropping.len()).map(|i| i as i64 + 2).collect();
            let name = cx.name().to_string();
            let (s, e, a) = (
                cx.b.ints(&format!("{name}/starts"), starts),
                cx.b.ints(&format!("{name}/ends"), ends),
                cx.b.ints(&format!("{name}/axes"), axes),
            );
            cx.emit("Slice", &[&x, &s, &e, &a], vec![]);
            Ok(())
        }
        Op::UpSampling(u) => {
            channels_first(u.data_format)?;
            let mut scales = vec![1.0f32, 1.0];
            scales.extend(u.size.iter().map(|&s| s as f32));
            let name = cx.name().to_string();
            let sc =
                cx.b.floats(&format!("{name}/scales"), vec![scales.len() as i64], scales);
            let attrs = match u.interpolation {
                Interpolation::Nearest => vec![
                    ("mode", A::S("nearest")),
                    ("coordinate_transformation_mode", A::S("asymmetric")),
                    ("nearest_mode", A::S("floor")),
                ],
                Interpolation::Bilinear => vec![
                    ("mode", A::S("linear")),
                    ("coordinate_transformation_mode", A::S("half_pixel")),
                ],
            };
            cx.emit("Resize", &[&x, "", &sc], attrs);
            Ok(())
        }
        Op::Lrn(l) => {
            channels_first(l.data_format)?;
            if l.size % 2 == 0 {
                // ONNX's window is centred the same way, but runtimes accept odd sizes only.
                return Err(format!(
                    "LRN size {} is even; ONNX runtimes take odd sizes",
                    l.size
                ));
            }
            cx.emit(
                "LRN",
                &[&x],
                vec![
                    ("size", A::I(l.size as i64)),
                    ("alpha", A::F(l.alpha)),
                    ("beta", A::F(l.beta)),
                    ("bias", A::F(l.bias)),
                ],
            );
            Ok(())
        }
        _ => Err("is not a spatial op".into()),
    }
}
