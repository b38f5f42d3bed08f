"""The Client's questions about its cluster, on a real LocalCluster of processes: where data
is, what runs (stacks, profiles), logs, forwarded logs/prints/warnings, versions, hardware
figures and cluster dumps."""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import time
import warnings

import pytest

from oxdask.distributed import Client, LocalCluster
from oxdask.distributed import print as remote_print
from oxdask.distributed import warn as remote_warn
from oxdask.distributed.serialize import sizeof
from oxdask.utils import key_split


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as c,
    ):
        yield c


def workers_of(client) -> list[str]:
    return sorted(client.scheduler_info()["workers"])


def eventually(check, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def wait_for_file(path: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.01)
    return path


def spin_until(path: str) -> int:
    """Busy (so the profiler sees it) until ``path`` exists."""
    n = 0
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
        n += sum(range(100))
    return n


def test_who_has_has_what_nbytes(client):
    a, b = workers_of(client)
    data = {"x-1": bytes(1000), "y-1": list(range(100))}
    on_a = client.scatter({"x-1": data["x-1"]}, workers=[a])
    on_b = client.scatter({"y-1": data["y-1"]}, workers=[b])
    computed = client.submit(len, on_b["y-1"], workers=[a], pure=False)
    assert computed.result() == 100
    futures = [on_a["x-1"], on_b["y-1"], computed]

    who = client.who_has(futures)
    assert set(who) == {"x-1", "y-1", computed.key}
    assert who["x-1"] == [a]
    assert who[computed.key] == [a]
    assert set(who["y-1"]) in ({b}, {a, b})  # a copy may stay where len ran
    assert client.who_has(on_a["x-1"]) == {"x-1": [a]}
    assert client.who_has([on_a["x-1"], "y-1"]) == {"x-1": [a], "y-1": who["y-1"]}
    assert client.who_has("x-1") == {"x-1": [a]}
    assert client.who_has({"k": on_a["x-1"]}) == {"x-1": [a]}
    assert {k: v for k, v in client.who_has().items() if k in who} == who

    has = client.has_what()
    assert set(has) == {a, b}
    assert {"x-1", computed.key} <= set(has[a])
    assert "y-1" in has[b]
    assert ("y-1" in has[a]) == (a in who["y-1"])
    assert client.has_what(workers=[b]) == {b: has[b]}
    with pytest.raises(ValueError, match="not workers"):
        client.has_what(workers=["tcp://127.0.0.1:1"])

    sizes = client.nbytes(futures, summary=False)
    assert sizes == {"x-1": sizeof(data["x-1"]), "y-1": sizeof(data["y-1"]), computed.key: 28}
    summary = client.nbytes(futures)
    assert summary == {"x": sizes["x-1"], "y": sizes["y-1"], key_split(computed.key): 28}


def stacks_shared():
    from oxdask.distributed import _worker_probe

    samples = list(_worker_probe._samples)
    return len({id(s[3]) for s in samples}), len({s[3] for s in samples})


def test_processing_call_stack_and_profile(client, tmp_path):
    flag = str(tmp_path / "go")
    client.profile()  # starts the samplers
    started = time.time()
    futures = [client.submit(spin_until, flag, pure=False) for _ in range(2)]
    try:
        keys = {f.key for f in futures}
        running = eventually(
            lambda: {k for ks in client.processing().values() for k in ks} >= keys or None
        )
        assert running, client.processing()
        assert set(client.processing()) == set(workers_of(client))

        def in_spin():
            stacks = client.call_stack(futures)
            lines = [ls for per in stacks.values() for ls in per.values()]
            return stacks if len(lines) == 2 and all("spin_until" in ls[0] for ls in lines) else {}

        stacks = eventually(in_spin)
        found = {k for per_worker in stacks.values() for k in per_worker}
        assert found == keys
        for per_worker in stacks.values():
            for lines in per_worker.values():
                assert "spin_until" in lines[0]
        first = futures[0].key
        (where,) = [w for w, s in stacks.items() if first in s]
        one = client.call_stack(keys=[first])
        assert list(one) == [where]
        assert list(one[where]) == [first]
        assert "spin_until" in one[where][first][0]  # the line within it may have moved
        time.sleep(0.3)
        tree = client.profile(key="spin_until", start=started)
        assert tree["count"] > 0
        assert any(c.startswith("spin_until;") for c in tree["children"])
        assert client.profile(key="no-such-task")["count"] == 0
        assert client.profile(start=time.time() + 3600)["count"] == 0
        shared = client.run(stacks_shared)  # a repeated stack is stored once
        assert all(objects == distinct for objects, distinct in shared.values()), shared
        assert any(distinct for _, distinct in shared.values())
        per_worker = client.profile(merge_workers=False)
        assert set(per_worker) == set(workers_of(client))
    finally:
        open(flag, "w").close()
    assert sum(client.gather(futures)) > 0
    assert eventually(lambda: not any(client.processing().values()))
    with pytest.raises(TypeError, match="keys must be a list"):
        client.call_stack(keys=3)
    with pytest.raises(ValueError, match="not workers"):
        client.processing(workers="tcp://127.0.0.1:1")
    with pytest.raises(TypeError, match="start must be a time"):
        client.profile(start="yesterday")
    with pytest.raises(NotImplementedError):
        client.profile(plot=True)


def log_marker(text):
    logging.getLogger("oxdask.test_api").warning(text)
    return text


def test_worker_and_scheduler_logs(client):
    a, _ = workers_of(client)
    client.submit(log_marker, "first-marker", workers=[a], pure=False).result()
    client.submit(log_marker, "second-marker", workers=[a], pure=False).result()
    logs = client.get_worker_logs()
    assert set(logs) == set(workers_of(client))
    messages = [m for _, m in logs[a]]
    first = next(i for i, m in enumerate(messages) if "first-marker" in m)
    second = next(i for i, m in enumerate(messages) if "second-marker" in m)
    assert second < first  # newest first
    assert logs[a][second][0] == "WARNING"
    assert len(client.get_worker_logs(n=1, workers=[a])[a]) == 1
    with pytest.raises(ValueError, match="n must be"):
        client.get_worker_logs(n=-1)
    with pytest.raises(NotImplementedError):
        client.get_worker_logs(nanny=True)

    logging.getLogger("oxdask.test_api").warning("scheduler-side-marker")
    assert "scheduler-side-marker" in client.get_scheduler_logs(n=5)[0][1]
    with pytest.raises(ValueError, match="n must be"):
        client.get_scheduler_logs(n="3")


def log_on_scheduler(text):
    logging.getLogger("oxdask.test_api").warning(text)
    return os.getpid()


def test_scheduler_in_another_process(tmp_path):
    """A scheduler started by ``oxdask scheduler``: its logs and versions."""
    path = tmp_path / "scheduler.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "oxdask.cli", "scheduler", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)),
    )  # fmt: skip
    try:
        with Client(scheduler_file=str(path), timeout="20s", set_as_default=False) as c:
            pid = c.run_on_scheduler(log_on_scheduler, "remote-scheduler-marker")
            assert pid == proc.pid
            logs = c.get_scheduler_logs()
            assert "remote-scheduler-marker" in logs[0][1]
            assert logs[0][0] == "WARNING"
            versions = c.get_versions(check=True)
            assert versions["scheduler"]["packages"] == versions["client"]["packages"]
            assert versions["workers"] == {}
            c.run_on_scheduler(fake_versions, ["pandas"])  # the scheduler differs
            with pytest.warns(UserWarning, match="Mismatched versions") as record:
                c.get_versions(check=True)
            (row,) = [x for x in str(record[0].message).splitlines() if x.startswith("pandas")]
            assert row.split()[2] == "0.0.1"  # package, client, scheduler, workers
            assert row.split()[1] == versions["client"]["packages"]["pandas"]
    finally:
        proc.terminate()
        proc.wait(10)


