//! Activation functions to the names each Keras generation gives them. A name is written only
//! when it means exactly the IR's function in the target dialect: `hard_sigmoid` is
//! `clip(x/6 + 1/2)` in Keras 3 and `clip(0.2x + 1/2)` in tf.keras 2, and many Keras 3 names do
//! not exist in tf.keras 2.

use graft_ir::Activation;

use crate::config::Dialect;

/// The name `dialect` gives `a` (as an `activation=` argument or an `Activation` layer), or
/// `None` when that Keras has no activation function with exactly this meaning.
pub(crate) fn name(a: &Activation, dialect: Dialect) -> Option<&'static str> {
    let keras3 = dialect == Dialect::Keras3;
    let both = |n: &'static str| Some(n);
    let only3 = |n: &'static str| keras3.then_some(n);
    match *a {
        Activation::Linear => both("linear"),
        Activation::Relu => both("relu"),
        Activation::Relu6 => both("relu6"),
        // Both generations default the function's slope to 0.2.
        Activation::LeakyRelu {
            negative_slope: 0.2,
        } => both("leaky_relu"),
        Activation::Elu { alpha: 1.0 } => both("elu"),
        Activation::Selu => both("selu"),
        Activation::Gelu { approximate: false } => both("gelu"),
        Activation::Swish => both("swish"),
        Activation::HardSigmoid { alpha, beta: 0.5 } => {
            let slope = if keras3 { 1.0f32 / 6.0 } else { 0.2 };
            (alpha == slope).then_some("hard_sigmoid")
        }
        Activation::HardSwish => only3("hard_silu"),
        Activation::Sigmoid => both("sigmoid"),
        Activation::Tanh => both("tanh"),
        Activation::Softmax { axis: -1 } => both("softmax"),
        Activation::LogSoftmax { axis: -1 } => both("log_softmax"),
        Activation::Softplus => both("softplus"),
        Activation::Softsign => both("softsign"),
        Activation::Exponential => both("exponential"),
        Activation::Mish => both("mish"),
        Activation::Celu { alpha: 1.0 } => only3("celu"),
        Activation::Glu { axis: -1 } => only3("glu"),
        Activation::HardShrink { threshold: 0.5 } => only3("hard_shrink"),
        Activation::HardTanh => only3("hard_tanh"),
        Activation::LogSigmoid => only3("log_sigmoid"),
        Activation::SoftShrink { threshold: 0.5 } => only3("soft_shrink"),
        Activation::SparsePlus => only3("sparse_plus"),
        Activation::SparseSigmoid => only3("sparse_sigmoid"),
        Activation::Sparsemax { axis: -1 } => only3("sparsemax"),
        Activation::Squareplus { b: 4.0 } => only3("squareplus"),
        Activation::TanhShrink => only3("tanh_shrink"),
        _ => None,
    }
}

/// Why `a` has no name in `dialect`, for error messages.
pub(crate) fn why_unnamed(a: &Activation, dialect: Dialect) -> String {
    let target = dialect_name(dialect);
    match a {
        Activation::HardSigmoid { alpha, beta } => format!(
            "hard_sigmoid {alpha}x + {beta} is not {target}'s hard_sigmoid ({}), and {target} \
             has no other activation computing it",
            match dialect {
                Dialect::Keras3 => "x/6 + 0.5",
                Dialect::TfKeras2 => "0.2x + 0.5",
            }
        ),
        _ if name(a, Dialect::Keras3).is_some() => {
            format!("activation {a} exists in Keras 3 but not in {target}")
        }
        _ => format!("{target} has no activation function computing {a}"),
    }
}

/// "Keras 3" / "tf.keras 2", for messages.
pub(crate) fn dialect_name(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Keras3 => "Keras 3",
        Dialect::TfKeras2 => "tf.keras 2",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dialect::Dialect::{Keras3, TfKeras2};

    #[test]
    fn hard_sigmoid_only_where_the_slope_matches() {
        let k3 = Activation::HardSigmoid {
            alpha: 1.0 / 6.0,
            beta: 0.5,
        };
        let tf = Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        };
        assert_eq!(name(&k3, Keras3), Some("hard_sigmoid"));
        assert_eq!(name(&k3, TfKeras2), None);
        assert_eq!(name(&tf, TfKeras2), Some("hard_sigmoid"));
        assert_eq!(name(&tf, Keras3), None);
        assert!(why_unnamed(&tf, Keras3).contains("x/6"));
    }

    #[test]
    fn names_read_back_to_the_same_function() {
        for dialect in [Keras3, TfKeras2] {
            for a in [
                Activation::Relu,
                Activation::Gelu { approximate: false },
                Activation::LeakyRelu {
                    negative_slope: 0.2,
                },
                Activation::HardSwish,
                Activation::Celu { alpha: 1.0 },
                Activation::Softmax { axis: -1 },
            ] {
                if let Some(n) = name(&a, dialect) {
                    assert_eq!(
                        crate::config::activation_from_name(n, dialect),
                        Ok(a),
                        "{n}"
                    );
                }
            }
        }
    }
}
