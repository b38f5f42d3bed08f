"""The dashboard's pages in real headless Chromium, against a fake scheduler (dashboard_fake.py).

Each test loads a page, lets its scripts poll the fake's JSON for a few seconds of virtual time,
and checks that the DOM they built shows what the JSON said."""

from __future__ import annotations

import os
import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard_fake import (
    DASHBOARD_DIR,
    INDIVIDUAL,
    FakeDashboard,
    chromium,
    console_errors,
    dump_dom,
    dump_doms,
    parse_dom,
)


@pytest.fixture(autouse=True)
def _need_chromium():
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (.ci/run installs it)")
        pytest.skip("needs chromium (.ci/run installs it; under CI a missing one fails)")


def load(fake, path, budget_ms=2500):
    dom, console = dump_dom(fake.url + path, budget_ms=budget_ms)
    assert "<main" in dom, dom[-2000:]
    return parse_dom(dom), console


def load_many(urls, budget_ms=2500):
    out = []
    for dom, console in dump_doms(urls, budget_ms=budget_ms):
        assert "<main" in dom, dom[-2000:]
        out.append((parse_dom(dom), console))
    return out


def titles(root):
    return [h.text for h in root.find_all("h2")]


def memory_level(w, th):
    frac = w["memory"] / w["memory_limit"] if w["memory_limit"] else 0
    if w["status"] == "paused" or frac >= th["pause"]:
        return "paused"
    if frac >= min(th["target"], th["spill"]):
        return "spill"
    return "normal"


def test_status_page_draws_what_the_json_says():
    with FakeDashboard(seed=3, n_workers=3, nthreads=2) as fake:
        root, console = load(fake, "/status")
    data = fake.data
    assert console_errors(console) == []
    assert titles(root)[:4] == [
        "Task Stream",
        "Progress",
        "Bytes stored per worker",
        "Tasks Processing",
    ]
    # task stream: the last 10 s, one rect per task (none merged at this size), lanes <= threads
    now = data.now
    window = [t for t in data.stream if t["stop"] > now - 10 and t["start"] < now]
    assert len(window) > 20
    rects = root.by_id("task-stream").find_all("rect", cls="ts-task")
    assert len(rects) == len(window)
    assert sum(int(r.attrs["data-n"]) for r in rects) == len(window)
    rows = root.by_id("task-stream").find_all("g", cls="ts-worker")
    assert {g.attrs["data-worker"] for g in rows} == {t["worker"] for t in window}
    assert all(1 <= int(g.attrs["data-lanes"]) <= 2 for g in rows)
    # transfers and spilling are drawn distinctly; erred tasks are black
    kinds = {t["prefix"]: t for t in window}
    if "transfer-add" in kinds:
        assert root.find_all("rect", cls="ts-transfer")
    erred = [t for t in window if t["status"] == "erred"]
    assert len(root.by_id("task-stream").find_all("rect", cls="erred")) == len(erred)
    # progress: one bar per prefix, segment widths proportional to the counts
    prog = root.by_id("progress")
    svg = prog.find("svg", cls="progress")
    bar_w = float(svg.attrs["data-bar-width"])
    bars = prog.find_all("g", cls="progress-bar")
    assert [b.attrs["data-prefix"] for b in bars] == [p["name"] for p in data.prefixes]
    for bar, p in zip(bars, data.prefixes, strict=False):
        for seg in bar.find_all("rect", cls="progress-seg"):
            state = seg.attrs["data-state"]
            assert int(seg.attrs["data-count"]) == p[state]
            assert float(seg.attrs["width"]) == pytest.approx(
                p[state] / p["total"] * bar_w, abs=0.01
            )
        done = p["released"] + p["memory"] + p["erred"]
        assert bar.find("text", cls="progress-text").text.startswith(f"{done} / {p['total']}")
    # bytes stored per worker: managed / unmanaged / spilled, coloured by the thresholds
    th = {"target": 0.6, "spill": 0.7, "pause": 0.8}
    mem = {
        g.attrs["data-worker"]: g for g in root.by_id("workers-memory").find_all("g", cls="mem-bar")
    }
    assert set(mem) == {w["address"] for w in data.workers}
    for w in data.workers:
        g = mem[w["address"]]
        assert int(g.attrs["data-managed"]) == w["managed"]
        assert int(g.attrs["data-unmanaged"]) == w["memory"] - w["managed"]
        assert int(g.attrs["data-spilled"]) == w["spilled"]
        assert g.attrs["data-level"] == memory_level(w, th)
        assert len(g.find_all("line", cls="threshold")) == 3
    # tasks processing per worker
    procs = root.by_id("nprocessing").find_all("g", cls="nprocessing-bar")
    assert {g.attrs["data-worker"]: int(g.attrs["data-value"]) for g in procs} == {
        w["address"]: w["processing"] for w in data.workers
    }
    # every request stayed on the page's origin and found its file
    assert not [u for u in fake.requests if u.startswith("http")]
    assert not [s for s in root.find_all("script") if "//" in s.attrs.get("src", "")]


