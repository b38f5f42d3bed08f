"""Operations that look across partition boundaries: ``map_overlap``, ``rolling``, ``shift``,
``diff``, cumulative reductions and forward/backward fill.

Neighbour rows come from small *chains* of tasks: ``tail_i`` holds the last rows of
partitions ``0..i-1`` that a window of partition ``i`` can reach (computed from ``tail_{i-1}``
and partition ``i-1``), so windows longer than a partition and empty partitions are handled.
Cumulative reductions carry the running total of the previous partitions the same way.
"""

from __future__ import annotations

import datetime
import itertools

import pandas as pd

from oxdask.dataframe import methods
from oxdask.dataframe.core import _name, _new, new_dd_object
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer

__all__ = ["Rolling", "cumulative", "fill_across", "map_overlap"]


def _is_offset(x) -> bool:
    return isinstance(x, (str, pd.Timedelta, datetime.timedelta, pd.DateOffset))


class _Tail:
    """Rows of ``concat(prev_tail, part)`` that a window reaching ``before`` back can use."""

    def __init__(self, before):
        self.before = pd.Timedelta(before) if _is_offset(before) else int(before)

    def __call__(self, prev, part):
        both = methods.concat([prev, part]) if prev is not None else part
        if isinstance(self.before, int):
            return both.iloc[max(len(both) - self.before, 0) :] if self.before else both.iloc[:0]
        if len(both) == 0:
            return both
        return both[both.index >= both.index[-1] - self.before]


class _Head:
    """Rows of ``concat(part, next_head)`` that a window reaching ``after`` ahead can use."""

    def __init__(self, after):
        self.after = pd.Timedelta(after) if _is_offset(after) else int(after)

    def __call__(self, part, nxt):
        both = methods.concat([part, nxt]) if nxt is not None else part
        if isinstance(self.after, int):
            return both.iloc[: self.after]
        if len(both) == 0:
            return both
        return both[both.index <= both.index[0] + self.after]


class _Overlapped:
    """``func`` on a partition extended by its neighbours' rows, trimmed back to the
    partition's own rows."""

    def __init__(self, func, args_after, kwargs):
        self.func = func
        self.args_after = args_after
        self.kwargs = kwargs

    def __call__(self, prev, part, nxt, *args):
        pieces = [p for p in (prev, part, nxt) if p is not None]
        both = methods.concat(pieces) if len(pieces) > 1 else part
        out = self.func(both, *args, **self.kwargs)
        a = len(prev) if prev is not None else 0
        b = len(nxt) if nxt is not None else 0
        return out.iloc[a : len(out) - b]


def _chains(frame, before, after, token):
    """Names and layers of the ``tail`` and ``head`` chains of ``frame``."""
    n = frame.npartitions
    layers = {}
    tname = _name(f"{token}-prev", frame._name, before)
    hname = _name(f"{token}-next", frame._name, after)
    tail = {(tname, 0): None}
    if before:
        f = _Tail(before)
        for i in range(1, n):
            tail[(tname, i)] = (f, (tname, i - 1), (frame._name, i - 1))
    else:
        tail.update({(tname, i): None for i in range(1, n)})
    head = {(hname, n - 1): None}
    if after:
        g = _Head(after)
        for i in range(n - 2, -1, -1):
            head[(hname, i)] = (g, (frame._name, i + 1), (hname, i + 1))
    else:
        head.update({(hname, i): None for i in range(n - 1)})
    layers[tname] = MaterializedLayer(tail)
    layers[hname] = MaterializedLayer(head)
    return tname, hname, layers


def map_overlap(func, frame, before, after, *args, meta=None, token=None, **kwargs):
    """Apply ``func`` to each partition extended by rows of its neighbours.

    Parameters
    ----------
    func : callable
        Receives the extended partition and must return as many rows, in order.
    frame : DataFrame or Series
    before, after : int or timedelta-like
        Rows (or index span, for a datetime index) to borrow from the previous and the
        next partitions.
    *args
        More arguments of ``func`` (constants).
    meta : optional
        Inferred by running ``func`` on a non-empty fake when not given.
    **kwargs
        Keyword arguments of ``func``.
    """
    from oxdask.dataframe.partitionwise import emulate

    if (isinstance(before, int) and before < 0) or (isinstance(after, int) and after < 0):
        raise ValueError("before and after must be positive")
    if (_is_offset(before) or _is_offset(after)) and not isinstance(
        frame._meta.index, pd.DatetimeIndex
    ):
        raise TypeError("time-based overlaps need a DatetimeIndex")
    if meta is None:
        meta = emulate(func, frame, *args, udf=True, **kwargs)
    else:
        from oxdask.dataframe.utils import make_meta

        meta = make_meta(meta, index=frame._meta.index)
    token = token or "overlap"
    tname, hname, layers = _chains(frame, before, after, token)
    name = _name(token, frame._name, func, before, after, args, kwargs)
    n = frame.npartitions
    core_args = [(tname, [0]), (frame._name, [0]), (hname, [0])]
    core_args += [(a, None) for a in args]
    numblocks = {tname: (n,), frame._name: (n,), hname: (n,)}
    layer = BlockwiseLayer(name, _Overlapped(func, len(args), kwargs), [0], core_args, numblocks)
    out = _new(name, layer, [frame], meta, frame.divisions)
    for k, v in layers.items():
        out.dask.layers[k] = v
        out.dask.dependencies[k] = {frame._name}
        out.dask.dependencies[name].add(k)
    return out


