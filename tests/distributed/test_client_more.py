"""More of the Client API on a real LocalCluster of processes: default-client handling,
versions, uploaded files, scheduler files, restarting chosen workers and shutdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import oxdask
from oxdask.distributed import Client, LocalCluster, default_client


def call_helper(x):
    import oxdask_uploaded_helper  # only on the workers, after upload_file

    return oxdask_uploaded_helper.triple(x)


def getpid():
    return os.getpid()


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1) as c:
        yield c


def test_current_and_as_current(cluster):
    with Client(cluster, set_as_default=False) as a, Client(cluster, set_as_default=False) as b:
        with a.as_current():
            assert Client.current() is a
            assert default_client() is a
            with b.as_current():
                assert default_client() is b
                assert oxdask.delayed(sum)([1, 2]).compute() == 3  # runs on b
            assert default_client() is a
        futures = a.map(lambda x: x, range(3))
        assert a.futures_of([futures, {"f": futures[0]}]) == futures


def test_get_versions(cluster):
    with Client(cluster, set_as_default=False) as client:
        versions = client.get_versions(check=True)
        assert versions["client"]["packages"]["oxdask"]
        assert len(versions["workers"]) == 2
        for theirs in versions["workers"].values():
            assert theirs == versions["client"]


def test_upload_file(cluster, tmp_path):
    source = tmp_path / "oxdask_uploaded_helper.py"
    source.write_text("def triple(x):\n    return 3 * x\n")
    with Client(cluster, set_as_default=False) as client:
        with pytest.raises(Exception, match="oxdask_uploaded_helper"):
            client.submit(call_helper, 1, pure=False).result()
        paths = client.upload_file(str(source))
        assert len(paths) == 2
        assert client.gather(client.map(call_helper, range(5))) == [0, 3, 6, 9, 12]
        source.write_text("def triple(x):\n    return 30 * x\n")
        client.upload_file(str(source))  # re-imported on the workers
        assert client.submit(call_helper, 2, pure=False).result() == 60


def test_scheduler_file_from_client_and_command_line(cluster, tmp_path):
    path = tmp_path / "scheduler.json"
    with Client(cluster, set_as_default=False) as client:
        client.write_scheduler_file(str(path))
        with pytest.raises(ValueError, match="already exists"):
            client.write_scheduler_file(str(path))
    with Client(scheduler_file=str(path), set_as_default=False) as again:
        assert again.submit(sum, [1, 2]).result() == 3
    with pytest.raises(ValueError, match="not both"):
        Client(cluster.scheduler_address, scheduler_file=str(path))
    with pytest.raises(TimeoutError, match="scheduler file"):
        Client(scheduler_file=str(tmp_path / "never.json"), timeout="200ms")
    cli_file = tmp_path / "cli.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "oxdask.cli", "scheduler", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(cli_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with Client(scheduler_file=str(cli_file), timeout="20s", set_as_default=False) as c:
            assert c.scheduler_address == json.loads(cli_file.read_text())["address"]
    finally:
        proc.terminate()
        proc.wait(10)


def test_restart_chosen_workers_then_shutdown():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    client = Client(cluster, set_as_default=False)
    pids = client.run(getpid)
    first = sorted(pids)[0]
    with pytest.raises(ValueError, match="not workers"):
        client.restart_workers(["tcp://127.0.0.1:1"])
    assert client.restart_workers([first], timeout="30s") == {first: "OK"}
    # the worker replaces itself (re-executed: a fresh interpreter, a new address)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = client.run(getpid)
        if len(now) == 2 and first not in now:
            break
        time.sleep(0.1)
    now = client.run(getpid)
    assert first not in now
    assert len(now) == 2
    assert client.submit(sum, [2, 3]).result() == 5
    client.shutdown()
    assert cluster._closed
    with pytest.raises(RuntimeError, match="closed"):
        client.submit(sum, [1]).result(timeout=1)


def test_exception_classes_are_dasks():
    import concurrent.futures

    from oxdask.distributed import CancelledError, FutureCancelledError, TimeoutError

    assert CancelledError is concurrent.futures.CancelledError
    assert TimeoutError is concurrent.futures.TimeoutError
    assert issubclass(FutureCancelledError, CancelledError)