def test_one_row_per_thread_even_when_task_times_jitter():
    # the scheduler dates a task by when its result arrives: under load, a thread's tasks seem
    # to overlap by milliseconds; the stream still shows one row per thread
    with FakeDashboard(seed=8, n_workers=3, nthreads=2, jitter=0.05) as fake:
        root, _ = load(fake, "/individual-task-stream")
    stream = fake.data.stream
    window = [t for t in stream if t["stop"] > fake.data.now - 10 and t["start"] < fake.data.now]
    rows = root.find_all("g", cls="ts-worker")
    assert [int(g.attrs["data-lanes"]) for g in rows] == [2, 2, 2]
    assert len(root.find_all("rect", cls="ts-task")) == len(window)


def test_memory_levels_follow_the_thresholds():
    # the seeds give workers in each of the three levels somewhere; check one seed with all three
    for seed in range(50):
        fake = FakeDashboard(seed=seed, n_workers=6)
        th = {"target": 0.6, "spill": 0.7, "pause": 0.8}
        levels = {memory_level(w, th) for w in fake.data.workers}
        fake.server.server_close()
        if levels == {"normal", "spill", "paused"}:
            break
    with FakeDashboard(seed=seed, n_workers=6) as fake:
        root, _ = load(fake, "/individual-workers-memory")
    got = {g.attrs["data-worker"]: g.attrs["data-level"] for g in root.find_all("g", cls="mem-bar")}
    assert got == {w["address"]: memory_level(w, th) for w in fake.data.workers}
    assert "individual" in root.find("body").classes


def test_workers_table_has_one_row_per_worker_with_the_right_numbers():
    with FakeDashboard(seed=5, n_workers=7) as fake:
        root, console = load(fake, "/workers")
    assert console_errors(console) == []
    rows = root.find_all("tr", cls="worker-row")
    assert len(rows) == 7
    # sorted by address by default
    assert [r.attrs["data-worker"] for r in rows] == sorted(w["address"] for w in fake.data.workers)
    by = {w["address"]: w for w in fake.data.workers}
    for r in rows:
        w = by[r.attrs["data-worker"]]
        cells = {td.attrs["data-col"]: td for td in r.find_all("td")}
        for col in ["nthreads", "memory", "managed", "spilled", "processing", "keys_held"]:
            assert float(cells[col].attrs["data-value"]) == w[col], col
        assert float(cells["unmanaged"].attrs["data-value"]) == w["memory"] - w["managed"]
        assert float(cells["last_seen_s"].attrs["data-value"]) == w["last_seen_s"]
        assert cells["status"].text == w["status"]
        link = cells["address"].find("a").attrs["href"]
        assert urllib.parse.unquote(link) == f"/info/worker/{w['address']}.html"


def test_a_thousand_workers_show_histograms_and_a_full_table():
    with FakeDashboard(seed=1, n_workers=1000, nthreads=1, span=4) as fake:
        loaded = fake.load_pages(["/status", "/workers"], budget_ms=2500)
    (root, console), (table, _) = loaded["/status"], loaded["/workers"]
    assert console_errors(console) == []
    # the task stream of 1,000 workers is painted on a canvas, one row per worker
    svg = root.by_id("task-stream").find("svg")
    t0, t1 = float(svg.attrs["data-t0"]), float(svg.attrs["data-t1"])
    window = [t for t in fake.data.stream if t["stop"] > t0 and t["start"] < t1]
    canvas = root.by_id("task-stream").find("canvas")
    assert int(canvas.attrs["data-tasks"]) == len(window) > 2000
    assert int(canvas.attrs["data-lanes"]) == 1000
    mem = root.by_id("workers-memory")
    assert mem.find_all("g", cls="mem-bar") == []
    bins = mem.find_all("rect", cls="hist-bin")
    assert sum(int(b.attrs["data-count"]) for b in bins) == 1000
    bins = root.by_id("nprocessing").find_all("rect", cls="hist-bin")
    assert sum(int(b.attrs["data-count"]) for b in bins) == 1000
    assert len(table.find_all("tr", cls="worker-row")) == 1000


