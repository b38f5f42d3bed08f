"""The C heap (glibc) around oxdask's computations.

Array and frame chunks are megabytes each and live for a few milliseconds. glibc's defaults
hand such memory back to the OS as soon as a few chunks are free at the top of the heap, so the
next chunks fault their pages in again, one 4 KiB page at a time: ``(x + x.T).sum()`` spent more
time in page faults than in arithmetic. Two settings are therefore made:

* In the process running the local schedulers (``tune_for_local``, once, on the first compute):
  chunks up to 32 MiB come from the heap (``M_MMAP_THRESHOLD``) and up to 64 MiB of free heap
  stays mapped (``M_TRIM_THRESHOLD``), so chunks reuse memory that is already resident; after a
  compute longer than 0.1 s the heap is trimmed (``release_after``), so the memory goes back to
  the OS once the result is there rather than after every chunk. Turned off by the config
  ``local.tune-malloc: False`` or by setting glibc's ``MALLOC_MMAP_THRESHOLD_`` /
  ``MALLOC_TRIM_THRESHOLD_`` environment variables (which then win).
* In worker processes (``tune_for_worker``): blocks under 256 KiB (the smallest a worker's
  NumPy buffer pool recycles) come from the heap, which keeps up to 4 MiB free before
  trimming, so tasks on small chunks reuse resident memory instead of mapping and faulting in
  every array; the heap is also trimmed after every spill. A worker's memory limit is
  enforced on its resident size, so what it frees beyond that must really leave.

Elsewhere than glibc these are no-ops.
"""

from __future__ import annotations

import os

__all__ = ["release", "release_after", "tune_for_local", "tune_for_worker"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_LIBC: list = []
_LOCAL_TUNED: list = []


def _libc():
    """glibc through ctypes, or None elsewhere."""
    if not _LIBC:
        lib = None
        try:
            import ctypes

            lib = ctypes.CDLL("libc.so.6")
            if not hasattr(lib, "mallopt") or not hasattr(lib, "malloc_trim"):
                lib = None
        except OSError:
            pass
        _LIBC.append(lib)
    return _LIBC[0]


def release() -> None:
    """Give the heap's free pages back to the OS (``malloc_trim``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


#: A worker's heap serves blocks up to this size (larger ones: its NumPy buffer pool, mmap).
WORKER_MMAP_THRESHOLD = 256 * 1024
#: Free memory a worker's heap keeps before it is trimmed.
WORKER_TRIM_THRESHOLD = 4 << 20


def tune_for_worker() -> None:
    """Serve blocks under 256 KiB from the heap and trim it above 4 MiB free (see the module
    docs). A local compute inside a task of this worker then leaves the settings alone."""
    libc = _libc()
    if libc is not None:
        # Setting either disables glibc's sliding mmap threshold, so both are set: otherwise
        # every block over 128 KiB would be mapped and unmapped, its pages faulted in anew.
        libc.mallopt(_M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, WORKER_TRIM_THRESHOLD)
    _LOCAL_TUNED[:] = [False]


def tune_for_local() -> bool:
    """Keep chunk-sized memory resident between tasks (see the module docs); returns whether
    the heap is tuned. Done once per process."""
    if not _LOCAL_TUNED:
        from oxdask import config

        libc = _libc()
        tuned = (
            libc is not None
            and config.get("local.tune-malloc", True) is not False
            and "MALLOC_MMAP_THRESHOLD_" not in os.environ
            and "MALLOC_TRIM_THRESHOLD_" not in os.environ
        )
        if tuned:
            tuned = bool(libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20))
            tuned = bool(libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)) and tuned
        _LOCAL_TUNED.append(tuned)
    return _LOCAL_TUNED[0]


def release_after(seconds: float) -> None:
    """After a local compute of ``seconds``: trim the tuned heap if it ran 0.1 s or more."""
    if seconds >= 0.1 and _LOCAL_TUNED and _LOCAL_TUNED[0]:
        release()
