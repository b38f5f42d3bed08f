"""The nanny: worker processes killed from outside are replaced, the scheduler learns why they
died, and a task that kills every worker it runs on raises KilledWorker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from _waiting import wait_for

import oxdask
from oxdask.distributed import Client, KilledWorker, LocalCluster


def pids(client):
    return set(client.run(os.getpid).values())


def slow_inc(x):
    time.sleep(0.005)
    return x + 1


def add(a, b):
    return a + b


def tree(n):
    """n leaves and their pairwise sums: 2n - 1 tasks."""
    layer = [oxdask.delayed(slow_inc)(i) for i in range(n)]
    while len(layer) > 1:
        nxt = [oxdask.delayed(add)(a, b) for a, b in zip(layer[::2], layer[1::2], strict=False)]
        layer = nxt + (layer[-1:] if len(layer) % 2 else [])
    return layer[0]


def busiest(client) -> str:
    workers = client.scheduler_info()["workers"]
    return max(workers, key=lambda a: workers[a].get("processing", 0))


@pytest.mark.timeout(180)
def test_workers_killed_during_a_tree_are_replaced_and_the_result_is_exact():
    with LocalCluster(n_workers=3, threads_per_worker=1) as cluster, Client(cluster) as c:
        total = tree(300)  # 599 tasks
        future = c.compute(total)
        killed = set()
        for _ in range(3):
            time.sleep(0.4)
            if future.done():
                break
            victim = busiest(c)
            pid = c.run(os.getpid, workers=[victim]).get(victim)
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        assert future.result(timeout=120) == sum(range(1, 301))
        cluster.scale(3)
        # Replaced by their nannies: three workers again, none of them a killed process.
        assert wait_for(lambda: len(pids(c)) == 3 and not (pids(c) & killed), 60), pids(c)
        assert killed, "no worker was killed: the tree finished too fast"


def kill_myself():
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.timeout(120)
def test_a_task_that_kills_its_worker_raises_killedworker_naming_the_cause():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        before = pids(c)
        future = c.submit(kill_myself, pure=False)
        start = time.monotonic()
        with pytest.raises(KilledWorker) as info:
            future.result(timeout=60)
        assert time.monotonic() - start < 20
        allowed = oxdask.config.get("distributed.scheduler.allowed-failures")
        e = info.value
        assert e.task == future.key
        assert e.deaths == allowed + 1
        assert "signal 9" in e.last_reason
        assert "signal 9" in str(e)
        # The workers came back and serve.
        assert wait_for(lambda: len(pids(c)) == 2 and not (pids(c) & before), 60)
        assert c.submit(add, 1, 2).result(timeout=30) == 3


def _worker(address, *extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", "oxdask.distributed.worker", address, "--nthreads", "1"]
    return subprocess.Popen([*cmd, *extra], env=env, stdin=subprocess.DEVNULL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by its parent) counts as gone.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[-1][0] != "Z"


@pytest.mark.timeout(120)
def test_stopping_the_nanny_stops_its_worker_and_no_nanny_means_no_replacement():
    with LocalCluster(n_workers=0) as cluster, Client(cluster) as c:
        nanny = _worker(cluster.scheduler_address)
        plain = _worker(cluster.scheduler_address, "--no-nanny")
        try:
            c.wait_for_workers(2, timeout=30)
            by_pid = pids(c)
            assert plain.pid in by_pid
            assert nanny.pid not in by_pid
            (child,) = by_pid - {plain.pid}
            os.kill(plain.pid, signal.SIGKILL)
            plain.wait(10)
            time.sleep(1.5)
            assert pids(c) == {child}  # nobody replaces a worker without a nanny
            nanny.terminate()
            assert nanny.wait(20) == 0
            assert wait_for(lambda: not alive(child), 10)
        finally:
            for p in (nanny, plain):
                if p.poll() is None:
                    p.kill()


def exit_3():
    os._exit(3)


@pytest.mark.timeout(120)
def test_a_worker_that_exits_with_an_error_code_soon_after_starting_is_restarted():
    # The nanny counts a worker as started once it registered, not after a delay: a task that
    # makes its fresh worker exit is a death to restart, not a worker that cannot start.
    with LocalCluster(n_workers=1, threads_per_worker=1) as cluster, Client(cluster) as c:
        with pytest.raises(KilledWorker) as info:
            c.submit(exit_3, pure=False).result(timeout=60)
        assert "exited with code 3" in info.value.last_reason
        assert c.submit(add, 2, 3).result(timeout=60) == 5
