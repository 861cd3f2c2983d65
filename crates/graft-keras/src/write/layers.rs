//! One IR layer to a Keras layer entry: its class and `config`, family by family, in the
//! spelling of the target dialect. Nested models are assembled by `model_json`; this module
//! covers every other op and says why an op cannot be written.

use graft_ir::{
    Activation, DataFormat, Interpolation, Layer, MathOp, MergeKind, Op, Padding, PoolKind,
};
use serde_json::{Map, Value, json};

use super::activation;
use super::json::{dims, dtype_policy, f32_num, f64_num, initializer, usizes, variable_args};
use crate::config::Dialect;

/// A layer's Keras class and config.
#[derive(Clone, Debug)]
pub(crate) struct LayerJson {
    pub class_name: String,
    pub config: Map<String, Value>,
    /// A Keras 3 operation node (`x + 3.0` on symbolic tensors) rather than a layer: module
    /// `keras.src.ops.numpy`, absent from `model.layers` and from the weights files.
    pub operation: bool,
    /// Keras 3 records a `build_config` for this class in `.keras` configs.
    pub build_config: bool,
    /// Keras 3.15's legacy `.h5` loader mangles this entry unless it carries `module` (it drops
    /// multi-axis `axis` lists and resolves operation names to merge layers).
    pub module_in_h5: bool,
}

impl LayerJson {
    fn new(class_name: impl Into<String>, config: Map<String, Value>) -> Self {
        Self {
            class_name: class_name.into(),
            config,
            operation: false,
            build_config: false,
            module_in_h5: false,
        }
    }

    fn built(mut self) -> Self {
        self.build_config = true;
        self
    }
}

/// The `{"name", "trainable", "dtype"}` head every layer config starts with.
fn head(name: &str, trainable: bool, dialect: Dialect) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), name.into());
    m.insert("trainable".into(), trainable.into());
    m.insert("dtype".into(), dtype_policy(dialect));
    m
}

pub(super) fn put(m: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    m.insert(key.into(), value.into());
}

