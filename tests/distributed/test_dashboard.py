"""The dashboard's pages in headless Chromium against a real LocalCluster, after a real
computation: the DOM the pages' scripts built agrees with the scheduler's JSON and with what ran."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from oxdask.distributed import Client, LocalCluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dashboard_fake import (
    DASHBOARD_DIR,
    chromium,
    console_errors,
    dump_doms,
    parse_dom,
    screenshot,
)


def inc(x):
    return x + 1


def slow_inc(x):
    time.sleep(0.02)
    return x + 1


def boom(x):
    raise ZeroDivisionError(f"no {x}")


@pytest.fixture(scope="module")
def ran():
    """A cluster that ran 40 tasks, one failing task and one waiting for a GPU no worker has."""
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (.ci/run installs it)")
        pytest.skip("needs chromium (.ci/run installs it; under CI a missing one fails)")
    with (
        LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        futures = client.map(slow_inc, range(40), key=[f"slow_inc-{i}" for i in range(40)])
        total = client.submit(sum, futures, key="total-0")
        assert total.result(timeout=60) == sum(range(1, 41))
        bad = client.submit(boom, 7, key="boom-7")
        with pytest.raises(ZeroDivisionError):
            bad.result(timeout=30)
        gpu = client.submit(inc, 1, resources={"GPU": 1}, key="needs-gpu")
        held = [futures, total, bad, gpu]
        stale = [f.name for f in sorted(DASHBOARD_DIR.iterdir()) if served(client, f) is False]
        if stale:
            why = f"the built extension embeds older dashboard files {stale}: rebuild it"
            if os.environ.get("CI"):
                pytest.fail(why)
            pytest.skip(why)
        yield client, held


def served(client, f):
    """Whether the scheduler serves dashboard file ``f`` as it is in the repository."""
    if f.suffix not in (".js", ".css", ".html"):
        return None
    url = base(client) + ("/status" if f.name == "page.html" else f"/static/{f.name}")
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.read().decode() == f.read_text()
    except urllib.error.HTTPError as e:
        e.close()  # it holds the connection
        return False


def base(client):
    return client.dashboard_link.removesuffix("/status")


def get_json(client, path):
    with urllib.request.urlopen(base(client) + path, timeout=30) as r:
        return json.loads(r.read().decode())


def test_the_pages_show_the_cluster_and_what_ran(ran):
    client, _ = ran
    b = base(client)
    gpu_key = urllib.parse.quote("'needs-gpu'", safe="")
    first = sorted(client.scheduler_info()["workers"])[0]
    worker_page = f"/info/worker/{urllib.parse.quote(first, safe='')}.html"
    paths = ["/status", "/workers", "/tasks", f"/info/task/{gpu_key}.html", "/exceptions", "/graph"]
    paths.append(worker_page)
    loaded = [(parse_dom(d), c) for d, c in dump_doms([b + p for p in paths], budget_ms=2500)]
    (status, c1), (workers, c2), (tasks, c3), (task, c4), (excs, c5), (graph, c6) = loaded[:6]
    worker, c7 = loaded[6]
    assert console_errors(c1 + c2 + c3 + c4 + c5 + c6 + c7) == []
    state = get_json(client, "/json/state")
    stream = get_json(client, "/json/task-stream?since=0")["tasks"]
    addresses = sorted(w["address"] for w in state["workers"])
    assert len(addresses) == 2

    # status: both workers, and the task stream's window holds exactly the tasks it overlaps
    svg = status.by_id("task-stream").find("svg", cls="task-stream")
    t0, t1 = float(svg.attrs["data-t0"]), float(svg.attrs["data-t1"])
    window = [t for t in stream if t["stop"] > t0 and t["start"] < t1]
    rects = svg.find_all("rect", cls="ts-task")
    assert sum(int(r.attrs["data-n"]) for r in rects) == len(window)
    assert len(svg.find_all("rect", cls="erred")) == sum(t["status"] == "erred" for t in window)
    for g in svg.find_all("g", cls="ts-worker"):
        assert int(g.attrs["data-lanes"]) <= 2  # two threads per worker
    mem = status.by_id("workers-memory").find_all("g", cls="mem-bar")
    assert sorted(g.attrs["data-worker"] for g in mem) == addresses
    procs = status.by_id("nprocessing").find_all("g", cls="nprocessing-bar")
    assert sorted(g.attrs["data-worker"] for g in procs) == addresses
    # progress: every prefix that ran, with its finished count
    bars = {
        g.attrs["data-prefix"]: g
        for g in status.by_id("progress").find_all("g", cls="progress-bar")
    }
    assert {"slow_inc", "total", "boom", "needs-gpu"} <= set(bars)
    assert int(bars["slow_inc"].attrs["data-total"]) == 40
    memory = bars["slow_inc"].find("rect", cls="progress-seg", data_state="memory")
    assert int(memory.attrs["data-count"]) == 40
    erred = bars["boom"].find("rect", cls="progress-seg", data_state="erred")
    assert int(erred.attrs["data-count"]) == 1

    # /tasks: the whole run
    rects = tasks.by_id("task-stream").find_all("rect", cls="ts-task")
    assert sum(int(r.attrs["data-n"]) for r in rects) == len(stream) >= 42

    # /workers: one row per worker with its threads
    rows = workers.find_all("tr", cls="worker-row")
    assert [r.attrs["data-worker"] for r in rows] == addresses
    for r in rows:
        assert r.find("td", data_col="nthreads").attrs["data-value"] == "2"

    # the task page explains the task queued behind a resource restriction
    why = task.find("pre", cls="why").text
    assert why == get_json(client, f"/json/task/{gpu_key}")["why"]
    assert "GPU" in why

    # the exception, and the graph of the tasks the scheduler holds
    exc = excs.find("div", cls="exception", data_key="'boom-7'")
    assert "ZeroDivisionError" in exc.find("pre").text
    g = get_json(client, "/json/graph?limit=1000")
    assert len(graph.find_all("circle", cls="graph-node")) == len(g["nodes"]) >= 42

    # a worker's page: the keys it holds
    held = get_json(client, "/json/worker/" + urllib.parse.quote(first, safe=""))["keys"]
    shown = [r.find("a").text for r in worker.by_id("worker-keys").find_all("tr", cls="key-row")]
    assert sorted(shown) == sorted(k["key"] for k in held)
    assert len(shown) > 0

    # nothing left 127.0.0.1
    for root in (status, workers, tasks, task, excs, graph, worker):
        for node in root.iter():
            for attr in ("src", "href"):
                url = node.attrs.get(attr) or ""
                assert not url.startswith(("http:", "https:", "//")), url


def test_the_status_page_shows_tasks_while_they_run(ran):
    client, _ = ran
    running = client.map(time.sleep, [3.0] * 6, key=[f"sleep-{i}" for i in range(6)])
    try:
        deadline = time.monotonic() + 30
        while sum(w["processing"] for w in get_json(client, "/json/state")["workers"]) < 4:
            assert time.monotonic() < deadline, "the sleeps never started"
            time.sleep(0.05)
        [(status, console)] = [
            (parse_dom(d), c) for d, c in dump_doms([base(client) + "/status"], 1500)
        ]
    finally:
        client.cancel(running)
    assert console_errors(console) == []
    procs = status.by_id("nprocessing").find_all("g", cls="nprocessing-bar")
    assert sum(int(g.attrs["data-value"]) for g in procs) >= 4
    bar = status.by_id("progress").find("g", cls="progress-bar", data_prefix="sleep")
    assert int(bar.attrs["data-total"]) == 6
    processing = bar.find("rect", cls="progress-seg", data_state="processing")
    assert int(processing.attrs["data-count"]) >= 4


def test_a_screenshot_of_each_page(ran, tmp_path_factory):
    """Kept under the run's temporary directory (CI keeps it as an artifact): the main pages
    (each browser costs seconds; the others are drawn by the same code, see the page tests)."""
    client, _ = ran
    out = tmp_path_factory.getbasetemp() / "dashboard-screenshots"
    out.mkdir(exist_ok=True)
    gpu_key = urllib.parse.quote("'needs-gpu'", safe="")
    pages = {
        "status": "/status",
        "workers": "/workers",
        "tasks": "/tasks",
        "task": f"/info/task/{gpu_key}.html",
        "graph": "/graph",
        "exceptions": "/exceptions",
    }
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(3) as pool:
        shots = list(
            pool.map(
                lambda kv: screenshot(base(client) + kv[1], out / f"{kv[0]}.png", budget_ms=1000),
                pages.items(),
            )
        )
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
        assert shot.stat().st_size > 10_000, shot  # drawn, not blank
