"""Locks, semaphores and events kept by the scheduler (``oxdask.distributed.Lock``,
``Semaphore``, ``MultiLock``, ``Event``), used from the client and from tasks on a
LocalCluster of worker processes. Every wait has a timeout: nothing here can hang."""

from __future__ import annotations

import pickle
import time
import uuid

import pytest

from oxdask import config
from oxdask.distributed import (
    Client,
    Event,
    LocalCluster,
    Lock,
    MultiLock,
    Semaphore,
    Variable,
)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as c:
        yield c


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- Lock ---------------------------------------------------------------------------------------
def test_lock_acquire_release_locked(client):
    lock = Lock(unique("lock"))
    assert not lock.locked()
    assert lock.acquire(timeout=5) is True
    assert lock.locked()
    other = Lock(lock.name)
    assert other.acquire(blocking=False) is False
    lock.release()
    assert not lock.locked()
    assert other.acquire(blocking=False) is True
    other.release()


def test_lock_timeout_is_honoured(client):
    name = unique("lock")
    holder = Lock(name)
    assert holder.acquire(timeout=5)
    start = time.monotonic()
    assert Lock(name).acquire(timeout="100ms") is False
    elapsed = time.monotonic() - start
    assert 0.09 <= elapsed < 2.0, elapsed  # generous: a shared, busy machine
    holder.release()


def test_lock_waits_longer_than_one_scheduler_call(client, monkeypatch):
    # A wait is several bounded calls; shrink them so the test is quick.
    from oxdask.distributed import _holds

    monkeypatch.setattr(_holds, "CHUNK", 0.1)
    name = unique("lock")
    holder = Lock(name)
    assert holder.acquire(timeout=5)
    start = time.monotonic()
    assert Lock(name).acquire(timeout=0.5) is False  # five calls
    assert 0.45 <= time.monotonic() - start < 2.5
    holder.release()
    assert Lock(name).acquire(timeout=5) is True  # free now


def test_lock_release_not_held_raises(client):
    name = unique("lock")
    with pytest.raises(RuntimeError, match="Released too often"):
        Lock(name).release()
    holder = Lock(name)
    holder.acquire(timeout=5)
    with pytest.raises(RuntimeError, match="Released too often"):
        Lock(name).release()  # a non-holder of the same name
    assert holder.locked()
    holder.release()
    with pytest.raises(RuntimeError, match="Released too often"):
        holder.release()


def test_lock_bad_input(client):
    with pytest.raises(ValueError, match="non-blocking"):
        Lock(unique("lock")).acquire(blocking=False, timeout=1)
    with pytest.raises(TypeError):
        Lock({"not": "hashable"})
    with pytest.raises(KeyError, match="Invalid time unit"):
        Lock(unique("lock")).acquire(timeout="soon")


def test_lock_context_manager_and_pickle(client):
    lock = Lock(unique("lock"))
    with lock:
        assert lock.locked()
        clone = pickle.loads(pickle.dumps(lock))
        assert clone.name == lock.name
        assert clone.acquire(timeout=0.05) is False
    assert not lock.locked()


def _locked_increment(lock, name):
    with lock:
        v = Variable(name)
        value = v.get(timeout=10)
        time.sleep(0.005)  # widen the window a missing lock would lose updates in
        v.set(value + 1)
    return value


def test_lock_from_tasks_gives_exact_count(client):
    name = unique("count")
    Variable(name).set(0)
    lock = Lock(unique("lock"))
    futures = client.map(_locked_increment, [lock] * 20, [name] * 20, pure=False)
    seen = client.gather(futures)
    assert Variable(name).get(timeout=5) == 20
    assert sorted(seen) == list(range(20))  # each task saw a different value


def test_lock_held_by_client_blocks_tasks(client):
    name = unique("lock")
    lock = Lock(name)
    lock.acquire(timeout=5)
    assert client.submit(_try_lock, name, 0.2, pure=False).result(timeout=30) is False
    lock.release()
    assert client.submit(_try_lock, name, 5, pure=False).result(timeout=30) is True


def _try_lock(name, timeout):
    lock = Lock(name)
    ok = lock.acquire(timeout=timeout)
    if ok:
        lock.release()
    return ok


# -- Semaphore ----------------------------------------------------------------------------------
def _occupy(sem, seconds):
    with sem:
        start = time.time()
        time.sleep(seconds)
        return start, time.time()


def test_semaphore_never_admits_more_than_max(client):
    sem = Semaphore(max_leases=2, name=unique("sem"))
    # 2 workers x 2 threads: up to 4 tasks run at once, the semaphore admits 2.
    futures = client.map(_occupy, [sem] * 8, [0.3] * 8, pure=False)
    spans = client.gather(futures)
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 2, spans


