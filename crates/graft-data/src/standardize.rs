//! Keras' `standardize` (preprocessing function, rescale, samplewise and featurewise normalisation, ZCA
//! whitening) and `fit`, which computes the featurewise statistics.

use crate::error::DataError;
use crate::generator::ImageDataGenerator;
use crate::image::ImageShape;
use crate::ops;
use crate::rng::{self, Purpose};
use nalgebra::{DMatrix, SymmetricEigen};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The largest image size (values per image) ZCA whitening accepts: its matrix is size² f32 values
/// (16384² is 1 GiB). Keras has no limit and runs out of memory instead.
pub const MAX_ZCA_DIM: usize = 16_384;

/// Statistics computed by [`ImageDataGenerator::fit`].
#[derive(Debug, Default)]
pub struct Statistics {
    /// Per-channel mean (Keras' `mean`), when `featurewise_center`.
    pub mean: Option<Vec<f32>>,
    /// Per-channel standard deviation (Keras' `std`), when `featurewise_std_normalization`.
    pub std: Option<Vec<f32>>,
    /// The ZCA matrix, `dim` x `dim` row-major, when `zca_whitening`.
    pub zca_whitening_matrix: Option<(usize, Vec<f32>)>,
    warned: AtomicBool,
}

impl Statistics {
    /// Whether `fit` has run.
    pub fn is_fitted(&self) -> bool {
        self.mean.is_some() || self.std.is_some() || self.zca_whitening_matrix.is_some()
    }
}

impl ImageDataGenerator {
    /// Keras' `standardize` on one HWC image, in place.
    pub fn standardize(&self, x: &mut [f32], shape: ImageShape) {
        self.standardize_inner(x, shape, false);
    }

    /// The statistics `fit` computed (shared by the iterators created after it).
    pub fn statistics(&self) -> &Statistics {
        &self.statistics
    }

    pub(crate) fn standardize_inner(&self, x: &mut [f32], shape: ImageShape, rescaled: bool) {
        if let Some(function) = &self.preprocessing_function {
            function(x, shape);
        }
        if let (false, Some(factor)) = (rescaled, self.rescale) {
            ops::rescale(x, factor);
        }
        let (featurewise_center, featurewise_std, samplewise_center, samplewise_std) =
            self.effective_flags();
        if samplewise_center {
            let mean = mean(x) as f32;
            x.iter_mut().for_each(|v| *v -= mean);
        }
        if samplewise_std {
            let std = (std_dev(x) + 1e-6) as f32;
            x.iter_mut().for_each(|v| *v /= std);
        }
        let stats = &self.statistics;
        if featurewise_center {
            match &stats.mean {
                Some(mean) if mean.len() == shape.channels => per_channel(x, mean, |v, m| v - m),
                _ => self.warn_unfitted("featurewise_center"),
            }
        }
        if featurewise_std {
            match &stats.std {
                Some(std) if std.len() == shape.channels => {
                    per_channel(x, std, |v, s| v / (s + 1e-6))
                }
                _ => self.warn_unfitted("featurewise_std_normalization"),
            }
        }
        if self.zca_whitening {
            match &stats.zca_whitening_matrix {
                Some((dim, matrix)) if *dim == x.len() => {
                    // Row vector times matrix, accumulated row by row of the matrix (contiguous).
                    let mut white = vec![0.0f32; *dim];
                    for (&v, row) in x.iter().zip(matrix.chunks_exact(*dim)) {
                        for (w, &m) in white.iter_mut().zip(row) {
                            *w += v * m;
                        }
                    }
                    x.copy_from_slice(&white);
                }
                _ => self.warn_unfitted("zca_whitening"),
            }
        }
    }