def test_tasks_page_shows_the_whole_run_and_paints_many_tasks_on_a_canvas():
    with (
        FakeDashboard(seed=2, n_workers=2, nthreads=2, span=30) as fake,
        FakeDashboard(seed=2, n_workers=4, nthreads=2, span=600) as big,
    ):
        (root, console), (many, console2) = load_many(
            [fake.url + "/tasks", big.url + "/tasks"], budget_ms=3000
        )
    assert console_errors(console + console2) == []
    rects = root.by_id("task-stream").find_all("rect", cls="ts-task")
    assert len(rects) == len(fake.data.stream)
    assert root.find("canvas") is None
    # a long run: the tasks are painted on a canvas over the SVG rows, every one of them
    n = len(big.data.stream)
    assert n > 2000
    panel = many.by_id("task-stream")
    assert panel.find_all("rect", cls="ts-task") == []
    canvas = panel.find("canvas", cls="task-stream-canvas")
    assert int(canvas.attrs["data-tasks"]) == n
    assert int(canvas.attrs["data-erred"]) == sum(t["status"] == "erred" for t in big.data.stream)
    assert int(canvas.attrs["data-lanes"]) == 4 * 2  # one row per worker thread


def test_a_painted_task_shows_its_tooltip_under_the_mouse():
    with FakeDashboard(seed=2, n_workers=4, nthreads=2, span=600) as fake:
        stream = fake.data.stream
        # the first task of the first worker is in its first row (the top of the canvas)
        first = min((t for t in stream if t["worker"].endswith(":40000")), key=lambda t: t["start"])
        t0, t1 = min(t["start"] for t in stream), fake.data.now
        fx = ((first["start"] + first["stop"]) / 2 - t0) / (t1 - t0)
        hover = {"selector": "canvas.task-stream-canvas", "fx": fx, "fy": 0.5 / 8}
        root, _ = fake.load_pages(["/tasks"], hover=hover)["/tasks"]
    tip = root.by_id("ox-tip").text
    assert tip.startswith(first["key"] + "\n" + first["prefix"] + " on tcp://127.0.0.1:40000"), tip


def test_graph_page_draws_small_graphs_and_refuses_large_ones_politely():
    with FakeDashboard(seed=4, graph_nodes=25) as fake, FakeDashboard(graph_nodes=5000) as big:
        (root, console), (large, _) = load_many([fake.url + "/graph", big.url + "/graph"])
    assert console_errors(console) == []
    nodes = root.find_all("circle", cls="graph-node")
    assert [n.attrs["data-key"] for n in nodes] == [n["key"] for n in fake.data.graph_nodes]
    assert [n.attrs["data-state"] for n in nodes] == [n["state"] for n in fake.data.graph_nodes]
    assert len(root.find_all("line", cls="graph-edge")) == len(fake.data.graph_edges)
    root = large
    assert root.find_all("circle", cls="graph-node") == []
    msg = root.find("p", cls="too-large").text
    assert msg == "5000 tasks: too many to draw; the limit is 1000."


def test_task_page_shows_why_it_waits():
    key = "('add-1f', 3)"
    with FakeDashboard(seed=0) as fake:
        root, console = load(fake, f"/info/task/{urllib.parse.quote(key, safe='')}.html")
    assert console_errors(console) == []
    assert root.find("dd", cls="task-key").text == key
    assert root.find("dd", cls="task-state").text == "no-worker"
    assert root.find("pre", cls="why").text == fake.data.why(key)["why"]
    assert any(u.startswith("/json/task/") for u in fake.requests)


def test_a_failing_route_shows_its_error_and_the_other_panels_still_draw():
    with FakeDashboard(seed=0, fail={"/json/progress"}) as fake:
        root, _ = load(fake, "/status")
    prog = root.by_id("progress")
    assert "failed" in prog.classes
    err = prog.find("div", cls="error").text
    assert "/json/progress: HTTP 500" in err
    assert "fake failure of /json/progress" in err
    assert root.by_id("task-stream").find_all("rect", cls="ts-task")
    assert "failed" not in root.by_id("workers-memory").classes
    # it keeps polling: more than one request to the failing route
    assert sum(u.startswith("/json/progress") for u in fake.requests) >= 2


