"""Job-queue clusters: a scheduler in this process, workers in batch jobs (dask-jobqueue's
model and keywords). Each job runs ``processes`` worker processes, named ``<job>`` (one) or
``<job>-<i>``, that are started, retired and cancelled together."""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time

from oxdask import config
from oxdask.distributed._cluster_base import Cluster, start_scheduler
from oxdask.utils import format_bytes, parse_bytes

__all__ = ["Job", "JobQueueCluster"]

#: The keywords every job takes, with their ``jobqueue.<name>.*`` configuration keys.
_JOB_KEYS = (
    "cores", "memory", "processes", "python", "interface", "death_timeout", "local_directory",
    "worker_command", "worker_extra_args", "job_script_prologue", "job_extra_directives",
    "job_directives_skip", "log_directory", "shebang", "nanny", "protocol",
)  # fmt: skip


def _conf(config_name: str, key: str, default=None):
    return config.get(f"jobqueue.{config_name}.{key.replace('_', '-')}", default)


def _threads_and_processes(cores: int) -> int:
    """Processes per job when not given: about the square root of the cores (as Dask)."""
    if cores <= 4:
        return cores
    best = 1
    for p in range(1, int(math.sqrt(cores)) + 1):
        if cores % p == 0:
            best = p
    return best


class Job:
    """One batch job's script and its submission (subclasses: the batch systems)."""

    submit_command: str = ""
    cancel_command: str = ""
    status_command: str | None = None
    config_name: str = ""
    job_id_regexp = r"(?P<job_id>\d+)"
    use_stdin = False  # ``bsub < script`` instead of ``bsub script``

    def __init__(self, scheduler: str, name: str, config_name: str | None = None, **kwargs):
        self.config_name = config_name or type(self).config_name
        unknown = set(kwargs) - set(_JOB_KEYS) - set(self.extra_keys())
        if unknown:
            raise TypeError(
                f"{type(self).__name__.replace('Job', 'Cluster')} got unexpected keyword "
                f"argument(s) {sorted(unknown)}"
            )
        get = {k: kwargs[k] if kwargs.get(k) is not None else self.conf(k) for k in _JOB_KEYS}
        get.update({k: kwargs.get(k, self.conf(k)) for k in self.extra_keys()})
        self.options = get
        cores, memory = get["cores"], get["memory"]
        if cores is None or memory is None:
            cluster = type(self).__name__.replace("Job", "Cluster")
            raise ValueError(
                "You must specify how much cores and memory per job you want to use, for "
                f"example:\ncluster = {cluster}(cores={cores or 8}, memory={memory or '24GB'!r})"
            )
        self.worker_cores = int(cores)
        self.worker_memory = parse_bytes(memory) if isinstance(memory, str) else int(memory)
        self.worker_processes = int(get["processes"] or _threads_and_processes(self.worker_cores))
        if self.worker_processes < 1 or self.worker_processes > self.worker_cores:
            raise ValueError(
                f"processes={self.worker_processes}: must be between 1 and cores={cores}"
            )
        self.scheduler, self.name = scheduler, name
        self.job_name = self.conf("name") or "dask-worker"
        self.log_directory = get["log_directory"]
        if self.log_directory:
            os.makedirs(self.log_directory, exist_ok=True)
        self.shebang = get["shebang"] or "#!/usr/bin/env bash"
        self.job_id: str | None = None
        self.token_file: str | None = None
        self.job_header = self.header()

    # -- configuration -------------------------------------------------------------------------
    @classmethod
    def extra_keys(cls) -> tuple[str, ...]:
        """The batch system's own keywords (``queue``, ``account``, ``walltime``, ...)."""
        return ()

    def conf(self, key: str, default=None):
        return _conf(self.config_name, key, default)

    @property
    def worker_process_threads(self) -> int:
        return max(1, self.worker_cores // self.worker_processes)

    @property
    def worker_process_memory(self) -> str:
        return format_bytes(self.worker_memory / self.worker_processes).replace(" ", "")

    def header(self) -> str:  # pragma: no cover - subclasses
        raise NotImplementedError

    def directives(self, prefix: str, lines: list[str]) -> str:
        """``lines`` as ``prefix`` directives, minus ``job_directives_skip``, plus
        ``job_extra_directives``."""
        skip = self.options["job_directives_skip"] or ()
        out = [f"{prefix} {x}" for x in lines if not any(s in x for s in skip)]
        out += [f"{prefix} {x}" for x in self.options["job_extra_directives"] or ()]
        return "\n".join(out)

    # -- the script ----------------------------------------------------------------------------
    def worker_command(self) -> str:
        o = self.options
        python = o["python"] or sys.executable
        module = o["worker_command"] or "oxdask.distributed.worker"
        args = [python, "-m", *module.split(), self.scheduler, "--name", self.name]
        args += ["--nthreads", str(self.worker_process_threads)]
        args += ["--memory-limit", self.worker_process_memory]
        if self.worker_processes > 1:
            args += ["--nworkers", str(self.worker_processes)]
        args += ["--nanny" if o["nanny"] in (None, True) else "--no-nanny"]
        if o["death_timeout"] is not None:
            args += ["--death-timeout", str(o["death_timeout"])]
        if o["local_directory"]:
            args += ["--local-directory", str(o["local_directory"])]
        if o["interface"]:
            args += ["--interface", o["interface"]]
        if o["protocol"]:
            args += ["--protocol", o["protocol"]]
        if self.token_file:
            args += ["--token-file", self.token_file]
        args += [str(a) for a in o["worker_extra_args"] or ()]
        return " ".join(shlex.quote(a) for a in args)

    def job_script(self) -> str:
        prologue = "\n".join(filter(None, self.options["job_script_prologue"] or ()))
        parts = [self.shebang, self.job_header, prologue, self.worker_command()]
        return "\n".join(p for p in parts if p) + "\n"

    # -- the batch system ----------------------------------------------------------------------
    def submit(self) -> str:
        """Submit the script; the job id. ``RuntimeError`` with the script's path and the
        command's output when the batch system refuses it."""
        fd, path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".sh")
        with os.fdopen(fd, "w") as f:
            f.write(self.job_script())
        cmd = shlex.split(self.submit_command)
        if self.use_stdin:  # on failure the script stays for the user to read
            with open(path) as f:
                out = _call(cmd, stdin=f, script=path)
        else:
            out = _call([*cmd, path], script=path)
        os.unlink(path)
        match = re.search(self.job_id_regexp, out)
        if match is None:
            raise ValueError(
                f"could not find the job id in the output of {self.submit_command!r} "
                f"(pattern {self.job_id_regexp!r}):\n{out}"
            )
        self.job_id = match.group("job_id")
        return self.job_id

    def cancel(self) -> None:
        if self.job_id:
            with contextlib.suppress(RuntimeError, OSError):  # already gone
                _call([*shlex.split(self.cancel_command), self.job_id])

    def alive(self) -> bool:
        """Whether the batch system still lists the job (pending or running)."""
        if not self.job_id or not self.status_command:
            return True
        try:
            out = _call([*shlex.split(self.status_command), self.job_id])
        except (RuntimeError, OSError):
            return False
        return self.parse_alive(out)

    def parse_alive(self, out: str) -> bool:
        return bool(out.strip())

    def log_files(self) -> list[str]:
        """Where the job's output goes (for error messages)."""
        if self.log_directory:
            return [os.path.join(self.log_directory, f"{self.job_name}-{self.job_id}.err")]
        return []


