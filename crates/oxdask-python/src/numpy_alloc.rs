//! NumPy's data allocator in worker processes: large array buffers are recycled through a
//! [`Pool`] instead of being unmapped and faulted in again for the next chunk.
//!
//! NumPy (1.22 and later) lets a program replace the functions that allocate array data
//! (`PyDataMem_SetHandler`, NEP 49). The handler set here serves requests of at least
//! [`MIN_BLOCK`] bytes from the pool, or from the C heap, and keeps such blocks in the pool
//! when arrays free them; smaller requests go to NumPy's default handler unchanged. The
//! handler is set per thread context (NumPy keeps it in a context variable), by [`activate`]
//! on the worker's task threads; an array remembers the handler that allocated it, so arrays
//! made anywhere else are unaffected and freeing works from any thread.
//!
//! Only on Linux (the pool asks the C heap for a block's real capacity with
//! `malloc_usable_size`); [`install`] reports whether it is available.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_void, CStr};
use std::sync::OnceLock;
use std::time::Instant;

use pyo3::ffi;
use pyo3::prelude::*;

use crate::pool::{Pool, Stats, MIN_BLOCK};

/// NumPy's `PyDataMemAllocator` (version 1).
#[repr(C)]
#[derive(Clone, Copy)]
struct Allocator {
    ctx: *mut c_void,
    malloc: Option<unsafe extern "C" fn(*mut c_void, usize) -> *mut c_void>,
    calloc: Option<unsafe extern "C" fn(*mut c_void, usize, usize) -> *mut c_void>,
    realloc: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize) -> *mut c_void>,
    free: Option<unsafe extern "C" fn(*mut c_void, *mut c_void, usize)>,
}

/// NumPy's `PyDataMem_Handler`.
#[repr(C)]
struct Handler {
    name: [c_char; 127],
    version: u8,
    allocator: Allocator,
}

type GetHandler = unsafe extern "C" fn() -> *mut ffi::PyObject;
type SetHandler = unsafe extern "C" fn(*mut ffi::PyObject) -> *mut ffi::PyObject;

/// Slots of NumPy's C-API table (`numpy/__multiarray_api.h`, stable since 1.22).
const SET_HANDLER: usize = 304;
const GET_HANDLER: usize = 305;
const DEFAULT_HANDLER: usize = 306;
const CAPSULE_NAME: &CStr = c"mem_handler";

struct Installed {
    /// The capsule wrapping [`HANDLER`], as NumPy expects it.
    capsule: Py<PyAny>,
    get: GetHandler,
    set: SetHandler,
    /// NumPy's default allocator, for small requests.
    default: Allocator,
}

// SAFETY: the raw pointers are NumPy's allocator context and functions, which NumPy itself
// calls from any thread; the capsule is only touched with the GIL held.
unsafe impl Send for Installed {}
unsafe impl Sync for Installed {}

static POOL: Pool = Pool::new();
/// The limit given to [`install`]; [`fit`] may lower the pool's below it for a while.
static CONFIGURED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Our handler, `'static` as NumPy requires (arrays keep pointing at it).
struct Static(Handler);
// SAFETY: never written after construction; the context pointer is null.
unsafe impl Sync for Static {}

static HANDLER: Static = Static(Handler {
    name: name(b"oxdask_pool"),
    version: 1,
    allocator: Allocator {
        ctx: std::ptr::null_mut(),
        malloc: Some(pool_malloc),
        calloc: Some(pool_calloc),
        realloc: Some(pool_realloc),
        free: Some(pool_free),
    },
});

const fn name(s: &[u8]) -> [c_char; 127] {
    let mut out = [0 as c_char; 127];
    let mut i = 0;
    while i < s.len() {
        out[i] = s[i] as c_char;
        i += 1;
    }
    out
}

fn free_block(addr: usize) {
    // SAFETY: the pool only holds blocks it received from `pool_free`, which came from the
    // C heap (ours or NumPy's default allocator, both `malloc`).
    unsafe { libc::free(addr as *mut c_void) }
}

fn default() -> Option<&'static Allocator> {
    INSTALLED.get().map(|i| &i.default)
}

