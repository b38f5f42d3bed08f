"""Plugins (``Client.register_plugin`` and friends) on a LocalCluster of worker processes:
worker plugins reach the workers there are and those starting later (scale up, a nanny's
restart after ``kill -9``); nanny plugins run as a worker process starts; scheduler plugins
run in the scheduler's process. Every wait has a timeout."""

from __future__ import annotations

import itertools
import os
import signal
import sys
import time
import uuid
import zipfile

import pytest

from oxdask.distributed import (
    Client,
    CondaInstall,
    Environ,
    InstallPlugin,
    LocalCluster,
    NannyPlugin,
    PipInstall,
    SchedulerPlugin,
    UploadDirectory,
    UploadFile,
    WorkerPlugin,
)


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def client(cluster):
    with Client(cluster) as c:
        yield c


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Recorder(WorkerPlugin):
    """Writes what happens to it into the worker process's environment-free globals."""

    def __init__(self, tag):
        self.tag = tag

    def setup(self, worker):
        sys.modules.setdefault("_plugin_log", type(sys)("_plugin_log")).__dict__.setdefault(
            "log", []
        ).append(("setup", self.tag, worker.address))

    def teardown(self, worker):
        sys.modules["_plugin_log"].log.append(("teardown", self.tag, worker.address))


def plugin_log():
    module = sys.modules.get("_plugin_log")
    return list(getattr(module, "log", []))


def in_task_log(_):
    return plugin_log()


# -- worker plugins -------------------------------------------------------------------------------
def test_worker_plugin_setup_teardown_and_later_workers(client, cluster):
    tag = uuid.uuid4().hex
    out = client.register_plugin(Recorder(tag), name="recorder")
    workers = set(client.scheduler_info()["workers"])
    assert set(out) == workers
    assert all(v == {"status": "OK"} for v in out.values())
    logs = client.run(plugin_log)
    for address, log in logs.items():
        assert ("setup", tag, address) in log

    # a worker that starts later sets the plugin up before running tasks
    cluster.scale(3)
    new = wait_for(lambda: set(client.scheduler_info()["workers"]) - workers, what="worker")
    (address,) = new
    task = client.submit(in_task_log, 1, workers=[address], pure=False)
    assert ("setup", tag, address) in task.result(timeout=20)

    # a worker process killed from outside comes back (its nanny) with the plugin
    pids = client.run(os.getpid, workers=[address])
    os.kill(pids[address], signal.SIGKILL)
    wait_for(lambda: address not in client.scheduler_info()["workers"], what="worker gone")
    client.wait_for_workers(3, timeout=30)
    logs = client.run(plugin_log)
    assert all(any(e[:2] == ("setup", tag) for e in log) for log in logs.values())

    client.unregister_worker_plugin("recorder")
    logs = client.run(plugin_log)
    for address, log in logs.items():
        assert ("teardown", tag, address) in log
    with pytest.raises(ValueError, match="The worker plugin recorder does not exist"):
        client.unregister_worker_plugin("recorder")


class Counting(WorkerPlugin):
    idempotent = True
    name = "counting"

    def setup(self, worker):
        os.environ["OXDASK_TEST_COUNTING"] = str(int(os.environ.get("OXDASK_TEST_COUNTING", 0)) + 1)


def test_idempotent_plugin_is_set_up_once(client):
    client.register_plugin(Counting())
    assert client.register_plugin(Counting()) == {}
    counts = client.run(lambda: os.environ["OXDASK_TEST_COUNTING"])
    assert set(counts.values()) == {"1"}
    client.unregister_worker_plugin("counting")


class Failing(WorkerPlugin):
    def setup(self, worker):
        raise ZeroDivisionError("setup failed on purpose")


def test_plugin_errors_and_bad_input(client):
    with pytest.raises(ZeroDivisionError, match="on purpose"):
        client.register_plugin(Failing(), name="failing")
    client.unregister_worker_plugin("failing")
    with pytest.raises(TypeError, match="instance of a plugin, not a type"):
        client.register_plugin(Recorder)

    class Duck:
        def setup(self, worker):
            pass

    with pytest.raises(TypeError, match="duck-typed"):
        client.register_plugin(Duck())
    with pytest.raises(ValueError, match="nanny plugin nope does not exist"):
        client.unregister_worker_plugin("nope", nanny=True)
    with pytest.raises(ValueError, match="Could not find plugin"):
        client.unregister_scheduler_plugin("nope")
    with pytest.raises(TypeError, match="callable"):
        client.register_worker_callbacks(42)


