"""A distributed worker process: the Rust runtime networks and schedules, this module's
:class:`Host` runs tasks and (de)serializes values.

Start one with ``oxdask worker tcp://scheduler:8786`` or ``python -m oxdask.distributed.worker``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import pickle
import sys
from typing import Any

import cloudpickle

from oxdask import _core, _malloc, _shuffle
from oxdask.distributed import _context, _deploy_flags, _plugins, security, serialize
from oxdask.distributed._spans import Reschedule
from oxdask.distributed.serialize import (
    dumps_error,
    dumps_value,
    execute_task,
    loads_body,
    loads_value,
    sizeof,
)
from oxdask.utils import parse_bytes

__all__ = ["INLINE_BYTES", "Host", "main", "parse_memory_limit", "parse_resources"]

#: Results a client wants that pickle to at most this many bytes go back with the task's
#: completion message instead of being fetched from the worker afterwards.
INLINE_BYTES = 16 * 1024

#: Argument types that never hold a task or a key to substitute.
_PLAIN = frozenset({int, float, complex, str, bytes, bool, type(None)})


def _data(dep_keys: list, values: list) -> dict:
    return dict(zip(dep_keys, values, strict=True))


class Host:
    """Runs tasks for the worker runtime (called from Rust, one call per task)."""

    def __init__(self, buffer_pool: int = 0, on_started=None) -> None:
        self._functions: dict[int, Any] = {}
        self.shuffles = _shuffle.Stores()
        self._buffer_pool = buffer_pool
        self._on_started = on_started
        self._watched = _plugins.watched  # non-empty while a plugin watches transitions

    def started(self, peers: _core.ShufflePeers) -> None:
        """Called by the runtime once registered, before any task: shuffle pieces are taken
        through ``peers``; NumPy is prepared (see ``_prepare_numpy``)."""
        self.shuffles.peers = peers
        _plugins.worker_started(peers.address)  # the registered worker and nanny plugins
        if self._buffer_pool:
            _prepare_numpy(self._buffer_pool)
        if self._on_started is not None:  # e.g. the --lifetime timer
            self._on_started(peers.address)

    def take_shuffle(self, shuffle: str, partition: int) -> list:
        """A peer takes this worker's pieces of a shuffle's output ``partition``."""
        return self.shuffles.take_serialized(shuffle, partition)

    def drop_shuffle(self, shuffle: str) -> None:
        """Forget a shuffle's pieces (its barrier was released)."""
        self.shuffles.drop(shuffle)

    def _function(self, fid: int, blob: bytes | None) -> Any:
        func = self._functions.get(fid)
        if func is None:
            if blob is None:
                raise RuntimeError(f"function {fid:#x} was never sent to this worker")
            with serialize.loads_lock:  # imports a first unpickle triggers run once
                func = self._functions[fid] = cloudpickle.loads(blob)
        return func

    def execute(self, key, payload, fid, fblob, dep_keys, values, inline=False):
        """Run one task; returns ``(result, nbytes, type name, pickle or None)``.

        ``payload`` is the task's pickled arguments, substituted from ``dep_keys`` and
        ``values``; or, with ``dep_keys`` None, the arguments themselves, which the runtime
        read from a plain payload (tag ``N``) with the inputs already in place.
        With ``inline`` (a client wants the result), a result under ``INLINE_BYTES`` is also
        returned pickled: it travels to the client with the task's completion.
        """
        _shuffle.set_current(self.shuffles)
        body = payload if dep_keys is None else loads_body(payload)
        if self._watched:  # worker plugins with a transition method
            _plugins.transition(self, key, "ready", "executing")
        try:  # (the task's function is called right here: stack samplers look for it)
            if fid is None:  # a literal, or a task without a head function
                result = body if dep_keys is None else execute_task(body, _data(dep_keys, values))
            else:
                func = self._functions.get(fid) or self._function(fid, fblob)
                if dep_keys is None or (not dep_keys and all(type(a) in _PLAIN for a in body)):
                    result = func(*body)  # nothing (left) to substitute: the common case
                else:
                    data = _data(dep_keys, values)
                    result = func(*[execute_task(a, data) for a in body])
        except Reschedule:  # the task asks to run again (here: see _spans.Reschedule)
            result = self._rerun(body, fid, fblob, dep_keys, values)
        except BaseException as e:
            if self._watched:
                _plugins.transition(self, key, "executing", "error", exception=e)
            raise
        if self._watched:
            _plugins.transition(self, key, "executing", "memory")
        nbytes = sizeof(result)
        pickled = None
        if inline and nbytes <= INLINE_BYTES:
            try:
                pickled = pickle.dumps(result, protocol=5)
            except Exception:  # travels the usual way (cloudpickle, on request)
                pickled = None
            if pickled is not None and len(pickled) > INLINE_BYTES:
                pickled = None
        return result, nbytes, type(result).__name__, pickled

    def _call(self, body, fid, fblob, dep_keys, values):
        """Run a task again (``Reschedule``), as ``execute`` runs it."""
        if fid is None:  # a literal, or a task without a head function
            return body if dep_keys is None else execute_task(body, _data(dep_keys, values))
        func = self._functions.get(fid) or self._function(fid, fblob)
        if dep_keys is None or (not dep_keys and all(type(a) in _PLAIN for a in body)):
            return func(*body)
        data = _data(dep_keys, values)
        return func(*[execute_task(a, data) for a in body])

    def _rerun(self, body, fid, fblob, dep_keys, values):
        import time

        pause = 0.01
        while True:
            time.sleep(pause)
            pause = min(1.0, pause * 2)
            try:
                return self._call(body, fid, fblob, dep_keys, values)
            except Reschedule:
                continue

    def serialize(self, value) -> tuple[bytes, list[memoryview]]:
        """Pickle protocol 5 stream and out-of-band buffers of a stored value (views of its
        memory, sent without copying)."""
        stream, buffers = dumps_value(value)
        return stream, list(buffers)

    def deserialize(self, stream, buffers: list):
        """Rebuild a value fetched from a peer from buffer objects over the received memory
        (``_core.Frame``, writable); returns ``(value, nbytes)``."""
        value = loads_value(stream, buffers)
        return value, sizeof(value)

    def dump_error(self, exc: BaseException) -> tuple[bytes, bytes, str]:
        """The wire form of a task's exception."""
        return dumps_error(exc)

    def release_memory(self) -> None:
        """Give the C heap's free pages back to the OS after values were spilled (glibc), so
        the process memory the worker measures falls with what it really holds."""
        _malloc.release()

    def run(self, call: bytes) -> tuple[bytes, bool]:
        """``Client.run``: call a pickled ``(func, args, kwargs)``."""
        try:
            func, args, kwargs = cloudpickle.loads(call)
            return cloudpickle.dumps(func(*args, **kwargs)), True
        except Exception as e:
            return pickle.dumps(dumps_error(e)), False


