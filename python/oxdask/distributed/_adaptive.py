"""Adaptive scaling (``cluster.adapt(...)``, :class:`Adaptive`): every ``interval`` the
scheduler says how many workers its load asks for (queued work over ``target_duration``,
one more under memory pressure) and whom to close (idle workers old enough, least data
first, whole jobs at once, at most half per step); the engine's ``AdaptivePolicy`` decides
when to act (up at once; down after ``wait_count`` checks and a window of low load; scale-up
paused, with a warning, after repeated launch failures)."""

from __future__ import annotations

import collections
import json
import logging
import math
import threading
import time

from oxdask import _core
from oxdask.utils import parse_bytes, parse_timedelta

__all__ = ["Adaptive"]

logger = logging.getLogger("oxdask.adaptive")


class Adaptive:
    """Scale ``cluster`` with its load between ``minimum`` and ``maximum`` workers (or
    ``minimum_cores``/``maximum_cores``/``minimum_memory``/``maximum_memory``, converted with
    the cluster's threads and memory per worker). ``log`` keeps ``(time, {"status": "up" |
    "down" | "paused", ...})``. ``worker_key`` (or a job-queue cluster) closes workers by
    job: those named ``<job>-<i>`` together."""

    def __init__(self, cluster, interval="1s", minimum: float = 0, maximum: float = math.inf,
                 wait_count: int = 3, target_duration="5s", minimum_cores=None,
                 maximum_cores=None, minimum_memory=None, maximum_memory=None,
                 worker_key=None, minimum_age=None, **kwargs):  # fmt: skip
        if not isinstance(wait_count, int) or isinstance(wait_count, bool) or wait_count < 1:
            raise ValueError(f"wait_count must be a positive integer, not {wait_count!r}")
        self.cluster = cluster
        self.interval = parse_timedelta(interval)
        self.target_duration = parse_timedelta(target_duration)
        if self.interval <= 0 or self.target_duration <= 0:
            raise ValueError("interval and target_duration must be positive")
        threads, memory = _worker_size(cluster)
        lows = [minimum]
        highs = [maximum]
        if minimum_cores is not None:
            lows.append(math.ceil(minimum_cores / threads))
        if maximum_cores is not None:
            highs.append(maximum_cores // threads)
        if minimum_memory is not None:
            lows.append(math.ceil(parse_bytes(minimum_memory) / memory) if memory else 0)
        if maximum_memory is not None and memory:
            highs.append(parse_bytes(maximum_memory) // memory)
        self.minimum, self.maximum = max(lows), min(highs)
        if self.minimum < 0 or self.maximum < self.minimum:
            raise ValueError(
                "adaptive bounds must satisfy 0 <= minimum <= maximum, "
                f"got {self.minimum} and {self.maximum}"
            )
        self.wait_count = wait_count
        self.minimum_age = (
            3 * self.interval if minimum_age is None else parse_timedelta(minimum_age)
        )
        self.by_job = worker_key is not None or hasattr(cluster, "job_script")
        upper = int(min(self.maximum, 2**31))
        window = max(self.interval * wait_count, self.target_duration)
        self._policy = _core.AdaptivePolicy(int(self.minimum), upper, wait_count, window)
        self.log: collections.deque = collections.deque(maxlen=1000)
        self._conn = None
        self._paused_until = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="oxdask-adaptive", daemon=True)
        self._thread.start()

    # -- one check -------------------------------------------------------------------------------
    def _view(self, path: str) -> dict:
        if self._conn is None:
            self._conn = self.cluster._connection()
        try:
            return json.loads(self._conn.dashboard(path, 10.0))
        except OSError:
            self._conn = None
            raise

    def target(self) -> int:
        """How many workers the load asks for (before the bounds). Workers whose end (batch
        job walltime, ``--lifetime``) is near are replaced ahead of time: counted twice while
        there is work, and beyond ``minimum`` when there is none."""
        view = self._view(f"adaptive_target?target_duration={self.target_duration}&ending=1")
        wanted, ending = int(view["workers"]), int(view.get("ending", 0))
        if wanted == 0 and ending and self.minimum > 0:
            return int(self.minimum) + ending
        return wanted

    def workers_to_close(self, target: int) -> list[str]:
        """Whom the scheduler would close to get down to ``target`` workers."""
        path = (f"workers_to_close?target={target}&min_age={self.minimum_age}"
                f"&max_fraction=0.5&by_job={int(self.by_job)}")  # fmt: skip
        return list(self._view(path)["workers"])

    def adapt(self) -> None:
        """One check: ask, decide, act."""
        target = self.target()
        current = len(self.cluster.workers_info())
        now = time.monotonic()
        decision = self._policy.step(now, target, current)
        kind = decision[0]
        if kind == "up":
            self._paused_until = None
            self.log.append((time.time(), {"status": "up", "n": decision[1]}))
            try:
                self.cluster.scale(decision[1])
            except Exception as e:
                self._policy.launch_failed(time.monotonic())
                logger.warning("adaptive: could not start workers: %s", e)
            else:
                self._policy.launched()
        elif kind == "down":
            close = self.workers_to_close(decision[1])
            if close:
                self.log.append((time.time(), {"status": "down", "workers": close}))
                self.cluster.scale_down(close)
        elif kind == "paused" and self._paused_until != decision[1]:
            self._paused_until = decision[1]
            self.log.append((time.time(), {"status": "paused", "reason": decision[2]}))
            logger.warning("adaptive: %s", decision[2])

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if getattr(self.cluster, "_closed", False):
                return
            try:
                self.adapt()
            except Exception as e:  # the cluster is closing, or the scheduler went away
                logger.warning("adaptive scaling failed: %s", e)

    def stop(self) -> None:
        """Stop adapting (the workers stay); a step under way finishes first, so that no
        scaling runs behind the caller's back once this returns."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=120)
        if self._conn is not None:
            self._conn.close()

    def __repr__(self) -> str:
        return f"<Adaptive: minimum={self.minimum} maximum={self.maximum}>"


def _worker_size(cluster) -> tuple[int, int]:
    """Threads and memory limit of one of the cluster's workers (its spec, or a worker)."""
    threads = getattr(cluster, "_threads_per_worker", None)
    memory = getattr(cluster, "_memory_limit", None)
    if not threads or memory is None:
        with_info = cluster.workers_info() if hasattr(cluster, "workers_info") else []
        if with_info:
            threads = threads or with_info[0].get("nthreads", 1)
            memory = with_info[0].get("memory_limit", 0) if memory is None else memory
    return int(threads or 1), int(memory or 0)
