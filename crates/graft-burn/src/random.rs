//! Randomness of training-mode layers (dropout masks), seeded per thread.
//!
//! burn's backends keep one process-wide generator (`Backend::seed`): two trainings in one
//! process (parallel tests, a server training several models) would draw from each other's
//! stream and stop being repeatable. A trainer seeds this thread's generator before each step
//! instead, so a seeded run gives the same masks whatever else runs in the process. Unseeded
//! threads fall back to the backend's generator.

use std::cell::RefCell;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

thread_local! {
    static RNG: RefCell<Option<ChaCha8Rng>> = const { RefCell::new(None) };
}

/// Seeds this thread's generator; the next masks drawn on this thread follow from `seed`.
pub fn seed(seed: u64) {
    RNG.with(|r| *r.borrow_mut() = Some(ChaCha8Rng::seed_from_u64(seed)));
}

/// Forgets this thread's seed (masks come from the backend's generator again).
pub fn unseed() {
    RNG.with(|r| *r.borrow_mut() = None);
}

/// `n` draws of 1.0 with probability `keep` (else 0.0), or `None` when this thread is unseeded.
pub(crate) fn bernoulli(n: usize, keep: f64) -> Option<Vec<f32>> {
    RNG.with(|r| {
        r.borrow_mut().as_mut().map(|rng| {
            (0..n)
                .map(|_| {
                    if rng.random_bool(keep.clamp(0.0, 1.0)) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        })
    })
}

/// `n` uniform draws in `[low, high)` from this thread's seeded generator, or from an
/// unseeded one when the thread was never seeded.
pub(crate) fn uniform(n: usize, low: f64, high: f64) -> Vec<f64> {
    let draw = |rng: &mut dyn rand::RngCore| -> Vec<f64> {
        (0..n)
            .map(|_| {
                let u: f64 = rand::Rng::random(rng);
                low + (high - low) * u
            })
            .collect()
    };
    RNG.with(|r| match r.borrow_mut().as_mut() {
        Some(rng) => draw(rng),
        None => draw(&mut rand::rng()),
    })
}
