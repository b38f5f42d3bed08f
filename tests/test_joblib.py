"""The joblib backend "oxdask": joblib's batches as tasks of an oxdask cluster."""

from __future__ import annotations

import os

import numpy as np
import pytest

joblib = pytest.importorskip("joblib")

from joblib import Parallel, delayed, parallel_config  # noqa: E402

import oxdask.joblib  # noqa: E402, F401 (registers the backend)
from oxdask.distributed import Client, LocalCluster  # noqa: E402
from oxdask.joblib import OxdaskBackend  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def _where(x):
    from oxdask.distributed import _context

    return x * 2, os.getpid(), bool(_context.worker)


def _total(x, big):
    return x + float(big.sum())


def _inner(i):
    # a nested Parallel call inside a batch running on a worker
    return sum(Parallel(n_jobs=2)(delayed(abs)(-j) for j in range(i + 1)))


def test_parallel_runs_on_workers(client):
    with parallel_config(backend="oxdask"):
        out = Parallel(n_jobs=-1)(delayed(_where)(i) for i in range(40))
    assert [r[0] for r in out] == [2 * i for i in range(40)]
    assert all(r[2] for r in out)  # every call ran inside a worker
    assert os.getpid() not in {r[1] for r in out}


def test_effective_n_jobs_is_the_cluster_threads(client):
    backend = OxdaskBackend()
    assert backend.client is client
    assert backend.effective_n_jobs(-1) == sum(client.nthreads().values()) == 2


def test_large_arguments_scattered_once(client, monkeypatch):
    big = np.arange(50_000.0)
    calls = []
    original = type(client).scatter

    def spy(self, data, *args, **kwargs):
        calls.append(data)
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(type(client), "scatter", spy)
    with parallel_config(backend="oxdask"):
        out = Parallel(n_jobs=-1, batch_size=1)(delayed(_total)(i, big) for i in range(12))
    assert out == [i + float(big.sum()) for i in range(12)]
    assert len(calls) == 1
    assert calls[0] is big
    # small arguments travel inside the task
    calls.clear()
    with parallel_config(backend="oxdask"):
        Parallel(n_jobs=-1)(delayed(_total)(i, np.ones(3)) for i in range(4))
    assert calls == []


def test_scatter_option(client, monkeypatch):
    big = np.arange(20_000.0)
    with parallel_config(backend="oxdask", scatter=[big]):
        calls = []
        monkeypatch.setattr(type(client), "scatter", lambda *a, **k: calls.append(a))
        out = Parallel(n_jobs=-1)(delayed(_total)(i, big) for i in range(6))
    assert out == [i + float(big.sum()) for i in range(6)]
    assert calls == []  # sent to every worker up front, not per call
    with pytest.raises(TypeError, match="scatter must be a list/tuple"):
        OxdaskBackend(scatter=big)


def _fail_at_3(i):
    if i == 3:
        raise ValueError("boom at 3")
    return i


def test_errors_propagate_and_the_backend_is_reusable(client):
    with parallel_config(backend="oxdask"), pytest.raises(ZeroDivisionError):
        Parallel(n_jobs=-1)(delayed(divmod)(1, i) for i in range(3))
    with parallel_config(backend="oxdask"):
        with pytest.raises(ValueError, match="boom at 3"):
            Parallel(n_jobs=-1, batch_size=1)(delayed(_fail_at_3)(i) for i in range(30))
        assert Parallel(n_jobs=-1)(delayed(abs)(-i) for i in range(5)) == [0, 1, 2, 3, 4]


def test_generators(client):
    with parallel_config(backend="oxdask"):
        ordered = Parallel(n_jobs=-1, return_as="generator")(delayed(abs)(-i) for i in range(9))
        assert list(ordered) == list(range(9))
        unordered = Parallel(n_jobs=-1, return_as="generator_unordered")(
            delayed(abs)(-i) for i in range(9)
        )
        assert sorted(unordered) == list(range(9))


def test_nested_parallel(client):
    with parallel_config(backend="oxdask"):
        out = Parallel(n_jobs=-1)(delayed(_inner)(i) for i in range(6))
    assert out == [sum(range(i + 1)) for i in range(6)]


