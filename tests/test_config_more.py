"""oxdask.config: YAML files, renamed keys, environment expansion and serialization."""

from __future__ import annotations

import os

import pytest

from oxdask import config
from oxdask.utils import tmpdir


def test_interpret_value():
    cases = {"4": 4, "1.5": 1.5, "None": None, "null": None, "TRUE": True, "false": False}
    for text, value in cases.items():
        assert config.interpret_value(text) == value
    assert config.interpret_value("[1, 2]") == [1, 2]
    assert config.interpret_value("hello") == "hello"


def test_expand_environment_variables(monkeypatch):
    monkeypatch.setenv("OXDASK_TEST_USER", "me")
    data = {"x": [1, "$OXDASK_TEST_USER"], "y": ("${OXDASK_TEST_USER}-2",), "z": 3}
    assert config.expand_environment_variables(data) == {"x": [1, "me"], "y": ("me-2",), "z": 3}


def test_serialize_round_trip():
    data = {"a": [1, 2, {"b": None}], "c": "text"}
    text = config.serialize(data)
    assert isinstance(text, str)
    assert config.deserialize(text) == data


def test_rename_and_check_deprecations():
    cfg = {"fuse-ave-width": 5, "other": 1}
    found = config.rename({"fuse-ave-width": "optimization.fuse.ave-width"}, config=cfg)
    assert found == {"fuse-ave-width": "optimization.fuse.ave-width"}
    assert cfg == {"other": 1, "optimization": {"fuse": {"ave-width": 5}}}
    with pytest.warns(FutureWarning, match="deprecated"):
        assert config.check_deprecations("fuse_ave_width") == "optimization.fuse.ave-width"
    with pytest.raises(ValueError, match="has been removed"):
        config.check_deprecations("gone", deprecations={"gone": None})
    assert config.check_deprecations("scheduler") == "scheduler"
    assert config.global_config is config.config


def test_collect_yaml_files_and_environment():
    pytest.importorskip("yaml")
    with tmpdir() as d:
        with open(os.path.join(d, "a.yaml"), "w") as f:
            f.write("x: 1\ny:\n  z: 2\n")
        with open(os.path.join(d, "b.yml"), "w") as f:
            f.write("y:\n  w: 3\n")
        assert list(config.collect_yaml([d])) == [{"x": 1, "y": {"z": 2}}, {"y": {"w": 3}}]
        assert [p.name for p in config.paths_containing_key("y.w", paths=[d])] == ["b.yml"]
        out = config.collect([d], env={"DASK_X": "10"})
        assert out == {"x": 10, "y": {"z": 2, "w": 3}}
        with open(os.path.join(d, "bad.yaml"), "w") as f:
            f.write("- just\n- a list\n")
        with pytest.raises(ValueError, match="malformed"):
            list(config.collect_yaml([d]))


def test_ensure_file_copies_once_with_comments():
    with tmpdir() as d:
        source = os.path.join(d, "src.yaml")
        with open(source, "w") as f:
            f.write("a: 1\n")
        dest = os.path.join(d, "out")
        config.ensure_file(source, dest)
        with open(os.path.join(dest, "src.yaml")) as f:
            assert f.read() == "# a: 1\n"
        with open(source, "w") as f:
            f.write("a: 2\n")
        config.ensure_file(source, dest)  # an existing file is kept
        with open(os.path.join(dest, "src.yaml")) as f:
            assert f.read() == "# a: 1\n"


def test_refresh_reads_yaml_files_then_the_environment():
    pytest.importorskip("yaml")
    defaults = [{"a": 1, "b": 0}]
    cfg: dict = {}
    with tmpdir() as d:
        with open(os.path.join(d, "x.yaml"), "w") as f:
            f.write("b: 2\nc: 3\n")
        config.refresh(config=cfg, defaults=defaults, paths=[d], env={"DASK_C": "4"})
    assert cfg == {"a": 1, "b": 2, "c": 4}
    config.refresh(config=cfg, defaults=defaults, paths=[], env={})
    assert cfg == {"a": 1, "b": 0}


def test_renamed_keys_warn_on_set_env_and_yaml():
    cfg: dict = {}
    with pytest.warns(FutureWarning, match=r"optimization\.fuse\.ave-width"):
        config.set({"fuse_ave_width": 123}, config=cfg)
    assert config.get("optimization.fuse.ave-width", config=cfg) == 123
    warns = pytest.warns(FutureWarning, match=r"optimization\.fuse\.ave-width")
    with warns, config.set(fuse_ave_width=5):
        assert config.get("optimization.fuse.ave-width") == 5
    with pytest.warns(FutureWarning, match=r"optimization\.fuse\.ave-width"):
        config.refresh(config=cfg, defaults=[], paths=[], env={"DASK_FUSE_AVE_WIDTH": "7"})
    assert config.get("optimization.fuse.ave-width", config=cfg) == 7
    removed = {"optimization.deleted-key": None}
    with pytest.raises(ValueError, match=r"optimization\.deleted-key"):
        config.check_deprecations("optimization.deleted-key", deprecations=removed)


def test_env_values_and_inherited_config():
    env = {"DASK_A": "Null", "DASK_B": "none", "DASK_C": "[1, 2]"}
    assert config.collect_env(env) == {"a": None, "b": None, "c": [1, 2]}
    inherited = config.serialize({"x": {"y": 1}})
    assert config.collect_env({"DASK_INTERNAL_INHERIT_CONFIG": inherited}) == {"x": {"y": 1}}


def test_yaml_errors_and_search_paths(monkeypatch):
    pytest.importorskip("yaml")
    import site
    import sys

    with tmpdir() as d:
        with open(os.path.join(d, "a.yaml"), "w") as f:
            f.write("{")
        with pytest.raises(ValueError, match="original error message"):
            list(config.collect_yaml([d]))
        with open(os.path.join(d, "a.yaml"), "w") as f:
            f.write("[1234]")
        with pytest.raises(ValueError, match="must have a dict"):
            list(config.collect_yaml([d]))
    monkeypatch.delenv("DASK_CONFIG", raising=False)
    monkeypatch.delenv("DASK_ROOT_CONFIG", raising=False)
    monkeypatch.setattr(site, "PREFIXES", [])
    expected = [
        "/etc/dask",
        os.path.join(sys.prefix, "etc", "dask"),
        os.path.join(os.path.expanduser("~"), ".config", "dask"),
    ]
    assert config._get_paths() == expected
    monkeypatch.setenv("DASK_ROOT_CONFIG", "root-dir")
    assert config._get_paths() == ["root-dir", *expected[1:]]


def test_ensure_file_writes_to_the_current_path(monkeypatch):
    with tmpdir() as d:
        source = os.path.join(d, "source.yaml")
        with open(source, "w") as f:
            f.write("a: 1\n")
        target = os.path.join(d, "target")
        monkeypatch.setattr(config, "PATH", target)
        config.ensure_file(source=source)
        assert os.listdir(target) == ["source.yaml"]
