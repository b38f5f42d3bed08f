"""``SSHCluster``: a scheduler and workers on other machines, started through the system's
``ssh`` (so ``~/.ssh/config``, agents, ``ProxyJump`` and known hosts work as usual)."""

from __future__ import annotations

import collections
import contextlib
import json
import math
import secrets
import shlex
import subprocess
import sys
import threading
import time

from oxdask.distributed._cluster_base import Cluster
from oxdask.utils import parse_timedelta

__all__ = ["SSHCluster"]

#: ``worker_options`` keys and their ``oxdask worker`` flags (Dask's Worker keywords).
_WORKER_FLAGS = {
    "nthreads": "--nthreads",
    "n_workers": "--nworkers",
    "memory_limit": "--memory-limit",
    "resources": "--resources",
    "local_directory": "--local-directory",
    "host": "--host",
    "port": "--port",
    "interface": "--interface",
    "protocol": "--protocol",
    "death_timeout": "--death-timeout",
    "lifetime": "--lifetime",
    "lifetime_stagger": "--lifetime-stagger",
    "lifetime_restart": "--lifetime-restart",
    "nanny": "--nanny",
}
#: ``scheduler_options`` keys and their ``oxdask scheduler`` flags.
_SCHEDULER_FLAGS = {
    "port": "--port",
    "host": "--host",
    "interface": "--interface",
    "protocol": "--protocol",
    "dashboard_address": "--dashboard-port",
    "dashboard": "--dashboard",
    "idle_timeout": "--idle-timeout",
    "scheduler_file": "--scheduler-file",
}
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _cli_args(options: dict, flags: dict, what: str) -> list[str]:
    out: list[str] = []
    for key, value in options.items():
        if key not in flags:
            raise TypeError(
                f"{what} got an unexpected keyword {key!r} (supported: {sorted(flags)})"
            )
        flag = flags[key]
        if key == "dashboard":
            out += [] if value else ["--no-dashboard"]
        elif key == "nanny":
            out += ["--nanny" if value else "--no-nanny"]
        elif isinstance(value, bool):
            out += [flag] if value else []
        elif key == "resources" and isinstance(value, dict):
            out += [flag, " ".join(f"{k}={v}" for k, v in value.items())]
        elif key == "dashboard_address":
            out += [flag, str(value).rsplit(":", 1)[-1] or "0"]
        elif value is not None:
            out += [flag, str(value)]
    return out


def ssh_command(host: str, options: dict) -> list[str]:
    """``ssh`` and its options from asyncssh-style ``connect_options`` (``username``,
    ``port``, ``client_keys``, ``known_hosts`` -- None means no host key checking --,
    ``config``, ``connect_timeout``, ``proxy_jump``; oxdask's ``ssh_options``: more ``-o``
    settings)."""
    cmd = ["ssh", "-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5"]
    cmd += ["-o", "ServerAliveCountMax=3"]
    known = {"username", "port", "client_keys", "known_hosts", "config", "connect_timeout"}
    known |= {"proxy_jump", "ssh_options", "tunnel"}
    unknown = set(options) - known
    if unknown:
        raise TypeError(f"connect_options: unsupported keys {sorted(unknown)} (have {known})")
    config = options.get("config")
    for path in [config] if isinstance(config, str) else config or []:
        cmd += ["-F", str(path)]
    timeout = parse_timedelta(options.get("connect_timeout", 10))
    cmd += ["-o", f"ConnectTimeout={max(1, math.ceil(timeout))}"]
    if options.get("username"):
        cmd += ["-l", str(options["username"])]
    if options.get("port"):
        cmd += ["-p", str(options["port"])]
    keys = options.get("client_keys")
    for key in [keys] if isinstance(keys, str) else keys or []:
        cmd += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    if "known_hosts" in options:
        if options["known_hosts"] is None:
            cmd += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        else:
            cmd += ["-o", f"UserKnownHostsFile={options['known_hosts']}"]
    jump = options.get("proxy_jump") or options.get("tunnel")
    if jump:
        cmd += ["-J", str(jump)]
    for opt in options.get("ssh_options", []):
        cmd += ["-o", str(opt)]
    cmd += ["-o", "LogLevel=ERROR"]
    return [*cmd, host]


