"""Low-level graph optimizations on plain task dicts, compatible with ``dask.optimization``.

oxdask's own schedulers do not need them (the native engine culls and fuses linear chains
itself); they are here for code that transforms graphs by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oxdask.core import flatten, get_dependencies, ishashable, istask, reverse_dict, subs, toposort
from oxdask.utils import key_split

__all__ = [
    "cull",
    "default_fused_keys_renamer",
    "default_fused_linear_keys_renamer",
    "functions_of",
    "fuse",
    "fuse_linear",
    "inline",
    "inline_functions",
    "unwrap_partial",
]


def cull(dsk, keys) -> tuple[dict, dict]:
    """The part of ``dsk`` that ``keys`` (a key or a list of keys) need.

    Returns
    -------
    dsk : dict
    dependencies : dict
        ``{key: [keys it depends on]}`` of the kept tasks (lists, with repetitions).
    """
    if not isinstance(keys, (list, set)):
        keys = [keys]
    out: dict = {}
    dependencies: dict = {}
    work = list(dict.fromkeys(flatten(keys)))
    seen = set(work)
    while work:
        k = work.pop()
        deps = get_dependencies(dsk, k, as_list=True)
        out[k] = dsk[k]
        dependencies[k] = deps
        for d in deps:
            if d not in seen:
                seen.add(d)
                work.append(d)
    return out, dependencies


def _as_key_set(keys) -> set:
    if keys is None:
        return set()
    if isinstance(keys, (list, set)):
        return set(flatten(keys)) if isinstance(keys, list) else set(keys)
    return {keys}


def _dependency_sets(dsk, dependencies) -> dict:
    if dependencies is None:
        return {k: get_dependencies(dsk, k) for k in dsk}
    return {k: set(v) for k, v in dependencies.items()}


def default_fused_linear_keys_renamer(keys: list):
    """Name of a fused chain, ``keys`` listed from its output back to its first task:
    the short names of the others, first task first, then the output key's name
    (``["c", "b", "a"]`` -> ``"a-b-c"``; tuple keys keep their indices)."""
    first = keys[0]
    names = [key_split(k) for k in keys[:0:-1]]
    if type(first) is str:
        return "-".join([*names, first])
    if type(first) is tuple and first and isinstance(first[0], str):
        return ("-".join([*names, first[0]]), *first[1:])
    return None


def default_fused_keys_renamer(keys: list, max_fused_key_length: int | None = 120):
    """Name of a group of fused tasks (``keys``, the output key last): the distinct short
    names of the others, then the output key's name; names longer than
    ``max_fused_key_length`` are cut and end with a short hash."""
    *rest, last = keys
    if type(last) is str:
        head, tail = last, ()
    elif type(last) is tuple and last and isinstance(last[0], str):
        head, tail = last[0], last[1:]
    else:
        return None
    first_name = key_split(head)
    names = sorted({key_split(k) for k in rest} - {first_name})
    name = "-".join([*names, head])
    if max_fused_key_length and len(name) > max_fused_key_length:
        limit = max_fused_key_length - 5
        name = f"{name[:limit]}-{hash(name) & 0xFFFF:04x}"
    return (name, *tail) if tail else name


def _fusable(dsk, parent, child, keep_data: bool) -> bool:
    """Whether ``parent`` may be substituted into ``child``: it is used there once (twice
    would compute it twice), and with ``keep_data`` it is a task or a hashable value (data
    such as arrays stays a key of its own)."""
    from oxdask.core import keys_in_tasks

    if len(keys_in_tasks({parent}, [dsk[child]], as_list=True)) != 1:
        return False
    value = dsk[parent]
    return not keep_data or istask(value) or ishashable(value)


def _chains(dsk, protected: set, deps: dict, keep_data: bool = False) -> list[list]:
    """Linear chains (each task the only dependency of the next, which is its only
    dependent), listed from the output task back to the first one."""
    dependents = reverse_dict(deps)
    done: set = set()
    chains = []
    for key in dsk:
        if key in done:
            continue
        # walk down to the end of the chain that ``key`` belongs to
        top = key
        while True:
            users = dependents.get(top, ())
            if top in protected or len(users) != 1:
                break
            (child,) = users
            if len(deps.get(child, ())) != 1 or child in done:
                break
            if not _fusable(dsk, top, child, keep_data):
                break
            top = child
        chain = [top]
        done.add(top)
        cur = top
        while len(deps.get(cur, ())) == 1:
            (parent,) = deps[cur]
            if parent in protected or parent in done or len(dependents.get(parent, ())) != 1:
                break
            if not _fusable(dsk, parent, cur, keep_data):
                break
            chain.append(parent)
            done.add(parent)
            cur = parent
        if len(chain) > 1:
            chains.append(chain)
    return chains


def _fuse(dsk, keys, dependencies, rename_keys, renamer: Callable, redirect: bool):
    protected = _as_key_set(keys)
    deps = _dependency_sets(dsk, dependencies)
    rv = dict(dsk)
    out_deps = {k: set(v) for k, v in deps.items()}
    renames: dict = {}
    for chain in _chains(dsk, protected, deps, keep_data=not redirect):
        out_key = chain[0]
        task = dsk[chain[-1]]
        for parent, child in zip(reversed(chain), reversed(chain[:-1]), strict=False):
            task = subs(dsk[child], parent, task)
        for k in chain:
            rv.pop(k, None)
            out_deps.pop(k, None)
        top_deps = deps.get(chain[-1], set())
        new_key = None
        if rename_keys:
            # fuse_linear's renamer takes the chain output first, fuse's output last
            named = chain if redirect else chain[::-1]
            new_key = (rename_keys if callable(rename_keys) else renamer)(named)
        if new_key is None or new_key == out_key:
            rv[out_key] = task
            out_deps[out_key] = set(top_deps)
        else:
            rv[new_key] = task
            out_deps[new_key] = set(top_deps)
            rv[out_key] = new_key
            out_deps[out_key] = {new_key}
            renames[out_key] = new_key
    if redirect and renames:
        for k, task in list(rv.items()):
            hit = out_deps.get(k, set()) & renames.keys()
            if hit and k not in renames:
                for old in hit:
                    task = subs(task, old, renames[old])
                rv[k] = task
                out_deps[k] = {renames.get(d, d) for d in out_deps[k]}
    # keys that tasks now refer to under their new name stay available as aliases
    return rv, out_deps


def fuse_linear(dsk, keys=None, dependencies=None, rename_keys=True):
    """Merge linear chains of tasks into single tasks.

    Parameters
    ----------
    dsk : dict
    keys : key or list, optional
        Keys that must stay in the graph (never fused away).
    dependencies : dict, optional
        ``{key: keys it depends on}``, e.g. from :func:`cull`.
    rename_keys : bool or callable
        Name fused tasks with :func:`default_fused_linear_keys_renamer` (or the given
        function of the chain's keys, output first); the output key then aliases the new
        key, and other tasks refer to the new key. ``False`` keeps the output key.

    Returns
    -------
    dsk : dict
    dependencies : dict
        ``{key: set of keys}`` of the new graph.
    """
    return _fuse(
        dsk, keys, dependencies, rename_keys, default_fused_linear_keys_renamer, redirect=True
    )


def fuse(
    dsk,
    keys=None,
    dependencies=None,
    ave_width: Any = None,
    max_width: Any = None,
    max_height: Any = None,
    max_depth_new_edges: Any = None,
    rename_keys: Any = True,
    fuse_subgraphs: Any = None,
):
    """Fuse linear chains of tasks (the width options of Dask's ``fuse`` are accepted and
    ignored: oxdask fuses chains only, never fan-ins). Data that is not hashable (arrays,
    lists) stays a key of its own; with config ``optimization.fuse.active`` false the graph
    is returned unchanged.

    Parameters
    ----------
    dsk : dict
    keys : key or list, optional
        Keys that must stay in the graph.
    dependencies : dict, optional
    rename_keys : bool or callable
        Name fused tasks with :func:`default_fused_keys_renamer`; the output key aliases
        the new one (other tasks keep referring to the output key).

    Returns
    -------
    dsk : dict
    dependencies : dict
    """
    from oxdask import config

    if config.get("optimization.fuse.active", None) is False:
        return dsk, dependencies
    return _fuse(dsk, keys, dependencies, rename_keys, default_fused_keys_renamer, redirect=False)


def inline(dsk, keys=None, inline_constants: bool = True, dependencies=None) -> dict:
    """Substitute the tasks of ``keys`` into the tasks that use them.

    With ``inline_constants``, keys holding plain values (or aliases of other keys) are
    inlined too. The inlined keys stay in the graph (cull afterwards to drop them).
    """
    deps = _dependency_sets(dsk, dependencies)
    keys = _as_key_set(keys)
    if inline_constants:
        keys.update(
            k
            for k, v in dsk.items()
            if (ishashable(v) and v in dsk) or (not deps[k] and not istask(v))
        )
    order = toposort({k: dsk[k] for k in keys if k in dsk}, dependencies=deps)
    replaced: dict = {}
    for k in order:
        task = dsk[k]
        for d in keys & deps[k]:
            task = subs(task, d, replaced.get(d, dsk.get(d)))
        replaced[k] = task
    out = dict(replaced)
    for k, task in dsk.items():
        if k not in out:
            for d in keys & deps[k]:
                task = subs(task, d, replaced[d])
            out[k] = task
    return out


def unwrap_partial(func):
    """The function inside (nested) ``functools.partial`` objects."""
    while hasattr(func, "func"):
        func = func.func
    return func


def functions_of(task) -> set:
    """The functions called anywhere in a (nested) task, partials unwrapped."""
    funcs: set = set()
    work = [task]
    while work:
        t = work.pop()
        if type(t) in (list, tuple):
            if istask(t):
                funcs.add(unwrap_partial(t[0]))
                work.extend(t[1:])
            else:
                work.extend(t)
    return funcs


def inline_functions(
    dsk, output, fast_functions=None, inline_constants: bool = False, dependencies=None
) -> dict:
    """Inline the tasks that call only ``fast_functions`` into the tasks that use them,
    except the ``output`` keys; the inlined keys leave the graph."""
    if not fast_functions:
        return dsk
    output = set(output)
    fast = set(fast_functions)
    deps = _dependency_sets(dsk, dependencies)
    dependents = reverse_dict(deps)

    def inlinable(key, task) -> bool:
        if not istask(task) or key in output or not dependents.get(key):
            return False
        try:
            return functions_of(task).issubset(fast)
        except TypeError:  # unhashable function
            return False

    keys = [k for k, v in dsk.items() if inlinable(k, v)]
    if not keys:
        return dsk
    out = inline(dsk, keys, inline_constants=inline_constants, dependencies=deps)
    for k in keys:
        del out[k]
    return out
