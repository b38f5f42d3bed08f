"""The engine shuffle: a Rust store of pieces that spills to disk past a memory limit; the
same results as the task-based shuffle."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from dataframe_helpers import assert_eq

import oxdask
import oxdask.dataframe as dd
from oxdask import _core, _shuffle
from oxdask.dataframe.shuffle import shuffle_method
from oxdask.local import last_run_stats


@pytest.fixture
def df():
    rng = np.random.default_rng(5)
    n = 4_000
    return pd.DataFrame(
        {
            "k": rng.integers(0, 500, n),
            "s": rng.choice(["x", "y", "z"], n),
            "v": rng.normal(size=n),
        },
        index=pd.Index(np.arange(n) * 3, name="i"),
    )


def _all_shuffles(d):
    return {
        "set_index": d.set_index("k"),
        "sort_values": d.sort_values(["k", "v"]),
        "shuffle": d.shuffle("k", npartitions=7),
        "merge": d.merge(d[["k", "s"]].drop_duplicates(), on=["k", "s"], how="inner"),
        "drop_duplicates": d[["k", "s"]].drop_duplicates(split_out=3),
    }


@pytest.mark.parametrize("limit", [None, 4_000])  # the default, and spilling most pieces
def test_engine_and_tasks_agree_with_pandas(df, limit):
    d = dd.from_pandas(df, npartitions=6)
    expected = {
        "set_index": df.set_index("k"),
        "sort_values": df.sort_values(["k", "v"]),
        "shuffle": df,
        "merge": df.merge(df[["k", "s"]].drop_duplicates(), on=["k", "s"], how="inner"),
        "drop_duplicates": df[["k", "s"]].drop_duplicates(),
    }
    with oxdask.config.set({"dataframe.shuffle.method": "tasks"}):
        tasks = _all_shuffles(d)
    with oxdask.config.set(
        {"dataframe.shuffle.method": "engine", "dataframe.shuffle.memory-limit": limit}
    ):
        engine = _all_shuffles(d)
        for name, want in expected.items():
            sort = name in ("shuffle", "merge", "drop_duplicates", "set_index")
            assert_eq(engine[name], want, sort=sort, check_index=name != "merge")
            assert_eq(engine[name], tasks[name].compute(), sort=sort, check_index=name != "merge")


def test_engine_graph_is_small_and_recomputes_cleanly(df):
    d = dd.from_pandas(df, npartitions=8)
    with oxdask.config.set({"dataframe.shuffle.method": "engine"}):
        s = d.shuffle("k", npartitions=10)
    first = s.compute()
    tasks = last_run_stats()["graph_tasks"]
    # inputs, cuts and their numbers, the barrier, outputs and their numbers: no task per
    # (input, output) pair
    assert tasks == 8 + 2 * 8 + 1 + 2 * 10
    again = s.compute()  # a second compute starts from an empty store: no duplicated rows
    assert len(first) == len(again) == len(df)
    pd.testing.assert_frame_equal(first.sort_index(), df)
    pd.testing.assert_frame_equal(again.sort_index(), df)


def test_default_method_follows_the_scheduler():
    assert shuffle_method() == "engine"
    with oxdask.config.set(scheduler="processes"):
        assert shuffle_method() == "tasks"
    with oxdask.config.set({"dataframe.shuffle.method": "p2p"}):  # Dask's names run as tasks
        assert shuffle_method() == "tasks"
    with (
        oxdask.config.set({"dataframe.shuffle.method": "nope"}),
        pytest.raises(ValueError, match=r"dataframe\.shuffle\.method"),
    ):
        shuffle_method()


def test_engine_shuffle_split_across_processes_is_an_error_not_a_wrong_answer(df):
    d = dd.from_pandas(df, npartitions=3)
    with oxdask.config.set({"dataframe.shuffle.method": "engine"}):
        s = d.shuffle("k")
    pickle.dumps(s.dask)  # the graph names its shuffle by id: it can travel
    other = _shuffle.Holder(None, -1)
    with pytest.raises(RuntimeError, match=r"cut in process -1.*dataframe\.shuffle\.method"):
        _shuffle.take_all("nowhere", 0, [other])
    remote = _shuffle.Holder("tcp://127.0.0.1:1", -1)
    with pytest.raises(RuntimeError, match=r"on the workers \['tcp://127.0.0.1:1'\]"):
        _shuffle.take_all("nowhere", 0, [remote])


def test_stores_drop_a_shuffle_once_taken_and_restart_on_a_new_push():
    stores = _shuffle.Stores()
    stores.push("s", 2, 0, 0, "a")
    stores.push("s", 2, 1, 0, "b")
    stores.push("s", 2, 1, 1, "c")
    assert stores.take("s", 0) == [(0, "a"), (1, "b")]
    assert len(stores) == 1
    # a push after a take starts the shuffle over (a new compute of its graph)
    stores.push("s", 2, 0, 1, "x")
    assert stores.take("s", 0) == []
    assert stores.take("s", 1) == [(0, "x")]
    assert len(stores) == 0
    assert stores.take("s", 1) == []


def test_store_spills_in_input_order_and_replaces_repeated_pieces(tmp_path):
    store = _core.ShuffleStore(2, 100, str(tmp_path))
    dump = pickle.dumps
    store.push(2, 0, "c" * 60, 60, dump)
    store.push(0, 0, "a" * 60, 60, dump)  # 120 bytes > 100: output 0 spills
    assert store.spilled == 120
    assert store.in_memory == 0
    store.push(1, 1, "b", 1, dump)
    store.push(1, 1, "B", 1, dump)  # the same input again replaces its piece
    store.push(1, 0, "m", 1, dump)
    got = store.take(0)
    assert [(pickle.loads(p) if pickled else p) for _, p, pickled in got] == [
        "a" * 60,
        "m",
        "c" * 60,
    ]
    assert [(i, pickled) for i, _, pickled in got] == [(0, True), (1, False), (2, True)]
    assert store.take(1) == [(1, "B", False)]
    assert (store.in_memory, store.spilled) == (0, 0)
    assert store.take(1) == []
    with pytest.raises(ValueError, match="output partition 2 is out of range"):
        store.push(0, 2, "x", 1, dump)


def test_shuffle_method_argument_picks_the_method(df):
    d = dd.from_pandas(df, npartitions=4)

    def kinds(x, token=""):
        names = " ".join(x.dask.layers)
        return (f"{token}-cut-" in names, f"{token}-split-" in names)

    assert kinds(d.shuffle("k", shuffle_method="tasks")) == (False, True)
    assert kinds(d.shuffle("k", shuffle_method="engine")) == (True, False)
    assert kinds(d.sort_values("k", shuffle_method="tasks")) == (False, True)
    right = d[["k"]].drop_duplicates(split_out=2)
    merged = d.merge(right, on="k", shuffle_method="tasks")
    assert kinds(merged, "shuffle-merge") == (False, True)
    assert_eq(
        d.merge(right, on="k", shuffle_method="tasks"),
        df.merge(df[["k"]].drop_duplicates(), on="k"),
        sort=True,
        check_index=False,
    )
    with pytest.raises(ValueError, match="shuffle_method must be one of"):
        d.set_index("k", shuffle_method="nope")


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_a_partial_compute_leaves_no_pieces_behind(df, scheduler):
    d = dd.from_pandas(df, npartitions=5)
    with oxdask.config.set({"dataframe.shuffle.method": "engine"}):
        s = d.shuffle("k", npartitions=4)
    before = _shuffle.held()
    part = s.get_partition(2).compute(scheduler=scheduler)
    assert 0 < len(part) < len(df)
    assert set(part.k) == set(df.k[df.k.isin(part.k)])
    assert s.head(3, npartitions=1, compute=False).compute(scheduler=scheduler).shape[0] <= 3
    assert _shuffle.held() == before  # the released barrier took the other pieces with it