class _Method:
    def __init__(self, method, args, kwargs):
        self.method = method
        self.args = args
        self.kwargs = kwargs

    def __call__(self, df):
        return getattr(df, self.method)(*self.args, **self.kwargs)


def shift(frame, periods=1, freq=None, axis=0):
    """Rows moved by ``periods`` positions across partitions (or the index by ``freq``)."""
    if freq is not None:
        from oxdask.dataframe._frame_methods import _pw

        out = _pw(frame, "shift", periods, freq=freq)
        if frame.known_divisions:
            divs = [d + periods * pd.tseries.frequencies.to_offset(freq) for d in frame.divisions]
            return new_dd_object(out.dask, out._name, out._meta, tuple(divs))
        return out
    before, after = (periods, 0) if periods >= 0 else (0, -periods)
    f = _Method("shift", (periods,), {})
    return map_overlap(f, frame, before, after, meta=frame._meta, token="shift")


def diff(frame, periods=1, axis=0):
    """Difference with the row ``periods`` positions before (across partitions)."""
    before, after = (periods, 0) if periods >= 0 else (0, -periods)
    from oxdask.dataframe.partitionwise import emulate

    meta = emulate(methods.call_method, frame, "diff", periods)
    return map_overlap(
        _Method("diff", (periods,), {}), frame, before, after, meta=meta, token="diff"
    )


# -- cumulative reductions ----------------------------------------------------------------------


class _LastValid:
    """Last non-missing value (per column) of a cumulated partition; ``None`` if empty."""

    def __call__(self, cum):
        if len(cum) == 0:
            return None
        return cum.ffill().iloc[-1]


class _Carry:
    """Running total of the previous partitions: ``op(carry, last)`` skipping missing ones."""

    def __init__(self, op):
        self.op = op

    def __call__(self, carry, last):
        if last is None:
            return carry
        if carry is None:
            return last
        if isinstance(last, pd.Series):
            both = pd.DataFrame([carry, last])
            return getattr(both, self.op)(skipna=True)
        if pd.isna(last):
            return carry
        if pd.isna(carry):
            return last
        return getattr(pd.Series([carry, last]), self.op)()


class _ApplyCarry:
    def __init__(self, op):
        self.op = op

    def __call__(self, cum, carry):
        if carry is None:
            return cum
        if isinstance(cum, pd.DataFrame):
            if self.op == "sum":
                out = cum.add(carry, axis=1)
            elif self.op == "prod":
                out = cum.mul(carry, axis=1)
            else:
                out = cum.clip(**{"lower" if self.op == "max" else "upper": carry, "axis": 1})
            ints = {c: t for c, t in cum.dtypes.items() if pd.api.types.is_integer_dtype(t)}
            return out.astype(ints) if ints else out
        if self.op == "sum":
            return cum + carry
        if self.op == "prod":
            return cum * carry
        if pd.isna(carry):
            return cum
        return cum.clip(lower=carry) if self.op == "max" else cum.clip(upper=carry)


def cumulative(frame, method, skipna=True):
    """``cumsum``/``cumprod``/``cummax``/``cummin`` across partitions."""
    from oxdask.dataframe._frame_methods import _pw

    op = method[3:]
    cum = _pw(frame, method, skipna=skipna)
    n = frame.npartitions
    lname = _name(f"{method}-last", cum._name)
    kname = _name(f"{method}-carry", cum._name)
    last = {(lname, i): (_LastValid(), (cum._name, i)) for i in range(n)}
    carry = {(kname, 0): None}
    for i in range(1, n):
        carry[(kname, i)] = (_Carry(op), (kname, i - 1), (lname, i - 1))
    name = _name(method, cum._name)
    layer = BlockwiseLayer(
        name,
        _ApplyCarry(op),
        [0],
        [(cum._name, [0]), (kname, [0])],
        {cum._name: (n,), kname: (n,)},
    )
    out = _new(name, layer, [cum], cum._meta, frame.divisions)
    out.dask.layers[lname] = MaterializedLayer(last)
    out.dask.layers[kname] = MaterializedLayer(carry)
    out.dask.dependencies[lname] = {cum._name}
    out.dask.dependencies[kname] = {lname}
    out.dask.dependencies[name] |= {kname}
    return out


