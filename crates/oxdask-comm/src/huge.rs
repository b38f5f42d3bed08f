//! Transparent huge pages for large buffers.
//!
//! A large buffer written for the first time faults in one page at a time, the kernel
//! zero-filling each: with 4 KiB pages that is about as slow as the write itself (a 256 MiB
//! array takes four times longer to fill). Where the kernel gives huge pages only on request
//! (`transparent_hugepage=madvise`, the common default), asking for them makes each fault
//! cover 2 MiB. NumPy asks for them for its own arrays of 4 MiB and more; the buffers oxdask
//! allocates itself (receive buffers, blocks of its NumPy allocator) ask the same way.

/// Buffers of at least this many bytes are given huge pages.
pub const HUGE_FROM: usize = 4 << 20;

/// Asks the kernel to back `len` bytes from `ptr` with huge pages where it can. A hint only:
/// harmless where huge pages are off or unsupported; a no-op for buffers under [`HUGE_FROM`].
#[allow(unsafe_code)]
pub fn advise_huge(ptr: *mut u8, len: usize) {
    if len < HUGE_FROM || ptr.is_null() {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // The whole pages the buffer touches. A large block of the C heap is a mapping of its
        // own whose first page holds the allocator's header: advising from the buffer's first
        // whole page would split the mapping in two, and the C library could then no longer
        // grow it in place (`realloc` would copy the whole block instead of remapping it).
        const PAGE: usize = 4096;
        let start = (ptr as usize) / PAGE * PAGE;
        let end = (ptr as usize).saturating_add(len).next_multiple_of(PAGE);
        // SAFETY: the range is page-aligned and covers only pages the buffer lies in, which
        // are mapped; MADV_HUGEPAGE changes nothing but how later faults in them are served,
        // so a neighbour sharing the first or last page is unaffected.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advising_keeps_contents_and_ignores_small_or_null_buffers() {
        let mut buf = vec![7u8; HUGE_FROM + 12_345];
        advise_huge(buf.as_mut_ptr(), buf.len());
        advise_huge(std::ptr::null_mut(), HUGE_FROM);
        advise_huge(buf.as_mut_ptr(), 10);
        assert!(buf.iter().all(|&b| b == 7));
        buf.iter_mut().for_each(|b| *b = 9);
        assert!(buf.iter().all(|&b| b == 9));
    }
}
