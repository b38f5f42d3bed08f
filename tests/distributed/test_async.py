"""Client(asynchronous=True), Client.restart and progress."""

from __future__ import annotations

import asyncio
import io
import os
import time

import pytest

from oxdask.distributed import (
    Client,
    FutureCancelledError,
    LocalCluster,
    as_completed,
    progress,
    wait,
)


def inc(x):
    return x + 1


def slow_inc(x):
    time.sleep(0.05)
    return x + 1


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1) as c:
        yield c


def test_asynchronous_client(cluster):
    async def main():
        async with Client(cluster, asynchronous=True, set_as_default=False) as c:
            f = c.submit(inc, 1)
            assert await f == 2
            assert await f.result() == 2
            assert await f.exception() is None
            fs = c.map(inc, range(20))
            done, not_done = await wait(fs)
            assert len(done) == 20
            assert not not_done
            assert await c.gather(fs) == list(range(1, 21))
            seen = [await fut async for fut in as_completed(fs)]
            assert sorted(seen) == list(range(1, 21))
            [x] = await c.scatter([5])
            assert await c.submit(inc, x) == 6
            assert sorted((await c.run(inc, 1)).values()) == [2, 2]
        c2 = await Client(cluster, asynchronous=True, set_as_default=False)
        assert await c2.submit(inc, 41) == 42
        await c2.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_restart_cancels_futures_and_replaces_workers():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        before = set(c.scheduler_info()["workers"])
        held = c.submit(inc, 1)
        assert held.result(timeout=30) == 2
        running = c.map(slow_inc, range(40), pure=False)
        start = time.monotonic()
        c.restart(timeout=60)
        # the old workers end promptly (a process ending with a task thread still running
        # must not crash, leaving its nanny to restart it and restart() to wait it out)
        assert time.monotonic() - start < 20
        after = set(c.scheduler_info()["workers"])
        assert len(after) == 2
        assert not after & before
        with pytest.raises(FutureCancelledError, match="restart"):
            held.result(timeout=5)
        assert all(f.status == "cancelled" for f in running)
        # the fresh workers compute, including keys that existed before
        assert c.submit(inc, 1).result(timeout=30) == 2
        assert sum(c.gather(c.map(inc, range(10)))) == 55


def test_restart_by_address_has_the_nannies_start_fresh_worker_processes(cluster):
    with Client(cluster.scheduler_address, set_as_default=False) as c:
        before = set(c.scheduler_info()["workers"])
        pids = sorted(c.run(os.getpid).values())
        c.restart(timeout=60)
        after = set(c.scheduler_info()["workers"])
        assert len(after) == len(before)
        assert not after & before
        # Fresh processes, started by the workers' nannies.
        fresh = set(c.run(os.getpid).values())
        assert len(fresh) == len(pids)
        assert not fresh & set(pids)
        assert sum(c.gather(c.map(inc, range(10)))) == 55


def test_progress_bar_reaches_100_percent(cluster):
    with Client(cluster, set_as_default=False) as c:
        fs = c.map(slow_inc, range(10))
        out = io.StringIO()
        progress(fs, file=out, interval=0.02)
        assert all(f.done() for f in fs)
        text = out.getvalue()
        assert "100% Completed" in text
        assert text.count("\r") >= 2
