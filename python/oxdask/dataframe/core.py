"""The collections :class:`DataFrame`, :class:`Series`, :class:`Index` and :class:`Scalar`.

A collection is a name, a :class:`~oxdask.highlevelgraph.HighLevelGraph`, ``_meta`` (an empty
pandas object with the partitions' columns, dtypes and index type) and ``divisions``: a tuple of
``npartitions + 1`` index values, partition ``i`` holding the rows with ``divisions[i] <=
index < divisions[i + 1]`` (the last one including its upper bound), or all ``None`` when the
boundaries are unknown. Its keys are ``(name, i)``, one per partition; a :class:`Scalar` has
the single key ``(name, 0)``.

Partition-wise operations are one :class:`~oxdask.highlevelgraph.BlockwiseLayer` each (see
:mod:`oxdask.dataframe.partitionwise`), and chains of them fuse into one task per partition
before computing (:func:`oxdask.dataframe.optimization.optimize`).
"""

from __future__ import annotations

import warnings
from itertools import count, pairwise

import numpy as np
import pandas as pd

from oxdask.base import is_dask_collection
from oxdask.dataframe import methods
from oxdask.dataframe._extra_methods import ExtraMethods
from oxdask.dataframe._frame_methods import FrameMethods, FrameOperations
from oxdask.dataframe._ops import bind_operators
from oxdask.dataframe._reductions import ReductionMethods
from oxdask.dataframe.scalar import GraphProtocol, Scalar
from oxdask.dataframe.utils import make_meta, meta_nonempty
from oxdask.highlevelgraph import HighLevelGraph, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["DataFrame", "Index", "Scalar", "Series", "new_dd_object"]

_unique = count()


def _name(prefix: str, *args) -> str:
    if args:
        return f"{prefix}-{tokenize(*args)}"
    return f"{prefix}-{tokenize(prefix, next(_unique), id(_unique))}"


def graph_on(name, layer, deps) -> HighLevelGraph:
    """The graph with the layer ``name`` on top of the graphs of the collections ``deps``.

    A dependency's top layer is its ``__dask_layers__()`` (never its ``name``, which on a
    DataFrame may be a column).
    """
    layers, dependencies, direct = {}, {}, set()
    for d in deps:
        if not is_dask_collection(d):
            continue
        g = d.__dask_graph__()
        if not isinstance(g, HighLevelGraph):
            g = HighLevelGraph({d.__dask_layers__()[0]: g}, {d.__dask_layers__()[0]: set()})
        layers.update(g.layers)
        for k, v in g.dependencies.items():
            dependencies.setdefault(k, set()).update(v)
        tops = [t for t in d.__dask_layers__() if t in g.layers] or [next(reversed(g.layers))]
        direct.update(tops)
    layers[name] = layer
    dependencies[name] = direct
    return HighLevelGraph(layers, dependencies)


def _new(name, layer, deps, meta, divisions, extra_layers=None):
    """A collection of the type matching ``meta`` on top of the collections ``deps``."""
    graph = graph_on(name, layer, deps)
    if extra_layers:
        for k, v in extra_layers.items():
            graph.layers.setdefault(k, v)
            graph.dependencies.setdefault(k, set())
            graph.dependencies[name].add(k)
    return new_dd_object(graph, name, meta, divisions)


def new_dd_object(dsk, name, meta, divisions):
    """A :class:`DataFrame`, :class:`Series`, :class:`Index` or :class:`Scalar` per ``meta``.

    Parameters
    ----------
    dsk : Mapping
        The graph (a HighLevelGraph or a plain dict).
    name : str
    meta : pandas object or scalar
    divisions : sequence
        ``npartitions + 1`` values (ignored for scalars).
    """
    if isinstance(meta, (dict, list, tuple)):  # a meta= description, not a scalar
        meta = make_meta(meta)
    if isinstance(meta, pd.DataFrame):
        return DataFrame(dsk, name, meta, divisions)
    if isinstance(meta, pd.Series):
        return Series(dsk, name, meta, divisions)
    if isinstance(meta, pd.Index):
        return Index(dsk, name, meta, divisions)
    return Scalar(dsk, name, meta)


def _finalize(results, meta):
    return methods.concat(list(results), meta)