def test_register_worker_callbacks(client):
    def setup(dask_worker):
        os.environ["OXDASK_TEST_CALLBACK"] = dask_worker.address

    def plain():
        os.environ["OXDASK_TEST_PLAIN"] = "yes"

    client.register_worker_callbacks(setup)
    client.register_worker_callbacks(plain)
    got = client.run(lambda: (os.environ["OXDASK_TEST_CALLBACK"], os.environ["OXDASK_TEST_PLAIN"]))
    assert got == {a: (a, "yes") for a in got}


# -- scheduler plugins ----------------------------------------------------------------------------
class Watcher(SchedulerPlugin):
    name = "watcher"

    def start(self, scheduler):
        self.events = scheduler.state.setdefault("test-watcher", [])
        self.events.append(("start",))

    def add_worker(self, scheduler, worker):
        self.events.append(("add", worker))

    def remove_worker(self, scheduler, worker, **kwargs):
        self.events.append(("remove", worker))

    def remove_client(self, scheduler, client):
        self.events.append(("remove-client", client))

    def close(self):
        self.events.append(("close",))


def watcher_events(dask_scheduler):
    return list(dask_scheduler.state.get("test-watcher", []))


def test_scheduler_plugin_hooks(client, cluster):
    client.register_plugin(Watcher())
    assert client.run_on_scheduler(watcher_events) == [("start",)]
    other = Client(cluster, set_as_default=False)
    other.close()
    wait_for(
        lambda: any(e[0] == "remove-client" for e in client.run_on_scheduler(watcher_events)),
        what="remove_client",
    )
    before = set(client.scheduler_info()["workers"])
    cluster.scale(len(before) + 1)
    (added,) = wait_for(lambda: set(client.scheduler_info()["workers"]) - before)
    wait_for(lambda: ("add", added) in client.run_on_scheduler(watcher_events), what="add")
    client.retire_workers([added])
    wait_for(lambda: ("remove", added) in client.run_on_scheduler(watcher_events), what="rm")
    client.unregister_scheduler_plugin("watcher")
    assert client.run_on_scheduler(watcher_events)[-1] == ("close",)
    wait_for(lambda: client.run_on_scheduler(watcher_stopped), what="the watcher to stop")


def watcher_stopped(dask_scheduler):
    return dask_scheduler.state["oxdask.plugins"].watcher is None


class TaskCounter(SchedulerPlugin):
    """Sees what Dask's task-counting plugins see: every task's transitions."""

    name = "transitions"

    def start(self, scheduler):
        self.seen = scheduler.state.setdefault("test-transitions", [])

    def transition(self, key, start, finish, *args, **kwargs):
        self.seen.append((key, start, finish, kwargs["stimulus_id"].startswith("stimulus-")))


def transitions_seen(dask_scheduler):
    return list(dask_scheduler.state.get("test-transitions", []))


def plus_one(x):
    return x + 1


def test_scheduler_plugin_transitions(client):
    client.register_plugin(TaskCounter())
    try:
        futures = client.map(plus_one, range(5), pure=False)
        total = client.submit(sum, futures, pure=False)
        assert total.result(timeout=30) == 15
        keys = [f.key for f in futures] + [total.key]
        del futures, total

        def done():
            seen = client.run_on_scheduler(transitions_seen)
            mine = [(k, s, f) for k, s, f, ok in seen if k in keys and ok]
            forgotten = {k for k, _, f in mine if f == "forgotten"}
            return mine if forgotten == set(keys) else None

        mine = wait_for(done, what="every task forgotten")
        for key in keys:
            path = [(s, f) for k, s, f in mine if k == key]
            assert ("processing", "memory") in path, path
            assert path[-1] == ("released", "forgotten"), path
            # each transition starts where the previous one ended
            assert all(a[1] == b[0] for a, b in itertools.pairwise(path)), path
    finally:
        client.unregister_scheduler_plugin("transitions")
    before = len(client.run_on_scheduler(transitions_seen))
    client.submit(plus_one, 100, pure=False).result(timeout=30)
    time.sleep(0.5)
    assert len(client.run_on_scheduler(transitions_seen)) == before, "not fed once unregistered"