    fn warn_unfitted(&self, what: &str) {
        if !self.statistics.warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                "this ImageDataGenerator specifies `{what}` but has not been fit on data matching \
                 these images; call `fit` first (the step is skipped)"
            );
        }
    }

    /// Keras' `fit(x, augment, rounds, seed)`: computes the featurewise mean, std and ZCA matrix the
    /// generator's flags ask for, from `x` (NHWC, `shape` = [n, h, w, c]) after `rescale` and, with
    /// `augment`, after `rounds` random augmentations of every image.
    ///
    /// ZCA differs from Keras on rank-deficient data (e.g. fewer images than values per image, where
    /// centring removes one more direction): directions whose singular value is below 1e-6 of the largest
    /// are dropped, where Keras amplifies rounding noise along them by up to `sqrt(n) / zca_epsilon`.
    pub fn fit(
        &mut self,
        x: &[f32],
        shape: [usize; 4],
        augment: bool,
        rounds: usize,
        seed: Option<u64>,
    ) -> Result<(), DataError> {
        self.validate()?;
        let [n, h, w, c] = shape;
        let image = ImageShape::new(h, w, c);
        if n == 0 || image.is_empty() || x.len() != n * image.len() {
            return Err(DataError::Shape(format!(
                "fit got {} values for shape {shape:?}",
                x.len()
            )));
        }
        let (featurewise_center, featurewise_std, _, _) = self.effective_flags();
        if self.zca_whitening && image.len() > MAX_ZCA_DIM {
            return Err(DataError::invalid(
                "zca_whitening",
                format!(
                    "images of {} values need a {0}x{0} matrix; graft accepts up to {MAX_ZCA_DIM}",
                    image.len()
                ),
            ));
        }
        let mut data: Vec<f32> = x.to_vec();
        if let Some(factor) = self.rescale {
            ops::rescale(&mut data, factor);
        }
        if augment {
            let seed = seed.unwrap_or_else(rng::entropy_seed);
            let rounds = rounds.max(1);
            let mut augmented = vec![0.0f32; rounds * data.len()];
            for (r, round) in augmented.chunks_exact_mut(data.len()).enumerate() {
                for (i, (dst, src)) in round
                    .chunks_exact_mut(image.len())
                    .zip(data.chunks_exact(image.len()))
                    .enumerate()
                {
                    let mut rng = rng::stream(seed, r as u64, i as u64, Purpose::Fit);
                    let params = self.get_random_transform(h, w, &mut rng);
                    self.apply_transform(src, image, &params, dst)?;
                }
            }
            data = augmented;
        }
        let count = data.len() / image.len();
        let mut stats = Statistics::default();
        if featurewise_center {
            let mean = channel_means(&data, c);
            per_channel(&mut data, &mean, |v, m| v - m);
            stats.mean = Some(mean);
        }
        if featurewise_std {
            let std: Vec<f32> = channel_means(&data.iter().map(|v| v * v).collect::<Vec<_>>(), c)
                .iter()
                .map(|v| v.sqrt())
                .collect();
            per_channel(&mut data, &std, |v, s| v / (s + 1e-6));
            stats.std = Some(std);
        }
        if self.zca_whitening {
            let matrix = zca_matrix(&data, count, image.len(), self.zca_epsilon)?;
            stats.zca_whitening_matrix = Some((image.len(), matrix));
        }
        self.statistics = Arc::new(stats);
        Ok(())
    }
}

fn per_channel(x: &mut [f32], values: &[f32], op: impl Fn(f32, f32) -> f32) {
    for px in x.chunks_exact_mut(values.len()) {
        for (v, &s) in px.iter_mut().zip(values) {
            *v = op(*v, s);
        }
    }
}

fn channel_means(x: &[f32], channels: usize) -> Vec<f32> {
    let mut sums = vec![0.0f64; channels];
    for px in x.chunks_exact(channels) {
        for (s, &v) in sums.iter_mut().zip(px) {
            *s += f64::from(v);
        }
    }
    let count = (x.len() / channels).max(1) as f64;
    sums.iter().map(|s| (s / count) as f32).collect()
}

fn mean(x: &[f32]) -> f64 {
    x.iter().map(|&v| f64::from(v)).sum::<f64>() / x.len().max(1) as f64
}

