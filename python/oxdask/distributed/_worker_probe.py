"""Functions the client runs on workers (``Client.run``) to look inside them: the tasks
running now and their call stacks, a sampling profiler of those tasks, hardware benchmarks
and a snapshot of the worker for cluster dumps."""

from __future__ import annotations

import collections
import contextlib
import linecache
import os
import random
import sys
import tempfile
import threading
import time
from typing import Any

from oxdask.distributed import _worker_api

# -- running tasks --------------------------------------------------------------------------


def running_keys() -> tuple[int, list]:
    """``(pid, [(worker address, key), ...])`` of the tasks running in this process now."""
    return os.getpid(), [(address, key) for address, key, _ in _worker_api.executing()]


def _frame_line(frame) -> str:
    code = frame.f_code
    lineno = frame.f_lineno or 0  # None in some frames (CPython issue 47085)
    line = linecache.getline(code.co_filename, lineno, frame.f_globals).strip()
    return f'  File "{code.co_filename}", line {lineno}, in {code.co_name}\n\t{line}'


def _task_frames(frame) -> list:
    """The frames of a task thread from the task's function inwards (outermost first)."""
    frames = []
    f = frame
    while f is not None and not _worker_api._is_execute(f):
        frames.append(f)
        f = f.f_back
    return frames[::-1]


def call_stacks(keys: list | None = None) -> tuple[int, list]:
    """``(pid, [(worker address, key, [frame lines, outermost first]), ...])`` of the
    running tasks (those in ``keys``)."""
    wanted = None if keys is None else set(keys)
    out = []
    for address, key, frame in _worker_api.executing():
        if wanted is None or key in wanted:
            out.append((address, key, [_frame_line(f) for f in _task_frames(frame)]))
    return os.getpid(), out


# -- profile ----------------------------------------------------------------------------------
#: Samples kept per process (about 17 minutes of one busy thread at the default interval).
PROFILE_SAMPLES = 100_000
_samples: collections.deque = collections.deque(maxlen=PROFILE_SAMPLES)
#: Each distinct stack once (a sample refers to it): a running task mostly repeats its stack.
_stacks: dict[tuple, tuple] = {}
_MAX_STACKS = 20_000
_sampler: list[threading.Thread] = []
_sampler_lock = threading.Lock()


def _frame_id(frame) -> tuple:
    code = frame.f_code
    return (code.co_name, code.co_filename, code.co_firstlineno, frame.f_lineno or 0)


def _sample_once() -> None:
    now = time.time()
    for address, key, frame in _worker_api.executing():
        stack = tuple(_frame_id(f) for f in _task_frames(frame))
        if len(_stacks) > _MAX_STACKS:
            _stacks.clear()  # samples keep theirs; new ones share afresh
        stack = _stacks.setdefault(stack, stack)
        if stack:
            _samples.append((now, address, key, stack))


def _sample_forever(interval: float) -> None:
    while True:
        time.sleep(interval)
        with contextlib.suppress(Exception):  # a thread ended while read: next sample
            _sample_once()


def start_profiler(interval: float = 0.01) -> bool:
    """Start sampling the running tasks' stacks every ``interval`` seconds (once per
    process); True when it was already running."""
    with _sampler_lock:
        if _sampler:
            return True
        t = threading.Thread(
            target=_sample_forever, args=(interval,), name="oxdask-profile", daemon=True
        )
        t.start()
        _sampler.append(t)
        return False


def _node(identifier: str, description: dict) -> dict:
    return {"count": 0, "identifier": identifier, "description": description, "children": {}}


def profile_trees(start=None, stop=None, key=None) -> tuple[int, list]:
    """``(pid, [(worker address, tree), ...])``: the samples taken between ``start`` and ``stop``
    (epoch seconds) of tasks whose key prefix is ``key``, as trees of ``{"count",
    "identifier", "description", "children"}`` (the shape of Dask's profiles): each node a
    function, counted once per sample."""
    from oxdask.utils import key_split

    trees: dict = {}
    for when, address, task, stack in list(_samples):
        if (start is not None and when < start) or (stop is not None and when > stop):
            continue
        if key is not None and key_split(task) != key:
            continue
        node = trees.get(address)
        if node is None:
            node = trees[address] = _root()
        node["count"] += 1
        for name, filename, first, lineno in stack:
            ident = f"{name};{filename};{first}"
            child = node["children"].get(ident)
            if child is None:
                line = linecache.getline(filename, lineno).strip()
                desc = {"filename": filename, "name": name, "line_number": lineno, "line": line}
                child = node["children"][ident] = _node(ident, desc)
            child["count"] += 1
            node = child
    return os.getpid(), list(trees.items())


