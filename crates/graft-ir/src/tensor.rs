//! Dense f32 tensors that hold weights.
//!
//! Weights are the only data the IR owns. They are row-major (C order), always `f32`, and stored in
//! the layouts listed in the crate documentation ("Weight layout"), whatever the file they came
//! from.

use crate::error::IrError;

/// A dense, row-major `f32` tensor.
#[derive(Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

impl Tensor {
    /// Builds a tensor, checking that `data` holds exactly `shape.iter().product()` values.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, IrError> {
        let expected = checked_numel(&shape)?;
        if expected != data.len() {
            return Err(IrError::TensorSize {
                shape,
                len: data.len(),
            });
        }
        Ok(Self { shape, data })
    }

    /// A tensor filled with `value`.
    pub fn full(shape: Vec<usize>, value: f32) -> Self {
        let n = shape.iter().product();
        Self {
            shape,
            data: vec![value; n],
        }
    }

    /// A tensor of zeros.
    pub fn zeros(shape: Vec<usize>) -> Self {
        Self::full(shape, 0.0)
    }

    /// A rank-0 tensor.
    pub fn scalar(value: f32) -> Self {
        Self {
            shape: vec![],
            data: vec![value],
        }
    }

    /// The dimensions.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The values, row-major, mutably (the shape cannot change).
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Takes the values out.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Splits into shape and values.
    pub fn into_parts(self) -> (Vec<usize>, Vec<f32>) {
        (self.shape, self.data)
    }

    /// Number of values.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// Same values under a new shape with the same number of values.
    pub fn reshaped(self, shape: Vec<usize>) -> Result<Self, IrError> {
        Self::new(shape, self.data)
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]` (numpy's `transpose(perm)`).
    pub fn permuted(&self, perm: &[usize]) -> Result<Self, IrError> {
        let rank = self.shape.len();
        let mut seen = vec![false; rank];
        if perm.len() != rank
            || perm
                .iter()
                .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
        {
            return Err(IrError::BadPermutation {
                perm: perm.to_vec(),
                rank,
            });
        }
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(self.clone());
        }
        let out_shape: Vec<usize> = perm.iter().map(|&p| self.shape[p]).collect();
        let in_strides = strides(&self.shape);
        // Stride in the input of each output axis.
        let src: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
        let n = self.data.len();
        if n == 0 {
            return Ok(Self {
                shape: out_shape,
                data: vec![],
            });
        }
        let last = rank - 1;
        // The output axis holding the input's contiguous axis.
        let q = perm.iter().position(|&p| p == last).expect("a permutation");
        let data = if q == last {
            permute_lines(&self.data, &out_shape, &src)
        } else {
            permute_tiled(&self.data, &out_shape, &src, q)
        };
        Ok(Self {
            shape: out_shape,
            data,
        })
    }
}

/// Visits every index of `shape` over the axes in `axes` (an odometer), calling `f` with the
/// input and output offsets of each.
fn for_each_index(
    shape: &[usize],
    axes: &[usize],
    src: &[usize],
    dst: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    let mut index = vec![0usize; axes.len()];
    let (mut s, mut d) = (0usize, 0usize);
    loop {
        f(s, d);
        let mut k = axes.len();
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            let a = axes[k];
            index[k] += 1;
            s += src[a];
            d += dst[a];
            if index[k] < shape[a] {
                break;
            }
            s -= src[a] * index[k];
            d -= dst[a] * index[k];
            index[k] = 0;
        }
    }
}

/// Permutation that keeps the input's contiguous axis innermost: copy strided lines.
fn permute_lines(data: &[f32], out_shape: &[usize], src: &[usize]) -> Vec<f32> {
    let rank = out_shape.len();
    let last = rank - 1;
    let dst = strides(out_shape);
    let mut out = vec![0f32; data.len()];
    let outer: Vec<usize> = (0..last).collect();
    let (len, step) = (out_shape[last], src[last]);
    for_each_index(out_shape, &outer, src, &dst, |s, d| {
        for (k, o) in out[d..d + len].iter_mut().enumerate() {
            *o = data[s + k * step];
        }
    });
    out
}

/// Permutation that moves the input's contiguous axis to output axis `q`: transpose in square
/// tiles between axis `q` and the output's last axis, so that both reads and writes stay within a
/// few cache lines (a plain loop reads with a large stride; for a 3x3x256x256 conv kernel that
/// is several times slower).
fn permute_tiled(data: &[f32], out_shape: &[usize], src: &[usize], q: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let rank = out_shape.len();
    let last = rank - 1;
    let dst = strides(out_shape);
    let mut out = vec![0f32; data.len()];
    let others: Vec<usize> = (0..rank).filter(|&a| a != q && a != last).collect();
    let (nq, nl) = (out_shape[q], out_shape[last]);
    let (sq, sl, dq) = (src[q], src[last], dst[q]);
    for_each_index(out_shape, &others, src, &dst, |s, d| {
        for a0 in (0..nq).step_by(TILE) {
            for b0 in (0..nl).step_by(TILE) {
                for a in a0..(a0 + TILE).min(nq) {
                    let row = &mut out[d + a * dq..];
                    let base = s + a * sq;
                    for b in b0..(b0 + TILE).min(nl) {
                        row[b] = data[base + b * sl];
                    }
                }
            }
        }
    });
    out
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head: Vec<f32> = self.data.iter().take(4).copied().collect();
        f.debug_struct("Tensor")
            .field("shape", &self.shape)
            .field("head", &head)
            .finish()
    }
}

/// Row-major strides of `shape`, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// The number of elements of `shape`, or an error when it overflows `usize`.
pub fn checked_numel(shape: &[usize]) -> Result<usize, IrError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| IrError::TensorTooLarge {
            shape: shape.to_vec(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_length() {
        assert!(Tensor::new(vec![2, 3], vec![0.0; 6]).is_ok());
        assert!(Tensor::new(vec![2, 3], vec![0.0; 5]).is_err());
    }

    #[test]
    fn permute_matches_numpy_transpose() {
        // a = arange(24).reshape(2,3,4); a.transpose(2,0,1)
        let t = Tensor::new(vec![2, 3, 4], (0..24).map(|v| v as f32).collect()).unwrap();
        let p = t.permuted(&[2, 0, 1]).unwrap();
        assert_eq!(p.shape(), &[4, 2, 3]);
        let expected: Vec<f32> = [
            0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23,
        ]
        .iter()
        .map(|&v| v as f32)
        .collect();
        assert_eq!(p.data(), &expected[..]);
    }

    #[test]
    fn permute_matches_reference_for_every_order() {
        // Both code paths (lines and tiles) against a direct index computation, on sizes that
        // are not multiples of the tile.
        let shape = [3usize, 5, 37, 41];
        let t = Tensor::new(
            shape.to_vec(),
            (0..shape.iter().product::<usize>())
                .map(|v| v as f32)
                .collect(),
        )
        .unwrap();
        let perms: [[usize; 4]; 6] = [
            [3, 2, 0, 1],
            [0, 1, 3, 2],
            [2, 3, 1, 0],
            [1, 0, 2, 3],
            [3, 0, 1, 2],
            [0, 3, 1, 2],
        ];
        for perm in perms {
            let p = t.permuted(&perm).unwrap();
            let out_shape: Vec<usize> = perm.iter().map(|&a| shape[a]).collect();
            let in_strides = strides(&shape);
            let out_strides = strides(&out_shape);
            for (flat, &v) in p.data().iter().enumerate() {
                let mut src = 0;
                for (axis, &a) in perm.iter().enumerate() {
                    let i = flat / out_strides[axis] % out_shape[axis];
                    src += i * in_strides[a];
                }
                assert_eq!(v, src as f32, "perm {perm:?} at {flat}");
            }
        }
    }

    #[test]
    fn permute_rejects_bad_perm() {
        let t = Tensor::zeros(vec![2, 2]);
        assert!(t.permuted(&[0, 0]).is_err());
        assert!(t.permuted(&[0]).is_err());
        assert!(t.permuted(&[0, 2]).is_err());
    }

    #[test]
    fn permute_of_scalar_and_empty() {
        assert_eq!(Tensor::scalar(3.0).permuted(&[]).unwrap().data(), &[3.0]);
        let e = Tensor::zeros(vec![0, 3]);
        assert_eq!(e.permuted(&[1, 0]).unwrap().shape(), &[3, 0]);
    }
}
