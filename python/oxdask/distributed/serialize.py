"""Serialization of tasks, results and errors for the distributed scheduler.

* **Tasks** are Dask task tuples ``(func, *args)``: the function goes into a function table
  (cloudpickled once per client, deserialized once per worker, referred to by id) and the
  payload pickles only the arguments: a few dozen bytes of plain pickle for typical tasks.
* **Results** travel as a pickle protocol 5 stream plus its out-of-band buffers, so NumPy and
  pandas data are never copied into the stream: the buffers are written to the socket as they
  are and, on the receiving side, wrapped without copying.
* **Errors** travel as the pickled exception, its pickled traceback summary, and a text line
  for logs; a client re-raises the original exception type with the remote frames in a note.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import traceback
import types
from typing import Any

import cloudpickle

from oxdask import _core
from oxdask.sizeof import sizeof

__all__ = [
    "FunctionTable",
    "KilledWorker",
    "dumps_error",
    "dumps_task",
    "dumps_value",
    "execute_task",
    "loads_error",
    "loads_task",
    "loads_value",
    "sizeof",
]

_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType)


class FunctionTable:
    """Client side: assigns a stable id to each function and remembers what to send.

    The id is derived from the cloudpickled bytes, so the same function from two clients gets
    the same id and a worker deserializes it once.
    """

    def __init__(self) -> None:
        self._ids: dict[int, tuple[Any, int]] = {}  # id(func) -> (func, fid); keeps func alive
        self._blobs: dict[int, bytes] = {}
        self._unsent: list[int] = []

    def fid(self, func: Any) -> int:
        """The id of ``func``, pickling it on first sight."""
        hit = self._ids.get(id(func))
        if hit is not None:
            return hit[1]
        try:
            blob = cloudpickle.dumps(func, protocol=5)
        except Exception as e:
            raise TypeError(f"could not serialize function {_name(func)}: {e}") from e
        fid = int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "little")
        self._ids[id(func)] = (func, fid)
        if fid not in self._blobs:
            self._blobs[fid] = blob
            self._unsent.append(fid)
        return fid

    def take_unsent(self) -> list[tuple[int, bytes]]:
        """Functions not yet sent to the scheduler, as ``(id, bytes)``."""
        out = [(f, self._blobs[f]) for f in self._unsent]
        self._unsent.clear()
        return out


def _name(func: Any) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


#: How a pickle names the ``__main__`` module (classes and functions of the sender's script
#: are pickled by reference under it, which cannot be found in another process).
_MAIN = b"\x8c\x08__main__"


def dumps_task(task: Any, table: FunctionTable) -> tuple[int | None, bytes]:
    """``(function id, payload)`` for a task tuple ``(func, *args)`` (or any other value).

    The head function goes into ``table`` (sent once per function); the payload pickles only
    the arguments, in a few dozen bytes for typical tasks. (The client writes tasks of plain
    arguments itself, ``_core.encode_tasks``; this is for the others.)
    """
    if type(task) is tuple and task and callable(task[0]):
        fid, body = table.fid(task[0]), task[1:]
    else:
        fid, body = None, task
    try:
        stream = pickle.dumps(body, protocol=5)
    except Exception:  # cloudpickle then tries (and names the failure)
        stream = None
    if stream is None or _MAIN in stream:  # lambdas, local classes, the sender's script
        return fid, _dumps_body_cloudpickle(task, fid, body)
    return fid, b"P" + stream


def _dumps_body_cloudpickle(task: Any, fid: int | None, body: Any) -> bytes:
    try:
        return b"C" + cloudpickle.dumps(body, protocol=5)
    except Exception as e:
        head = task[0] if fid is not None else task
        raise TypeError(f"could not serialize the arguments of task {_name(head)}: {e}") from e


#: Held while unpickling tasks and values. Unpickling imports what it refers to, and two
#: threads of a fresh worker importing one package with internal import cycles (oxdask.array)
#: at the same time can leave one with a partly initialized module ("cannot import name ...
#: from partially initialized module"). Dask's workers unpickle on one thread; so do these.
loads_lock = threading.RLock()


def loads_body(payload: bytes) -> Any:
    """The arguments of a task with a head function (or the whole task without one)."""
    if payload[0] == 78:  # b"N": plain values and keys, written by _core.encode_tasks
        return _core.loads_plain(payload)
    body = memoryview(payload)[1:]
    with loads_lock:
        return cloudpickle.loads(body) if payload[0] == 67 else pickle.loads(body)  # b"C"


def loads_task(fid: int | None, payload: bytes, functions) -> Any:
    """Inverse of :func:`dumps_task`; ``functions(fid)`` returns the (cached) function."""
    value = loads_body(payload)
    if fid is None:
        return value
    return (functions(fid), *value)


def _istask(x: Any) -> bool:
    return type(x) is tuple and bool(x) and callable(x[0])


def execute_task(task: Any, data: dict) -> Any:
    """Evaluate a Dask task tuple, substituting the values of keys found in ``data``."""
    if _istask(task):
        func, args = task[0], task[1:]
        return func(*[execute_task(a, data) for a in args])
    if type(task) is list:
        return [execute_task(a, data) for a in task]
    if type(task) is tuple:
        try:
            if task in data:
                return data[task]
        except TypeError:  # a tuple holding unhashable values (slices before Python 3.12)
            pass
        return tuple(execute_task(a, data) for a in task)
    if type(task) is dict:
        return {k: execute_task(v, data) for k, v in task.items()}
    try:
        if task in data:
            return data[task]
    except TypeError:  # unhashable literal
        pass
    return task


def dumps_value(value: Any) -> tuple[bytes, list[memoryview]]:
    """Pickle a result with protocol 5; large buffers come back separately, uncopied."""
    buffers: list[pickle.PickleBuffer] = []
    try:
        stream = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
        if _MAIN in stream:  # by value, as cloudpickle does (see dumps_task)
            raise pickle.PicklingError("refers to __main__")
    except Exception:
        buffers.clear()
        stream = cloudpickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    return stream, [b.raw() for b in buffers]


def loads_value(stream: bytes, buffers: list) -> Any:
    """Inverse of :func:`dumps_value`."""
    with loads_lock:
        return pickle.loads(stream, buffers=buffers)


def dumps_error(exc: BaseException) -> tuple[bytes, bytes, str]:
    """``(pickled exception, pickled traceback text, "Type: message")`` for the wire."""
    text = f"{type(exc).__name__}: {exc}"
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        blob = cloudpickle.dumps(exc, protocol=5)
        pickle.loads(blob)  # some exceptions pickle but cannot be rebuilt
    except Exception:
        blob = b""
    return blob, tb.encode(), text


class KilledWorker(Exception):
    """A task was running on too many workers that died (``distributed.scheduler.
    allowed-failures``); the message names the last worker and, when known, why it died
    (a signal, an exit code, its memory limit). Attributes: ``task`` (the key),
    ``last_worker`` (its address), ``deaths`` and ``last_reason``."""

    task = None
    last_worker = None
    deaths = 0
    last_reason = None


def loads_error(blob: bytes, tb: bytes, text: str) -> BaseException:
    """Rebuild the remote exception; the remote traceback becomes a note on it."""
    exc: BaseException
    try:
        exc = pickle.loads(blob) if blob else RuntimeError(text)
    except Exception:
        exc = RuntimeError(text)
    if tb:
        exc.add_note("remote traceback:\n" + tb.decode(errors="replace").rstrip())
    return exc
