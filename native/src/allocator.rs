//! The global allocator of the binary and of the benches (which measure what users run), and
//! how it keeps memory.
#![allow(unsafe_code)] // one call into mimalloc's options

/// The pipeline allocates many small, short-lived vectors per record (glibc's allocator took a fifth
/// of `select`'s time, perf on 10k pairs), and the model's large per-layer tensors came back as
/// fresh pages from the kernel on every pass (a sixth of scoring's time in page faults).
pub use mimalloc::MiMalloc as Allocator;

/// mimalloc's `mi_option_purge_delay` (the 16th of its `mi_option_t`; libmimalloc-sys names no
/// constant for it).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed memory for reuse instead of handing it back to the kernel a second after it is
/// freed (mimalloc's purge). A model's passes free and allocate their per-layer tensors over and
/// over, and each return cost page faults and zeroing at the next allocation: a training step's
/// forward pass spent a third of its time so. Set when a model is loaded: without one, `select`
/// peaks lower with the purge (100k records on two threads: 305 MiB, against 357 with memory
/// kept).
pub fn keep_freed_memory() {
    // SAFETY: sets one integer option, which mimalloc reads at its next purge.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}