def _leaf(j):
    from oxdask.distributed import get_worker

    worker = get_worker()
    return -j, worker.address, worker.get_current_task()


def _inner_default_backend(i):
    # a nested Parallel call naming no backend: joblib takes the outer backend's nested one
    from oxdask.distributed import get_worker

    outer_key = get_worker().get_current_task()
    return outer_key, Parallel(n_jobs=2)(delayed(_leaf)(j) for j in range(i + 2))


def test_nested_parallel_without_a_backend_runs_on_the_cluster(client):
    backend = OxdaskBackend()
    nested, n_jobs = backend.get_nested_backend()
    assert isinstance(nested, OxdaskBackend)
    assert nested.client is client
    assert n_jobs == -1
    assert nested.nesting_level == backend.nesting_level + 1
    workers = set(client.scheduler_info()["workers"])
    with parallel_config(backend="oxdask"):
        out = Parallel(n_jobs=-1, batch_size=1)(
            delayed(_inner_default_backend)(i) for i in range(4)
        )
    assert len(out) == 4
    for i, (outer_key, inner) in enumerate(out):
        assert outer_key.startswith("batch_of__inner_default_backend_1_calls-")
        assert [r[0] for r in inner] == [-j for j in range(i + 2)]
        # every inner call ran as a cluster task of its own (not on the outer task's thread,
        # not on joblib's local threads): an inner batch's key, on a worker of the cluster
        for _, address, key in inner:
            assert address in workers
            assert isinstance(key, str)
            assert key.startswith("batch_of__leaf_")
            assert key != outer_key
    # without a client (joblib's local threads) the nested backend is joblib's default
    backend.client = None
    assert not isinstance(backend.get_nested_backend()[0], OxdaskBackend)


def test_grid_search_on_workers(client, tmp_path):
    sklearn = pytest.importorskip("sklearn")  # noqa: F841
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    record = tmp_path / "fits"
    record.mkdir()

    class RecordingSVC(SVC):  # a local class: sent to the workers by value
        def fit(self, X, y, sample_weight=None):
            import uuid

            from oxdask.distributed import _context

            (record / uuid.uuid4().hex).write_text(f"{os.getpid()} {int(bool(_context.worker))}")
            return super().fit(X, y, sample_weight=sample_weight)

    X, y = load_iris(return_X_y=True)
    grid = {"C": [0.1, 1, 10], "gamma": [0.01, 0.1, 1]}
    serial = GridSearchCV(SVC(), grid, cv=3, n_jobs=1).fit(X, y)
    search = GridSearchCV(RecordingSVC(), grid, cv=3, n_jobs=-1)
    with parallel_config(backend="oxdask"):
        search.fit(X, y)
    assert search.best_params_ == serial.best_params_
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    fits = [p.read_text().split() for p in record.iterdir()]
    # 27 cross-validation fits on the workers, the final refit in this process
    on_workers = [f for f in fits if f[1] == "1"]
    assert len(on_workers) == 27
    assert all(int(pid) != os.getpid() for pid, _ in on_workers)
    assert [f for f in fits if f[1] == "0"] == [[str(os.getpid()), "0"]]


def _inner_on_the_cluster(i):
    # a nested Parallel call that submits its batches to the cluster and waits for them
    from oxdask.distributed import _context

    assert _context.worker, "runs on a worker"
    with parallel_config(backend="oxdask"):
        return sum(Parallel(n_jobs=-1)(delayed(abs)(-j) for j in range(i + 1)))


def test_nested_parallel_on_the_cluster_does_not_deadlock():
    # Two threads, each taken by an outer batch that waits for its inner batches: they leave
    # their threads while they wait (secede), so the inner batches run.
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster, set_as_default=False) as c,
        parallel_config(backend="oxdask", client=c),
    ):
        out = Parallel(n_jobs=-1)(delayed(_inner_on_the_cluster)(i) for i in range(4))
    assert out == [sum(range(i + 1)) for i in range(4)]
