//! One Keras layer config to one IR op, family by family.

use graft_ir::{
    BatchNormConfig, ConvConfig, CroppingConfig, DenseConfig, DepthwiseConvConfig, DropoutConfig,
    EmbeddingConfig, FlattenConfig, GlobalPoolConfig, Interpolation, LayerNormConfig, MathConfig,
    MathOp, MergeKind, NormalizationConfig, Op, PermuteConfig, PoolConfig, PoolKind, ReluConfig,
    RescalingConfig, ReshapeConfig, SeparableConvConfig, UpSamplingConfig, ZeroPaddingConfig,
};

use super::dialect::{Call, Dialect};
use super::fields::Fields;

/// Why a layer could not be mapped.
pub enum LayerError {
    /// The class is known but its config is not usable.
    Config(String),
    /// A Lambda layer (Python bytecode).
    Lambda,
    /// A class graft does not know, with an optional hint.
    Unknown(String),
}

impl From<String> for LayerError {
    fn from(s: String) -> Self {
        LayerError::Config(s)
    }
}

/// The op a layer of `class` with config `cfg` computes. `calls` are its recorded calls (needed
/// by expression layers whose constants live in the call, not the config).
pub fn layer_op(
    class: &str,
    module: Option<&str>,
    cfg: &Fields,
    dialect: Dialect,
    calls: &[Call],
) -> Result<Op, LayerError> {
    if is_keras3_operation(class, module, dialect, calls) {
        return keras3_operation(class, calls);
    }
    let rank_of = |prefix: &str| -> Option<usize> {
        class
            .strip_prefix(prefix)?
            .strip_suffix('D')?
            .parse::<usize>()
            .ok()
    };
    let op = match class {
        "Dense" => Op::Dense(DenseConfig {
            units: cfg.usize("units")?,
            use_bias: cfg.bool_or("use_bias", true)?,
            activation: cfg.activation(dialect)?,
        }),
        "Conv1D" | "Conv2D" | "Conv3D" | "Convolution1D" | "Convolution2D" | "Convolution3D" => {
            let rank = rank_of("Conv")
                .or_else(|| rank_of("Convolution"))
                .unwrap_or(2);
            conv(cfg, rank, dialect)?
        }
        "DepthwiseConv1D" | "DepthwiseConv2D" => {
            let rank = rank_of("DepthwiseConv").unwrap_or(2);
            Op::DepthwiseConv(DepthwiseConvConfig {
                depth_multiplier: cfg.usize_or("depth_multiplier", 1)?,
                kernel_size: cfg.tuple("kernel_size", rank)?,
                strides: cfg.tuple_or("strides", rank, &vec![1; rank])?,
                padding: cfg.padding()?,
                dilation: cfg.tuple_or("dilation_rate", rank, &vec![1; rank])?,
                use_bias: cfg.bool_or("use_bias", true)?,
                activation: cfg.activation(dialect)?,
                data_format: cfg.data_format()?,
            })
        }
        "SeparableConv1D" | "SeparableConv2D" => {
            let rank = rank_of("SeparableConv").unwrap_or(2);
            Op::SeparableConv(SeparableConvConfig {
                filters: cfg.usize("filters")?,
                depth_multiplier: cfg.usize_or("depth_multiplier", 1)?,
                kernel_size: cfg.tuple("kernel_size", rank)?,
                strides: cfg.tuple_or("strides", rank, &vec![1; rank])?,
                padding: cfg.padding()?,
                dilation: cfg.tuple_or("dilation_rate", rank, &vec![1; rank])?,
                use_bias: cfg.bool_or("use_bias", true)?,
                activation: cfg.activation(dialect)?,
                data_format: cfg.data_format()?,
            })
        }
        "BatchNormalization" => batch_norm(cfg)?,
        "LayerNormalization" => Op::LayerNorm(LayerNormConfig {
            axes: cfg.i64_list("axis").unwrap_or_else(|_| vec![-1]),
            epsilon: cfg.f64_or("epsilon", 1e-3)?,
            center: cfg.bool_or("center", true)?,
            scale: cfg.bool_or("scale", true)?,
            rms_scaling: cfg.bool_or("rms_scaling", false)?,
        }),
        "Normalization" => Op::Normalization(NormalizationConfig {
            axes: match cfg.get("axis") {
                None => vec![],
                Some(_) => cfg.i64_list("axis")?,
            },
            invert: cfg.bool_or("invert", false)?,
            // Statistics given to the constructor live in the config, not in weights.
            mean: cfg.get("mean").map(|_| cfg.flat_f32("mean")).transpose()?,
            variance: cfg
                .get("variance")
                .map(|_| cfg.flat_f32("variance"))
                .transpose()?,
        }),
        "Activation" => Op::Activation(cfg.activation(dialect)?),
        "ReLU" => Op::ReLU(ReluConfig {
            max_value: cfg.opt_f64("max_value")?.map(|v| v as f32),
            negative_slope: cfg.f64_or("negative_slope", 0.0)? as f32,
            threshold: cfg.f64_or("threshold", 0.0)? as f32,
        }),
        "LeakyReLU" => Op::LeakyReLU {
            // Keras 3 says negative_slope, tf.keras 2 alpha; both default to 0.3.
            negative_slope: match cfg.opt_f64("negative_slope")? {
                Some(v) => v,
                None => cfg.f64_or("alpha", 0.3)?,
            } as f32,
        },
        "ELU" => Op::ELU {
            alpha: cfg.f64_or("alpha", 1.0)? as f32,
        },
        "Softmax" => Op::Softmax {
            axis: match cfg.i64_list("axis") {
                Ok(a) if a.len() == 1 => a[0],
                Ok(a) => {
                    return Err(format!("softmax over several axes {a:?} is not supported").into());
                }
                Err(_) => -1,
            },
        },
        "MaxPooling1D" | "MaxPooling2D" | "MaxPooling3D" | "MaxPool1D" | "MaxPool2D"
        | "MaxPool3D" => pool(cfg, PoolKind::Max, class)?,
        "AveragePooling1D" | "AveragePooling2D" | "AveragePooling3D" | "AvgPool1D"
        | "AvgPool2D" | "AvgPool3D" => pool(cfg, PoolKind::Average, class)?,
        "GlobalAveragePooling1D"
        | "GlobalAveragePooling2D"
        | "GlobalAveragePooling3D"
        | "GlobalAvgPool1D"
        | "GlobalAvgPool2D"
        | "GlobalAvgPool3D" => global_pool(cfg, PoolKind::Average, class)?,
        "GlobalMaxPooling1D" | "GlobalMaxPooling2D" | "GlobalMaxPooling3D" | "GlobalMaxPool1D"
        | "GlobalMaxPool2D" | "GlobalMaxPool3D" => global_pool(cfg, PoolKind::Max, class)?,
        "ZeroPadding1D" | "ZeroPadding2D" | "ZeroPadding3D" => {
            let rank = rank_of("ZeroPadding").unwrap_or(2);
            Op::ZeroPadding(ZeroPaddingConfig {
                padding: cfg.pairs("padding", rank)?,
                data_format: if rank == 1 {
                    graft_ir::DataFormat::ChannelsLast
                } else {
                    cfg.data_format()?
                },
            })
        }
        "Cropping1D" | "Cropping2D" | "Cropping3D" => {
            let rank = rank_of("Cropping").unwrap_or(2);
            Op::Cropping(CroppingConfig {
                cropping: cfg.pairs("cropping", rank)?,
                data_format: if rank == 1 {
                    graft_ir::DataFormat::ChannelsLast
                } else {
                    cfg.data_format()?
                },
            })
        }
        "UpSampling1D" | "UpSampling2D" | "UpSampling3D" => {
            let rank = rank_of("UpSampling").unwrap_or(2);
            Op::UpSampling(UpSamplingConfig {
                size: cfg.tuple_or("size", rank, &vec![2; rank])?,
                interpolation: match cfg.str_or("interpolation", "nearest")? {
                    "nearest" => Interpolation::Nearest,
                    "bilinear" => Interpolation::Bilinear,
                    other => {
                        return Err(format!("interpolation '{other}' is not supported").into());
                    }
                },
                data_format: if rank == 1 {
                    graft_ir::DataFormat::ChannelsLast
                } else {
                    cfg.data_format()?
                },
            })
        }
        "Flatten" => Op::Flatten(FlattenConfig {
            data_format: cfg.data_format()?,
        }),
        "Reshape" => Op::Reshape(ReshapeConfig {
            target_shape: cfg.i64_list("target_shape")?,
        }),
        "Permute" => Op::Permute(PermuteConfig {
            dims: cfg
                .i64_list("dims")?
                .into_iter()
                .map(|d| usize::try_from(d).map_err(|_| format!("bad dims entry {d}")))
                .collect::<Result<_, _>>()?,
        }),
        "RepeatVector" => Op::RepeatVector { n: cfg.usize("n")? },
        "Dropout" => Op::Dropout(DropoutConfig {
            rate: cfg.f64_or("rate", 0.0)? as f32,
            noise_shape: match cfg.get("noise_shape") {
                None => None,
                Some(v) => Some(
                    v.as_array()
                        .ok_or_else(|| format!("'noise_shape' must be a list, found {v}"))?
                        .iter()
                        .map(|d| d.as_u64().map(|d| d as usize))
                        .collect(),
                ),
            },
            seed: cfg.get("seed").and_then(|s| s.as_u64()),
        }),
        "SpatialDropout1D" | "SpatialDropout2D" | "SpatialDropout3D" => {
            // One mask value per (sample, channel): Keras' own definition of spatial dropout.
            let rank = rank_of("SpatialDropout").unwrap_or(2);
            if cfg.data_format().unwrap_or_default() == graft_ir::DataFormat::ChannelsFirst {
                return Err("channels_first spatial dropout is not supported"
                    .to_string()
                    .into());
            }
            let mut noise = vec![None];
            noise.extend(std::iter::repeat_n(Some(1), rank));
            noise.push(None);
            Op::Dropout(DropoutConfig {
                rate: cfg.f64_or("rate", 0.0)? as f32,
                noise_shape: Some(noise),
                seed: cfg.get("seed").and_then(|s| s.as_u64()),
            })
        }
        "Add" => Op::Merge(MergeKind::Add),
        "Subtract" => Op::Merge(MergeKind::Subtract),
        "Multiply" => Op::Merge(MergeKind::Multiply),
        "Average" => Op::Merge(MergeKind::Average),
        "Maximum" => Op::Merge(MergeKind::Maximum),
        "Minimum" => Op::Merge(MergeKind::Minimum),
        "Concatenate" => Op::Concatenate {
            axis: cfg.get("axis").and_then(|a| a.as_i64()).unwrap_or(-1),
        },
        "Rescaling" => Op::Rescaling(RescalingConfig {
            scale: cfg.f32_list("scale", 1.0)?,
            offset: cfg.f32_list("offset", 0.0)?,
        }),
        "Embedding" => Op::Embedding(EmbeddingConfig {
            input_dim: cfg.usize("input_dim")?,
            output_dim: cfg.usize("output_dim")?,
        }),
        "Identity" | "Activity Regularization" | "ActivityRegularization" => Op::Identity,
        "TFOpLambda" => tf_op_lambda(cfg, calls)?,
        "Lambda" => return Err(LayerError::Lambda),
        other => match super::preprocessing::preprocessing_op(other, cfg) {
            Some(op) => op?,
            None => return Err(LayerError::Unknown(other.to_string())),
        },
    };
    Ok(op)
}

