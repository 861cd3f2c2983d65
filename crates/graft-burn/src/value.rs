//! Values flowing through the executor: burn tensors of any rank from 1 to 5, each with the
//! physical layout it is held in.
//!
//! burn fixes a tensor's rank in its type; IR graphs mix ranks, so [`Dyn`] wraps the five ranks
//! and the `map_dyn!`/`with_dyn!` macros apply rank-generic code to whichever it holds.
//!
//! A [`Value`] is a *logical* tensor (the shape the IR states) held *physically* permuted: physical
//! axis `i` is logical axis `perm[i]`. Keras graphs are channels-last; burn's convolutions are
//! channels-first, so the first convolution moves its input to channels-first once and later ops
//! keep it there. Ops that depend on logical order (flatten, reshape, dense on rank > 2) first put
//! the value back in logical order. That is how a Keras `Flatten` keeps its `H, W, C` order while
//! everything runs NCHW.

use burn::tensor::{Device, Tensor, TensorData};

/// A float tensor of rank 1 to 5.
#[derive(Clone, Debug)]
pub enum Dyn {
    R1(Tensor<1>),
    R2(Tensor<2>),
    R3(Tensor<3>),
    R4(Tensor<4>),
    R5(Tensor<5>),
}

/// Applies a rank-generic expression to a [`Dyn`], keeping the rank: `map_dyn!(v, x => x.exp())`.
macro_rules! map_dyn {
    ($v:expr, $x:ident => $e:expr) => {
        match $v {
            $crate::value::Dyn::R1($x) => $crate::value::Dyn::R1($e),
            $crate::value::Dyn::R2($x) => $crate::value::Dyn::R2($e),
            $crate::value::Dyn::R3($x) => $crate::value::Dyn::R3($e),
            $crate::value::Dyn::R4($x) => $crate::value::Dyn::R4($e),
            $crate::value::Dyn::R5($x) => $crate::value::Dyn::R5($e),
        }
    };
}

/// Evaluates a rank-generic expression on a [`Dyn`]: `with_dyn!(&v, x => x.dims().to_vec())`.
macro_rules! with_dyn {
    ($v:expr, $x:ident => $e:expr) => {
        match $v {
            $crate::value::Dyn::R1($x) => $e,
            $crate::value::Dyn::R2($x) => $e,
            $crate::value::Dyn::R3($x) => $e,
            $crate::value::Dyn::R4($x) => $e,
            $crate::value::Dyn::R5($x) => $e,
        }
    };
}

pub(crate) use {map_dyn, with_dyn};

impl Dyn {
    /// Number of axes.
    pub fn rank(&self) -> usize {
        match self {
            Dyn::R1(_) => 1,
            Dyn::R2(_) => 2,
            Dyn::R3(_) => 3,
            Dyn::R4(_) => 4,
            Dyn::R5(_) => 5,
        }
    }

    /// The physical dimensions.
    pub fn dims(&self) -> Vec<usize> {
        with_dyn!(self, x => x.dims().to_vec())
    }

    /// The same values under `shape` (rank 1 to 5).
    pub fn reshape(self, shape: &[usize]) -> Dyn {
        macro_rules! to {
            ($x:expr) => {
                match *shape {
                    [a] => Dyn::R1($x.reshape([a])),
                    [a, b] => Dyn::R2($x.reshape([a, b])),
                    [a, b, c] => Dyn::R3($x.reshape([a, b, c])),
                    [a, b, c, d] => Dyn::R4($x.reshape([a, b, c, d])),
                    [a, b, c, d, e] => Dyn::R5($x.reshape([a, b, c, d, e])),
                    _ => panic!("graft supports tensors of rank 1 to 5, not {}", shape.len()),
                }
            };
        }
        with_dyn!(self, x => to!(x))
    }

    /// Reorders axes: output axis `i` is input axis `axes[i]`.
    pub fn permute(self, axes: &[usize]) -> Dyn {
        if axes.iter().enumerate().all(|(i, &a)| i == a) {
            return self;
        }
        let a = |i: usize| axes[i] as isize;
        match self {
            Dyn::R1(x) => Dyn::R1(x),
            Dyn::R2(x) => Dyn::R2(x.permute([a(0), a(1)])),
            Dyn::R3(x) => Dyn::R3(x.permute([a(0), a(1), a(2)])),
            Dyn::R4(x) => Dyn::R4(x.permute([a(0), a(1), a(2), a(3)])),
            Dyn::R5(x) => Dyn::R5(x.permute([a(0), a(1), a(2), a(3), a(4)])),
        }
    }

