"""How many CPUs this process may use, compatible with ``dask.system``."""

from __future__ import annotations

import math
import os
import sys

__all__ = ["CPU_COUNT", "cpu_count"]


def _cgroup_cpu_limit() -> float | None:
    """CPUs allowed by the cgroup CPU quota (v1 or v2), or ``None`` without a quota."""
    for folder in ("cpuacct,cpu", "cpu,cpuacct"):  # cgroup v1
        try:
            with open(f"/sys/fs/cgroup/{folder}/cpu.cfs_quota_us") as f:
                quota = int(f.read())
            with open(f"/sys/fs/cgroup/{folder}/cpu.cfs_period_us") as f:
                period = int(f.read())
        except (OSError, ValueError):
            continue
        return quota / period if quota > 0 and period > 0 else None
    try:  # cgroup v2
        with open("/proc/self/cgroup") as f:
            group = f.read().strip().split(":")[-1].rstrip("/")
        with open(f"/sys/fs/cgroup{group}/cpu.max") as f:
            quota_text, period_text = f.read().split()
    except (OSError, ValueError):
        return None
    if quota_text == "max":
        return None
    quota, period = int(quota_text), int(period_text)
    return quota / period if quota > 0 and period > 0 else None


def cpu_count() -> int:
    """The CPUs available to this process: the smallest of the machine's CPU count, the CPU
    affinity mask and the cgroup quota (rounded up).

    Returns
    -------
    int
    """
    if sys.version_info >= (3, 13):
        count = os.process_cpu_count() or 1
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0)) or 1
    else:  # pragma: no cover - macOS, Windows
        count = os.cpu_count() or 1
    if sys.platform.startswith("linux"):
        limit = _cgroup_cpu_limit()
        if limit is not None:
            count = min(count, max(1, math.ceil(limit)))
    return count


CPU_COUNT = cpu_count()
"""``cpu_count()`` when oxdask was imported."""