class _Frame(GraphProtocol, FrameMethods, FrameOperations, ReductionMethods, ExtraMethods):
    """Behaviour shared by DataFrame, Series and Index (not public)."""

    _partition_type: type = object
    _token_prefix = "frame"

    def __init__(self, dsk, name, meta, divisions):
        dsk = self._as_graph(dsk, name)
        if not isinstance(meta, self._partition_type):
            raise TypeError(
                f"meta of a {type(self).__name__} must be a {self._partition_type.__name__}, "
                f"got {type(meta).__name__}"
            )
        divisions = tuple(divisions)
        if len(divisions) < 2:
            raise ValueError(f"divisions need at least two values, got {divisions!r}")
        self.dask = dsk
        self._name = name
        self._meta = make_meta(meta)
        self.divisions = divisions

    # -- collection protocol (graph, layers, tokenize, optimize: see GraphProtocol) ---------
    def __dask_keys__(self):
        return [(self._name, i) for i in range(self.npartitions)]

    def __dask_postcompute__(self):
        return _finalize, (self._meta,)

    def __dask_postpersist__(self):
        return self._rebuild, (self._name, self._meta, self.divisions)

    @staticmethod
    def _rebuild(dsk, name, meta, divisions, rename=None):
        dsk, name = GraphProtocol._renamed(dsk, name, len(divisions) - 1, rename)
        return new_dd_object(dsk, name, meta, divisions)

    # -- metadata -----------------------------------------------------------------------------
    @property
    def _meta_nonempty(self):
        return meta_nonempty(self._meta)

    @property
    def npartitions(self) -> int:
        """Number of partitions."""
        return len(self.divisions) - 1

    @property
    def known_divisions(self) -> bool:
        """Whether the index boundaries of the partitions are known."""
        return len(self.divisions) > 0 and self.divisions[0] is not None

    def clear_divisions(self):
        """The same collection with unknown divisions."""
        return new_dd_object(self.dask, self._name, self._meta, (None,) * (self.npartitions + 1))

    @property
    def index(self):
        """The index as an :class:`Index` collection."""
        from oxdask.dataframe.partitionwise import map_partitions

        return map_partitions(
            methods.get_index, self, meta=self._meta.index, token="index", transform_divisions=False
        )

    @property
    def loc(self):
        """Label-based selection (``df.loc[label]``, ``df.loc[a:b]``, ``df.loc[mask, cols]``)."""
        from oxdask.dataframe.indexing import _LocIndexer

        return _LocIndexer(self)

    @property
    def partitions(self):
        """Select partitions by position: ``df.partitions[0]``, ``df.partitions[::2]``."""
        return _PartitionIndexer(self)

    def get_partition(self, n: int):
        """The ``n``-th partition as a one-partition collection."""
        if not 0 <= n < self.npartitions:
            raise ValueError(f"n must be 0 <= n < {self.npartitions}")
        return self.partitions[n]

    def to_delayed(self, optimize_graph=True):
        """One :class:`~oxdask.delayed.Delayed` per partition."""
        from oxdask.delayed import Delayed

        graph = self._graph_for_delayed(optimize_graph)
        return [Delayed(k, graph) for k in self.__dask_keys__()]

    def __len__(self) -> int:
        from oxdask.dataframe.reductions import reduction

        return int(reduction(self, methods.length, methods.sum_list, meta=0, token="len").compute())

    def __bool__(self):
        raise ValueError(
            f"The truth value of a {type(self).__name__} is ambiguous. Use a.any() or a.all()."
        )

    def __array__(self, dtype=None, copy=None, **kwargs):
        return np.asarray(self.compute(), dtype=dtype)

    def _rename_collection(self, name):
        return new_dd_object(self.dask, name, self._meta, self.divisions)

    # -- first and last rows ------------------------------------------------------------------
    def head(self, n=5, npartitions=1, compute=True):
        """The first ``n`` rows, read from the first ``npartitions`` partitions (-1: all).

        Warns when those partitions hold fewer than ``n`` rows, as Dask does.
        """
        if npartitions == -1:
            npartitions = self.npartitions
        if npartitions > self.npartitions:
            raise ValueError(f"only {self.npartitions} partitions, head received {npartitions}")
        name = _name("head", self._name, n, npartitions)
        parts = [(self._name, i) for i in range(npartitions)]
        layer = MaterializedLayer({(name, 0): (methods.Head(n, npartitions > 1), *parts)})
        div = (self.divisions[0], self.divisions[npartitions])
        out = _new(name, layer, [self], self._meta, div)
        if compute:
            result = out.compute()
            if len(result) < n:
                warnings.warn(
                    f"Insufficient elements for `head`. {n} elements requested, only "
                    f"{len(result)} elements available. Try passing larger `npartitions` "
                    "to `head`.",
                    UserWarning,
                    stacklevel=2,
                )
            return result
        return out

    def tail(self, n=5, compute=True):
        """The last ``n`` rows of the last partition."""
        name = _name("tail", self._name, n)
        layer = MaterializedLayer(
            {(name, 0): (methods.Tail(n), (self._name, self.npartitions - 1))}
        )
        out = _new(name, layer, [self], self._meta, self.divisions[-2:])
        return out.compute() if compute else out

    # -- representation -----------------------------------------------------------------------
    def _divisions_index(self) -> pd.Index:
        values = [("" if d is None else d) for d in self.divisions]
        return pd.Index(values, dtype=object, name=f"npartitions={self.npartitions}")

    def _name_line(self) -> str:
        prefix = self._name.rsplit("-", 1)[0]
        n = len(self.dask.layers) if isinstance(self.dask, HighLevelGraph) else 1
        return f"Dask Name: {prefix}, {n} graph layer{'s' if n != 1 else ''}"

    def __repr__(self) -> str:
        kind = type(self).__name__
        data = pd.Series(
            [str(self._meta.dtype)] + ["..."] * self.npartitions, index=self._divisions_index()
        )
        body = data.to_string()
        name = self._meta.name
        return (
            f"Dask {kind} Structure:\n{body}\nName: {name}, dtype: {self._meta.dtype}\n"
            f"{self._name_line()}"
        )


