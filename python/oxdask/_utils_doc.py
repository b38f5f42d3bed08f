"""Docstrings borrowed from the libraries oxdask mirrors (``dask.utils.derived_from``), and
deprecation and text-table helpers.

Re-exported by :mod:`oxdask.utils`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
import warnings

_SECTION = re.compile(r"^\s*-{3,}\s*$")
_PARAM = re.compile(r"^\s*([A-Za-z_*][\w*]*)\s*:")


def skip_doctest(doc: str | None) -> str:
    """``doc`` with ``# doctest: +SKIP`` on every doctest line that has code (an existing
    ``# doctest:`` directive gets ``, +SKIP``)."""
    if doc is None:
        return ""
    lines = doc.split("\n")
    for i, line in enumerate(lines):
        code = line.strip()
        if not code.startswith(">>>"):
            continue
        body = code[3:].strip()
        if not body or body.startswith("#"):
            continue
        if "# doctest:" in line:
            if "+SKIP" not in line:
                lines[i] = line + ", +SKIP"
        else:
            lines[i] = line + "  # doctest: +SKIP"
    return "\n".join(lines)


def extra_titles(doc: str) -> str:
    """Make repeated section titles of a merged docstring unique ("Notes" twice becomes
    "Notes" and "Extra Notes")."""
    lines = doc.split("\n")
    seen: set = set()
    for i in range(1, len(lines)):
        if _SECTION.match(lines[i]):
            title = lines[i - 1].strip()
            if title in seen:
                indent = lines[i - 1][: len(lines[i - 1]) - len(lines[i - 1].lstrip())]
                lines[i - 1] = f"{indent}Extra {title}"
                lines[i] = indent + "-" * len(f"Extra {title}")
            seen.add(title)
    return "\n".join(lines)


def unsupported_arguments(doc: str, args) -> str:
    """Mark the parameters named in ``args`` as "(Not supported in oxdask)" in ``doc``."""
    args = set(args or ())
    lines = doc.split("\n")
    for i, line in enumerate(lines):
        m = _PARAM.match(line)
        if m and m.group(1).lstrip("*") in args and "Not supported" not in line:
            lines[i] = line + "  (Not supported in oxdask)"
    return "\n".join(lines)


def _documented_params(doc: str) -> list[str]:
    """Parameter names of the "Parameters" section of a NumPy-style docstring."""
    lines = doc.split("\n")
    names: list[str] = []
    inside = False
    indent = None
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and _SECTION.match(lines[i + 1]):
            inside = line.strip() == "Parameters"
            indent = None
            continue
        if not inside or _SECTION.match(line) or not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if indent is None:
            indent = width
        m = _PARAM.match(line)
        if width == indent and m:
            names.append(m.group(1).lstrip("*"))
    return names


def _origin(original_klass, name: str) -> str:
    if inspect.ismodule(original_klass):
        return f"{original_klass.__name__}.{name}"
    module = (getattr(original_klass, "__module__", None) or "").split(".")[0]
    return f"{module}.{original_klass.__name__}.{name}" if module else f"{name}"


def ignore_warning(doc: str, cls, name: str, extra: str = "", skipblocks: int = 0,
                   inconsistencies=None) -> str:  # fmt: skip
    """``doc`` of ``cls.name`` with a note that it was copied (and where), ``extra`` text
    and ``skipblocks`` leading paragraphs dropped."""
    paragraphs = doc.split("\n\n")
    if skipblocks:
        paragraphs = paragraphs[skipblocks:]
    head, rest = (paragraphs[0], paragraphs[1:]) if paragraphs else ("", [])
    last = head.split("\n")[-1] if head else ""
    indent = last[: len(last) - len(last.lstrip())]
    note = [f"{indent}This docstring was copied from {_origin(cls, name)}."]
    note.append(
        f"{indent}Some inconsistencies with the oxdask version may exist."
        + (f" {inconsistencies}" if inconsistencies else "")
    )
    if extra:
        note.append(indent + inspect.cleandoc(extra).replace("\n", "\n" + indent))
    return "\n\n".join([head, *note, *rest])


