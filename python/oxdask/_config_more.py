"""More of ``dask.config``: YAML files, renamed keys, environment expansion, serialization.

Re-exported by :mod:`oxdask.config`. :func:`collect` reads YAML files like Dask's, but
:func:`oxdask.config.refresh` itself uses only the built-in defaults and the environment.
"""

from __future__ import annotations

import builtins
import os
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any


def _config_module():
    from oxdask import config

    return config


def _get_paths() -> list[str]:
    """Where YAML configuration files are searched, lowest priority first:
    ``DASK_ROOT_CONFIG`` (default ``/etc/dask``), ``<prefix>/etc/dask`` of this Python and
    of ``site.PREFIXES``, ``~/.config/dask``, then ``DASK_CONFIG`` if set (a path listed
    twice keeps its last place)."""
    import site

    found = [
        os.getenv("DASK_ROOT_CONFIG", "/etc/dask"),
        os.path.join(sys.prefix, "etc", "dask"),
        *[os.path.join(prefix, "etc", "dask") for prefix in site.PREFIXES],
        os.path.join(os.path.expanduser("~"), ".config", "dask"),
    ]
    if "DASK_CONFIG" in os.environ:
        found.append(os.environ["DASK_CONFIG"])
    return list(reversed(dict.fromkeys(reversed(found))))


paths: list[str] = _get_paths()
"""Directories searched for YAML configuration files, lowest priority first."""

PATH: str = os.environ.get("DASK_CONFIG") or os.path.join(
    os.path.expanduser("~"), ".config", "dask"
)
"""The directory where :func:`ensure_file` writes."""

deprecations: dict[str, str | None] = {
    "fuse-ave-width": "optimization.fuse.ave-width",
    "fuse-max-height": "optimization.fuse.max-height",
    "fuse-max-width": "optimization.fuse.max-width",
    "fuse-rename-keys": "optimization.fuse.rename-keys",
    "fuse-max-depth-new-edges": "optimization.fuse.max-depth-new-edges",
    "shuffle": "dataframe.shuffle.algorithm",
    "array.rechunk-threshold": "array.rechunk.threshold",
    "dataframe.shuffle.algorithm": "dataframe.shuffle.method",
    "dataframe.shuffle-compression": "dataframe.shuffle.compression",
    "admin.traceback.shorten.what": "admin.traceback.shorten",
    "array.shuffle.chunksize-tolerance": "array.chunk-size-tolerance",
}
"""Renamed keys ``{old: new}`` (``None``: removed), spelled with hyphens."""


def interpret_value(value: str) -> Any:
    """A string from the environment as a Python value: literals are evaluated
    (``"4"`` -> ``4``), ``none``/``null``/``true``/``false`` in any case are understood,
    anything else stays a string."""
    import ast

    try:
        return ast.literal_eval(value)
    except (SyntaxError, ValueError):
        pass
    return {"none": None, "null": None, "true": True, "false": False}.get(value.lower(), value)


def expand_environment_variables(config: Any) -> Any:
    """``config`` with ``$VAR`` / ``${VAR}`` expanded in every string, through nested dicts,
    lists, tuples and sets."""
    if isinstance(config, Mapping):
        return {k: expand_environment_variables(v) for k, v in config.items()}
    if isinstance(config, str):
        return os.path.expandvars(config)
    if isinstance(config, (list, tuple, builtins.set)):
        return type(config)(expand_environment_variables(v) for v in config)
    return config


def serialize(data: Any) -> str:
    """JSON-serializable ``data`` as a URL-safe base64 string (for environment variables)."""
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def deserialize(data: str) -> Any:
    """The inverse of :func:`serialize`."""
    import base64
    import json

    return json.loads(base64.urlsafe_b64decode(data.encode()).decode())


def check_deprecations(key: str, deprecations: Mapping[str, str | None] = deprecations) -> str:
    """The key to use for ``key``: its new name (with a ``FutureWarning``) if it was renamed;
    ``ValueError`` if it was removed; else ``key`` itself."""
    old = key.replace("_", "-")
    if old not in deprecations:
        return key
    new = deprecations[old]
    if not new:
        raise ValueError(f"Dask configuration key {key!r} has been removed")
    warnings.warn(
        f"Dask configuration key {key!r} has been deprecated; please use {new!r} instead",
        FutureWarning,
        stacklevel=2,
    )
    return new


