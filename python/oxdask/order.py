"""Static execution priorities of task graphs (``dask.order`` names)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oxdask import _core
from oxdask.utils import ensure_dict

__all__ = ["order"]


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