def _call(cmd: list[str], stdin=None, script: str | None = None) -> str:
    try:
        out = subprocess.run(
            cmd, stdin=stdin, capture_output=True, text=True, timeout=60, check=False
        )
    except FileNotFoundError:
        raise RuntimeError(
            f"{cmd[0]!r} not found: is the batch system's client installed?"
        ) from None
    if out.returncode != 0:
        where = f"\njob script: {script}" if script else ""
        raise RuntimeError(
            f"Command exited with non-zero exit code {out.returncode}: {shlex.join(cmd)}"
            f"{where}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
        )
    return out.stdout


def _default_host(interface: str | None) -> str:
    """The address workers on other nodes reach this machine by."""
    if interface:
        from oxdask.distributed._deploy_flags import interface_address

        return interface_address(interface)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 80))  # no packet is sent: picks the outgoing interface
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class JobQueueCluster(Cluster):
    """A scheduler in this process and workers in batch jobs (subclasses name the batch
    system: ``SLURMCluster``, ``PBSCluster``, ...)."""

    job_cls: type[Job] | None = None

    def __init__(
        self,
        n_workers: int = 0,
        job_cls: type[Job] | None = None,
        security=None,
        name: str | None = None,
        dashboard_address=None,
        host=None,
        scheduler_options: dict | None = None,
        interface: str | None = None,
        protocol: str | None = None,
        config_name: str | None = None,
        shared_temp_directory: str | None = None,
        **job_kwargs,
    ) -> None:
        self.job_cls = job_cls or type(self).job_cls
        if self.job_cls is None:
            raise ValueError("You need to specify a Job type (job_cls=)")
        cls = type(self).__name__
        if dashboard_address is not None:
            raise ValueError(
                "Please pass 'dashboard_address' through 'scheduler_options': use\n"
                f'cluster = {cls}(..., scheduler_options={{"dashboard_address": ":12345"}})'
            )
        if host is not None:
            raise ValueError(
                "Please pass 'host' through 'scheduler_options': use\n"
                f'cluster = {cls}(..., scheduler_options={{"host": "your-host"}})'
            )
        if security not in (None, False):
            raise NotImplementedError(f"{cls}(security=...): TLS for job-queue workers")
        self.config_name = config_name or self.job_cls.config_name
        if interface is None:
            interface = _conf(self.config_name, "interface")
        opts = dict(scheduler_options or _conf(self.config_name, "scheduler-options", {}) or {})
        self._job_kwargs = {**job_kwargs, "interface": interface, "protocol": protocol}
        self._job_kwargs["config_name"] = self.config_name
        self._name = name or cls
        self._closed = False
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._count = 0
        self.security = None
        self._dummy_job  # noqa: B018 (checks the keywords before anything starts)
        sched_host = opts.get("host") or _default_host(opts.get("interface", interface))
        self._token = secrets.token_urlsafe(24)
        dash = opts.get("dashboard_address", ":0")
        self.scheduler = start_scheduler(
            sched_host,
            int(opts.get("port", 0)),
            None if dash is None else int(str(dash).rsplit(":", 1)[-1] or 0),
            self._token,
        )
        self.scheduler_address = self.scheduler.address
        http = self.scheduler.http_address
        self.dashboard_link = f"{http}/status" if http else None
        tmp = shared_temp_directory or _conf(self.config_name, "shared-temp-directory")
        tmp = os.path.expanduser(tmp or os.path.join("~", ".oxdask", "jobqueue"))
        os.makedirs(tmp, mode=0o700, exist_ok=True)
        fd, self._token_file = tempfile.mkstemp(prefix="token-", dir=tmp)
        with os.fdopen(fd, "w") as f:  # 0600: only this user's jobs read it
            f.write(self._token + "\n")
        if n_workers:
            self.scale(n_workers)

    # -- jobs ----------------------------------------------------------------------------------
    def _new_job(self, name: str, address: str | None = None) -> Job:
        return self.job_cls(address or self.scheduler_address, name, **self._job_kwargs)

    @property
    def _dummy_job(self) -> Job:
        address = getattr(self, "scheduler_address", "") or "tcp://<scheduler-address>:8786"
        try:
            job = self._new_job("dummy-name", address)
        except TypeError as e:  # as dask-jobqueue: a ValueError naming the keywords
            raise ValueError(
                f"Got {e}. Very likely this unexpected parameter was passed in the "
                f"{type(self).__name__} constructor: job_kwargs={self._job_kwargs}"
            ) from e
        job.token_file = getattr(self, "_token_file", None)
        return job

    def job_script(self) -> str:
        """The script a job would be submitted with (its worker name is a placeholder)."""
        return self._dummy_job.job_script()

    @property
    def job_header(self) -> str:
        return self._dummy_job.job_header

    @property
    def job_name(self) -> str:
        return self._dummy_job.job_name

    @property
    def jobs(self) -> dict[str, Job]:
        """Submitted jobs by worker-group name (``job.job_id`` is the batch system's id)."""
        return dict(self._jobs)

    def _submit(self) -> Job:
        name = f"{self._name}-{self._count}"
        self._count += 1
        job = self._new_job(name)
        job.token_file = self._token_file
        job.submit()
        self._jobs[name] = job
        return job

    def scale(self, n: int | None = None, jobs: int = 0, memory=None, cores=None) -> None:
        """Ask for ``n`` workers (``ceil(n / processes)`` jobs), or ``jobs`` jobs, or enough
        jobs for ``memory`` / ``cores``. Returns once the jobs are submitted or cancelled
        (``wait_for_workers`` waits for them to start). Newest jobs leave first; their
        workers retire (results move) before the job is cancelled."""
        dummy = self._dummy_job
        if n is not None:
            jobs = math.ceil(n / dummy.worker_processes)
        if memory is not None:
            mem = parse_bytes(memory) if isinstance(memory, str) else memory
            jobs = max(jobs, math.ceil(mem / dummy.worker_memory))
        if cores is not None:
            jobs = max(jobs, math.ceil(cores / dummy.worker_cores))
        with self._lock:
            self._forget_ended()
            while len(self._jobs) < jobs:
                self._submit()
            extra = list(self._jobs)[jobs:]
            if extra:
                self._stop_jobs(extra)

    def adapt(self, *args, minimum_jobs: int | None = None, maximum_jobs: int | None = None,
              **kwargs):  # fmt: skip
        """Adaptive scaling (see ``Cluster.adapt``) with bounds in jobs as well as workers:
        ``minimum_jobs``/``maximum_jobs`` count ``processes`` workers per job."""
        per_job = self._dummy_job.worker_processes
        for name, jobs in (("minimum", minimum_jobs), ("maximum", maximum_jobs)):
            if jobs is not None:
                kwargs[name] = jobs * per_job
        return super().adapt(*args, **kwargs)

    def _forget_ended(self) -> None:
        """Jobs the batch system no longer lists and without registered workers."""
        running = set(self._groups())
        for name, job in list(self._jobs.items()):
            if name not in running and not job.alive():
                del self._jobs[name]

    def _groups(self) -> dict[str, list[str]]:
        """Registered worker addresses by job name."""
        out: dict[str, list[str]] = {}
        for address, wname in self.worker_names().items():
            wname = str(wname)
            group = wname if wname in self._jobs else wname.rsplit("-", 1)[0]
            out.setdefault(group, []).append(address)
        return out

    def _stop_jobs(self, names: list[str]) -> None:
        groups = self._groups()
        members = [a for name in names for a in groups.get(name, [])]
        if members:
            self.retire_workers(members, 60.0)
            deadline = time.monotonic() + 60
            while set(members) & {w["address"] for w in self.workers_info()}:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        for name in names:
            self._jobs.pop(name).cancel()

    def _check_launch(self) -> None:
        """A job that ended before its workers registered is an error naming it and its
        logs (checked at most once a second)."""
        now = time.monotonic()
        if now - getattr(self, "_checked", 0.0) < 1.0:
            return
        self._checked = now
        running = self._groups()
        for name, job in self._jobs.items():
            if name not in running and not job.alive():
                logs = ", ".join(job.log_files()) or "the batch system's default output file"
                raise RuntimeError(
                    f"job {job.job_id} ({name}) ended before its workers registered with "
                    f"{self.scheduler_address}; see its output in {logs}"
                )

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self, timeout: float | str = 10.0) -> None:
        """Cancel every job and stop the scheduler."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        for job in list(self._jobs.values()):
            job.cancel()
        self._jobs.clear()
        self.scheduler.close()
        with contextlib.suppress(OSError):
            os.unlink(self._token_file)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.scheduler_address!r}, jobs={len(self._jobs)}, "
            f"closed={self._closed})"
        )
