"""``oxdask config``: the configuration and where each value comes from.

- ``oxdask config list``: every key with its value and its source (the built-in default, a
  YAML file, or an environment variable);
- ``oxdask config get KEY``: one value (``KeyError`` exit status 1 when unset);
- ``oxdask config find KEY``: every place that sets ``KEY``, lowest priority first.
"""

from __future__ import annotations

import argparse
import os
import sys


def _flatten(tree, prefix="") -> dict:
    out = {}
    for k, v in tree.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(_flatten(v, key))
        else:
            out[key] = v
    return out


def _normal(key: str) -> str:
    return key.replace("_", "-")


def sources() -> list[tuple[str, dict]]:
    """``(source, flat config)`` from lowest to highest priority: the defaults, each YAML
    file, each ``DASK_*``/``OXDASK_*`` variable."""
    from oxdask import config

    out = []
    for d in config.defaults:
        out.append(("default", _flatten(d)))
    for path, data in config.collect_yaml(config.paths, return_paths=True):
        out.append((f"file {path}", _flatten(data)))
    for prefix in ("DASK_", "OXDASK_"):
        for name in sorted(os.environ):
            if name.startswith(prefix) and name != "DASK_INTERNAL_INHERIT_CONFIG":
                flat = _flatten(config.collect_env({name: os.environ[name]}))
                if flat:
                    out.append((f"environment {name}", flat))
    return out


def _where(key: str) -> list[tuple[str, object]]:
    wanted = _normal(key)
    return [(src, v) for src, flat in sources() for k, v in flat.items() if _normal(k) == wanted]


def main(argv: list[str]) -> int:
    from oxdask import config

    p = argparse.ArgumentParser(
        prog="oxdask config", description="Show the configuration and where it comes from."
    )
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="every key, its value and its source")
    get = sub.add_parser("get", help="the value of KEY")
    get.add_argument("key")
    find = sub.add_parser("find", help="every place that sets KEY")
    find.add_argument("key")
    args = p.parse_args(argv)
    if args.action == "get":
        try:
            value = config.get(args.key)
        except KeyError:
            print(f"oxdask config: no key {args.key!r}", file=sys.stderr)
            return 1
        print(value)
        return 0
    if args.action == "find":
        places = _where(args.key)
        if not places:
            print(f"{args.key}: not set anywhere")
            return 1
        for src, value in places:
            print(f"{args.key}: {value!r}  ({src})")
        return 0
    current = _flatten(config.config)
    origin = {}
    for src, flat in sources():
        for k in flat:
            origin[_normal(k)] = src
    for key in sorted(current):
        src = origin.get(_normal(key), "set in this process")
        print(f"{key}: {current[key]!r}  ({src})")
    return 0
