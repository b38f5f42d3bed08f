"""The documentation cannot rot: its Python examples run, and the generated pages cover the code.

Every ```` ```python ```` block of ``docs/**/*.md`` and of ``README.md`` runs; the blocks of one
page run in order in one fresh interpreter (a page reads as one session), in a temporary
directory. A block that needs something the tests cannot provide (a cloud bucket, a remote
host) is preceded by ``<!-- no-test: reason -->`` and only compiled. The site itself is built
in strict mode by ``scripts/lint.sh`` (``mkdocs build --strict``).
"""

from __future__ import annotations

import importlib.util
import inspect
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_BLOCK = re.compile(r"(<!--\s*no-test:[^>]*-->\s*\n)?```python\n(.*?)\n```", re.DOTALL)


def _pages() -> list[pathlib.Path]:
    pages = sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)
    return [ROOT / "README.md", *pages]


def blocks(path: pathlib.Path) -> list[tuple[str, bool]]:
    """``(code, runs)`` of each python block of a Markdown file."""
    return [(m.group(2), m.group(1) is None) for m in _BLOCK.finditer(path.read_text())]


def _hooks():
    spec = importlib.util.spec_from_file_location("_docs_hooks", DOCS / "hooks" / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize(
    "page", [p for p in _pages() if blocks(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_examples_run(page, tmp_path):
    code = []
    for i, (block, runs) in enumerate(blocks(page)):
        compile(block, f"{page.name} block {i}", "exec")  # every block at least parses
        if runs:
            code.append(f"# --- block {i}\n{block}\n")
    if not code:
        return
    # Run as ``python -c``: processes started with spawn (the bag's default scheduler) then
    # do not re-run the page, which has no ``if __name__ == "__main__"`` guard.
    proc = subprocess.run(
        [sys.executable, "-c", "\n".join(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, f"{page}:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"


def test_a_failing_example_fails(tmp_path):
    page = tmp_path / "bad.md"
    page.write_text(
        "x\n\n```python\nassert 1 == 2\n```\n\n<!-- no-test: s3 -->\n```python\nimport s3\n```\n"
    )
    assert blocks(page) == [("assert 1 == 2", True), ("import s3", False)]


def test_every_config_default_is_described():
    import oxdask.jobqueue  # noqa: F401
    from oxdask import config

    hooks = _hooks()
    described = hooks.config_descriptions()
    flat = {}
    for d in config.defaults:
        flat.update(hooks._flatten(d))
    missing = [k for k in flat if not k.startswith("jobqueue.") and k not in described]
    assert not missing, f"describe these defaults in oxdask/config.py's docstring: {missing}"
    assert "distributed.worker.memory.pause" in described
    table = hooks.config_reference()
    for key in ("`array.chunk-size`", "`'128MiB'`", "`walltime`"):
        assert key in table


@pytest.mark.parametrize(
    "module",
    [
        "oxdask",
        "oxdask.array",
        "oxdask.dataframe",
        "oxdask.bag",
        "oxdask.distributed",
        "oxdask.diagnostics",
        "oxdask.xarray",
        "oxdask.joblib",
    ],
)
def test_api_reference_covers_every_public_name(module):
    hooks = _hooks()
    mod = importlib.import_module(module)
    text = hooks.module_reference(module)
    for name in hooks.public_names(mod):
        obj = getattr(mod, name)
        if inspect.ismodule(obj):
            assert f"`{module}.{name}`" in text
        else:
            assert "{ #" + f"{module}.{name}" + " }" in text, name
    pages = {p.read_text() for p in (DOCS / "api").glob("*.md")}
    assert any(f"<!-- api: {module} -->" in p for p in pages)


def test_numpydoc_rendering():
    hooks = _hooks()
    doc = """Add things.

    Parameters
    ----------
    x : int
        The first <thing>.
    y : int, optional

    Returns
    -------
    int

    Examples
    --------
    >>> add(1, 2)
    3
    """
    md = hooks.docstring_markdown(doc)
    assert "**Parameters**" in md
    assert "- **`x`** (int): The first &lt;thing&gt;." in md
    assert "- **`y`** (int, optional)" in md
    assert "```pycon\n>>> add(1, 2)\n3\n```" in md


def test_every_api_page_covers_its_names():
    hooks = _hooks()
    seen = set()
    for page in sorted((DOCS / "api").glob("*.md")):
        for m in hooks._API.finditer(page.read_text()):
            modname, defined, extra = m.group(1), bool(m.group(2)), (m.group(3) or "").split(",")
            seen.add(modname)
            mod = importlib.import_module(modname)
            text = hooks.module_reference(modname, defined, extra)
            names = {*hooks.public_names(mod, defined), *(n for n in extra if n)}
            assert names, modname
            for name in names:
                if not inspect.ismodule(getattr(mod, name)):
                    assert "{ #" + f"{modname}.{name}" + " }" in text, (page.name, name)
    assert {"oxdask.array.random", "oxdask.array.linalg", "oxdask.config"} <= seen


def test_a_difference_added_to_the_readme_reaches_the_docs():
    hooks = _hooks()
    page = "# Coming from Dask\n\n- `a` differs from Dask's\n  in one way.\n"
    readme = (
        "# x\n\n## Differences from Dask\n\n"
        "- `a` differs from Dask's in one way.\n"
        "- Summary ([more](docs/coming-from-dask.md#array)).\n"
        "- `b` is new, see [Array](docs/collections/array.md).\n\n## Next\n\n- not this\n"
    )
    out = hooks.readme_differences(page, readme)
    assert out == (
        "## More differences { #more }\n\n- `b` is new, see [Array](collections/array.md).\n"
    )
    assert hooks.readme_differences(page + out, readme) == ""
    assert "<!-- readme-differences -->" in (DOCS / "coming-from-dask.md").read_text()


def _slug(heading: str) -> str:
    text = re.sub(r"\{[^}]*\}", "", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_readme_links_into_the_docs_resolve():
    links = re.findall(r"\]\(((?:docs/)[^)#]+)(?:#([^)]+))?\)", (ROOT / "README.md").read_text())
    assert links
    for path, anchor in links:
        target = ROOT / path
        assert target.is_file(), path
        if anchor:
            text = target.read_text()
            ids = set(re.findall(r"\{ #([\w-]+) \}", text))
            ids |= {_slug(h) for h in re.findall(r"^#+ (.*)$", text, re.MULTILINE)}
            assert anchor in ids, f"{path}#{anchor}"
