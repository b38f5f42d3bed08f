"""Where the engine shuffle keeps its pieces: one :class:`Stores` per process, or per
distributed worker (several workers can share a process).

A shuffle is named by an id (a token of its graph). Its cut tasks push pieces into the
stores of the process or worker they run on and return a :class:`Holder` naming it; its
output tasks take their partition from their own stores and, on a cluster, from every other
worker that holds pieces (``_core.ShufflePeers``, peer to peer, never through the scheduler
or the client). Each shuffle's pieces live in a ``_core.ShuffleStore``, which keeps them as
Python objects up to a memory limit and pickles the rest to a temporary file.

The barrier task's value (:func:`barrier`, the list of holders) owns the shuffle's pieces:
when it is released, because every output task that needed it is done or the computation
was abandoned, every holder drops its store (a partial compute such as ``head()`` leaves
nothing behind). A store is also dropped once every output partition has been taken from
it, and a push into a store that has already been taken from starts a new run of the
shuffle (the graph computed again): the old store is dropped first.

This module imports neither pandas nor NumPy: workers load it when a shuffle reaches them.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import threading
import weakref
from typing import Any, NamedTuple

from oxdask import _core, config
from oxdask.sizeof import sizeof

__all__ = ["Holder", "Stores", "barrier", "current", "held", "set_current", "take_all"]


class Holder(NamedTuple):
    """Where a cut task left its pieces: a worker's address, or this process (None) and
    its pid."""

    address: str | None
    pid: int


def _default_limit(worker_limit: int) -> int:
    limit = config.get("dataframe.shuffle.memory-limit", None)
    if limit is not None:
        return int(limit)
    if worker_limit:
        return worker_limit // 4
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):
        return 2 << 30


def _dump(piece) -> bytes:
    return pickle.dumps(piece, protocol=5)


class _Shuffle:
    __slots__ = ("npartitions", "store", "taken")

    def __init__(self, npartitions: int, memory_limit: int) -> None:
        directory = config.get("temporary-directory", None) or tempfile.gettempdir()
        self.store = _core.ShuffleStore(npartitions, memory_limit, directory)
        self.npartitions = npartitions
        self.taken: set[int] = set()


class Stores:
    """The shuffles of one process or worker. ``peers`` (a ``_core.ShufflePeers``) is set
    on a distributed worker: its address names it in :class:`Holder` s, and output tasks
    take remote pieces through it."""

    def __init__(self, peers: Any = None) -> None:
        self.peers = peers
        self._lock = threading.Lock()
        self._shuffles: dict[str, _Shuffle] = {}
        _every.add(self)

    @property
    def holder(self) -> Holder:
        return Holder(self.peers.address if self.peers is not None else None, os.getpid())

    def __len__(self) -> int:
        return len(self._shuffles)

    def push(self, shuffle: str, npartitions: int, i: int, j: int, piece) -> None:
        """Keep ``piece``, cut from input ``i`` for output ``j``."""
        with self._lock:
            sh = self._shuffles.get(shuffle)
            if sh is None or sh.taken or sh.npartitions != npartitions:
                limit = _default_limit(self.peers.memory_limit if self.peers else 0)
                sh = self._shuffles[shuffle] = _Shuffle(npartitions, limit)
        sh.store.push(i, j, piece, sizeof(piece), _dump)

    def _take_raw(self, shuffle: str, j: int) -> list:
        with self._lock:
            sh = self._shuffles.get(shuffle)
            if sh is None:
                return []
            sh.taken.add(j)
            if len(sh.taken) >= sh.npartitions:
                del self._shuffles[shuffle]
        return sh.store.take(j)

    def drop(self, shuffle: str) -> None:
        """Forget every piece of ``shuffle``."""
        with self._lock:
            self._shuffles.pop(shuffle, None)

    def take(self, shuffle: str, j: int) -> list[tuple[int, Any]]:
        """``(input, piece)`` for every piece held for output ``j`` (which is then empty)."""
        return [
            (i, pickle.loads(p) if pickled else p) for i, p, pickled in self._take_raw(shuffle, j)
        ]

    def take_serialized(self, shuffle: str, j: int) -> list[tuple[int, bytes, list]]:
        """:meth:`take` for a peer: ``(input, pickle stream, out-of-band buffers)``."""
        from oxdask.distributed.serialize import dumps_value

        out = []
        for i, p, pickled in self._take_raw(shuffle, j):
            stream, buffers = (p, []) if pickled else dumps_value(p)
            out.append((i, stream, buffers))
        return out


_every: weakref.WeakSet[Stores] = weakref.WeakSet()
_process = Stores()
_local = threading.local()


def current() -> Stores:
    """The stores of the worker running this task, else this process's."""
    stores = getattr(_local, "stores", None)
    return _process if stores is None else stores


def set_current(stores: Stores | None) -> None:
    """Make ``stores`` this thread's (a worker's task threads call this)."""
    _local.stores = stores


class Holders(list):
    """The barrier's value: the distinct holders of a shuffle's pieces. The original (not a
    copy fetched by another worker) drops the pieces everywhere when it is released."""

    __slots__ = ("__weakref__",)


def _release(shuffle: str, holders: list[Holder], stores: Stores) -> None:
    here = stores.holder
    remote = [h.address for h in holders if h.address is not None and h.address != here.address]
    if any(h == here for h in holders):
        stores.drop(shuffle)
    if remote and stores.peers is not None:
        stores.peers.drop(remote, shuffle)


def barrier(shuffle: str, holders) -> Holders:
    """The barrier task: every cut done; returns where the pieces are (see the module docs)."""
    out = Holders(dict.fromkeys(holders))
    release = weakref.finalize(out, _release, shuffle, list(out), current())
    release.atexit = False  # at exit the stores go with the process
    return out


def held() -> int:
    """Shuffles with pieces still held in this process (by it or by its workers)."""
    return sum(len(s) for s in list(_every))


def take_all(shuffle: str, j: int, holders) -> list:
    """The pieces of output ``j`` from every holder, in input order."""
    stores = current()
    here = stores.holder
    remote = []
    for h in holders:
        if h.address is None and h.pid != here.pid:
            raise RuntimeError(
                f"shuffle {shuffle}: pieces were cut in process {h.pid}, which this process "
                f"({here.pid}) cannot reach; the 'engine' shuffle needs the threads or sync "
                "scheduler, or a distributed client. Use "
                "oxdask.config.set({'dataframe.shuffle.method': 'tasks'}) elsewhere"
            )
        if h.address is not None and h.address != here.address:
            remote.append(h.address)
    if remote and stores.peers is None:
        raise RuntimeError(
            f"shuffle {shuffle}: pieces are on the workers {sorted(set(remote))}, but this "
            "task does not run on a worker of that cluster"
        )
    pieces = stores.take(shuffle, j)
    if remote:
        from oxdask.distributed.serialize import loads_value

        taken = stores.peers.take(sorted(set(remote)), shuffle, j)
        pieces += [(i, loads_value(stream, list(buffers))) for i, stream, buffers in taken]
    pieces.sort(key=lambda p: p[0])
    return [p for _, p in pieces]