def chatty(n):
    remote_print("printed", n, sep="-")
    remote_warn(f"warned {n}", RuntimeWarning)
    logging.getLogger("user.forwarded").error("logged %d", n)
    return n


def warn_unpicklable():
    import threading

    remote_warn(RuntimeWarning("holding", threading.Lock()))
    return "still fine"


def test_forward_logging_prints_and_warnings(client, capsys, caplog):
    client.forward_logging("user.forwarded")
    try:
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.ERROR):
            warnings.simplefilter("always")
            assert client.submit(chatty, 7, pure=False).result() == 7
            assert eventually(lambda: any("logged 7" in r.getMessage() for r in caplog.records))
            assert eventually(lambda: any("warned 7" in str(w.message) for w in caught))
            out = eventually(lambda: capsys.readouterr().out.count("printed-7"))
        assert out >= 1  # the forwarded line (the worker's own stdout is not captured)
        record = next(r for r in caplog.records if "logged 7" in r.getMessage())
        assert record.name == "user.forwarded"
        assert record.levelname == "ERROR"
        warning = next(w for w in caught if "warned 7" in str(w.message))
        assert warning.category is RuntimeWarning
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert client.submit(warn_unpicklable, pure=False).result() == "still fine"
            assert eventually(lambda: any("holding" in str(w.message) for w in caught))
        warning = next(w for w in caught if "holding" in str(w.message))
        assert warning.category is UserWarning
        assert str(warning.message).startswith("RuntimeWarning: ")
    finally:
        client.unforward_logging("user.forwarded")
    assert getattr(client, "_forwarder", None) is None
    with pytest.raises(TypeError, match="logger_name"):
        client.forward_logging(3)
    with pytest.raises(ValueError, match="Unknown level"):
        client.forward_logging("user.forwarded", level="LOUD")
    assert getattr(client, "_forwarder", None) is None