    /// Uploads a host tensor.
    pub fn from_host(shape: &[usize], data: Vec<f32>, device: &Device) -> Dyn {
        let flat = Tensor::<1>::from_data(
            TensorData::new(data, [shape.iter().product::<usize>()]),
            device,
        );
        Dyn::R1(flat).reshape(shape)
    }

    /// Downloads into a host vector (row-major, physical order).
    pub fn to_host(&self) -> Vec<f32> {
        with_dyn!(self, x => x.to_data().convert::<f32>().try_into_vec::<f32>().expect("float data"))
    }

    /// The rank-4 tensor (panics if the rank differs; callers check ranks at build time).
    pub fn r4(self) -> Tensor<4> {
        match self {
            Dyn::R4(x) => x,
            other => panic!("expected a rank-4 tensor, got rank {}", other.rank()),
        }
    }

    /// The rank-2 tensor.
    pub fn r2(self) -> Tensor<2> {
        match self {
            Dyn::R2(x) => x,
            other => panic!("expected a rank-2 tensor, got rank {}", other.rank()),
        }
    }
}

/// A logical tensor in a physical layout (see the module docs).
#[derive(Clone, Debug)]
pub struct Value {
    pub tensor: Dyn,
    /// Physical axis `i` holds logical axis `perm[i]`.
    pub perm: Vec<usize>,
}

/// `[0, 1, ..., rank-1]`.
pub fn identity(rank: usize) -> Vec<usize> {
    (0..rank).collect()
}

/// The physical layout that holds a channels-last logical tensor channels-first:
/// `[0, r-1, 1, ..., r-2]` (NHWC held as NCHW).
pub fn channels_first_of_last(rank: usize) -> Vec<usize> {
    let mut p = vec![0, rank - 1];
    p.extend(1..rank - 1);
    p
}

fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

impl Value {
    /// A tensor held in logical order.
    pub fn logical(tensor: Dyn) -> Self {
        let perm = identity(tensor.rank());
        Self { tensor, perm }
    }

    /// A tensor held in the given layout.
    pub fn with_perm(tensor: Dyn, perm: Vec<usize>) -> Self {
        Self { tensor, perm }
    }

    pub fn rank(&self) -> usize {
        self.perm.len()
    }

    /// The physical axis that holds logical axis `axis`.
    pub fn physical_axis(&self, axis: usize) -> usize {
        self.perm
            .iter()
            .position(|&p| p == axis)
            .expect("valid axis")
    }

    /// The logical dimensions.
    pub fn logical_dims(&self) -> Vec<usize> {
        let phys = self.tensor.dims();
        let inv = inverse(&self.perm);
        (0..self.rank()).map(|a| phys[inv[a]]).collect()
    }

    /// Re-lays the tensor out as `target` (a no-op when it already is).
    pub fn to_perm(self, target: &[usize]) -> Value {
        if self.perm == target {
            return self;
        }
        let inv = inverse(&self.perm);
        let axes: Vec<usize> = target.iter().map(|&t| inv[t]).collect();
        Value {
            tensor: self.tensor.permute(&axes),
            perm: target.to_vec(),
        }
    }

    /// The tensor in logical order.
    pub fn into_logical(self) -> Dyn {
        let rank = self.rank();
        self.to_perm(&identity(rank)).tensor
    }

    /// True when held in logical order.
    pub fn is_logical(&self) -> bool {
        self.perm.iter().enumerate().all(|(i, &p)| i == p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip() {
        let device = Device::flex();
        // Logical NHWC (1, 2, 3, 4) with values 0..24.
        let data: Vec<f32> = (0..24).map(|v| v as f32).collect();
        let v = Value::logical(Dyn::from_host(&[1, 2, 3, 4], data.clone(), &device));
        let cf = v.clone().to_perm(&channels_first_of_last(4));
        assert_eq!(cf.tensor.dims(), vec![1, 4, 2, 3]);
        assert_eq!(cf.logical_dims(), vec![1, 2, 3, 4]);
        assert_eq!(cf.physical_axis(3), 1);
        // Element (n=0, h=1, w=2, c=3) = ((1*3)+2)*4+3 = 23 sits at NCHW (0, 3, 1, 2).
        let host = cf.tensor.to_host();
        assert_eq!(host[3 * 6 + 5], 23.0);
        assert_eq!(cf.into_logical().to_host(), data);
    }
}
