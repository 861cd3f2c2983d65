//! General padding (ONNX `Pad`): any axis after the batch, constant, reflected or repeated
//! borders. Works in the value's physical layout: the pads follow the axes.

use burn::tensor::ops::PadMode as BurnPad;
use graft_ir::{PadConfig, PadMode};

use crate::value::{Value, map_dyn};

pub fn pad(config: &PadConfig, x: Value) -> Value {
    let mode = match config.mode {
        PadMode::Constant(v) => BurnPad::Constant(v),
        PadMode::Reflect => BurnPad::Reflect,
        PadMode::Edge => BurnPad::Edge,
    };
    // Physical axis i holds logical axis perm[i]; logical axis a > 0 has pads[a - 1].
    let pads: Vec<(usize, usize)> = x
        .perm
        .iter()
        .map(|&a| if a == 0 { (0, 0) } else { config.pads[a - 1] })
        .collect();
    let perm = x.perm;
    Value::with_perm(map_dyn!(x.tensor, t => t.pad(pads.as_slice(), mode)), perm)
}