def test_the_token_from_the_page_url_is_sent_to_the_json_routes():
    with FakeDashboard(seed=0, n_workers=2, token="s3cret") as fake:
        # (one browser each: the token is kept in the tab's sessionStorage)
        (root, _), (without, _) = load_many(
            [fake.url + "/workers?token=s3cret", fake.url + "/workers"]
        )
    assert len(root.find_all("tr", cls="worker-row")) == 2
    # the token is out of the links (and of the address bar), and no login form is asked for
    assert root.find("nav").find("a").attrs["href"] == "/status"
    assert root.by_id("login") is None
    root = without
    assert root.find_all("tr", cls="worker-row") == []
    assert "HTTP 401" in root.by_id("workers").find("div", cls="error").text
    form = root.by_id("login")
    assert form.find("input").attrs["type"] == "password"


def test_the_login_form_keeps_the_token_for_the_tab():
    # a wrong token is refused and asked again; the right one draws the page
    # (a browser, so a tab's storage, each)
    with FakeDashboard(seed=0, n_workers=3, token="s3cret") as fake, ThreadPoolExecutor(2) as pool:
        wrong, right = pool.map(
            lambda token: fake.load_pages(["/workers"], login=token)["/workers"][0],
            ["nope", "s3cret"],
        )
    assert wrong.find("form", id="login").find("h2").text == "The token was refused"
    assert wrong.find_all("tr", cls="worker-row") == []
    assert right.by_id("login") is None
    assert len(right.find_all("tr", cls="worker-row")) == 3


def test_system_groups_profile_exceptions_and_worker_pages():
    addr = "tcp://127.0.0.1:40001"
    paths = ["/system", "/groups", "/profile", "/exceptions"]
    paths.append(f"/info/worker/{urllib.parse.quote(addr, safe='')}.html")
    paths += ["/info/worker/tcp%3A%2F%2Fnowhere%3A1.html", "/info/main/workers.html"]
    with FakeDashboard(seed=6, n_workers=2) as fake:
        loaded = fake.load_pages(paths)
    (system, c1), (groups, _), (profile, _), (excs, _), (worker, _) = [loaded[p] for p in paths[:5]]
    (gone, _), (info, _) = [loaded[p] for p in paths[5:]]
    # a route answering {"error": ...} shows it; Dask's /info/main/workers.html is the table
    assert "no worker at tcp://nowhere:1" in gone.by_id("worker-info").find("div", cls="error").text
    assert len(info.find_all("tr", cls="worker-row")) == 2
    assert console_errors(c1) == []
    # system: four charts over the polled history, the latest values in the legends
    assert titles(system) == ["CPU", "Memory", "File descriptors", "Bandwidth"]
    charts = system.find_all("svg", cls="line-chart")
    assert len(charts) == 4
    assert int(charts[0].attrs["data-points"]) >= 2
    assert re.fullmatch(r"cpu: \d+ %", system.find("span", cls="current", data_name="cpu").text)
    # bandwidth: the rate of the running totals (k-th sample: 1000 * (2k - 1) B/s read)
    k = fake.data.system_calls
    rates = [f"read: {1000 * (2 * j - 1) / 1024:.2f} kiB/s" for j in (k - 1, k)]
    assert system.find("span", cls="current", data_name="read").text in rates
    # groups: one node per group, done fraction from the counts
    nodes = groups.find_all("g", cls="group-node")
    assert [n.attrs["data-group"] for n in nodes] == [g["name"] for g in fake.data.groups]
    for n, g in zip(nodes, fake.data.groups, strict=False):
        assert int(n.attrs["data-done"]) == g["released"] + g["memory"]
    assert len(groups.find_all("line", cls="group-edge")) == sum(
        len(g["dependencies"]) for g in fake.data.groups
    )
    # profile: every frame of the tree, the prefixes in the filter
    frames = {
        n.attrs["data-name"]: int(n.attrs["data-value"])
        for n in profile.find_all("g", cls="profile-node")
    }
    assert frames == {
        "root": 100,
        "mod.py:10:outer": 70,
        "mod.py:20:inner": 50,
        "numpy/core.py:5:dot": 20,
        "other.py:3:helper": 30,
    }
    options = [o.attrs["value"] for o in profile.find("select").find_all("option")]
    assert options == [""] + [p["name"] for p in fake.data.prefixes]
    # exceptions: latest first, with their text and a link to the task
    shown = excs.find_all("div", cls="exception")
    assert [d.attrs["data-key"] for d in shown] == [
        e["key"] for e in reversed(fake.data.exceptions)
    ]
    assert "ZeroDivisionError: division by zero (fake 2)" in shown[0].find("pre").text
    # one worker: its keys, the task it runs with its call stack, its logs
    keys = worker.by_id("worker-keys").find_all("tr", cls="key-row")
    assert [r.find("a").text for r in keys] == [f"('sum-chunk', {i})" for i in range(5)]
    assert worker.by_id("worker-processing").find("a").text == "('add-0001', 1)"
    assert "mod.py" in worker.by_id("worker-stacks").find("pre").text
    lines = [d.text for d in worker.by_id("worker-logs").find_all("div", cls="log-line")]
    assert lines == ["INFO worker started", "WARNING memory is high"]