class _Fill:
    def __init__(self, method):
        self.method = method

    def __call__(self, part, carry):
        part = getattr(part, self.method)()
        return part if carry is None else part.fillna(carry)


class _Edge:
    def __init__(self, method):
        self.method = method

    def __call__(self, part):
        if len(part) == 0:
            return None
        filled = getattr(part, self.method)()
        return filled.iloc[-1] if self.method == "ffill" else filled.iloc[0]


class _FillCarry:
    def __call__(self, carry, edge):
        if edge is None:
            return carry
        if carry is None:
            return edge
        return (
            edge.fillna(carry)
            if isinstance(edge, pd.Series)
            else (carry if pd.isna(edge) else edge)
        )


def fill_across(frame, method, limit=None):
    """``ffill``/``bfill`` continuing across partition boundaries (``limit`` per partition)."""
    if limit is not None:
        raise NotImplementedError("ffill/bfill with limit= is not supported")
    n = frame.npartitions
    ename = _name(f"{method}-edge", frame._name)
    kname = _name(f"{method}-carry", frame._name)
    edges = {(ename, i): (_Edge(method), (frame._name, i)) for i in range(n)}
    order = range(n) if method == "ffill" else range(n - 1, -1, -1)
    order = list(order)
    carry = {(kname, order[0]): None}
    for prev, i in itertools.pairwise(order):
        carry[(kname, i)] = (_FillCarry(), (kname, prev), (ename, prev))
    name = _name(method, frame._name)
    layer = BlockwiseLayer(
        name,
        _Fill(method),
        [0],
        [(frame._name, [0]), (kname, [0])],
        {frame._name: (n,), kname: (n,)},
    )
    out = _new(name, layer, [frame], frame._meta, frame.divisions)
    out.dask.layers[ename] = MaterializedLayer(edges)
    out.dask.layers[kname] = MaterializedLayer(carry)
    out.dask.dependencies[ename] = {frame._name}
    out.dask.dependencies[kname] = {ename}
    out.dask.dependencies[name] |= {kname}
    return out


# -- rolling windows ----------------------------------------------------------------------------


class _RollingCall:
    def __init__(self, window_kwargs, method, args, kwargs):
        self.window_kwargs = window_kwargs
        self.method = method
        self.args = args
        self.kwargs = kwargs

    def __call__(self, df):
        r = df.rolling(**self.window_kwargs)
        return getattr(r, self.method)(*self.args, **self.kwargs)


class Rolling:
    """Rolling windows over a collection (``df.rolling(window)``), across partitions.

    Count windows borrow ``window - 1`` rows from the previous partitions (and ``window //
    2`` from the next with ``center=True``); time windows (``"2h"``) borrow the rows within
    that span and need a DatetimeIndex.
    """

    def __init__(
        self,
        obj,
        window,
        min_periods=None,
        center=False,
        win_type=None,
        axis=0,
        on=None,
        closed=None,
    ):
        if on is not None:  # Dask's type: its rolling takes no on=
            raise TypeError("rolling() got an unexpected keyword argument 'on': set_index first")
        if isinstance(window, int) and window < 0:
            raise ValueError("window must be non-negative")
        self.obj = obj
        self.window = window
        self.kwargs = {"window": window, "min_periods": min_periods, "center": center}
        if win_type is not None:
            self.kwargs["win_type"] = win_type
        if closed is not None:
            self.kwargs["closed"] = closed
        obj._meta_nonempty.rolling(**self.kwargs)  # validates the arguments

    def _call(self, method, *args, **kwargs):
        from oxdask.dataframe.partitionwise import emulate

        f = _RollingCall(self.kwargs, method, args, kwargs)
        meta = emulate(f, self.obj)
        if _is_offset(self.window):
            before, after = pd.Timedelta(self.window), 0
            if self.kwargs["center"]:
                after = before
        else:
            before = max(self.window - 1, 0)
            after = self.window // 2 if self.kwargs["center"] else 0
        return map_overlap(f, self.obj, before, after, meta=meta, token=f"rolling-{method}")


def _rolling_method(name):
    def method(self, *args, **kwargs):
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"Rolling ``{name}`` (see ``pandas.core.window.Rolling.{name}``)."
    return method


for _m in (
    "sum",
    "mean",
    "count",
    "min",
    "max",
    "std",
    "var",
    "median",
    "quantile",
    "apply",
    "agg",
    "aggregate",
    "skew",
    "kurt",
    "sem",
    "cov",
    "corr",
):
    setattr(Rolling, _m, _rolling_method(_m))