fn std_dev(x: &[f32]) -> f64 {
    let m = mean(x);
    (x.iter().map(|&v| (f64::from(v) - m).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// Keras' ZCA matrix `U diag(sqrt(n) / (s + eps)) U^T`, where `U S V^T` is the SVD of the (centred) data
/// transposed. Computed from the eigendecomposition of the smaller Gram matrix (d x d or n x n), in f64.
fn zca_matrix(data: &[f32], n: usize, d: usize, epsilon: f64) -> Result<Vec<f32>, DataError> {
    let x = DMatrix::<f64>::from_row_iterator(n, d, data.iter().map(|&v| f64::from(v)));
    let (u, s) = if d <= n {
        let eigen =
            SymmetricEigen::try_new(x.transpose() * &x, f64::EPSILON, 0).ok_or_else(|| {
                DataError::Numerical("ZCA eigendecomposition did not converge".into())
            })?;
        let s = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
        (eigen.eigenvectors, s)
    } else {
        let eigen =
            SymmetricEigen::try_new(&x * x.transpose(), f64::EPSILON, 0).ok_or_else(|| {
                DataError::Numerical("ZCA eigendecomposition did not converge".into())
            })?;
        let s = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
        let mut u = x.transpose() * eigen.eigenvectors;
        for (mut column, &si) in u.column_iter_mut().zip(s.iter()) {
            if si > 0.0 {
                column /= si;
            }
        }
        (u, s)
    };
    let s_max = s.iter().copied().fold(0.0, f64::max);
    // Below 1e-6 of the largest singular value a direction is float32 rounding noise (the data is f32)
    // or, in f64, the error of a Gram-matrix eigenvalue's square root (~1.5e-8 relative).
    let tolerance = s_max * 1e-6;
    let root_n = (n as f64).sqrt();
    let mut scaled = u.clone();
    for (mut column, &si) in scaled.column_iter_mut().zip(s.iter()) {
        if si > tolerance {
            column *= root_n / (si + epsilon);
        } else {
            column.fill(0.0);
        }
    }
    let w = scaled * u.transpose();
    Ok(w.iter().map(|&v| v as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn samplewise_normalisation_centres_and_scales_each_image() {
        let generator = ImageDataGenerator::new().samplewise_std_normalization(true);
        let shape = ImageShape::new(1, 4, 1);
        let mut x = vec![1.0, 2.0, 3.0, 6.0];
        generator.standardize(&mut x, shape);
        let m: f32 = x.iter().sum::<f32>() / 4.0;
        let var: f32 = x.iter().map(|v| (v - m).powi(2)).sum::<f32>() / 4.0;
        assert!(m.abs() < 1e-6 && (var - 1.0).abs() < 1e-4, "{x:?}");
    }

    #[test]
    fn featurewise_fit_then_standardize_gives_zero_mean_unit_std_per_channel() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let x: Vec<f32> = (0..5 * 3 * 3 * 2)
            .map(|i| rng.random::<f32>() * 100.0 + (i % 2) as f32 * 50.0)
            .collect();
        let mut generator = ImageDataGenerator::new()
            .featurewise_std_normalization(true)
            .rescale(0.5);
        generator.fit(&x, [5, 3, 3, 2], false, 1, None).unwrap();
        let shape = ImageShape::new(3, 3, 2);
        let mut out = x.clone();
        for image in out.chunks_exact_mut(shape.len()) {
            generator.standardize(image, shape);
        }
        for c in 0..2 {
            let values: Vec<f32> = out.iter().skip(c).step_by(2).copied().collect();
            let m = values.iter().sum::<f32>() / values.len() as f32;
            let var = values.iter().map(|v| (v - m).powi(2)).sum::<f32>() / values.len() as f32;
            assert!(
                m.abs() < 1e-4 && (var - 1.0).abs() < 1e-3,
                "channel {c}: {m} {var}"
            );
        }
    }

    #[test]
    fn zca_whitens_the_training_data() {
        for (n, dims) in [(60usize, [2usize, 2, 3]), (8, [2, 3, 2])] {
            let d: usize = dims.iter().product();
            let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
            // Correlated data: a random mix of a few sources.
            let sources: Vec<f32> = (0..n * d).map(|_| rng.random::<f32>() - 0.5).collect();
            let x: Vec<f32> = (0..n * d)
                .map(|i| {
                    let (row, col) = (i / d, i % d);
                    sources[row * d + col] + 0.7 * sources[row * d + (col + 1) % d]
                })
                .collect();
            let mut generator = ImageDataGenerator::new()
                .zca_whitening(true)
                .zca_epsilon(1e-9);
            generator
                .fit(&x, [n, dims[0], dims[1], dims[2]], false, 1, None)
                .unwrap();
            let shape = ImageShape::new(dims[0], dims[1], dims[2]);
            let mut white = x.clone();
            for image in white.chunks_exact_mut(d) {
                generator.standardize(image, shape);
            }
            let w = DMatrix::<f64>::from_row_iterator(n, d, white.iter().map(|&v| f64::from(v)));
            let cov = w.transpose() * &w / n as f64;
            // Keras centres per channel, not per value, so the data keeps its full rank.
            let rank = n.min(d);
            let trace: f64 = cov.diagonal().sum();
            // Whitened: the covariance is the identity on the data's span.
            assert!(
                (trace - rank as f64).abs() < 1e-2,
                "n={n}: trace {trace}, rank {rank}"
            );
            let cov2 = &cov * &cov;
            assert!((&cov2 - &cov).norm() < 1e-2, "n={n}: not a projection");
        }
    }
}