def _memory_fraction(name: str, default=None) -> float | None:
    """``distributed.worker.memory.<name>`` as a fraction of the memory limit; None when
    False or None (off)."""
    from oxdask import config

    value = config.get(f"distributed.worker.memory.{name}", default)
    if value is False or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"distributed.worker.memory.{name}: expected a fraction of the memory limit "
            f"or False, got {value!r}"
        ) from None


def memory_thresholds(restartable: bool = True) -> tuple:
    """``(target, spill, pause, terminate)`` from ``distributed.worker.memory.*`` (Dask's
    keys and defaults; False or None turns one off). Without ``restartable`` (a worker thread
    in the client's process) there is no terminate threshold."""
    out = []
    for name in ("target", "spill", "pause", "terminate"):
        value = None if name == "terminate" and not restartable else _memory_fraction(name)
        if value is not None and value <= 0:
            raise ValueError(f"distributed.worker.memory.{name} must be positive, got {value}")
        out.append(value)
    return tuple(out)


def parse_memory_limit(text: str | int | None) -> int:
    """Bytes from ``"4GB"``, ``"512MiB"``, ``"0.5"`` (fraction of RAM), ``"auto"`` or a number."""
    if text in (None, 0, "0", "", "none", "None"):
        return 0
    if isinstance(text, int | float):
        return int(text)
    s = str(text).strip().lower().replace(" ", "")
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if s == "auto":
        return total
    try:
        value = float(s)
    except ValueError:
        try:
            return parse_bytes(s)
        except ValueError:
            raise ValueError(
                f"memory limit {text!r}: unknown unit (use e.g. 4GB, 512MiB, or a fraction)"
            ) from None
    return int(value * total) if value <= 1 else int(value)


def buffer_pool_bytes(memory_limit: int) -> int:
    """Bytes of freed NumPy buffers a worker process keeps for reuse
    (``distributed.worker.memory.buffer-pool``, a fraction of ``memory_limit``)."""
    fraction = _memory_fraction("buffer-pool", 0.2) or 0.0
    if not 0 <= fraction < 1:
        raise ValueError(f"distributed.worker.memory.buffer-pool must be in [0, 1), got {fraction}")
    return int(fraction * memory_limit) if memory_limit else 256 << 20 if fraction else 0


def _prepare_numpy(pool_bytes: int) -> None:
    """Import NumPy if it is installed and let its arrays reuse freed buffers (see
    ``buffer_pool_bytes``). Runs once the worker is registered, before its task threads start,
    holding the lock every unpickle takes: NumPy imported on a thread of its own while a
    client's scattered array is unpickled (the data server already answers) can fail (a
    circular import seen half-initialized)."""
    try:
        with serialize.loads_lock:
            import numpy  # noqa: F401
    except ImportError:
        return
    if pool_bytes:
        _core.buffer_pool(pool_bytes)


