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


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None
    )


class Slurm:
    """A one-node SLURM cluster (munged, slurmctld, slurmd) whose node is this machine, with
    oversubscription so that a 2-core machine runs several worker jobs. Sets ``SLURM_CONF``
    in this process's environment while it runs (``sbatch`` and friends read it)."""

    def __init__(self, root) -> None:
        self.root = root
        progs = {p: _which(p) for p in ("munged", "slurmctld", "slurmd", "sbatch", "squeue")}
        absent = [k for k, v in progs.items() if not v]
        if absent:
            missing(f"SLURM or munge is not installed (missing: {absent})")
        self.procs: list[subprocess.Popen] = []
        self._logs: list = []
        key = root / "munge.key"
        try:
            shutil.copyfile("/etc/munge/munge.key", key)
        except OSError:
            key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o600)
        self.socket = str(root / "munge.sock")
        self._start(
            [progs["munged"], "-F", "-f", f"--socket={self.socket}", f"--key-file={key}",
             f"--pid-file={root}/munged.pid", f"--seed-file={root}/munged.seed",
             f"--log-file={root}/munged.log"],
            "munged",
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket) and time.monotonic() < deadline:
            time.sleep(0.05)
        for d in ("state", "spool"):
            (root / d).mkdir()
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 - 512
        self.ctld_port, self.d_port = free_port(), free_port()
        user = getpass.getuser()
        self.conf = root / "slurm.conf"
        self.conf.write_text(
            f"ClusterName=oxdask\nSlurmctldHost=localhost\nSlurmUser={user}\nSlurmdUser={user}\n"
            f"SlurmctldPort={self.ctld_port}\nSlurmdPort={self.d_port}\n"
            f"AuthType=auth/munge\nAuthInfo=socket={self.socket}\nCredType=cred/munge\n"
            f"StateSaveLocation={root}/state\nSlurmdSpoolDir={root}/spool\n"
            f"SlurmctldPidFile={root}/slurmctld.pid\nSlurmdPidFile={root}/slurmd.pid\n"
            f"SlurmctldLogFile={root}/slurmctld.log\nSlurmdLogFile={root}/slurmd.log\n"
            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
            "SchedulerType=sched/builtin\nSelectType=select/cons_tres\n"
            "SelectTypeParameters=CR_Core\nReturnToService=2\nMpiDefault=none\n"
            "JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n"
            "SchedulerParameters=sched_interval=1\nMessageTimeout=10\nKillWait=2\n"
            f"NodeName=localhost CPUs={os.cpu_count()} RealMemory={mem} State=UNKNOWN\n"
            "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP "
            "OverSubscribe=FORCE:16\n"
        )
        self._old_conf = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = str(self.conf)
        self._start([progs["slurmctld"], "-D", "-i"], "slurmctld")
        self._start([progs["slurmd"], "-D", "-N", "localhost"], "slurmd")
        deadline = time.monotonic() + 30
        state = ""
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, check=False
            )
            state = out.stdout.strip() + out.stderr.strip()
            if state == "idle":
                return
            time.sleep(0.2)
        self.close()
        missing(f"the SLURM node did not become idle (state {state!r}); logs in {root}")

    def _start(self, cmd: list[str], name: str) -> None:
        log = open(self.root / f"{name}.out", "w")  # noqa: SIM115 (open while it runs)
        self._logs.append(log)
        self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))

    def jobs(self) -> list[str]:
        out = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True)
        return out.stdout.split()

    def close(self) -> None:
        subprocess.run(["scancel", "-u", getpass.getuser()], capture_output=True, check=False)
        deadline = time.monotonic() + 15
        while self.jobs() and time.monotonic() < deadline:
            time.sleep(0.2)
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for log in self._logs:
            log.close()
        if self._old_conf is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = self._old_conf
