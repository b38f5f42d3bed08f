"""MkDocs hook: pages generated from the code, so that they cannot drift from it.

- ``<!-- config-reference -->`` becomes the table of every built-in configuration default
  (``oxdask.config.defaults``, including those registered by ``oxdask.jobqueue``), with the
  descriptions written in ``oxdask/config.py``'s module docstring.
- ``<!-- readme-differences -->`` becomes the bullets of the README's "Differences from Dask"
  that the page does not have yet, so that a line added to the README is never lost here.
- ``<!-- api: MODULE -->`` becomes the reference of every public name of ``MODULE`` (its
  ``__all__``, else every name not starting with ``_``): signature and numpydoc docstring,
  and for oxdask's classes their public methods and properties. ``<!-- api: MODULE defined
  +a,b -->``: only the names defined in ``MODULE`` itself, and ``a`` and ``b``.

A public function or class without a docstring, or a configuration default without a
description, is logged as a warning, which fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pathlib
import re
import textwrap

log = logging.getLogger("mkdocs.plugins.oxdask")

_API = re.compile(r"<!--\s*api:\s*([\w.]+)(\s+defined)?(?:\s+\+([\w,]+))?\s*-->")
_CONFIG = "<!-- config-reference -->"
_README_DIFFS = "<!-- readme-differences -->"
_ROOT = pathlib.Path(__file__).resolve().parents[2]
_PARAM_SECTIONS = {
    "Parameters",
    "Other Parameters",
    "Returns",
    "Yields",
    "Raises",
    "Warns",
    "Attributes",
    "Keyword Arguments",
}


def on_page_markdown(markdown: str, page, **kwargs) -> str:
    if _CONFIG in markdown:
        markdown = markdown.replace(_CONFIG, config_reference())
    if _README_DIFFS in markdown:
        markdown = markdown.replace(_README_DIFFS, readme_differences(markdown))
    return _API.sub(
        lambda m: module_reference(m.group(1), bool(m.group(2)), (m.group(3) or "").split(",")),
        markdown,
    )


# --- configuration ------------------------------------------------------------------------


def _flatten(tree: dict) -> dict:
    """Dotted keys of a nested configuration (as ``oxdask config list`` shows them)."""
    from oxdask._config_cli import _flatten as flatten

    return flatten(tree)


def config_descriptions() -> dict[str, str]:
    """``key -> description`` from the "Built-in defaults" section of ``oxdask.config``."""
    from oxdask import config

    doc = inspect.getdoc(config) or ""
    section = doc.split("Built-in defaults", 1)[1].split("\n", 2)[2]
    out: dict[str, str] = {}
    entries = re.split(r"\n(?=\S)", section.strip())
    for entry in entries:
        head, _, body = entry.partition("\n")
        names = head.split(" : ", 1)[0].strip()
        desc = " ".join(line.strip() for line in body.splitlines())
        first, *more = (n.strip() for n in names.split("/"))
        out[first] = desc
        stem = first.rsplit(".", 1)[0]
        for leaf in more:
            out[f"{stem}.{leaf}"] = desc
    return out


def _md_value(v) -> str:
    return "`" + repr(v).replace("|", "\\|") + "`"


def config_reference() -> str:
    import oxdask.jobqueue  # noqa: F401  (registers the jobqueue.* defaults)
    from oxdask import config

    flat: dict = {}
    for d in config.defaults:
        flat.update(_flatten(d))
    described = config_descriptions()
    rows = ["| Key | Default | Meaning |", "| --- | --- | --- |"]
    jobqueue: dict[str, dict] = {}
    for key in sorted(flat):
        if key.startswith("jobqueue."):
            _, system, name = key.split(".", 2)
            jobqueue.setdefault(name, {})[system] = flat[key]
            continue
        desc = described.get(key)
        if desc is None:
            log.warning("configuration default %r has no description in oxdask/config.py", key)
            desc = ""
        rows.append(f"| `{key}` | {_md_value(flat[key])} | {_escape(desc, table=True)} |")
    systems = sorted({s for per in jobqueue.values() for s in per})
    rows += [
        "",
        "### Job queues",
        "",
        "`jobqueue.<system>.<key>` is the default of the keyword `<key>` (hyphens as underscores) "
        "of that system's cluster class (`SLURMCluster` for `slurm`...), as in dask-jobqueue. "
        "A blank cell: the system has no such key.",
        "",
        "| Key | " + " | ".join(f"`{s}`" for s in systems) + " |",
        "| --- |" + " --- |" * len(systems),
    ]
    for name in sorted(jobqueue):
        cells = [_md_value(jobqueue[name][s]) if s in jobqueue[name] else "" for s in systems]
        rows.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


# --- differences from Dask ----------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def readme_differences(page: str, readme: str | None = None) -> str:
    """The bullets of the README's "Differences from Dask" that this page lacks (added to the
    README since the page was written), except those that link here (the README's summaries)."""
    if readme is None:
        readme = (_ROOT / "README.md").read_text()
    if "## Differences from Dask" not in readme:
        return ""
    section = readme.split("## Differences from Dask", 1)[1]
    section = re.split(r"\n## ", section, maxsplit=1)[0]
    bullets = [b.strip() for b in re.split(r"\n(?=- )", "\n" + section) if b.startswith("- ")]
    known = _norm(page)
    bullets = [b.replace("](docs/", "](") for b in bullets if "coming-from-dask.md" not in b]
    new = [b for b in bullets if _norm(b[2:]) not in known]
    if not new:
        return ""
    return "## More differences { #more }\n\n" + "\n".join(new) + "\n"


# --- API ------------------------------------------------------------------------------------


def public_names(module, defined: bool = False) -> list[str]:
    """``__all__``, else every name not starting with ``_``; with ``defined``, only the names
    whose objects come from the module itself (not what it imported)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    if defined:
        names = [
            n for n in names if getattr(getattr(module, n), "__module__", None) == module.__name__
        ]
    return sorted(n for n in names if not n.startswith("_") or n == "__version__")


def _escape(text: str, table: bool = False) -> str:
    """Escape Markdown/HTML specials outside code spans (and ``|`` in a table cell)."""
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):
        p = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts[i] = p.replace("*", r"\*")
    out = "".join(parts)
    return out.replace("|", r"\|") if table else out


def _rst_inline(text: str) -> str:
    text = re.sub(r":[\w:]+:`~?([^`]+)`", r"`\1`", text)  # :func:`x` -> `x`
    return text.replace("``", "`")


def _render_params(lines: list[str]) -> list[str]:
    out: list[str] = []
    name = None
    desc: list[str] = []

    def flush():
        if name is not None:
            head, _, typ = name.partition(" : ")
            item = f"- **`{head.strip()}`**"
            if typ.strip():
                item += f" ({_escape(_rst_inline(typ.strip()))})"
            if desc:
                item += ": " + _escape(_rst_inline(" ".join(d.strip() for d in desc)))
            out.append(item)

    for line in lines:
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):
            flush()
            name, desc = line, []
        else:
            desc.append(line)
    flush()
    return out


def docstring_markdown(doc: str) -> str:
    """Numpydoc text as Markdown: sections as bold titles, parameters as lists, examples as
    ``pycon`` blocks."""
    lines = inspect.cleandoc(doc).splitlines()
    sections: list[tuple[str | None, list[str]]] = [(None, [])]
    i = 0
    while i < len(lines):
        if (
            i + 1 < len(lines)
            and lines[i].strip()
            and re.fullmatch(r"-{3,}", lines[i + 1].strip())
            and not lines[i].startswith(" ")
        ):
            sections.append((lines[i].strip(), []))
            i += 2
            continue
        sections[-1][1].append(lines[i])
        i += 1
    out: list[str] = []
    for title, body in sections:
        if title is not None:
            out += ["", f"**{title}**", ""]
        if title in _PARAM_SECTIONS:
            out += _render_params(body)
        elif title == "Examples" or any(ln.lstrip().startswith(">>>") for ln in body):
            text = textwrap.dedent("\n".join(body)).strip("\n")
            if title != "Examples":
                out.append(_escape(_rst_inline(text.split(">>>", 1)[0])))
                text = ">>>" + text.split(">>>", 1)[1]
            out += ["```pycon", text, "```"]
        else:
            text = textwrap.dedent("\n".join(body))
            para: list[str] = []
            for ln in [*text.splitlines(), ""]:
                if ln.startswith("    ") and not para:
                    out.append(ln)  # an indented (literal) block stays a code block
                elif ln.strip():
                    para.append(ln[:-1] if ln.endswith("::") else ln)
                else:
                    if para:  # a paragraph is escaped whole: code spans may cross lines
                        out.append(_escape(_rst_inline("\n".join(para))))
                        para = []
                    out.append("")
    return "\n".join(out).strip() + "\n"


def _signature(name: str, obj) -> str | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        sig = sig.replace(parameters=params[1:])
    text = re.sub(r" at 0x[0-9a-f]+", "", f"{name}{sig}")
    # Annotations kept as strings (``from __future__ import annotations``) lose their quotes.
    text = re.sub(r"(: |-> )'([^']*)'", r"\1\2", text)
    return f"```python\n{text}\n```\n"


def _member_kind(cls, name: str):
    for base in cls.__mro__:
        if name in base.__dict__:
            return base, base.__dict__[name]
    return None, None


def _class_members(cls) -> list[tuple[str, object, str]]:
    out = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owner, raw = _member_kind(cls, name)
        if owner is None or not (owner.__module__ or "").startswith("oxdask"):
            continue
        if isinstance(raw, property):
            out.append((name, raw, "property"))
        elif isinstance(raw, (staticmethod, classmethod)):
            out.append((name, raw.__func__, "method"))
        elif inspect.isfunction(raw) or inspect.ismethoddescriptor(raw):
            out.append((name, raw, "method"))
    return out


def object_markdown(qualname: str, short: str, obj, level: int) -> str:
    hashes = "#" * level
    anchor = "{ #" + qualname + " }"
    module = getattr(obj, "__module__", None) or ""
    if inspect.ismodule(obj):
        return f"{hashes} `{short}` {anchor}\n\nThe submodule `{obj.__name__}`.\n\n"
    if not (callable(obj) or isinstance(obj, property)):
        return f"{hashes} `{short}` {anchor}\n\nA value: `{obj!r}`.\n\n"
    if not module.startswith("oxdask") and not isinstance(obj, property):
        origin = f"{module}.{getattr(obj, '__qualname__', short)}".strip(".")
        return f"{hashes} `{short}` {anchor}\n\n`{origin}`, re-exported unchanged.\n\n"
    kind = "class" if inspect.isclass(obj) else ""
    parts = [f"{hashes} {kind} `{short}` {anchor}".replace("  ", " "), ""]
    target = obj.fget if isinstance(obj, property) else obj
    if not isinstance(obj, property):
        sig = _signature(short.rsplit(".", 1)[-1], obj)
        if sig:
            parts.append(sig)
    doc = inspect.getdoc(target)
    if doc:
        parts.append(docstring_markdown(doc))
    elif level == 2:
        log.warning("public name %s has no docstring", qualname)
    if inspect.isclass(obj) and module.startswith("oxdask"):
        for name, member, _ in _class_members(obj):
            parts.append(
                object_markdown(f"{qualname}.{name}", f"{short}.{name}", member, level + 1)
            )
    return "\n".join(parts) + "\n"


def module_reference(modname: str, defined: bool = False, extra: list[str] = ()) -> str:
    module = importlib.import_module(modname)
    out = []
    doc = inspect.getdoc(module)
    if doc:
        out.append(docstring_markdown(doc))
    names = sorted({*public_names(module, defined), *(n for n in extra if n)})
    subs = [n for n in names if inspect.ismodule(getattr(module, n))]
    if subs:
        out.append("Submodules: " + ", ".join(f"`{modname}.{n}`" for n in subs) + ".\n")
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            continue
        out.append(object_markdown(f"{modname}.{name}", name, obj, 2))
    return "\n".join(out)