def parse_resources(text: str | None) -> list[tuple[str, float]]:
    """``"GPU=2 MEM=10e9"`` or ``"GPU=2,MEM=1"`` -> ``[("GPU", 2.0), ("MEM", 1e10)]``."""
    if not text:
        return []
    out = []
    for item in text.replace(",", " ").split():
        name, sep, amount = item.partition("=")
        if not sep or not name:
            raise ValueError(f"resource {item!r}: expected NAME=AMOUNT, e.g. GPU=2")
        out.append((name, float(amount)))
    return out


def run(
    scheduler: str,
    *,
    nthreads: int = 1,
    memory_limit: int | str | None = None,
    name: str | None = None,
    resources: str | list | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    tls: tuple[str, str, str | None] | None = None,
    insecure: bool = False,
    local_directory: str | None = None,
    restartable: bool = False,
    buffer_pool: int = 0,
    on_started=None,
) -> tuple[str, str]:
    """Run a worker in this process until the scheduler closes it; returns ``(how, why)``,
    ``how`` being ``"closed"``, ``"shutdown"`` or ``"memory"`` (process memory passed the
    terminate threshold, which only a ``restartable`` worker has: its process should be
    replaced).

    ``tls`` is ``(ca, cert, key)`` (paths or PEM text). On a non-loopback ``host`` the worker
    refuses to start with neither ``tls`` nor a token, unless ``insecure``. Spilled results go
    to a temporary directory under ``local_directory`` (default: the ``temporary-directory``
    setting, then the system's), removed when the worker stops. With ``buffer_pool`` bytes
    (worker processes), NumPy arrays reuse freed buffers (see ``buffer_pool_bytes``).
    ``on_started(address)`` is called once the worker registered with the scheduler.
    """
    from oxdask import config

    res = parse_resources(resources) if isinstance(resources, str | None) else list(resources)
    token = token if token is not None else os.environ.get("OXDASK_TOKEN") or None
    security.refuse_open_listener(host, tls is not None or token is not None, insecure, "worker")
    # what get_client() inside a task needs to reach this worker's scheduler
    _context.worker.update(scheduler=scheduler, token=token, tls=tls, name=name)
    host_ = Host(buffer_pool, on_started)
    try:
        return _core.run_worker_blocking(
            scheduler,
            host_,
            nthreads=nthreads,
            memory_limit=parse_memory_limit(memory_limit),
            memory=memory_thresholds(restartable),
            local_directory=local_directory or config.get("temporary-directory", None),
            name=name,
            resources=res,
            listen=f"{host}:{port}",
            token=token,
            tls=tls,
        )
    finally:
        from oxdask.distributed._plugins import worker_closed

        worker_closed(getattr(host_.shuffles.peers, "address", None))  # plugins' teardown
        _context.worker.clear()  # get_client() in this process no longer means this worker


