"""BLAS thread pools during multi-threaded computes of collections.

OpenBLAS and MKL start one thread per core for every matrix product. When the threads
scheduler already runs one task per core, each product's BLAS threads compete with the other
tasks' (twice as many threads as cores on a 2-core machine: ``(y @ y.T).sum()`` ran about 40%
slower). While a graph with compact layers (``oxdask.array`` and ``oxdask.dataframe``) runs on
more than one thread, BLAS libraries are limited to ``cpu_count // num_workers`` threads (at
least one), through ``threadpoolctl``; this is what Dask's distributed workers do with
``OMP_NUM_THREADS=1``. Turned off by the config ``local.limit-blas-threads: False``, and a no-op
without ``threadpoolctl`` or before NumPy is imported.

Finding the BLAS libraries takes ``threadpoolctl`` a scan of every loaded shared library (about
0.1 s once pyarrow is loaded), so the limit starts only once the program has built a graph
that calls BLAS (matrix products, decompositions, ``einsum``: see :func:`used`); a dataframe
program never pays for it.
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext

__all__ = ["limited"]

_CONTROLLER: list = []  # the threadpoolctl controller, created once NumPy is loaded
_USED: list = []  # not empty once a graph calling BLAS was built


def used() -> None:
    """Notes that a graph calling BLAS routines was built (from then on, multi-threaded
    computes limit BLAS threads)."""
    if not _USED:
        _USED.append(True)


def _controller():
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER.append(None)
        else:
            controller = ThreadpoolController()
            blas = controller.select(user_api="blas")
            _CONTROLLER.append(blas if blas.lib_controllers else None)
    return _CONTROLLER[0]


def limited(num_workers: int):
    """A context limiting BLAS threads while ``num_workers`` task threads run (see the
    module docs), or a null context."""
    if num_workers <= 1 or not _USED or "numpy" not in sys.modules:
        return nullcontext()
    from oxdask import config

    if config.get("local.limit-blas-threads", True) is False:
        return nullcontext()
    blas = _controller()
    if blas is None:
        return nullcontext()
    return blas.limit(limits=max(1, (os.cpu_count() or 1) // num_workers))
