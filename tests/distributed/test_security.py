"""TLS, the shared token and secure-by-default, end to end (certificates generated per test)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from operator import add

import pytest

from oxdask import _core
from oxdask.distributed import Client, LocalCluster, Security
from oxdask.distributed.worker import run as run_worker


@pytest.fixture(autouse=True)
def _no_ambient_token(monkeypatch):
    monkeypatch.delenv("OXDASK_TOKEN", raising=False)


@pytest.fixture(scope="module")
def tls_cluster():
    # Worker processes: their TLS settings travel as --tls-* files; two workers, so a task
    # with dependencies on both fetches peer to peer over TLS.
    sec = Security.temporary()
    with LocalCluster(
        n_workers=2, threads_per_worker=1, security=sec, dashboard_address=None
    ) as cluster:
        yield cluster


def test_tls_cluster_round_trip_and_peer_fetch(tls_cluster):
    assert tls_cluster.scheduler_address.startswith("tls://127.0.0.1:")
    with Client(tls_cluster, set_as_default=False) as client:
        workers = list(client.scheduler_info()["workers"])
        assert len(workers) == 2
        assert all(w.startswith("tls://") for w in workers)
        a = client.submit(add, 1, 2, workers=[workers[0]])
        b = client.submit(add, 10, 20, workers=[workers[1]])
        total = client.submit(add, a, b, workers=[workers[0]])
        assert total.result(timeout=30) == 33
        assert client.gather([a, b]) == [3, 30]


def test_client_without_tls_is_told_the_scheduler_requires_it(tls_cluster):
    plain = tls_cluster.scheduler_address.replace("tls://", "tcp://")
    with pytest.raises(ConnectionError, match="requires TLS"):
        Client(plain, set_as_default=False, timeout=10)
    with pytest.raises(ConnectionError, match="needs TLS settings"):
        Client(tls_cluster.scheduler_address, set_as_default=False, timeout=10)


def test_certificate_of_another_ca_is_refused(tls_cluster):
    stranger = Security.temporary()
    with pytest.raises(ConnectionError, match="TLS handshake failed"):
        Client(tls_cluster.scheduler_address, security=stranger, set_as_default=False)


def test_tls_client_to_a_plain_scheduler_fails_clearly():
    sched = _core.Scheduler("127.0.0.1", 0, None, None)
    try:
        address = sched.address.replace("tcp://", "tls://")
        with pytest.raises(ConnectionError, match="did not answer with TLS"):
            Client(address, security=Security.temporary(), set_as_default=False)
    finally:
        sched.close()


def test_token_is_required_and_checked():
    with LocalCluster(
        n_workers=1, processes=False, token="s3cret", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        with pytest.raises(ConnectionError, match="scheduler requires a token"):
            Client(address, set_as_default=False)
        with pytest.raises(ConnectionError, match="does not match"):
            Client(address, token="wrong", set_as_default=False)
        with Client(address, token="s3cret", set_as_default=False) as client:
            assert client.submit(add, 2, 3).result(timeout=30) == 5
        sec = Security(token="s3cret")
        with Client(address, security=sec, set_as_default=False) as client:
            assert client.submit(add, 3, 3).result(timeout=30) == 6


def test_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("OXDASK_TOKEN", "from-env")
    with (
        LocalCluster(n_workers=1, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        assert client.submit(add, 1, 1).result(timeout=30) == 2
    monkeypatch.delenv("OXDASK_TOKEN")
    sched = _core.Scheduler("127.0.0.1", 0, None, "other")
    try:
        with pytest.raises(ConnectionError, match="requires a token"):
            Client(sched.address, set_as_default=False)
    finally:
        sched.close()


def test_tls_and_token_together_with_worker_threads():
    sec = Security.temporary(token="both")
    with (
        LocalCluster(n_workers=1, processes=False, security=sec, dashboard_address=None) as c,
        Client(c, set_as_default=False) as client,
    ):
        assert client.submit(sum, [1, 2, 3]).result(timeout=30) == 6
        # The right certificate without the token is still refused.
        no_token = Security(
            tls_ca_file=sec.tls_ca_file,
            tls_client_cert=sec.tls_client_cert,
            tls_client_key=sec.tls_client_key,
        )
        with pytest.raises(ConnectionError, match="requires a token"):
            Client(c.scheduler_address, security=no_token, set_as_default=False)


def test_secure_by_default_refuses_an_open_non_loopback_scheduler():
    # Refused before binding: nothing ever listens on 0.0.0.0 here.
    with pytest.raises(OSError, match="anyone who can reach an open scheduler can run code"):
        LocalCluster(n_workers=0, host="0.0.0.0", dashboard_address=None)
    with pytest.raises(OSError, match="insecure=True"):
        _core.Scheduler("0.0.0.0", 0, None, None)
    with pytest.raises(PermissionError, match="anyone who can reach"):
        run_worker("tcp://127.0.0.1:1", host="0.0.0.0")


def test_command_line_refuses_an_open_non_loopback_scheduler():
    out = subprocess.run(
        [sys.executable, "-m", "oxdask.cli", "scheduler", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 1
    assert "anyone who can reach an open scheduler can run code on every worker" in out.stderr
    assert "--insecure" in out.stderr


def test_command_line_tls_scheduler_and_worker(tmp_path):
    ca, cert, key = _core.temporary_pki()
    files = {}
    for name, text in {"ca": ca, "cert": cert, "key": key}.items():
        files[name] = tmp_path / f"{name}.pem"
        files[name].write_text(text)
    flags = ["--tls-ca-file", str(files["ca"]), "--tls-cert", str(files["cert"])]
    flags += ["--tls-key", str(files["key"])]
    cli = [sys.executable, "-m", "oxdask.cli"]
    sched = subprocess.Popen(
        [*cli, "scheduler", "--port", "0", "--no-dashboard", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    procs = [sched]
    try:
        line = sched.stdout.readline()
        assert line.startswith("Scheduler at: tls://127.0.0.1:"), line
        address = line.split(": ", 1)[1].strip()
        procs.append(subprocess.Popen([*cli, "worker", address, "--nthreads", "1", *flags]))
        sec = Security(
            tls_ca_file=str(files["ca"]),
            tls_client_cert=str(files["cert"]),
            tls_client_key=str(files["key"]),
            require_encryption=True,
        )
        # No scheme: a client with a certificate means tls://.
        with Client(address.removeprefix("tls://"), security=sec, set_as_default=False) as c:
            deadline = time.monotonic() + 30
            while not c.scheduler_info()["workers"]:
                assert time.monotonic() < deadline, "the worker did not register"
                time.sleep(0.05)
            assert c.submit(add, 20, 22).result(timeout=30) == 42
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        sched.stdout.close()


def test_security_validates_its_settings(tmp_path):
    with pytest.raises(OSError, match=r"TLS CA file .*missing\.pem: cannot read it"):
        Security(tls_ca_file=str(tmp_path / "missing.pem"), tls_client_cert="x.pem")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    ca, _cert, key = _core.temporary_pki()
    with pytest.raises(OSError, match=r"bad\.pem: no certificate found"):
        Security(tls_ca_file=ca, tls_client_cert=str(bad), tls_client_key=key)
    with pytest.raises(ValueError, match="needs tls_ca_file"):
        Security(tls_client_cert="cert.pem")
    with pytest.raises(ValueError, match="not supported"):
        Security(tls_min_version=1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        Security(tls_bogus=1)
    with pytest.raises(ValueError, match="require_encryption"):
        Client("tcp://127.0.0.1:1", security=Security(require_encryption=True))


def test_repr_hides_keys_and_token():
    sec = Security.temporary(token="hush")
    text = repr(sec)
    assert "BEGIN" not in text
    assert "hush" not in text
    assert "Temporary (In-memory)" in text
    assert "token=<redacted>" in text
    cfg = sec.get_tls_config_for_role("worker")
    assert cfg["cert"] == sec.tls_worker_cert
    assert cfg["ca_file"] == sec.tls_ca_file


def _pem_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)  # Security.temporary() holds PEM text
    return str(path)


def test_state_endpoint_is_https_with_tls_and_wants_the_token(tmp_path):
    import json
    import ssl
    import urllib.error
    import urllib.request

    sec = Security.temporary()
    ca, cert, key = sec._tls("client")
    sched = _core.Scheduler("127.0.0.1", 0, 0, "tok", tls=sec._tls("scheduler"))
    try:
        url = sched.http_address + "/json/state"
        assert url.startswith("https://127.0.0.1:")
        ctx = ssl.create_default_context(cafile=_pem_file(tmp_path, "ca.pem", ca))
        ctx.check_hostname = False  # cluster certificates do not name hosts
        ctx.load_cert_chain(
            _pem_file(tmp_path, "cert.pem", cert),
            _pem_file(tmp_path, "key.pem", key) if key else None,
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, context=ctx, timeout=10)
        assert refused.value.code == 401
        refused.value.close()
        ask = urllib.request.Request(url, headers={"Authorization": "Bearer tok"})
        with urllib.request.urlopen(ask, context=ctx, timeout=10) as reply:
            assert "workers" in json.loads(reply.read())
        # without a client certificate of the cluster's CA, no TLS session at all
        bare = ssl.create_default_context(cafile=_pem_file(tmp_path, "ca.pem", ca))
        bare.check_hostname = False
        with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
            urllib.request.urlopen(ask, context=bare, timeout=10)
    finally:
        sched.close()


_PROBE = """
import os, socket, sys
os.setgid(65534)
os.setuid(65534)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(2)
s.connect("\\0" + sys.argv[1])
try:
    print("closed" if s.recv(1) == b"" else "answered")
except ConnectionResetError:
    print("closed")
except TimeoutError:
    print("waited")
"""


@pytest.mark.skipif(sys.platform != "linux" or os.getuid() != 0, reason="needs root on Linux")
def test_same_machine_socket_refuses_another_user():
    # A worker's Unix socket (the same-machine shortcut) is named after its TCP address and
    # reachable by anyone on the machine, as loopback TCP is; a process of another user is
    # dropped at once, before the handshake, so it can neither present a token nor read one.
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster, set_as_default=False) as client:
            [worker] = client.scheduler_info()["workers"]
            assert client.submit(add, 1, 2).result(timeout=30) == 3
        name = "oxdask/" + worker.removeprefix("tcp://")  # abstract: the probe adds the NUL
        same = subprocess.run(
            [sys.executable, "-c", _PROBE.replace("os.setgid(65534)\nos.setuid(65534)", ""), name],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert same.stdout.strip() == "waited", same  # our user: the handshake is awaited
        other = subprocess.run(
            [sys.executable, "-c", _PROBE, name], capture_output=True, text=True, timeout=30
        )
        assert other.stdout.strip() == "closed", other
