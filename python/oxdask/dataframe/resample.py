"""``resample`` of a collection with a DatetimeIndex and known divisions.

The data is first repartitioned so that no time bin straddles two partitions (each inner
division moves to the start of its bin), then every partition is resampled on its own with
an origin fixed for the whole collection, and each partition's result is completed with the
empty bins that fall in its range (0 for counts and sums, NaN otherwise), as pandas does.
"""

from __future__ import annotations

import pandas as pd

from oxdask.dataframe.core import new_dd_object

__all__ = ["Resampler"]

_FILL = {"sum": 0, "count": 0, "size": 0, "nunique": 0, "prod": 1}


class _ResamplePart:
    def __init__(self, rule, kwargs, how, args, agg_kwargs, labels, fill):
        self.rule = rule
        self.kwargs = kwargs
        self.how = how
        self.args = args
        self.agg_kwargs = agg_kwargs
        self.labels = labels
        self.fill = fill

    def __call__(self, df, number):
        r = getattr(df.resample(self.rule, **self.kwargs), self.how)(*self.args, **self.agg_kwargs)
        labels = self.labels[number].rename(df.index.name)
        if self.fill is None:
            return r.reindex(labels)
        return r.reindex(labels, fill_value=self.fill)


class Resampler:
    """Time bins of a collection (``df.resample("1h").mean()``)."""

    def __init__(self, obj, rule, closed=None, label=None, **kwargs):
        if not obj.known_divisions:
            raise ValueError(
                "Can only resample dataframes with known divisions\nSee "
                "https://docs.dask.org/en/latest/dataframe-design.html#partitions\nfor more "
                "information."
            )
        if not isinstance(obj._meta.index, pd.DatetimeIndex):
            raise TypeError("resample needs a DatetimeIndex")
        self.obj = obj
        self.rule = rule
        kw = {"closed": closed, "label": label, **kwargs}
        kw = {k: v for k, v in kw.items() if v is not None}
        origin = kw.get("origin", "start_day")
        first = pd.Timestamp(obj.divisions[0])
        if _is_tick(rule):  # bins anchored on the whole collection's start, not a partition's
            if origin == "start_day":
                kw["origin"] = first.normalize()
            elif origin == "start":
                kw["origin"] = first
        self.kwargs = kw
        obj._meta_nonempty.resample(rule, **kw)  # validates the arguments

    def _plan(self):
        """New divisions (bin-aligned) and the bin labels of each new partition."""
        obj = self.obj
        divs = [pd.Timestamp(d) for d in obj.divisions]
        left_kw = {**self.kwargs, "label": "left"}
        closed_right = self.kwargs.get("closed") == "right" or (
            "closed" not in self.kwargs and _right_default(self.rule)
        )
        tick = pd.Timedelta(1, obj._meta.index.unit)  # the smallest step of the index
        new = [divs[0]]
        for d in divs[1:-1]:
            edge = pd.Series([0], index=[d]).resample(self.rule, **left_kw).count().index[0]
            b = edge + tick if closed_right else edge
            b = max(b, divs[0])
            if b > new[-1]:
                new.append(b)
        if divs[-1] > new[-1] or len(new) == 1:
            new.append(divs[-1])
        span = pd.Series([0, 0], index=[divs[0], divs[-1]])
        lefts = span.resample(self.rule, **left_kw).count().index
        labels = span.resample(self.rule, **self.kwargs).count().index
        per = []
        for j in range(len(new) - 1):
            lo, hi = new[j], new[j + 1]
            last = j == len(new) - 2
            if closed_right:
                mask = (lefts + tick >= lo) & ((lefts + tick < hi) | last)
            else:
                mask = (lefts >= lo) & ((lefts < hi) | last)
            if j == 0:
                mask |= lefts < lo
            per.append(labels[mask])
        return new, per

    def _agg(self, how, *args, **kwargs):
        from oxdask.dataframe.partitionwise import emulate, partitionwise
        from oxdask.dataframe.repartition import repartition_divisions

        new, labels = self._plan()
        parts = repartition_divisions(self.obj, new, force=True)
        fill = _FILL.get(args[0] if how == "agg" and args and isinstance(args[0], str) else how)
        func = _ResamplePart(self.rule, self.kwargs, how, args, kwargs, labels, fill)
        meta = emulate(_Meta(self.rule, self.kwargs, how, args, kwargs), self.obj)
        from oxdask.dataframe.core import _name
        from oxdask.dataframe.partitionwise import _info_frame

        numbers = _Numbers(_info_frame(parts))
        name = _name(f"resample-{how}", parts._name, self.rule, self.kwargs, args, kwargs)
        out = partitionwise(func, parts, numbers.frame, meta=meta, name=name)
        nonempty = [lab for lab in labels if len(lab)]
        if len(nonempty) == len(labels):
            divisions = (*[lab[0] for lab in labels], labels[-1][-1])
            return new_dd_object(out.dask, out._name, out._meta, divisions)
        return out.clear_divisions()

    def agg(self, agg_funcs, *args, **kwargs):
        """Aggregate every bin with a function name (or what pandas' ``agg`` accepts)."""
        return self._agg("agg", agg_funcs, *args, **kwargs)

    aggregate = agg


class _Numbers:
    """Partition numbers as a collection (from partition-info dicts)."""

    def __init__(self, info):
        self.frame = info.map_partitions(
            _number, meta=pd.Series([], dtype="int64"), enforce_metadata=False
        )


def _number(info):
    return info["number"]


class _Meta:
    def __init__(self, rule, kwargs, how, args, agg_kwargs):
        self.rule, self.kwargs, self.how = rule, kwargs, how
        self.args, self.agg_kwargs = args, agg_kwargs

    def __call__(self, df):
        return getattr(df.resample(self.rule, **self.kwargs), self.how)(
            *self.args, **self.agg_kwargs
        )


def _is_tick(rule) -> bool:
    try:
        off = pd.tseries.frequencies.to_offset(rule)
        return isinstance(off, (pd.offsets.Tick, pd.offsets.Day))
    except ValueError:
        return False


def _right_default(rule) -> bool:
    try:
        off = pd.tseries.frequencies.to_offset(rule)
    except ValueError:
        return False
    return type(off).__name__ in {"MonthEnd", "QuarterEnd", "YearEnd", "BusinessMonthEnd", "Week"}


def _method(how):
    def method(self, *args, **kwargs):
        return self._agg(how, *args, **kwargs)

    method.__name__ = how
    method.__doc__ = f"``{how}`` of every time bin."
    return method


for _h in (
    "sum",
    "mean",
    "count",
    "min",
    "max",
    "first",
    "last",
    "median",
    "std",
    "var",
    "size",
    "nunique",
    "prod",
    "ohlc",
    "sem",
):
    setattr(Resampler, _h, _method(_h))
