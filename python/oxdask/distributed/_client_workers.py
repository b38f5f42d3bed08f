"""The cluster's workers seen from a ``Client``: what they are, calls on each, retiring and
restarting them, cancelling futures (mixed into ``Client``).
"""

from __future__ import annotations

import json
import time

from oxdask.distributed._async import client_method
from oxdask.distributed._executor import ClientExecutor
from oxdask.distributed.future import Future
from oxdask.distributed.serialize import loads_error
from oxdask.utils import parse_timedelta as _seconds

__all__ = ["ClientWorkers"]


class ClientWorkers:
    """``Client`` methods about the workers and the cluster's state."""

    def cancel(self, futures, force: bool = False) -> None:
        """Cancel futures (their clients see ``FutureCancelledError`` with the reason)."""
        futures = [futures] if isinstance(futures, Future) else list(futures)
        self._conn.cancel([f.key for f in futures])

    def scheduler_info(self) -> dict:
        """The scheduler's view: address, workers (by address) and task counts."""
        raw = json.loads(self._conn.info(30.0))
        raw["workers"] = {w["address"]: w for w in raw["workers"]}
        return raw

    def why(self, future, timeout: float | str = 10.0) -> str:
        """Where the task of ``future`` (a Future or a key) is, and why: its state and worker,
        what it waits for, why it is queued, its recent transitions. For a computation that
        seems stuck. (An oxdask extension; Dask's nearest is ``Client.story``.)"""
        self._check_alive()
        return self._conn.why(getattr(future, "key", future), _seconds(timeout))

    def nthreads(self) -> dict:
        """Threads per worker address."""
        return {a: w["nthreads"] for a, w in self.scheduler_info()["workers"].items()}

    ncores = nthreads

    @client_method
    def wait_for_workers(self, n_workers: int, timeout: float | str | None = None) -> None:
        """Block until at least ``n_workers`` workers are connected to the scheduler;
        ``TimeoutError`` (saying how many came) after ``timeout``."""
        if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 0:
            raise ValueError(f"n_workers must be a non-negative integer, not {n_workers!r}")
        seconds = _seconds(timeout)
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            count = len(self.scheduler_info()["workers"])
            if count >= n_workers:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"only {count} of {n_workers} workers connected to "
                    f"{self.scheduler_address} within {timeout}"
                )
            time.sleep(0.05)

    @client_method
    def run(self, function, *args, workers=None, **kwargs) -> dict:
        """Call ``function(*args, **kwargs)`` on every worker: ``{address: result}``.

        A worker's exception is re-raised here, naming nothing else; its traceback is attached.
        """
        import cloudpickle

        call = cloudpickle.dumps((function, args, kwargs), protocol=5)
        out = {}
        for address, blob, ok in self._conn.run(call, 60.0):
            if workers is not None and address not in workers:
                continue
            if not ok:
                import pickle

                raise loads_error(*pickle.loads(blob))
            out[address] = cloudpickle.loads(blob)
        return out

    @client_method
    def retire_workers(self, workers: list[str] | None = None, close_workers: bool = True) -> None:
        """Move the data held by ``workers`` (addresses) elsewhere, then close them."""
        if workers is None:
            raise ValueError("retire_workers needs the addresses of the workers to retire")
        self._conn.retire_workers(list(workers), 30.0)

    @client_method
    def restart(self, timeout: float | str = 60.0, wait_for_workers: bool = True) -> None:
        """Forget every computation and replace the workers with fresh ones.

        Every future of this client is cancelled (``FutureCancelledError`` naming the restart)
        and the workers are replaced by as many new ones: a ``LocalCluster`` starts new
        workers; a worker started by ``oxdask worker`` replaces its own process (unless it
        runs with ``--no-nanny``, when it just exits).
        """
        self._check_alive()
        timeout = _seconds(timeout)
        cluster = self.cluster
        callbacks: list = []
        with self._cond:
            keys = [k for k, st in self._states.items() if not st.done]
            for st in self._states.values():
                callbacks += st.finish("cancelled", reason="the client restarted the cluster")
                st.pickled = None
            self._cond.notify_all()
        self._run(callbacks)
        if keys:
            self._conn.cancel(keys)
        with self._lock:  # existing futures keep their (cancelled) state; keys start afresh
            held = list(self._states)
            self._states.clear()
            self._refs.clear()
        if held:
            self._conn.release(held)
        if cluster is not None and hasattr(cluster, "restart_workers"):
            cluster.restart_workers(timeout=timeout, wait=wait_for_workers)
            return
        old = set(self.scheduler_info()["workers"])
        self._conn.restart_workers(sorted(old), timeout)
        if not wait_for_workers:
            return
        deadline = time.monotonic() + timeout
        while True:
            now = set(self.scheduler_info()["workers"])
            if not now & old and len(now) >= len(old):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Client.restart: {len(now - old)} of {len(old)} workers came back within "
                    f"{timeout}s (workers started with --no-nanny do not come back)"
                )
            time.sleep(0.05)

    def get_executor(self, **kwargs):
        """A ``concurrent.futures.Executor`` submitting to this client."""
        return ClientExecutor(self, **kwargs)
