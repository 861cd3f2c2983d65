//! IR layers -> ONNX nodes (opset 17), one module per family. The graph is channels-first by
//! now (the layout pass ran), so every spatial op maps to its ONNX op directly. A layer whose
//! computation ONNX cannot express fails with the reason, before anything is written.

mod activation;
mod conv;
mod core;
mod preprocessing;

use graft_ir::{Layer, Op, Padding, Shape};

use super::builder::{A, OnnxBuilder};

/// One layer call being lowered.
pub(crate) struct Cx<'a, 'g> {
    pub b: &'a mut OnnxBuilder<'g>,
    pub layer: &'g Layer,
    /// Value names of the inputs.
    pub inputs: Vec<String>,
    pub in_shapes: Vec<Shape>,
    /// The value name the layer's output must have.
    pub out: String,
}

impl<'g> Cx<'_, 'g> {
    pub(crate) fn name(&self) -> &'g str {
        &self.layer.name
    }

    /// An initializer holding the layer's weight `name`.
    pub(crate) fn weight(&mut self, name: &str) -> Result<String, String> {
        let layer: &'g Layer = self.layer;
        let w = layer
            .weight(name)
            .ok_or_else(|| format!("has no weight '{name}'"))?;
        Ok(self.b.weight(&format!("{}/{name}", layer.name), &w.tensor))
    }

    /// The layer's own node: named after the layer, producing its output.
    pub(crate) fn emit(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, A)>) {
        let (name, out) = (self.layer.name.clone(), self.out.clone());
        self.b.node(op, &name, inputs, &out, attrs);
    }

    /// A helper node named `<layer>/<role>`; returns its output.
    pub(crate) fn step(
        &mut self,
        op: &str,
        role: &str,
        inputs: &[&str],
        attrs: Vec<(&str, A)>,
    ) -> String {
        let base = format!("{}/{role}", self.layer.name);
        self.b.op(op, &base, inputs, attrs)
    }

    pub(crate) fn input(&self, i: usize) -> &str {
        &self.inputs[i]
    }
}

/// Lowers one layer call.
pub(crate) fn lower(cx: &mut Cx) -> Result<(), String> {
    match &cx.layer.op {
        Op::Conv(_)
        | Op::DepthwiseConv(_)
        | Op::SeparableConv(_)
        | Op::ConvTranspose(_)
        | Op::Pool(_)
        | Op::GlobalPool(_)
        | Op::ZeroPadding(_)
        | Op::Cropping(_)
        | Op::UpSampling(_)
        | Op::Lrn(_) => conv::lower(cx),
        Op::Activation(_)
        | Op::ReLU(_)
        | Op::LeakyReLU { .. }
        | Op::ELU { .. }
        | Op::Softmax { .. } => {
            let a = cx.layer.op.as_activation().expect("activation layer");
            let (x, out) = (cx.input(0).to_string(), cx.out.clone());
            let name = cx.name().to_string();
            activation::apply(cx.b, &a, &x, &out, &name)
        }
        Op::Preprocessing(p) => {
            let p = p.clone();
            preprocessing::lower(cx, &p)
        }
        Op::Model(_) => Err("nested models are inlined before lowering".into()),
        Op::Input(_) | Op::Constant(_) => Ok(()),
        _ => core::lower(cx),
    }
}

/// ONNX `pads` of a window op with `kernel`/`strides`/`dilation` on a channels-first input:
/// explicit when the spatial sizes are known, else `auto_pad`.
pub(crate) fn pads(
    padding: &Padding,
    input: &Shape,
    kernel: &[usize],
    strides: &[usize],
    dilation: &[usize],
) -> Vec<(&'static str, A)> {
    let spatial: Option<Vec<usize>> = input.dims()[2..].iter().copied().collect();
    match (padding, spatial) {
        (Padding::Valid, _) => vec![("pads", A::Is(vec![0; 2 * kernel.len()]))],
        (Padding::Same, None) => vec![("auto_pad", A::S("SAME_UPPER"))],
        (Padding::SameLower, None) => vec![("auto_pad", A::S("SAME_LOWER"))],
        (p, spatial) => {
            let n = kernel.len();
            let mut v = vec![0i64; 2 * n];
            for i in 0..n {
                let size = spatial.as_ref().map_or(0, |s| s[i]);
                let (b, a) = p.resolve(i, size, kernel[i], strides[i], dilation[i]);
                v[i] = b as i64;
                v[i + n] = a as i64;
            }
            vec![("pads", A::Is(v))]
        }
    }
}

pub(crate) fn ints(v: &[usize]) -> A {
    A::Is(v.iter().map(|&x| x as i64).collect())
}
