"""Runs ``oxdask scheduler`` or ``oxdask worker`` for a remote launcher (``SSHCluster``) and
ties its life to the launcher's connection.

``python -m oxdask.distributed._remote scheduler|worker ARGS...`` reads one JSON line from
stdin (``{"env": {...}}``: secrets such as the token never appear on a command line), starts
the command in a process group of its own and waits. When stdin reaches end of file (the ssh
connection closed, dropped, or the launcher closed it) the whole group is terminated, then
killed after a grace period: nothing is left running on the remote host.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

GRACE = 5.0


def _stop(group: int) -> None:
    """SIGTERM to the process group, SIGKILL to what is left after ``GRACE`` seconds."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + GRACE
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


def _stop_soon(group: int) -> None:
    threading.Thread(target=_stop, args=(group,), daemon=True).start()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("scheduler", "worker"):
        print("usage: python -m oxdask.distributed._remote scheduler|worker ARGS", file=sys.stderr)
        return 2
    line = sys.stdin.readline()
    try:
        setup = json.loads(line) if line.strip() else {}
    except json.JSONDecodeError:
        print("oxdask remote: the first line of stdin must be JSON", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in setup.get("env", {}).items()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "oxdask.cli", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # one group: --nworkers children go with it
    )

    def watch() -> None:
        while sys.stdin.readline():  # anything but end of file is ignored
            pass
        _stop(proc.pid)

    threading.Thread(target=watch, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: _stop_soon(proc.pid))
    signal.signal(signal.SIGHUP, lambda *_: _stop_soon(proc.pid))
    signal.signal(signal.SIGINT, lambda *_: _stop_soon(proc.pid))
    code = proc.wait()
    _stop(proc.pid)  # --nworkers children left behind by a parent that exited
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
