"""oxdask.config: dotted keys, nesting, context managers, environment, defaults."""

from __future__ import annotations

import pytest

import oxdask
from oxdask import config


def test_defaults():
    assert config.get("scheduler") is None
    assert config.get("num_workers") is None
    assert config.get("optimization.fuse.active") is None
    assert config.get("multiprocessing.context") == "spawn"
    assert config.get("tokenize.ensure-deterministic") is False


def test_get_default_and_missing():
    assert config.get("does.not.exist", 123) == 123
    assert config.get("does.not.exist", None) is None
    with pytest.raises(KeyError):
        config.get("does.not.exist")
    assert config.get("scheduler", override_with="sync") == "sync"


def test_set_context_manager_restores():
    before = dict(config.config)
    with config.set({"a.b.c": 1}, scheduler="sync"):
        assert config.get("a.b.c") == 1
        assert config.get("a") == {"b": {"c": 1}}
        assert config.get("scheduler") == "sync"
        with config.set(scheduler="threads"):
            assert config.get("scheduler") == "threads"
        assert config.get("scheduler") == "sync"
    assert config.config == before
    assert config.get("a", None) is None


def test_set_double_underscore_and_nested_dict():
    with config.set(foo__bar=1, nested={"x": {"y": 2}}):
        assert config.get("foo.bar") == 1
        assert config.get("nested.x.y") == 2
    assert config.get("foo", None) is None


def test_set_restores_overwritten_nested_value():
    with config.set({"optimization.fuse.active": False}):
        assert config.get("optimization.fuse.active") is False
        assert config.get("optimization.fuse") == {"active": False}
    assert config.get("optimization.fuse.active") is None


def test_hyphen_underscore_equivalence():
    with config.set({"my-key": 1}):
        assert config.get("my_key") == 1
        with config.set(my_key=2):
            assert config.get("my-key") == 2
            assert "my_key" not in config.config
    with config.set({"multiprocessing.context": "fork"}):
        assert config.get("multiprocessing.context") == "fork"
    with config.set({"tokenize.ensure_deterministic": True}):
        assert config.get("tokenize.ensure-deterministic") is True


def test_global_set_and_restore():
    config.set(custom_global_value=5)
    try:
        assert config.get("custom-global-value") == 5
    finally:
        config.config.pop("custom_global_value")


def test_set_is_exception_safe():
    with pytest.raises(ZeroDivisionError), config.set(scheduler="sync"):
        _ = 1 / 0
    assert config.get("scheduler") is None


def test_set_scheduler_is_used_by_compute():
    seen = []

    def my_get(dsk, keys, **kwargs):
        seen.append(True)
        return oxdask.get(dsk, keys)

    with config.set(scheduler=my_get):
        assert oxdask.delayed(1).compute() == 1
    assert seen == [True]


def test_env_and_refresh(monkeypatch):
    monkeypatch.setenv("DASK_NUM_WORKERS", "3")
    monkeypatch.setenv("OXDASK_OPTIMIZATION__FUSE__ACTIVE", "False")
    monkeypatch.setenv("OXDASK_SOME_NAME", "hello")
    try:
        config.refresh()
        assert config.get("num_workers") == 3
        assert config.get("optimization.fuse.active") is False
        assert config.get("some_name") == "hello"
        assert config.get("multiprocessing.context") == "spawn"
    finally:
        monkeypatch.undo()
        config.refresh()
    assert config.get("num_workers") is None


def test_update_merge_pop():
    a = {"x": 1, "y": {"a": 2}}
    config.update(a, {"x": 2, "y": {"b": 3}})
    assert a == {"x": 2, "y": {"a": 2, "b": 3}}
    b = {"x": 1, "y": {"a": 2}}
    config.update(b, {"x": 2, "y": {"a": 3}}, priority="old")
    assert b == {"x": 1, "y": {"a": 2}}
    assert config.merge({"a": {"b": 1}}, {"a": {"c": 2}}) == {"a": {"b": 1, "c": 2}}
    d = {"p": {"q": 1}}
    assert config.pop("p.q", config=d) == 1
    assert config.pop("p.q", "gone", config=d) == "gone"


def test_update_defaults():
    d = {"lib": {"opt": 1}}
    defaults = [{"lib": {"opt": 1}}]
    config.update_defaults({"lib": {"opt": 2, "new": 3}}, config=d, defaults=defaults)
    assert d == {"lib": {"opt": 2, "new": 3}}
    d2 = {"lib": {"opt": 5}}  # changed by the user: kept
    config.update_defaults({"lib": {"opt": 2}}, config=d2, defaults=[{"lib": {"opt": 1}}])
    assert d2 == {"lib": {"opt": 5}}


def test_fuse_config_does_not_change_results():
    x = oxdask.delayed(0)
    for _ in range(10):
        x = oxdask.delayed(lambda v: v + 1)(x)
    with config.set({"optimization.fuse.active": False}):
        assert x.compute() == 10
    assert x.compute() == 10


def test_num_workers_config():
    import threading

    idents = set()
    lock = threading.Lock()

    def record(i):
        import time

        time.sleep(0.005)
        with lock:
            idents.add(threading.get_ident())
        return i

    xs = [oxdask.delayed(record)(i) for i in range(20)]
    with config.set(num_workers=1):
        assert oxdask.compute(xs, scheduler="threads")[0] == list(range(20))
    assert len(idents) == 1


def test_matches_dask_config_semantics():
    dask = pytest.importorskip("dask")
    for mod in (dask, oxdask):
        with mod.config.set({"abc.def-ghi": 1}, xyz__uvw=2):
            assert mod.config.get("abc.def_ghi") == 1
            assert mod.config.get("xyz.uvw") == 2
        assert mod.config.get("abc", "missing") == "missing"
