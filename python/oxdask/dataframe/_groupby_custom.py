"""User-defined groupby aggregations (:class:`Aggregation`) as a tree reduction.

Every partition's grouped column goes through ``chunk`` (one Series, or a tuple of Series,
indexed by the groups); at each level of the tree the pieces of several partitions are
concatenated, grouped again by their index and passed to ``agg``; at the root ``finalize``
(when given) turns the pieces into the result column. Built-in names (``"sum"``, ``"mean"``,
...) mixed with custom aggregations are expressed the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oxdask.dataframe._groupby_funcs import _key_values

__all__ = ["Aggregation"]


class Aggregation:
    """A groupby aggregation made of three steps, as ``dask.dataframe.Aggregation``.

    Parameters
    ----------
    name : str
        Name of the aggregation (the column label when several are asked for a column).
    chunk : callable
        Called with the grouped column of each partition (a pandas ``SeriesGroupBy``);
        returns a Series indexed by the groups, or a tuple of them.
    agg : callable
        Called with as many ``SeriesGroupBy`` as ``chunk`` returned pieces (the pieces of
        several partitions, grouped again); returns a Series or a tuple like ``chunk``.
    finalize : callable, optional
        Called with the aggregated pieces; returns the result column (default: the single
        piece).
    """

    def __init__(self, name, chunk, agg, finalize=None):
        self.chunk = chunk
        self.agg = agg
        self.finalize = finalize
        self.__name__ = name

    def __repr__(self) -> str:
        return f"Aggregation({self.__name__!r})"


def _var_final(ddof):
    def finalize(n, s, s2):
        with np.errstate(all="ignore"):
            d = n - ddof
            mean = s / n
            out = (s2 - n * mean**2) / d
        return out.where(d > 0).clip(lower=0)

    return finalize


def _builtin(name):
    if name in ("sum", "min", "max", "first", "last", "prod"):
        return Aggregation(name, _Call(name), _Call(name))
    if name in ("count", "size"):
        return Aggregation(name, _Call(name), _Call("sum"))
    if name == "mean":
        return Aggregation(name, _Pieces("count", "sum"), _Call("sum"), lambda n, s: s / n)
    if name in ("var", "std"):
        final = _var_final(1)
        if name == "std":
            return Aggregation(
                name, _Pieces("count", "sum", "sq"), _Call("sum"), lambda *p: np.sqrt(final(*p))
            )
        return Aggregation(name, _Pieces("count", "sum", "sq"), _Call("sum"), final)
    raise NotImplementedError(
        f"groupby aggregation {name!r} cannot be combined with custom dd.Aggregation objects"
    )


class _Call:
    """``grouped.<name>()`` on every piece."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *grouped):
        out = tuple(getattr(g, self.name)() for g in grouped)
        return out if len(out) > 1 else out[0]


class _Pieces:
    """Several per-group statistics of one grouped column (``sq``: sum of squares)."""

    def __init__(self, *names):
        self.names = names

    def __call__(self, g):
        out = []
        for n in self.names:
            if n == "sq":
                out.append(g.apply(lambda s: (s.astype("f8") ** 2).sum()))
            else:
                out.append(getattr(g, n)())
        return tuple(out)


def as_aggregation(f):
    """An :class:`Aggregation` for ``f`` (an Aggregation or a built-in name)."""
    return f if isinstance(f, Aggregation) else _builtin(f)


def has_custom(arg, kwargs) -> bool:
    """Whether a groupby ``agg`` specification uses an :class:`Aggregation`."""

    def walk(x):
        if isinstance(x, Aggregation):
            return True
        if isinstance(x, dict):
            return any(walk(v) for v in x.values())
        if isinstance(x, (list, tuple)):
            return any(walk(v) for v in x)
        return False

    return walk(arg) or walk(list(kwargs.values()))


def stand_ins(arg, kwargs):
    """``arg`` and ``kwargs`` with every Aggregation replaced by a pandas-callable function
    of the same name (to learn the result's layout from pandas)."""

    def swap(x):
        if isinstance(x, Aggregation):
            return _named_first(x.__name__)
        if isinstance(x, dict):
            return {k: swap(v) for k, v in x.items()}
        if isinstance(x, list):
            return [swap(v) for v in x]
        if isinstance(x, tuple):
            return tuple(swap(v) for v in x)
        return x

    return swap(arg), {k: swap(v) for k, v in kwargs.items()}


