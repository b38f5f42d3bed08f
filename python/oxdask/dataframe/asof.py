"""``merge_asof``: nearest-key joins of two collections sorted by their keys.

Both sides are brought to the same divisions (the left side's, widened to cover the right
side), so that partition ``i`` of the right holds the right rows whose keys fall in the
left partition ``i``'s range. Matches can also lie before (``backward``) or after
(``forward``) that range: small chains of tasks carry the last (first) right row of every
``by`` group from the partitions before (after), and each left partition is joined with
pandas against those rows and its own right partition.
"""

from __future__ import annotations

import pandas as pd

from oxdask.dataframe import methods
from oxdask.dataframe.core import _name, _new
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer

__all__ = ["merge_asof"]


class _Edge:
    """Last (``tail``) or first (``head``) right row of every group, carried across
    partitions."""

    def __init__(self, by, tail):
        self.by = by
        self.tail = tail

    def __call__(self, carried, part):
        pieces = [carried, part] if self.tail else [part, carried]
        both = methods.concat([p for p in pieces if p is not None]) if carried is not None else part
        if self.by is None:
            return both.iloc[-1:] if self.tail else both.iloc[:1]
        g = both.groupby(self.by, sort=False, dropna=False)
        return g.tail(1) if self.tail else g.head(1)


class _AsofJoin:
    def __init__(self, kwargs, meta):
        self.kwargs = kwargs
        self.meta = meta

    def __call__(self, left, before, right, after):
        pieces = [p for p in (before, right, after) if p is not None]
        candidates = methods.concat(pieces) if len(pieces) > 1 else right
        if len(left) == 0:
            return self.meta
        return pd.merge_asof(left, candidates, left_index=True, right_index=True, **self.kwargs)


def _chain(right, by, tail, token):
    n = right.npartitions
    name = _name(token, right._name, by, tail)
    f = _Edge(by, tail)
    layer = {}
    if tail:
        layer[(name, 0)] = None
        for i in range(1, n):
            layer[(name, i)] = (f, (name, i - 1), (right._name, i - 1))
    else:
        layer[(name, n - 1)] = None
        for i in range(n - 2, -1, -1):
            layer[(name, i)] = (f, (name, i + 1), (right._name, i + 1))
    return name, MaterializedLayer(layer)


