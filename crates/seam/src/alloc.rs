//! The global allocator: mimalloc, asked the way std asks the system allocator.
//!
//! The `mimalloc` crate sends every request through `mi_malloc_aligned`. In mimalloc v3 that
//! takes the plain path only when a free block of the right size is at hand and the size
//! rounds to a power of two; anything else (a 48-byte box whose page has no free block yet,
//! any buffer over 1 KiB) is over-allocated by the alignment and aligned inside a larger
//! block. Callgrind counted ~17 such slow allocations per gateway call. mimalloc already
//! aligns every block to 16 bytes once it is larger than 8 (its bins are multiples of two
//! words on 64-bit), so requests whose alignment that covers go to `mi_malloc` and friends,
//! as std's system allocator does with `malloc`; only larger alignments use the aligned API.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// What every mimalloc block is aligned to when the request is at least that large.
const MIN_ALIGN: usize = 16;

pub struct Mimalloc;

fn plain(align: usize, size: usize) -> bool {
    align <= MIN_ALIGN && align <= size
}

// SAFETY: each method hands the request to mimalloc, which returns blocks aligned as asked
// (see `plain`) or null; `dealloc` and `realloc` receive only pointers mimalloc gave out.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: plain FFI calls with a size and a power-of-two alignment.
        unsafe {
            if plain(layout.align(), layout.size()) {
                mi::mi_malloc(layout.size()) as *mut u8
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if plain(layout.align(), layout.size()) {
                mi::mi_zalloc(layout.size()) as *mut u8
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator; mi_free takes aligned blocks too.
        unsafe { mi::mi_free(ptr as *mut c_void) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`'s alignment.
        unsafe {
            if plain(layout.align(), new_size) {
                mi::mi_realloc(ptr as *mut c_void, new_size) as *mut u8
            } else {
                mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
            }
        }
    }
}

/// Turns transparent huge pages off for the process. mimalloc asks for them (madvise) on the
/// arena it reserves, and the kernel then backs each 2 MiB of it that is touched at all with a
/// whole huge page: an open stream's few small buffers, spread over the arena, cost ~20 KiB
/// more each, and the idle gateway ~18 MiB more (5,000 slow streams: 65.7 -> 46.1 KiB per
/// stream, bench/results/2026-12-06-streams.md). Called first thing in `main`; what mimalloc
/// had faulted in before keeps its pages.
pub fn small_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integers only and sets a flag of this process; an
    // error (a kernel without it) leaves things as they were, which is fine.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size up to 4 KiB and a few large ones, at every alignment up to a page: the block
    /// is aligned as asked, writable to its end, and survives growing and shrinking.
    #[test]
    fn blocks_are_aligned_as_asked_on_both_paths() {
        let a = Mimalloc;
        let sizes = (1..=4096).chain([65_536, 1 << 20, (1 << 20) + 24]);
        for size in sizes {
            for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                unsafe {
                    for zeroed in [false, true] {
                        let p = if zeroed {
                            a.alloc_zeroed(layout)
                        } else {
                            a.alloc(layout)
                        };
                        assert!(!p.is_null(), "{size} bytes, align {align}");
                        assert_eq!(p as usize % align, 0, "{size} bytes, align {align}");
                        if zeroed {
                            assert!((0..size).all(|i| *p.add(i) == 0), "{size} zeroed");
                        }
                        p.write_bytes(0xa5, size);
                        let grown = a.realloc(p, layout, size * 3);
                        assert_eq!(grown as usize % align, 0, "grown {size}, align {align}");
                        assert_eq!(*grown.add(size - 1), 0xa5);
                        let shrunk = a.realloc(grown, layout, size.div_ceil(2));
                        assert_eq!(shrunk as usize % align, 0, "shrunk {size}, align {align}");
                        assert_eq!(*shrunk, 0xa5);
                        a.dealloc(
                            shrunk,
                            Layout::from_size_align(size.div_ceil(2), align).unwrap(),
                        );
                    }
                }
            }
        }
    }
}
