"""More methods of DataFrame and Series (mixed into ``core._Frame``): statistics (skew,
kurtosis, corr, cov, autocorr, nunique_approx, monotonicity), reshaping of labels, sampling,
iteration, column indexing with ``iloc``, and descriptions of the collection.
"""

from __future__ import annotations

import itertools
import sys
import warnings

import numpy as np
import pandas as pd

from oxdask.dataframe import _stats

_NOT_PEARSON = "Only Pearson correlation has been implemented"


def _is_frame(x) -> bool:
    return isinstance(x._meta, pd.DataFrame)


def _numeric_columns(self, numeric_only, what):
    """Columns a per-column statistic runs on, checked as pandas checks them."""
    meta = self._meta_nonempty
    getattr(meta, what)(numeric_only=numeric_only) if _is_frame(self) else None
    if not _is_frame(self):
        return None
    return list(meta.select_dtypes("number").columns) if numeric_only else list(meta.columns)


class _ILocIndexer:
    """``df.iloc[:, columns]``: column selection by position (rows cannot be selected)."""

    def __init__(self, frame):
        self.frame = frame

    def __getitem__(self, key):
        if not isinstance(key, tuple) or len(key) != 2:
            raise NotImplementedError(
                "'DataFrame.iloc' only supports selecting columns. "
                "It must be used like 'df.iloc[:, column_indexer]'."
            )
        rows, cols = key
        if not (isinstance(rows, slice) and rows == slice(None)):
            raise NotImplementedError(
                "'DataFrame.iloc' does not support slicing rows. The first indexer must be a ':'."
            )
        meta = self.frame._meta.iloc[:, cols]
        if isinstance(meta, pd.Series):
            return self.frame[meta.name]
        if self.frame._meta.columns.is_unique:
            return self.frame[list(meta.columns)]
        return self.frame.map_partitions(lambda df: df.iloc[:, cols], meta=meta)


def _align_side(a, b, side, join, axis, fill_value):
    return a.align(b, join=join, axis=axis, fill_value=fill_value)[side]


def _split_rows(part, frac, seed, which, partition_info=None):
    number = partition_info["number"] if partition_info else 0
    rng = np.random.default_rng([seed, number])
    bins = np.searchsorted(np.cumsum(frac), rng.random(len(part)), side="right")
    return part[bins == which]


def _sample_rows(part, frac, replace, seed, partition_info=None):
    number = partition_info["number"] if partition_info else 0
    rng = np.random.default_rng([seed, number])
    return part.sample(frac=frac, replace=replace, random_state=rng)


def _seed(random_state) -> int:
    if random_state is None:
        return int(np.random.default_rng().integers(2**32))
    if isinstance(random_state, int | np.integer):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**32))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**32))
    raise TypeError(
        f"random_state must be an int, a RandomState or a Generator, not {random_state!r}"
    )


def _pair(a, b):
    return pd.DataFrame({0: a, 1: b})


def _case_when(series, *flat):
    return series.case_when(list(zip(flat[::2], flat[1::2], strict=True)))


def _bounds(s):
    if not len(s):
        return None
    low, high = s.min(), s.max()  # NumPy scalars as Python ones, as pandas' tolist
    return tuple(v.item() if isinstance(v, np.generic) else v for v in (low, high))


def _backfill(values: list) -> list:
    """``None`` entries take the next value (empty partitions take their neighbour's)."""
    out, last = [], None
    for v in reversed(values):
        last = v if v is not None else last
        out.append(last)
    return out[::-1]


def _records(df, index):
    return df.to_records(index=index)


