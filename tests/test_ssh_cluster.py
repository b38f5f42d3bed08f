"""``SSHCluster`` against a real OpenSSH server on 127.0.0.1 (started by the fixture)."""

from __future__ import annotations

import operator
import subprocess
import time

import pytest

import oxdask.bag as db
from _daemons import free_port, start_sshd
from oxdask.distributed import Client
from oxdask.distributed.ssh import SSHCluster


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    server = start_sshd(tmp_path_factory)
    yield server
    server.close()


def _remote_pids(pattern: str) -> set[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return {int(p) for p in out.stdout.split()}


def test_computation_on_three_hosts(sshd):
    with SSHCluster(
        ["127.0.0.1"] * 3,
        connect_options=sshd.connect_options,
        worker_options={"nthreads": 1},
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        assert len(cluster.workers_info()) == 2
        assert sorted(cluster.worker_names().values()) == ["0", "1"]
        with Client(cluster, set_as_default=False) as client:
            futures = client.map(operator.mul, range(20), range(20))
            assert client.gather(futures) == [i * i for i in range(20)]
            total = client.submit(sum, futures)
            assert total.result(timeout=20) == sum(i * i for i in range(20))
            # a collection on the cluster, compared with plain Python
            bag = db.from_sequence(range(100), npartitions=4).map(operator.neg)
            assert client.compute(bag.sum()).result(timeout=20) == -sum(range(100))
        logs = cluster.get_logs()
        assert set(logs) == {"Scheduler", "0", "1"}
        assert "Scheduler at:" in logs["Scheduler"]


def test_scale_and_close_leave_nothing_running(sshd):
    cluster = SSHCluster(
        ["oxdask-test-alias", "oxdask-test-alias"],  # an alias only the ssh config knows
        connect_options={"config": str(sshd.config)},
        worker_options={"nthreads": 1, "n_workers": 2},
    )
    try:
        assert len(cluster.workers_info()) == 2
        names = sorted(cluster.worker_names().values())
        assert names == ["0-0", "0-1"]
        with Client(cluster, set_as_default=False) as client:
            held = client.submit(operator.add, 2, 3, pure=False)
            assert held.result(timeout=20) == 5
            cluster.scale(4)  # a second group on the (only) worker host
            assert len(cluster.workers_info()) == 4
            assert set(cluster.workers) == {"0", "1"}
            cluster.scale(2)  # the newest group is retired: results move first
            assert sorted(cluster.worker_names().values()) == ["0-0", "0-1"]
            assert held.result(timeout=20) == 5
            assert client.submit(operator.add, held, 1).result(timeout=20) == 6
        token = cluster._token
    finally:
        cluster.close()
    assert cluster.scheduler.proc.poll() is not None
    deadline = time.monotonic() + 15
    while _remote_pids("oxdask.distributed._remote") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _remote_pids("oxdask.distributed._remote")
    assert token


def test_remote_processes_die_with_the_connection(sshd):
    cluster = SSHCluster(
        ["127.0.0.1", "127.0.0.1"],
        connect_options=sshd.connect_options,
        worker_options={"nthreads": 1},
    )
    try:
        before = _remote_pids("oxdask.cli worker")
        assert before
        cluster.workers["0"].proc.kill()  # the connection drops (no clean close)
        deadline = time.monotonic() + 15
        while _remote_pids("oxdask.cli worker") & before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _remote_pids("oxdask.cli worker") & before
    finally:
        cluster.close()


def test_unreachable_host_is_a_clear_error_without_hanging(sshd):
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1"):
        SSHCluster(
            ["127.0.0.1", "127.0.0.1"],
            connect_options={**sshd.connect_options, "port": port, "connect_timeout": 3},
        )
    assert time.monotonic() - t0 < 10


def test_missing_remote_python_names_the_host(sshd):
    with pytest.raises(RuntimeError, match=r"scheduler on 127\.0\.0\.1 exited") as info:
        SSHCluster(
            ["127.0.0.1", "127.0.0.1"],
            connect_options=sshd.connect_options,
            remote_python="/nonexistent/python3",
        )
    assert "/nonexistent/python3" in str(info.value)


def test_bad_arguments():
    with pytest.raises(ValueError, match="non empty list"):
        SSHCluster([])
    with pytest.raises(RuntimeError, match="connect_options"):
        SSHCluster(["a", "b"], connect_options=[{}])
    with pytest.raises(RuntimeError, match="remote_python"):
        SSHCluster(["a", "b"], remote_python=["python"])
    with pytest.raises(TypeError, match="worker_options"):
        SSHCluster(["a", "b"], worker_options={"bogus": 1}, connect_options={"port": 1})


def test_proxy_jump(sshd):
    # through a jump host (the same sshd): ssh -J, as ProxyJump in ~/.ssh/config
    options = {"config": str(sshd.config), "proxy_jump": "oxdask-test-alias"}
    with (
        SSHCluster(["oxdask-test-alias"] * 2, connect_options=options) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        assert client.submit(operator.sub, 10, 3).result(timeout=20) == 7
        (remote,) = cluster.workers.values()
        assert "-J" in remote.proc.args