#: A worker process runs one task per thread already: its BLAS and OpenMP libraries get one
#: thread each unless the environment says otherwise (as Dask's nanny sets them), instead of
#: one per core competing with the other workers' tasks.
_ONE_THREAD = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def main(argv: list[str] | None = None) -> int:
    """``oxdask worker ADDRESS [--nthreads --memory-limit --name --resources ...]``."""
    p = argparse.ArgumentParser(prog="oxdask worker", description="Start an oxdask worker.")
    p.add_argument(
        "scheduler", nargs="?", default=None, help="scheduler address, e.g. tcp://127.0.0.1:8786"
    )
    p.add_argument("--nthreads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--nworkers", type=int, default=1, help="worker processes to start")
    p.add_argument("--memory-limit", default="auto")
    p.add_argument("--name", default=None)
    p.add_argument("--resources", default=None, help='e.g. "GPU=2 MEM=10e9"')
    p.add_argument("--host", default=None, help="address the data server listens on (127.0.0.1)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument(
        "--local-directory", default=None, help="where spilled results go (a temporary dir)"
    )
    p.add_argument(
        "--nanny",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="restart this worker's process when its memory passes the terminate threshold "
        "(default); with --no-nanny it exits instead",
    )
    _deploy_flags.add_worker(p)
    security.add_cli_arguments(p)
    args = p.parse_args(argv)
    _malloc.tune_for_worker()
    for var in _ONE_THREAD:  # before NumPy loads its BLAS
        os.environ.setdefault(var, "1")
    try:
        pool = buffer_pool_bytes(parse_memory_limit(args.memory_limit))
    except ValueError as e:
        print(f"oxdask worker: {e}", file=sys.stderr)
        return 1
    try:
        tls, token = security.from_cli(args)
        _deploy_flags.check_protocol(args.protocol, tls is not None)
        if args.scheduler is None and args.scheduler_file is None:
            raise ValueError("give the scheduler's address or --scheduler-file")
        if args.nworkers <= 1:
            args.scheduler = _deploy_flags.scheduler_address(args)
        protected = tls is not None or token is not None or args.insecure
        host = _deploy_flags.listen_host(
            args, _deploy_flags.default_host(args.scheduler, protected)
        )
        lifecycle = _deploy_flags.Lifecycle(args, args.scheduler, token, tls)
    except (OSError, ValueError) as e:
        print(f"oxdask worker: {e}", file=sys.stderr)
        return 1
    if args.nworkers > 1:
        import subprocess

        child = [args.scheduler] if args.scheduler else ["--scheduler-file", args.scheduler_file]
        child += ["--nthreads", str(args.nthreads), *_deploy_flags.child_args(args)]
        child += ["--insecure"] if args.insecure else []
        for flag in ("tls_ca_file", "tls_cert", "tls_key", "token_file"):
            if getattr(args, flag) is not None:
                child += ["--" + flag.replace("_", "-"), getattr(args, flag)]
        child += ["--memory-limit", str(args.memory_limit)]
        child += ["--host", args.host] if args.host else []
        child += ["--local-directory", args.local_directory] if args.local_directory else []
        child += [] if args.nanny else ["--no-nanny"]
        if args.resources:
            child += ["--resources", args.resources]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "oxdask.distributed.worker", *child]
                + (["--name", f"{args.name}-{i}"] if args.name else [])
            )
            for i in range(args.nworkers)
        ]
        try:
            return max(p.wait() for p in procs)
        except KeyboardInterrupt:
            for proc in procs:
                proc.terminate()
            return 0
    if "OXDASK_NANNY" in os.environ:
        _die_with_parent()
    elif args.nanny:
        return _run_nanny(args, sys.argv[1:] if argv is None else argv, tls, token)
    try:
        how, reason = lifecycle.run(
            lambda: run(
                args.scheduler,
                nthreads=args.nthreads,
                memory_limit=args.memory_limit,
                name=args.name,
                resources=args.resources,
                host=host,
                port=args.port,
                token=token,
                tls=tls,
                insecure=args.insecure,
                local_directory=args.local_directory,
                restartable=True,
                buffer_pool=pool,
                on_started=lifecycle.started,
            )
        )
    except KeyboardInterrupt:
        return 0
    except OSError as e:  # ConnectionError, PermissionError (secure by default), bad TLS files
        print(f"oxdask worker: {e}", file=sys.stderr)
        return 1
    log = logging.getLogger("oxdask.worker")
    restart = how == "memory" or (how == "closed" and reason == "restart")
    restart = restart or (lifecycle.expired and lifecycle.restart)
    if restart:
        if not args.nanny:
            print(f"oxdask worker: exiting: {reason}", file=sys.stderr)
            return 3 if how == "memory" else 0
        print(f"oxdask worker: restarting: {reason}", file=sys.stderr)
        sys.stderr.flush()
        if "OXDASK_NANNY" in os.environ:  # the nanny starts a fresh process
            return NANNY_RESTART
        # A fresh process gives every byte back; the pid (and the Popen of whoever started
        # this worker) stays the same. The scheduler already reschedules its work.
        argv = sys.argv[1:] if argv is None else argv
        os.execv(sys.executable, [sys.executable, "-m", "oxdask.distributed.worker", *argv])
    log.info("closed (%s)", reason)
    return 0


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """A nanny's worker ends with its nanny, even when the nanny is killed (Linux), and
    ends cleanly (its spill directory removed) when the nanny stops it."""
    import ctypes
    import signal

    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


#: The exit code with which a worker asks its nanny for a fresh process.
NANNY_RESTART = 75


def _run_nanny(args, argv: list[str], tls, token) -> int:
    """Supervise this worker in a child process (Dask's nanny): restarted whenever it dies,
    killed past its memory's terminate threshold, its deaths reported to the scheduler."""
    import signal

    from oxdask import _core

    # Stopping the nanny (LocalCluster.close, Ctrl-C) stops its worker first.
    signal.signal(signal.SIGTERM, _interrupt)
    command = [sys.executable, "-m", "oxdask.distributed.worker", *argv]
    try:
        return _core.run_nanny(
            command,
            args.scheduler,
            token=token,
            tls=tls,
            memory_limit=parse_memory_limit(args.memory_limit),
            terminate=memory_thresholds()[3],
        )
    except KeyboardInterrupt:
        return 0


def _exit(code: int) -> None:
    """End the worker process without finalizing the interpreter: a task thread of the
    runtime (a native thread) may still be finishing a task, and one that reaches for the
    GIL of a finalizing interpreter is torn down mid-stack, which aborts the process. The
    worker has closed (results dropped, spill directory removed); logs and output are
    flushed first."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(main() or 0)
