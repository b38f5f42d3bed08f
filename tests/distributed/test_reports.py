"""The task stream as data and performance_report's HTML file, on a real LocalCluster."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from oxdask.distributed import Client, LocalCluster, get_task_stream, performance_report


def inc(x):
    return x + 1


def busy(x):
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        x += 1
    return x


def fail(x):
    raise ValueError(x)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def test_get_task_stream_returns_daskshaped_records_of_what_ran(client):
    start = time.time()
    with get_task_stream(client) as ts:
        futures = client.map(inc, range(10), key=[f"inc-{i}" for i in range(10)])
        assert client.gather(futures) == list(range(1, 11))
    keys = sorted(r["key"] for r in ts.data)
    assert keys == sorted(f"inc-{i}" for i in range(10))
    workers = set(client.scheduler_info()["workers"])
    for r in ts.data:
        (ss,) = r["startstops"]
        assert ss["action"] == "compute"
        assert start - 1 <= ss["start"] <= ss["stop"] <= time.time() + 1
        assert r["worker"] in workers
        assert r["status"] == "OK"
    last = client.get_task_stream(count=3)
    assert [r["key"] for r in last] == [r["key"] for r in client.get_task_stream()][-3:]
    assert client.get_task_stream(start="1h", count=0) == []
    recent = client.get_task_stream(start=time.time() - 0.0)
    assert all(r["startstops"][0]["stop"] >= time.time() - 5 for r in recent)
    with pytest.raises(ValueError, match="count"):
        client.get_task_stream(count=-1)


def timed_sleep(seconds):
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def test_task_stream_times_are_the_workers_own(client):
    # Start and stop come from the worker's clock (same machine here): they match what the
    # task itself saw, not when its report reached the scheduler.
    futures = client.map(timed_sleep, [0.2, 0.3], pure=False)
    seen = dict(zip((f.key for f in futures), client.gather(futures), strict=True))
    records = {r["key"]: r["startstops"][0] for r in client.get_task_stream()}
    for key, (start, stop) in seen.items():
        ss = records[key]
        assert abs(ss["stop"] - stop) < 0.05, (ss, stop)
        assert abs(ss["start"] - start) < 0.05, (ss, start)


def test_get_task_stream_can_draw_to_a_file(client, tmp_path):
    client.gather(client.map(inc, range(5), pure=False))
    path = tmp_path / "stream.html"
    records, name = client.get_task_stream(count=5, plot="save", filename=str(path))
    assert name == str(path)
    assert path.read_text().count("class='task'") == len(records) == 5


def test_performance_report_writes_one_self_contained_file(client, tmp_path):
    path = tmp_path / "report.html"
    with performance_report(filename=str(path)):
        futures = client.map(busy, range(4), pure=False)
        total = client.submit(sum, futures, pure=False)
        assert total.result(timeout=60) == sum(client.gather(futures))
        bad = client.submit(fail, 1, pure=False)
        with pytest.raises(ValueError, match="1"):
            bad.result(timeout=30)
    text = path.read_text()
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    assert text.count("class='task'") == 6  # 4 busy + sum + fail
    rows = dict(re.findall(r"<tr class='prefix'><td>(\w+)</td><td>(\d+)</td>", text))
    assert rows == {"busy": "4", "sum": "1", "fail": "0"}
    assert re.search(r"<td class='tasks'>6</td>", text)
    assert re.search(r"<td class='workers'>2</td>", text)
    # The busy loop was sampled on the workers.
    assert "busy" in text.split("Worker Profile")[1]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing")
        return
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert dom.count('class="task"') == 6


def test_performance_report_checks_its_arguments():
    with pytest.raises(ValueError, match="mode"):
        performance_report(mode="nope")