/// Keras 3 records `x + 3.0` on symbolic tensors as operations from `keras.src.ops`, whose class
/// names (`Add`, `Multiply`) collide with the merge layers. `.keras` configs say so in `module`;
/// legacy `.h5` configs written by Keras 3 drop `module`, so the call decides: a merge layer takes
/// one list of tensors, an operation its operands one by one.
fn is_keras3_operation(
    class: &str,
    module: Option<&str>,
    dialect: Dialect,
    calls: &[Call],
) -> bool {
    if let Some(m) = module {
        return m.starts_with("keras.src.ops") || m.starts_with("keras.ops");
    }
    if dialect != Dialect::Keras3 {
        return false;
    }
    let operation_shaped = |c: &Call| !c.constants.is_empty() || c.positional >= 2;
    match class {
        "Add" | "Subtract" | "Multiply" | "Maximum" | "Minimum" => {
            calls.first().is_some_and(operation_shaped)
        }
        "Divide" | "TrueDivide" | "Power" => true,
        _ => false,
    }
}

fn conv(cfg: &Fields, rank: usize, dialect: Dialect) -> Result<Op, String> {
    Ok(Op::Conv(ConvConfig {
        filters: cfg.usize("filters")?,
        kernel_size: cfg.tuple("kernel_size", rank)?,
        strides: cfg.tuple_or("strides", rank, &vec![1; rank])?,
        padding: cfg.padding()?,
        dilation: cfg.tuple_or("dilation_rate", rank, &vec![1; rank])?,
        groups: cfg.usize_or("groups", 1)?,
        use_bias: cfg.bool_or("use_bias", true)?,
        activation: cfg.activation(dialect)?,
        data_format: cfg.data_format()?,
    }))
}