def test_semaphore_value_and_release_too_often(client):
    sem = Semaphore(max_leases=3, name=unique("sem"))
    assert sem.get_value() == 0
    assert sem.acquire(timeout=5)
    assert sem.acquire(timeout=5)
    assert sem.get_value() == 2
    sem.release()
    sem.release()
    assert sem.get_value() == 0
    with pytest.raises(RuntimeError, match="Released too often"):
        sem.release()


def test_semaphore_bad_input(client):
    with pytest.raises(TypeError):
        Semaphore(max_leases="2")
    with pytest.raises(TypeError):
        Semaphore(max_leases=1.5)
    with pytest.raises(ValueError, match="at least 1"):
        Semaphore(max_leases=0)
    name = unique("sem")
    Semaphore(2, name=name).register()
    with pytest.raises(ValueError, match="Inconsistent max leases"):
        Semaphore(3, name=name).acquire(timeout=1)


def test_semaphore_close_warns_with_leases(client):
    sem = Semaphore(1, name=unique("sem"))
    sem.acquire(timeout=5)
    with pytest.warns(RuntimeWarning, match="unreleased"):
        sem.close()


def test_lease_freed_when_holder_client_closes(cluster, client):
    name = unique("sem")
    other = Client(cluster, set_as_default=False)
    try:
        assert Semaphore(1, name=name, client=other).acquire(timeout=5)
        assert Semaphore(1, name=name).acquire(timeout=0.1) is False
    finally:
        other.close()
    start = time.monotonic()
    waiter = Semaphore(1, name=name)
    assert waiter.acquire(timeout=10) is True
    assert time.monotonic() - start < 5
    waiter.release()


def test_lock_freed_when_holder_client_closes_while_other_waits(cluster, client):
    name = unique("lock")
    other = Client(cluster, set_as_default=False)
    assert Lock(name, client=other).acquire(timeout=5)
    waiting = client.submit(_try_lock, name, 20, pure=False)  # a task waits for it
    time.sleep(0.3)
    other.close()
    assert waiting.result(timeout=30) is True


def test_lease_timeout_without_refresh(client):
    name = unique("sem")
    with config.set({"distributed.scheduler.locks.lease-timeout": "0.5s"}):
        stale = Semaphore(1, name=name)
        stale.refresh_leases = False  # as a holder whose process stopped responding
        assert stale.acquire(timeout=5)
        start = time.monotonic()
        assert Semaphore(1, name=name).acquire(timeout=10) is True
        assert 0.4 <= time.monotonic() - start < 5


def test_lease_refreshed_while_held(client):
    name = unique("sem")
    with config.set({"distributed.scheduler.locks.lease-timeout": "0.5s"}):
        holder = Semaphore(1, name=name)
        assert holder.acquire(timeout=5)
        time.sleep(1.5)  # three lease timeouts: the refresher keeps it
        assert Semaphore(1, name=name).acquire(timeout=0.1) is False
        holder.release()


def test_lease_timeout_config_default_and_inf(client):
    assert config.get("distributed.scheduler.locks.lease-timeout") == "30s"  # Dask's default
    assert Semaphore(name=unique("sem"))._lease_timeout == 30
    name = unique("sem")
    with config.set({"distributed.scheduler.locks.lease-timeout": "inf"}):
        holder = Semaphore(1, name=name)
        assert holder._lease_timeout is None
        holder.refresh_leases = False
        assert holder.acquire(timeout=5)
        time.sleep(0.3)
        assert Semaphore(1, name=name).acquire(timeout=0.2) is False  # never expires
        holder.release()


# -- MultiLock ----------------------------------------------------------------------------------
def test_multilock_all_or_none(client):
    a, b, c = unique("a"), unique("b"), unique("c")
    first = MultiLock([a, b])
    assert first.acquire(timeout=5)
    assert first.locked()
    second = MultiLock([b, c])
    assert second.acquire(timeout=0.1) is False
    assert not second.locked()
    assert MultiLock([c]).acquire(blocking=False) is True  # c was left free
    first.release()
    assert not first.locked()
    assert MultiLock([a, b]).acquire(timeout=1) is True


def test_multilock_num_locks(client):
    a, b = unique("a"), unique("b")
    held = MultiLock([a])
    held.acquire(timeout=5)
    either = MultiLock([a, b])
    assert either.acquire(timeout=1, num_locks=1) is True  # b
    assert MultiLock([b]).acquire(timeout=0.1) is False
    either.release()
    held.release()


