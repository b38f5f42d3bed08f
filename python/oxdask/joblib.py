"""A joblib backend that runs joblib's batches as tasks of an oxdask cluster.

Importing this module registers the backend ``"oxdask"`` (and ``"dask"`` too when the real
``distributed`` package is not installed, so that code written for Dask keeps working)::

    import joblib
    import oxdask.joblib  # noqa: F401 (registers the backend)
    from oxdask.distributed import Client

    client = Client()
    with joblib.parallel_config(backend="oxdask"):
        search.fit(X, y)  # scikit-learn's n_jobs=-1 fits run on the workers

Large arguments (more than 1 kB) are sent to the cluster once per ``Parallel`` call and shared
by all the batches using them; ``scatter=[X, y]`` sends them to every worker up front.
A ``Parallel`` call made inside a batch, naming a backend or not, runs its batches on the
cluster too (the waiting task leaves its worker's threads meanwhile). Without a client the
backend warns and falls back to joblib's local threads.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import threading
import uuid
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor

try:
    from joblib import register_parallel_backend
    from joblib._parallel_backends import (
        AutoBatchingMixin,
        FallbackToBackend,
        ParallelBackendBase,
        ThreadingBackend,
    )
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("oxdask.joblib needs joblib; install it with `pip install oxdask[ml]`") from e

__all__ = ["OxdaskBackend", "register"]

#: Arguments larger than this many bytes are scattered (once per Parallel call).
SCATTER_THRESHOLD = 1_000

_NO_CLIENT = (
    "The joblib backend 'oxdask' found no oxdask Client; running on local threads instead. "
    "To run on a cluster create a Client first:\n\n"
    "    from oxdask.distributed import Client\n"
    "    client = Client()  # or Client('scheduler-address:8786')"
)


class _Ref:
    """Placeholder for the ``i``-th future given to a batch task."""

    __slots__ = ("i",)

    def __init__(self, i: int):
        self.i = i

    def __reduce__(self):
        return (_Ref, (self.i,))


def _resolve(value, data):
    return data[value.i] if type(value) is _Ref else value


class _Batch:
    """A batch of joblib calls, run by one task on a worker.

    ``calls`` is joblib's ``BatchedCalls`` (which also sets the backend of nested ``Parallel``
    calls); its arguments that were scattered are ``_Ref`` placeholders, replaced by the data
    the task receives.
    """

    def __init__(self, calls):
        self.calls = calls

    def __call__(self, *data):
        calls = self.calls
        if data:
            calls = copy.copy(calls)
            calls.items = [
                (
                    func,
                    [_resolve(a, data) for a in args],
                    {k: _resolve(v, data) for k, v in kwargs.items()},
                )
                for func, args, kwargs in self.calls.items
            ]
        return calls()

    def __repr__(self) -> str:
        items = getattr(self.calls, "items", ())
        names = {getattr(f, "__name__", type(f).__name__) for f, _, _ in items}
        name = names.pop() if len(names) == 1 else "mixed"
        return f"batch_of_{name}_{len(items)}_calls"


def _is_weakrefable(x) -> bool:
    try:
        weakref.ref(x)
    except TypeError:
        return False
    return True


class OxdaskBackend(AutoBatchingMixin, ParallelBackendBase):
    """joblib's ``ParallelBackendBase`` on an oxdask :class:`~oxdask.distributed.Client`.

    Parameters
    ----------
    scheduler_host : str, optional
        Address of a scheduler to connect to (default: the current client).
    scatter : list or tuple, optional
        Objects sent to every worker up front; calls using them refer to those copies.
    client : Client, optional
    loop : None
        Accepted for compatibility with Dask's backend.
    wait_for_workers_timeout : float
        How long to wait for a first worker when the cluster has none.
    **submit_kwargs
        Passed to ``Client.submit`` (``workers=``, ``resources=``, ``retries=``...).
    """

    MIN_IDEAL_BATCH_DURATION = 0.2
    MAX_IDEAL_BATCH_DURATION = 1.0
    supports_retrieve_callback = True
    supports_timeout = True
    default_n_jobs = -1

    def __init__(
        self,
        scheduler_host=None,
        scatter=None,
        client=None,
        loop=None,
        wait_for_workers_timeout=10,
        **submit_kwargs,
    ):
        nesting_level = submit_kwargs.pop("nesting_level", None)
        submit_kwargs.pop("inner_max_num_threads", None)
        super().__init__(nesting_level=0 if nesting_level is None else nesting_level)
        if scatter is not None and not isinstance(scatter, (list, tuple)):
            raise TypeError(f"scatter must be a list/tuple, got `{type(scatter).__name__}`")
        if client is None:
            from oxdask.distributed import Client, get_client

            if scheduler_host:
                client = Client(scheduler_host, set_as_default=False)
            else:
                try:
                    client = get_client()
                except ValueError:
                    client = None  # configure() falls back to local threads
        self.client = client
        self._scatter = list(scatter or ())
        self.data_futures: dict = {}
        if self._scatter and client is not None:
            futures = client.scatter(self._scatter, broadcast=True)
            self.data_futures = {id(x): f for x, f in zip(self._scatter, futures, strict=True)}
        self.wait_for_workers_timeout = wait_for_workers_timeout
        self.submit_kwargs = submit_kwargs
        self._call_futures: dict = {}
        self._lock = threading.Lock()
        self._callbacks = None
        self._pending: set = set()

    def __reduce__(self):
        # inside a task (a nested Parallel call) the backend uses the worker's client
        return (_nested_on_worker, (self.nesting_level,))

    def get_nested_backend(self):
        """The backend of ``Parallel`` calls made inside the batches: this backend again, on
        the same cluster, with ``n_jobs=-1`` (all the cluster's threads), as Dask's backend.

        A nested call that names no backend submits its batches as cluster tasks too; the
        task waiting for them leaves its worker's threads meanwhile (see
        :meth:`retrieval_context`), so the nesting cannot deadlock. Without a client
        (joblib's local threads) joblib's default applies.
        """
        if self.client is None:
            return super().get_nested_backend()
        return OxdaskBackend(client=self.client, nesting_level=self.nesting_level + 1), -1

    # -- configuration ------------------------------------------------------------------------
    def configure(self, n_jobs=1, parallel=None, **backend_args):
        if self.client is None:
            warnings.warn(_NO_CLIENT, UserWarning, stacklevel=2)
            raise FallbackToBackend(ThreadingBackend(nesting_level=self.nesting_level))
        self.parallel = parallel
        return self.effective_n_jobs(n_jobs)

    def effective_n_jobs(self, n_jobs):
        if self.client is None:
            return ThreadingBackend().effective_n_jobs(n_jobs)
        n = sum(self.client.nthreads().values())
        if n or not self.wait_for_workers_timeout:
            return n
        try:
            self.client.wait_for_workers(1, timeout=self.wait_for_workers_timeout)
        except TimeoutError as e:
            raise TimeoutError(
                f"OxdaskBackend has no worker after {self.wait_for_workers_timeout} seconds. "
                "Make sure that workers are started and can connect to the scheduler, or "
                "wait longer with:\n\n"
                "parallel_config(backend='oxdask', wait_for_workers_timeout="
                f"{max(10, 2 * self.wait_for_workers_timeout)})"
            ) from e
        return sum(self.client.nthreads().values())

    def start_call(self):
        # joblib's completion callbacks dispatch the next batches (submit, scatter): they run
        # on a thread of ours, never on the client's event thread
        self._callbacks = ThreadPoolExecutor(1, thread_name_prefix="oxdask-joblib")
        self._call_futures = {}

    def stop_call(self):
        callbacks, self._callbacks = self._callbacks, None
        if callbacks is not None:
            callbacks.shutdown(wait=False)
        self._call_futures = {}

    def terminate(self):
        self.stop_call()

    # -- running batches ----------------------------------------------------------------------
    def _data_future(self, arg):
        """The cluster's copy of ``arg`` (scattered now if large), or None."""
        f = self.data_futures.get(id(arg))
        if f is not None:
            return f
        with self._lock:
            held = self._call_futures.get(id(arg))
            if held is not None and held[0] is arg:
                return held[1]
        from oxdask.sizeof import sizeof

        if not _is_weakrefable(arg) or sizeof(arg) <= SCATTER_THRESHOLD:
            return None
        future = self.client.scatter(arg, hash=False)
        with self._lock:
            # the object is kept alive with its future so that its id stays its own
            self._call_futures.setdefault(id(arg), (arg, future))
            return self._call_futures[id(arg)][1]

    def _prepare(self, calls):
        futures: list = []
        index: dict = {}

        def ref(value):
            f = self._data_future(value)
            if f is None:
                return value
            i = index.get(f.key)
            if i is None:
                i = index[f.key] = len(futures)
                futures.append(f)
            return _Ref(i)

        items = [
            (func, [ref(a) for a in args], {k: ref(v) for k, v in kwargs.items()})
            for func, args, kwargs in calls.items
        ]
        if futures:
            calls = copy.copy(calls)
            calls.items = items
        return _Batch(calls), futures

    def submit(self, func, callback=None):
        batch, futures = self._prepare(func)
        key = f"{batch!r}-{uuid.uuid4().hex}"
        future = self.client.submit(batch, *futures, key=key, pure=False, **self.submit_kwargs)
        with self._lock:
            self._pending.add(future)
        if callback is not None:
            executor = self._callbacks

            def done(f):
                with self._lock:
                    self._pending.discard(f)
                if executor is None:
                    callback(f)
                    return
                # after the call (aborted) the executor is shut down: nobody waits for it
                with contextlib.suppress(RuntimeError):
                    executor.submit(callback, f)

            future.add_done_callback(done)
        return future

    @contextlib.contextmanager
    def retrieval_context(self):
        """While joblib waits for results: inside a task (a nested ``Parallel``), the task
        leaves its worker's threads (``secede``) so the batches it waits for can run there,
        and takes a thread again afterwards (``rejoin``), as Dask's backend."""
        from oxdask.distributed._worker_api import _in_worker, rejoin, secede

        inside = _in_worker()
        if inside:
            secede()
        try:
            yield
        finally:
            if inside:
                rejoin()

    def retrieve_result_callback(self, out):
        return out.result()

    def retrieve_result(self, out, timeout=None):
        return out.result(timeout=timeout)

    def abort_everything(self, ensure_ready=True):
        """Cancel the batches still running (joblib will not use their results)."""
        with self._lock:
            pending, self._pending = list(self._pending), set()
        if pending and self.client is not None:
            self.client.cancel(pending)


def _nested_on_worker(nesting_level):
    """A backend unpickled inside a task: on the client of the worker running it."""
    return OxdaskBackend(nesting_level=nesting_level)


def register(dask: bool | None = None) -> None:
    """Register the joblib backend ``"oxdask"``, and ``"dask"`` unless ``dask`` is False.

    By default ``"dask"`` is taken only when the real ``distributed`` package is missing, so
    that an installed Dask keeps its own backend.
    """
    register_parallel_backend("oxdask", OxdaskBackend)
    if dask is None:
        dask = importlib.util.find_spec("distributed") is None
    if dask:
        register_parallel_backend("dask", OxdaskBackend)


register()