/// The Keras entry for `layer` (any op but [`Op::Model`]). `trainable` is the flag to record
/// (the effective one inside nested models). The error says why Keras cannot express the layer.
pub(crate) fn layer_json(
    layer: &Layer,
    trainable: bool,
    dialect: Dialect,
) -> Result<LayerJson, String> {
    let mut c = head(&layer.name, trainable, dialect);
    let keras3 = dialect == Dialect::Keras3;
    let json = match &layer.op {
        Op::Input(i) => {
            let mut m = Map::new();
            let shape_key = if keras3 {
                "batch_shape"
            } else {
                "batch_input_shape"
            };
            put(&mut m, shape_key, dims(i.shape.dims()));
            put(&mut m, "dtype", i.dtype.name());
            put(&mut m, "sparse", false);
            put(&mut m, "ragged", false);
            put(&mut m, "name", layer.name.as_str());
            return Ok(LayerJson::new("InputLayer", m));
        }
        Op::Dense(d) => {
            put(&mut c, "units", d.units);
            put(&mut c, "activation", fused(&d.activation, dialect)?);
            put(&mut c, "use_bias", d.use_bias);
            variable_args(
                &mut c,
                &[("kernel", "GlorotUniform"), ("bias", "Zeros")],
                !keras3,
            );
            LayerJson::new("Dense", c).built()
        }
        Op::Conv(k) => {
            let rank = spatial_rank(k.kernel_size.len(), 3, "Conv")?;
            put(&mut c, "filters", k.filters);
            put(&mut c, "kernel_size", usizes(&k.kernel_size));
            put(&mut c, "strides", usizes(&k.strides));
            put(&mut c, "padding", padding(&k.padding, rank, true)?);
            put(&mut c, "data_format", k.data_format.keras_name());
            put(&mut c, "dilation_rate", usizes(&k.dilation));
            put(&mut c, "groups", k.groups);
            put(&mut c, "activation", fused(&k.activation, dialect)?);
            put(&mut c, "use_bias", k.use_bias);
            variable_args(
                &mut c,
                &[("kernel", "GlorotUniform"), ("bias", "Zeros")],
                true,
            );
            LayerJson::new(format!("Conv{rank}D"), c).built()
        }
        Op::DepthwiseConv(k) => {
            let rank = spatial_rank(k.kernel_size.len(), 2, "DepthwiseConv")?;
            put(&mut c, "depth_multiplier", k.depth_multiplier);
            put(&mut c, "kernel_size", usizes(&k.kernel_size));
            put(&mut c, "strides", usizes(&k.strides));
            put(&mut c, "padding", padding(&k.padding, rank, true)?);
            put(&mut c, "data_format", k.data_format.keras_name());
            put(&mut c, "dilation_rate", usizes(&k.dilation));
            // No `groups`: tf.keras writes `groups: 1` here, which Keras 3 rejects.
            put(&mut c, "activation", fused(&k.activation, dialect)?);
            put(&mut c, "use_bias", k.use_bias);
            variable_args(
                &mut c,
                &[("depthwise", "GlorotUniform"), ("bias", "Zeros")],
                true,
            );
            LayerJson::new(format!("DepthwiseConv{rank}D"), c).built()
        }
        Op::SeparableConv(k) => {
            let rank = spatial_rank(k.kernel_size.len(), 2, "SeparableConv")?;
            put(&mut c, "depth_multiplier", k.depth_multiplier);
            put(&mut c, "filters", k.filters);
            put(&mut c, "kernel_size", usizes(&k.kernel_size));
            put(&mut c, "strides", usizes(&k.strides));
            put(&mut c, "padding", padding(&k.padding, rank, true)?);
            put(&mut c, "data_format", k.data_format.keras_name());
            put(&mut c, "dilation_rate", usizes(&k.dilation));
            put(&mut c, "activation", fused(&k.activation, dialect)?);
            put(&mut c, "use_bias", k.use_bias);
            variable_args(
                &mut c,
                &[
                    ("depthwise", "GlorotUniform"),
                    ("pointwise", "GlorotUniform"),
                    ("bias", "Zeros"),
                ],
                true,
            );
            LayerJson::new(format!("SeparableConv{rank}D"), c).built()
        }
        Op::BatchNorm(b) => {
            // Keras 3 writes an integer axis, tf.keras a list of one.
            let axis = if keras3 {
                json!(b.axis)
            } else {
                json!([b.axis])
            };
            put(&mut c, "axis", axis);
            put(&mut c, "momentum", f64_num(b.momentum));
            put(&mut c, "epsilon", f64_num(b.epsilon));
            put(&mut c, "center", b.center);
            put(&mut c, "scale", b.scale);
            // (JSON objects here are key-sorted; Keras reads them in any order.)
            variable_args(&mut c, &[("beta", "Zeros"), ("gamma", "Ones")], false);
            c.insert("moving_mean_initializer".into(), initializer("Zeros"));
            c.insert("moving_variance_initializer".into(), initializer("Ones"));
            if keras3 {
                put(&mut c, "synchronized", false);
            }
            LayerJson::new("BatchNormalization", c).built()
        }
        Op::LayerNorm(n) => {
            if n.rms_scaling && !keras3 {
                return Err("rms_scaling=True exists only in Keras 3's LayerNormalization".into());
            }
            put(&mut c, "axis", json!(n.axes));
            put(&mut c, "epsilon", f64_num(n.epsilon));
            put(&mut c, "center", n.center);
            put(&mut c, "scale", n.scale);
            if n.rms_scaling {
                put(&mut c, "rms_scaling", true);
            }
            variable_args(&mut c, &[("beta", "Zeros"), ("gamma", "Ones")], false);
            let mut j = LayerJson::new("LayerNormalization", c).built();
            j.module_in_h5 = n.axes.len() > 1;
            j
        }
        Op::Normalization(n) => {
            put(
                &mut c,
                "axis",
                if n.axes.is_empty() {
                    Value::Null
                } else {
                    json!(n.axes)
                },
            );
            put(&mut c, "invert", n.invert);
            for (key, values) in [("mean", &n.mean), ("variance", &n.variance)] {
                if let Some(v) = values {
                    put(&mut c, key, f32_values(v));
                }
            }
            let mut j = LayerJson::new("Normalization", c).built();
            j.module_in_h5 = n.axes.len() > 1;
            j
        }
        Op::Activation(a) => match activation::name(a, dialect) {
            Some(n) => {
                put(&mut c, "activation", n);
                LayerJson::new("Activation", c)
            }
            None => match *a {
                // Functions Keras names only as layers.
                Activation::LeakyRelu { negative_slope } => leaky_relu(c, negative_slope, dialect),
                Activation::Elu { alpha } => {
                    put(&mut c, "alpha", f32_num(alpha));
                    LayerJson::new("ELU", c)
                }
                Activation::Softmax { axis } => {
                    put(&mut c, "axis", axis);
                    LayerJson::new("Softmax", c)
                }
                Activation::ClippedRelu {
                    max_value,
                    negative_slope,
                    threshold,
                } => relu(c, max_value, negative_slope, threshold),
                _ => return Err(activation::why_unnamed(a, dialect)),
            },
        },
        Op::ReLU(r) => relu(c, r.max_value, r.negative_slope, r.threshold),
        Op::LeakyReLU { negative_slope } => leaky_relu(c, *negative_slope, dialect),
        Op::ELU { alpha } => {
            put(&mut c, "alpha", f32_num(*alpha));
            LayerJson::new("ELU", c)
        }
        Op::Softmax { axis } => {
            put(&mut c, "axis", *axis);
            LayerJson::new("Softmax", c)
        }
        Op::Pool(p) => {
            let rank = spatial_rank(p.pool_size.len(), 3, "Pooling")?;
            if p.ceil_mode {
                return Err("ceil_mode pooling has no Keras equivalent".into());
            }
            let padded = !matches!(p.padding, Padding::Valid);
            if p.count_include_pad && padded && p.kind == PoolKind::Average {
                return Err(
                    "average pooling that counts padded cells has no Keras equivalent".into(),
                );
            }
            put(&mut c, "pool_size", usizes(&p.pool_size));
            put(&mut c, "padding", padding(&p.padding, rank, false)?);
            put(&mut c, "strides", usizes(&p.strides));
            put(&mut c, "data_format", p.data_format.keras_name());
            let kind = match p.kind {
                PoolKind::Max => "MaxPooling",
                PoolKind::Average => "AveragePooling",
            };
            LayerJson::new(format!("{kind}{rank}D"), c)
        }
        Op::GlobalPool(p) => {
            let rank = spatial_rank(p.rank, 3, "GlobalPooling")?;
            put(&mut c, "data_format", p.data_format.keras_name());
            put(&mut c, "keepdims", p.keepdims);
            let kind = match p.kind {
                PoolKind::Max => "GlobalMaxPooling",
                PoolKind::Average => "GlobalAveragePooling",
            };
            LayerJson::new(format!("{kind}{rank}D"), c)
        }
        Op::ZeroPadding(z) => {
            let rank = spatial_rank(z.padding.len(), 3, "ZeroPadding")?;
            put(&mut c, "padding", pairs(&z.padding));
            spatial_format(&mut c, rank, z.data_format)?;
            LayerJson::new(format!("ZeroPadding{rank}D"), c).built()
        }
        Op::Cropping(z) => {
            let rank = spatial_rank(z.cropping.len(), 3, "Cropping")?;
            put(&mut c, "cropping", pairs(&z.cropping));
            spatial_format(&mut c, rank, z.data_format)?;
            LayerJson::new(format!("Cropping{rank}D"), c).built()
        }
        Op::UpSampling(u) => {
            let rank = spatial_rank(u.size.len(), 3, "UpSampling")?;
            if rank == 1 {
                put(&mut c, "size", u.size[0]);
            } else {
                put(&mut c, "size", usizes(&u.size));
            }
            spatial_format(&mut c, rank, u.data_format)?;
            match (rank, u.interpolation) {
                (2, i) => put(
                    &mut c,
                    "interpolation",
                    match i {
                        Interpolation::Nearest => "nearest",
                        Interpolation::Bilinear => "bilinear",
                    },
                ),
                (_, Interpolation::Nearest) => {}
                (_, Interpolation::Bilinear) => {
                    return Err(format!(
                        "UpSampling{rank}D repeats values; only UpSampling2D interpolates"
                    ));
                }
            }
            LayerJson::new(format!("UpSampling{rank}D"), c).built()
        }
        Op::Flatten(f) => {
            put(&mut c, "data_format", f.data_format.keras_name());
            LayerJson::new("Flatten", c).built()
        }
        Op::Reshape(r) => {
            put(&mut c, "target_shape", json!(r.target_shape));
            LayerJson::new("Reshape", c)
        }
        Op::Permute(p) => {
            put(&mut c, "dims", usizes(&p.dims));
            LayerJson::new("Permute", c).built()
        }
        Op::RepeatVector { n } => {
            put(&mut c, "n", *n);
            LayerJson::new("RepeatVector", c).built()
        }
        Op::Dropout(d) => {
            put(&mut c, "rate", f32_num(d.rate));
            put(
                &mut c,
                "noise_shape",
                d.noise_shape.as_ref().map_or(Value::Null, |s| dims(s)),
            );
            put(&mut c, "seed", d.seed.map_or(Value::Null, Value::from));
            LayerJson::new("Dropout", c)
        }
        Op::Merge(kind) => {
            let class = match kind {
                MergeKind::Add => "Add",
                MergeKind::Subtract => "Subtract",
                MergeKind::Multiply => "Multiply",
                MergeKind::Average => "Average",
                MergeKind::Maximum => "Maximum",
                MergeKind::Minimum => "Minimum",
            };
            LayerJson::new(class, c).built()
        }
        Op::Concatenate { axis } => {
            put(&mut c, "axis", *axis);
            LayerJson::new("Concatenate", c).built()
        }
        Op::Math(m) => {
            if m.scalar.is_some_and(|s| !s.is_finite()) {
                return Err(format!(
                    "the constant operand {:?} is not finite, which a Keras config cannot hold",
                    m.scalar
                ));
            }
            return Ok(math(layer, m.op, trainable, dialect));
        }
        Op::Rescaling(r) => {
            put(&mut c, "scale", f32_values(&r.scale));
            put(&mut c, "offset", f32_values(&r.offset));
            LayerJson::new("Rescaling", c).built()
        }
        Op::Embedding(e) => {
            put(&mut c, "input_dim", e.input_dim);
            put(&mut c, "output_dim", e.output_dim);
            c.insert(
                "embeddings_initializer".into(),
                initializer("RandomUniform"),
            );
            put(&mut c, "embeddings_regularizer", Value::Null);
            put(&mut c, "activity_regularizer", Value::Null);
            put(&mut c, "embeddings_constraint", Value::Null);
            put(&mut c, "mask_zero", false);
            if !keras3 {
                put(&mut c, "input_length", Value::Null);
            }
            LayerJson::new("Embedding", c).built()
        }
        Op::Identity => LayerJson::new("Identity", c),
        Op::Preprocessing(p) => {
            super::preprocessing_json::preprocessing(&mut c, p, keras3)?;
            LayerJson::new(p.type_name(), c).built()
        }
        Op::Model(_) => unreachable!("nested models are written by model_json"),
        #[allow(unreachable_patterns)]
        other => {
            return Err(format!(
                "graft has no Keras spelling for {} (no Keras layer computes it, or the writer \
                 does not map it yet)",
                other.type_name()
            ));
        }
    };
    Ok(json)
}