fn batch_norm(cfg: &Fields) -> Result<Op, String> {
    if cfg.bool_or("renorm", false)? {
        return Err("batch renormalization (renorm=True) is not supported".into());
    }
    // Keras 3 writes an integer axis, tf.keras 2 a list with one entry.
    let axes = cfg.i64_list("axis").unwrap_or_else(|_| vec![-1]);
    let [axis] = axes[..] else {
        return Err(format!(
            "normalizing over several axes {axes:?} is not supported"
        ));
    };
    Ok(Op::BatchNorm(BatchNormConfig {
        axis,
        epsilon: cfg.f64_or("epsilon", 1e-3)?,
        momentum: cfg.f64_or("momentum", 0.99)?,
        center: cfg.bool_or("center", true)?,
        scale: cfg.bool_or("scale", true)?,
    }))
}

fn pool(cfg: &Fields, kind: PoolKind, class: &str) -> Result<Op, String> {
    let rank = class_rank(class);
    let pool_size = cfg.tuple_or("pool_size", rank, &vec![2; rank])?;
    let strides = match cfg.get("strides") {
        None => pool_size.clone(),
        Some(_) => cfg.tuple("strides", rank)?,
    };
    Ok(Op::Pool(PoolConfig {
        kind,
        pool_size,
        strides,
        padding: cfg.padding()?,
        data_format: if rank == 1 && cfg.get("data_format").is_none() {
            graft_ir::DataFormat::ChannelsLast
        } else {
            cfg.data_format()?
        },
        ceil_mode: false,
        // Keras' 'same' average never counts the padded cells.
        count_include_pad: false,
    }))
}