def _named_first(name):
    def f(s):
        return s.iloc[0] if len(s) else np.nan

    f.__name__ = name
    return f


class CustomSpec:
    """What the custom chunk and aggregate compute (plain data, sent with the tasks)."""

    def __init__(self, key_cols, key_names, value_cols, outputs, dropna, series_column):
        self.key_cols = key_cols
        self.key_names = key_names
        self.value_cols = value_cols
        self.outputs = [(as_aggregation(f), k) for f, k in outputs]
        self.dropna = dropna
        self.series_column = series_column


def _tuple(x):
    return x if isinstance(x, tuple) else (x,)


class CustomChunk:
    def __init__(self, spec):
        self.spec = spec

    def __call__(self, df, *key_parts):
        sp = self.spec
        if isinstance(df, pd.Series):
            df = df.to_frame(name=sp.series_column)
        keys = _key_values(df, sp.key_cols, key_parts, sp.key_names)
        keys = [df[k] if not isinstance(k, pd.Series) else k for k in keys]
        g = df.groupby(keys, sort=False, observed=True, dropna=sp.dropna)
        return [_tuple(a.chunk(g[sp.value_cols[k]])) for a, k in sp.outputs]


def _merge(values, spec):
    out = []
    for i, (a, _) in enumerate(spec.outputs):
        pieces = zip(*[v[i] for v in values], strict=True)
        cat = []
        for p in pieces:
            nonempty = [s for s in p if len(s)] or list(p[:1])
            cat.append(pd.concat(nonempty) if len(nonempty) > 1 else nonempty[0])
        levels = list(range(cat[0].index.nlevels))
        grouped = [c.groupby(level=levels, sort=False, dropna=spec.dropna) for c in cat]
        out.append(_tuple(a.agg(*grouped)))
    return out


class CustomCombine:
    def __init__(self, spec):
        self.spec = spec

    def __call__(self, values):
        return _merge(values, self.spec)


class CustomAggregate:
    """The result columns, shaped like ``meta`` (the layout pandas gives)."""

    def __init__(self, spec, meta, sort, as_index):
        self.spec = spec
        self.meta = meta
        self.sort = sort
        self.as_index = as_index

    def __call__(self, values):
        merged = _merge(values, self.spec)
        cols = []
        for (a, _), pieces in zip(self.spec.outputs, merged, strict=True):
            col = a.finalize(*pieces) if a.finalize is not None else pieces[0]
            cols.append(col)
        out = pd.concat(cols, axis=1) if len(cols) > 1 else cols[0].to_frame()
        if self.sort and len(out):
            out = out.sort_index()
        meta = self.meta
        out.index.names = self.spec.key_names
        if not self.as_index:
            out = out.reset_index()
        if isinstance(meta, pd.Series):
            out = out.iloc[:, 0]
            out.name = meta.name
            if self.as_index:
                out.index.names = meta.index.names
            return out
        out.columns = meta.columns
        if self.as_index:
            out.index.names = meta.index.names
        return out


def custom_agg(gb, arg, kwargs, split_every, split_out, token):
    """The tree reduction of a groupby ``agg`` using :class:`Aggregation` objects."""
    from oxdask.dataframe._groupby_spec import _meta_of, _sort

    if split_out not in (None, 1):
        raise NotImplementedError("custom dd.Aggregation supports split_out=1 only")
    arg_, kwargs_ = stand_ins(arg, kwargs)  # same names: pandas gives the layout
    meta = _meta_of(gb._call_meta("agg", arg_, **kwargs_))
    outputs = gb._outputs(arg, kwargs)
    if any(k is None for _, k in outputs):
        raise KeyError("groupby aggregation: column not found")
    seen = set()
    for f, k in outputs:
        key = (k, getattr(f, "__name__", f))
        if key in seen and arg is not None:  # named aggregation names its columns
            raise ValueError(
                f"groupby aggregation: two functions named {key[1]!r} for one column; "
                "names must be unique per column"
            )
        seen.add(key)
    values = gb._value_columns()
    keys = gb._key_cols, gb._key_names()
    spec = CustomSpec(*keys, values, outputs, gb.dropna, values[0])
    sort = _sort(gb.sort, 1)
    final = CustomAggregate(spec, meta, bool(sort), gb.as_index)
    final.ddof = 1
    return gb._tree(
        spec, final, meta, split_every, 1, token, CustomChunk(spec), CustomCombine(spec)
    )
