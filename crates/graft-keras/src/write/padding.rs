//! Explicit and `SAME_LOWER` padding (ONNX, PyTorch) in Keras' terms: `'valid'` or `'same'`
//! when that is the same padding for the input size, else a `ZeroPadding` layer named
//! `<layer>_pad` before the layer with `'valid'`. Max pooling takes that route only when its
//! input cannot be negative (Keras pads max pooling with −∞ only under `'same'`), average
//! pooling only when it counts padded cells; `ceil_mode` pooling only when it adds no partial
//! window.

use std::collections::HashSet;

use graft_ir::{
    Activation, DataFormat, Graph, Layer, Node, Op, Padding, PoolKind, Shape, ShapeMap, TensorRef,
    ZeroPaddingConfig,
};

use super::activation::dialect_name;
use super::legalize::unique;
use crate::config::Dialect;
use crate::error::Reason;

/// A padded layer Keras cannot spell as it is.
pub(crate) fn needs_fix(l: &Layer) -> bool {
    match (&l.op, window(&l.op)) {
        (Op::Pool(p), Some(w)) => {
            p.ceil_mode
                || (p.count_include_pad && !matches!(w.padding, Padding::Valid))
                || !matches!(w.padding, Padding::Valid | Padding::Same | Padding::Causal)
        }
        (_, Some(w)) => matches!(w.padding, Padding::SameLower | Padding::Explicit(_)),
        _ => false,
    }
}

/// Window geometry of a padded layer.
struct Window<'a> {
    kernel: &'a [usize],
    strides: &'a [usize],
    dilation: Vec<usize>,
    padding: &'a Padding,
    format: DataFormat,
}

fn window(op: &Op) -> Option<Window<'_>> {
    match op {
        Op::Conv(c) => Some(Window {
            kernel: &c.kernel_size,
            strides: &c.strides,
            dilation: c.dilation.clone(),
            padding: &c.padding,
            format: c.data_format,
        }),
        Op::DepthwiseConv(c) => Some(Window {
            kernel: &c.kernel_size,
            strides: &c.strides,
            dilation: c.dilation.clone(),
            padding: &c.padding,
            format: c.data_format,
        }),
        Op::SeparableConv(c) => Some(Window {
            kernel: &c.kernel_size,
            strides: &c.strides,
            dilation: c.dilation.clone(),
            padding: &c.padding,
            format: c.data_format,
        }),
        Op::Pool(p) => Some(Window {
            kernel: &p.pool_size,
            strides: &p.strides,
            dilation: vec![1; p.pool_size.len()],
            padding: &p.padding,
            format: p.data_format,
        }),
        _ => None,
    }
}

/// What a padded layer becomes.
enum Fix {
    /// The padding spelled another way (and pooling's `ceil_mode` dropped).
    Respell(Padding),
    /// A ZeroPadding layer with these pads first, then the layer with `'valid'`.
    ZeroPad(Vec<(usize, usize)>),
}