fn global_pool(cfg: &Fields, kind: PoolKind, class: &str) -> Result<Op, String> {
    Ok(Op::GlobalPool(GlobalPoolConfig {
        kind,
        keepdims: cfg.bool_or("keepdims", false)?,
        data_format: cfg.data_format()?,
        rank: class_rank(class),
    }))
}

/// `MaxPooling2D` -> 2.
fn class_rank(class: &str) -> usize {
    class
        .trim_end_matches('D')
        .chars()
        .last()
        .and_then(|c| c.to_digit(10))
        .unwrap_or(2) as usize
}

fn math_op(name: &str) -> Option<MathOp> {
    Some(match name {
        "Add" | "add" => MathOp::Add,
        "Subtract" | "subtract" | "sub" => MathOp::Subtract,
        "Multiply" | "multiply" | "mul" => MathOp::Multiply,
        "Divide" | "TrueDivide" | "divide" | "truediv" => MathOp::Divide,
        "Maximum" | "maximum" => MathOp::Maximum,
        "Minimum" | "minimum" => MathOp::Minimum,
        "Power" | "power" | "pow" => MathOp::Power,
        _ => return None,
    })
}

/// Keras 3 operations on symbolic tensors: `x + 3.0` -> `Add` with args `[x, 3.0]`.
fn keras3_operation(class: &str, calls: &[Call]) -> Result<Op, LayerError> {
    let op = math_op(class)
        .ok_or_else(|| LayerError::Unknown(format!("{class} (a keras.ops operation)")))?;
    let call = calls
        .first()
        .ok_or_else(|| LayerError::Config("an operation with no recorded call".into()))?;
    math_from_call(op, call.tensors.len(), &call.constants)
}

