"""Run the whole cluster inside one batch allocation (dask-jobqueue's ``SLURMRunner``), for
sites whose login nodes kill long-running processes.

In a script started with ``srun -n N python script.py``::

    from oxdask.distributed import Client
    from oxdask.jobqueue.runner import SLURMRunner

    with SLURMRunner(scheduler_file="scheduler-{job_id}.json") as runner:
        with Client(runner) as client:  # only task 1 gets here
            ...

task 0 runs the scheduler, task 1 the body of the ``with`` block (the client), the others
workers; leaving the block stops them all. Without a client task
(``srun python -m oxdask.jobqueue.runner --scheduler-file F``), task 0 is the scheduler and
the rest workers, and a client elsewhere connects through the scheduler file with
:func:`connect` (the file, written 0600, also holds the cluster's token); :func:`shutdown`
ends the allocation's cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from oxdask.distributed._cluster_base import Cluster, start_scheduler
from oxdask.jobqueue.core import _default_host

__all__ = ["SLURMRunner", "WorldTooSmallException", "connect", "shutdown"]


class WorldTooSmallException(RuntimeError):
    """Not enough tasks in the allocation for the scheduler, the client and a worker."""


def _read(path: Path, timeout: float | None) -> dict:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError):
            info = json.loads(path.read_text())
            if info["address"]:
                return info
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"no scheduler file at {path} within {timeout}s")
        time.sleep(0.1)


class SLURMRunner(Cluster):
    """One role per task of a SLURM job step (``SLURM_PROCID``): scheduler (0), client (1,
    with ``client=True``), workers (the rest).

    Parameters
    ----------
    scheduler_file : str
        Shared path of the scheduler's address; ``{job_id}`` is replaced by the job's id.
    scheduler, client : bool
        Whether a task runs the scheduler / the caller's code.
    scheduler_options : dict
        ``host``, ``port``, ``interface``, ``dashboard_address``.
    worker_options : dict
        ``nthreads``, ``memory_limit``, ``local_directory``, ``death_timeout`` (default 60 s).
    """

    def __init__(
        self,
        scheduler_file: str = "scheduler-{job_id}.json",
        scheduler: bool = True,
        client: bool = True,
        scheduler_options: dict | None = None,
        worker_options: dict | None = None,
    ) -> None:
        try:
            self.proc_id = int(os.environ["SLURM_PROCID"])
            self.world_size = int(os.environ["SLURM_NTASKS"])
            self.job_id = os.environ["SLURM_JOB_ID"]
        except KeyError as e:
            raise RuntimeError(
                "SLURM_PROCID, SLURM_NTASKS, and SLURM_JOB_ID must be present in the "
                "environment (run under srun)."
            ) from e
        if not scheduler_file:
            raise RuntimeError("scheduler_file must be given")
        self.scheduler_file = Path(str(scheduler_file).format(job_id=self.job_id))
        self.scheduler, self.client = scheduler, client
        self.scheduler_options = dict(scheduler_options or {})
        self.worker_options = dict(worker_options or {})
        needed = 1 + int(scheduler) + int(client)
        if self.world_size < needed:
            raise WorldTooSmallException(
                f"Not enough Slurm tasks to start cluster, found {self.world_size}, needs at "
                f"least {needed}: the scheduler, {'the client, ' if client else ''}a worker."
            )
        self.n_workers = self.world_size - int(scheduler) - int(client)
        if scheduler and self.proc_id == 0:
            self.role = "scheduler"
        elif client and self.proc_id == int(scheduler):
            self.role = "client"
        else:
            self.role = "worker"
        self._closed = False

    # -- roles ---------------------------------------------------------------------------------
    def __enter__(self) -> SLURMRunner:
        if self.role == "scheduler":
            self._run_scheduler()
            sys.exit(0)  # the body of the ``with`` block is the client's
        if self.role == "worker":
            self._run_worker()
            sys.exit(0)
        info = _read(self.scheduler_file, 600.0)
        self.scheduler_address, self._token = info["address"], info.get("token")
        return self

    def _run_scheduler(self) -> None:
        o = self.scheduler_options
        token = os.environ.get("OXDASK_TOKEN") or secrets.token_urlsafe(24)
        dash = o.get("dashboard_address", ":0")
        sched = start_scheduler(
            o.get("host") or _default_host(o.get("interface")),
            int(o.get("port", 0)),
            None if dash is None else int(str(dash).rsplit(":", 1)[-1] or 0),
            token,
        )
        tmp = self.scheduler_file.with_name(self.scheduler_file.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:  # the token is in it: this user only
            json.dump({"address": sched.address, "type": "Scheduler", "token": token}, f)
        os.replace(tmp, self.scheduler_file)
        print(f"Scheduler at: {sched.address}", flush=True)
        stop: list[int] = []
        signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
        try:  # until shutdown() removes the file, or the job ends (SIGTERM)
            while not stop and self.scheduler_file.exists():
                time.sleep(0.2)
        finally:
            sched.close()
            with contextlib.suppress(OSError):
                self.scheduler_file.unlink()

    def _run_worker(self) -> None:
        from oxdask.distributed._deploy_flags import default_host
        from oxdask.distributed.worker import run

        o = self.worker_options
        info = _read(self.scheduler_file, float(o.get("death_timeout", 60)))
        with contextlib.suppress(ConnectionError, KeyboardInterrupt):  # the scheduler left
            run(
                info["address"],
                nthreads=int(o.get("nthreads", 1)),
                memory_limit=o.get("memory_limit"),
                name=str(self.proc_id),
                host=o.get("host") or default_host(info["address"], True),
                token=info.get("token"),
                local_directory=o.get("local_directory"),
            )

    # -- the client's side ---------------------------------------------------------------------
    def close(self, timeout: float | str = 10.0) -> None:
        """(The client task) stop the scheduler, and with it the workers."""
        if self._closed or self.role != "client":
            return
        self._closed = True
        shutdown(self.scheduler_file)

    def __exit__(self, *exc) -> None:
        self.close()


def connect(scheduler_file: str, timeout: float = 60.0, **kwargs):
    """A ``Client`` of the cluster a runner started (address and token from the file)."""
    from oxdask.distributed import Client

    info = _read(Path(scheduler_file), timeout)
    return Client(info["address"], token=info.get("token"), **kwargs)


def shutdown(scheduler_file: str | Path) -> None:
    """Stop the scheduler of a runner's cluster (its workers follow)."""
    with contextlib.suppress(FileNotFoundError):
        Path(scheduler_file).unlink()


def main(argv: list[str] | None = None) -> int:
    """``srun python -m oxdask.jobqueue.runner --scheduler-file F [--nthreads N ...]``."""
    p = argparse.ArgumentParser(prog="python -m oxdask.jobqueue.runner")
    p.add_argument("--scheduler-file", required=True)
    p.add_argument("--nthreads", type=int, default=1)
    p.add_argument("--memory-limit", default=None)
    p.add_argument("--local-directory", default=None)
    p.add_argument("--interface", default=None)
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    try:
        runner = SLURMRunner(
            scheduler_file=args.scheduler_file,
            client=False,
            scheduler_options={"interface": args.interface, "port": args.port},
            worker_options={
                "nthreads": args.nthreads,
                "memory_limit": args.memory_limit,
                "local_directory": args.local_directory,
            },
        )
    except RuntimeError as e:
        print(f"oxdask runner: {e}", file=sys.stderr)
        return 1
    with runner:
        pass  # (every role returns from __enter__ through sys.exit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
