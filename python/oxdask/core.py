"""Task-graph vocabulary, compatible with ``dask.core``.

A graph is a mapping ``key -> task``. A key is a ``str``, ``bytes``, ``int``, ``float`` or a
tuple of those. A task is a tuple ``(callable, *args)``; arguments may be literals, keys of the
graph (replaced by their results) and lists, tuples or dicts nesting those. Any other value of
the graph is a literal (or an alias, when it is another key).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "flatten",
    "get",
    "get_dependencies",
    "get_deps",
    "getcycle",
    "has_tasks",
    "isdag",
    "ishashable",
    "iskey",
    "istask",
    "keys_in_tasks",
    "lists_to_tuples",
    "literal",
    "preorder_traversal",
    "quote",
    "reshapelist",
    "reverse_dict",
    "subs",
    "toposort",
    "validate_key",
]

_KEY_ATOMS = (str, bytes, int, float)


def istask(x) -> bool:
    """True if ``x`` is a runnable task: a tuple whose first element is callable.

    Examples
    --------
    >>> from operator import add
    >>> istask((add, 1, 2))
    True
    >>> istask(1)
    False
    """
    return type(x) is tuple and bool(x) and callable(x[0])


def has_tasks(dsk: Mapping, x) -> bool:
    """True if ``x`` contains a task or a key of ``dsk``."""
    if istask(x):
        return True
    try:
        if x in dsk:
            return True
    except (TypeError, AttributeError):
        pass
    if isinstance(x, list):
        return any(has_tasks(dsk, i) for i in x)
    return False


def ishashable(x) -> bool:
    """True if ``hash(x)`` works."""
    try:
        hash(x)
        return True
    except TypeError:
        return False


def iskey(key) -> bool:
    """True if ``key`` is a valid task key (str, bytes, int, float or tuple of those)."""
    typ = type(key)
    if typ is tuple:
        return all(iskey(i) for i in key)
    return typ in _KEY_ATOMS


def validate_key(key) -> None:
    """Raise ``TypeError`` if ``key`` is not a valid task key."""
    if iskey(key):
        return
    typ = type(key)
    if typ is tuple:
        for index, part in enumerate(key):
            try:
                validate_key(part)
            except TypeError as e:
                raise TypeError(
                    f"Composite key contains unexpected key type at {index=} ({key=!r})"
                ) from e
    raise TypeError(f"Unexpected key type {typ} ({key=!r})")


def _is_ref(x, keys) -> bool:
    typ = type(x)
    if typ is str or typ is tuple or typ is int or typ is float or typ is bytes:
        try:
            return x in keys
        except TypeError:
            return False
    return False


def keys_in_tasks(keys, tasks: Iterable, as_list: bool = False):
    """The members of ``keys`` that the ``tasks`` refer to.

    Parameters
    ----------
    keys : Container
        Keys of the graph (usually the graph itself).
    tasks : iterable
        Task bodies to scan.
    as_list : bool
        Return a list with repetitions instead of a set.

    Returns
    -------
    set or list
    """
    ret: list = []
    work = list(tasks)
    while work:
        new_work: list = []
        for w in work:
            if _is_ref(w, keys):
                ret.append(w)
            elif istask(w):
                new_work.extend(w[1:])
            elif isinstance(w, (list, tuple)):
                new_work.extend(w)
            elif isinstance(w, dict):
                new_work.extend(w.values())
        work = new_work
    return ret if as_list else set(ret)


class _NoDefault:
    def __repr__(self) -> str:
        return "<no_default>"


_no_default: Any = _NoDefault()


def get_dependencies(dsk: Mapping, key=None, task=_no_default, as_list: bool = False):
    """The keys the task ``dsk[key]`` (or ``task``) depends on.

    Parameters
    ----------
    dsk : Mapping
        The graph.
    key : key, optional
        A key of ``dsk``.
    task : object, optional
        A task body, instead of ``key``.
    as_list : bool
        Return a list (with repetitions) instead of a set.

    Examples
    --------
    >>> from operator import add
    >>> dsk = {"x": 1, "y": (add, "x", 1), "z": (add, "x", "y")}
    >>> sorted(get_dependencies(dsk, "z"))
    ['x', 'y']
    """
    if key is not None:
        arg = dsk[key]
    elif task is not _no_default:
        arg = task
    else:
        raise ValueError("Provide either key or task")
    return keys_in_tasks(dsk, [arg], as_list=as_list)


def get_deps(dsk: Mapping) -> tuple[dict, dict]:
    """Dependencies and dependents of every key of ``dsk``."""
    from oxdask import _core

    dependencies = _core.get_dependencies(dsk)
    return dependencies, reverse_dict(dependencies)


def reverse_dict(d: Mapping) -> dict:
    """Invert a mapping of ``key -> set of keys``.

    Examples
    --------
    >>> reverse_dict({"a": {"b"}, "b": set()})
    {'a': set(), 'b': {'a'}}
    """
    result: dict = {k: set() for k in d}
    for k, vals in d.items():
        for v in vals:
            result.setdefault(v, set()).add(k)
    return result


def flatten(seq, container=list):
    """Iterate over the leaves of nested containers of type ``container``.

    Strings and other types are leaves. Nesting depth is not limited by the recursion limit.

    Examples
    --------
    >>> list(flatten([1, [2, [3, 4]], 5]))
    [1, 2, 3, 4, 5]
    >>> list(flatten([("a", 0), [("a", 1)]]))
    [('a', 0), ('a', 1)]
    """
    if isinstance(seq, str):
        yield seq
        return
    stack = [iter(seq)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, container):
                stack.append(iter(item))
                break
            yield item
        else:
            stack.pop()


def subs(task, key, val):
    """Replace every reference to ``key`` in ``task`` by ``val``."""
    typ = type(task)
    if typ is tuple and task and callable(task[0]):
        return (task[0], *(subs(a, key, val) for a in task[1:]))
    if typ is list:
        return [subs(a, key, val) for a in task]
    if typ is dict:
        return {k: subs(v, key, val) for k, v in task.items()}
    try:
        if typ is type(key) and task == key:
            return val
    except Exception:
        pass
    if typ is tuple:
        return tuple(subs(a, key, val) for a in task)
    return task


def toposort(dsk: Mapping, dependencies: Mapping | None = None) -> list:
    """The keys of ``dsk`` sorted so that every key comes after its dependencies.

    Raises
    ------
    RuntimeError
        If the graph has a cycle.
    """
    if dependencies is None:
        from oxdask import _core

        dependencies = _core.get_dependencies(dsk)
    result: list = []
    state: dict = {}
    for root in dsk:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(dependencies.get(root, ())))]
        while stack:
            node, it = stack[-1]
            for dep in it:
                s = state.get(dep)
                if s == 1:
                    cycle = [n for n, _ in stack[[n for n, _ in stack].index(dep) :]] + [dep]
                    raise RuntimeError(
                        "Cycle detected between the following keys:\n  -> "
                        + "\n  -> ".join(str(k) for k in cycle)
                    )
                if s is None:
                    state[dep] = 1
                    stack.append((dep, iter(dependencies.get(dep, ()))))
                    break
            else:
                stack.pop()
                state[node] = 2
                result.append(node)
    return result


def getcycle(dsk: Mapping, keys=None) -> list:
    """A list of keys forming a cycle of ``dsk`` (empty if there is none)."""
    try:
        toposort(dsk if keys is None else {k: dsk[k] for k in keys})
    except RuntimeError as e:
        text = str(e).split("\n  -> ")[1:]
        lookup = {str(k): k for k in dsk}
        return [lookup.get(t, t) for t in text]
    return []


def isdag(dsk: Mapping, keys=None) -> bool:
    """True if ``dsk`` has no cycle."""
    return not getcycle(dsk, keys)


class literal:
    """A task that returns ``data`` unchanged (protects data from being read as a task)."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def __repr__(self) -> str:
        return f"literal<type={type(self.data).__name__}>"

    def __reduce__(self):
        return (literal, (self.data,))

    def __call__(self):
        return self.data


