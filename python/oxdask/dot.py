"""Graphviz rendering of task graphs (``dask.dot`` names).

The DOT text is produced here without any dependency. Turning it into an image needs the
``graphviz`` Python package or the ``dot`` program of Graphviz.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping

from oxdask.utils import funcname

__all__ = ["dot_graph", "render", "to_dot"]

_IMAGE_FORMATS = {"png", "jpeg", "jpg", "gif", "svg", "pdf", "bmp", "tif", "tiff", "eps", "ps"}
_TOKEN = re.compile(r"[0-9a-f]{32}|[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _label(key, tokens: dict) -> str:
    """A short label for a key: long hex tokens become ``#0``, ``#1``..."""
    text = str(key)

    def repl(match):
        return "#" + str(tokens.setdefault(match.group(0), len(tokens)))

    return _TOKEN.sub(repl, text)


def _is_call(task) -> bool:
    return type(task) is tuple and bool(task) and callable(task[0])


def _task_name(task) -> str:
    from oxdask.core import literal

    func = task[0]
    if isinstance(func, literal):
        return "literal"
    name = funcname(func)
    if name == "apply" and len(task) > 1 and callable(task[1]):
        return funcname(task[1])
    return name


def to_dot(dsk: Mapping, rankdir: str = "BT", color: str | None = None, **graph_attr) -> str:
    """The Graphviz DOT source of a task graph.

    Each task is drawn as a circle (its function) pointing to a box (its result); each
    dependency as an edge from the box of the dependency to the circle of the task.

    Parameters
    ----------
    dsk : Mapping
        The task graph.
    rankdir : str
        Graph direction (``"BT"``: dependencies below).
    color : str, optional
        ``"order"`` colors the function nodes by execution priority.
    **graph_attr
        Extra Graphviz graph attributes.

    Returns
    -------
    str
    """
    from oxdask import _core

    dsk = dict(dsk)
    dependencies = _core.get_dependencies(dsk)
    priorities = _core.order(dsk) if color == "order" and dsk else None
    n_prio = max(len(dsk) - 1, 1)
    ids: dict = {}
    tokens: dict = {}

    def node_id(kind: str, key) -> str:
        ident = ids.get((kind, key))
        if ident is None:
            ident = ids[(kind, key)] = f"{kind}{len(ids)}"
        return ident

    lines = ["digraph {", f"    graph [rankdir={_quote(rankdir)}];"]
    for name, value in sorted(graph_attr.items()):
        lines.append(f"    graph [{name}={_quote(str(value))}];")
    for key in sorted(dsk, key=str):
        task = dsk[key]
        data = node_id("d", key)
        lines.append(f"    {data} [label={_quote(_label(key, tokens))}, shape=box];")
        if _is_call(task):
            func = node_id("f", key)
            attrs = f"label={_quote(_task_name(task))}, shape=circle"
            if priorities is not None:
                hue = 0.66 * (1 - priorities[key] / n_prio)
                attrs += f', style=filled, fillcolor="{hue:.3f} 0.5 1.0"'
            lines.append(f"    {func} [{attrs}];")
            lines.append(f"    {func} -> {data};")
            target = func
        else:
            target = data
        for dep in sorted(dependencies.get(key, ()), key=str):
            lines.append(f"    {node_id('d', dep)} -> {target};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_graph(dsk: Mapping, filename: str | None = "mydask", format: str | None = None, **kwargs):
    """Render a raw task graph (see :func:`render`)."""
    return render(dsk, filename=filename, format=format, **kwargs)


def _split_filename(filename: str | None, format: str | None) -> tuple[str | None, str]:
    if filename is None:
        return None, (format or "dot").lower()
    root, ext = os.path.splitext(filename)
    ext = ext[1:].lower()
    if format is None:
        if ext in _IMAGE_FORMATS or ext == "dot":
            return root, ext
        return filename, "png"
    format = format.lower()
    if ext == format:
        return root, format
    return filename, format


def render(dsk: Mapping, filename: str | None = "mydask", format: str | None = None, **kwargs):
    """Write a task graph as DOT text or as an image.

    Parameters
    ----------
    dsk : Mapping
        The task graph.
    filename : str or None
        Output path, with or without extension. ``None``: nothing is written.
    format : str, optional
        ``"dot"``, or an image format (needs Graphviz). Default: from ``filename``'s
        extension, else ``"png"``.
    **kwargs
        Passed to :func:`to_dot`.

    Returns
    -------
    object
        The DOT source for ``format="dot"`` or ``filename=None``; otherwise an IPython
        ``Image``/``SVG`` object when IPython is installed, else ``None``.

    Raises
    ------
    RuntimeError
        If an image format is asked and neither the ``graphviz`` package nor the ``dot``
        program is available.
    """
    kwargs.pop("verbose", None)
    kwargs.pop("collapse_outputs", None)
    source = to_dot(dsk, **kwargs)
    root, fmt = _split_filename(filename, format)
    if root is None:
        return source
    if fmt == "dot":
        path = root + ".dot"
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        return source
    if fmt == "jpg":
        fmt = "jpeg"
    path = f"{root}.{fmt}"
    data = _render_image(source, fmt)
    with open(path, "wb") as f:
        f.write(data)
    return _display(path, fmt, data)


def _render_image(source: str, fmt: str) -> bytes:
    try:
        import graphviz
    except ImportError:
        graphviz = None
    if graphviz is not None:
        try:
            return graphviz.Source(source).pipe(format=fmt)
        except Exception as e:
            if type(e).__name__ != "ExecutableNotFound":
                raise
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            f"Drawing task graphs as {fmt!r} needs Graphviz: install the `graphviz` Python "
            "package and the Graphviz system package (the `dot` program), e.g. "
            "`pip install graphviz` and `apt-get install graphviz`. "
            "Use format='dot' to write the DOT source without Graphviz."
        )
    return subprocess.run(
        [exe, f"-T{fmt}"], input=source.encode(), capture_output=True, check=True
    ).stdout


def _display(path: str, fmt: str, data: bytes):
    try:
        from IPython.display import SVG, Image
    except ImportError:
        return None
    if fmt == "svg":
        return SVG(data=data)
    if fmt in ("png", "jpeg", "gif"):
        return Image(data=data, format=fmt)
    return None
