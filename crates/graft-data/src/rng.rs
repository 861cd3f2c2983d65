//! Deterministic per-sample randomness.
//!
//! Every random draw is made from a generator seeded by (seed, epoch, sample index, purpose), never from a
//! shared generator consumed in whatever order threads happen to run. That is what makes a seeded epoch
//! produce the same bytes on 1 thread or 16, with or without prefetching.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a generator is for; keeps the streams of different purposes independent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Purpose {
    /// The per-epoch permutation of sample indices.
    Shuffle = 0x5348_5546,
    /// The random augmentation parameters of one sample.
    Augment = 0x4155_474d,
    /// File-name suffixes of `save_to_dir` previews (Keras uses a random hash).
    PreviewName = 0x5052_4556,
    /// `fit(augment=true)` rounds.
    Fit = 0x4649_5400,
}

/// A ChaCha8 generator for one (seed, epoch, index, purpose) tuple: 256 bits of key built from the four
/// 64-bit words, so distinct tuples never share a stream.
pub(crate) fn stream(seed: u64, epoch: u64, index: u64, purpose: Purpose) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[0..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&epoch.to_le_bytes());
    key[16..24].copy_from_slice(&index.to_le_bytes());
    key[24..32].copy_from_slice(&(purpose as u64).to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// numpy's `uniform(low, high)`: `low + (high - low) * u` with `u` in [0, 1). Unlike `Rng::random_range`
/// it accepts `low == high` and `low > high`, as numpy does.
pub(crate) fn uniform<R: Rng>(rng: &mut R, low: f64, high: f64) -> f64 {
    let u: f64 = rng.random();
    low + (high - low) * u
}

/// A fresh seed from the operating system, for iterators created without one (Keras then uses numpy's
/// global state; graft draws one seed up front so that the iterator stays internally consistent).
pub(crate) fn entropy_seed() -> u64 {
    rand::rng().random()
}
