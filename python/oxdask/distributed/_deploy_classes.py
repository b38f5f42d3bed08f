"""Dask's deployment building blocks: ``Scheduler``, ``Worker`` and ``Nanny`` objects
(usable as ``async with`` and ``await``, as in Dask's docs, and also without an event
loop), ``SpecCluster`` (a cluster made of such objects from a specification) and
``SubprocessCluster`` (scheduler and workers each in a process of its own).

``Scheduler`` runs oxdask's Rust scheduler in this process (with the scheduler extension).
``Worker`` runs a worker on a thread of this process; ``Nanny`` a worker process under its
nanny (``oxdask worker``), restarted when it dies. Their blocking methods return at once
when done; ``close()`` also returns an awaitable, so ``await x.close()`` works too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from oxdask.distributed._cluster_base import Cluster
from oxdask.utils import parse_timedelta

__all__ = ["Nanny", "Scheduler", "SpecCluster", "SubprocessCluster", "Worker"]


class _Done:
    """An awaitable with nothing left to do (``await obj.close()``)."""

    def __await__(self):
        return iter(())


class _Service:
    """``await obj`` / ``async with obj`` for objects started by their constructor."""

    status = "running"

    def __await__(self):
        async def ready():
            return self

        return ready().__await__()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.to_thread(self._close)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def close(self, *args, **kwargs) -> _Done:
        """Stop (also ``await obj.close()``)."""
        self._close()
        return _Done()

    def _close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {getattr(self, 'address', None)!r}, {self.status}>"


def _address(scheduler_ip, scheduler_port) -> str:
    if scheduler_ip is None:
        raise ValueError("a worker needs the scheduler's address")
    if hasattr(scheduler_ip, "address"):  # a Scheduler object
        scheduler_ip = scheduler_ip.address
    if not isinstance(scheduler_ip, str):
        raise TypeError(f"scheduler address must be a string, not {scheduler_ip!r}")
    address = scheduler_ip if "://" in scheduler_ip else f"tcp://{scheduler_ip}"
    if scheduler_port is not None:
        address = f"{address}:{scheduler_port}"
    return address


class Scheduler(_Service):
    """A scheduler in this process: ``address``, ``dashboard_link``, ``close()``."""

    def __init__(
        self,
        host: str | None = None,
        port: int = 0,
        dashboard_address: str | None = None,
        token: str | None = None,
        **kwargs,
    ) -> None:
        from oxdask.distributed._cluster_base import start_scheduler

        dash = None
        if dashboard_address is not None:
            dash = int(str(dashboard_address).rsplit(":", 1)[-1] or 0)
        self._scheduler = start_scheduler(host or "127.0.0.1", int(port), dash, token)
        self.address = self._scheduler.address
        self.dashboard_link = self._scheduler.http_address

    def _close(self) -> None:
        if self.status != "closed":
            self.status = "closed"
            self._scheduler.close()


class Worker(_Service):
    """A worker on a thread of this process, connected to ``scheduler_ip``
    (``tcp://host:port``, or a host with ``scheduler_port``); ``address`` once started."""

    def __init__(
        self,
        scheduler_ip=None,
        scheduler_port=None,
        *,
        nthreads: int = 1,
        name=None,
        memory_limit="auto",
        resources: dict | None = None,
        host: str = "127.0.0.1",
        token: str | None = None,
        timeout: float | str = 30.0,
        **kwargs,
    ) -> None:
        from oxdask.distributed.worker import run

        if not isinstance(nthreads, int) or nthreads < 1:
            raise ValueError(f"nthreads must be a positive integer, not {nthreads!r}")
        self.scheduler_address = _address(scheduler_ip, scheduler_port)
        self.name = name
        self.nthreads = nthreads
        self.address = None
        started = threading.Event()
        self._error: BaseException | None = None

        def on_started(address) -> None:
            self.address = address
            started.set()

        def target() -> None:
            try:
                run(
                    self.scheduler_address,
                    nthreads=nthreads,
                    memory_limit=memory_limit,
                    name=None if name is None else str(name),
                    resources=" ".join(f"{k}={v}" for k, v in (resources or {}).items()),
                    host=host,
                    token=token,
                    on_started=on_started,
                )
            except BaseException as e:
                self._error = e
            finally:
                self.status = "closed"
                started.set()

        self._thread = threading.Thread(target=target, name="oxdask-worker", daemon=True)
        self._thread.start()
        if not started.wait(parse_timedelta(timeout)):
            raise TimeoutError(f"the worker did not start within {timeout}")
        if self.address is None:
            raise self._error or RuntimeError("the worker stopped before it started")
        self.worker_address = self.address
        self._token = token

    def _close(self) -> None:
        if self.status == "closed" or self.address is None:
            return
        from oxdask import _core

        with contextlib.suppress(Exception):
            conn = _core.ClientConnection(self.scheduler_address, self._token, 10.0, None)
            try:
                conn.retire_workers([self.address], 30.0)
            finally:
                conn.close()
        self._thread.join(30.0)
        self.status = "closed"


class Nanny(_Service):
    """A worker process under its nanny (``oxdask worker``), restarted if it dies;
    ``worker_address`` (also ``address``) once it registered."""

    def __init__(
        self,
        scheduler_ip=None,
        scheduler_port=None,
        *,
        nthreads: int = 1,
        name=None,
        memory_limit="auto",
        resources: dict | None = None,
        host: str = "127.0.0.1",
        token: str | None = None,
        timeout: float | str = 30.0,
        env: dict | None = None,
        **kwargs,
    ) -> None:
        if not isinstance(nthreads, int) or nthreads < 1:
            raise ValueError(f"nthreads must be a positive integer, not {nthreads!r}")
        self.scheduler_address = _address(scheduler_ip, scheduler_port)
        self.name = str(name) if name is not None else f"nanny-{uuid.uuid4().hex[:8]}"
        self._token = token
        cmd = [sys.executable, "-m", "oxdask.distributed.worker", self.scheduler_address]
        cmd += ["--nthreads", str(nthreads), "--name", self.name, "--host", host]
        cmd += ["--memory-limit", str(memory_limit)]
        if resources:
            cmd += ["--resources", " ".join(f"{k}={v}" for k, v in resources.items())]
        environ = dict(os.environ)
        environ["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p])
        environ.update({str(k): str(v) for k, v in (env or {}).items()})
        if token:
            environ["OXDASK_TOKEN"] = token
        self.process = subprocess.Popen(cmd, env=environ, stdin=subprocess.DEVNULL)
        self.address = self.worker_address = self._wait_address(parse_timedelta(timeout))

    def _workers(self) -> list[dict]:
        from oxdask import _core

        conn = _core.ClientConnection(self.scheduler_address, self._token, 10.0, None)
        try:
            return json.loads(conn.info(10.0))["workers"]
        finally:
            conn.close()

    def _wait_address(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for w in self._workers():
                if w.get("name") == self.name:
                    return w["address"]
            if self.process.poll() is not None:
                raise RuntimeError(f"the nanny exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                self._close()
                raise TimeoutError(f"the nanny's worker did not register within {timeout}s")
            time.sleep(0.05)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _close(self) -> None:
        if self.status == "closed":
            return
        self.status = "closed"
        with contextlib.suppress(OSError):
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class SpecCluster(Cluster):
    """A cluster built from specifications: ``scheduler={"cls": Scheduler, "options":
    {...}}``, ``workers={name: {"cls": Worker or Nanny, "options": {...}}}`` and a
    template ``worker`` for :meth:`scale` (new workers are named 0, 1, 2, ...).
    ``worker_spec`` is the specification, ``workers`` the objects made from it."""

    def __init__(
        self,
        workers: dict | None = None,
        scheduler: dict | None = None,
        worker: dict | None = None,
        asynchronous: bool = False,
        loop=None,
        security=None,
        silence_logs=False,
        name: str | None = None,
        shutdown_on_close: bool = True,
        scheduler_sync_interval=1,
    ) -> None:
        self._name = name
        self._asynchronous = asynchronous
        self._closed = False
        spec = scheduler or {"cls": Scheduler, "options": {}}
        self.scheduler_spec = spec
        self.scheduler = _make(spec)
        self.scheduler_address = self.scheduler.address
        self.dashboard_link = getattr(self.scheduler, "dashboard_link", None)
        self.new_spec = worker
        self.worker_spec: dict = {}
        self.workers: dict = {}
        self._i = 0
        self._shutdown_on_close = shutdown_on_close
        try:
            for key, value in (workers or {}).items():
                self._add(key, value)
        except BaseException:
            self.close()
            raise

    def _add(self, key, spec: dict) -> None:
        self.worker_spec[key] = spec
        options = dict(spec.get("options", {}))
        options.setdefault("name", key)
        self.workers[key] = _make({"cls": spec["cls"], "options": options}, self.scheduler_address)

    def scale(self, n: int = 0, timeout: float | str = 30.0, **kwargs) -> None:
        """Add workers from the template until ``n`` are specified, or close the newest
        until ``n`` are left."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"scale needs a non-negative number of workers, not {n!r}")
        while len(self.worker_spec) > n:
            self._remove(list(self.worker_spec)[-1])
        if len(self.worker_spec) < n and self.new_spec is None:
            raise ValueError("this SpecCluster has no worker template (worker=) to scale with")
        while len(self.worker_spec) < n:
            while self._i in self.worker_spec:
                self._i += 1
            self._add(self._i, self.new_spec)
        self.wait_for_workers(n, timeout)

    def _remove(self, key) -> None:
        self.worker_spec.pop(key, None)
        obj = self.workers.pop(key, None)
        if obj is not None:
            obj.close()

    def scale_down(self, workers, timeout: float | str = 30.0) -> None:
        """Close the given workers (names in ``worker_spec`` or addresses)."""
        if isinstance(workers, str | int):
            workers = [workers]
        by_address = {getattr(w, "address", None): k for k, w in self.workers.items()}
        keys = [w if w in self.worker_spec else by_address.get(w) for w in workers]
        unknown = [w for w, k in zip(workers, keys, strict=True) if k is None]
        if unknown:
            raise ValueError(f"not workers of this cluster: {unknown}")
        for k in keys:
            self._remove(k)

    def close(self, timeout: float | str = 10.0) -> _Done:
        if not self._closed:
            self._closed = True
            for key in list(self.workers):
                with contextlib.suppress(Exception):
                    self._remove(key)
            if self._shutdown_on_close:
                self.scheduler.close()
        return _Done()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.scheduler_address!r}, workers={len(self.workers)})"


def _make(spec: dict, *args):
    if not isinstance(spec, dict) or "cls" not in spec:
        raise TypeError(f"a specification is a dict with 'cls' and 'options', not {spec!r}")
    cls = spec["cls"]
    if isinstance(cls, str):
        import importlib

        module, _, attr = cls.replace("distributed.", "oxdask.distributed.", 1).rpartition(".")
        cls = getattr(importlib.import_module(module), attr)
    return cls(*args, **spec.get("options", {}))


class SubprocessScheduler(_Service):
    """``oxdask scheduler`` in a process of its own."""

    def __init__(self, host: str | None = None, port: int = 0, dashboard_address=None, **kw):
        self._dir = tempfile.mkdtemp(prefix="oxdask-subprocess-")
        path = os.path.join(self._dir, "scheduler.json")
        cmd = [sys.executable, "-m", "oxdask.cli", "scheduler", "--host", host or "127.0.0.1"]
        cmd += ["--port", str(port), "--scheduler-file", path]
        cmd += ["--dashboard-address", dashboard_address] if dashboard_address else []
        cmd += [] if dashboard_address else ["--no-dashboard"]
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        from oxdask.distributed.client import _read_scheduler_file

        try:
            self.address = _read_scheduler_file(path, 30.0)
        except BaseException:
            self._close()
            raise
        self.dashboard_link = None

    def _close(self) -> None:
        if self.status == "closed":
            return
        self.status = "closed"
        with contextlib.suppress(OSError):
            self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def SubprocessCluster(
    host: str | None = None,
    scheduler_port: int = 0,
    scheduler_kwargs: dict | None = None,
    dashboard_address: str | None = ":8787",
    worker_class: str = "distributed.Nanny",
    n_workers: int | None = None,
    threads_per_worker: int | None = None,
    worker_kwargs: dict | None = None,
    silence_logs=None,
    **kwargs,
) -> SpecCluster:
    """A ``SpecCluster`` whose scheduler and workers each run in a process of their own."""
    if n_workers is None:
        n_workers = max(1, (os.cpu_count() or 1) // max(threads_per_worker or 1, 1))
    if threads_per_worker is None:
        threads_per_worker = max(1, (os.cpu_count() or 1) // n_workers)
    scheduler_options = dict(scheduler_kwargs or {})
    scheduler_options.update(host=host, port=scheduler_port, dashboard_address=dashboard_address)
    worker_options = dict(worker_kwargs or {})
    worker_options.setdefault("nthreads", threads_per_worker)
    template = {"cls": worker_class, "options": worker_options}
    return SpecCluster(
        workers={i: template for i in range(n_workers)},
        scheduler={"cls": SubprocessScheduler, "options": scheduler_options},
        worker=template,
        **kwargs,
    )
