//! A counting allocator for this test binary, per thread, so that tests can
//! assert how much one call allocates while other tests run in parallel.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static BYTES: Cell<u64> = const { Cell::new(0) };
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = BYTES.try_with(|b| b.set(b.get() + l.size() as u64));
        let _ = CALLS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let _ = BYTES.try_with(|b| b.set(b.get() + new as u64));
        let _ = CALLS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (bytes, allocation calls) made by `f` on this thread.
pub(crate) fn measure<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    let b0 = BYTES.with(Cell::get);
    let c0 = CALLS.with(Cell::get);
    let r = f();
    (r, BYTES.with(Cell::get) - b0, CALLS.with(Cell::get) - c0)
}