def test_multilock_bad_input(client):
    with pytest.raises(ValueError, match="not yet acquired"):
        MultiLock([unique("a")]).release()
    with pytest.raises(TypeError):
        MultiLock("ab")
    with pytest.raises(ValueError, match="between 1 and 1"):
        MultiLock([unique("a")]).acquire(timeout=1, num_locks=2)
    with pytest.raises(ValueError, match="no names"):
        MultiLock([]).acquire(timeout=1)
    with pytest.raises(ValueError, match="non-blocking"):
        MultiLock([unique("a")]).acquire(blocking=False, timeout=1)


def _multilock_task(names, seconds):
    with MultiLock(names):
        start = time.time()
        time.sleep(seconds)
        return start, time.time()


def test_multilock_from_tasks_excludes_overlaps(client):
    a, b, c = unique("a"), unique("b"), unique("c")
    sets = [[a, b], [b, c], [a, c], [a, b]]
    spans = client.gather(client.map(_multilock_task, sets, [0.2] * 4, pure=False))
    for i in range(len(spans)):
        for j in range(i + 1, len(spans)):
            (s1, e1), (s2, e2) = spans[i], spans[j]
            assert e1 <= s2 or e2 <= s1, (sets[i], sets[j])  # every pair shares a lock


# -- Event --------------------------------------------------------------------------------------
def test_event_set_clear_wait(client):
    ev = Event(unique("ev"))
    assert not ev.is_set()
    start = time.monotonic()
    assert ev.wait(timeout=0.2) is False
    assert 0.18 <= time.monotonic() - start < 2.0  # generous: a shared, busy machine
    ev.set()
    assert ev.is_set()
    assert ev.wait(timeout=1) is True
    assert Event(ev.name).is_set()
    ev.clear()
    assert not ev.is_set()


def _wait_event(name, timeout):
    return Event(name).wait(timeout)


def test_event_between_client_and_tasks(client):
    name = unique("ev")
    waiters = client.map(_wait_event, [name] * 3, [20] * 3, pure=False)
    time.sleep(0.3)
    assert not any(f.done() for f in waiters)
    Event(name).set()
    assert client.gather(waiters) == [True, True, True]
    assert client.submit(_wait_event, unique("ev"), 0.1, pure=False).result(timeout=30) is False


def test_event_set_by_task(client):
    name = unique("ev")
    client.submit(lambda n: Event(n).set(), name, pure=False).result(timeout=30)
    assert Event(name).wait(timeout=1) is True


def test_event_names_and_pickle(client):
    ev = Event(["a", unique("b")])  # a list name becomes a tuple, as Dask
    assert isinstance(ev.name, tuple)
    ev.set()
    assert pickle.loads(pickle.dumps(ev)).is_set()
    assert Event().name.startswith("event-")
    with pytest.raises(TypeError):
        Event({})


def test_primitives_need_a_client():
    # In a process with no client, and outside a task: a clear error, not a hang.
    import subprocess
    import sys

    code = (
        "from oxdask.distributed import Lock\n"
        "try:\n    Lock('x').acquire(timeout=1)\n"
        "except RuntimeError as e:\n    print('RuntimeError', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "RuntimeError" in out.stdout, out.stderr
    assert "Client" in out.stdout


def test_primitives_with_an_asynchronous_client(cluster, client):
    import asyncio

    name = unique("lock")

    async def main():
        ac = await Client(cluster, asynchronous=True, set_as_default=False)
        try:
            lock = Lock(name, client=ac)
            async with lock:
                assert await lock.locked()
                assert Lock(name).acquire(timeout=0.05) is False  # a synchronous one
            assert not await lock.locked()
            assert await Lock(name, client=ac).acquire(timeout=1) is True
            ev = Event(unique("ev"), client=ac)
            assert await ev.wait(timeout=0.1) is False
            await ev.set()
            assert await ev.is_set()
            sem = Semaphore(2, name=unique("sem"), client=ac)
            assert await sem.acquire(timeout=1)
            assert await sem.get_value() == 1
            await sem.release()
        finally:
            await ac.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def _hold_lock_then_die(lock_name, got, died):
    import os

    if Event(died).is_set():  # run again elsewhere after the death: done
        return "rerun"
    assert Lock(lock_name).acquire(timeout=10)
    Event(got).set()
    Event(died).set()
    time.sleep(0.5)
    os._exit(1)  # the worker process dies holding the lock


def test_lock_freed_when_holder_worker_process_dies(client):
    # Last in this file: it kills a worker of the shared cluster.
    name, got, died = unique("lock"), unique("got"), unique("died")
    fut = client.submit(_hold_lock_then_die, name, got, died, pure=False)
    assert Event(got).wait(timeout=30)
    assert Lock(name).locked()
    start = time.monotonic()
    waiter = Lock(name)
    assert waiter.acquire(timeout=20) is True
    assert time.monotonic() - start < 10
    waiter.release()
    assert fut.result(timeout=60) == "rerun"