# -- nanny plugins and files ----------------------------------------------------------------------
class Marker(NannyPlugin):
    name = "marker"

    def setup(self, nanny):
        nanny.env["OXDASK_TEST_MARKER"] = str(os.getpid())


def test_nanny_plugins_and_environ(client):
    client.register_plugin(Marker())
    marks = client.run(lambda: (os.environ.get("OXDASK_TEST_MARKER"), os.getpid()))
    assert all(m == str(pid) for m, pid in marks.values())
    old = set(client.scheduler_info()["workers"])
    out = client.register_plugin(Environ({"OXDASK_TEST_ENV": 42}))  # restarts the workers
    assert set(out).isdisjoint(old)
    got = client.run(lambda: (os.environ.get("OXDASK_TEST_ENV"), os.environ["OXDASK_TEST_MARKER"]))
    pids = client.run(os.getpid)
    assert {a: v for a, v in got.items()} == {a: ("42", str(pids[a])) for a in got}
    assert "OXDASK_TEST_ENV" not in os.environ  # nothing in the client's process
    client.unregister_worker_plugin("marker", nanny=True)


def test_upload_file_and_directory(client, tmp_path):
    name = f"upmod_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    path.write_text("VALUE = 7\n")
    out = client.register_plugin(UploadFile(str(path)))
    assert set(out) == set(client.scheduler_info()["workers"])
    assert client.submit(lambda: __import__(name).VALUE * 6, pure=False).result(timeout=20) == 42

    pkg = f"uppkg_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "project"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text("ANSWER = 'from the directory'\n")
    (root / "tests").mkdir()
    (root / "tests" / "skipped.py").write_text("")
    plugin = UploadDirectory(str(root), update_path=True)
    with zipfile.ZipFile(__import__("io").BytesIO(plugin.data)) as z:
        assert not any("tests" in n for n in z.namelist())  # skip_words
    client.register_plugin(plugin)
    got = client.submit(lambda: __import__(pkg).ANSWER, pure=False).result(timeout=20)
    assert got == "from the directory"
    with pytest.raises(ValueError, match="mode="):
        UploadDirectory(str(root), mode="everywhere")
    client.unregister_scheduler_plugin(plugin.name)


