"""``oxdask config list/get/find``: values and where they come from (defaults, YAML files in
DASK_CONFIG, environment variables), run as a user runs the command."""

import subprocess
import sys

import oxdask


def _run(args, tmp_path, **env):
    import os

    full = {**os.environ, "DASK_CONFIG": str(tmp_path), **env}
    full.pop("OXDASK_NUM_WORKERS", None)
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "oxdask.cli", "config", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=60,
    )


def test_find_lists_every_source_in_priority_order(tmp_path):
    (tmp_path / "a.yaml").write_text("num_workers: 3\narray:\n  chunk-size: 64MiB\n")
    out = _run(["find", "num_workers"], tmp_path, OXDASK_NUM_WORKERS="5")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].startswith("num_workers: None  (default)")
    assert "3" in lines[1]
    assert str(tmp_path / "a.yaml") in lines[1]
    assert lines[2] == "num_workers: 5  (environment OXDASK_NUM_WORKERS)"


def test_get_and_list(tmp_path):
    (tmp_path / "a.yaml").write_text("array:\n  chunk-size: 64MiB\n")
    assert _run(["get", "array.chunk-size"], tmp_path).stdout.strip() == "64MiB"
    listed = _run(["list"], tmp_path).stdout
    assert "array.chunk-size: '64MiB'  (file " in listed
    assert "distributed.worker.memory.spill: 0.7  (default)" in listed
    missing = _run(["get", "no.such.key"], tmp_path)
    assert missing.returncode == 1
    assert "no key 'no.such.key'" in missing.stderr
    assert _run(["find", "no.such.key"], tmp_path).returncode == 1


def test_chunk_size_default_is_dasks():
    assert oxdask.config.get("array.chunk-size") == "128MiB"