class ExtraMethods:
    """Methods of both DataFrame and Series beyond the partition-wise basics."""

    __slots__ = ()

    # -- statistics ----------------------------------------------------------------------------
    def _moment_stat(self, aggregate, numeric_only, what, split_every, **kwargs):
        from oxdask.dataframe.reductions import reduction

        columns = _numeric_columns(self, numeric_only, what)
        scalar = columns is None
        meta = np.float64(0) if scalar else pd.Series([], index=pd.Index([]), dtype="f8")
        return reduction(
            self,
            _stats.moments_chunk,
            aggregate,
            combine=_stats.moments_combine,
            meta=meta,
            token=what,
            split_every=split_every,
            chunk_kwargs={"columns": columns},
            aggregate_kwargs={"index": columns, "scalar": scalar, **kwargs},
        )

    def skew(
        self, axis=0, bias=True, nan_policy="propagate", numeric_only=False, split_every=False
    ):
        """Skewness per column, as ``scipy.stats.skew`` (biased unless ``bias=False``)."""
        if axis not in (0, None, "index"):
            raise NotImplementedError("skew along axis=1 is not supported")
        _stats._finish({"n": 1, "m2": 0, "m3": 0, "m4": 0, "nan": False}, nan_policy)
        return self._moment_stat(
            _stats.skew_aggregate, numeric_only, "skew", split_every,
            bias=bias, nan_policy=nan_policy,
        )  # fmt: skip

    def kurtosis(
        self,
        axis=0,
        fisher=True,
        bias=True,
        nan_policy="propagate",
        numeric_only=False,
        split_every=False,
    ):
        """Kurtosis per column, as ``scipy.stats.kurtosis`` (Fisher's excess by default)."""
        if axis not in (0, None, "index"):
            raise NotImplementedError("kurtosis along axis=1 is not supported")
        _stats._finish({"n": 1, "m2": 0, "m3": 0, "m4": 0, "nan": False}, nan_policy)
        return self._moment_stat(
            _stats.kurtosis_aggregate, numeric_only, "kurt", split_every,
            fisher=fisher, bias=bias, nan_policy=nan_policy,
        )  # fmt: skip

    kurt = kurtosis

    def _comoments(self, columns, corr, min_periods, ddof, scalar, split_every, token):
        from oxdask.dataframe.reductions import reduction

        meta = np.float64(0) if scalar else pd.DataFrame([], index=columns, columns=columns)
        return reduction(
            self,
            _stats.comoments_chunk,
            _stats.corr_cov_aggregate,
            combine=_stats.comoments_combine,
            meta=meta,
            token=token,
            split_every=split_every,
            chunk_kwargs={"columns": columns},
            aggregate_kwargs={
                "columns": columns,
                "corr": corr,
                "min_periods": min_periods,
                "ddof": ddof,
                "scalar": scalar,
            },
        )

    def _pairwise(self, other, corr, method, min_periods, ddof, split_every):
        if method != "pearson":
            raise NotImplementedError(_NOT_PEARSON)
        if _is_frame(self):
            if other is not None:
                raise TypeError("DataFrame.corr/cov take no 'other': use Series.corr")
            return None
        from oxdask.dataframe.core import Series
        from oxdask.dataframe.partitionwise import map_partitions

        if not isinstance(other, Series):
            raise TypeError(f"other must be an oxdask Series, not {type(other).__name__}")
        pair = map_partitions(_pair, self, other, meta=pd.DataFrame({0: [1.0], 1: [1.0]}).iloc[:0])
        token = "corr" if corr else "cov"
        return pair._comoments([0, 1], corr, min_periods, ddof, True, split_every, token)

    def corr(self, other=None, method="pearson", min_periods=None, numeric_only=False,
             split_every=False):  # fmt: skip
        """Pearson correlation: of the columns pairwise (DataFrame), or with ``other``
        (Series), over the rows where both are present."""
        pair = self._pairwise(other, True, method, min_periods, 1, split_every)
        if pair is not None:
            return pair
        columns = list(self._meta_nonempty.corr(numeric_only=numeric_only).columns)
        return self._comoments(columns, True, min_periods, 1, False, split_every, "corr")

    def cov(self, other=None, min_periods=None, ddof=1, numeric_only=False, split_every=False):
        """Covariance: of the columns pairwise (DataFrame), or with ``other`` (Series)."""
        pair = self._pairwise(other, False, "pearson", min_periods, ddof, split_every)
        if pair is not None:
            return pair
        columns = list(self._meta_nonempty.cov(numeric_only=numeric_only).columns)
        return self._comoments(columns, False, min_periods, ddof, False, split_every, "cov")

    def autocorr(self, lag=1, split_every=False):
        """Correlation of the Series with itself shifted by ``lag`` rows."""
        if _is_frame(self):
            raise AttributeError("'DataFrame' object has no attribute 'autocorr'")
        if not isinstance(lag, int | np.integer):
            raise TypeError("lag must be an integer")
        return self.corr(self.shift(lag), split_every=split_every)

    def nunique_approx(self, split_every=None):
        """Approximate number of distinct rows (HyperLogLog, about 0.4% error)."""
        from oxdask.dataframe.reductions import reduction

        return reduction(
            self,
            _stats.hll_chunk,
            _stats.hll_estimate,
            combine=lambda registers: _stats.hll_combine(registers),
            meta=np.int64(0),
            token="nunique-approx",
            split_every=split_every,
        )

    def _monotonic(self, increasing):
        from oxdask.dataframe.reductions import reduction

        if _is_frame(self):
            which = "increasing" if increasing else "decreasing"
            raise AttributeError(f"'DataFrame' object has no attribute 'is_monotonic_{which}'")
        return reduction(
            self,
            _stats.monotonic_chunk,
            _stats.monotonic_aggregate,
            combine=_stats.monotonic_combine,
            meta=True,
            token="monotonic",
            chunk_kwargs={"increasing": increasing},
            combine_kwargs={"increasing": increasing},
            aggregate_kwargs={"increasing": increasing},
        )

    @property
    def is_monotonic_increasing(self):
        """Whether the values never decrease (a lazy Scalar)."""
        return self._monotonic(True)

    @property
    def is_monotonic_decreasing(self):
        """Whether the values never increase (a lazy Scalar)."""
        return self._monotonic(False)

    # -- labels and shape ------------------------------------------------------------------
    def add_prefix(self, prefix):
        """Prefix the column labels (DataFrame) or the index labels (Series)."""
        from oxdask.dataframe._frame_methods import _pw

        return _pw(self, "add_prefix", prefix, clear_divisions=not _is_frame(self))

    def add_suffix(self, suffix):
        """Suffix the column labels (DataFrame) or the index labels (Series)."""
        from oxdask.dataframe._frame_methods import _pw

        return _pw(self, "add_suffix", suffix, clear_divisions=not _is_frame(self))

    def rename_axis(self, mapper=None, index=None, columns=None, axis=0):
        """Name the index or the columns axis."""
        from oxdask.dataframe._frame_methods import _pw

        kwargs = {k: v for k, v in {"index": index, "columns": columns}.items() if v is not None}
        if mapper is not None:
            return _pw(self, "rename_axis", mapper, axis=axis)
        return _pw(self, "rename_axis", **kwargs)

    def to_timestamp(self, freq=None, how="start", axis=0):
        """A period index to timestamps (partition by partition; divisions converted)."""
        from oxdask.dataframe._frame_methods import _pw

        out = _pw(self, "to_timestamp", freq=freq, how=how, axis=axis, clear_divisions=True)
        if self.known_divisions and axis in (0, "index"):
            divisions = pd.PeriodIndex(list(self.divisions)).to_timestamp(freq=freq, how=how)
            out.divisions = tuple(divisions)
        return out

    def combine(self, other, func, fill_value=None, overwrite=True):
        """``pandas`` ``combine`` partition by partition (aligned first)."""
        from oxdask.dataframe._frame_methods import _pw

        if _is_frame(self):
            return _pw(self, "combine", other, func, fill_value=fill_value, overwrite=overwrite)
        return _pw(self, "combine", other, func, fill_value=fill_value)

    def align(self, other, join="outer", axis=None, fill_value=None):
        """Both collections aligned on their divisions and, within partitions, on labels."""
        from oxdask.dataframe.partitionwise import align_partitions, emulate, map_partitions

        if self.known_divisions is False or getattr(other, "known_divisions", True) is False:
            raise ValueError(
                "align needs known divisions on both collections: set_index or repartition first"
            )
        left, right = align_partitions(self, other)
        out = []
        for side in (0, 1):
            meta = emulate(_align_side, left, right, side, join, axis, fill_value)
            out.append(
                map_partitions(
                    _align_side,
                    left,
                    right,
                    side,
                    join,
                    axis,
                    fill_value,
                    meta=meta,
                    align_dataframes=False,
                )
            )
        return tuple(out)

    def dot(self, other, meta=None):
        """Matrix product with a pandas object (per partition), or the dot product of two
        Series (a Scalar)."""
        from oxdask.dataframe._frame_methods import _pw
        from oxdask.dataframe.core import Series

        if isinstance(other, Series) and not _is_frame(self):
            return (self * other).sum()
        if isinstance(other, pd.Series | pd.DataFrame | np.ndarray):
            return _pw(self, "dot", other)
        raise TypeError(
            f"dot takes a pandas Series/DataFrame or NumPy array (or, for a Series, another "
            f"Series), not {type(other).__name__}"
        )

    def squeeze(self, axis=None):
        """A one-column DataFrame as a Series; a Series itself."""
        if not _is_frame(self):
            return self
        if axis in (0, "index"):
            raise NotImplementedError(
                f"{type(self).__name__} does not support squeeze along axis 0"
            )
        if axis not in (None, 1, "columns"):
            raise ValueError(f"No axis {axis} for object type {type(self)}")
        return self[self.columns[0]] if len(self.columns) == 1 else self

    def divide(self, other, axis="columns", level=None, fill_value=None):
        """``self / other`` (``div``)."""
        return self.div(other, axis=axis, level=level, fill_value=fill_value)

    def case_when(self, caselist):
        """Replace values where conditions hold, first match first (pandas'
        ``Series.case_when``); conditions and replacements may be Series of the same
        partitioning, scalars or callables."""
        from oxdask.dataframe.partitionwise import emulate, map_partitions

        if _is_frame(self):
            raise AttributeError("'DataFrame' object has no attribute 'case_when'")
        if not isinstance(caselist, list) or not all(
            isinstance(c, tuple) and len(c) == 2 for c in caselist
        ):
            raise TypeError("The caselist argument should be a list of (condition, replacement)")
        flat = [x for pair in caselist for x in pair]
        meta = emulate(_case_when, self, *flat)
        return map_partitions(_case_when, self, *flat, meta=meta, token="case-when")

    @property
    def dtypes(self):
        """The dtypes of the columns (DataFrame) or the dtype (Series), as pandas."""
        return self._meta.dtypes

    @property
    def axes(self):
        return [self.index, self.columns] if _is_frame(self) else [self.index]

    @property
    def empty(self):
        raise NotImplementedError(
            "Checking whether a DataFrame has any rows may be expensive. Use "
            "len(df.index) == 0 (computes the length) or df.head(1, npartitions=-1)"
        )

    @property
    def nbytes(self):
        """Bytes of the values (a Scalar; Series only, as in Dask)."""
        if _is_frame(self):
            raise NotImplementedError("nbytes is not implemented on DataFrame")
        from oxdask.dataframe.reductions import reduction

        return reduction(
            self, lambda s: s.nbytes, lambda v: int(sum(v)), meta=np.int64(0), token="nbytes"
        )

    @property
    def iloc(self):
        """Column selection by position: ``df.iloc[:, [0, 2]]``."""
        if not _is_frame(self):
            raise AttributeError("Series.iloc is not supported: use Series.loc or partitions")
        return _ILocIndexer(self)

    def to_backend(self, backend="pandas", **kwargs):
        """This collection with partitions of ``backend``; only pandas exists in oxdask."""
        if backend != "pandas":
            raise ValueError(f"unknown dataframe backend {backend!r}: oxdask partitions are pandas")
        return self

    @classmethod
    def from_dict(cls, data, *, npartitions=1, orient="columns", dtype=None, columns=None):
        """A collection from a dict (see :func:`oxdask.dataframe.from_dict`)."""
        from oxdask.dataframe.io.io import from_dict

        return from_dict(data, npartitions, orient=orient, dtype=dtype, columns=columns)

    def compute_current_divisions(self, col=None, set_divisions=False):
        """The divisions the index (or column ``col``) has now: each partition's minimum
        (empty partitions take the next one's) and the last maximum. ``ValueError`` when
        the partitions are not sorted; a ``UserWarning`` when neighbours overlap. With
        ``set_divisions=True``, a copy of this collection with those divisions."""
        from oxdask.base import compute
        from oxdask.delayed import delayed

        target = self.index if col is None else self[col]
        stats = compute(*[delayed(_bounds)(d) for d in target.to_delayed()])
        mins = _backfill([s[0] if s else None for s in stats])
        maxes = _backfill([s[1] if s else None for s in stats])
        full = [s for s in stats if s]
        lows, highs = [s[0] for s in full], [s[1] for s in full]
        if lows != sorted(lows) or highs != sorted(highs):
            raise ValueError(
                f"Partitions are not sorted by {col or 'the index'}: divisions do not exist "
                "(sort first, e.g. with set_index or sort_values)"
            )
        if any(nxt[0] <= prev[1] for prev, nxt in itertools.pairwise(full)):
            warnings.warn(
                "Partitions have overlapping values, so divisions are non-unique. Use "
                "`set_index(sorted=True)` with no `divisions` to allow oxdask to fix the "
                "overlap.",
                UserWarning,
                stacklevel=2,
            )
        divisions = (*mins, maxes[-1])
        if not set_divisions:
            return divisions
        if col is not None:
            raise ValueError("set_divisions=True sets the divisions of the index: give no col")
        out = self.copy()
        out.divisions = divisions
        return out

    # -- sampling ------------------------------------------------------------------------------
    def random_split(self, frac, random_state=None, shuffle=False):
        """Split the rows at random into collections of about these fractions."""
        frac = [float(f) for f in frac]
        if not np.isclose(sum(frac), 1):
            raise ValueError("frac should sum to 1")
        seed = _seed(random_state)
        frame = self.shuffle(self.columns if _is_frame(self) else None) if shuffle else self
        return [
            frame.map_partitions(_split_rows, frac, seed, i, meta=self._meta)
            for i in range(len(frac))
        ]

    def sample(self, n=None, frac=None, replace=False, random_state=None):
        """A random fraction of the rows of every partition (``frac``; ``n`` is refused, as
        in Dask, since the partition lengths are not known)."""
        if n is not None:
            raise ValueError(
                "sample does not support the number of sampled items parameter, 'n'. "
                "Please use the 'frac' parameter instead."
            )
        if frac is None:
            raise ValueError("sample needs frac=")
        if not replace and not 0 <= frac <= 1:
            raise ValueError(f"frac must be between 0 and 1 without replacement, not {frac}")
        seed = _seed(random_state)
        return self.map_partitions(_sample_rows, frac, replace, seed, meta=self._meta)

    # -- iteration and conversion -----------------------------------------------------------
    def items(self):
        """``(column name, Series)`` pairs."""
        if not _is_frame(self):
            yield from self._iter_partitions("items")
            return
        for c in self.columns:
            yield c, self[c]

    def _iter_partitions(self, method, *args, **kwargs):
        for part in self.partitions:
            yield from getattr(part.compute(), method)(*args, **kwargs)

    def iterrows(self):
        """``(index, row)`` pairs, computing one partition at a time."""
        yield from self._iter_partitions("iterrows")

    def itertuples(self, index=True, name="Pandas"):
        """Rows as named tuples, computing one partition at a time."""
        yield from self._iter_partitions("itertuples", index=index, name=name)

    def pop(self, item):
        """Remove column ``item`` from this DataFrame and return it."""
        if not _is_frame(self):
            raise AttributeError("'Series' object has no attribute 'pop'")
        out = self[item]
        del self[item]
        return out

    def to_records(self, index=False, lengths=None):
        """A record array of the rows (an oxdask Array, one chunk per partition)."""
        from oxdask.array.core import Array
        from oxdask.dataframe.core import graph_on
        from oxdask.highlevelgraph import MaterializedLayer
        from oxdask.tokenize import tokenize

        if lengths is True:
            lengths = tuple(int(v) for v in self.map_partitions(len).compute())
        rows = tuple(lengths) if lengths else (np.nan,) * self.npartitions
        name = "to-records-" + tokenize(self._name, index, rows)
        layer = MaterializedLayer(
            {(name, i): (_records, (self._name, i), index) for i in range(self.npartitions)}
        )
        dtype = self._meta.to_records(index=index).dtype
        return Array(graph_on(name, layer, [self]), name, (rows,), dtype)

    # -- descriptions --------------------------------------------------------------------------
    def _layers_text(self) -> str:
        graph = self.__dask_graph__()
        layers = getattr(graph, "layers", {self._name: graph})
        deps = getattr(graph, "dependencies", {})
        lines = []

        def show(name, depth, seen):
            layer = layers.get(name)
            size = len(layer) if hasattr(layer, "__len__") else "?"
            kind = type(layer).__name__
            lines.append(f"{'  ' * depth}{name.rsplit('-', 1)[0]}: {kind}, {size} tasks")
            for dep in sorted(deps.get(name, ())):
                if dep not in seen:
                    seen.add(dep)
                    show(dep, depth + 1, seen)

        show(self._name, 0, {self._name})
        return "\n".join(lines)

    def pprint(self):
        """Print the plan: the graph's layers, each with its dependencies below it."""
        print(self._layers_text())

    def explain(self, stage="fused", format=None):
        """Print the plan (oxdask has no expression optimizer: the layers as built)."""
        print(self._layers_text())

    def to_string(self, max_rows=5):
        """The structure of the collection (dtypes by divisions) as text, as its repr."""
        return repr(self).split("\n", 1)[1] if "\n" in repr(self) else repr(self)

    def to_html(self, max_rows=5):
        """The structure of the collection as an HTML table (as in a notebook)."""
        return self._repr_html_()

    def info(self, buf=None, verbose=False, memory_usage=False):
        """Print a summary: the index, the columns and their dtypes; ``verbose`` adds the
        non-null count of every column, ``memory_usage`` the bytes (both compute)."""
        from oxdask.base import compute

        if not _is_frame(self):
            raise AttributeError("'Series' object has no attribute 'info'")
        buf = sys.stdout if buf is None else buf
        lines = [str(type(self))]
        meta = self._meta
        if verbose:
            length, counts = compute(self.index.size, self.count())
            lines.append(f"{type(meta.index).__name__}: {length} entries")
            lines.append(f"Data columns (total {len(meta.columns)} columns):")
            width = max([len(str(c)) for c in meta.columns] + [6])
            lines.append(f" #   {'Column':<{width}}  Non-Null Count  Dtype")
            lines.append(f"---  {'-' * width}  --------------  -----")
            for i, c in enumerate(meta.columns):
                count = f"{counts[c]} non-null"
                lines.append(f" {i:<3} {c!s:<{width}}  {count:<14}  {meta.dtypes[c]}")
        else:
            cols = list(meta.columns)
            span = f", {cols[0]} to {cols[-1]}" if cols else ""
            lines.append(f"Columns: {len(cols)} entries{span}")
        dtypes = meta.dtypes.value_counts()
        lines.append(
            "dtypes: " + ", ".join(f"{k}({v})" for k, v in sorted(dtypes.items(), key=str))
        )
        if memory_usage:
            used = self.memory_usage(deep=True).sum().compute()
            lines.append(f"memory usage: {used} bytes")
        buf.write("\n".join(lines) + "\n")
