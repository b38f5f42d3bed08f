"""The process sampling memory and CPU use for :class:`~oxdask.diagnostics.ResourceProfiler`."""

from __future__ import annotations

import contextlib
import json
import sys
import threading

__all__ = ["_Tracker"]


def _require_psutil():
    try:
        import psutil
    except ImportError:
        raise ImportError(
            "ResourceProfiler requires the `psutil` package: "
            "pip install psutil (or oxdask[diagnostics])"
        ) from None
    return psutil


# The sampler runs in its own small interpreter: a thread would wait for the GIL behind the
# tasks it measures, and forking a process running engine threads is unsafe. Commands come one a
# line on stdin ("collect", "send", "shutdown"); "send" answers one JSON line of samples.
_SAMPLER = r"""
import json, os, queue, sys, threading, time
import psutil

parent = psutil.Process(int(sys.argv[1]))
dt = float(sys.argv[2])
me = os.getpid()
procs = {}
commands = queue.Queue()

def read():
    for line in sys.stdin:
        commands.put(line.strip())
    commands.put("shutdown")

def sample():
    global procs
    try:
        found = [parent] + [p for p in parent.children() if p.pid != me]
    except psutil.Error:
        found = [parent]
    procs = {p.pid: procs.get(p.pid, p) for p in found}
    tic = time.perf_counter()
    mem = cpu = 0.0
    for p in procs.values():
        try:
            with p.oneshot():
                m = p.memory_info().rss
                c = p.cpu_percent()
        except psutil.Error:
            continue
        mem += m
        cpu += c
    return (tic, mem / 1e6, cpu)

threading.Thread(target=read, daemon=True).start()
sample()
sys.stdout.write("ready\n")
sys.stdout.flush()
data, collecting = [], False
while True:
    try:
        cmd = commands.get(timeout=dt) if collecting else commands.get()
    except queue.Empty:
        data.append(sample())
        continue
    if cmd == "collect":
        if not collecting:
            collecting = True
            data.append(sample())
    elif cmd == "send":
        if not data:
            data.append(sample())
        sys.stdout.write(json.dumps(data) + "\n")
        sys.stdout.flush()
        data, collecting = [], False
    elif cmd == "shutdown":
        break
"""


class _Tracker:
    """A process sampling the memory and CPU use of this process and its children every ``dt``
    seconds while collecting."""

    def __init__(self, dt):
        import os
        import subprocess

        _require_psutil()
        self.dt = dt
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SAMPLER, str(os.getpid()), repr(float(dt))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        # Wait until it samples, so that the samples cover the computations that follow.
        if self._proc.stdout.readline().strip() != "ready":
            self.shutdown()
            raise RuntimeError("the resource sampling process failed to start")

    def is_alive(self):
        return self._proc is not None and self._proc.poll() is None

    def _send(self, command):
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()

    def collect(self):
        with self._lock:
            self._send("collect")

    def take(self):
        """Stop collecting; the samples since :meth:`collect` (at least one)."""
        with self._lock:
            self._send("send")
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the resource sampling process stopped unexpectedly")
        return json.loads(line)

    def shutdown(self):
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.write("shutdown\n")
            proc.stdin.flush()
        with contextlib.suppress(OSError, ValueError):
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except Exception:
            proc.kill()
            proc.wait()
        proc.stdout.close()
