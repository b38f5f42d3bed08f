"""Release hygiene: the source distribution builds, passes ``twine check`` (metadata and the
README as its long description) and carries what a build from it needs; the version has one
source (``Cargo.toml``); the extras mirror Dask's.

The abi3 wheel (``cp311-abi3``) is built by ``maturin build --release`` from the release build
the test command already made (cargo reuses it: seconds, not a second compilation) and checked
the same way.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import tarfile
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = pathlib.Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -r requirements-dev.txt)")
    return found


def _maturin(command: list[str], out: pathlib.Path, pattern: str, timeout: float) -> pathlib.Path:
    """Runs ``maturin <command> --out out`` and returns the one file matching ``pattern``."""
    proc = subprocess.run(
        [_tool("maturin"), *command, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (path,) = out.glob(pattern)
    return path


def _twine_check(path: pathlib.Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _cargo_version() -> str:
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> pathlib.Path:
    return _maturin(["sdist"], tmp_path_factory.mktemp("sdist"), "oxdask-*.tar.gz", 110)


def test_sdist_passes_twine_check(sdist):
    _twine_check(sdist)


def test_sdist_contents(sdist):
    assert sdist.name == f"oxdask-{_cargo_version()}.tar.gz"
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("pyproject.toml", "Cargo.toml", "Cargo.lock", "README.md", "PKG-INFO"):
        assert needed in names, needed
    for crate in (ROOT / "crates").iterdir():
        if (crate / "Cargo.toml").exists():
            assert f"crates/{crate.name}/Cargo.toml" in names, crate.name
            assert any(n.startswith(f"crates/{crate.name}/src/") for n in names), crate.name
    assert "python/oxdask/__init__.py" in names
    assert "python/oxdask/py.typed" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".so", ".pyc"))]


def test_version_has_one_source():
    import oxdask

    assert oxdask.__version__ == _cargo_version()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" in project["dynamic"]
    assert "version" not in project
    # No other hard-coded version string in the package.
    init = (ROOT / "python" / "oxdask" / "__init__.py").read_text()
    assert f'"{_cargo_version()}"' not in init


def test_extras_mirror_dask():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for name in ("array", "dataframe", "distributed", "diagnostics", "delayed", "bag", "complete"):
        assert name in extras, name
    complete = extras["complete"][0]
    for name in ("array", "dataframe", "distributed", "diagnostics"):
        assert name in complete, name
    assert any(r.startswith("pandas") for r in extras["dataframe"])
    assert any(r.startswith("numpy") for r in extras["array"])
    # the integrations' own extras, all in [complete]
    assert any(r.startswith("xarray") for r in extras["xarray"])
    assert {"joblib", "scikit-learn"} <= {r.split(">")[0] for r in extras["ml"]}
    assert any(r.startswith("s3fs") for r in extras["s3"])
    in_complete = set(complete.partition("[")[2].rstrip("]").split(","))
    assert {"xarray", "ml", "s3"} <= in_complete


@pytest.mark.timeout(900)
def test_the_abi3_wheel_builds_and_passes_twine_check(tmp_path):
    wheel = _maturin(["build", "--release"], tmp_path, "oxdask-*-cp311-abi3-*.whl", 900)
    assert _cargo_version() in wheel.name
    _twine_check(wheel)