class _SeriesOnly:
    """A Series attribute hidden on DataFrames, so that a column of that name wins (as in
    pandas and Dask: ``df.name`` is the column ``name``)."""

    def __set_name__(self, owner, attr):
        self.attr = attr

    def __get__(self, obj, owner=None):
        raise AttributeError(f"'DataFrame' object has no attribute {self.attr!r}")


class DataFrame(_Frame):
    """A lazy table cut into pandas DataFrames along the index, as ``dask.dataframe.DataFrame``.

    Parameters
    ----------
    dsk : Mapping
        The task graph.
    name : str
        Name of the keys ``(name, i)``.
    meta : pandas.DataFrame
        An empty DataFrame with the columns and dtypes of the partitions.
    divisions : tuple
        Index boundaries of the partitions (``None`` values when unknown).
    """

    _partition_type = pd.DataFrame
    name = _SeriesOnly()
    between = _SeriesOnly()
    to_frame = _SeriesOnly()
    unique = _SeriesOnly()
    value_counts = _SeriesOnly()

    @property
    def columns(self) -> pd.Index:
        """Column labels."""
        return self._meta.columns

    @columns.setter
    def columns(self, columns):
        renamed = self.rename(columns=dict(zip(self._meta.columns, columns, strict=True)))
        self._assign_from(renamed)

    @property
    def dtypes(self) -> pd.Series:
        """dtype of each column."""
        return self._meta.dtypes

    @property
    def ndim(self) -> int:
        return 2

    @property
    def shape(self):
        """``(number of rows as a Scalar, number of columns)``."""
        return (self.size // max(len(self.columns), 1), len(self.columns))

    def _assign_from(self, other):
        self.dask, self._name, self._meta, self.divisions = (
            other.dask,
            other._name,
            other._meta,
            other.divisions,
        )

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        meta = self.__dict__.get("_meta")
        if meta is not None and key in meta.columns:
            return self[key]
        raise AttributeError(f"'DataFrame' object has no attribute {key!r}")

    def __dir__(self):
        cols = [c for c in self._meta.columns if isinstance(c, str) and c.isidentifier()]
        return sorted({*super().__dir__(), *cols})

    def __iter__(self):
        return iter(self._meta.columns)

    def __contains__(self, key) -> bool:
        return key in self._meta.columns

    def __getitem__(self, key):
        from oxdask.dataframe.indexing import getitem

        return getitem(self, key)

    def __setitem__(self, key, value):
        if isinstance(key, (list, pd.Index)):
            if isinstance(value, DataFrame):
                out = self.assign(**{k: value[c] for k, c in zip(key, value.columns, strict=True)})
            else:
                out = self.assign(**dict.fromkeys(key, value))
        elif isinstance(key, Series) and key._meta.dtype == bool:
            out = self.where(~key, value)
        else:
            out = self.assign(**{key: value})
        self._assign_from(out)

    def __delitem__(self, key):
        self._assign_from(self.drop(columns=[key]))

    def __repr__(self) -> str:
        meta = self._meta
        cols = {i: [str(dt)] + ["..."] * self.npartitions for i, dt in enumerate(meta.dtypes)}
        data = pd.DataFrame(cols, index=self._divisions_index())
        data.columns = meta.columns
        return f"Dask DataFrame Structure:\n{data.to_string()}\n{self._name_line()}"

    def _repr_html_(self) -> str:
        meta = self._meta
        cols = {i: [str(dt)] + ["..."] * self.npartitions for i, dt in enumerate(meta.dtypes)}
        data = pd.DataFrame(cols, index=self._divisions_index())
        data.columns = meta.columns
        return (
            f"<div><strong>Dask DataFrame Structure:</strong></div>\n{data.to_html()}\n"
            f"<div>{self._name_line()}</div>"
        )


class Series(_Frame):
    """A lazy column cut into pandas Series along the index, as ``dask.dataframe.Series``.

    Parameters are those of :class:`DataFrame`, with a pandas Series as ``meta``.
    """

    _partition_type = pd.Series

    @property
    def dtype(self):
        """dtype of the values."""
        return self._meta.dtype

    @property
    def name(self):
        """The Series name (not the graph name, which is ``_name``)."""
        return self._meta.name

    @name.setter
    def name(self, value):
        self._assign_from(self.rename(value))

    def _assign_from(self, other):
        self.dask, self._name, self._meta, self.divisions = (
            other.dask,
            other._name,
            other._meta,
            other.divisions,
        )

    @property
    def ndim(self) -> int:
        return 1

    @property
    def shape(self):
        """``(number of rows as a Scalar,)``."""
        return (self.size,)

    def __getitem__(self, key):
        from oxdask.dataframe.indexing import getitem

        return getitem(self, key)

    def __iter__(self):
        for part in self.to_delayed():
            yield from part.compute()

    @property
    def str(self):
        """String methods, applied partition by partition (``pandas.Series.str``)."""
        from oxdask.dataframe.accessor import StringAccessor

        return StringAccessor(self)

    @property
    def dt(self):
        """Datetime properties and methods (``pandas.Series.dt``)."""
        from oxdask.dataframe.accessor import DatetimeAccessor

        return DatetimeAccessor(self)

    @property
    def cat(self):
        """Categorical properties and methods (``pandas.Series.cat``)."""
        from oxdask.dataframe.accessor import CategoricalAccessor

        return CategoricalAccessor(self)


class Index(Series):
    """A lazy pandas Index cut into partitions, as ``dask.dataframe.Index``."""

    _partition_type = pd.Index

    @property
    def index(self):
        raise AttributeError("'Index' object has no attribute 'index'")

    def __getattr__(self, key):
        # a DatetimeIndex's own fields (ddf.index.month), as pandas and Dask
        meta = self.__dict__.get("_meta")
        kinds = pd.DatetimeIndex | pd.TimedeltaIndex | pd.PeriodIndex
        if not key.startswith("_") and isinstance(meta, kinds) and hasattr(type(meta), key):
            return getattr(self.dt, key)
        if isinstance(getattr(type(self), key, None), property):
            return object.__getattribute__(self, key)  # the property's own error
        raise AttributeError(f"'Index' object has no attribute {key!r}")

    def to_series(self):
        """A Series with this index as both index and values."""
        from oxdask.dataframe.partitionwise import map_partitions

        meta = self._meta.to_series()
        return map_partitions(methods.call_method, self, "to_series", meta=meta, token="to_series")

    def to_frame(self, index=True, name=None):
        """A DataFrame with this index as its only column."""
        from oxdask.dataframe.partitionwise import map_partitions

        kw = {"index": index} if name is None else {"index": index, "name": name}
        meta = self._meta.to_frame(**kw)
        return map_partitions(methods.call_method, self, "to_frame", meta=meta, **kw)


bind_operators(_Frame)


class _PartitionIndexer:
    """``df.partitions[...]``: a collection made of some partitions, by position."""

    def __init__(self, frame):
        self._frame = frame

    def __getitem__(self, key):
        f = self._frame
        n = f.npartitions
        if isinstance(key, (int, np.integer)):
            key = [int(key) % n] if -n <= key < n else None
            if key is None:
                raise IndexError("partition index out of range")
        elif isinstance(key, slice):
            key = list(range(n))[key]
        else:
            key = [int(k) % n for k in np.asarray(key).ravel()]
        if not key:
            raise IndexError("empty partition selection")
        name = _name("blocks", f._name, key)
        layer = MaterializedLayer({(name, j): (f._name, i) for j, i in enumerate(key)})
        if f.known_divisions and all(b == a + 1 for a, b in pairwise(key)):
            div = [f.divisions[i] for i in key] + [f.divisions[key[-1] + 1]]
        else:
            div = [None] * (len(key) + 1)
        return _new(name, layer, [f], f._meta, div)
