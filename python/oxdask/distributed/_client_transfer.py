"""Moving data between a ``Client`` and the workers: ``gather`` and ``scatter`` (mixed into
``Client``). Results are fetched from the workers holding them, never through the scheduler.
"""

from __future__ import annotations

from collections import defaultdict

from oxdask.distributed._async import client_method
from oxdask.distributed._client_graphs import _MANY, _gc_paused
from oxdask.distributed.future import Future
from oxdask.distributed.serialize import dumps_value, loads_value, sizeof
from oxdask.tokenize import tokenize
from oxdask.utils import parse_timedelta as _seconds

__all__ = ["ClientTransfer"]


class ClientTransfer:
    """``Client`` methods that bring results here and send local data to workers."""

    @client_method
    def gather(self, futures, errors: str = "raise", direct=None, asynchronous=None):
        """Bring results to this process; same nesting as ``futures`` (lists, tuples, dicts)."""
        if errors not in ("raise", "skip"):
            raise ValueError(f"errors must be 'raise' or 'skip', not {errors!r}")
        from oxdask.distributed.future import _wait, futures_of

        flat = futures_of(futures)

        _wait(flat, None, "ALL_COMPLETED")
        good = []
        for f in flat:
            if f.status == "finished":
                good.append(f.key)
            elif errors == "raise":
                f._raise_if_failed()
        with _gc_paused(len(good) > _MANY):
            values = dict(zip(good, self._gather_keys(good), strict=True)) if good else {}
        return _rebuild(futures, values)

    #: ``gather`` that blocks even on an asynchronous client (for ``get`` and executors)
    _gather_now = gather.__wrapped__

    def _gather_keys(self, keys: list, timeout=None, attempts: int = 5) -> list:
        """Fetch values from the workers holding them (asking the scheduler where they are)."""
        wait_s = 30.0 if timeout is None else _seconds(timeout)
        found: dict = {}
        todo = []
        for key in dict.fromkeys(keys):
            st = self._states.get(key)
            if st is not None and st.pickled is not None:  # came with the completion
                found[key] = loads_value(st.pickled, [])
            else:
                todo.append(key)
        if not todo:
            return [found[k] for k in keys]
        for _ in range(attempts):
            by_worker: dict[str, list] = defaultdict(list)
            for key, holders in self._conn.who_has(todo, wait_s):
                if holders:
                    by_worker[holders[0]].append(key)
            for address, ks in by_worker.items():
                try:
                    values, _missing = self._conn.get_data(address, ks, wait_s)
                except ConnectionError:
                    continue
                for key, stream, buffers in values:
                    found[key] = loads_value(stream, buffers)
            todo = [k for k in todo if k not in found]
            if not todo:
                return [found[k] for k in keys]
            self._check_alive()
        raise RuntimeError(f"could not fetch {todo[:5]!r} from any worker (data lost?)")

    @client_method
    def scatter(self, data, workers=None, broadcast: bool = False, hash: bool = True):
        """Send local data to workers; returns futures (same nesting as ``data``)."""
        self._check_alive()
        info = self.scheduler_info()
        addresses = list(info["workers"])
        if workers:
            wanted = [workers] if isinstance(workers, str) else list(workers)
            addresses = [a for a in addresses if a in wanted]
        if not addresses:
            raise RuntimeError("no workers to scatter to")
        if isinstance(data, dict):
            items = list(data.items())
        else:
            seq = data if isinstance(data, list | tuple | set) else [data]
            items = []
            for v in seq:
                prefix = type(v).__name__
                token = tokenize(v) if hash else self._unique()
                items.append((f"{prefix}-{token}", v))
        futures = {}
        for i, (key, value) in enumerate(items):
            stream, buffers = dumps_value(value)
            targets = addresses if broadcast else [addresses[i % len(addresses)]]
            futures[key] = Future(key, self)
            for address in targets:
                blob = (key, stream, list(buffers))
                self._conn.put_data(address, [blob], 30.0)
                self._conn.scattered(address, [(key, sizeof(value))])
        if isinstance(data, dict):
            return futures
        out = [futures[k] for k, _ in items]
        if isinstance(data, list | tuple | set):
            return type(data)(out) if not isinstance(data, set) else out
        return out[0]


_SKIP = object()


def _rebuild(x, values: dict):
    """``x`` with its futures replaced by their values (skipped when missing). A plain
    function, not a closure: a recursive closure is a reference cycle that would keep every
    gathered value alive until the cyclic garbage collector runs."""
    if isinstance(x, Future):
        return values.get(x.key, _SKIP)
    if isinstance(x, list | tuple | set):
        return type(x)(v for v in (_rebuild(y, values) for y in x) if v is not _SKIP)
    if isinstance(x, dict):
        items = ((k, _rebuild(y, values)) for k, y in x.items())
        return {k: v for k, v in items if v is not _SKIP}
    return x
