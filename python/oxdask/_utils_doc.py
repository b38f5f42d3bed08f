"""Docstrings borrowed from the libraries oxdask mirrors (``dask.utils.derived_from``).

Re-exported by :mod:`oxdask.utils`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re

_SECTION = re.compile(r"^\s*-{3,}\s*$")


def skip_doctest(line: str) -> str:
    """``line`` with ``# doctest: +SKIP`` added if it is a doctest prompt (``>>>``)."""
    stripped = line.strip()
    if stripped.startswith(">>>") and "doctest:" not in stripped:
        return line + "  # doctest: +SKIP"
    return line


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
    lines = doc.split("\n")
    for arg in args or ():
        pattern = re.compile(rf"^(\s*){re.escape(arg)}\s*:")
        for i, line in enumerate(lines):
            if pattern.match(line):
                lines[i] = line + " (Not supported in oxdask)"
                break
    return "\n".join(lines)


def ignore_warning(doc: str, cls, name: str, extra: str = "", skipblocks: int = 0,
                   inconsistencies=None) -> str:  # fmt: skip
    """``doc`` of ``cls.name`` with a note that it was copied, ``extra`` text, and
    ``skipblocks`` leading paragraphs dropped."""
    paragraphs = doc.split("\n\n")
    if skipblocks:
        paragraphs = paragraphs[skipblocks:]
    head, rest = (paragraphs[0], paragraphs[1:]) if paragraphs else ("", [])
    origin = f"{cls.__module__.split('.')[0]}.{cls.__name__}.{name}"
    indent = re.match(r"\s*", head.split("\n")[-1] if head else "").group(0) or "    "
    note = [
        f"{indent}This docstring was copied from {origin}.",
        f"{indent}Some inconsistencies with the oxdask version may exist."
        + (f" {inconsistencies}" if inconsistencies else ""),
    ]
    if extra:
        note.append(indent + inspect.cleandoc(extra).replace("\n", "\n" + indent))
    return "\n\n".join([head, *note, *rest])


def derived_from(original_klass, version=None, ua_args=None, skipblocks: int = 0,
                 inconsistencies=None):  # fmt: skip
    """Decorator: give a method the docstring of the method of the same name of
    ``original_klass`` (pandas, NumPy...), noting where it was copied from; the method's own
    docstring is added to it, parameters in ``ua_args`` are marked unsupported and doctests
    skipped. If ``original_klass`` has no such method, calling the method raises
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
            doc = ignore_warning(
                doc, original_klass, name, extra=method.__doc__ or "", skipblocks=skipblocks,
                inconsistencies=inconsistencies,
            )  # fmt: skip
            doc = unsupported_arguments(doc, ua_args)
            doc = extra_titles("\n".join(skip_doctest(line) for line in doc.split("\n")))
            with contextlib.suppress(AttributeError):  # read-only docstrings stay
                method.__doc__ = doc
        return method

    return wrapper