/// Keras' name for a fused activation (`Dense(activation=...)`).
fn fused(a: &Activation, dialect: Dialect) -> Result<&'static str, String> {
    activation::name(a, dialect).ok_or_else(|| {
        format!(
            "fused activation: {}; only an activation layer could express it",
            activation::why_unnamed(a, dialect)
        )
    })
}

fn relu(mut c: Map<String, Value>, max: Option<f32>, slope: f32, threshold: f32) -> LayerJson {
    put(&mut c, "max_value", max.map_or(Value::Null, f32_num));
    put(&mut c, "negative_slope", f32_num(slope));
    put(&mut c, "threshold", f32_num(threshold));
    LayerJson::new("ReLU", c)
}

fn leaky_relu(mut c: Map<String, Value>, slope: f32, dialect: Dialect) -> LayerJson {
    let key = match dialect {
        Dialect::Keras3 => "negative_slope",
        Dialect::TfKeras2 => "alpha",
    };
    put(&mut c, key, f32_num(slope));
    LayerJson::new("LeakyReLU", c)
}

/// `x + 3.0`: a Keras 3 operation node or a tf.keras `TFOpLambda` layer. The operands live in
/// the call (see `model_json`).
fn math(layer: &Layer, op: MathOp, trainable: bool, dialect: Dialect) -> LayerJson {
    match dialect {
        Dialect::Keras3 => {
            let class = match op {
                MathOp::Add => "Add",
                MathOp::Subtract => "Subtract",
                MathOp::Multiply => "Multiply",
                MathOp::Divide => "TrueDivide",
                MathOp::Maximum => "Maximum",
                MathOp::Minimum => "Minimum",
                MathOp::Power => "Power",
            };
            let mut c = Map::new();
            put(&mut c, "name", layer.name.as_str());
            let mut j = LayerJson::new(class, c);
            j.operation = true;
            j.module_in_h5 = true;
            j
        }
        Dialect::TfKeras2 => {
            let function = match op {
                MathOp::Add => "__operators__.add",
                MathOp::Subtract => "math.subtract",
                MathOp::Multiply => "math.multiply",
                MathOp::Divide => "math.truediv",
                MathOp::Maximum => "math.maximum",
                MathOp::Minimum => "math.minimum",
                MathOp::Power => "math.pow",
            };
            let mut c = head(&layer.name, trainable, dialect);
            put(&mut c, "function", function);
            LayerJson::new("TFOpLambda", c)
        }
    }
}

