"""Task functions of the groupby tree reduction: per-partition partial aggregates, their
combination, and the final aggregates.

A chunk result is a dict: ``"agg"`` is a DataFrame indexed by the group keys whose columns
are named ``"<kind>-<k>"`` (partial ``kind`` of value column ``k``: ``sum``, ``count``,
``min``, ``max``, ``first``, ``last``, ``prod``, ``pmean`` and ``m2`` for variances) plus
``"size-"``; ``"nunique-<k>"`` entries hold the distinct (keys, value) rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oxdask.dataframe.shuffle import partitioning_index, split_by

# user function -> partial kinds it needs
PARTIALS = {
    "sum": ("sum",),
    "count": ("count",),
    "size": (),
    "min": ("min",),
    "max": ("max",),
    "first": ("first",),
    "last": ("last",),
    "prod": ("prod",),
    "mean": ("sum", "count"),
    "var": ("count", "pmean", "m2"),
    "std": ("count", "pmean", "m2"),
    "nunique": (),
}
# functions that take ``min_count`` (NaN below that many values in the group)
MIN_COUNT = ("sum", "prod", "min", "max", "first", "last")
# the value of a function on a group without rows (observed=False); NaN otherwise
_EMPTY_GROUP = {"sum": 0, "count": 0, "size": 0, "nunique": 0, "prod": 1}
_COMBINE = {
    "sum": "sum",
    "count": "sum",
    "size": "sum",
    "min": "min",
    "max": "max",
    "first": "first",
    "last": "last",
    "prod": "prod",
}


def _key_values(df, key_cols, key_parts, names):
    """The grouping keys of a partition: column labels and Series (renamed)."""
    keys = []
    parts = iter(key_parts)
    for c, nm in zip(key_cols, names, strict=True):
        if c is None:
            keys.append(next(parts).rename(nm))
        else:
            keys.append(c)
    return keys


class GroupbyChunk:
    """Partial aggregates of one partition. With ``sort`` (the result is sorted at the end,
    so the order of the partials does not matter), sums and counts by small-range integer
    keys are counted with ``np.bincount`` (see :func:`_bincount_partials`)."""

    def __init__(self, spec, sort=False):
        self.spec = spec  # a GroupSpec
        self.sort = sort

    def __call__(self, df, *key_parts):
        sp = self.spec
        if isinstance(df, pd.Series):
            df = df.to_frame(name=sp.series_column)
        keys = _key_values(df, sp.key_cols, key_parts, sp.key_names)
        if self.sort:
            agg = _bincount_partials(df, keys, sp)
            if agg is not None:
                return {"agg": agg}
        needed = sorted({k for ks in sp.partials.values() for k in ks})
        single = len(needed) == 1
        if single:  # a Series groupby is cheaper than a one-column DataFrame groupby
            series_keys = [df[k] if not isinstance(k, pd.Series) else k for k in keys]
            g = df[sp.value_cols[needed[0]]].groupby(
                series_keys, sort=False, observed=True, dropna=sp.dropna
            )
        else:
            g = df.groupby(keys, sort=False, observed=True, dropna=sp.dropna)
        # sizes are kept when asked for, or to carry the groups when nothing else does
        pieces = [g.size().rename("size-")] if sp.with_size else []
        for kind, ks in sp.partials.items():
            sub = g if single else g[[sp.value_cols[k] for k in ks]]
            if kind == "m2":
                r = sub.var(ddof=0) * sub.count()
            elif kind == "pmean":
                r = sub.mean()
            else:
                r = getattr(sub, kind)()
            if single:
                r = r.rename(f"{kind}-{ks[0]}")
            else:
                r.columns = [f"{kind}-{k}" for k in ks]
            pieces.append(r)
        agg = pd.concat(pieces, axis=1) if len(pieces) > 1 else pieces[0]
        out = {"agg": agg.to_frame() if isinstance(agg, pd.Series) else agg}
        for k in sp.nunique:
            frame = _keys_frame(df, keys)
            frame["v"] = df[sp.value_cols[k]].to_numpy()
            if sp.dropna:
                frame = frame.dropna(subset=list(frame.columns[:-1]))
            out[f"nunique-{k}"] = frame.drop_duplicates()
        return out


#: Most key combinations (product of the keys' ranges) counted with ``np.bincount``.
_BINCOUNT_CELLS = 1 << 20


def _bincount_partials(df, keys, sp):
    """The chunk's ``agg`` frame computed with ``np.bincount`` when every key is a numpy
    integer column whose values span few combinations and only sizes, sums and counts of
    float64 columns are asked (a groupby by day and hour, by small codes); None otherwise.
    The groups come out sorted; values, dtypes and names are those of the pandas path."""
    if sp.nunique or not set(sp.partials) <= {"sum", "count"} or not len(df):
        return None
    series, names = [], []
    for k in keys:
        s = k if isinstance(k, pd.Series) else df[k]
        if not isinstance(s.dtype, np.dtype) or s.dtype.kind not in "iu":
            return None
        if s.index is not df.index and not s.index.equals(df.index):
            return None  # pandas would align by label
        series.append(s.to_numpy())
        names.append(s.name if isinstance(k, pd.Series) else k)
    values = {k: df[sp.value_cols[k]] for ks in sp.partials.values() for k in ks}
    if any(v.dtype != np.float64 for v in values.values()):
        return None
    lows, spans, cells = [], [], 1
    for a in series:
        low, high = int(a.min()), int(a.max())
        lows.append(low)
        spans.append(high - low + 1)
        cells *= high - low + 1
    if cells > min(_BINCOUNT_CELLS, 4 * len(df) + 1024):
        return None
    codes = series[0].astype(np.int64)  # a copy: updated in place below
    if lows[0]:
        codes -= lows[0]
    for a, low, span in zip(series[1:], lows[1:], spans[1:], strict=True):
        codes *= span
        codes += a.astype(np.int64, copy=False)
        if low:
            codes -= low
    size = np.bincount(codes, minlength=cells)
    present = np.flatnonzero(size)
    levels, rest = [], present
    for a, low, span in zip(reversed(series), reversed(lows), reversed(spans), strict=True):
        levels.append((rest % span + low).astype(a.dtype))
        rest = rest // span
    levels.reverse()
    if len(levels) == 1:
        index = pd.Index(levels[0], name=names[0])
    else:
        index = pd.MultiIndex.from_arrays(levels, names=names)
    cols = {"size-": size[present]} if sp.with_size else {}
    for kind, ks in sp.partials.items():
        for k in ks:
            v = values[k].to_numpy()
            missing = np.isnan(v)
            some_missing = bool(missing.any())
            if kind == "sum":
                w = np.where(missing, 0.0, v) if some_missing else v
                cols[f"sum-{k}"] = np.bincount(codes, weights=w, minlength=cells)[present]
            elif some_missing:
                cols[f"count-{k}"] = np.bincount(codes[~missing], minlength=cells)[present]
            else:
                cols[f"count-{k}"] = size[present]
    return pd.DataFrame(cols, index=index)


def _keys_frame(df, keys):
    cols = {}
    for i, k in enumerate(keys):
        cols[f"key{i}"] = (k if isinstance(k, pd.Series) else df[k]).array  # keeps dtypes
    return pd.DataFrame(cols)


def _levels(agg):
    return list(range(agg.index.nlevels))


def combine_partials(values, dropna):
    """Merge a list of chunk dicts into one (same layout)."""
    aggs = [v["agg"] for v in values]
    nonempty = [a for a in aggs if len(a)] or aggs[:1]
    agg = pd.concat(nonempty) if len(nonempty) > 1 else nonempty[0]
    out = {}
    if len(nonempty) > 1:
        g = agg.groupby(level=_levels(agg), sort=False, dropna=dropna)
        by_kind: dict[str, list] = {}
        by_func: dict[str, list] = {}
        for c in agg.columns:
            kind = c.split("-", 1)[0]
            by_kind.setdefault(kind, []).append(c)
            if kind in _COMBINE:
                by_func.setdefault(_COMBINE[kind], []).append(c)
        parts = [getattr(g[cols], func)() for func, cols in by_func.items()]
        merged = pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]
        for c in by_kind.get("pmean", []):
            k = c.split("-", 1)[1]
            n = agg[f"count-{k}"]
            m = agg[c].where(n > 0, 0.0)
            m2 = agg[f"m2-{k}"].where(n > 0, 0.0)
            levels = _levels(agg)
            tot_n = n.groupby(level=levels, sort=False, dropna=dropna).transform("sum")
            tot_s = (n * m).groupby(level=levels, sort=False, dropna=dropna).transform("sum")
            with np.errstate(all="ignore"):
                mean_row = (tot_s / tot_n).where(tot_n > 0, 0.0)
            dev = m2 + n * (m - mean_row) ** 2
            gm2 = dev.groupby(level=levels, sort=False, dropna=dropna).sum()
            gs = (n * m).groupby(level=levels, sort=False, dropna=dropna).sum()
            gn = n.groupby(level=levels, sort=False, dropna=dropna).sum()
            with np.errstate(all="ignore"):
                merged[c] = (gs / gn).where(gn > 0, np.nan)
            merged[f"m2-{k}"] = gm2
        agg = merged[list(agg.columns)]
    out["agg"] = agg
    for name in values[0]:
        if name.startswith("nunique-"):
            frames = [v[name] for v in values]
            frames = [f for f in frames if len(f)] or frames[:1]
            both = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
            out[name] = both.drop_duplicates()
    return out


class GroupbyCombine:
    def __init__(self, dropna):
        self.dropna = dropna

    def __call__(self, values):
        return combine_partials(values, self.dropna)


class GroupbyAggregate:
    """Final aggregates from merged partials, shaped like ``meta``."""

    def __init__(self, spec, meta, sort, as_index, ddof=1):
        self.spec = spec
        self.meta = meta
        self.sort = sort
        self.as_index = as_index
        self.ddof = ddof

    def _min_count(self, agg, col, func, k):
        """NaN where a group has fewer than ``min_count`` values (all partitions counted)."""
        if self.spec.min_count <= 0 or func not in MIN_COUNT:
            return col
        return col.where(agg[f"count-{k}"] >= self.spec.min_count)

    def _column(self, merged, func, k):
        agg = merged["agg"]
        if func == "size":
            return agg["size-"]
        if func in ("sum", "count", "min", "max", "first", "last", "prod"):
            return agg[f"{func}-{k}"]
        if func == "mean":
            n = agg[f"count-{k}"]
            with np.errstate(all="ignore"):
                return (agg[f"sum-{k}"] / n).where(n > 0, np.nan)
        if func in ("var", "std"):
            n = agg[f"count-{k}"]
            d = n - self.ddof
            with np.errstate(all="ignore"):
                var = (agg[f"m2-{k}"] / d).where(d > 0, np.nan)
            return np.sqrt(var) if func == "std" else var
        if func == "nunique":
            frame = merged[f"nunique-{k}"]
            keys = list(frame.columns[:-1])
            g = frame.groupby(keys, sort=False, observed=True, dropna=self.spec.dropna)
            counts = g["v"].nunique()
            counts.index.names = agg.index.names
            return counts.reindex(agg.index, fill_value=0)
        raise ValueError(f"unsupported aggregation {func!r}")

    def finish(self, merged):
        agg = merged["agg"]
        cols = [self._column(merged, func, k) for func, k in self.spec.outputs]
        outputs = self.spec.outputs
        cols = [self._min_count(agg, c, f, k) for c, (f, k) in zip(cols, outputs, strict=True)]
        out = pd.concat(cols, axis=1) if cols else pd.DataFrame(index=agg.index)
        if self.spec.unobserved is not None:
            # a group without rows: NaN below min_count, else the function's empty value
            low = self.spec.min_count > 0
            fills = [
                np.nan if low and f in MIN_COUNT else _EMPTY_GROUP.get(f, np.nan)
                for f, _ in outputs
            ]
            out = fill_unobserved(out, self.spec.unobserved, fills)
        meta = self.meta
        if self.sort and len(out):
            out = out.sort_index()
        if not self.as_index:
            out.index.names = _index_names(meta, self.spec)
            out = out.reset_index()
        if isinstance(meta, pd.Series):
            out = out.iloc[:, 0]
            out.name = meta.name
            out.index.names = meta.index.names
            return _cast(out, meta)
        out.columns = meta.columns
        if self.as_index:
            out.index.names = meta.index.names
        return _cast(out, meta)

    def __call__(self, values):
        return self.finish(combine_partials(values, self.spec.dropna))


def fill_unobserved(out, categorical, fills):
    """``out`` (indexed by the group keys) with a row for every combination of categories
    not seen, holding ``fills`` (one per column), after the observed rows (as pandas'
    ``observed=False``). ``categorical``: per key level, whether its categories (read from
    the level's dtype) are combined, else the level's observed values are."""
    idx = out.index
    levels = []
    for i, cat in enumerate(categorical):
        dt = idx.get_level_values(i).dtype
        if cat and isinstance(dt, pd.CategoricalDtype):
            levels.append(pd.Categorical(dt.categories, dtype=dt))
        else:
            levels.append(idx.get_level_values(i).dropna().unique())
    if len(levels) == 1:
        full = pd.CategoricalIndex(levels[0], name=idx.name)
    else:
        full = pd.MultiIndex.from_product(levels, names=idx.names)
    missing = full[~full.isin(idx)]
    if not len(missing):
        return out
    extra = {}
    for i, fill in enumerate(fills):
        dtype = out.iloc[:, i].dtype
        if isinstance(fill, float) and np.isnan(fill) and dtype.kind in "iub":
            dtype = np.float64
        extra[i] = pd.Series(fill, index=missing, dtype=dtype)
    extra = pd.DataFrame(extra, index=missing)
    extra.columns = out.columns
    both = pd.concat([out, extra]) if len(out) else extra
    if len(levels) > 1:  # concat may lose the levels' categorical dtype
        both.index = _with_level_dtypes(both.index, full)
    return both


def _with_level_dtypes(index, like):
    arrays = []
    for i in range(index.nlevels):
        vals = index.get_level_values(i)
        dt = like.levels[i].dtype
        arrays.append(vals.astype(dt) if vals.dtype != dt else vals)
    return pd.MultiIndex.from_arrays(arrays, names=index.names)


def _index_names(meta, spec):
    return spec.key_names


def _differs(have, want) -> bool:
    """Whether a result column of dtype ``have`` must be cast to ``want`` (categoricals keep
    the categories the data has: the metadata's may be unknown)."""
    if isinstance(have, pd.CategoricalDtype) and isinstance(want, pd.CategoricalDtype):
        return False
    return have != want


def _cast(out, meta):
    try:
        if isinstance(meta, pd.Series):
            return out.astype(meta.dtype) if _differs(out.dtype, meta.dtype) else out
        diff = {c: t for c, t in meta.dtypes.items() if _differs(out[c].dtype, t)}
        return out.astype(diff) if diff else out
    except (TypeError, ValueError):
        return out


class SplitPartials:
    """Cut a chunk dict into ``n`` dicts by a hash of the group keys."""

    def __init__(self, n):
        self.n = n

    def __call__(self, d):
        out = [{} for _ in range(self.n)]
        for name, frame in d.items():
            if len(frame) == 0:
                pieces = [frame] * self.n
            else:
                keys = frame.index.to_frame(index=False) if name == "agg" else frame.iloc[:, :-1]
                dest = partitioning_index(keys, self.n)
                pieces = split_by(frame, dest, self.n)
            for j in range(self.n):
                out[j][name] = pieces[j]
        return out


class PickPart:
    def __call__(self, parts, j):
        return parts[j]


class GroupCall:
    """Per-partition pandas groupby call after the shuffle."""

    def __init__(
        self,
        method,
        args,
        kwargs,
        cols,
        tmp,
        names,
        selection,
        series,
        dropna,
        group_keys,
        as_index,
        sort,
    ):
        self.method = method
        self.args = args
        self.kwargs = kwargs
        self.cols = cols
        self.tmp = tmp
        self.names = names
        self.selection = selection
        self.series = series
        self.dropna = dropna
        self.group_keys = group_keys
        self.as_index = as_index
        self.sort = sort
        self.meta = None  # the result of a partition without rows, when set

    def __call__(self, df):
        tmp = set(self.tmp)
        keys = [
            df[c].rename(n) if c in tmp else c for c, n in zip(self.cols, self.names, strict=True)
        ]
        data = df.drop(columns=self.tmp) if self.tmp else df
        if self.series:
            data = data.iloc[:, 0]
            keys = [k if not isinstance(k, str) or k not in df.columns else df[k] for k in keys]
        g = data.groupby(
            keys if len(keys) > 1 else keys[0],
            sort=self.sort,
            dropna=self.dropna,
            observed=True,
            group_keys=self.group_keys,
            as_index=self.as_index,
        )
        if self.selection is not None:
            g = g[self.selection]
        if len(df) == 0 and self.meta is not None:
            try:  # user functions often fail on no rows (pandas: "No objects to concatenate")
                return getattr(g, self.method)(*self.args, **self.kwargs)
            except Exception:
                return self.meta
        return getattr(g, self.method)(*self.args, **self.kwargs)
