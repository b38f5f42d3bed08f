//! Sharing large buffers between Python and the wire without copying them.
//!
//! * Outgoing: [`bytes_from_py`] wraps any object exporting a contiguous buffer (the
//!   out-of-band buffers of pickle protocol 5: NumPy arrays, pandas blocks, `bytes`) in a
//!   [`Bytes`] that keeps the exporter alive; the writer then sends that memory as it is.
//! * Incoming: [`py_from_bytes`] hands a received buffer to Python as a [`Frame`], a writable
//!   buffer object over the receive memory itself, so `pickle.loads(..., buffers=...)` builds
//!   arrays on the bytes the socket wrote, and in-place operations on them work. Each buffer
//!   of a received frame is a disjoint slice of the receive memory and is handed to exactly
//!   one value, so writing to it cannot change what anything else reads.
//!
//! Releasing an export needs the GIL. The writer that sent the bytes drops them on an IO
//! thread, which must never wait for the GIL (a task may hold it for seconds, and a waiting
//! IO thread stalls every message queued behind it): small buffers are therefore copied at
//! once, and a large export is released by a releaser thread.
//!
//! These are the only `unsafe` blocks of the crate: reading the memory of a Python buffer
//! export without holding the GIL (the export pins it until released), and exporting the
//! memory of a frame to Python.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::mem::ManuallyDrop;
use std::sync::OnceLock;

use bytes::Bytes;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;

/// Buffers up to this size are copied rather than shared: a copy costs less than taking the
/// GIL to release the export.
const COPY_UP_TO: usize = 64 << 10;

/// A Python buffer export viewed as bytes.
struct Exported(ManuallyDrop<PyBuffer<u8>>);

impl Drop for Exported {
    fn drop(&mut self) {
        // SAFETY: taken once, here; the field is never used again.
        release_later(unsafe { ManuallyDrop::take(&mut self.0) });
    }
}

/// Exports dropped without the GIL, waiting for the releaser thread.
struct Releaser {
    queue: parking_lot::Mutex<Vec<PyBuffer<u8>>>,
    wake: parking_lot::Condvar,
}

/// Queues `buffer` for the releaser thread (started on first use), which takes the GIL once
/// per batch. Without the thread (it could not start), the export is released here.
fn release_later(buffer: PyBuffer<u8>) {
    static RELEASER: OnceLock<Option<&'static Releaser>> = OnceLock::new();
    let releaser = RELEASER.get_or_init(|| {
        let releaser: &'static Releaser = Box::leak(Box::new(Releaser {
            queue: parking_lot::Mutex::new(Vec::new()),
            wake: parking_lot::Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("oxdask-release".into())
            .spawn(move || loop {
                let batch = {
                    let mut queue = releaser.queue.lock();
                    while queue.is_empty() {
                        releaser.wake.wait(&mut queue);
                    }
                    std::mem::take(&mut *queue)
                };
                // At interpreter exit the exports go with the process.
                if Python::try_attach(|_| drop(batch)).is_none() {
                    return;
                }
            })
            .ok()
            .map(|_| releaser)
    });
    match releaser {
        Some(r) => {
            r.queue.lock().push(buffer);
            r.wake.notify_one();
        }
        None => drop(buffer),
    }
}

impl AsRef<[u8]> for Exported {
    fn as_ref(&self) -> &[u8] {
        let len = self.0.len_bytes();
        if len == 0 {
            return &[];
        }
        // SAFETY: `bytes_from_py` only builds an `Exported` for a C-contiguous export; the
        // export keeps the exporter's memory alive and in place until the `PyBuffer` is
        // dropped, which releases it (taking the GIL). Nothing writes to it while it is sent:
        // the pickled value it belongs to stays referenced by the worker's store or the caller.
        unsafe { std::slice::from_raw_parts(self.0.buf_ptr() as *const u8, len) }
    }
}

/// The bytes of a buffer-exporting object: shared without copying when large and contiguous,
/// else copied (see the module docs).
pub(crate) fn bytes_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Bytes> {
    let buffer = PyBuffer::<u8>::get(obj)?;
    if buffer.is_c_contiguous() && buffer.len_bytes() > COPY_UP_TO {
        Ok(Bytes::from_owner(Exported(ManuallyDrop::new(buffer))))
    } else {
        Ok(Bytes::from(buffer.to_vec(obj.py())?))
    }
}

/// Received bytes exported to Python as a writable buffer (see the module docs).
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct Frame {
    /// Keeps the memory alive; never read through after construction.
    owner: Bytes,
}

#[pymethods]
impl Frame {
    fn __len__(&self) -> usize {
        self.owner.len()
    }

    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        if view.is_null() {
            return Err(PyBufferError::new_err("Frame: no view to fill"));
        }
        let (ptr, len) = {
            let owner = &slf.get().owner;
            (owner.as_ptr(), owner.len())
        };
        let len = isize::try_from(len).map_err(|_| PyBufferError::new_err("frame too large"))?;
        // SAFETY: `view` is the caller's Py_buffer; the memory stays valid while the view
        // holds its reference to `slf` (PyBuffer_FillInfo takes one). It is exported writable:
        // the received bytes belong to this one value (see the module docs), and `Bytes` holds
        // a raw pointer into memory allocated as mutable, never a shared reference.
        let rc = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                ptr.cast_mut().cast::<c_void>(),
                len,
                0,
                flags,
            )
        };
        if rc == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// A received buffer as a Python buffer object, without copying. The caller hands over the
/// only use of these bytes (see the module docs).
pub(crate) fn py_from_bytes(py: Python<'_>, bytes: Bytes) -> PyResult<Bound<'_, Frame>> {
    Bound::new(py, Frame { owner: bytes })
}