def merge_asof(
    left,
    right,
    on=None,
    left_on=None,
    right_on=None,
    left_index=False,
    right_index=False,
    by=None,
    left_by=None,
    right_by=None,
    suffixes=("_x", "_y"),
    tolerance=None,
    allow_exact_matches=True,
    direction="backward",
):
    """Join each left row with the right row of the nearest key (see ``pandas.merge_asof``).

    Both sides must be sorted by the key: by the index (``left_index``/``right_index``, with
    known divisions) or by the column ``on`` (divisions are computed, as with
    ``set_index(sorted=True)``), or ``left_on``/``right_on``; ``left_by``/``right_by`` match
    rows of groups named differently on each side.
    """
    from oxdask.dataframe.multi import _to_dask
    from oxdask.dataframe.repartition import repartition_divisions

    if direction not in ("backward", "forward", "nearest"):
        raise ValueError(f"direction invalid: {direction!r}")
    if (left_on is None) != (right_on is None):
        raise ValueError("merge_asof needs both left_on and right_on, or neither")
    if (left_by is None) != (right_by is None):
        raise ValueError("merge_asof needs both left_by and right_by, or neither")
    if on is not None and left_on is not None:
        raise ValueError('Can only pass argument "on" OR "left_on" and "right_on", not both')
    if left_on is not None and left_on == right_on:
        on, left_on, right_on = left_on, None, None
    if left_on is not None or left_by is not None:
        keys = {
            "on": on,
            "left_on": left_on,
            "right_on": right_on,
            "left_index": left_index,
            "right_index": right_index,
            "by": by,
            "left_by": left_by,
            "right_by": right_by,
        }
        options = {
            "suffixes": suffixes,
            "tolerance": tolerance,
            "allow_exact_matches": allow_exact_matches,
            "direction": direction,
        }
        return _merge_asof_renamed(_to_dask(left), _to_dask(right), keys, options)
    left, right = _to_dask(left), _to_dask(right)
    kwargs = {
        "by": by,
        "suffixes": suffixes,
        "tolerance": tolerance,
        "allow_exact_matches": allow_exact_matches,
        "direction": direction,
    }
    if on is not None:
        expected = pd.merge_asof(left._meta_nonempty, right._meta_nonempty, on=on, **kwargs)
        lhs = left.set_index(on, sorted=True)
        rhs = right.set_index(on, sorted=True)
        joined = merge_asof(lhs, rhs, left_index=True, right_index=True, **kwargs)
        out = joined.reset_index()
        return out[list(expected.columns)]
    if not (left_index and right_index):
        raise ValueError("merge_asof needs on=, or left_index=True and right_index=True")
    if not (left.known_divisions and right.known_divisions):
        raise ValueError("merge_asof needs known divisions on both sides (sorted data)")
    meta = pd.merge_asof(
        left._meta_nonempty, right._meta_nonempty, left_index=True, right_index=True, **kwargs
    ).iloc[:0]
    lo = min(left.divisions[0], right.divisions[0])
    hi = max(left.divisions[-1], right.divisions[-1])
    divisions = (lo, *left.divisions[1:-1], hi)
    lhs = repartition_divisions(left, divisions)
    rhs = repartition_divisions(right, divisions)
    n = lhs.npartitions
    layers = {}
    args = [(lhs._name, [0])]
    numblocks = {lhs._name: (n,), rhs._name: (n,)}
    tname, tlayer = _chain(rhs, by, True, "asof-before")
    hname, hlayer = _chain(rhs, by, False, "asof-after")
    before = direction in ("backward", "nearest")
    after = direction in ("forward", "nearest")
    for name, layer, wanted in ((tname, tlayer, before), (hname, hlayer, after)):
        if wanted:
            layers[name] = layer
            numblocks[name] = (n,)
    args += [(tname, [0]) if before else (None, None), (rhs._name, [0])]
    args += [(hname, [0]) if after else (None, None)]
    name = _name("merge-asof", lhs._name, rhs._name, kwargs)
    layer = BlockwiseLayer(name, _AsofJoin(kwargs, meta), [0], args, numblocks)
    out = _new(name, layer, [lhs, rhs], meta, divisions)
    for k, v in layers.items():
        out.dask.layers[k] = v
        out.dask.dependencies[k] = {rhs._name}
        out.dask.dependencies[name].add(k)
    return out


_ON = "__oxdask_asof_on__"


def _merge_asof_renamed(left, right, keys: dict, options: dict):
    """``left_on``/``right_on`` and ``left_by``/``right_by``: the keys are copied into columns
    of one name on both sides, joined by those, and dropped again, leaving the columns pandas
    gives."""
    expected = pd.merge_asof(left._meta_nonempty, right._meta_nonempty, **keys, **options)
    on, by = keys["on"], keys["by"]
    left_on, right_on = keys["left_on"], keys["right_on"]
    left_by, right_by = keys["left_by"], keys["right_by"]
    extra_left, extra_right = {}, {}
    if left_on is not None:
        extra_left[_ON] = left[left_on]
        extra_right[_ON] = right[right_on]
        on = _ON
    if left_by is not None:
        lby = [left_by] if isinstance(left_by, str) else list(left_by)
        rby = [right_by] if isinstance(right_by, str) else list(right_by)
        if len(lby) != len(rby):
            raise ValueError("left_by and right_by must be the same length")
        by = [f"__oxdask_asof_by_{i}__" for i in range(len(lby))]
        extra_left.update({b: left[c] for b, c in zip(by, lby, strict=True)})
        extra_right.update({b: right[c] for b, c in zip(by, rby, strict=True)})
    joined = merge_asof(
        left.assign(**extra_left),
        right.assign(**extra_right),
        on=on,
        left_index=keys["left_index"],
        right_index=keys["right_index"],
        by=by,
        **options,
    )
    return joined[list(expected.columns)]
