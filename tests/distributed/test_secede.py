"""``secede``/``rejoin`` and ``worker_client`` on a real LocalCluster whose one worker has one
thread: a task that waits on tasks it submitted must not hold the thread they need."""

from __future__ import annotations

import itertools
import time

import pytest
from _clusters import local_client

from oxdask.distributed import (
    Event,
    rejoin,
    secede,
    worker_client,
)


@pytest.fixture(scope="module")
def client():
    with local_client(n_workers=1, threads_per_worker=1) as c:
        yield c


def square(x):
    return x * x


def fan_out(n):
    with worker_client() as c:
        return sum(c.gather(c.map(square, range(n))))


def nested(depth):
    if depth == 0:
        return 1
    with worker_client() as c:
        return 1 + c.submit(nested, depth - 1).result()


def waits_for_a_later_task(name):
    secede()
    seen = Event(name).wait(timeout=30)
    rejoin()
    return seen


def set_event(name):
    Event(name).set()
    return True


def stamped(_):
    start = time.time()
    time.sleep(0.1)
    return start, time.time()


def test_tasks_waiting_on_their_own_tasks_finish_on_one_thread(client):
    parents = client.map(fan_out, [5, 10, 20], pure=False)
    expect = [sum(i * i for i in range(n)) for n in (5, 10, 20)]
    assert client.gather(parents) == expect


def test_worker_client_nests(client):
    assert client.submit(nested, 4, pure=False).result(timeout=60) == 5


def test_a_seceded_task_lets_a_later_task_run(client):
    waiting = client.submit(waits_for_a_later_task, "secede-later", pure=False)
    time.sleep(0.3)  # the waiting task holds the only thread, then leaves it
    setter = client.submit(set_event, "secede-later", pure=False)
    assert setter.result(timeout=30) is True
    assert waiting.result(timeout=30) is True


def test_the_worker_is_back_to_one_task_at_a_time_afterwards(client):
    # The threads that replaced seceded tasks do not outnumber the worker's threads: tasks
    # submitted afterwards never overlap on this one-thread worker.
    client.gather(client.map(fan_out, [3, 3, 3], pure=False))
    spans = sorted(client.gather(client.map(stamped, range(6), pure=False)))
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.005, spans


def test_outside_a_task_they_refuse():
    with pytest.raises(ValueError, match="task running on a worker"):
        secede()
    with pytest.raises(ValueError, match="task running on a worker"):
        rejoin()
