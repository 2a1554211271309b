//! A hint to the CPU to start loading bytes that will be read soon: the one
//! place spool issues it, and its one `unsafe` block.
//!
//! A batch's payloads are separate allocations, usually cold: the checksum
//! pass over each stalls on memory until the hardware prefetcher has seen a
//! few lines. Asking for the next payload while the current one is
//! checksummed hides most of that stall (measured in docs/benchmarks.md).

/// Cache lines of a payload worth asking for ahead: the hardware
/// prefetcher takes over on longer runs.
const LINES: usize = 32;

/// Starts loading the first bytes of `bytes` into the cache. Never faults
/// and changes nothing observable; a no-op off x86-64.
#[inline]
pub(crate) fn ahead(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        for offset in (0..bytes.len().min(LINES * 64)).step_by(64) {
            #[expect(unsafe_code, reason = "the one prefetch hint")]
            // SAFETY: `_mm_prefetch` needs SSE, which every x86-64 CPU has
            // (it is in the target's baseline). A prefetch never faults and
            // reads nothing into the program: it is a hint, valid for any
            // address; this one is inside `bytes` anyway.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().add(offset).cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}
