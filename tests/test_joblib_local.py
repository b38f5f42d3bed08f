"""The joblib backend "oxdask" without a cluster, and the backend names it registers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

joblib = pytest.importorskip("joblib")

from joblib import Parallel, delayed, parallel_config  # noqa: E402

from oxdask.joblib import OxdaskBackend  # noqa: E402


def test_without_client_falls_back_to_threads():
    from oxdask.distributed import client as client_module

    assert client_module._current is None or client_module._current._closed
    with (
        pytest.warns(UserWarning, match="found no oxdask Client"),
        parallel_config(backend="oxdask"),
    ):
        out = Parallel(n_jobs=2)(delayed(divmod)(i, 3) for i in range(7))
    assert out == [divmod(i, 3) for i in range(7)]


def test_dask_name_taken_only_without_distributed():
    from joblib.parallel import BACKENDS

    if BACKENDS.get("dask") is not None:  # real distributed installed: its backend stays
        assert BACKENDS["dask"] is not OxdaskBackend
    script = textwrap.dedent(
        """
        import sys
        sys.modules["distributed"] = None  # as if Dask's distributed were not installed
        from joblib import Parallel, delayed, parallel_config
        from joblib.parallel import BACKENDS
        import oxdask.joblib
        from oxdask.distributed import Client, LocalCluster

        assert BACKENDS["dask"] is oxdask.joblib.OxdaskBackend
        if __name__ == "__main__":
            with LocalCluster(n_workers=1, threads_per_worker=1) as cl, Client(cl):
                with parallel_config(backend="dask"):
                    print(Parallel(n_jobs=-1)(delayed(pow)(i, 2) for i in range(5)))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=100
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[0, 1, 4, 9, 16]"