def _resolve(host: str, options: dict) -> str:
    """The real host name behind an ssh alias (``ssh -G`` applies ``~/.ssh/config``)."""
    try:
        out = subprocess.run(
            [*ssh_command(host, options)[:-1], "-G", host],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return host
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        if key == "hostname" and value:
            return value.strip()
    return host


class _Remote:
    """One ``ssh`` process running ``oxdask scheduler`` or ``oxdask worker`` on a host; its
    output is kept (``log``), its stdin held open: closing it ends the remote process."""

    def __init__(self, name, host, options, python, kind, args, env) -> None:
        self.name, self.host, self.kind = name, host, kind
        remote = [python, "-m", "oxdask.distributed._remote", kind, *args]
        cmd = [*ssh_command(host, options), " ".join(shlex.quote(a) for a in remote)]
        self.log: collections.deque[str] = collections.deque(maxlen=2000)
        self._lines: list[str] = []
        self._cond = threading.Condition()
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
        except FileNotFoundError:
            raise FileNotFoundError("SSHCluster needs the ssh client (the `ssh` command)") from None
        self.proc.stdin.write(json.dumps({"env": env}) + "\n")
        self.proc.stdin.flush()
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"ssh-{name}")
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._cond:
                self.log.append(line.rstrip("\n"))
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_line(self, prefix: str, deadline: float) -> str:
        """The first output line starting with ``prefix``; an error naming the host, with its
        output, if the process ends or ``deadline`` passes first."""
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    if line.startswith(prefix):
                        return line.strip()
                seen = len(self._lines)
                if self.proc.poll() is not None:
                    self._cond.wait(0.2)  # the reader thread drains what is left
                    if not any(line.startswith(prefix) for line in self._lines[seen:]):
                        raise self.failure()
                    continue
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{self.kind} on {self.host} did not start in time; its output:\n"
                        + self.output()
                    )
                self._cond.wait(0.1)

    def output(self) -> str:
        return "\n".join(self.log) or "(no output)"

    def failure(self) -> Exception:
        code = self.proc.poll()
        if code == 255:  # ssh's own failure: unreachable, refused, authentication
            return ConnectionError(f"ssh to {self.host} failed: {self.output()}")
        return RuntimeError(
            f"{self.kind} on {self.host} exited with code {code} before starting; its output:\n"
            + self.output()
        )

    def hangup(self) -> None:
        """End of file on the remote side's stdin: it stops its process."""
        if self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def close(self, timeout: float) -> None:
        self.hangup()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)
        with contextlib.suppress(OSError):
            self.proc.stdout.close()


