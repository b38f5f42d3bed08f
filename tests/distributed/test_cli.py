"""``oxdask scheduler`` and ``oxdask worker`` as separate processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from oxdask.distributed import Client


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "oxdask.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_scheduler_and_workers_from_the_command_line():
    port = _free_port()
    sched = _cli("scheduler", "--port", str(port), "--dashboard-port", "0")
    procs = [sched]
    try:
        line = sched.stdout.readline()
        assert line.startswith("Scheduler at: tcp://127.0.0.1:"), line
        address = line.split(": ", 1)[1].strip()
        procs.append(_cli("worker", address, "--nthreads", "2", "--name", "w", "--nworkers", "2"))
        with Client(address, set_as_default=False) as client:
            deadline = time.monotonic() + 30
            while len(client.scheduler_info()["workers"]) < 2:
                assert time.monotonic() < deadline, "workers did not register"
                time.sleep(0.05)
            assert set(client.nthreads().values()) == {2}
            assert client.submit(sum, [1, 2, 3]).result(timeout=10) == 6
            # Restart: each worker process replaces itself and registers anew.
            held = client.submit(sum, [1, 2], pure=False)
            held.result(timeout=10)
            before = set(client.scheduler_info()["workers"])
            client.restart(timeout=30)
            after = set(client.scheduler_info()["workers"])
            assert len(after) == 2, after
            assert not after & before, (before, after)
            assert held.status == "cancelled"
            assert client.submit(sum, [4, 5]).result(timeout=10) == 9
        for p in procs[::-1]:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p.wait(15) is not None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
            p.stdout.close()


def test_worker_with_unreachable_scheduler_fails_clearly():
    out = subprocess.run(
        [sys.executable, "-m", "oxdask.cli", "worker", "tcp://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert "127.0.0.1:1" in out.stderr


@pytest.mark.parametrize("argv", [["bogus"], ["scheduler", "--port", "not-a-number"]])
def test_bad_command_lines(argv):
    out = subprocess.run(
        [sys.executable, "-m", "oxdask.cli", *argv], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 2
