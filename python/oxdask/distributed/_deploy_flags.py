"""The deployment flags of ``oxdask worker`` and ``oxdask scheduler`` (Dask's names):
``--interface``, ``--protocol``, ``--scheduler-file``, ``--death-timeout``, ``--lifetime``,
``--lifetime-stagger``, ``--lifetime-restart`` and ``--idle-timeout``."""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time

from oxdask.utils import parse_timedelta

PROTOCOLS = ("tcp", "tls")


def add_common(parser, what: str) -> None:
    """``--interface`` and ``--protocol`` (both commands)."""
    parser.add_argument(
        "--interface",
        default=None,
        help=f"network interface the {what} listens on, e.g. eth0 (instead of --host)",
    )
    parser.add_argument(
        "--protocol",
        default=None,
        help="tcp or tls (tls needs the --tls-* flags; by default tls when they are given)",
    )


def add_worker(parser) -> None:
    """The worker's lifecycle flags."""
    add_common(parser, "worker")
    parser.add_argument(
        "--scheduler-file",
        default=None,
        help="read the scheduler's address from this JSON file (written by "
        "oxdask scheduler --scheduler-file), waiting for it to appear",
    )
    parser.add_argument(
        "--death-timeout",
        default=None,
        help="keep trying to reach the scheduler for this long (e.g. 60s) before giving up",
    )
    parser.add_argument(
        "--lifetime",
        default=None,
        help="retire gracefully after this long (e.g. 1 hour): results move to other workers",
    )
    parser.add_argument(
        "--lifetime-stagger",
        default="0s",
        help="random spread (+/-) of --lifetime, so workers started together do not all leave "
        "at once",
    )
    parser.add_argument(
        "--lifetime-restart",
        action="store_true",
        help="start a fresh worker process when the lifetime ends (default: exit)",
    )


def add_scheduler(parser) -> None:
    """The scheduler's deployment flags (``--scheduler-file`` is its own)."""
    add_common(parser, "scheduler")
    parser.add_argument(
        "--idle-timeout",
        default=None,
        help="close after this long (e.g. 1h) with no task processing, queued or waiting",
    )


def duration(text: str | None, flag: str) -> float | None:
    """Seconds from ``"60s"``, ``"1 hour"``, ``"90"``; None when not given."""
    if text in (None, "", "None", "none"):
        return None
    try:
        seconds = float(parse_timedelta(text, default="s"))
    except (ValueError, TypeError, KeyError):
        raise ValueError(f"{flag}: expected a duration such as 60s or 1h, got {text!r}") from None
    if seconds < 0:
        raise ValueError(f"{flag}: must not be negative, got {text!r}")
    return seconds


def interface_address(name: str) -> str:
    """The IPv4 address of network interface ``name``; ``ValueError`` naming the interfaces
    there are when it has none."""
    names = sorted(n for _, n in socket.if_nameindex())
    if name not in names:
        raise ValueError(f"--interface {name!r}: no such network interface (have: {names})")
    try:
        import fcntl

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            packed = struct.pack("256s", name.encode()[:15])
            raw = fcntl.ioctl(s.fileno(), 0x8915, packed)  # SIOCGIFADDR
        return socket.inet_ntoa(raw[20:24])
    except (ImportError, OSError):
        raise ValueError(f"--interface {name!r} has no IPv4 address") from None


def listen_host(args, default: str) -> str:
    """``--host``, or the address of ``--interface`` (not both)."""
    if args.interface is None:
        return args.host if args.host is not None else default
    if args.host is not None:
        raise ValueError("give either --host or --interface, not both")
    return interface_address(args.interface)


