"""Operations of :class:`oxdask.highlevelgraph.HighLevelGraph` that read its tasks: culling,
validation and layer dependencies."""

from __future__ import annotations

from collections.abc import Mapping

from oxdask.core import flatten, keys_in_tasks
from oxdask.highlevelgraph import _COMPACT, MaterializedLayer


def cull(hlg, keys):
    """The graph restricted to what ``keys`` (nested lists allowed) need.

    Materialized layers are culled task by task; compact layers are kept whole, with the
    layers they depend on.
    """
    wanted = set(flatten(keys)) if isinstance(keys, list) else set(keys)
    owner = {}
    for name, layer in hlg.layers.items():
        if isinstance(layer, _COMPACT):
            continue
        for k in layer:
            owner[k] = name
    compact_names = {n for n, layer in hlg.layers.items() if isinstance(layer, _COMPACT)}
    kept_tasks: dict = {}
    kept_layers: set = set()
    work = list(wanted)
    while work:
        k = work.pop()
        name = owner.get(k)
        if name is None:
            cname = k[0] if type(k) is tuple and k else k
            if cname in compact_names and cname not in kept_layers:
                for dep in hlg.cull_layers([cname]).layers:
                    kept_layers.add(dep)
                    work.extend(k2 for k2, n in owner.items() if n == dep)
            continue
        if k in kept_tasks.setdefault(name, {}):
            continue
        task = hlg.layers[name][k]
        kept_tasks[name][k] = task
        work.extend(keys_in_tasks(owner, [task]))
        work.extend(_compact_key_names(compact_names, task))
    layers: dict = {}
    for name, layer in hlg.layers.items():
        if name in kept_layers:
            layers[name] = layer
        elif kept_tasks.get(name):
            layers[name] = MaterializedLayer(
                kept_tasks[name], annotations=getattr(layer, "annotations", None)
            )
    deps = {k: set(hlg.dependencies.get(k, ())) & layers.keys() for k in layers}
    return type(hlg)(layers, deps)


def validate(hlg) -> None:
    """Check that the recorded layer dependencies name existing layers and match the
    keys that each layer's tasks refer to; raise ``ValueError`` otherwise (expands
    compact layers in Python)."""
    for name, deps in hlg.dependencies.items():
        if name not in hlg.layers:
            raise ValueError(f"dependencies[{name!r}] not found in layers")
        for dep in deps:
            if dep not in hlg.dependencies:
                raise ValueError(f"{dep!r} not found in dependencies")
    owner = {key: name for name, layer in hlg.layers.items() for key in layer}
    expected = {
        name: {owner[k] for k in keys_in_tasks(owner, layer.values()) if owner[k] != name}
        for name, layer in hlg.layers.items()
    }
    if hlg.dependencies.keys() != expected.keys():
        raise ValueError(
            f"incorrect dependencies keys {set(hlg.dependencies)!r} expected {set(expected)!r}"
        )
    for name, deps in expected.items():
        if hlg.dependencies[name] != deps:
            raise ValueError(
                f"incorrect HLG dependencies[{name!r}]: {hlg.dependencies[name]!r} "
                f"expected {deps!r} from task dependencies"
            )


def _compact_key_names(names: set, task) -> set:
    """The tuple keys in ``task`` whose first element names one of the compact ``names``."""
    if not names:
        return set()
    found = set()
    work = [task]
    while work:
        x = work.pop()
        if type(x) is tuple:
            if x and isinstance(x[0], str) and x[0] in names:
                found.add(x)
            else:
                work.extend(x)
        elif type(x) is list:
            work.extend(x)
        elif type(x) is dict:
            work.extend(x.values())
    return found


def compute_layer_dependencies(layers: Mapping) -> dict:
    """Layer name to the names of the other layers whose keys its tasks use."""

    owner = {key: name for name, layer in layers.items() for key in layer}
    return {
        name: {owner[k] for k in keys_in_tasks(owner, layer.values()) if owner[k] != name}
        for name, layer in layers.items()
    }
