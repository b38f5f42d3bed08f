"""oxdask in a real Jupyter notebook: executed headless by nbclient on an ipykernel kernel.

The notebook (written by the test with nbformat) starts a LocalCluster and a Client, shows
them, an Array and a DataFrame (their HTML reprs), follows cluster work with
``oxdask.distributed.progress`` (ipywidgets bars) and a local computation with
``oxdask.diagnostics.TqdmCallback`` (tqdm's notebook bar); the test reads the stored outputs
and widget states.
"""

from __future__ import annotations

import json
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")
pytest.importorskip("tqdm")

CELLS = [
    # 0: a cluster of threads in the kernel's process (quick to start) and its client
    """
import oxdask, oxdask.array as da, oxdask.dataframe as dd
import numpy as np, pandas as pd
from oxdask.distributed import LocalCluster, Client, progress, wait
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False)
client = Client(cluster)
client
""",
    # 1: the cluster's card
    "cluster",
    # 2: an array: table and SVG chunk diagram
    """
x = da.arange(1_000_000, chunks=100_000).reshape((1000, 1000)).rechunk((250, 500))
x
""",
    # 3: a dataframe: its partition structure
    """
pdf = pd.DataFrame({"a": np.arange(100), "b": np.arange(100) * 0.5})
ddf = dd.from_pandas(pdf, npartitions=4)
ddf
""",
    # 4: progress of a persisted array on the cluster (one bar per key prefix): the widget
    # is the cell's value, updated by a timer thread
    """
y = (x + 1).persist()
bar = progress(y)
bar
""",
    # 5: once computed, the final drawing is in place; the numbers
    """
wait(y)
assert bar.wait(30)
print("total", int(y.sum().compute()), int((np.arange(1_000_000) + 1).sum()))
""",
    # 6: one bar over futures (multi=False), drawn in this cell
    """
futs = client.map(lambda i: i * i, range(20))
single = progress(futs, multi=False)
display(single)
print("squares", sum(client.gather(futs)))
assert single.wait(30)
""",
    # 7: a local computation with tqdm's notebook bar
    """
from oxdask.diagnostics import TqdmCallback
with TqdmCallback(desc="local"):
    s = oxdask.compute(x.sum(), scheduler="threads")[0]
print("local", int(s))
""",
    """
client.close()
cluster.close()
""",
]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    path = tmp_path_factory.mktemp("nb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.strip()) for src in CELLS]
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=60,
        resources={"metadata": {"path": str(path)}},
        store_widget_state=True,
    )
    client.execute()
    nbformat.write(nb, str(path / "executed.ipynb"))
    return nb


def _outputs(nb, i):
    outs = nb.cells[i].outputs
    errors = [o for o in outs if o.output_type == "error"]
    assert not errors, "\n".join(errors[0].traceback)
    return outs


def _data(nb, i, mime):
    found = [o.data[mime] for o in _outputs(nb, i) if mime in o.get("data", {})]
    assert found, f"cell {i} shows no {mime}: {_outputs(nb, i)}"
    return found[-1]


def _stream(nb, i):
    return "".join(o.text for o in _outputs(nb, i) if o.output_type == "stream")


def _widgets(nb):
    return nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]


def _children(states, model_id):
    """Every widget model shown under ``model_id`` (its descendants, itself included)."""
    seen, todo = [], [model_id]
    while todo:
        mid = todo.pop()
        seen.append(mid)
        refs = json.dumps(states[mid]["state"].get("children", []))
        todo.extend(re.findall(r"IPY_MODEL_([0-9a-f]+)", refs))
    return {mid: states[mid] for mid in seen}


def _view(nb, i):
    view = _data(nb, i, "application/vnd.jupyter.widget-view+json")
    return _children(_widgets(nb), view["model_id"])


def test_client_and_cluster_cards(executed):
    client_html = _data(executed, 0, "text/html")
    cluster_html = _data(executed, 1, "text/html")
    for page in (client_html, cluster_html):
        assert re.search(r'href="http://127\.0\.0\.1:\d+', page), page
        assert "Workers" in page
        assert ">2<" in page  # two workers
    assert "Client" in client_html
    assert "LocalCluster" in cluster_html


def test_array_repr_with_chunk_diagram(executed):
    page = _data(executed, 2, "text/html")
    assert "<table" in page
    assert "<svg" in page
    assert "(1000, 1000)" in page  # shape
    assert "(250, 500)" in page  # chunk shape
    assert "8 chunks" in page or ">8<" in page


def test_dataframe_repr_with_partitions(executed):
    page = _data(executed, 3, "text/html")
    assert "npartitions=4" in page
    assert "int64" in page
    assert "float64" in page


def test_multi_progress_widget(executed):
    models = _view(executed, 4)
    bars = [m["state"] for m in models.values() if m["model_name"] == "FloatProgressModel"]
    assert bars
    assert all(b["value"] == 1.0 for b in bars)
    assert all(b["bar_style"] == "success" for b in bars)
    texts = " ".join(m["state"]["value"] for m in models.values() if m["model_name"] == "HTMLModel")
    assert "Finished:" in texts
    assert "8 / 8" in texts  # the 8 blocks of x + 1
    assert "add" in texts  # the key prefix labels its bar
    assert _stream(executed, 5).split() == ["total", "500000500000", "500000500000"]


def test_single_progress_widget(executed):
    models = _view(executed, 6)
    (bar,) = [m["state"] for m in models.values() if m["model_name"] == "FloatProgressModel"]
    assert bar["value"] == 1.0
    assert bar["bar_style"] == "success"
    texts = " ".join(m["state"]["value"] for m in models.values() if m["model_name"] == "HTMLModel")
    assert "20 / 20" in texts
    assert _stream(executed, 6).split() == ["squares", str(sum(i * i for i in range(20)))]


def test_tqdm_callback_widget(executed):
    models = _view(executed, 7)
    (bar,) = [m["state"] for m in models.values() if m["model_name"] == "FloatProgressModel"]
    assert bar["max"] > 0
    assert bar["value"] == bar["max"]
    texts = " ".join(
        str(m["state"].get("value", "")) for m in models.values() if m["model_name"] == "HTMLModel"
    )
    assert "local" in texts
    assert _stream(executed, 7).split() == ["local", str(sum(range(1_000_000)))]