def default_host(scheduler: str | None, protected: bool) -> str:
    """Where a worker listens without ``--host``: loopback, unless the scheduler is on another
    machine and the worker is protected (TLS or a token): then the local address that routes
    to the scheduler, so that the scheduler and the other workers can reach it."""
    if not scheduler or not protected:
        return "127.0.0.1"
    rest = scheduler.partition("://")[2] or scheduler
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    if host in ("127.0.0.1", "localhost", "::1", ""):
        return "127.0.0.1"
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect((host, int(port or 8786)))  # no packet is sent: picks the route
            return s.getsockname()[0]
    except (OSError, ValueError):
        return "127.0.0.1"


def check_protocol(protocol: str | None, has_tls: bool) -> None:
    """``--protocol`` must agree with the TLS settings."""
    if protocol is None:
        return
    p = protocol.lower().removesuffix("://")
    if p not in PROTOCOLS:
        raise ValueError(f"--protocol {protocol!r} is not supported (use one of {PROTOCOLS})")
    if p == "tls" and not has_tls:
        raise ValueError("--protocol tls needs a certificate: --tls-ca-file, --tls-cert, --tls-key")
    if p == "tcp" and has_tls:
        raise ValueError("--protocol tcp contradicts the --tls-* flags (use --protocol tls)")


def scheduler_address(args) -> str:
    """The positional address or the one in ``--scheduler-file`` (waited for up to
    ``--death-timeout``, without one indefinitely)."""
    if args.scheduler_file is None:
        if args.scheduler is None:
            raise ValueError("give the scheduler's address or --scheduler-file")
        return args.scheduler
    if args.scheduler is not None:
        raise ValueError("give either the scheduler's address or --scheduler-file, not both")
    timeout = duration(args.death_timeout, "--death-timeout")
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with (
            contextlib.suppress(FileNotFoundError, json.JSONDecodeError, KeyError),
            open(args.scheduler_file) as f,
        ):
            return json.load(f)["address"]
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(
                f"no readable scheduler file at {args.scheduler_file} within "
                f"--death-timeout {args.death_timeout}"
            )
        time.sleep(0.1)


def child_args(args) -> list[str]:
    """These flags again, for the processes of ``--nworkers``."""
    out: list[str] = []
    for flag in ("interface", "protocol", "death_timeout", "lifetime", "lifetime_stagger"):
        value = getattr(args, flag)
        if value is not None:
            out += ["--" + flag.replace("_", "-"), str(value)]
    return out + (["--lifetime-restart"] if args.lifetime_restart else [])


class Lifecycle:
    """A worker's connection attempts (``--death-timeout``) and its end (``--lifetime``).

    ``started(address)`` is called once the worker registered: the lifetime timer starts then
    and retires the worker through the scheduler, so its unique results move elsewhere first.
    """

    def __init__(self, args, scheduler: str, token: str | None, tls) -> None:
        self.death_timeout = duration(args.death_timeout, "--death-timeout")
        lifetime = duration(args.lifetime, "--lifetime")
        stagger = duration(args.lifetime_stagger, "--lifetime-stagger") or 0.0
        if lifetime is not None:
            lifetime = max(0.0, lifetime + (random.random() * 2 - 1) * stagger)
        self.lifetime = lifetime
        self.restart = bool(args.lifetime_restart)
        self._scheduler, self._token, self._tls = scheduler, token, tls
        self.registered = False
        self.expired = False

    def started(self, address: str) -> None:
        self.registered = True
        ready = os.environ.get("OXDASK_NANNY_READY")
        if ready:  # tell the nanny: this process started (a later exit is a death)
            with contextlib.suppress(OSError), open(ready, "w") as f:
                f.write(address)
        job_left = job_time_left()
        retire = [] if self.lifetime is None else [(self.lifetime, True)]
        if job_left is not None:  # retire early enough for the results to move
            retire.append((max(0.0, job_left - walltime_margin(job_left)), False))
        if retire:
            delay, by_lifetime = min(retire)
            timer = threading.Timer(delay, self._retire, (address, by_lifetime))
            timer.daemon = True
            timer.start()
        ends = [t for t in (self.lifetime, job_left) if t is not None]
        if ends:
            announce = threading.Thread(
                target=self._announce_end, args=(address, max(0.0, min(ends))), daemon=True
            )
            announce.start()

    def _announce_end(self, address: str, seconds: float) -> None:
        """Tell the scheduler when this worker ends: it then sends no task expected to outlast
        it, and adaptive scaling asks for its replacement ahead of time."""
        from oxdask import _core

        with contextlib.suppress(Exception):  # scheduler gone: nothing to plan
            conn = _core.ClientConnection(self._scheduler, self._token, 10.0, self._tls)
            try:
                conn.worker_ends(address, seconds)
            finally:
                conn.close()

    def _retire(self, address: str, by_lifetime: bool = True) -> None:
        from oxdask import _core

        self.expired = by_lifetime  # (--lifetime-restart does not outlive a batch job)
        why = "lifetime reached" if by_lifetime else "its batch job's walltime ends soon"
        print(f"oxdask worker: {why}, retiring {address}", file=sys.stderr, flush=True)
        with contextlib.suppress(Exception):  # scheduler gone: the worker stops anyway
            conn = _core.ClientConnection(self._scheduler, self._token, 10.0, self._tls)
            try:
                conn.retire_workers([address], 60.0)
            finally:
                conn.close()

    def run(self, start):
        """``start()`` (the blocking worker), tried again while the scheduler cannot be
        reached and ``--death-timeout`` has not passed."""
        deadline = None if self.death_timeout is None else time.monotonic() + self.death_timeout
        while True:
            try:
                return start()
            except ConnectionError:
                if self.registered or deadline is None or time.monotonic() > deadline:
                    raise
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))


