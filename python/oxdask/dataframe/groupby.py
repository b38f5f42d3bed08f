"""``groupby``: aggregations by tree reduction, ``apply``/``transform`` by a hash shuffle.

Aggregations that decompose (``sum``, ``mean``, ``count``, ``size``, ``min``, ``max``,
``std``, ``var``, ``first``, ``last``, ``prod``, ``nunique``) reduce every partition to
partial aggregates per group, combine them ``split_every`` at a time and finish at the root
(see :mod:`oxdask.dataframe._groupby_funcs`). With ``split_out=k`` the partials are hashed
by group into ``k`` buckets reduced separately, giving ``k`` output partitions. Other
aggregations, ``apply``, ``transform`` and cumulative operations first gather every group
into one partition with :func:`oxdask.dataframe.shuffle.shuffle`.

Keys may be column labels, Series aligned with the frame (``df.ts.dt.hour``), or a list of
both; the result's layout (columns, names, dtypes) is the one pandas gives on a small fake.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from oxdask.base import is_dask_collection
from oxdask.dataframe import _groupby_custom as gc
from oxdask.dataframe import _groupby_funcs as gf
from oxdask.dataframe._groupby_more import GroupByShuffled, _warn_meta
from oxdask.dataframe._groupby_spec import (
    GroupSpec,
    _column_of,
    _func_name,
    _is_column,
    _level_keys,
    _meta_of,
    _sort,
    _sort_index,
)
from oxdask.dataframe.core import DataFrame, Index, Series, _Frame, _name, _new
from oxdask.highlevelgraph import BlockwiseLayer, MaterializedLayer, TreeReduceLayer
from oxdask.tokenize import tokenize

__all__ = ["NUMERIC_ONLY_NOT_IMPLEMENTED", "DataFrameGroupBy", "SeriesGroupBy"]

# aggregations that need numeric_only=True on frames with non-numeric columns (as in Dask)
NUMERIC_ONLY_NOT_IMPLEMENTED = ["mean", "std", "var"]


def _is_index_name(obj, b) -> bool:
    if isinstance(obj, DataFrame) and _is_column(obj._meta, b):
        return False
    try:
        hash(b)  # a label; an array compared with the names would be truth-tested
        return b is not None and b in obj._meta.index.names
    except TypeError:
        return False


# in-memory values that pandas takes as one key per row, but that are not split into the
# partitions of a dask collection
_LOCAL_KEYS = (
    pd.Index,
    pd.Series,
    pd.DataFrame,
    np.ndarray,
    pd.api.extensions.ExtensionArray,
    list,
)


def _type_name(b) -> str:
    root = type(b).__module__.split(".")[0]
    return type(b).__name__ if root == "builtins" else f"{root}.{type(b).__name__}"


def _refuse_key(b):
    """A TypeError for a key pandas would take but a partitioned collection cannot."""
    if isinstance(b, _LOCAL_KEYS):
        raise TypeError(
            f"groupby: a key cannot be an in-memory {_type_name(b)} of row values: its rows are"
            " not split into the collection's partitions. Group by a column label, or by a"
            " Series or Index of the collection itself (ddf.index.month, not df.index.month)"
        )
    if is_dask_collection(b) and not isinstance(b, _Frame):
        raise TypeError(
            f"groupby: a key cannot be an {_type_name(b)}; group by a column label, or by a"
            " Series or Index of the collection itself"
        )


class _GroupBy(GroupByShuffled):
    def __init__(
        self,
        obj,
        by=None,
        level=None,
        sort=None,
        dropna=None,
        observed=None,
        group_keys=True,
        as_index=True,
        _selection=None,
        **kwargs,
    ):
        if kwargs:
            raise TypeError(f"groupby() got unexpected keyword arguments {sorted(kwargs)}")
        if level is not None:
            if by is not None:
                raise TypeError("groupby: pass either by= or level=, not both")
            by = _level_keys(obj, level)
        if by is None:
            raise TypeError("You have to supply one of 'by' and 'level'")
        self.obj = obj
        self.sort = sort
        self.dropna = True if dropna is None else bool(dropna)
        self.observed = observed
        self.group_keys = group_keys
        self.as_index = as_index
        self._selection = _selection
        self._by = by if isinstance(by, list) else [by]
        if not self._by:
            raise ValueError("No group keys passed!")
        self._key_cols, self._key_series = self._split_keys()
        self._meta = self._pandas_groupby(self.obj._meta_nonempty, nonempty=True)

    # -- keys -------------------------------------------------------------------------------
    def _split_keys(self):
        obj = self.obj
        cols, series = [], []
        self._index_keys = set()  # positions of keys that are the (named) index of obj
        named = obj._meta.index.name is not None
        for b in self._by:
            if isinstance(b, pd.Grouper):
                raise NotImplementedError("groupby by a pandas Grouper is not supported")
            _refuse_key(b)
            if callable(b) and not isinstance(b, _Frame):
                b = obj.index.map(b)  # pandas: the function's values on the index labels
            if isinstance(b, Index):
                if named and b._name == obj.index._name:
                    self._index_keys.add(len(cols))
                    b = b.to_series()
                else:  # an Index derived from the index (ddf.index.month): by position
                    b = _positional(obj, b)
            elif not isinstance(b, _Frame) and _is_index_name(obj, b):
                if named:
                    self._index_keys.add(len(cols))
                b = obj.index.to_series()  # pandas: a key may name the index
            if isinstance(b, _Frame):
                if not isinstance(b, Series):  # Dask's error type
                    raise ValueError("groupby keys must be column labels or Series")
                if b.npartitions != obj.npartitions or (
                    b.known_divisions and obj.known_divisions and b.divisions != obj.divisions
                ):
                    raise NotImplementedError(
                        "The grouped object and 'by' of the groupby must have the same divisions."
                    )
                col = _column_of(obj, b)
                if col is not None:
                    cols.append(col)
                    continue
                cols.append(None)
                series.append(b)
            elif isinstance(obj, DataFrame) and _is_column(obj._meta, b):
                cols.append(b)
            else:
                raise KeyError(
                    f"groupby: column {b!r} not found in {list(obj._meta.columns)}"
                    if isinstance(obj, DataFrame)
                    else f"groupby: key {b!r} not found"
                )
        return cols, series

    @property
    def by(self):
        """The keys: column labels, and Series that are not columns of the frame."""
        it = iter(self._key_series)
        return [c if c is not None else next(it) for c in self._key_cols]

    def _key_names(self):
        names, it = [], iter(self._key_series)
        for c in self._key_cols:
            names.append(c if c is not None else next(it)._meta.name)
        return names

    def _pandas_keys(self, frame_ne, nonempty=True):
        keys, it = [], iter(self._key_series)
        for c in self._key_cols:
            if c is not None:
                keys.append(c)
            else:
                s = next(it)
                v = s._meta_nonempty if nonempty else s._meta
                keys.append(v.set_axis(frame_ne.index) if len(v) == len(frame_ne) else v)
        return keys

    def _pandas_groupby(self, frame, nonempty=True):
        keys = self._pandas_keys(frame, nonempty)
        g = frame.groupby(
            keys if len(keys) > 1 else keys[0],
            sort=self.sort if self.sort is not None else True,
            dropna=self.dropna,
            observed=True,
            group_keys=self.group_keys,
            as_index=self.as_index,
        )
        if self._selection is not None:
            g = g[self._selection]
        return g

    def _value_columns(self):
        obj = self.obj
        if isinstance(obj, Series):
            return [obj._meta.name if obj._meta.name is not None else "__series__"]
        sel = self._selection
        if sel is None:
            key_cols = {c for c in self._key_cols if c is not None}
            return [c for c in obj._meta.columns if c not in key_cols]
        return list(sel) if isinstance(sel, list) else [sel]

    # -- tree aggregation ---------------------------------------------------------------------
    def _outputs(self, arg, kwargs):
        """``[(func, value column position)]`` in pandas' output order, or None."""
        values = self._value_columns()
        pos = {c: i for i, c in enumerate(values)}
        series_like = isinstance(self.obj, Series) or (
            self._selection is not None and not isinstance(self._selection, list)
        )
        if arg is None and kwargs:  # named aggregation
            out = []
            for spec in kwargs.values():
                if series_like:
                    out.append((_func_name(spec), 0))
                else:
                    if hasattr(spec, "aggfunc"):  # pandas NamedAgg
                        if getattr(spec, "args", ()) or getattr(spec, "kwargs", {}):
                            return None  # function options: pandas on whole groups
                        col, f = spec.column, spec.aggfunc
                    else:
                        col, f = spec
                    out.append((_func_name(f), pos.get(col)))
            return out
        if isinstance(arg, (str, gc.Aggregation)) or callable(arg):
            f = _func_name(arg)
            if f == "size":
                return [("size", None)]
            return [(f, 0)] if series_like else [(f, pos[c]) for c in values]
        if isinstance(arg, list):
            fs = [_func_name(a) for a in arg]
            if series_like:
                return [(f, 0) for f in fs]
            return [(f, pos[c]) for c in values for f in fs]
        if isinstance(arg, dict):
            out = []
            for col, fs in arg.items():
                fs = fs if isinstance(fs, list) else [fs]
                out += [(_func_name(f), pos.get(col)) for f in fs]
            return out
        return None

    def _split_out(self, split_out):
        return self.obj.npartitions if split_out is True else split_out

    def _aggregate(self, arg, kwargs, split_every, split_out, token, ddof=1):
        split_out = self._split_out(split_out)
        if gc.has_custom(arg, kwargs):
            return self._custom_agg(arg, kwargs, split_every, split_out, token)
        meta = _meta_of(self._call_meta("agg", arg, **kwargs))
        outputs = self._outputs(arg, kwargs)
        if (
            outputs is None
            or (arg is not None and kwargs)  # options of the function: pandas on whole groups
            or any(
                not isinstance(f, str) or f not in gf.PARTIALS or (f != "size" and k is None)
                for f, k in outputs
            )
        ):
            return self._shuffle_agg(arg, kwargs, meta, split_out)
        return self._reduce_outputs(outputs, meta, split_every, split_out, token, ddof)

    def _custom_agg(self, arg, kwargs, split_every, split_out, token):
        """An aggregation using :class:`~oxdask.dataframe.Aggregation` objects."""
        return gc.custom_agg(self, arg, kwargs, split_every, split_out, token)

    def _unobserved(self):
        """Per key, whether it is categorical, when unseen categories must be added (None
        when ``observed`` is not False or no key is categorical). The categories are read
        from the data, so that unknown categories in the metadata work too."""
        if self.observed is not False:
            return None
        flags, it = [], iter(self._key_series)
        for c in self._key_cols:
            m = self.obj._meta[c] if c is not None else next(it)._meta
            flags.append(isinstance(m.dtype, pd.CategoricalDtype))
        return flags if any(flags) else None

    def _reduce_outputs(self, outputs, meta, split_every, split_out, token, ddof=1, min_count=0):
        """The tree reduction computing ``outputs`` (``[(func, value column)]``)."""
        values = self._value_columns()
        spec = GroupSpec(
            self._key_cols,
            self._key_names(),
            values,
            outputs,
            self.dropna,
            values[0],
            min_count,
            self._unobserved(),
        )
        sort = _sort(self.sort, split_out)
        final = gf.GroupbyAggregate(spec, meta, bool(sort), self.as_index, ddof)
        return self._tree(spec, final, meta, split_every, split_out or 1, token)

    def _tree(self, spec, final, meta, split_every, split_out, token, chunk=None, combine=None):
        from oxdask.dataframe.partitionwise import align_partitions, partitionwise
        from oxdask.dataframe.reductions import _split_every

        obj, *keys = align_partitions(self.obj, *self._key_series)
        base = tokenize(
            obj._name,
            [k._name for k in keys],
            spec,
            final.meta,
            final.sort,
            final.as_index,
            final.ddof,
            split_every,
            split_out,
        )
        cname = f"{token}-chunk-{base}"
        rule = None
        if isinstance(obj, DataFrame):
            from oxdask.dataframe.projection import ColumnRule

            used = [c for c in spec.key_cols if c is not None] + list(spec.value_cols)
            rule = ColumnRule(obj._name, select=used)
        chunked = partitionwise(
            chunk or gf.GroupbyChunk(spec, final.sort),
            obj,
            *keys,
            meta=obj._meta,
            name=cname,
            columns_rule=rule,
        )
        # many groups: merge all partials of a bucket at once (each level re-groups them)
        if split_every is None and split_out > 1:
            split_every = max(obj.npartitions, 2)
        every = _split_every(split_every)
        combine = combine or gf.GroupbyCombine(spec.dropna)
        oname = f"{token}-agg-{base}"
        if split_out == 1:
            from oxdask.dataframe.reductions import tree_reduce

            return tree_reduce(chunked, combine, final, meta, oname, split_every)
        n = chunked.npartitions
        sname, pname = f"{token}-split-{base}", f"{token}-bucket-{base}"
        jname = "out-number-" + tokenize(split_out)
        split = BlockwiseLayer(
            sname, gf.SplitPartials(split_out), [0], [(cname, [0])], {cname: (n,)}
        )
        s = _new(sname, split, [chunked], obj._meta, obj.divisions)
        pick = BlockwiseLayer(
            pname,
            gf.PickPart(),
            [0, 1],
            [(sname, [0]), (jname, [1])],
            {sname: (n,), jname: (split_out,)},
        )
        p = _new(
            pname,
            pick,
            [s],
            obj._meta,
            obj.divisions,
            {jname: MaterializedLayer({(jname, j): j for j in range(split_out)})},
        )
        tree = TreeReduceLayer(oname, pname, (n, split_out), [0], [every], combine, final)
        return _new(oname, tree, [p], meta, (None,) * (split_out + 1))

    def _call_meta(self, method, *args, **kwargs):
        g = self._pandas_groupby(self.obj._meta_nonempty)
        return getattr(g, method)(*args, **kwargs)

    # -- shuffle-based operations ---------------------------------------------------------------
    def _shuffled(self, npartitions=None):
        """The frame with its key Series as columns, hash-shuffled by the keys."""
        from oxdask.dataframe.shuffle import shuffle

        frame = self.obj.to_frame() if isinstance(self.obj, Series) else self.obj
        tmp = [f"__groupby_key_{i}" for i in range(len(self._key_series))]
        if tmp:
            frame = frame.assign(**dict(zip(tmp, self._key_series, strict=True)))
        it = iter(tmp)
        cols = [c if c is not None else next(it) for c in self._key_cols]
        return shuffle(frame, cols, npartitions=npartitions), cols, tmp

    def _in_place(self):
        """Whether groups already sit in one partition each: a key is the index, known
        divisions, and every other key is a column."""
        it = [i for i, c in enumerate(self._key_cols) if c is None]
        return bool(self._index_keys and self.obj.known_divisions and set(it) <= self._index_keys)

    def _per_group(self, method, args, kwargs, meta, npartitions=None, sort_result=False):
        if not sort_result and npartitions is None and self._in_place():
            # no shuffle: pandas resolves the index name inside each partition
            obj = self.obj
            shuffled = obj.to_frame() if isinstance(obj, Series) else obj
            iname = obj._meta.index.name
            cols, tmp = [c if c is not None else iname for c in self._key_cols], []
            divisions = obj.divisions
        else:
            shuffled, cols, tmp = self._shuffled(npartitions)
            divisions = (None,) * (shuffled.npartitions + 1)
        call = gf.GroupCall(
            method,
            args,
            kwargs,
            cols,
            tmp,
            self._key_names(),
            self._selection,
            isinstance(self.obj, Series),
            self.dropna,
            self.group_keys,
            self.as_index,
            self.sort if self.sort is not None else True,
        )
        call.meta = meta if isinstance(meta, (pd.DataFrame, pd.Series)) else None
        name = _name(f"groupby-{method}", shuffled._name, call)
        from oxdask.dataframe.partitionwise import partitionwise

        out = partitionwise(call, shuffled, meta=meta, name=name, divisions=divisions)
        if sort_result:
            from oxdask.dataframe.repartition import repartition_npartitions

            one = repartition_npartitions(out, 1)
            return one.map_partitions(_sort_index, meta=meta, token="sort-index")
        return out

    def _shuffle_agg(self, arg, kwargs, meta, split_out):
        sort = self.sort if self.sort is not None else True
        one = split_out in (None, 1)
        return self._per_group(
            "agg", (arg,) if arg is not None else (), kwargs, meta, sort_result=sort and one
        )

    def apply(self, func, *args, meta=None, **kwargs):
        """``func`` on every group (groups gathered by a hash shuffle; row order changes)."""
        if meta is None:
            _warn_meta()
            meta = _meta_of(self._call_meta("apply", func, *args, **kwargs))
        else:
            meta = self._given_meta(meta)
        return self._per_group("apply", (func, *args), kwargs, meta)

    def _given_meta(self, meta):
        """A ``meta=`` argument (pandas object, dict, list of tuples, tuple) as pandas."""
        from oxdask.dataframe.utils import make_meta

        return make_meta(meta, index=self.obj._meta.index)

    def transform(self, func, *args, meta=None, **kwargs):
        """``func`` on every group, shaped like the group (by a hash shuffle)."""
        if meta is None:
            if not isinstance(func, str):  # a user function: its output type is a guess
                _warn_meta()
            meta = _meta_of(self._call_meta("transform", func, *args, **kwargs))
        else:
            meta = self._given_meta(meta)
        return self._per_group("transform", (func, *args), kwargs, meta)

    def _cum(self, method, **kwargs):
        meta = _meta_of(self._call_meta(method, **kwargs))
        return self._per_group(method, (), kwargs, meta)

    def cumsum(self, axis=None, **kwargs):
        """Cumulative sum within each group (original index, shuffled row order)."""
        return self._cum("cumsum", **kwargs)

    def cumprod(self, axis=None, **kwargs):
        """Cumulative product within each group."""
        return self._cum("cumprod", **kwargs)

    def cummax(self, axis=None, **kwargs):
        """Cumulative maximum within each group."""
        return self._cum("cummax", **kwargs)

    def cummin(self, axis=None, **kwargs):
        """Cumulative minimum within each group."""
        return self._cum("cummin", **kwargs)

    def cumcount(self, ascending=True):
        """Position of each row within its group."""
        return self._cum("cumcount", ascending=ascending)

    def shift(self, periods=1, meta=None, **kwargs):
        """Values shifted within each group."""
        if meta is None:
            _warn_meta()  # as Dask
            meta = _meta_of(self._call_meta("shift", periods, **kwargs))
        else:
            meta = self._given_meta(meta)
        return self._per_group("shift", (periods,), kwargs, meta)

    def median(self, split_every=None, split_out=1, shuffle_method=None, numeric_only=False):
        """Median per group (by a hash shuffle)."""
        kw = {"numeric_only": numeric_only} if numeric_only else {}
        meta = _meta_of(self._call_meta("median", **kw))
        sort = self.sort if self.sort is not None else True
        return self._per_group("median", (), kw, meta, sort_result=sort and split_out in (None, 1))

    # -- aggregation methods ------------------------------------------------------------------
    def aggregate(self, arg=None, split_every=None, split_out=None, shuffle_method=None, **kwargs):
        """Aggregate with a function name, a list, a dict, or named aggregation."""
        shuffle_method = kwargs.pop("shuffle_backend", shuffle_method)  # Dask's older name
        n = self._split_out(split_out)
        if self.sort and n not in (None, 1) and shuffle_method:
            # sorted groups over several partitions: aggregate, sort, cut by position
            from oxdask.dataframe.repartition import repartition_npartitions

            one = self._aggregate(arg, kwargs, split_every, 1, "aggregate")
            return repartition_npartitions(one, n)
        return self._aggregate(arg, kwargs, split_every, split_out, "aggregate")

    agg = aggregate

    def _simple(self, func, split_every, split_out, ddof=1, **kwargs):
        split_out = self._split_out(split_out)
        if kwargs.pop("numeric_only", False):
            return self._numeric()._simple(func, split_every, split_out, ddof, **kwargs)
        min_count = kwargs.pop("min_count", 0) if func in gf.MIN_COUNT else 0
        if func in ("first", "last") and kwargs.get("skipna", True):
            kwargs.pop("skipna", None)
        if kwargs:  # options the tree reduction does not know: pandas on whole groups
            meta = _meta_of(self._call_meta(func, min_count=min_count, **kwargs))
            kw = {"min_count": min_count, **kwargs} if min_count else kwargs
            sort = self.sort if self.sort is not None else True
            one = split_out in (None, 1)
            return self._per_group(func, (), kw, meta, sort_result=sort and one)
        if func in NUMERIC_ONLY_NOT_IMPLEMENTED and isinstance(self.obj, DataFrame):
            obj = self.obj._meta
            if any(not pd.api.types.is_numeric_dtype(obj[c]) for c in self._value_columns()):
                raise NotImplementedError(
                    "'numeric_only=False' is not implemented in Dask. Pass numeric_only=True "
                    f"or select the numeric columns to compute {func}."
                )
        kw = {"ddof": ddof} if func in ("var", "std") else {}
        if min_count:
            kw["min_count"] = min_count
        meta = _meta_of(self._call_meta(func, **kw))
        outputs = (
            [("size", None)]
            if func == "size"
            else [(func, i) for i in range(len(self._value_columns()))]
        )
        return self._reduce_outputs(
            outputs, meta, split_every, split_out, f"groupby-{func}", ddof, min_count or 0
        )

    def _numeric(self):
        obj = self.obj
        if isinstance(obj, Series):
            return self
        cols = [
            c for c in self._value_columns() if pd.api.types.is_numeric_dtype(obj._meta[c].dtype)
        ]
        return self[cols]