def fake_versions(names):
    import importlib.metadata as md

    real = getattr(md, "_oxdask_real_version", md.version)
    md._oxdask_real_version = real
    md.version = lambda name: "0.0.1" if name in names else real(name)


def restore_version():
    import importlib.metadata as md

    md.version = md._oxdask_real_version


def test_get_versions(client):
    versions = client.get_versions(check=True, packages=["msgpack"])
    assert set(versions) == {"scheduler", "workers", "client"}
    assert versions["scheduler"] == versions["client"]  # the scheduler runs in this process
    assert versions["scheduler"] is not versions["client"]
    assert set(versions["workers"]) == set(workers_of(client))
    mine = versions["client"]
    assert mine["packages"]["oxdask"]
    assert "msgpack" in mine["packages"]
    assert mine["host"]["OS"]
    assert mine["packages"]["python"].count(".") == 2
    for theirs in versions["workers"].values():
        assert theirs == mine
    with pytest.raises(TypeError, match="packages"):
        client.get_versions(packages="numpy")

    import oxdask.distributed._client_more as more

    try:
        client.run(fake_versions, ["numpy"])  # an optional package differs: a warning
        with pytest.warns(UserWarning, match="Mismatched versions") as record:
            client.get_versions(check=True)
        text = str(record[0].message)
        assert "numpy" in text
        assert "0.0.1" in text
        assert "oxdask" not in text
        client.run(fake_versions, ["numpy", "cloudpickle"])  # a required one: an error
        with pytest.raises(ValueError, match="cloudpickle") as err:
            client.get_versions(check=True)
        assert "0.0.1" in str(err.value)
        assert "numpy" not in str(err.value)
        plain = client.get_versions()
        rows = more._mismatches(plain["client"], None, plain["workers"])
        assert {r[0] for r in rows} == {"numpy", "cloudpickle"}
    finally:
        client.run(restore_version)
    client.get_versions(check=True)  # agrees again


