//! Activation functions as ONNX nodes (opset 17): direct ops where ONNX has one (ReLU6 is
//! `Clip(0, 6)`, hard sigmoid keeps its slope and offset), small decompositions for the rest
//! (GELU through `Erf`, swish as `x * Sigmoid(x)`, mish through `Softplus`).

use graft_ir::Activation;

use crate::write::builder::{A, OnnxBuilder};

/// Applies `a` to value `x`, the last node named `name` producing `out`.
pub(crate) fn apply(
    b: &mut OnnxBuilder,
    a: &Activation,
    x: &str,
    out: &str,
    name: &str,
) -> Result<(), String> {
    let one = |b: &mut OnnxBuilder, op: &str, attrs: Vec<(&str, A)>| {
        b.node(op, name, &[x], out, attrs);
        Ok(())
    };
    let step = |b: &mut OnnxBuilder, op: &str, role: &str, inputs: &[&str]| {
        b.op(op, &format!("{name}/{role}"), inputs, vec![])
    };
    match *a {
        Activation::Linear => one(b, "Identity", vec![]),
        Activation::Relu => one(b, "Relu", vec![]),
        Activation::Relu6 => {
            let (lo, hi) = (
                b.scalar(&format!("{name}/min"), 0.0),
                b.scalar(&format!("{name}/max"), 6.0),
            );
            b.node("Clip", name, &[x, &lo, &hi], out, vec![]);
            Ok(())
        }
        Activation::HardTanh => {
            let (lo, hi) = (
                b.scalar(&format!("{name}/min"), -1.0),
                b.scalar(&format!("{name}/max"), 1.0),
            );
            b.node("Clip", name, &[x, &lo, &hi], out, vec![]);
            Ok(())
        }
        Activation::LeakyRelu { negative_slope } => {
            one(b, "LeakyRelu", vec![("alpha", A::F(negative_slope))])
        }
        Activation::ClippedRelu {
            max_value,
            negative_slope,
            threshold,
        } => {
            if threshold == 0.0 && negative_slope == 0.0 {
                let lo = b.scalar(&format!("{name}/min"), 0.0);
                let inputs: Vec<String> = match max_value {
                    Some(m) => vec![x.to_string(), lo, b.scalar(&format!("{name}/max"), m)],
                    None => vec![x.to_string(), lo],
                };
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                b.node("Clip", name, &refs, out, vec![]);
                Ok(())
            } else if threshold == 0.0 && max_value.is_none() {
                one(b, "LeakyRelu", vec![("alpha", A::F(negative_slope))])
            } else {
                // x >= t: min(x, max); below: slope * (x - t).
                let t = b.scalar(&format!("{name}/threshold"), threshold);
                let below = step(b, "Less", "below", &[x, &t]);
                let shifted = step(b, "Sub", "shifted", &[x, &t]);
                let s = b.scalar(&format!("{name}/slope"), negative_slope);
                let low = step(b, "Mul", "low", &[&shifted, &s]);
                match max_value {
                    Some(m) => {
                        let w = step(b, "Where", "relu", &[&below, &low, x]);
                        let hi = b.scalar(&format!("{name}/max"), m);
                        b.node("Min", name, &[&w, &hi], out, vec![]);
                    }
                    None => b.node("Where", name, &[&below, &low, x], out, vec![]),
                }
                Ok(())
            }
        }
        Activation::Elu { alpha } => one(b, "Elu", vec![("alpha", A::F(alpha))]),
        Activation::Selu => one(b, "Selu", vec![]),
        Activation::Celu { alpha } => one(b, "Celu", vec![("alpha", A::F(alpha))]),
        Activation::Gelu { approximate: false } => {
            // 0.5 * x * (1 + erf(x / sqrt(2)))
            let r2 = b.scalar(&format!("{name}/sqrt2"), std::f32::consts::SQRT_2);
            let d = step(b, "Div", "scaled", &[x, &r2]);
            let e = step(b, "Erf", "erf", &[&d]);
            let one_ = b.scalar(&format!("{name}/one"), 1.0);
            let p = step(b, "Add", "plus_one", &[&e, &one_]);
            let m = step(b, "Mul", "times_x", &[x, &p]);
            let h = b.scalar(&format!("{name}/half"), 0.5);
            b.node("Mul", name, &[&m, &h], out, vec![]);
            Ok(())
        }
        Activation::Gelu { approximate: true } => {
            // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
            let three = b.scalar(&format!("{name}/three"), 3.0);
            let cube = step(b, "Pow", "cube", &[x, &three]);
            let k = b.scalar(&format!("{name}/k"), 0.044_715);
            let kc = step(b, "Mul", "k_cube", &[&cube, &k]);
            let inner = step(b, "Add", "inner", &[x, &kc]);
            let c = b.scalar(&format!("{name}/c"), (2.0 / std::f32::consts::PI).sqrt());
            let arg = step(b, "Mul", "arg", &[&inner, &c]);
            let t = step(b, "Tanh", "tanh", &[&arg]);
            let one_ = b.scalar(&format!("{name}/one"), 1.0);
            let p = step(b, "Add", "plus_one", &[&t, &one_]);
            let m = step(b, "Mul", "times_x", &[x, &p]);
            let h = b.scalar(&format!("{name}/half"), 0.5);
            b.node("Mul", name, &[&m, &h], out, vec![]);
            Ok(())
        }
        Activation::Swish => {
            let s = step(b, "Sigmoid", "sigmoid", &[x]);
            b.node("Mul", name, &[x, &s], out, vec![]);
            Ok(())
        }
        Activation::Mish => {
            let sp = step(b, "Softplus", "softplus", &[x]);
            let t = step(b, "Tanh", "tanh", &[&sp]);
            b.node("Mul", name, &[x, &t], out, vec![]);
            Ok(())
        }
        Activation::HardSigmoid { alpha, beta } => one(
            b,
            "HardSigmoid",
            vec![("alpha", A::F(alpha)), ("beta", A::F(beta))],
        ),
        Activation::HardSwish => one(b, "HardSwish", vec![]),
        Activation::Sigmoid => one(b, "Sigmoid", vec![]),
        Activation::Tanh => one(b, "Tanh", vec![]),
        Activation::Softmax { axis } => one(b, "Softmax", vec![("axis", A::I(axis))]),
        Activation::LogSoftmax { axis } => one(b, "LogSoftmax", vec![("axis", A::I(axis))]),
        Activation::Softplus => one(b, "Softplus", vec![]),
        Activation::Softsign => one(b, "Softsign", vec![]),
        Activation::Exponential => one(b, "Exp", vec![]),
        Activation::LogSigmoid => {
            let s = step(b, "Sigmoid", "sigmoid", &[x]);
            b.node("Log", name, &[&s], out, vec![]);
            Ok(())
        }
        Activation::HardShrink { threshold } => one(
            b,
            "Shrink",
            vec![("lambd", A::F(threshold)), ("bias", A::F(0.0))],
        ),
        Activation::SoftShrink { threshold } => one(
            b,
            "Shrink",
            vec![("lambd", A::F(threshold)), ("bias", A::F(threshold))],
        ),
        Activation::TanhShrink => {
            let t = step(b, "Tanh", "tanh", &[x]);
            b.node("Sub", name, &[x, &t], out, vec![]);
            Ok(())
        }
        Activation::SparseSigmoid => {
            // clip((x + 1) / 2, 0, 1)
            let one_ = b.scalar(&format!("{name}/one"), 1.0);
            let p = step(b, "Add", "plus_one", &[x, &one_]);
            let h = b.scalar(&format!("{name}/half"), 0.5);
            let m = step(b, "Mul", "half", &[&p, &h]);
            let (lo, hi) = (
                b.scalar(&format!("{name}/min"), 0.0),
                b.scalar(&format!("{name}/max"), 1.0),
            );
            b.node("Clip", name, &[&m, &lo, &hi], out, vec![]);
            Ok(())
        }
        Activation::Squareplus { b: k } => {
            // (x + sqrt(x^2 + b)) / 2
            let sq = step(b, "Mul", "square", &[x, x]);
            let kk = b.scalar(&format!("{name}/b"), k);
            let s = step(b, "Add", "plus_b", &[&sq, &kk]);
            let r = step(b, "Sqrt", "sqrt", &[&s]);
            let p = step(b, "Add", "sum", &[x, &r]);
            let h = b.scalar(&format!("{name}/half"), 0.5);
            b.node("Mul", name, &[&p, &h], out, vec![]);
            Ok(())
        }
        Activation::Glu { .. } | Activation::SparsePlus | Activation::Sparsemax { .. } => Err(
            format!("activation {a} has no ONNX operator and graft does not decompose it"),
        ),
    }
}