def test_individual_pages_draw_one_plot_without_navigation():
    paths = sorted(INDIVIDUAL.values())
    with FakeDashboard(seed=7) as fake:
        loaded = fake.load_pages(paths, budget_ms=2000)
    for path, (root, console) in loaded.items():
        assert console_errors(console) == [], path
        assert "individual" in root.find("body").classes, path
        panels = root.find_all("section", cls="panel")
        assert panels, path
        assert not [p for p in panels if "failed" in p.classes], path
        assert "Not found" not in titles(root), path
        assert root.find_all("svg") or root.find_all("div", cls="exception"), path


def test_assets_make_no_request_off_the_origin():
    for f in DASHBOARD_DIR.iterdir():
        if f.suffix in (".js", ".css", ".html"):
            text = f.read_text()
            # the SVG namespace is a name, not a request
            urls = re.findall(
                r"https?://[^\s\"')]+", text.replace("http://www.w3.org/2000/svg", "")
            )
            assert urls == [], (f.name, urls)
            assert sum(1 for _ in text.splitlines()) < 600, f.name


def test_the_profile_filtered_by_a_prefix():
    with FakeDashboard(seed=6) as fake:
        choose = {"selector": "#profile-prefix", "value": "getitem"}
        root, console = fake.load_pages(["/profile"], budget_ms=5000, choose=choose)["/profile"]
    assert console_errors(console) == []
    frames = [n.attrs["data-name"] for n in root.find_all("g", cls="profile-node")]
    assert frames == ["root", "getitem.py:1:getitem_body"]
    asked = [u for u in fake.requests if u.startswith("/json/ext/profile")]
    assert "/json/ext/profile?prefix=getitem" in asked
    # one polling chain (every 2 s), not a second one per choice: at most 4 asks in 5 s
    assert len(asked) <= 4, asked


def test_the_workers_table_sorts_by_the_column_clicked():
    col = 'th[data-col="processing"]'
    with FakeDashboard(seed=9, n_workers=12) as fake, ThreadPoolExecutor(2) as pool:
        once, twice = pool.map(
            lambda clicks: fake.load_pages(["/workers"], clicks=clicks)["/workers"][0],
            [[col], [col, col]],
        )
    by = {w["address"]: w for w in fake.data.workers}
    for root, desc in [(once, False), (twice, True)]:
        rows = [r.attrs["data-worker"] for r in root.find_all("tr", cls="worker-row")]
        want = sorted(by, key=lambda a: by[a]["processing"], reverse=desc)
        assert [by[a]["processing"] for a in rows] == [by[a]["processing"] for a in want]
        th = root.find("th", data_col="processing")
        assert ("sorted-desc" if desc else "sorted-asc") in th.classes


def test_the_tasks_page_zooms_with_the_wheel():
    with FakeDashboard(seed=2, n_workers=2, nthreads=2, span=30) as fake:
        stream = fake.data.stream
        t0, t1 = min(t["start"] for t in stream), fake.data.now
        # one notch in, at the middle of the plot: the span shrinks to 0.8 around the pointer
        hover = {"selector": "#task-stream svg", "fx": 0.6, "fy": 0.5, "deltaY": -100}
        root, _ = fake.load_pages(["/tasks"], hover=hover)["/tasks"]
    svg = root.by_id("task-stream").find("svg")
    z0, z1 = float(svg.attrs["data-t0"]), float(svg.attrs["data-t1"])
    assert z1 - z0 == pytest.approx(0.8 * (t1 - t0), rel=1e-6)
    assert t0 < z0 < z1 < t1
    assert "(zoomed)" in root.by_id("task-stream").find("span", cls="note").text
    window = [t for t in stream if t["stop"] > z0 and t["start"] < z1]
    assert len(svg.find_all("rect", cls="ts-task")) == len(window) < len(stream)