def _method(func):
    def method(self, split_every=None, split_out=None, shuffle_method=None, **kwargs):
        return self._simple(func, split_every, split_out, **kwargs)

    method.__name__ = func
    method.__doc__ = f"``{func}`` of every group (a tree reduction)."
    return method


def _var_method(func):
    def method(
        self, ddof=1, split_every=None, split_out=None, shuffle_method=None, numeric_only=False
    ):
        if numeric_only:
            return self._numeric()._simple(func, split_every, split_out, ddof)
        return self._simple(func, split_every, split_out, ddof)

    method.__name__ = func
    method.__doc__ = f"``{func}`` of every group (``ddof`` delta degrees of freedom)."
    return method


for _f in ("sum", "mean", "count", "size", "min", "max", "first", "last", "prod", "nunique"):
    setattr(_GroupBy, _f, _method(_f))
for _f in ("var", "std"):
    setattr(_GroupBy, _f, _var_method(_f))


class DataFrameGroupBy(_GroupBy):
    """``DataFrame.groupby(...)``: select columns with ``[...]`` then aggregate."""

    def __getitem__(self, key):
        if isinstance(key, (tuple, pd.Index, pd.Series, np.ndarray)):
            key = list(key)  # pandas selects these like a list
        self._meta[key]  # validates the columns (raises KeyError naming them)
        cls = DataFrameGroupBy if isinstance(key, list) else SeriesGroupBy
        return cls(
            self.obj,
            by=self._by,
            sort=self.sort,
            dropna=self.dropna,
            observed=self.observed,
            group_keys=self.group_keys,
            as_index=self.as_index,
            _selection=key,
        )

    def __dir__(self):
        cols = [c for c in self.obj._meta.columns if isinstance(c, str) and c.isidentifier()]
        return sorted({*super().__dir__(), *cols})

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        obj = self.__dict__.get("obj")
        if obj is not None and isinstance(obj, DataFrame) and key in obj._meta.columns:
            return self[key]
        raise AttributeError(f"'DataFrameGroupBy' object has no attribute {key!r}")


class SeriesGroupBy(_GroupBy):
    """``Series.groupby(...)`` or one column of a DataFrameGroupBy."""

    def value_counts(self, **kwargs):
        """Counts of values within each group (by a hash shuffle)."""
        meta = _meta_of(self._call_meta("value_counts", **kwargs))
        return self._per_group("value_counts", (), kwargs, meta, sort_result=True)

    def unique(self):
        """Distinct values of each group (by a hash shuffle)."""
        meta = _meta_of(self._call_meta("unique"))
        return self._per_group("unique", (), {}, meta, sort_result=True)


def _values_on(frame, index):
    return pd.Series(index.to_numpy(), index=frame.index, name=index.name)


def _positional(obj, index):
    """An Index collection as a Series on the rows of ``obj`` (partition by partition)."""
    from oxdask.dataframe.partitionwise import map_partitions

    meta = _values_on(obj._meta, index._meta)
    return map_partitions(_values_on, obj, index, meta=meta, align_dataframes=False)