def rename(
    deprecations: Mapping[str, str | None] = deprecations, config: dict | None = None
) -> dict[str, str | None]:
    """Move the values of renamed keys of ``config`` (the global one by default) to their new
    keys and drop removed keys.

    Returns
    -------
    dict
        ``{old key: new key or None}`` for every key found.
    """
    cfg = _config_module()
    if config is None:
        config = cfg.config
    found: dict[str, str | None] = {}
    for old, new in deprecations.items():
        try:
            value = cfg.pop(old, config=config)
        except (KeyError, TypeError, IndexError):
            continue
        found[old] = new
        if new:
            cfg.set({new: value}, config=config, _check=False)
    return found


def _load_file(path: str) -> dict | None:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:  # unreadable: ignored
        return None
    import yaml

    try:
        data = yaml.safe_load(text)
    except Exception as e:
        raise ValueError(
            f"A Dask config file at {path!r} is malformed, original error message:\n\n{e}"
        ) from None
    if data is not None and not isinstance(data, dict):
        raise ValueError(
            f"A Dask config file at {path!r} is malformed - config files must have a dict "
            f"as the top level object, got a {type(data).__name__} instead"
        )
    return data


def collect_yaml(paths: Sequence[str] = paths, *, return_paths: bool = False) -> Iterator:
    """The configurations in the YAML (or JSON) files of ``paths``: directories are searched
    for ``*.yaml``/``*.yml``/``*.json`` files in name order; unreadable files and
    directories are skipped. With ``return_paths``, ``(path, config)`` pairs.

    Raises
    ------
    ValueError
        For a file that is not valid YAML or whose top level is not a mapping.
    """
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            try:
                names = sorted(os.listdir(path))
            except OSError:
                continue
            files.extend(
                os.path.join(path, n)
                for n in names
                if os.path.splitext(n)[1].lower() in (".json", ".yaml", ".yml")
            )
        elif os.path.exists(path):
            files.append(path)
    for path in files:
        data = _load_file(path)
        if data is None:
            continue
        data = expand_environment_variables(data)
        if return_paths:
            import pathlib

            yield pathlib.Path(path), data
        else:
            yield data


def collect(paths: Sequence[str] = paths, env: Mapping[str, str] | None = None) -> dict:
    """The configuration from the YAML files of ``paths`` and the environment (higher
    priority). Renamed keys are moved to their new names with a ``FutureWarning`` (once per
    key), unless a higher-priority source already sets the new key (or
    ``ignore-deprecated.<old key>`` for a removed key)."""
    cfg = _config_module()
    configs = [*collect_yaml(paths=paths), cfg.collect_env(env=env)]
    result: dict = {}
    warned: builtins.set = builtins.set()
    missing = object()
    for config in reversed(configs):  # highest priority first
        for old, new in rename(config=config).items():
            if old in warned:
                continue
            warned.add(old)
            if cfg.get(new or f"ignore-deprecated.{old}", missing, config=result) is not missing:
                continue
            if new:
                text = f"Dask configuration key {old!r} has been deprecated; please use {new!r}"
                text += " instead"
            else:
                text = (
                    f"Dask configuration key {old!r} has been removed; you may suppress this "
                    f"warning by setting 'ignore-deprecated.{old}' in a higher-priority "
                    "configuration file or in the environment variables"
                )
            warnings.warn(text, FutureWarning, stacklevel=2)
        cfg.update(result, config, priority="old")
    return result


def paths_containing_key(key: str, paths: Sequence[str] = paths) -> Iterator:
    """The YAML files of ``paths`` that set ``key``."""
    cfg = _config_module()
    missing = object()
    for path, config in collect_yaml(paths, return_paths=True):
        if cfg.get(key, missing, config=config) is not missing:
            yield path


def ensure_file(source: str, destination: str | None = None, comment: bool = True) -> None:
    """Copy the configuration file ``source`` to ``destination`` (default: :data:`PATH`)
    unless a file of that name is already there; with ``comment`` every line of the copy
    is commented out. Errors (read-only home...) are ignored."""
    if destination is None:
        destination = _config_module().PATH  # read at call time: it may be reassigned
    destination = os.fspath(destination)
    source = os.fspath(source)
    if not os.path.splitext(destination)[1].strip("."):
        destination = os.path.join(destination, os.path.basename(source))
    try:
        if os.path.exists(destination):
            return
        os.makedirs(os.path.dirname(destination) or ".", exist_ok=True)
        tmp = f"{destination}.tmp.{os.getpid()}"
        if comment:
            with open(source) as f:
                lines = [("# " + line if line.strip() else line) for line in f]
            with open(tmp, "w") as f:
                f.writelines(lines)
        else:
            import shutil

            shutil.copyfile(source, tmp)
        try:
            os.rename(tmp, destination)
        except OSError:
            os.remove(tmp)
    except OSError:
        pass
