//! Keras activation names to exact functions. The same name can mean different math in the two
//! Keras generations (`hard_sigmoid`), so the dialect decides.

use graft_ir::Activation;
use serde_json::Value;

use super::dialect::Dialect;

/// Parses an `activation` field: a name, or Keras 3's serialized-function object.
pub fn parse(v: &Value, dialect: Dialect) -> Result<Activation, String> {
    let name = match v {
        Value::String(s) => s.as_str(),
        // {"module": "keras.activations", "class_name": "function", "config": "relu", ...}
        Value::Object(o) => match (o.get("config"), o.get("class_name")) {
            (Some(Value::String(s)), _) => s.as_str(),
            (_, Some(Value::String(s))) => s.as_str(),
            _ => return Err(format!("unrecognised activation {v}")),
        },
        Value::Null => "linear",
        other => return Err(format!("unrecognised activation {other}")),
    };
    from_name(name, dialect)
}

/// The function Keras means by `name`.
pub fn from_name(name: &str, dialect: Dialect) -> Result<Activation, String> {
    Ok(match name {
        "linear" | "None" => Activation::Linear,
        "relu" => Activation::Relu,
        "relu6" => Activation::Relu6,
        // Both generations default the activation *function* to 0.2 (the LeakyReLU *layer*
        // defaults to 0.3).
        "leaky_relu" => Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        "elu" => Activation::Elu { alpha: 1.0 },
        "selu" => Activation::Selu,
        "gelu" => Activation::Gelu { approximate: false },
        "swish" | "silu" => Activation::Swish,
        "hard_sigmoid" => match dialect {
            Dialect::Keras3 => Activation::HardSigmoid {
                alpha: 1.0 / 6.0,
                beta: 0.5,
            },
            Dialect::TfKeras2 => Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
        },
        "hard_silu" | "hard_swish" => Activation::HardSwish,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "softmax" => Activation::Softmax { axis: -1 },
        "log_softmax" => Activation::LogSoftmax { axis: -1 },
        "softplus" => Activation::Softplus,
        "softsign" => Activation::Softsign,
        "exponential" => Activation::Exponential,
        "mish" => Activation::Mish,
        "celu" => Activation::Celu { alpha: 1.0 },
        "glu" => Activation::Glu { axis: -1 },
        "hard_shrink" => Activation::HardShrink { threshold: 0.5 },
        "hard_tanh" => Activation::HardTanh,
        "log_sigmoid" => Activation::LogSigmoid,
        "soft_shrink" => Activation::SoftShrink { threshold: 0.5 },
        "sparse_plus" => Activation::SparsePlus,
        "sparse_sigmoid" => Activation::SparseSigmoid,
        "sparsemax" => Activation::Sparsemax { axis: -1 },
        "squareplus" => Activation::Squareplus { b: 4.0 },
        "tanh_shrink" => Activation::TanhShrink,
        other => return Err(format!("unknown activation '{other}'")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hard_sigmoid_depends_on_dialect() {
        assert_eq!(
            from_name("hard_sigmoid", Dialect::TfKeras2).unwrap(),
            Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5
            }
        );
        assert!(matches!(
            from_name("hard_sigmoid", Dialect::Keras3).unwrap(),
            Activation::HardSigmoid { alpha, .. } if (alpha - 1.0 / 6.0).abs() < 1e-7
        ));
    }

    #[test]
    fn serialized_function_object() {
        let v = json!({"module": "keras.activations", "class_name": "function", "config": "swish", "registered_name": "function"});
        assert_eq!(parse(&v, Dialect::Keras3).unwrap(), Activation::Swish);
        assert!(parse(&json!("nope"), Dialect::Keras3).is_err());
    }
}