/// One value as a number, several as a list (Rescaling, Normalization).
fn f32_values(v: &[f32]) -> Value {
    match v {
        [x] => f32_num(*x),
        _ => Value::Array(v.iter().map(|&x| f32_num(x)).collect()),
    }
}

/// `[[before, after], ...]`; Keras' 1D layers take one `[before, after]`.
fn pairs(p: &[(usize, usize)]) -> Value {
    match p {
        [(a, b)] => json!([a, b]),
        _ => Value::Array(p.iter().map(|(a, b)| json!([a, b])).collect()),
    }
}

/// `data_format` for 2D/3D layers; Keras' 1D padding, cropping and upsampling layers have none
/// and work on channels-last values only.
fn spatial_format(c: &mut Map<String, Value>, rank: usize, f: DataFormat) -> Result<(), String> {
    if rank > 1 {
        put(c, "data_format", f.keras_name());
    } else if f == DataFormat::ChannelsFirst {
        return Err(
            "Keras' 1D padding, cropping and upsampling layers are channels-last only".into(),
        );
    }
    Ok(())
}

fn spatial_rank(rank: usize, max: usize, family: &str) -> Result<usize, String> {
    if (1..=max).contains(&rank) {
        Ok(rank)
    } else {
        Err(format!(
            "Keras' {family} layers have 1 to {max} spatial axes, this one has {rank}"
        ))
    }
}

/// Keras' `padding` string. Explicit and `SAME_LOWER` padding are rewritten before this point
/// (`legalize`), so reaching them here means the rewrite could not apply.
fn padding(p: &Padding, rank: usize, conv: bool) -> Result<&'static str, String> {
    match p {
        Padding::Valid => Ok("valid"),
        Padding::Same => Ok("same"),
        Padding::Causal if conv && rank == 1 => Ok("causal"),
        Padding::Causal => Err("causal padding exists only for 1D convolutions".into()),
        Padding::SameLower => Err(
            "SAME_LOWER padding (the odd cell before) has no Keras spelling; \
             it needs a known input size to be written as explicit padding"
                .into(),
        ),
        Padding::Explicit(p) => Err(format!(
            "explicit padding {p:?} has no Keras spelling and could not be moved into a \
             ZeroPadding layer"
        )),
    }
}