unsafe extern "C" fn pool_malloc(_ctx: *mut c_void, size: usize) -> *mut c_void {
    if size >= MIN_BLOCK {
        if let Some(addr) = POOL.take(size) {
            return addr as *mut c_void;
        }
        return advised(unsafe { libc::malloc(size) }, size);
    }
    match default() {
        Some(Allocator {
            ctx,
            malloc: Some(f),
            ..
        }) => unsafe { f(*ctx, size) },
        _ => unsafe { libc::malloc(size.max(1)) },
    }
}

unsafe extern "C" fn pool_calloc(_ctx: *mut c_void, nelem: usize, elsize: usize) -> *mut c_void {
    let Some(size) = nelem.checked_mul(elsize) else {
        return std::ptr::null_mut();
    };
    if size >= MIN_BLOCK {
        if let Some(addr) = POOL.take(size) {
            // SAFETY: a kept block holds at least `size` bytes.
            unsafe { std::ptr::write_bytes(addr as *mut u8, 0, size) };
            return addr as *mut c_void;
        }
        return advised(unsafe { libc::calloc(nelem, elsize) }, size);
    }
    match default() {
        Some(Allocator {
            ctx,
            calloc: Some(f),
            ..
        }) => unsafe { f(*ctx, nelem, elsize) },
        _ => unsafe { libc::calloc(nelem.max(1), elsize.max(1)) },
    }
}

unsafe extern "C" fn pool_realloc(_ctx: *mut c_void, ptr: *mut c_void, size: usize) -> *mut c_void {
    // Every block, pooled or not, is a C heap block. Not advised again: advice splits the
    // block's mapping, and the C library can then no longer grow it in place.
    unsafe { libc::realloc(ptr, size.max(1)) }
}

/// `block` (of `size` bytes), on huge pages when large, as NumPy's own allocator does for its
/// arrays: a fresh 256 MiB array fills four times faster.
fn advised(block: *mut c_void, size: usize) -> *mut c_void {
    oxdask_comm::advise_huge(block.cast(), size);
    block
}

unsafe extern "C" fn pool_free(_ctx: *mut c_void, ptr: *mut c_void, size: usize) {
    if ptr.is_null() {
        return;
    }
    // The real capacity, whatever size NumPy believes the block has.
    let capacity = unsafe { libc::malloc_usable_size(ptr) };
    if capacity >= MIN_BLOCK {
        if !POOL.keep(ptr as usize, capacity, Instant::now(), free_block) {
            unsafe { libc::free(ptr) };
        }
        return;
    }
    match default() {
        Some(Allocator {
            ctx, free: Some(f), ..
        }) => unsafe { f(*ctx, ptr, size) },
        _ => unsafe { libc::free(ptr) },
    }
}

/// Entry `slot` of NumPy's C-API table.
fn api_slot(table: *const *const c_void, slot: usize) -> *const c_void {
    // SAFETY: `table` is NumPy's `PyArray_API`, which has more than `DEFAULT_HANDLER` slots
    // in every NumPy that has `get_handler_name` (checked by the caller).
    unsafe { *table.add(slot) }
}

