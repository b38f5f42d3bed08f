"""The deployment flags of ``oxdask scheduler`` and ``oxdask worker`` (Dask's names), each
through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from oxdask import _core
from oxdask.distributed import Client, wait


@pytest.fixture
def cli():
    """Starts ``oxdask ...`` processes; kills what is left at the end."""
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        p = subprocess.Popen(
            [sys.executable, "-m", "oxdask.cli", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(10)
        p.stdout.close()
        p.stderr.close()


def _address(sched: subprocess.Popen) -> str:
    line = sched.stdout.readline()
    assert line.startswith("Scheduler at: "), line + sched.stderr.read()
    return line.split(": ", 1)[1].strip()


def _workers(address: str) -> list[dict]:
    conn = _core.ClientConnection(address, None, 5.0, None)
    try:
        return json.loads(conn.info(5.0))["workers"]
    finally:
        conn.close()


def _wait(predicate, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _run(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oxdask.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_scheduler_file_worker_waits_for_it(cli, tmp_path):
    path = str(tmp_path / "scheduler.json")
    worker = cli("worker", "--scheduler-file", path, "--nthreads", "1", "--death-timeout", "30s")
    time.sleep(0.5)  # the worker is up before the scheduler wrote its file
    assert worker.poll() is None
    sched = cli("scheduler", "--port", "0", "--no-dashboard", "--scheduler-file", path)
    address = _address(sched)
    _wait(lambda: len(_workers(address)) == 1, what="the worker")
    with Client(scheduler_file=path, set_as_default=False) as client:
        assert client.submit(sum, [1, 2, 3]).result(timeout=10) == 6


def test_scheduler_file_missing_within_death_timeout_fails(tmp_path):
    path = tmp_path / "never.json"
    t0 = time.monotonic()
    out = _run("worker", "--scheduler-file", str(path), "--death-timeout", "1s")
    assert out.returncode == 1
    assert str(path) in out.stderr
    assert "death-timeout" in out.stderr
    assert time.monotonic() - t0 < 20


def test_death_timeout_retries_until_the_scheduler_is_up(cli):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    worker = cli("worker", address, "--nthreads", "1", "--death-timeout", "30s")
    time.sleep(1.0)  # refused connections meanwhile: the worker keeps trying
    assert worker.poll() is None, worker.stderr.read()
    assert _address(cli("scheduler", "--port", str(port), "--no-dashboard")) == address
    _wait(lambda: len(_workers(address)) == 1, what="the worker")


def test_death_timeout_gives_up_naming_the_scheduler():
    t0 = time.monotonic()
    out = _run("worker", "tcp://127.0.0.1:1", "--death-timeout", "1.5s")
    elapsed = time.monotonic() - t0
    assert out.returncode == 1
    assert "127.0.0.1:1" in out.stderr
    assert 1.4 < elapsed < 20


def test_lifetime_retires_gracefully_and_keeps_results(cli):
    sched = cli("scheduler", "--port", "0", "--no-dashboard")
    address = _address(sched)
    cli("worker", address, "--nthreads", "1")
    _wait(lambda: len(_workers(address)) == 1, what="the first worker")
    stays = _workers(address)[0]["address"]
    short = cli(
        "worker", address, "--nthreads", "1", "--lifetime", "3s", "--lifetime-stagger", "0.5s"
    )
    _wait(lambda: len(_workers(address)) == 2, what="two workers")
    (leaves,) = [w["address"] for w in _workers(address) if w["address"] != stays]
    with Client(address, set_as_default=False) as client:
        fut = client.submit(lambda: list(range(10)), workers=[leaves], pure=False)
        assert fut.result(timeout=10) == list(range(10))
        assert short.wait(20) == 0  # retired by its lifetime: a clean exit
        assert "lifetime" in short.stderr.read()
        assert [w["address"] for w in _workers(address)] == [stays]
        # its unique result moved to the remaining worker before it left
        conn = _core.ClientConnection(address, None, 5.0, None)
        try:
            assert conn.who_has([fut.key], 5.0) == [(fut.key, [stays])]
        finally:
            conn.close()
        assert fut.result(timeout=10) == list(range(10))


def test_a_worker_tells_the_scheduler_when_it_ends(cli):
    sched = cli("scheduler", "--port", "0", "--no-dashboard")
    address = _address(sched)
    cli("worker", address, "--nthreads", "1", "--lifetime", "60s")
    _wait(lambda: len(_workers(address)) == 1, what="the worker")
    _wait(lambda: _workers(address)[0].get("ends_in_s") is not None, what="its end")
    # The scheduler gives it no task expected to outlast it (tested in the scheduler's state).
    assert 30 < _workers(address)[0]["ends_in_s"] <= 60


def test_lifetime_restart_replaces_the_process(cli):
    sched = cli("scheduler", "--port", "0", "--no-dashboard")
    address = _address(sched)
    worker = cli("worker", address, "--nthreads", "1", "--lifetime", "1s", "--lifetime-restart")
    _wait(lambda: len(_workers(address)) == 1, what="the worker")
    first = _workers(address)[0]["address"]
    _wait(
        lambda: [w["address"] for w in _workers(address)] not in ([], [first]),
        what="a new registration",
    )
    assert worker.poll() is None  # the same process (exec'ed anew) is still serving


def test_interface_sets_the_listening_address(cli):
    sched = cli("scheduler", "--port", "0", "--no-dashboard", "--interface", "lo")
    address = _address(sched)
    assert address.startswith("tcp://127.0.0.1:")
    cli("worker", address, "--nthreads", "1", "--interface", "lo")
    _wait(lambda: len(_workers(address)) == 1, what="the worker")
    assert _workers(address)[0]["address"].startswith("tcp://127.0.0.1:")


@pytest.mark.parametrize("command", ["scheduler", "worker"])
def test_unknown_interface_is_a_clear_error(command):
    args = ["tcp://127.0.0.1:1"] if command == "worker" else ["--no-dashboard"]
    out = _run(command, *args, "--interface", "nosuch0")
    assert out.returncode == 1
    assert "nosuch0" in out.stderr
    assert "lo" in out.stderr


def test_host_and_interface_together_are_refused():
    out = _run("worker", "tcp://127.0.0.1:1", "--interface", "lo", "--host", "127.0.0.1")
    assert out.returncode == 1
    assert "--interface" in out.stderr


@pytest.mark.parametrize("command", ["scheduler", "worker"])
def test_protocol_checks(command):
    args = ["tcp://127.0.0.1:1"] if command == "worker" else ["--no-dashboard"]
    out = _run(command, *args, "--protocol", "tls")
    assert out.returncode == 1
    assert "--tls-cert" in out.stderr
    out = _run(command, *args, "--protocol", "ucx")
    assert out.returncode == 1
    assert "'ucx' is not supported" in out.stderr


def test_protocol_tls_and_tcp_end_to_end(cli, tmp_path):
    ca, cert, key = _core.temporary_pki()
    for name, text in (("ca.pem", ca), ("cert.pem", cert), ("key.pem", key)):
        (tmp_path / name).write_text(text)
    tls = ["--tls-ca-file", str(tmp_path / "ca.pem"), "--tls-cert", str(tmp_path / "cert.pem")]
    tls += ["--tls-key", str(tmp_path / "key.pem")]
    sched = cli("scheduler", "--port", "0", "--no-dashboard", "--protocol", "tls", *tls)
    address = _address(sched)
    assert address.startswith("tls://")
    cli("worker", address, "--nthreads", "1", "--protocol", "tls", *tls)
    conn = _core.ClientConnection(address, None, 5.0, (ca, cert, key))
    try:
        _wait(lambda: len(json.loads(conn.info(5.0))["workers"]) == 1, what="the TLS worker")
    finally:
        conn.close()
    sched = cli("scheduler", "--port", "0", "--no-dashboard", "--protocol", "tcp://")
    assert _address(sched).startswith("tcp://")


def test_local_directory_holds_spilled_results(cli, tmp_path):
    np = pytest.importorskip("numpy")
    sched = cli("scheduler", "--port", "0", "--no-dashboard")
    address = _address(sched)
    local = tmp_path / "local"
    local.mkdir()
    cli("worker", address, "--nthreads", "1", "--memory-limit", "400MB", "--local-directory",
        str(local))  # fmt: skip
    _wait(lambda: len(_workers(address)) == 1, what="the worker")
    with Client(address, set_as_default=False) as client:
        futures = [client.submit(np.full, 5_000_000, i, pure=False) for i in range(6)]
        wait(futures, timeout=30)
        spilled = lambda: [f for _, _, files in os.walk(local) for f in files]  # noqa: E731
        _wait(spilled, timeout=20, what="results spilled under --local-directory")
        assert [float(f.result(timeout=10)[-1]) for f in futures] == [0, 1, 2, 3, 4, 5]


def test_idle_timeout_closes_the_scheduler_only_when_idle(cli):
    sched = cli("scheduler", "--port", "0", "--no-dashboard", "--idle-timeout", "2s")
    address = _address(sched)
    with Client(address, set_as_default=False) as client:
        fut = client.submit(time.sleep, 3, pure=False)  # queued, then processing: not idle
        cli("worker", address, "--nthreads", "1")
        assert fut.result(timeout=30) is None
        assert sched.poll() is None, "closed while work was queued or running"
    t0 = time.monotonic()
    assert sched.wait(20) == 0
    assert 1.0 < time.monotonic() - t0 < 20
    assert "idle" in sched.stdout.read()


def test_worker_needs_an_address_or_scheduler_file():
    out = _run("worker")
    assert out.returncode == 1
    assert "--scheduler-file" in out.stderr


def test_bad_durations_are_clear_errors():
    out = _run("worker", "tcp://127.0.0.1:1", "--lifetime", "soon")
    assert out.returncode == 1
    assert "--lifetime" in out.stderr
    out = _run("scheduler", "--no-dashboard", "--idle-timeout=-3s")
    assert out.returncode == 1
    assert "--idle-timeout" in out.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0:57", 57.0), ("59:00", 3540.0), ("1:00:05", 3605.0), ("2-03:00:00", 183600.0),
     ("UNLIMITED", None), ("INVALID", None), ("", None), ("x-1:00", None)],
)  # fmt: skip
def test_squeue_time_left_is_parsed(text, seconds):
    from oxdask.distributed._deploy_flags import parse_time_left

    assert parse_time_left(text) == seconds


def test_a_job_worker_retires_a_tenth_of_its_time_before_the_end_within_bounds():
    from oxdask.distributed._deploy_flags import walltime_margin

    assert [walltime_margin(s) for s in (20, 57, 300, 3600)] == [5.0, 5.7, 30.0, 60.0]