pub(crate) fn pad_layers(
    g: &mut Graph,
    dialect: Dialect,
    notes: &mut Vec<String>,
    path: &str,
    taken: &mut HashSet<String>,
) -> Result<(), Reason> {
    let needs = needs_fix;
    if !g.layers.iter().any(needs) {
        return Ok(());
    }
    let shapes = g.infer_shapes()?;
    let mut out = Vec::with_capacity(g.layers.len() + 4);
    let layers = std::mem::take(&mut g.layers);
    let snapshot = Graph {
        layers: layers.clone(),
        ..g.clone()
    };
    for mut layer in layers {
        if !needs(&layer) {
            out.push(layer);
            continue;
        }
        let refuse = |message: String| Reason::NotExpressible {
            layer: format!("{path}{}", layer.name),
            class: layer.op.type_name(),
            target: dialect_name(dialect).into(),
            message,
        };
        let fix = decide(&snapshot, &shapes, &layer).map_err(refuse)?;
        match fix {
            Fix::Respell(p) => {
                notes.push(format!(
                    "layer '{path}{}': padding {} written as '{}'",
                    layer.name,
                    describe_padding(window(&layer.op).expect("padded").padding),
                    if p == Padding::Same { "same" } else { "valid" }
                ));
                set_padding(&mut layer.op, p);
            }
            Fix::ZeroPad(pads) => {
                let format = window(&layer.op).expect("padded").format;
                let name = unique(&format!("{}_pad", layer.name), taken);
                notes.push(format!(
                    "layer '{path}{}': padding {pads:?} moved into a new ZeroPadding layer '{name}'",
                    layer.name
                ));
                let mut pad = Layer::new(
                    name.clone(),
                    Op::ZeroPadding(ZeroPaddingConfig {
                        padding: pads,
                        data_format: format,
                    }),
                );
                pad.trainable = layer.trainable;
                pad.nodes = layer
                    .nodes
                    .iter()
                    .map(|n| Node::new(n.inputs.clone()))
                    .collect();
                for (k, node) in layer.nodes.iter_mut().enumerate() {
                    node.inputs = vec![TensorRef::at(name.clone(), k, 0)];
                }
                set_padding(&mut layer.op, Padding::Valid);
                out.push(pad);
            }
        }
        out.push(layer);
    }
    g.layers = out;
    Ok(())
}

fn describe_padding(p: &Padding) -> String {
    match p {
        Padding::Explicit(p) => format!("{p:?}"),
        other => format!("{other:?}"),
    }
}

fn set_padding(op: &mut Op, padding: Padding) {
    match op {
        Op::Conv(c) => c.padding = padding,
        Op::DepthwiseConv(c) => c.padding = padding,
        Op::SeparableConv(c) => c.padding = padding,
        Op::Pool(p) => {
            p.padding = padding;
            p.ceil_mode = false;
            p.count_include_pad = false;
        }
        _ => {}
    }
}

/// The spatial input sizes of every call of a layer (None where unknown).
fn call_inputs(shapes: &ShapeMap, layer: &Layer, format: DataFormat) -> Vec<Vec<Option<usize>>> {
    layer
        .nodes
        .iter()
        .map(|n| {
            n.inputs
                .first()
                .and_then(|r| shapes.get(r))
                .map(|s: &Shape| format.spatial_dims(s))
                .unwrap_or_default()
        })
        .collect()
}

