"""Static execution priorities of task graphs (``dask.order`` names)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping
from typing import Any, NamedTuple

from oxdask import _core
from oxdask.utils import ensure_dict

__all__ = ["Order", "OrderInfo", "diagnostics", "ndependencies", "order", "sanitize_dsk"]


def order(
    dsk: Mapping[Any, Any],
    dependencies: Mapping[Any, set] | None = None,
    *,
    return_stats: bool = False,
) -> dict[Any, int]:
    """Priority of every task of ``dsk``: run lower numbers first.

    The order finishes branches before starting new ones, so that intermediate results are
    released early (a depth-first, memory-frugal order, as ``dask.order.order``).

    Parameters
    ----------
    dsk : Mapping
        The task graph.
    dependencies : Mapping, optional
        Accepted for compatibility; the engine computes dependencies itself.
    return_stats : bool
        Not supported (raises ``NotImplementedError``).

    Returns
    -------
    dict
        ``key -> int``, a permutation of ``range(len(dsk))``.

    Examples
    --------
    >>> from operator import add
    >>> order({"a": 1, "b": (add, "a", 1)})
    {'a': 0, 'b': 1}
    """
    if return_stats:
        raise NotImplementedError("order(..., return_stats=True) is not supported by oxdask")
    return _core.order(ensure_dict(dsk))


class Order(NamedTuple):
    """Priority of a task, with the length of the longest path from it to an output."""

    priority: int
    critical_path: float | int


OrderInfo = namedtuple(
    "OrderInfo",
    ("order", "age", "num_data_when_run", "num_data_when_released", "num_dependencies_freed"),
)
OrderInfo.__doc__ = """What running the tasks one at a time in order does for one task (see
:func:`diagnostics`)."""


def ndependencies(dependencies: Mapping, dependents: Mapping) -> tuple[dict, dict]:
    """For every key: how many direct dependencies it has, and how many tasks must run for
    it to run (itself included, shared dependencies counted once per path).

    Parameters
    ----------
    dependencies, dependents : Mapping
        ``key -> set of keys``, as returned by :func:`oxdask.core.get_deps`.

    Returns
    -------
    num_dependencies : dict
    total_dependencies : dict
    """
    num_dependencies = {k: len(v) for k, v in dependencies.items()}
    waiting = dict(num_dependencies)
    total: dict = {}
    ready = [k for k, n in num_dependencies.items() if n == 0]
    while ready:
        key = ready.pop()
        total[key] = 1 + sum(total[d] for d in dependencies[key])
        for parent in dependents.get(key, ()):
            waiting[parent] -= 1
            if waiting[parent] == 0:
                ready.append(parent)
    return num_dependencies, total


def diagnostics(dsk: Mapping, o: Mapping | None = None, dependencies=None):
    """Simulate running the tasks one at a time in the order ``o`` (default: :func:`order`).

    Returns
    -------
    info : dict
        ``key -> OrderInfo(order, age, num_data_when_run, num_data_when_released,
        num_dependencies_freed)``: its position, how many steps its result is held, how many
        results are held when it runs and when its result is released, and how many of its
        dependencies it frees.
    pressure : list
        The number of results held before each step.
    """
    from oxdask.core import get_deps, reverse_dict

    if dependencies is None:
        dependencies, dependents = get_deps(dsk)
    else:
        dependents = reverse_dict(dependencies)
    if o is None:
        o = order(dsk, dependencies=dependencies)
    remaining = {k: len(v) for k, v in dependents.items()}
    held = 0
    pressure: list[int] = []
    age: dict = {}
    when_run: dict = {}
    when_released: dict = {}
    freed: dict = {}
    for i, key in enumerate(sorted(dsk, key=o.__getitem__)):
        pressure.append(held)
        when_run[key] = held
        released = 0
        for dep in dependencies[key]:
            remaining[dep] -= 1
            if remaining[dep] == 0:
                age[dep] = i - o[dep]
                when_released[dep] = held
                released += 1
        freed[key] = released
        if dependents[key]:
            held += 1 - released
        else:  # an output: released at once
            age[key] = 0
            when_released[key] = held
            held -= released
    info = {k: OrderInfo(o[k], age[k], when_run[k], when_released[k], freed[k]) for k in dsk}
    return info, pressure


def _placeholder(*args):  # pragma: no cover - never called
    return None


def sanitize_dsk(dsk: Mapping) -> dict:
    """The graph's shape only: every task calls a dummy function on its dependencies
    (no data, no user functions), e.g. to share a graph in a bug report."""
    from oxdask.core import get_dependencies

    flat = ensure_dict(dsk)
    return {k: (_placeholder, *sorted(get_dependencies(flat, k), key=str)) for k in flat}
