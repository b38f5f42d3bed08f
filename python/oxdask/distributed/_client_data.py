"""``Client.replicate``, ``Client.rebalance``, ``Client.amm`` and ``Client.story`` (mixed into
``Client``).

``replicate`` copies results to more workers through this client (the worker holding a
result sends its bytes here, they go on unchanged to each new holder, which the scheduler
then counts as a holder): Dask's workers copy among themselves instead, and also drop
surplus replicas: oxdask's scheduler does that when its active memory manager runs
(``Client.amm``; off unless started, Dask's starts with the scheduler). ``rebalance`` has the
scheduler move results from the workers holding the most bytes to those holding the fewest.
``story`` is the scheduler's
record of a task's recent transitions (the workers' own records are not kept).
"""

from __future__ import annotations

import json
import re
import time

from oxdask.distributed._async import client_method

__all__ = ["AMMClient", "ClientData"]

_TRANSITION = re.compile(r"^\s*-> (\S+) at ([0-9.]+)s by stimulus (\S+)\s*$")


def _keys(items) -> list:
    from oxdask.distributed.future import Future

    if isinstance(items, Future | str | tuple):
        items = [items]
    return [x.key if isinstance(x, Future) else x for x in items]


class ClientData:
    """See the module docs."""

    @client_method
    def replicate(self, futures, n=None, workers=None, branching_factor=2, **kwargs) -> None:
        """Copy the results of ``futures`` until ``n`` workers (of ``workers``, default
        all) hold each; all of them when ``n`` is None. Fewer workers than ``n``: all."""
        if n is not None and (not isinstance(n, int) or isinstance(n, bool)):
            raise TypeError(f"n must be an integer or None, not {n!r}")
        if n is not None and n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        self._check_alive()
        info = self.scheduler_info()["workers"]
        if workers is None:
            candidates = list(info)
        else:
            candidates = [workers] if isinstance(workers, str) else list(workers)
            unknown = [w for w in candidates if w not in info]
            if unknown:
                raise ValueError(f"not workers of this scheduler: {unknown}")
        keys = _keys(futures)
        for key, holders in self._conn.who_has(keys, 30.0):
            if not holders:
                raise RuntimeError(f"replicate: no worker holds {key!r} (not computed yet?)")
            want = len(candidates) if n is None else min(n, len(candidates))
            have = [w for w in holders if w in candidates]
            free = sorted(
                (w for w in candidates if w not in holders),
                key=lambda w: info[w].get("nbytes_held", 0),
            )
            targets = free[: max(0, want - len(have))]
            if not targets:
                continue
            values, missing = self._conn.get_data(holders[0], [key], 30.0)
            if missing or not values:
                raise RuntimeError(f"replicate: {holders[0]} no longer holds {key!r}")
            _, stream, buffers = values[0]
            nbytes = len(stream) + sum(len(b) for b in buffers)
            for address in targets:
                self._conn.put_data(address, [(key, stream, list(buffers))], 30.0)
                self._conn.scattered(address, [(key, nbytes)])
        self._conn.who_has(keys, 30.0)  # the scheduler has seen the new holders

    @client_method
    def rebalance(self, futures=None, workers=None, **kwargs) -> None:
        """Move results between ``workers`` (default all) until each holds about as many
        bytes: from the fullest to the emptiest, only results a worker alone holds, only
        those of ``futures`` when given (waiting for them first). Returns once the moves
        are done."""
        self._check_alive()
        keys = None if futures is None else _keys(futures)
        if futures is not None:  # as Dask: the futures' results first
            from oxdask.distributed.future import futures_of, wait

            wait(futures_of(futures))
        if isinstance(workers, str):
            workers = [workers]
        info = self.scheduler_info()["workers"]
        unknown = [w for w in workers or () if w not in info]
        if unknown:
            raise ValueError(f"not workers of this scheduler: {unknown}")
        wait_s = float(kwargs.get("timeout", 60.0))
        reply = self._conn.memory("rebalance", 30.0, keys=keys, workers=workers)
        deadline = time.monotonic() + wait_s
        while json.loads(reply)["pending"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"rebalance: moves still under way after {wait_s} s")
            time.sleep(0.02)
            reply = self._conn.memory("status", 30.0)

    @property
    def amm(self) -> AMMClient:
        """The scheduler's active memory manager (``start``/``stop``/``running``/
        ``run_once``), which drops surplus replicas of results."""
        return AMMClient(self)

    @client_method
    def story(self, *keys_or_stimuli, on_error: str = "raise") -> list:
        """The scheduler's recent transitions of the given keys (or futures), oldest first:
        ``(key, start, finish, {}, stimulus_id, timestamp)``; a stimulus id (``"stimulus-
        N"``) selects the transitions it caused, of the keys given with it."""
        if on_error not in ("raise", "ignore"):
            raise ValueError(f"on_error must be 'raise' or 'ignore'; got {on_error!r}")
        self._check_alive()
        stimuli = {s for s in keys_or_stimuli if isinstance(s, str) and s.startswith("stimulus-")}
        keys = _keys([k for k in keys_or_stimuli if k not in stimuli])
        now = json.loads(self._conn.info(30.0)).get("now")
        wall = time.time()
        story = []
        for key in keys:
            try:
                text = self._conn.why(key, 30.0)
            except Exception:
                if on_error == "raise":
                    raise
                continue
            start = "released"
            for line in text.splitlines():
                m = _TRANSITION.match(line)
                if m is None:
                    continue
                finish, at, stimulus = m.group(1), float(m.group(2)), f"stimulus-{m.group(3)}"
                stamp = wall - (now - at) if now is not None else at
                if start != finish and (not stimuli or stimulus in stimuli):
                    story.append((key, start, finish, {}, stimulus, stamp))
                start = finish
        story.sort(key=lambda entry: entry[5])
        return story


class AMMClient:
    """Controls the scheduler's active memory manager, as Dask's ``Client.amm``: each run
    drops the replicas of results held by several workers (the ``ReduceReplicas`` policy),
    keeping one and those that tasks running there need."""

    def __init__(self, client) -> None:
        self._client = client

    def _op(self, op: str, **kwargs) -> dict:
        self._client._check_alive()
        return json.loads(self._client._conn.memory(op, 30.0, **kwargs))

    def start(self) -> None:
        """Run every ``distributed.scheduler.active-memory-manager.interval`` (2 s)."""
        from oxdask import config
        from oxdask.utils import parse_timedelta

        interval = config.get("distributed.scheduler.active-memory-manager.interval", "2s")
        self._op("start", interval=parse_timedelta(interval))

    def stop(self) -> None:
        """Stop running (replicas stay as they are)."""
        self._op("stop")

    def running(self) -> bool:
        """Whether it runs."""
        return bool(self._op("status")["amm"])

    def run_once(self) -> None:
        """One run now, whether or not it runs on its own."""
        self._op("run_once")