# -- installing -----------------------------------------------------------------------------------
def make_wheel(directory, name: str) -> str:
    """A pure-Python wheel built by hand (no network, no build backend)."""
    dist = f"{name}-1.0.dist-info"
    path = os.path.join(directory, f"{name}-1.0-py3-none-any.whl")
    files = {
        f"{name}/__init__.py": "INSTALLED = True\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    files[f"{dist}/RECORD"] = "".join(f"{f},,\n" for f in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as z:
        for arcname, text in files.items():
            z.writestr(arcname, text)
    return path


def test_pip_install_offline_and_conda_missing(client, tmp_path):
    name = f"oxwheel_{uuid.uuid4().hex[:8]}"
    wheel = make_wheel(str(tmp_path), name)
    target = str(tmp_path / "site")
    plugin = PipInstall([wheel], pip_options=["--no-index", "--no-deps", "--target", target])
    assert isinstance(plugin, InstallPlugin)
    client.register_plugin(plugin)
    assert os.path.exists(os.path.join(target, name, "__init__.py"))  # the scheduler's process

    def installed(target=target, name=name):
        sys.path.insert(0, target)
        try:
            return __import__(name).INSTALLED
        finally:
            sys.path.remove(target)

    assert set(client.run(installed).values()) == {True}
    client.unregister_scheduler_plugin(plugin.name)  # its worker plugin goes too
    with pytest.raises(ValueError, match="does not exist"):
        client.unregister_worker_plugin(plugin.name)

    with pytest.raises(RuntimeError, match="pip install failed"):
        client.register_plugin(PipInstall([str(tmp_path / "missing.whl")], ["--no-index"]))
    with pytest.raises(TypeError, match="list of strings"):
        PipInstall("numpy")
    if not os.environ.get("CONDA_EXE") and not __import__("shutil").which("conda"):
        with pytest.raises(RuntimeError, match="conda could not be found"):
            client.register_plugin(CondaInstall(["numpy"]))


def test_later_worker_gets_plugins_over_tls():
    from oxdask.distributed import Security

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, dashboard_address=None, security=Security.temporary()
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        tag = uuid.uuid4().hex
        client.register_plugin(Recorder(tag), name="tls-recorder")
        cluster.scale(2)
        logs = client.run(plugin_log)
        assert len(logs) == 2
        assert all(("setup", tag, a) in log for a, log in logs.items())


def test_upload_file_reaches_later_workers(client, cluster, tmp_path):
    name = f"later_{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{name}.py"
    path.write_text("VALUE = 'uploaded'\n")
    before = set(client.scheduler_info()["workers"])
    out = client.upload_file(str(path))
    assert set(out) == before
    cluster.scale(len(before) + 1)
    (new,) = set(client.scheduler_info()["workers"]) - before
    task = client.submit(lambda: __import__(name).VALUE, workers=[new], pure=False)
    assert task.result(timeout=20) == "uploaded"
    cluster.scale(len(before))


class FileRecorder(WorkerPlugin):
    """Appends its events to a file (the worker process may be gone when we look)."""

    name = "file-recorder"

    def __init__(self, path):
        self.path = path

    def setup(self, worker):
        with open(self.path, "a") as f:
            f.write(f"setup {worker.address}\n")

    def teardown(self, worker):
        with open(self.path, "a") as f:
            f.write(f"teardown {worker.address}\n")


def test_teardown_when_a_worker_closes(client, cluster, tmp_path):
    path = str(tmp_path / "events")
    before = set(client.scheduler_info()["workers"])
    client.register_plugin(FileRecorder(path))
    cluster.scale(len(before) + 1)
    (new,) = set(client.scheduler_info()["workers"]) - before
    cluster.scale_down([new])
    with open(path) as f:
        lines = f.read().splitlines()
    assert f"setup {new}" in lines
    assert f"teardown {new}" in lines
    client.unregister_worker_plugin("file-recorder")
    with open(path) as f:
        lines = f.read().splitlines()
    assert all(f"teardown {a}" in lines for a in before)


def test_plugins_on_an_asynchronous_client(cluster):
    import asyncio

    async def main():
        async with Client(cluster, asynchronous=True, set_as_default=False) as client:
            tag = uuid.uuid4().hex
            out = await client.register_plugin(Recorder(tag), name="async-recorder")
            logs = await client.run(plugin_log)
            await client.unregister_worker_plugin("async-recorder")
            await client.register_worker_callbacks(lambda: None)
            return out, logs, tag

    out, logs, tag = asyncio.run(main())
    assert set(out) == set(logs)
    assert all(("setup", tag, a) in log for a, log in logs.items())


class Transitions(WorkerPlugin):
    name = "transitions"

    def __init__(self, path):
        self.path = path

    def transition(self, key, start, finish, **kwargs):
        error = kwargs.get("exception")
        with open(self.path, "a") as f:
            f.write(f"{key} {start} {finish} {type(error).__name__ if error else ''}\n")


def boom():
    raise KeyError("boom")


def test_worker_plugin_transitions(client, tmp_path):
    path = str(tmp_path / "transitions")
    client.register_plugin(Transitions(path))
    ok = client.submit(sum, [1, 2], pure=False)
    bad = client.submit(boom, pure=False)
    assert ok.result(timeout=10) == 3
    with pytest.raises(KeyError):
        bad.result(timeout=10)
    client.unregister_worker_plugin("transitions")
    after = client.submit(sum, [3, 4], pure=False)
    assert after.result(timeout=10) == 7
    with open(path) as f:
        lines = [line.split() for line in f.read().splitlines()]
    assert [ok.key, "ready", "executing"] in lines
    assert [ok.key, "executing", "memory"] in lines
    assert [bad.key, "executing", "error", "KeyError"] in lines
    assert not any(line[0] == after.key for line in lines)  # unregistered: no more calls