fn load(py: Python<'_>) -> PyResult<Option<Installed>> {
    let module = match py.import("numpy._core._multiarray_umath") {
        Ok(m) => m,
        Err(_) => match py.import("numpy.core._multiarray_umath") {
            Ok(m) => m,
            Err(_) => return Ok(None), // no NumPy
        },
    };
    if !module.hasattr("get_handler_name")? {
        return Ok(None); // before NumPy 1.22
    }
    let api = module.getattr("_ARRAY_API")?;
    // SAFETY: `_ARRAY_API` is a capsule around NumPy's C-API table; its name is read first so
    // that `PyCapsule_GetPointer` accepts it.
    let table = unsafe {
        let name = ffi::PyCapsule_GetName(api.as_ptr());
        ffi::PyCapsule_GetPointer(api.as_ptr(), name)
    } as *const *const c_void;
    if table.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: the slots hold functions of these signatures (NumPy's API header), and the
    // default handler slot the address of NumPy's `PyDataMem_DefaultHandler` variable.
    let (set, get, default_capsule) = unsafe {
        (
            std::mem::transmute::<*const c_void, SetHandler>(api_slot(table, SET_HANDLER)),
            std::mem::transmute::<*const c_void, GetHandler>(api_slot(table, GET_HANDLER)),
            *(api_slot(table, DEFAULT_HANDLER) as *const *mut ffi::PyObject),
        )
    };
    // SAFETY: the default handler is a "mem_handler" capsule around a `PyDataMem_Handler`.
    let default = unsafe {
        let h = ffi::PyCapsule_GetPointer(default_capsule, CAPSULE_NAME.as_ptr()) as *const Handler;
        if h.is_null() {
            return Err(PyErr::fetch(py));
        }
        if (*h).version != 1 {
            return Ok(None);
        }
        (*h).allocator
    };
    // SAFETY: the capsule points at a `'static` handler and has no destructor.
    let capsule = unsafe {
        let ptr = std::ptr::from_ref(&HANDLER.0).cast_mut().cast::<c_void>();
        let c = ffi::PyCapsule_New(ptr, CAPSULE_NAME.as_ptr(), None);
        Bound::from_owned_ptr_or_err(py, c)?.unbind()
    };
    Ok(Some(Installed {
        capsule,
        get,
        set,
        default,
    }))
}

/// Makes the pool available to [`activate`] and bounds it to `limit` bytes (0 keeps nothing).
/// Returns false where it cannot work (no NumPy 1.22+, not Linux).
pub(crate) fn install(py: Python<'_>, limit: usize) -> PyResult<bool> {
    if !cfg!(target_os = "linux") {
        return Ok(false);
    }
    if INSTALLED.get().is_none() {
        let Some(installed) = load(py)? else {
            return Ok(false);
        };
        let _ = INSTALLED.set(installed);
    }
    CONFIGURED.store(limit, std::sync::atomic::Ordering::Relaxed);
    POOL.set_limit(limit, free_block);
    Ok(true)
}

/// Lets the pool keep at most `headroom` bytes (never more than installed with), freeing
/// the excess now: the worker passes what is left below its spill threshold, so kept
/// buffers never push the process over it.
pub(crate) fn fit(headroom: usize) {
    let configured = CONFIGURED.load(std::sync::atomic::Ordering::Relaxed);
    POOL.set_limit(configured.min(headroom), free_block);
}

/// Sets the pool's handler for NumPy allocations of the calling thread's context, if the
/// pool is installed and that context does not have it yet.
pub(crate) fn activate(py: Python<'_>) {
    let Some(inst) = INSTALLED.get() else {
        return;
    };
    let ours = inst.capsule.as_ptr();
    // SAFETY: NumPy's API functions, called with the GIL held; both return a new reference
    // (or NULL with an exception set).
    unsafe {
        let current = (inst.get)();
        if current.is_null() {
            PyErr::fetch(py);
            return;
        }
        let same = current == ours;
        ffi::Py_DECREF(current);
        if same {
            return;
        }
        let old = (inst.set)(ours);
        if old.is_null() {
            let e = PyErr::fetch(py);
            tracing::debug!(error = %e, "could not set NumPy's allocator");
            return;
        }
        ffi::Py_DECREF(old);
    }
}

/// Bytes the pool keeps.
pub(crate) fn pooled_bytes() -> usize {
    POOL.bytes()
}

/// Frees every kept block.
pub(crate) fn drain() {
    POOL.drain(free_block);
}

pub(crate) fn stats() -> Stats {
    POOL.stats()
}

/// Lets NumPy arrays of at least 256 KiB reuse freed buffers of about their size, keeping at
/// most `limit` bytes of them; see `_core.pyi`.
#[pyfunction]
pub(crate) fn buffer_pool(py: Python<'_>, limit: usize) -> PyResult<bool> {
    install(py, limit)
}

/// Uses the buffer pool for NumPy allocations in the calling thread's context.
#[pyfunction]
pub(crate) fn buffer_pool_activate(py: Python<'_>) -> bool {
    activate(py);
    INSTALLED.get().is_some()
}

/// The pool's counters: kept blocks and bytes, hits and misses.
#[pyfunction]
pub(crate) fn buffer_pool_stats() -> std::collections::HashMap<&'static str, u64> {
    let s = stats();
    std::collections::HashMap::from([
        ("blocks", s.blocks as u64),
        ("bytes", s.bytes as u64),
        ("hits", s.hits),
        ("misses", s.misses),
    ])
}

/// Frees every block the pool keeps.
#[pyfunction]
pub(crate) fn buffer_pool_drain() {
    drain();
}