def quote(x):
    """Wrap ``x`` so that the graph returns it unchanged instead of evaluating it.

    Examples
    --------
    >>> from operator import add
    >>> quote((add, 1, 2))
    (literal<type=tuple>,)
    """
    if istask(x) or type(x) in (list, tuple, dict):
        return (literal(x),)
    return x


def get(dsk: Mapping, out, cache: Mapping | None = None):
    """Compute ``out`` (a key or nested list of keys) from ``dsk`` in the calling thread.

    Parameters
    ----------
    dsk : Mapping
        The graph.
    out : key or list
        Wanted keys; the result has the same nesting.
    cache : Mapping, optional
        Already known results, used instead of running the matching tasks.

    Examples
    --------
    >>> from operator import add
    >>> get({"x": 1, "y": (add, "x", 2)}, "y")
    3
    """
    from oxdask.local import get_sync

    if cache:
        dsk = dict(dsk)
        for k, v in cache.items():
            dsk[k] = (literal(v),)
    return get_sync(dsk, out)


def lists_to_tuples(res, keys):
    """``res`` with the lists that match lists of ``keys`` turned into tuples."""
    if isinstance(keys, list):
        return tuple(lists_to_tuples(r, k) for r, k in zip(res, keys, strict=False))
    return res


def preorder_traversal(task):
    """The elements of a task in pre-order: nested tasks are entered, a nested list yields
    ``list`` and then its elements."""
    stack = [iter(task)]
    while stack:
        for item in stack[-1]:
            if istask(item):
                stack.append(iter(item))
                break
            if isinstance(item, list):
                yield list
                stack.append(iter(item))
                break
            yield item
        else:
            stack.pop()


def reshapelist(shape: tuple, seq) -> list:
    """The elements of ``seq`` as nested lists of ``shape`` (``(2, 3)``: 2 lists of 3)."""
    seq = list(seq)
    if len(shape) == 1:
        return seq
    n = len(seq) // shape[0]
    return [reshapelist(shape[1:], seq[i * n : (i + 1) * n]) for i in range(shape[0])]
