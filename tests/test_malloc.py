"""The C heap settings of the local schedulers and of workers (``oxdask._malloc``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import oxdask, oxdask._malloc as m
{before}
oxdask.delayed(sum)([1, 2]).compute()
print(m._LOCAL_TUNED, m._libc() is not None)
"""


def _run(before: str, env=None) -> str:
    out = subprocess.run(
        [sys.executable, "-c", CODE.format(before=before)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    return out.stdout.strip()


def test_local_compute_tunes_once_unless_a_worker_or_config_says_no():
    tuned = _run("")
    if tuned.endswith("False"):
        pytest.skip("not glibc")
    assert tuned == "[True] True"
    assert _run("m.tune_for_worker()") == "[False] True"
    assert _run("oxdask.config.set({'local.tune-malloc': False})") == "[False] True"


def _minor_faults() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _trim_early() -> None:  # the worker setting before: trim above 64 KiB free
    from oxdask import _malloc as m

    m._libc().mallopt(m._M_TRIM_THRESHOLD, 64 * 1024)


def test_worker_tasks_on_small_chunks_reuse_heap_memory():
    """Chunks of 160 KB (40 pages): a worker whose heap mapped and trimmed such blocks faulted
    every page of every temporary in again, on every task (CPU time doubled)."""
    if _run("").endswith("False"):
        pytest.skip("not glibc")
    import oxdask.array as da
    from oxdask.distributed import Client, LocalCluster

    x = ((da.ones((4000, 4000), chunks=(100, 200)) + 1) * 2).sum()  # 800 chunks
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # fmt: skip

        def faults_per_chunk() -> float:
            (before,) = client.run(_minor_faults).values()
            assert client.compute(x).result() == 4000 * 4000 * 4.0
            (after,) = client.run(_minor_faults).values()
            return (after - before) / 800

        faults_per_chunk()  # warm up
        tuned = faults_per_chunk()
        client.run(_trim_early)
        faults_per_chunk()
        early = faults_per_chunk()
    assert tuned < 10, tuned
    assert early > 20, early  # the setting is what made the difference