fn decide(g: &Graph, shapes: &ShapeMap, layer: &Layer) -> Result<Fix, String> {
    let w = window(&layer.op).expect("only padded layers");
    let rank = w.kernel.len();
    let calls = call_inputs(shapes, layer, w.format);
    // The (before, after) pads of every call; they must agree for one Keras layer.
    let mut pads: Option<Vec<(usize, usize)>> = None;
    let mut same_matches = true;
    for spatial in &calls {
        let mut these = Vec::with_capacity(rank);
        for axis in 0..rank {
            let input = spatial.get(axis).copied().flatten();
            let resolved = match (w.padding, input) {
                (Padding::Explicit(_) | Padding::Valid, _) => {
                    w.padding
                        .resolve(axis, 0, w.kernel[axis], w.strides[axis], w.dilation[axis])
                }
                (_, Some(n)) => {
                    w.padding
                        .resolve(axis, n, w.kernel[axis], w.strides[axis], w.dilation[axis])
                }
                (_, None) => {
                    return Err(format!(
                        "{:?} padding on an input of unknown size has no Keras spelling",
                        w.padding
                    ));
                }
            };
            let same = input.map(|n| {
                Padding::Same.resolve(axis, n, w.kernel[axis], w.strides[axis], w.dilation[axis])
            });
            same_matches &= same == Some(resolved);
            these.push(resolved);
        }
        match &pads {
            Some(p) if *p != these => {
                return Err(
                    "its calls need different padding, which one Keras layer cannot hold".into(),
                );
            }
            _ => pads = Some(these),
        }
    }
    let pads = pads.unwrap_or_default();
    let zero = pads.iter().all(|&(a, b)| a == 0 && b == 0);
    let pool = match &layer.op {
        Op::Pool(p) => Some(p),
        _ => None,
    };
    // Keras' 'same' average pooling never counts padded cells.
    let same_ok =
        same_matches && !pool.is_some_and(|p| p.count_include_pad && p.kind == PoolKind::Average);
    let fix = if zero {
        Fix::Respell(Padding::Valid)
    } else if same_ok {
        Fix::Respell(Padding::Same)
    } else {
        if let Some(p) = pool {
            match p.kind {
                PoolKind::Average if !p.count_include_pad => {
                    return Err(format!(
                        "average pooling over padding {pads:?} that excludes padded cells from the \
                         count has no Keras equivalent (Keras' 'same' pads {})",
                        if same_matches {
                            "the same way"
                        } else {
                            "differently"
                        }
                    ));
                }
                PoolKind::Max
                    if !non_negative(g, layer.nodes.first().and_then(|n| n.inputs.first())) =>
                {
                    return Err(format!(
                        "max pooling over padding {pads:?} of an input that may be negative: Keras \
                         pads max pooling with -inf only under 'same', which pads differently here"
                    ));
                }
                _ => {}
            }
        }
        if rank == 1 && w.format == DataFormat::ChannelsFirst {
            return Err(
                "explicit padding of a channels-first 1D layer has no Keras spelling".into(),
            );
        }
        Fix::ZeroPad(pads.clone())
    };
    if let Some(p) = pool
        && p.ceil_mode
    {
        // Keras rounds down; that is only the same when no window starts in the padding.
        for spatial in &calls {
            for axis in 0..rank {
                let Some(n) = spatial.get(axis).copied().flatten() else {
                    return Err(
                        "ceil_mode pooling on an input of unknown size has no Keras equivalent"
                            .into(),
                    );
                };
                let (a, b) = pads.get(axis).copied().unwrap_or((0, 0));
                let (k, s) = (w.kernel[axis], w.strides[axis]);
                let span = (n + a + b).saturating_sub(k);
                let floor = span / s + 1;
                let mut ceil = span.div_ceil(s) + 1;
                // PyTorch/ONNX: the last window must start inside the input or the leading pad.
                if (ceil - 1) * s >= n + a {
                    ceil -= 1;
                }
                if ceil != floor {
                    return Err(format!(
                        "ceil_mode pooling adds a partial window on axis {axis} (input {n}), which \
                         Keras cannot compute"
                    ));
                }
            }
        }
    }
    Ok(fix)
}

/// True when a value cannot be negative (the output of a ReLU-like function, possibly moved by
/// layers that keep values), so zero padding equals −∞ padding for a max pool.
fn non_negative(g: &Graph, r: Option<&TensorRef>) -> bool {
    let Some(mut r) = r.cloned() else {
        return false;
    };
    for _ in 0..=g.layers.len() {
        let Some(layer) = g.layer(&r.layer) else {
            return false;
        };
        let act = match &layer.op {
            Op::ReLU(c) => Some(c.activation()),
            op => op.as_activation().or_else(|| op.fused_activation()),
        };
        if let Some(a) = act {
            return match a {
                Activation::Relu
                | Activation::Relu6
                | Activation::Sigmoid
                | Activation::Softmax { .. }
                | Activation::Softplus
                | Activation::Exponential
                | Activation::HardSigmoid { .. }
                | Activation::SparsePlus
                | Activation::SparseSigmoid
                | Activation::Sparsemax { .. } => true,
                Activation::ClippedRelu {
                    negative_slope,
                    threshold,
                    ..
                } => negative_slope == 0.0 && threshold >= 0.0,
                _ => false,
            };
        }
        let keeps_sign = matches!(
            layer.op,
            Op::Pool(_)
                | Op::GlobalPool(_)
                | Op::ZeroPadding(_)
                | Op::Cropping(_)
                | Op::Dropout(_)
                | Op::Identity
                | Op::Flatten(_)
                | Op::Reshape(_)
                | Op::Permute(_)
                | Op::UpSampling(_)
        );
        match layer.nodes.get(r.node).and_then(|n| n.inputs.first()) {
            Some(next) if keeps_sign => r = next.clone(),
            _ => return false,
        }
    }
    false
}