def job_time_left() -> float | None:
    """Seconds left in this process's SLURM job: ``SLURM_JOB_END_TIME`` (SLURM 23.02 and
    later), else what ``squeue`` says for ``SLURM_JOB_ID``; None outside a job or without a
    time limit."""
    with contextlib.suppress(KeyError, ValueError):
        return float(os.environ["SLURM_JOB_END_TIME"]) - time.time()
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    import subprocess

    try:
        out = subprocess.run(
            ["squeue", "-h", "-j", job, "-o", "%L"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_time_left(out.stdout.strip())


def parse_time_left(text: str) -> float | None:
    """``squeue``'s ``%L`` (``[days-][hours:]minutes:seconds``) in seconds; None for
    ``UNLIMITED``, ``INVALID`` or anything else."""
    days, _, clock = text.rpartition("-")
    parts = clock.split(":")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    seconds = 0
    for p in parts:
        seconds = seconds * 60 + int(p)
    if days:
        if not days.isdigit():
            return None
        seconds += int(days) * 86400
    return float(seconds)


def walltime_margin(left: float) -> float:
    """How long before its job ends a worker retires: a tenth of what is left, between 5 s
    and 1 min (time to move its results to other workers)."""
    return min(60.0, max(5.0, 0.1 * left))


class IdleWatch:
    """``--idle-timeout``: the scheduler closes once no task has been processing, queued or
    waiting, and nothing changed, for that long."""

    def __init__(self, timeout: float, address: str, token: str | None, tls) -> None:
        self.timeout = timeout
        self._address, self._token, self._tls = address, token, tls
        self._since = time.monotonic()
        self._last = None
        self._checked = 0.0

    def expired(self) -> bool:
        now = time.monotonic()
        if now - self._checked < min(0.5, self.timeout / 4):
            return False
        self._checked = now
        from oxdask import _core

        try:
            conn = _core.ClientConnection(self._address, self._token, 5.0, self._tls)
            try:
                tasks = json.loads(conn.info(5.0))["tasks"]
            finally:
                conn.close()
        except Exception:
            return False
        busy = any(tasks.get(k, 0) for k in ("processing", "queued", "waiting"))
        if busy or tasks != self._last:
            self._last = tasks
            self._since = now
            return False
        return now - self._since >= self.timeout