class SSHCluster(Cluster):
    """A scheduler on ``hosts[0]`` and workers on each of ``hosts[1:]``, through ``ssh``.

    Parameters
    ----------
    hosts : list of str
        Host names (or ``~/.ssh/config`` aliases); repeat one to put several worker groups
        (or the scheduler and workers) on it.
    connect_options : dict or list of dict
        ssh settings, one dict for all hosts or one per host: ``username``, ``port``,
        ``client_keys``, ``known_hosts`` (None: no host key checking), ``config`` (ssh config
        file), ``connect_timeout`` (default 10 s), ``proxy_jump``; ``ssh_options``: more
        ``-o`` settings.
    worker_options : dict
        Per host: ``nthreads``, ``n_workers`` (processes), ``memory_limit``, ``resources``,
        ``local_directory``, ``lifetime``, ``death_timeout``, ``interface``, ...
    scheduler_options : dict
        ``port`` (default 0: any free port), ``host``, ``interface``, ``dashboard_address``,
        ``idle_timeout``, ...
    remote_python : str or list of str
        Python on the remote hosts (default: this process's ``sys.executable``); oxdask must
        be installed there.
    token : str, optional
        Shared secret of the scheduler, workers and clients (default: a new random one, sent
        to the remote processes over ssh's stdin, never on a command line).
    timeout : float or str
        How long the scheduler and workers have to start.
    """

    def __init__(
        self,
        hosts: list[str] | None = None,
        connect_options: dict | list[dict] | None = None,
        worker_options: dict | None = None,
        scheduler_options: dict | None = None,
        worker_class: str | None = None,
        remote_python: str | list[str] | None = None,
        token: str | None = None,
        timeout: float | str = 60.0,
        **kwargs,
    ) -> None:
        if not hosts or isinstance(hosts, str):
            raise ValueError(f"`hosts` must be a non empty list, value {hosts!r} found.")
        if isinstance(connect_options, list) and len(connect_options) != len(hosts):
            raise RuntimeError(
                "When specifying a list of connect_options you must provide a "
                "dictionary for each address."
            )
        if isinstance(remote_python, list) and len(remote_python) != len(hosts):
            raise RuntimeError(
                "When specifying a list of remote_python you must provide a path for each address."
            )
        if kwargs.get("security") not in (None, False):
            raise NotImplementedError("SSHCluster(security=...): TLS over SSHCluster; use token=")
        self.hosts = list(hosts)
        self._connect = [
            dict(connect_options[i] if isinstance(connect_options, list) else connect_options or {})
            for i in range(len(hosts))
        ]
        self._python = [
            (remote_python[i] if isinstance(remote_python, list) else remote_python)
            or sys.executable
            for i in range(len(hosts))
        ]
        self._worker_options = dict(worker_options or {})
        self._worker_args = _cli_args(self._worker_options, _WORKER_FLAGS, "worker_options")
        sched_opts = {"port": 0, "dashboard_address": ":0", **(scheduler_options or {})}
        self._token = token or secrets.token_urlsafe(24)
        self._env = {"OXDASK_TOKEN": self._token}
        self._timeout = parse_timedelta(timeout)
        self.security = None
        self.name = kwargs.get("name", "SSHCluster")
        self._workers: dict[str, _Remote] = {}
        self._next = 0
        self._closed = False
        self._lock = threading.RLock()
        self.scheduler = None
        try:
            self._start_scheduler(sched_opts)
            self.scale(len(hosts) - 1)
        except BaseException:
            self.close()
            raise

    # -- starting ------------------------------------------------------------------------------
    def _start_scheduler(self, options: dict) -> None:
        host = self.hosts[0]
        real = _resolve(host, self._connect[0])
        if "host" not in options and "interface" not in options:
            options["host"] = "127.0.0.1" if real in _LOOPBACK else "0.0.0.0"
        args = _cli_args(options, _SCHEDULER_FLAGS, "scheduler_options")
        self.scheduler = _Remote(
            "Scheduler", host, self._connect[0], self._python[0], "scheduler", args, self._env
        )
        deadline = time.monotonic() + self._timeout
        line = self.scheduler.wait_line("Scheduler at:", deadline)
        address = line.split(":", 1)[1].strip()
        scheme, _, rest = address.partition("://")
        listen_host, _, port = rest.rpartition(":")
        if listen_host in ("0.0.0.0", "::", "[::]"):  # reach it by the host's name
            address = f"{scheme}://{real}:{port}"
        self.scheduler_address = address
        http = (
            self.scheduler.wait_line("Dashboard at:", deadline)
            if "--no-dashboard" not in args
            else None
        )
        self.dashboard_link = http.split(":", 1)[1].strip() if http else None

    def _start_group(self) -> _Remote:
        """One ``oxdask worker`` (``n_workers`` processes) on the next worker host."""
        workers = self.hosts[1:] or self.hosts[:1]
        index = self._next % len(workers)
        i = index + (1 if len(self.hosts) > 1 else 0)
        name = str(self._next)
        self._next += 1
        args = [self.scheduler_address, "--name", name, *self._worker_args]
        if "host" not in self._worker_options and "interface" not in self._worker_options:
            args += ["--host", _resolve(self.hosts[i], self._connect[i])]
        remote = _Remote(
            name, self.hosts[i], self._connect[i], self._python[i], "worker", args, self._env
        )
        self._workers[name] = remote
        return remote

    @property
    def _per_group(self) -> int:
        return int(self._worker_options.get("n_workers", 1) or 1)

    def _check_launch(self) -> None:
        for remote in self._workers.values():
            if remote.proc.poll() is not None:
                raise remote.failure()

    def scale(self, n: int = 0, timeout: float | str | None = None) -> None:
        """``n`` workers: worker groups (one per host, ``n_workers`` processes each) are
        started on the hosts in turn, or the newest retired (their results move first)."""
        with self._lock:
            groups = math.ceil(max(0, n) / self._per_group)
            while len(self._workers) < groups:
                self._start_group()
            extra = list(self._workers)[groups:]
            if extra:
                self._stop_groups(extra)
            wanted = len(self._workers) * self._per_group
        self.wait_for_workers(wanted, self._timeout if timeout is None else timeout)

    def _stop_groups(self, names: list[str]) -> None:
        members = self._members(names)
        if members:
            self.retire_workers(members, self._timeout)
            deadline = time.monotonic() + self._timeout
            while time.monotonic() < deadline:
                if not set(members) & {w["address"] for w in self.workers_info()}:
                    break
                time.sleep(0.05)
        for name in names:
            self._workers.pop(name).close(10.0)

    def _members(self, names: list[str]) -> list[str]:
        """Addresses of the workers of the named groups (a group's workers are named ``g``
        or ``g-i``)."""
        out = []
        for address, wname in self.worker_names().items():
            group = str(wname).rsplit("-", 1)[0] if "-" in str(wname) else str(wname)
            if group in names:
                out.append(address)
        return out

    # -- state ---------------------------------------------------------------------------------
    @property
    def workers(self) -> dict[str, _Remote]:
        """Worker groups by name: each holds ``host``, ``proc`` (its ssh) and ``log``."""
        return dict(self._workers)

    def get_logs(self, cluster: bool = True, scheduler: bool = True, workers: bool = True):
        """The output of the scheduler and of each worker group, by name."""
        logs = {}
        if scheduler and self.scheduler is not None:
            logs["Scheduler"] = self.scheduler.output()
        if workers:
            for name, remote in self._workers.items():
                logs[name] = remote.output()
        return logs

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self, timeout: float | str = 10.0) -> None:
        """Stop every remote process (closing their ssh connections) and the scheduler."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        timeout = parse_timedelta(timeout)
        for remote in self._workers.values():
            remote.hangup()  # all at once, then wait for each
        for remote in list(self._workers.values()):
            remote.close(timeout)
        if self.scheduler is not None:
            self.scheduler.close(timeout)

    def __repr__(self) -> str:
        return (
            f"SSHCluster({self.scheduler_address!r}, workers={len(self._workers)}, "
            f"closed={self._closed})"
        )
