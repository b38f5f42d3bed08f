"""``progress(..., notebook=True)``: the ipywidgets bars (drawn outside a kernel here; the
notebook test runs them in a real kernel)."""

from __future__ import annotations

import io
import time

import pytest
from _clusters import local_client

from oxdask.distributed import progress
from oxdask.distributed.progress import MultiProgressWidget, ProgressWidget

pytest.importorskip("ipywidgets")


def inc(x):
    time.sleep(0.01)
    return x + 1


def double(x):
    return 2 * x


def fail(x):
    raise ValueError(f"bad {x}")


@pytest.fixture(scope="module")
def client():
    with local_client(n_workers=2, threads_per_worker=1, processes=False) as c:
        yield c


def _texts(widget):
    out, todo = [], [widget]
    while todo:
        w = todo.pop()
        if hasattr(w, "children"):
            todo.extend(w.children)
        elif hasattr(w, "value") and isinstance(w.value, str):
            out.append(w.value)
    return " ".join(out)


def test_multi_bars_by_prefix(client):
    a = client.map(inc, range(6))
    b = client.map(double, range(3))
    bar = progress(a, b, notebook=True, interval="10ms")
    assert isinstance(bar, MultiProgressWidget)
    assert bar.wait(30)
    assert sum(client.gather(a)) == sum(range(1, 7))
    assert list(bar.counts.items()) == [("inc", 6), ("double", 3)]  # most numerous first
    assert all(b.value == 1.0 and b.bar_style == "success" for b in bar.bars.values())
    text = _texts(bar.widget)
    assert "6 / 6" in text
    assert "3 / 3" in text
    assert "Finished:" in text


def test_single_bar_and_failure(client):
    good = client.map(double, range(4))
    bad = client.submit(fail, 1)
    bar = progress(good, bad, notebook=True, multi=False, interval=0.01)
    assert isinstance(bar, ProgressWidget)
    assert bar.wait(30)
    assert bar.bar.value == 1.0  # failed futures count as finished, as in Dask
    assert bar.bar.bar_style == "danger"
    text = _texts(bar.widget)
    assert "5 / 5" in text
    assert "Exception" in text
    assert "bad 1" in text


def test_multi_failure_marks_its_group(client):
    ok = client.map(double, range(2))
    bad = client.map(fail, range(2))
    bar = progress(ok + bad, notebook=True, interval=0.01)
    assert bar.wait(30)
    assert bar.bars["double"].bar_style == "success"
    assert bar.bars["fail"].bar_style == "danger"


def test_group_by_callable_and_bad_value(client):
    fs = client.map(double, range(4))
    bar = progress(fs, notebook=True, group_by=lambda key: "all")
    assert bar.wait(30)
    assert bar.counts == {"all": 4}
    with pytest.raises(ValueError, match="group_by"):
        progress(fs, group_by="nope")


def test_text_bar_outside_a_kernel(client):
    fs = client.map(inc, range(5))
    out = io.StringIO()
    assert progress(fs, file=out, interval=0.01) is None  # notebook guessed False
    assert "100% Completed" in out.getvalue()
    assert all(f.done() for f in fs)


def test_notebook_without_ipywidgets(client, monkeypatch):
    import sys

    fs = client.map(double, range(2))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        progress(fs, notebook=True)
    out = io.StringIO()
    progress(fs, file=out)  # guessed: text
    assert "100% Completed" in out.getvalue()