def _root() -> dict:
    return _node("root", {"filename": "", "name": "", "line_number": 0, "line": ""})


def merge_trees(trees: list[dict]) -> dict:
    """One tree counting the samples of all ``trees``."""
    root = _root()

    def add(into: dict, tree: dict) -> None:
        into["count"] += tree["count"]
        for ident, child in tree["children"].items():
            mine = into["children"].get(ident)
            if mine is None:
                mine = into["children"][ident] = _node(ident, dict(child["description"]))
            add(mine, child)

    for tree in trees:
        add(root, tree)
    return root


# -- hardware ---------------------------------------------------------------------------------
MEMORY_SIZES = ("2 kiB", "10 kiB", "100 kiB", "1 MiB", "10 MiB")
DISK_SIZES = ("1 kiB", "100 kiB", "1 MiB", "10 MiB", "100 MiB")
NETWORK_SIZES = ("1 kiB", "10 kiB", "100 kiB", "1 MiB", "10 MiB", "50 MiB")


def memory_bandwidth(duration: float, sizes=MEMORY_SIZES) -> dict[str, float]:
    """Bytes per second copied in memory, per block size."""
    from oxdask.utils import parse_bytes

    out = {}
    for size_text in sizes:
        data = random.randbytes(parse_bytes(size_text))
        total, start = 0, time.perf_counter()
        while time.perf_counter() - start < duration:
            copy = bytearray(data)
            del copy
            total += len(data)
        out[size_text] = total / (time.perf_counter() - start)
    return out


def disk_bandwidth(duration: float, directory=None, sizes=DISK_SIZES) -> dict[str, float]:
    """Bytes per second appended and synced to files in a temporary directory, per size."""
    from oxdask.utils import parse_bytes

    out = {}
    for size_text in sizes:
        data = random.randbytes(parse_bytes(size_text))
        with tempfile.TemporaryDirectory(prefix="oxdask-bench-", dir=directory) as d:
            total, start = 0, time.perf_counter()
            while time.perf_counter() - start < duration:
                path = os.path.join(d, str(random.randrange(100)))
                with open(path, "ab") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                total += len(data)
            out[size_text] = total / (time.perf_counter() - start)
    return out


def fetch_bandwidth(source: str, keys: dict[str, Any], duration: float) -> dict[str, float]:
    """On a worker: bytes per second fetched from the worker at ``source`` (key per size),
    through this process's client connection, peer to peer."""
    from oxdask.distributed.client import get_client

    conn = get_client()._conn
    out = {}
    for size_text, key in keys.items():
        total, start = 0, time.perf_counter()
        while True:
            values, missing = conn.get_data(source, [key], 30.0)
            if missing or not values:
                raise RuntimeError(f"benchmark data {key!r} missing on {source}")
            total += sum(memoryview(b).nbytes for b in values[0][2]) + len(values[0][1])
            if time.perf_counter() - start >= duration:
                break
        out[size_text] = total / (time.perf_counter() - start)
    return out


# -- snapshots ----------------------------------------------------------------------------------
def snapshot(log_lines: int = 1000) -> dict:
    """A worker's state for a cluster dump: process, running tasks and their stacks, logs,
    versions."""
    from oxdask.distributed._client_more import _versions

    try:
        worker = _worker_api.get_worker()
        address, name = worker.address, worker.name
    except ValueError:
        address = name = None
    return {
        "address": address,
        "name": name,
        "pid": os.getpid(),
        "python": sys.version,
        "threads": sorted(t.name for t in threading.enumerate()),
        "running": {k: lines for _, k, lines in call_stacks()[1]},
        "logs": _worker_api.recent_logs(log_lines),
        "versions": _versions(),
    }
