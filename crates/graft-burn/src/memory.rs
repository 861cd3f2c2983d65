//! The process allocator, tuned for activation buffers.
//!
//! Every op of burn's CPU backend allocates its output. With glibc's default malloc, a buffer
//! over the mmap threshold (dynamic, at most 32 MiB) is mapped fresh from the kernel and unmapped
//! again when freed, and freed memory at the top of the heap is handed back as soon as it exceeds
//! the trim threshold. A CNN forward pass allocates and frees tens of such buffers per batch, so
//! the kernel zero-fills and maps every page again, and on more than one core each unmapping (and
//! each copy-on-write of a zero page an op reads before writing) flushes the other cores' TLBs.
//! On the project's 2-core box that was a third of a MobileNetV2 forward pass (docs/PERFORMANCE.md).
//!
//! [`tune_allocator`] fixes the mmap threshold at glibc's maximum (32 MiB, which also stops the
//! dynamic adjustment) and keeps freed memory in the heap (trim threshold 512 MiB, top pad
//! 64 MiB), so buffers under 32 MiB are recycled by malloc instead of by the kernel; the feature
//! cache runs its frozen pass in sub-batches whose activations fit under that threshold
//! ([`rows_under_mmap_threshold`]). The cost is resident memory: up to the trim threshold of
//! freed memory stays mapped, as in every ML runtime's caching allocator.
//!
//! graft calls it when it builds a model ([`crate::Model::new`], [`crate::GraphModule::build`]).
//! Set `GRAFT_SYSTEM_MALLOC=1` to leave the allocator as it is (a host process with its own
//! tuning). Other platforms and C libraries: nothing happens.
//!
//! This module holds graft's only `unsafe` code: the `mallopt` FFI calls, which change malloc's
//! parameters and are safe to call at any time.

use std::sync::OnceLock;

/// glibc's largest accepted mmap threshold (`DEFAULT_MMAP_THRESHOLD_MAX` on 64-bit).
pub const MMAP_THRESHOLD: usize = 32 << 20;
const TRIM_THRESHOLD: usize = 512 << 20;
const TOP_PAD: usize = 64 << 20;

/// Tunes glibc's malloc for activation buffers (once per process; see the module docs).
/// Returns whether the tuning is in effect.
pub fn tune_allocator() -> bool {
    static TUNED: OnceLock<bool> = OnceLock::new();
    *TUNED.get_or_init(|| {
        let opted_out = std::env::var_os("GRAFT_SYSTEM_MALLOC").is_some_and(|v| v != "0");
        !opted_out && set_malloc_parameters()
    })
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_malloc_parameters() -> bool {
    let set = |param: libc::c_int, value: usize| {
        let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only changes malloc's parameters; it is safe to call at any time and
        // returns 0 when it rejects a value.
        unsafe { libc::mallopt(param, value) == 1 }
    };
    set(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        & set(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        & set(libc::M_TOP_PAD, TOP_PAD)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_malloc_parameters() -> bool {
    false
}

/// How many rows of a batch to run at once so that no activation buffer exceeds the mmap
/// threshold, given the largest activation of one row in bytes (at least 1, at most `batch`).
pub fn rows_under_mmap_threshold(row_bytes: usize, batch: usize) -> usize {
    // A little under the threshold: burn's buffers carry a few bytes of bookkeeping.
    let budget = MMAP_THRESHOLD - (1 << 20);
    (budget / row_bytes.max(1)).clamp(1, batch.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fit_the_threshold() {
        // MobileNetV2 at 224: the largest activation is 112 x 112 x 96 floats per image.
        let row = 112 * 112 * 96 * 4;
        let rows = rows_under_mmap_threshold(row, 32);
        assert_eq!(rows, 6);
        assert!(rows * row <= MMAP_THRESHOLD);
        assert_eq!(rows_under_mmap_threshold(row, 4), 4);
        assert_eq!(rows_under_mmap_threshold(usize::MAX, 32), 1);
        assert_eq!(rows_under_mmap_threshold(0, 0), 1);
    }
}
