"""Real daemons for the deployment tests: an OpenSSH server and a one-node SLURM cluster on
this machine, in temporary directories. A missing program skips the tests, or fails them
when the ``CI`` environment variable is set (CI installs them: see ``.ci/run``)."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time

import pytest


def missing(what: str) -> None:
    """Skip, or fail under CI, because ``what`` is not available."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must provide it: see .ci/run)")
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float, log: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    text = ""
    if os.path.exists(log):
        with open(log) as f:
            text = f.read()
    missing(f"the daemon did not listen on port {port}: {text[-2000:]}")


class SSHServer:
    """An ``sshd`` on 127.0.0.1 accepting one generated key for the current user."""

    def __init__(self, root) -> None:
        self.root = root
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if not os.path.exists(sshd) or not shutil.which("ssh"):
            missing("OpenSSH (sshd and ssh) is not installed")
        self.user = getpass.getuser()
        self.host_key = root / "host_key"
        self.key = root / "user_key"
        for path in (self.host_key, self.key):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True
            )
        (root / "authorized_keys").write_text((root / "user_key.pub").read_text())
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        self.port = free_port()
        self.log = str(root / "sshd.log")
        config = root / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1\nPort {self.port}\nHostKey {self.host_key}\n"
            f"AuthorizedKeysFile {root}/authorized_keys\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
            "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
            f"PidFile {root}/sshd.pid\nMaxStartups 50\nMaxSessions 50\n"
            "AcceptEnv LANG\nPrintMotd no\n"
        )
        self._log = open(self.log, "w")  # noqa: SIM115 (open while the daemon runs)
        self.proc = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=self._log
        )
        wait_port(self.port, self.proc, 15, self.log)
        self.config = root / "ssh_config"
        self.config.write_text(
            f"Host 127.0.0.1 localhost oxdask-test-alias\n  HostName 127.0.0.1\n"
            f"  Port {self.port}\n  User {self.user}\n  IdentityFile {self.key}\n"
            "  IdentitiesOnly yes\n  StrictHostKeyChecking no\n"
            "  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
        )

    @property
    def connect_options(self) -> dict:
        """asyncssh-style options (as Dask's SSHCluster takes them)."""
        return {
            "port": self.port,
            "username": self.user,
            "client_keys": [str(self.key)],
            "known_hosts": None,
        }

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


def start_sshd(tmp_path_factory) -> SSHServer:
    return SSHServer(tmp_path_factory.mktemp("sshd"))