def test_benchmark_hardware(client, monkeypatch):
    import oxdask.distributed._client_query as query

    monkeypatch.setattr(query, "BENCHMARK_SECONDS", {"memory": 0.01, "disk": 0.01, "network": 0.01})
    sizes = {"memory": ("2 kiB", "1 MiB"), "disk": ("1 kiB",), "network": ("1 kiB", "1 MiB")}
    monkeypatch.setattr(query, "BENCHMARK_SIZES", sizes)
    result = client.benchmark_hardware()
    assert set(result) == {"disk", "memory", "network"}
    for name, figures in result.items():
        assert list(figures) == list(sizes[name])
        assert all(v > 0 for v in figures.values())


def test_dump_cluster_state(client, tmp_path):
    from oxdask.distributed.cluster_dump import load_cluster_dump

    future = client.submit(sum, [1, 2, 3])
    assert future.result() == 6
    path = client.dump_cluster_state(str(tmp_path / "dump"))
    assert path.endswith(".msgpack.gz")
    state = load_cluster_dump(path)
    assert set(state["workers"]) == set(workers_of(client))
    assert state["scheduler"]["address"] == client.scheduler_address
    assert state["client"]["futures"][future.key]["status"] == "finished"
    for worker in state["workers"].values():
        assert worker["pid"] != os.getpid()
        assert worker["versions"]["packages"]["oxdask"]
    as_yaml = load_cluster_dump(client.dump_cluster_state(tmp_path / "dump", format="yaml"))
    assert set(as_yaml["workers"]) == set(state["workers"])
    trimmed = load_cluster_dump(client.dump_cluster_state(tmp_path / "t", exclude=["workers"]))
    assert "workers" not in trimmed
    with pytest.raises(ValueError, match="Unsupported format"):
        client.dump_cluster_state(tmp_path / "x", format="json")
    url = client.dump_cluster_state("memory://oxdask-test/dump")
    assert url == "memory://oxdask-test/dump.msgpack.gz"
    assert set(load_cluster_dump(url)["workers"]) == set(state["workers"])
    with pytest.raises(ValueError, match="expected a"):
        load_cluster_dump(str(tmp_path / "dump.json"))


def test_normalize_collection(client):
    import numpy as np

    import oxdask.array as da

    # Workers import oxdask.array before its tasks arrive: two task threads importing its
    # submodules for the first time at once can fail (a circular import seen half-done).
    client.run(importlib.import_module, "oxdask.array")
    x = da.arange(100, chunks=10) * 2
    persisted = client.persist(x)
    total = (x + 1).sum()
    fresh = (da.arange(7, chunks=7) + 5).sum()
    assert client.normalize_collection(fresh) is fresh  # nothing of it is on the cluster
    normalized = client.normalize_collection(total)
    graph = dict(normalized.__dask_graph__())
    assert len(graph) < len(dict(total.__dask_graph__()))
    assert {k for k in graph if type(graph[k]).__name__ == "Future"} == set(
        dict(persisted.__dask_graph__())
    )
    assert client.compute(normalized, sync=True) == (np.arange(100) * 2 + 1).sum()
    with pytest.raises(TypeError, match="needs a collection"):
        client.normalize_collection([1, 2])


def test_asynchronous_client_awaits_the_queries(client):
    import asyncio

    async def main():
        async with Client(client.scheduler_address, asynchronous=True) as c:
            future = c.submit(sum, [4, 5])
            assert await future == 9
            who = await c.who_has([future])
            assert list(who) == [future.key]
            has = await c.has_what()
            assert future.key in has[who[future.key][0]]
            assert await c.nbytes([future], summary=False) == {future.key: 28}
            assert set(await c.processing()) == set(workers_of(client))
            assert await c.call_stack() == {}
            assert set(await c.get_worker_logs(n=1)) == set(workers_of(client))
            versions = await c.get_versions(check=True)
            assert set(versions["workers"]) == set(workers_of(client))
            assert (await c.profile())["identifier"] == "root"

    asyncio.run(main())
