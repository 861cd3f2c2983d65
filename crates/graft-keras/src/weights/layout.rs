//! Keras' weight layouts to the IR's and back (the IR's are tabled in graft-ir's crate docs).

use graft_ir::{Op, Tensor};

/// How a weight's axes move between Keras' layout and the IR's.
enum Move {
    Same,
    /// Keras `(k1..kr, in, out)` <-> IR `[out, in, k1..kr]`.
    Kernel {
        rank: usize,
    },
    /// Keras `(k1..kr, in, m)` <-> IR `[in*m, 1, k1..kr]`.
    Depthwise {
        rank: usize,
    },
}

fn movement(op: &Op, weight: &str) -> Move {
    match (op, weight) {
        (Op::Conv(c), "kernel") => Move::Kernel {
            rank: c.kernel_size.len(),
        },
        (Op::DepthwiseConv(c), "depthwise_kernel") => Move::Depthwise {
            rank: c.kernel_size.len(),
        },
        (Op::SeparableConv(c), "depthwise_kernel") => Move::Depthwise {
            rank: c.kernel_size.len(),
        },
        (Op::SeparableConv(c), "pointwise_kernel") => Move::Kernel {
            rank: c.kernel_size.len(),
        },
        _ => Move::Same,
    }
}

/// A Keras-layout tensor to the IR layout.
pub fn keras_to_ir(op: &Op, weight: &str, t: Tensor) -> Result<Tensor, String> {
    match movement(op, weight) {
        Move::Same => Ok(t),
        Move::Kernel { rank } => {
            expect_rank(&t, rank + 2, "(k.., in, out)")?;
            let mut perm = vec![rank + 1, rank];
            perm.extend(0..rank);
            t.permuted(&perm).map_err(|e| e.to_string())
        }
        Move::Depthwise { rank } => {
            expect_rank(&t, rank + 2, "(k.., in, multiplier)")?;
            let mut perm = vec![rank, rank + 1];
            perm.extend(0..rank);
            let p = t.permuted(&perm).map_err(|e| e.to_string())?;
            let s = p.shape().to_vec();
            let mut shape = vec![s[0] * s[1], 1];
            shape.extend_from_slice(&s[2..]);
            p.reshaped(shape).map_err(|e| e.to_string())
        }
    }
}

/// An IR-layout tensor to Keras' layout. `in_channels` is needed to split depthwise kernels.
pub fn ir_to_keras(
    op: &Op,
    weight: &str,
    t: &Tensor,
    in_channels: usize,
) -> Result<Tensor, String> {
    match movement(op, weight) {
        Move::Same => Ok(t.clone()),
        Move::Kernel { rank } => {
            expect_rank(t, rank + 2, "[out, in, k..]")?;
            let mut perm: Vec<usize> = (2..rank + 2).collect();
            perm.extend([1, 0]);
            t.permuted(&perm).map_err(|e| e.to_string())
        }
        Move::Depthwise { rank } => {
            expect_rank(t, rank + 2, "[in*m, 1, k..]")?;
            let s = t.shape();
            if in_channels == 0 || !s[0].is_multiple_of(in_channels) {
                return Err(format!(
                    "{} output channels do not split over {in_channels} inputs",
                    s[0]
                ));
            }
            let mut shape = vec![in_channels, s[0] / in_channels];
            shape.extend_from_slice(&s[2..]);
            let r = t.clone().reshaped(shape).map_err(|e| e.to_string())?;
            let mut perm: Vec<usize> = (2..rank + 2).collect();
            perm.extend([0, 1]);
            r.permuted(&perm).map_err(|e| e.to_string())
        }
    }
}

/// The Keras-layout shape of an IR-layout shape, for messages.
pub fn keras_shape(op: &Op, weight: &str, ir: &[usize]) -> Vec<usize> {
    match movement(op, weight) {
        Move::Same => ir.to_vec(),
        Move::Kernel { rank } if ir.len() == rank + 2 => {
            let mut s = ir[2..].to_vec();
            s.extend([ir[1], ir[0]]);
            s
        }
        Move::Depthwise { rank } if ir.len() == rank + 2 => {
            // Without the input count the multiplier is unknown; show (k.., in*m, 1).
            let mut s = ir[2..].to_vec();
            s.extend([ir[0], ir[1]]);
            s
        }
        _ => ir.to_vec(),
    }
}

fn expect_rank(t: &Tensor, rank: usize, layout: &str) -> Result<(), String> {
    if t.shape().len() != rank {
        return Err(format!(
            "has shape {:?}; expected rank {rank} in Keras' layout {layout}",
            t.shape()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use graft_ir::{Activation, DataFormat, DepthwiseConvConfig, Padding};

    fn depthwise() -> Op {
        Op::DepthwiseConv(DepthwiseConvConfig {
            depth_multiplier: 2,
            kernel_size: vec![3, 3],
            strides: vec![1, 1],
            padding: Padding::Same,
            dilation: vec![1, 1],
            use_bias: false,
            activation: Activation::Linear,
            data_format: DataFormat::ChannelsLast,
        })
    }

    #[test]
    fn depthwise_channel_order_is_c_times_m_plus_j() {
        // Keras (kh, kw, in=2, m=2): value encodes (c, j) so we can follow it.
        let data: Vec<f32> = (0..3 * 3 * 2 * 2)
            .map(|i| {
                let c = (i / 2) % 2;
                let j = i % 2;
                (10 * c + j) as f32
            })
            .collect();
        let t = Tensor::new(vec![3, 3, 2, 2], data).unwrap();
        let ir = keras_to_ir(&depthwise(), "depthwise_kernel", t.clone()).unwrap();
        assert_eq!(ir.shape(), &[4, 1, 3, 3]);
        for out in 0..4 {
            let (c, j) = (out / 2, out % 2);
            assert_eq!(ir.data()[out * 9], (10 * c + j) as f32);
        }
        let back = ir_to_keras(&depthwise(), "depthwise_kernel", &ir, 2).unwrap();
        assert_eq!(back, t);
    }
}
