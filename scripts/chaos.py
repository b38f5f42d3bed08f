"""Chaos: a mixed workload on a local cluster while workers are killed and replaced.

Every ``--interval`` seconds a random worker process gets SIGKILL and a new one is started.
Meanwhile each round runs, at once from three threads, futures (``map`` then a ``submit`` that
sums them), a delayed graph, and an array-style tree reduction of NumPy chunks, and checks
every result against plain Python. Exits 0 if every round was right, 1 at the first wrong
result or error, and 2 if a round outlives ``--round-timeout`` (a hang).

    python scripts/chaos.py --rounds 100 --workers 3 --interval 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from operator import add

import numpy as np

import oxdask
from oxdask.distributed import Client, LocalCluster


def slow_inc(x, delay):
    time.sleep(delay)
    return x + 1


def chunk(i, n):
    return np.arange(i * n, (i + 1) * n, dtype="int64")


def chunk_sum(a):
    time.sleep(0.05)
    return int(a.sum())


def futures_workload(client, rng) -> tuple[str, object, object]:
    n = rng.randint(20, 60)
    delays = [rng.uniform(0.02, 0.08) for _ in range(n)]
    futures = client.map(slow_inc, range(n), delays, pure=False)
    total = client.submit(sum, futures)
    return "futures", total.result(timeout=60), sum(range(1, n + 1))


def delayed_workload(client, rng) -> tuple[str, object, object]:
    n = rng.randint(10, 30)
    parts = [oxdask.delayed(slow_inc)(i, 0.05) for i in range(n)]
    doubled = [oxdask.delayed(add)(p, p) for p in parts]
    total = oxdask.delayed(sum)(doubled)
    (got,) = oxdask.compute(total, scheduler=client.get)
    return "delayed", got, sum(2 * (i + 1) for i in range(n))


def tree_workload(client, rng) -> tuple[str, object, object]:
    nchunks, size = rng.randint(8, 24), 10_000
    level = [
        client.submit(chunk_sum, c) for c in client.map(chunk, range(nchunks), [size] * nchunks)
    ]
    while len(level) > 1:  # pairwise, as a tree reduction over array blocks
        nxt = [client.submit(add, a, b) for a, b in zip(level[::2], level[1::2], strict=False)]
        level = nxt + level[len(level) // 2 * 2 :]
    total = nchunks * size
    return "tree", level[0].result(timeout=60), total * (total - 1) // 2


class Killer(threading.Thread):
    """Kills a random live worker process every ``interval`` seconds and starts a new one."""

    def __init__(self, cluster: LocalCluster, interval: float, rng: random.Random) -> None:
        super().__init__(name="chaos-killer", daemon=True)
        self.cluster, self.interval, self.rng = cluster, interval, rng
        self.stop = threading.Event()
        self.kills = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.wait(self.interval):
                alive = [p for p in self.cluster._procs if p.poll() is None]
                if not alive:
                    continue
                victim = self.rng.choice(alive)
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(10)
                self.kills += 1
                self.cluster._start_worker()
        except BaseException as e:  # reported by the main thread
            self.error = e


def _diagnose(client, cluster) -> None:
    """What the scheduler holds when a round fails, for whoever debugs it."""
    try:
        info = client.scheduler_info()
        alive = sum(p.poll() is None for p in cluster._procs)
        print(f"worker processes alive: {alive}", file=sys.stderr)
        print(json.dumps(info, indent=1, default=str), file=sys.stderr)
    except Exception as e:
        print(f"(no scheduler state: {e})", file=sys.stderr)


def _capture(workload, client, rng, out: list) -> None:
    try:
        out.append(workload(client, rng))
    except BaseException as e:  # reported by the main thread
        out.append(e)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--interval", type=float, default=2.0, help="seconds between kills")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--round-timeout", type=float, default=120.0)
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    print(f"chaos: seed {seed}, {args.rounds} rounds, {args.workers} workers", flush=True)
    workloads = [futures_workload, delayed_workload, tree_workload]
    started = time.monotonic()
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as c,
        Client(c, set_as_default=False) as client,
    ):
        killer = Killer(c, args.interval, random.Random(rng.random()))
        killer.start()
        try:
            for r in range(args.rounds):
                t0 = time.monotonic()
                # The three workloads run at once, each from its own thread.
                results: list[list] = [[] for _ in workloads]
                threads = [
                    threading.Thread(
                        target=_capture, args=(w, client, random.Random(rng.random()), out)
                    )
                    for w, out in zip(workloads, results, strict=True)
                ]
                for t in threads:
                    t.daemon = True
                    t.start()
                deadline = time.monotonic() + args.round_timeout
                for w, t, out in zip(workloads, threads, results, strict=True):
                    t.join(max(0.0, deadline - time.monotonic()))
                    if t.is_alive():
                        print(f"round {r}: {w.__name__} hung", file=sys.stderr)
                        _diagnose(client, c)
                        return 2
                    if isinstance(out[0], BaseException):
                        print(f"round {r}: {w.__name__} raised", file=sys.stderr)
                        traceback.print_exception(out[0])
                        _diagnose(client, c)
                        return 1
                    name, got, expected = out[0]
                    if got != expected:
                        print(f"round {r}: {name} got {got}, expected {expected}", file=sys.stderr)
                        return 1
                if killer.error is not None:
                    raise killer.error
                print(f"round {r}: ok in {time.monotonic() - t0:.1f}s", flush=True)
        finally:
            killer.stop.set()
            killer.join(30)
    print(
        f"chaos: {args.rounds} rounds correct, {killer.kills} workers killed, "
        f"{time.monotonic() - started:.1f}s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
