"""``LocalCluster``: a scheduler in this process and workers in subprocesses (or threads)."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time

from oxdask import _core, config
from oxdask.distributed._cluster_base import Cluster
from oxdask.distributed._scheduler_ext import SchedulerExtension
from oxdask.distributed.security import (
    Security,
    _PemFiles,
    _resolve,
    _token,
    _worker_cli_args,
)
from oxdask.utils import parse_timedelta

__all__ = ["LocalCluster"]


def _client_tls(sec):
    """The TLS ``(ca, cert, key)`` a client in this process presents (None without TLS)."""
    if sec is None:
        return None
    for role in ("client", "worker", "scheduler"):
        with contextlib.suppress(ValueError):
            tls = sec._tls(role)
            if tls is not None:
                return tls
    return None


class LocalCluster(Cluster):
    """A scheduler and workers on this machine.

    Parameters
    ----------
    n_workers : int, optional
        Number of workers (default: one per core when ``processes``, else 1).
    threads_per_worker : int, optional
        Threads per worker (default: cores / n_workers, at least 1).
    processes : bool
        Workers in their own processes (default) or as threads of this process.
    memory_limit : str or int
        Per worker: bytes, ``"4GB"``, a fraction of RAM, ``"auto"`` (RAM divided by
        ``n_workers``) or 0 for none. Workers spill results to disk, pause and restart at the
        ``distributed.worker.memory.*`` fractions of it (read from this process's
        configuration when the cluster starts).
    scheduler_port : int
        0 picks a free port.
    dashboard_address : str or None
        Where the dashboard is served: ``":8787"`` (default; a free port, with a logged
        warning, when another cluster has it), ``":0"`` for a free port, None for none.
    host : str
        Interface for the scheduler and workers (loopback by default).
    resources : dict, optional
        Resources each worker declares, e.g. ``{"GPU": 1}``.
    timeout : float
        Seconds to wait for the workers to register.
    security : Security or True, optional
        TLS settings (the scheduler's, workers' and this process's certificates) and token;
        True generates a temporary CA and certificate (:meth:`Security.temporary`).
    token : str, optional
        Shared secret clients and workers must present (default: the Security's, then
        ``OXDASK_TOKEN``). oxdask only.
    insecure : bool
        Allow a non-loopback ``host`` with neither TLS nor a token (refused otherwise: anyone
        who can reach an open scheduler can run code on every worker). oxdask only.
    """

    def __init__(
        self,
        n_workers: int | None = None,
        threads_per_worker: int | None = None,
        processes: bool = True,
        memory_limit: str | int | None = "auto",
        scheduler_port: int = 0,
        dashboard_address: str | None = ":8787",
        host: str = "127.0.0.1",
        resources: dict | None = None,
        timeout: float | str = 30.0,
        token: str | None = None,
        security: Security | bool | None = None,
        insecure: bool = False,
        name: str | None = None,
        asynchronous: bool = False,
        **kwargs,
    ) -> None:
        self._name = name
        self._asynchronous = asynchronous
        cores = os.cpu_count() or 1
        if n_workers is None:
            n_workers = cores if processes else 1
        if threads_per_worker is None:
            threads_per_worker = max(1, cores // max(n_workers, 1))
        dash = _dashboard_port(dashboard_address)
        self.security = _resolve(security)
        self._token = _token(token, self.security)
        self._insecure = insecure
        self._pem_files = _PemFiles()
        sec = self.security

        def start(dash):
            return _core.Scheduler(
                host,
                scheduler_port,
                dash,
                self._token,
                tls=sec._tls("scheduler") if sec is not None else None,
                insecure=insecure,
                allowed_failures=int(config.get("distributed.scheduler.allowed-failures", 3)),
                extension=extension,
            )

        extension = SchedulerExtension()
        try:
            self.scheduler = start(dash)
        except OSError:
            if not dash or scheduler_port:  # not a busy default dashboard port
                raise
            # As Dask: another cluster has the dashboard port; serve this one elsewhere.
            self.scheduler = start(0)
            logging.getLogger("oxdask.distributed").warning(
                "port %s is in use (another cluster?): the dashboard is at %s",
                dash,
                self.scheduler.http_address,
            )
        self.scheduler_address = self.scheduler.address
        extension.set_connection(self.scheduler_address, self._token, _client_tls(sec))
        http = self.scheduler.http_address
        self.dashboard_link = f"{http}/status" if http else None
        self.processes = processes
        self._threads_per_worker = threads_per_worker
        if memory_limit == "auto":
            from oxdask.distributed.worker import parse_memory_limit

            memory_limit = parse_memory_limit("auto") // max(n_workers, 1)
        elif isinstance(memory_limit, str):
            from oxdask.distributed.worker import parse_memory_limit

            memory_limit = parse_memory_limit(memory_limit)  # "2GiB", "0.5": errors here
        self._memory_limit = memory_limit
        self._host = host
        self._resources = " ".join(f"{k}={v}" for k, v in (resources or {}).items()) or None
        self._procs: list[subprocess.Popen] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        try:
            self.scale(n_workers, timeout=parse_timedelta(timeout))
        except BaseException:
            self.close()
            raise

    # -- workers -------------------------------------------------------------------------------
    def _start_worker(self) -> None:
        if self.processes:
            cmd = [
                sys.executable,
                "-m",
                "oxdask.distributed.worker",
                self.scheduler_address,
                "--nthreads",
                str(self._threads_per_worker),
                "--memory-limit",
                str(self._memory_limit),
                "--host",
                self._host,
            ]
            if self._resources:
                cmd += ["--resources", self._resources]
            cmd += _worker_cli_args(self.security, self._pem_files)
            cmd += ["--insecure"] if self._insecure else []
            env = dict(os.environ)
            # Workers import what this process can import (as multiprocessing's spawn does),
            # so functions defined in the user's modules unpickle there.
            paths = [p for p in sys.path if p]
            if env.get("PYTHONPATH"):
                paths.append(env["PYTHONPATH"])
            env["PYTHONPATH"] = os.pathsep.join(paths)
            if self._token:
                env["OXDASK_TOKEN"] = self._token
            env.update(_worker_config_env())
            self._procs.append(subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL))
        else:
            from oxdask.distributed.worker import run

            t = threading.Thread(
                target=_run_quietly,
                args=(run, self.scheduler_address),
                kwargs={
                    "nthreads": self._threads_per_worker,
                    "memory_limit": self._memory_limit,
                    "resources": self._resources,
                    "host": self._host,
                    "token": self._token,
                    "tls": self.security._tls("worker") if self.security is not None else None,
                    "insecure": self._insecure,
                },
                daemon=True,
                name="oxdask-worker",
            )
            t.start()
            self._threads.append(t)

    def scale(self, n: int, timeout: float | str = 30.0) -> None:
        """Start workers until ``n`` are registered, or close the least busy ones (their
        results move to the others first) until ``n`` are left."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"scale needs a non-negative number of workers, not {n!r}")
        have = len(self.workers_info())
        if n < have:
            self._shrink_to(n, timeout)
            return
        self._procs = [p for p in self._procs if p.poll() is None]  # closed ones
        known = set(self._procs)
        for _ in range(n - have):
            self._start_worker()
        self._launching = [p for p in self._procs if p not in known]
        try:
            self.wait_for_workers(n, parse_timedelta(timeout))
        finally:
            self._launching = None

    def _reap(self, timeout: float) -> None:
        """Forget worker processes and threads that ended (waiting up to ``timeout`` for
        the workers just closed)."""
        deadline = time.monotonic() + timeout
        expected = len(self.workers_info())
        while time.monotonic() < deadline:
            self._procs = [p for p in self._procs if p.poll() is None]
            self._threads = [t for t in self._threads if t.is_alive()]
            if len(self._procs) + len(self._threads) <= expected:
                return
            time.sleep(0.05)

    def restart_workers(self, timeout: float | str = 60.0, wait: bool = True) -> None:
        """Retire every worker (they close once their data is gone) and start as many new."""
        timeout = parse_timedelta(timeout)
        addresses = [w["address"] for w in self.workers_info()]
        n = len(addresses)
        if addresses:
            self.retire_workers(addresses, timeout)
        deadline = time.monotonic() + timeout
        while self.workers_info() and time.monotonic() < deadline:
            time.sleep(0.02)
        for p in self._procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(max(0.1, deadline - time.monotonic()))
        self._procs = [p for p in self._procs if p.poll() is None]
        self._threads = [t for t in self._threads if t.is_alive()]
        for _ in range(n):
            self._start_worker()
        if wait:
            self.wait_for_workers(n, max(1.0, deadline - time.monotonic()))

    def _check_launch(self) -> None:
        launching = getattr(self, "_launching", None)  # those scale() started (else all)
        dead = [
            p for p in (self._procs if launching is None else launching) if p.poll() is not None
        ]
        if dead:
            raise RuntimeError(
                f"{len(dead)} worker process(es) exited with code {dead[0].returncode} "
                f"before registering with {self.scheduler_address}"
            )

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self, timeout: float | str = 10.0) -> None:
        """Stop the scheduler (which closes the workers) and reap worker processes."""
        if self._closed:
            return
        self._closed = True
        self.scheduler.close()
        deadline = time.monotonic() + parse_timedelta(timeout)
        for p in self._procs:  # the nannies: a worker they were restarting stops too
            with contextlib.suppress(OSError):
                p.terminate()
        for p in self._procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        self._pem_files.cleanup()

    def __repr__(self) -> str:
        mode = "processes" if self.processes else "threads"
        return f"LocalCluster({self.scheduler_address!r}, {mode}, closed={self._closed})"

    def _repr_html_(self) -> str:
        from oxdask.distributed._repr import card

        info = None
        if not self._closed:
            with contextlib.suppress(Exception):
                info = {"workers": {w["address"]: w for w in self.workers_info()}}
        state = "closed" if self._closed else ("processes" if self.processes else "threads")
        return card("LocalCluster", self.scheduler_address, self.dashboard_link, info, state)


def _dashboard_port(address) -> int | None:
    """The port of ``dashboard_address`` (``":8787"``, ``"127.0.0.1:0"``, ``8787``); None: off."""
    if address is None or address is False:
        return None
    text = str(address).rsplit(":", 1)[-1]
    try:
        return int(text or 0)
    except ValueError:
        raise ValueError(f"dashboard_address: expected ':PORT' or None, got {address!r}") from None


def _worker_config_env() -> dict[str, str]:
    """This process's worker settings, as environment variables for worker processes."""
    env = {}
    for name in ("target", "spill", "pause", "terminate", "buffer-pool"):
        value = config.get(f"distributed.worker.memory.{name}", None)
        env[f"OXDASK_DISTRIBUTED__WORKER__MEMORY__{name.upper().replace('-', '_')}"] = repr(value)
    tmp = config.get("temporary-directory", None)
    if tmp:
        env["OXDASK_TEMPORARY_DIRECTORY"] = repr(str(tmp))
    return env


def _run_quietly(run, *args, **kwargs) -> None:
    # The scheduler went away: the in-process worker simply stops.
    with contextlib.suppress(Exception):
        run(*args, **kwargs)
