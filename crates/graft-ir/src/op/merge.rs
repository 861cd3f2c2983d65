//! Layers that combine several values: element-wise merges, concatenation, and element-wise
//! arithmetic with a constant.

use crate::shape::{Dim, Shape, normalize_axis};

/// Keras' merge layers: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`.
/// All inputs broadcast against each other as in numpy; `Subtract` takes exactly two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeKind {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

/// An element-wise binary operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Maximum,
    Minimum,
    Power,
}

/// Element-wise arithmetic written as an expression rather than a layer (`x + 3.0` in a Keras
/// model, ONNX `Add` with a constant): `input <op> scalar`, `scalar <op> input`, or, without a
/// scalar, `input0 <op> input1` with numpy broadcasting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MathConfig {
    pub op: MathOp,
    pub scalar: Option<f32>,
    /// The scalar is the left operand (`3.0 - x`).
    pub scalar_first: bool,
}

/// numpy broadcasting of two shapes; unknown sizes broadcast with 1 and with themselves.
pub fn broadcast(a: &Shape, b: &Shape) -> Result<Shape, String> {
    let rank = a.rank().max(b.rank());
    let pad = |s: &Shape| -> Vec<Dim> {
        let mut v = vec![Some(1); rank - s.rank()];
        v.extend_from_slice(s.dims());
        v
    };
    let (pa, pb) = (pad(a), pad(b));
    let mut out = Vec::with_capacity(rank);
    for (x, y) in pa.iter().zip(&pb) {
        out.push(match (x, y) {
            (Some(1), d) | (d, Some(1)) => *d,
            (Some(m), Some(n)) if m == n => Some(*m),
            (None, None) => None,
            (None, Some(n)) | (Some(n), None) => Some(*n),
            (Some(m), Some(n)) => {
                return Err(format!("shapes {a} and {b} do not broadcast ({m} vs {n})"));
            }
        });
    }
    Ok(Shape::new(out))
}

pub(crate) fn merge_infer(kind: MergeKind, inputs: &[Shape]) -> Result<Shape, String> {
    if inputs.len() < 2 && kind != MergeKind::Add {
        return Err(format!(
            "{kind:?} needs at least two inputs, got {}",
            inputs.len()
        ));
    }
    if kind == MergeKind::Subtract && inputs.len() != 2 {
        return Err(format!(
            "Subtract needs exactly two inputs, got {}",
            inputs.len()
        ));
    }
    let mut out = inputs
        .first()
        .cloned()
        .ok_or_else(|| "needs at least one input".to_string())?;
    for s in &inputs[1..] {
        out = broadcast(&out, s)?;
    }
    Ok(out)
}

pub(crate) fn concat_infer(axis: i64, inputs: &[Shape]) -> Result<Shape, String> {
    let first = inputs
        .first()
        .ok_or_else(|| "needs at least one input".to_string())?;
    let rank = first.rank();
    let a = normalize_axis(axis, rank)
        .ok_or_else(|| format!("axis {axis} is out of range for input {first}"))?;
    if a == 0 {
        return Err("cannot concatenate along the batch axis".into());
    }
    let mut dims = first.dims().to_vec();
    for s in &inputs[1..] {
        if s.rank() != rank {
            return Err(format!("inputs {first} and {s} have different ranks"));
        }
        for (i, (d, e)) in dims.iter_mut().zip(s.dims()).enumerate() {
            if i == a {
                *d = match (*d, *e) {
                    (Some(x), Some(y)) => Some(x + y),
                    _ => None,
                };
            } else if let (Some(x), Some(y)) = (*d, *e) {
                if x != y {
                    return Err(format!(
                        "inputs {first} and {s} differ on axis {i}, which is not the concatenation axis {axis}"
                    ));
                }
            } else if d.is_none() {
                *d = *e;
            }
        }
    }
    Ok(Shape::new(dims))
}

impl MathConfig {
    pub(crate) fn infer(&self, inputs: &[Shape]) -> Result<Shape, String> {
        match (self.scalar, inputs) {
            (Some(_), [x]) => Ok(x.clone()),
            (None, [a, b]) => broadcast(a, b),
            (Some(_), _) => Err(format!(
                "with a constant operand expects one input, got {}",
                inputs.len()
            )),
            (None, _) => Err(format!("expects two inputs, got {}", inputs.len())),
        }
    }
}
