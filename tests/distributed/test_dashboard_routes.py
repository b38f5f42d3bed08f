"""The dashboard's routes on a real LocalCluster: the JSON the pages draw agrees with what
ran (task stream, progress per prefix, groups, graph, exceptions, workers), Prometheus
metrics, the route lists Dask's JupyterLab extension reads, and the pages themselves."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request

import pytest

import oxdask
from oxdask.distributed import Client, LocalCluster


def inc(x):
    return x + 1


def add(a, b):
    return a + b


def fail(x):
    raise ValueError(f"no {x}")


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def base(client) -> str:
    return client.dashboard_link.removesuffix("/status")


def get(client, path: str, token: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(base(client) + path)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        with e:  # it holds the connection
            return e.code, "", e.read().decode()


def get_json(client, path: str) -> dict:
    status, kind, body = get(client, path)
    assert status == 200, body
    assert kind.startswith("application/json")
    return json.loads(body)


def test_the_task_stream_has_every_task_that_ran_with_its_prefix_and_worker(client):
    since = get_json(client, "/json/task-stream?since=0")["next"]
    futures = client.map(inc, range(20), pure=False)
    total = client.submit(sum, futures)
    assert total.result(timeout=30) == sum(range(1, 21))
    stream = get_json(client, f"/json/task-stream?since={since}")
    assert stream["next"] == since + len(stream["tasks"])
    # The sum's inputs held by the other worker moved first (transfer-inc entries).
    tasks = [t for t in stream["tasks"] if not t["prefix"].startswith("transfer-")]
    assert len(tasks) == 21
    prefixes = sorted(t["prefix"] for t in tasks)
    assert prefixes == ["inc"] * 20 + ["sum"]
    workers = set(client.scheduler_info()["workers"])
    assert {t["worker"] for t in tasks} <= workers
    assert all(0 <= t["start"] <= t["stop"] <= stream["now"] for t in tasks)
    assert all(t["status"] == "ok" for t in tasks)


def test_progress_and_groups_count_tasks_per_prefix(client):
    xs = [oxdask.delayed(inc)(i, dask_key_name=f"one-{i}") for i in range(6)]
    ys = [oxdask.delayed(add)(x, 1, dask_key_name=f"two-{i}") for i, x in enumerate(xs)]
    futures = client.compute(ys)
    assert client.gather(futures) == [i + 2 for i in range(6)]
    progress = {p["name"]: p for p in get_json(client, "/json/progress")["prefixes"]}
    # Computed, then released once the final results no longer needed them: done.
    assert progress["two"]["done"] == progress["two"]["total"] == 6
    assert progress["finalize"]["memory"] == 6
    groups = {g["name"]: g for g in get_json(client, "/json/groups")["groups"]}
    assert "one" in groups["two"]["dependencies"]
    graph = get_json(client, "/json/graph?limit=100000")
    assert not graph["too_large"]
    keys = [n["key"] for n in graph["nodes"]]
    edge = [keys.index("'one-0'"), keys.index("'two-0'")]
    assert edge in graph["edges"]
    small = get_json(client, "/json/graph?limit=1")
    assert small["too_large"]
    assert small["count"] >= 12
    assert small["nodes"] == []


def test_exceptions_and_a_tasks_page_say_what_went_wrong(client):
    bad = client.submit(fail, 7, key="fail-7")
    with pytest.raises(ValueError, match="no 7"):
        bad.result(timeout=30)
    raised = get_json(client, "/json/exceptions")["exceptions"]
    assert any(e["key"] == "'fail-7'" and "ValueError: no 7" in e["text"] for e in raised)
    task = get_json(client, "/json/task/" + urllib.parse.quote("'fail-7'"))
    assert task["state"] == "erred"
    assert "fail-7" in task["why"]
    unknown = get_json(client, "/json/task/" + urllib.parse.quote("'nope'"))
    assert unknown["state"] is None


def test_workers_state_and_a_workers_own_page(client):
    held = client.submit(inc, 41, key="held-41")
    assert held.result(timeout=30) == 42
    state = get_json(client, "/json/state")
    pids = client.run(os.getpid)
    by_address = {w["address"]: w for w in state["workers"]}
    assert set(by_address) == set(pids)
    for address, w in by_address.items():
        assert w["pid"] == pids[address]
        assert w["nthreads"] == 1
        assert w["last_seen_s"] >= 0
    (holder,) = client.who_has([held])[held.key]
    detail = get_json(client, "/json/worker/" + urllib.parse.quote(holder, safe=""))
    assert {"key": "'held-41'", "nbytes": 28} in detail["keys"]


def test_metrics_are_prometheus_text_with_dasks_names(client):
    client.submit(inc, 1, pure=False).result(timeout=30)
    status, kind, text = get(client, "/metrics")
    assert status == 200
    assert kind.startswith("text/plain")
    lines = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert float(lines["dask_scheduler_workers"]) == 2
    assert float(lines["dask_scheduler_tasks_completed_total"]) >= 1
    assert 'dask_scheduler_tasks{state="memory"}' in lines
    assert "# TYPE dask_scheduler_workers gauge" in text
    # The scheduler's event loop: inputs handled and how long they took.
    assert float(lines["dask_scheduler_tick_count_total"]) > 0
    longest = float(lines["dask_scheduler_tick_duration_maximum_seconds"])
    assert 0 < longest <= float(lines["dask_scheduler_tick_duration_seconds_total"])


def test_pages_static_files_and_route_lists_are_served(client):
    plots = get_json(client, "/individual-plots.json")
    assert plots["Task Stream"] == "/individual-task-stream"
    paths = get_json(client, "/sitemap.json")["paths"]
    for path in ["/status", "/workers", "/tasks", "/graph", "/profile", *plots.values()]:
        assert path in paths
        status, kind, body = get(client, path)
        assert status == 200
        assert kind.startswith("text/html")
        assert "/static/" in body
    status, kind, _ = get(client, "/static/dashboard.js")
    assert status == 200
    assert "javascript" in kind
    assert get(client, "/static/nope.js")[0] == 404
    assert get(client, "/info/task/" + urllib.parse.quote("'held-41'") + ".html")[0] == 200


def test_the_profile_route_samples_task_code_on_the_workers(client):
    first = get_json(client, "/json/ext/profile")  # starts the samplers
    assert first["name"] == "root"

    def spin(n):
        import time

        end = time.perf_counter() + 0.6
        while time.perf_counter() < end:
            n += 1
        return n

    client.submit(spin, 0, pure=False).result(timeout=30)
    tree = get_json(client, "/json/ext/profile")
    assert tree["value"] > 0, tree
    assert get(client, "/json/ext/nope")[0] == 404


def test_a_token_protects_the_json_but_not_the_pages():
    cluster = LocalCluster(n_workers=0, token="s3cret", dashboard_address=":0")
    with cluster, Client(cluster) as c:
        assert get(c, "/json/progress")[0] == 401
        assert get(c, "/metrics")[0] == 401
        assert get(c, "/json/progress", token="s3cret")[0] == 200
        assert get(c, "/status")[0] == 200


def test_a_busy_default_port_moves_the_dashboard():
    a = LocalCluster(n_workers=0, dashboard_address=":8787")
    with a, LocalCluster(n_workers=0, dashboard_address=":8787") as b:
        assert a.dashboard_link != b.dashboard_link
        assert b.dashboard_link.endswith("/status")
    with LocalCluster(n_workers=0, dashboard_address=None) as off, Client(off) as c:
        assert off.dashboard_link is None
        assert c.dashboard_link is None


def test_a_client_by_address_learns_the_dashboard_link(client):
    with Client(client.scheduler_address, set_as_default=False) as c:
        assert c.dashboard_link == client.dashboard_link


def spin_for(seconds):
    import time

    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def test_workers_report_their_cpu_and_io(client):
    import time

    future = client.submit(spin_for, 3.0, pure=False)
    deadline = time.monotonic() + 20
    busiest = 0.0
    while time.monotonic() < deadline and not future.done():
        workers = get_json(client, "/json/state")["workers"]
        busiest = max(busiest, *(w["cpu"] for w in workers))
        time.sleep(0.2)
    future.result(timeout=30)
    # A spinning task keeps one core busy (on a loaded machine, a good part of one).
    assert busiest > 20, busiest
    for w in get_json(client, "/json/state")["workers"]:
        assert w["read_bytes"] >= 0
        assert w["disk_write"] >= 0


def test_transfers_between_workers_are_in_the_task_stream(client):
    a, b = sorted(client.scheduler_info()["workers"])
    since = get_json(client, "/json/task-stream?since=0")["next"]
    x = client.submit(inc, 1, key="moved-1", workers=[a])
    y = client.submit(add, x, 1, key="uses-moved", workers=[b])
    assert y.result(timeout=30) == 3
    tasks = get_json(client, f"/json/task-stream?since={since}")["tasks"]
    transfers = [t for t in tasks if t["prefix"].startswith("transfer-")]
    assert [(t["prefix"], t["worker"], t["key"]) for t in transfers] == [
        ("transfer-moved", b, "'moved-1'")
    ]
    # A transfer is not a task: the completed-tasks counter does not count it.
    assert sum(1 for t in tasks if not t["prefix"].startswith("transfer-")) == 2
