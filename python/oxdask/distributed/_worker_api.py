"""What a task can ask about the worker running it, and what it can send to clients.

``get_worker()``, ``print``, ``warn`` and ``worker_client()`` run inside tasks. The worker's
engine is Rust; its Python side (``worker.Host.execute``) runs each task on the task's own
thread, so the key a thread is running is found on that thread's stack (the ``execute``
frame), and the worker's address is the one its task threads' shuffle stores were given.

Each worker process keeps two bounded in-memory buffers: the records of the ``oxdask``
logger (``Client.get_worker_logs``) and events (``print``/``warn`` calls and forwarded log
records) which clients that forward them (``Client.forward_logging``) collect.
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import itertools
import logging
import os
import pickle
import sys
import threading
import time
import warnings as _warnings
from typing import Any

from oxdask import _core

__all__ = ["get_worker", "local_client", "print", "rejoin", "secede", "warn", "worker_client"]

_WORKER_FILE = os.path.join("oxdask", "distributed", "worker.py")


# -- the task running on this thread ----------------------------------------------------------
def _is_execute(frame) -> bool:
    code = frame.f_code
    return code.co_name == "execute" and code.co_filename.endswith(_WORKER_FILE)


def _task_frame(frame=None):
    """The worker's ``Host.execute`` frame running this thread's task (None outside tasks)."""
    f = sys._getframe(1) if frame is None else frame
    while f is not None:
        if _is_execute(f):
            return f
        f = f.f_back
    return None


def current_key() -> Any:
    """The key of the task this thread runs, or None."""
    frame = _task_frame()
    return None if frame is None else frame.f_locals.get("key")


def executing() -> list[tuple[str | None, Any, Any]]:
    """``(worker address, key, innermost frame)`` of every task running in this process (a
    process of thread workers runs several workers' tasks)."""
    out = []
    for frame in sys._current_frames().values():
        found = _task_frame(frame)
        if found is not None:
            host = found.f_locals.get("self")
            peers = getattr(getattr(host, "shuffles", None), "peers", None)
            out.append((getattr(peers, "address", None), found.f_locals.get("key"), frame))
    return out


def _stores_address() -> str | None:
    """The address of the worker whose task this thread runs (its shuffle stores' peers)."""
    from oxdask import _shuffle

    stores = getattr(_shuffle._local, "stores", None)
    peers = getattr(stores, "peers", None)
    return getattr(peers, "address", None)


_hosts_lock = threading.Lock()
_host_address: list = []  # the one worker of this process, once found


def _process_worker_address() -> str | None:
    """Outside a task (``Client.run``): the address of this process's worker, when the
    process runs exactly one (a worker process); None otherwise."""
    from oxdask.distributed import _context

    if not _context.worker or not _WORKER_PROCESS:  # thread workers: ambiguous, no scan
        return None
    with _hosts_lock:
        if not _host_address:
            import gc

            hosts = [
                o
                for o in gc.get_objects()
                if type(o).__name__ == "Host"
                and type(o).__module__ in ("__main__", "oxdask.distributed.worker")
            ]
            peers = [getattr(getattr(h, "shuffles", None), "peers", None) for h in hosts]
            addresses = {p.address for p in peers if p is not None}
            if len(addresses) != 1:
                return None
            _host_address.append(addresses.pop())
        return _host_address[0]


class WorkerInfo:
    """The worker running the current task, as ``get_worker()`` returns it.

    ``address``, ``name``, ``nthreads``, ``memory_limit``, ``scheduler_address``, ``pid``;
    ``get_current_task()``, ``log_event(topic, msg)`` and ``client`` (``get_client()``).
    The worker's stored data is held by its engine, out of Python's reach: there is no
    ``data`` mapping.
    """

    def __init__(self, address: str, name: str | None, scheduler: str | None, memory_limit):
        self.address = address
        self.name = name if name is not None else address
        self.scheduler_address = scheduler
        self.memory_limit = memory_limit
        self.pid = os.getpid()
        self._nthreads: int | None = None

    @property
    def nthreads(self) -> int:
        """Threads of this worker (asked of the scheduler once)."""
        if self._nthreads is None:
            info = self.client.scheduler_info()["workers"].get(self.address)
            if info is None:
                raise ValueError(f"the scheduler does not know worker {self.address}")
            self._nthreads = int(info["nthreads"])
        return self._nthreads

    @property
    def client(self):
        from oxdask.distributed.client import get_client

        return get_client()

    @staticmethod
    def get_current_task():
        """The key of the task running on this thread (None in ``Client.run`` calls)."""
        return current_key()

    def log_event(self, topic: str | list, msg: Any) -> None:
        """Record ``msg`` under ``topic`` at the scheduler (``Client.get_events``)."""
        self.client.log_event(topic, msg)

    def __repr__(self) -> str:
        return f"<Worker {self.address!r}, name: {self.name}>"


def get_worker() -> WorkerInfo:
    """The worker running the current task (also inside ``Client.run`` on a worker
    process); ``ValueError`` elsewhere, as Dask."""
    from oxdask import _shuffle
    from oxdask.distributed import _context

    address = _stores_address() if _task_frame() is not None else None
    if address is None:
        address = _process_worker_address()
    if address is None:
        raise ValueError("No worker found")
    stores = getattr(_shuffle._local, "stores", None)
    peers = getattr(stores, "peers", None)
    memory_limit = getattr(peers, "memory_limit", None)
    ctx = _context.worker
    return WorkerInfo(address, ctx.get("name"), ctx.get("scheduler"), memory_limit)


def _in_worker() -> bool:
    try:
        get_worker()
    except ValueError:
        return False
    return True


# -- events for clients -------------------------------------------------------------------------
#: Events kept per process for forwarding clients to collect (oldest dropped first).
EVENT_BUFFER = 10_000
_events: collections.deque = collections.deque(maxlen=EVENT_BUFFER)
_event_seq = itertools.count(1)
_events_lock = threading.Lock()


def record_event(topic: str, msg: Any) -> None:
    with _events_lock:
        _events.append((next(_event_seq), time.time(), topic, msg))


def events_since(seq: int) -> list:
    """Events recorded after number ``seq`` (run on workers by forwarding clients)."""
    with _events_lock:
        return [e for e in _events if e[0] > seq]


def print(*args, sep: str | None = " ", end: str | None = "\n", file=None, flush=False) -> None:
    """``print`` that, inside a task, also sends its text to clients forwarding this
    worker's events (``Client.forward_logging``); a plain ``print`` elsewhere.
    ``file`` may only be None, ``sys.stdout`` or ``sys.stderr``."""
    if file not in (None, sys.stdout, sys.stderr):
        raise TypeError(
            "oxdask.distributed.print: file must be None, sys.stdout or sys.stderr, "
            f"not {file!r} (other streams cannot be reproduced on the client)"
        )
    for name, value in (("sep", sep), ("end", end)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be None or a string, not {type(value).__name__}")
    builtins.print(*args, sep=sep, end=end, file=file, flush=flush)
    if _in_worker():
        text = (" " if sep is None else sep).join(map(str, args))
        stream = "stderr" if file is sys.stderr else "stdout"
        msg = {"text": text, "end": "\n" if end is None else end, "file": stream}
        record_event("print", dict(msg, flush=flush))


def warn(message, category=UserWarning, stacklevel: int = 1, source=None) -> None:
    """``warnings.warn`` that, inside a task, also reaches clients forwarding this
    worker's events (there ``stacklevel`` and ``source`` mean nothing)."""
    _warnings.warn(message, category, stacklevel + 1, source)
    if _in_worker():
        try:
            msg = {"message": pickle.dumps(message), "category": pickle.dumps(category)}
        except Exception:  # an unpicklable warning reaches the client as its text
            kind = category if isinstance(message, str) else type(message)
            text = f"{getattr(kind, '__name__', kind)}: {message}"
            msg = {"message": pickle.dumps(text), "category": pickle.dumps(UserWarning)}
        record_event("warn", msg)


def secede() -> None:
    """Have the task running on this thread leave its worker's threads, as Dask's ``secede``:
    it keeps running, another task thread starts in its place and the scheduler sends the
    worker more work. For a task that waits on tasks it submitted (see :func:`worker_client`),
    which would otherwise hold a thread those tasks need. ``ValueError`` outside a task."""
    _core.secede()


def rejoin() -> None:
    """After :func:`secede`: wait until the worker has a thread free and take it again (so
    the worker runs no more tasks at once than it has threads). Nothing if the task did not
    secede; ``ValueError`` outside a task running on a worker."""
    if not _in_worker():
        raise ValueError("rejoin() must be called from a task running on a worker")
    _core.rejoin()


@contextlib.contextmanager
def worker_client(timeout=None, separate_thread: bool = True):
    """Inside a task: the worker's client (``get_client()``), for tasks that submit tasks and
    wait for them. With ``separate_thread`` (the default) the task secedes for the block and
    rejoins after it, so the tasks it waits for can run on its thread: no deadlock even on a
    worker with one thread."""
    from oxdask.distributed.client import get_client

    if not _in_worker():
        raise ValueError("worker_client() must be used inside a task running on a worker")
    client = get_client(timeout=10.0 if timeout is None else timeout)
    if separate_thread:
        secede()
    try:
        yield client
    finally:
        if separate_thread:
            rejoin()


def local_client(*args, **kwargs):
    """The old name of :func:`worker_client` (warns, as Dask)."""
    _warnings.warn("local_client has moved to worker_client", stacklevel=2)
    return worker_client(*args, **kwargs)


# -- logs -----------------------------------------------------------------------------------
class LogBuffer(logging.Handler):
    """The last records of a logger, newest kept (``distributed.admin.log-length``). While it
    is the only handler a record meets, records of WARNING and above still reach stderr."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.records: collections.deque = collections.deque(maxlen=n)
        self.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if record.levelno >= logging.WARNING and not _other_handlers(record.name, self):
            logging.lastResort.handle(record)


def _other_handlers(name: str, mine: logging.Handler) -> bool:
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        if any(h is not mine for h in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent  # type: ignore[assignment]
    return False


_log_buffer: list[LogBuffer] = []


def log_buffer(worker: bool = False) -> LogBuffer:
    """This process's buffer of ``oxdask`` log records (installed on first use). A worker
    process also records INFO (elsewhere the logger's level is left to the program)."""
    if not _log_buffer:
        from oxdask import config

        n = int(config.get("distributed.admin.log-length", 10_000) or 10_000)
        handler = LogBuffer(n)
        logger = logging.getLogger("oxdask")
        if worker and logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        _log_buffer.append(handler)
    return _log_buffer[0]


def recent_logs(n: int | None = None) -> list[tuple[str, str]]:
    """``[(level, formatted message), ...]``, newest first."""
    handler = log_buffer()
    records = list(reversed(handler.records))
    if n is not None:
        records = records[:n]
    return [(r.levelname, handler.format(r)) for r in records]


def _is_worker_process() -> bool:
    argv = getattr(sys, "orig_argv", sys.argv)
    if "oxdask.distributed.worker" in argv:
        return True
    return len(argv) > 2 and os.path.basename(argv[1]) == "oxdask" and argv[2] == "worker"


class _Forward(logging.Handler):
    """On a worker: records of a logger, turned into events for the forwarding client
    ``owner`` (each client forwarding a logger has its own handler)."""

    def __init__(self, level, owner: str) -> None:
        super().__init__(level)
        self.owner = owner

    def emit(self, record: logging.LogRecord) -> None:
        try:
            attrs = dict(record.__dict__)
            attrs["msg"] = record.getMessage()
            attrs["args"] = None
            attrs["exc_info"] = None
            if record.exc_info:
                attrs["exc_text"] = logging.Formatter().formatException(record.exc_info)
            attrs = {k: v for k, v in attrs.items() if _plain(v)}
            attrs["worker"] = _process_worker_address()
            msg = {"name": record.name, "state": attrs, "owner": self.owner}
            record_event("forward-logging", msg)
        except Exception:
            self.handleError(record)


def _plain(value) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def install_forwarder(name: str | None, level, owner: str) -> None:
    """Forward records of logger ``name`` (root when None) at ``level`` and above to the
    client ``owner`` (replacing that client's earlier handler on the logger)."""
    logger = logging.getLogger(name)
    remove_forwarder(name, owner)
    logger.addHandler(_Forward(level, owner))
    if level and (logger.level == logging.NOTSET or logger.level > level):
        logger.setLevel(level)


def ensure_forwarders(loggers: dict, owner: str) -> None:
    """Install the forwarders of client ``owner`` missing in this process (a worker that
    started after ``forward_logging``)."""
    for name, level in loggers.items():
        handlers = logging.getLogger(name).handlers
        if not any(isinstance(h, _Forward) and h.owner == owner for h in handlers):
            install_forwarder(name, level, owner)


def remove_forwarder(name: str | None, owner: str) -> None:
    logger = logging.getLogger(name)
    for h in [h for h in logger.handlers if isinstance(h, _Forward) and h.owner == owner]:
        logger.removeHandler(h)


_WORKER_PROCESS = _is_worker_process()
# Every process keeps its log from the start (the scheduler's is its process's).
log_buffer(worker=_WORKER_PROCESS)
