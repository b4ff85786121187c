//! Process memory settings.
//!
//! Every argon2 computation allocates its 19 MiB matrix and frees it. glibc's malloc raises
//! its mmap threshold dynamically after the first such free, so later matrices come from the
//! heap arenas, which keep the memory: measured here, 160 registrations left transaksi at
//! 1.26 GB resident (12 MB with a fixed threshold). A fixed threshold of 1 MiB makes every
//! large block a mapping of its own, returned to the kernel when freed, at the cost of the
//! page faults of one fresh 19 MiB mapping per argon2 run (about a millisecond).

/// Allocations of at least this many bytes are mapped and unmapped on their own.
pub const MMAP_THRESHOLD_BYTES: i32 = 1 << 20;

/// Fixes the mmap threshold (glibc only; other allocators return large blocks on their own).
pub fn return_large_blocks_to_the_kernel() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes the allocator's tuning parameters; it is thread-safe
        // and touches no memory of ours. It returns 0 when the value is refused, which
        // leaves the default behaviour (more resident memory, nothing unsafe).
        let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) };
        if accepted == 0 {
            tracing::warn!(
                threshold_bytes = MMAP_THRESHOLD_BYTES,
                "the allocator refused a fixed mmap threshold; argon2 memory may stay resident"
            );
        }
    }
}