def derived_from(original_klass, version=None, ua_args=None, skipblocks: int = 0,
                 inconsistencies=None):  # fmt: skip
    """Decorator: give a method (or function) the docstring of the attribute of the same
    name of ``original_klass`` (a class or a module), noting where it was copied from; the
    method's own docstring is added to it, documented parameters that the method does not
    take (and those in ``ua_args``) are marked unsupported, and doctests are skipped. If
    ``original_klass`` has no such attribute, calling the method raises
    ``NotImplementedError``."""

    def wrapper(method):
        name = method.__name__
        try:
            original = getattr(original_klass, name)
        except AttributeError:

            @functools.wraps(method)
            def unsupported(*args, **kwargs):
                raise NotImplementedError(f"Base package doesn't support '{name}'.")

            return unsupported
        doc = getattr(original, "__doc__", None) or ""
        if doc:
            try:
                own = set(inspect.signature(method).parameters)
            except (TypeError, ValueError):
                own = None
            missing = set(ua_args or ())
            if own is not None and not any(
                p.kind is p.VAR_KEYWORD for p in inspect.signature(method).parameters.values()
            ):
                missing |= {p for p in _documented_params(doc) if p not in own}
            doc = ignore_warning(
                doc, original_klass, name, extra=method.__doc__ or "", skipblocks=skipblocks,
                inconsistencies=inconsistencies,
            )  # fmt: skip
            doc = extra_titles(skip_doctest(unsupported_arguments(doc, missing)))
            with contextlib.suppress(AttributeError):  # read-only docstrings stay
                method.__doc__ = doc
        return method

    return wrapper


def _deprecated(*, version=None, after_version=None, message=None, use_instead=None,
                category=FutureWarning):  # fmt: skip
    """Decorator: calling the function warns (``category``) that it is deprecated.

    The message says since which version (``version``/``after_version``), what to use
    instead, and that it will be removed; ``message`` replaces it.
    """

    def decorator(func):
        if message is not None:
            text = message
        else:
            text = f"{func.__name__} "
            if after_version is not None:
                text += f"was deprecated after version {after_version} "
            elif version is not None:
                text += f"was deprecated in version {version} "
            else:
                text += "is deprecated "
            text += "and will be removed in a future release."
            if use_instead is not None:
                text += f" Please use {use_instead} instead."

        @functools.wraps(func)
        def wrapped(*args, **kwargs):
            warnings.warn(text, category=category, stacklevel=2)
            return func(*args, **kwargs)

        return wrapped

    return decorator


def asciitable(columns, rows) -> str:
    """A text table of ``rows`` (sequences) under the ``columns`` titles."""
    rows = [[str(x) for x in row] for row in rows]
    columns = [str(c) for c in columns]
    widths = [max(len(x) for x in col) for col in zip(columns, *rows, strict=True)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(cells, widths, strict=True)) + "|"

    return "\n".join([rule, line(columns), rule, *(line(r) for r in rows), rule])


def put_lines(buf, lines) -> None:
    """Write ``lines`` (converted to ``str``) to the text stream ``buf``, one per line."""
    buf.write("\n".join(str(x) for x in lines))


def show_versions() -> None:
    """Print, as JSON, the versions of Python, the platform, oxdask and its main optional
    dependencies (for bug reports)."""
    import json
    import platform
    import sys
    from importlib import metadata

    from oxdask import __version__

    found: dict = {
        "Python": ".".join(str(i) for i in sys.version_info[:3]),
        "Platform": platform.uname().system,
        "oxdask": __version__,
    }
    for name in ("numpy", "pandas", "cloudpickle", "fsspec", "bokeh", "pyarrow", "zarr"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    sys.stdout.write(json.dumps(found, indent=4) + "\n")