fn math_from_call(
    op: MathOp,
    tensors: usize,
    constants: &[(usize, f64)],
) -> Result<Op, LayerError> {
    match (tensors, constants) {
        (1, [(position, value)]) => Ok(Op::Math(MathConfig {
            op,
            scalar: Some(*value as f32),
            scalar_first: *position == 0,
        })),
        (2, []) => Ok(Op::Math(MathConfig {
            op,
            scalar: None,
            scalar_first: false,
        })),
        _ => Err(LayerError::Config(format!(
            "{op:?} with {tensors} tensor and {} constant operands is not supported",
            constants.len()
        ))),
    }
}

/// tf.keras 2 records `x + 3.0` as a `TFOpLambda` wrapping `tf.__operators__.add` with the
/// constant in the call's kwargs (`{"y": 3.0}`).
fn tf_op_lambda(cfg: &Fields, calls: &[Call]) -> Result<Op, LayerError> {
    let function = cfg.str_or("function", "")?;
    let base = function.rsplit('.').next().unwrap_or(function);
    let op =
        math_op(base).ok_or_else(|| LayerError::Unknown(format!("TFOpLambda(tf.{function})")))?;
    let call = calls
        .first()
        .ok_or_else(|| LayerError::Config("a TFOpLambda with no recorded call".into()))?;
    // The inbound tensor is `x` unless the kwargs name `x` (then it is `y`: `1.0 - t`);
    // a constant first operand arrives as a `_CONSTANT_VALUE` entry.
    let mut constants = call.constants.clone();
    for (key, position) in [("x", 0usize), ("y", 1usize)] {
        if let Some(v) = call.kwargs.get(key).and_then(|v| v.as_f64()) {
            constants.push((position, v));
        }
    }
    math_from_call(op, call.tensors.len(), &constants)
}

#[cfg(test)]
mod tests {
    use super::*;
    use graft_ir::Padding;
    use serde_json::json;

    fn op(class: &str, cfg: serde_json::Value) -> Result<Op, LayerError> {
        let map = cfg.as_object().unwrap().clone();
        layer_op(class, None, &Fields::new(&map), Dialect::Keras3, &[])
    }

    #[test]
    fn conv2d_config() {
        let o = op(
            "Conv2D",
            json!({"filters": 8, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "use_bias": false}),
        )
        .ok()
        .unwrap();
        let Op::Conv(c) = o else { panic!() };
        assert_eq!(
            (c.filters, c.kernel_size, c.padding),
            (8, vec![3, 3], Padding::Same)
        );
        assert!(!c.use_bias);
    }

    #[test]
    fn lambda_and_unknown() {
        assert!(matches!(op("Lambda", json!({})), Err(LayerError::Lambda)));
        assert!(matches!(
            op("MyLayer", json!({})),
            Err(LayerError::Unknown(_))
        ));
    }

    #[test]
    fn pool_strides_default_to_pool_size() {
        let Ok(Op::Pool(p)) = op(
            "MaxPooling2D",
            json!({"pool_size": [3, 3], "strides": null}),
        ) else {
            panic!()
        };
        assert_eq!(p.strides, vec![3, 3]);
    }

    #[test]
    fn class_ranks() {
        assert_eq!(class_rank("MaxPooling1D"), 1);
        assert_eq!(class_rank("GlobalAveragePooling3D"), 3);
    }
}
