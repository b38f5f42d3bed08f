"""xarray integration: oxdask arrays as the chunked arrays of xarray objects.

xarray finds parallel array libraries through the ``xarray.chunkmanagers`` entry point; oxdask
registers :class:`OxdaskManager` there under the name ``"oxdask"``::

    import xarray as xr

    ds = xr.open_zarr("data.zarr", chunks={}, chunked_array_type="oxdask")
    ds.air.mean("time").compute()

Without an installed entry point (an editable checkout that was not reinstalled) call
:func:`register` once, or pass ``chunked_array_type=OxdaskManager()``.

When real Dask is installed as well, xarray's Dask manager would also claim oxdask arrays (both
implement the collection protocol); importing this module teaches it to leave them to oxdask.

Lazy with oxdask: reductions (also quantile, median, argmin/idxmax), rolling and coarsen,
groupby and resample (with ``xr.set_options(use_flox=False)``: flox is written for Dask; a
chunked group coordinate needs flox, with Dask too), ``apply_ufunc(dask="parallelized")``,
weighted, polyfit, cumulative operations, ``open_zarr``/``open_dataset(chunks=...)`` and
``to_zarr``. Still Dask-only in xarray (it imports ``dask`` there): ``xr.map_blocks``,
``interp`` of chunked data, ``to_zarr``/``to_netcdf(compute=False)`` (a ``dask.delayed``),
``open_mfdataset(parallel=True)``; ``ffill``/``bfill``/``rank`` need bottleneck or numbagg.
``oxdask.compute(ds)`` of an xarray object goes through :func:`as_collection`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

try:
    from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "oxdask.xarray needs xarray; install it with `pip install oxdask[xarray]`"
    ) from e

__all__ = ["OxdaskManager", "as_collection", "register"]


def _load_array_module():
    """``(oxdask.array, None)`` or ``(None, the ImportError)``."""
    try:
        import oxdask.array as oxarray
    except ImportError as e:
        return None, e
    return oxarray, None


def _zero_sized_auto(chunks, shape) -> bool:
    """``"auto"`` chunks of an array with an empty axis (the block size would divide by 0)."""
    if not any(s == 0 for s in shape):
        return False
    if isinstance(chunks, Mapping):
        return any(c == "auto" for c in chunks.values())
    if isinstance(chunks, tuple):
        return any(c == "auto" for c in chunks)
    return chunks == "auto"


class OxdaskManager(ChunkManagerEntrypoint):
    """xarray's interface to :mod:`oxdask.array` (a ``ChunkManagerEntrypoint``).

    Every method builds lazy :class:`oxdask.array.Array` objects; nothing is computed before
    :meth:`compute`, :meth:`persist` or ``store(..., compute=True)``.
    """

    available: bool = True

    def __init__(self) -> None:
        module, error = _load_array_module()
        self._error = error
        self._da = module
        self._api = None
        if module is not None:
            self.array_cls = module.Array
        else:
            # a class no object is an instance of: xarray keeps working with its other managers
            self.array_cls = type("OxdaskArrayUnavailable", (), {})
        _guard_dask_manager()

    @property
    def da(self):
        """:mod:`oxdask.array`, or a clear ``ImportError`` when it cannot be imported."""
        if self._da is None:
            raise ImportError(
                "the 'oxdask' chunk manager needs oxdask.array, which failed to import: "
                f"{self._error}. Install oxdask with its array extra "
                "(`pip install oxdask[array]`)."
            ) from self._error
        return self._da

    # -- required ----------------------------------------------------------------------------
    def is_chunked_array(self, data: Any) -> bool:
        return self._da is not None and isinstance(data, self.array_cls)

    def chunks(self, data: Any) -> tuple:
        return data.chunks

    def normalize_chunks(
        self,
        chunks: Any,
        shape: tuple[int, ...] | None = None,
        limit: int | None = None,
        dtype: Any = None,
        previous_chunks: Any = None,
    ) -> tuple:
        from oxdask.array.core import normalize_chunks

        self.da  # noqa: B018 (a clear error when oxdask.array is missing)
        return normalize_chunks(
            chunks, shape=shape, limit=limit, dtype=dtype, previous_chunks=previous_chunks
        )

    def from_array(self, data: Any, chunks: Any, **kwargs: Any) -> Any:
        import numpy as np
        from xarray.core.indexing import ImplicitToExplicitIndexingAdapter

        da = self.da
        _ensure_listed(self)
        if isinstance(data, ImplicitToExplicitIndexingAdapter):
            # lazily indexed backend arrays: every block becomes a NumPy array
            kwargs.setdefault("meta", np.ndarray)
        if _zero_sized_auto(chunks, data.shape):
            chunks = data.shape
        return da.from_array(data, chunks, **kwargs)

    def rechunk(self, data: Any, chunks: Any, **kwargs: Any) -> Any:
        _ensure_listed(self)
        if _zero_sized_auto(chunks, data.shape):
            chunks = data.shape
        return data.rechunk(chunks, **kwargs)

    def compute(self, *data: Any, **kwargs: Any) -> tuple:
        import oxdask

        return oxdask.compute(*data, **kwargs)

    def persist(self, *data: Any, **kwargs: Any) -> tuple:
        import oxdask

        return oxdask.persist(*data, **kwargs)

    @property
    def array_api(self) -> Any:
        """:mod:`oxdask.array` plus the few names xarray looks up on it that live elsewhere."""
        if self._api is None:
            self._api = _ArrayNamespace(self.da)
        return self._api

    # -- optional ----------------------------------------------------------------------------
    def reduction(
        self,
        arr: Any,
        func: Callable[..., Any],
        combine_func: Callable[..., Any] | None = None,
        aggregate_func: Callable[..., Any] | None = None,
        axis: int | Sequence[int] | None = None,
        dtype: Any = None,
        keepdims: bool = False,
    ) -> Any:
        return self.da.reduction(
            arr,
            chunk=func,
            combine=combine_func,
            aggregate=aggregate_func,
            axis=axis,
            dtype=dtype,
            keepdims=keepdims,
        )

    def scan(
        self,
        func: Callable[..., Any],
        binop: Callable[..., Any],
        ident: float,
        arr: Any,
        axis: int | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> Any:
        import operator

        import numpy as np

        from oxdask.array.reductions import cumreduction

        self.da  # noqa: B018
        if kwargs.get("method") == "blelloch" and binop not in (np.add, operator.add):
            # oxdask's parallel scan applies ``binop(block, carry)``, the reverse of Dask's
            # ``binop(carry, block)``: right for sums only. Others (ffill's "last valid value")
            # run the sequential scan, which seeds each block with the previous one's last.
            kwargs["method"] = "sequential"
        # oxdask's scan probes the block function without ``axis`` to learn the result dtype;
        # xarray's functions (ffill's push) require it
        return cumreduction(_AxisDefault(func), binop, ident, arr, axis=axis, dtype=dtype, **kwargs)

    def apply_gufunc(
        self,
        func: Callable[..., Any],
        signature: str,
        *args: Any,
        axes: Sequence[tuple[int, ...]] | None = None,
        axis: int | None = None,
        keepdims: bool = False,
        output_dtypes: Sequence[Any] | None = None,
        output_sizes: dict[str, int] | None = None,
        vectorize: bool | None = None,
        allow_rechunk: bool = False,
        meta: Any = None,
        **kwargs: Any,
    ) -> Any:
        return self.da.apply_gufunc(
            func,
            signature,
            *args,
            axes=axes,
            axis=axis,
            keepdims=keepdims,
            output_dtypes=output_dtypes,
            output_sizes=output_sizes,
            vectorize=vectorize,
            allow_rechunk=allow_rechunk,
            meta=meta,
            **kwargs,
        )

    def map_blocks(
        self,
        func: Callable[..., Any],
        *args: Any,
        dtype: Any = None,
        chunks: tuple[int, ...] | None = None,
        drop_axis: int | Sequence[int] | None = None,
        new_axis: int | Sequence[int] | None = None,
        **kwargs: Any,
    ) -> Any:
        return self.da.map_blocks(
            func,
            *args,
            dtype=dtype,
            chunks=chunks,
            drop_axis=drop_axis,
            new_axis=new_axis,
            **kwargs,
        )

    def blockwise(
        self,
        func: Callable[..., Any],
        out_ind: Iterable[Any],
        *args: Any,
        name: str | None = None,
        token: Any | None = None,
        dtype: Any = None,
        adjust_chunks: dict[Any, Callable[..., Any]] | None = None,
        new_axes: dict[Any, int] | None = None,
        align_arrays: bool = True,
        concatenate: bool | None = None,
        meta: Any = None,
        **kwargs: Any,
    ) -> Any:
        return self.da.blockwise(
            func,
            out_ind,
            *args,
            name=name,
            token=token,
            dtype=dtype,
            adjust_chunks=adjust_chunks,
            new_axes=new_axes,
            align_arrays=align_arrays,
            concatenate=concatenate,
            meta=meta,
            **kwargs,
        )

    def unify_chunks(self, *args: Any, **kwargs: Any) -> tuple[dict, list]:
        return self.da.unify_chunks(*args, **kwargs)

    def store(self, sources: Any, targets: Any, **kwargs: Any) -> Any:
        # xarray's writers pass ``flush=True`` (meant for the scheduler, which has no such option)
        kwargs.pop("flush", None)
        return self.da.store(sources=sources, targets=targets, **kwargs)

    def shuffle(self, x: Any, indexer: list[list[int]], axis: int, chunks: Any) -> Any:
        if chunks is None:
            chunks = "auto"
        if chunks != "auto":
            raise NotImplementedError("Only chunks='auto' is supported at present.")
        return self.da.shuffle(x, indexer, axis, chunks="auto")

    def get_auto_chunk_size(self) -> int:
        from oxdask import config
        from oxdask.array._chunks import _AUTO_BYTES
        from oxdask.utils import parse_bytes

        self.da  # noqa: B018
        return parse_bytes(config.get("array.chunk-size", _AUTO_BYTES))


class _AxisDefault:
    """``func`` with ``axis=-1`` when called without an axis (a 1-d probe)."""

    def __init__(self, func):
        self.func = func

    def __call__(self, x, axis=-1, **kwargs):
        return self.func(x, axis=axis, **kwargs)

    def __dask_tokenize__(self):
        from oxdask.tokenize import tokenize

        return ("xarray-scan", tokenize(self.func))


class _ArrayNamespace:
    """The namespace xarray's ``chunkmanager.array_api`` lookups go through.

    Everything is :mod:`oxdask.array`; ``sliding_window_view`` (rolling windows) comes from
    :mod:`oxdask.array.lib.stride_tricks`, where Dask keeps it too.
    """

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        if name == "sliding_window_view":
            from oxdask.array.lib.stride_tricks import sliding_window_view

            return sliding_window_view
        return getattr(self._module, name)

    def __dir__(self):
        return sorted({*dir(self._module), "sliding_window_view"})

    def __repr__(self) -> str:
        return f"<array namespace {self._module.__name__}>"


# ---------------------------------------------------------------------------------------------
# xarray objects as oxdask collections


def _variables(obj) -> dict:
    """Name -> Variable of a Dataset, DataArray (its data under ``None``) or Variable."""
    import xarray as xr

    if isinstance(obj, xr.Dataset):
        return dict(obj.variables)
    if isinstance(obj, xr.DataArray):
        out = {None: obj.variable}
        out.update((name, c.variable) for name, c in obj.coords.items())
        return out
    if isinstance(obj, xr.Variable):
        return {None: obj}
    raise TypeError(f"expected an xarray Dataset, DataArray or Variable, got {type(obj)}")


def _replaced(obj, values: dict):
    """``obj`` with the data of the named variables replaced (a shallow copy)."""
    import xarray as xr

    new = obj.copy(deep=False)
    if isinstance(new, xr.Dataset):
        for name, value in values.items():
            new.variables[name].data = value
        return new
    if isinstance(new, xr.DataArray):
        for name, value in values.items():
            var = new.variable if name is None else new.coords[name].variable
            var.data = value
        return new
    new.data = values[None]
    return new


class _XarrayCollection:
    """An xarray object whose oxdask-backed variables form one oxdask collection."""

    def __init__(self, obj):
        self.obj = obj
        self.names = []
        self.arrays = []
        for name, var in _variables(obj).items():
            data = var._data if hasattr(var, "_data") else var.data
            if _is_oxdask_array(data):
                self.names.append(name)
                self.arrays.append(data)

    def __dask_graph__(self):
        if not self.arrays:
            return None
        from oxdask.highlevelgraph import HighLevelGraph

        return HighLevelGraph.merge(*(a.__dask_graph__() for a in self.arrays))

    def __dask_keys__(self):
        return [a.__dask_keys__() for a in self.arrays]

    def __dask_layers__(self):
        return tuple(a.name for a in self.arrays)

    def __dask_tokenize__(self):
        return ("xarray", type(self.obj).__name__, tuple(a.name for a in self.arrays))

    @staticmethod
    def __dask_optimize__(dsk, keys, **kwargs):
        from oxdask.array.optimization import optimize

        return optimize(dsk, keys, **kwargs)

    def __dask_postcompute__(self):
        return _finish_compute, (self.obj, tuple(self.names), tuple(self.arrays))

    def __dask_postpersist__(self):
        return _finish_persist, (self.obj, tuple(self.names), tuple(self.arrays))


def _finish_compute(results, obj, names, arrays):
    values = {}
    for name, array, result in zip(names, arrays, results, strict=True):
        func, args = array.__dask_postcompute__()
        values[name] = func(result, *args)
    return _replaced(obj, values)


def _finish_persist(dsk, obj, names, arrays, rename=None):
    values = {}
    for name, array in zip(names, arrays, strict=True):
        func, args = array.__dask_postpersist__()
        values[name] = func(dsk, *args, rename=rename) if rename else func(dsk, *args)
    return _replaced(obj, values)


def _is_oxdask_array(x) -> bool:
    module = type(x).__module__ or ""
    return module.startswith("oxdask.array")


def as_collection(obj):
    """An oxdask collection computing to ``obj`` with its oxdask-chunked data loaded.

    ``oxdask.compute(as_collection(ds))`` computes all the variables of ``ds`` in one graph
    and returns a Dataset of NumPy arrays; ``oxdask.persist`` returns one whose arrays hold
    their blocks in memory.
    """
    return _XarrayCollection(obj)


# ---------------------------------------------------------------------------------------------
# registration helpers


def register(name: str = "oxdask") -> OxdaskManager:
    """Make ``chunked_array_type=name`` select oxdask without an installed entry point.

    Adds an :class:`OxdaskManager` to xarray's (cached) table of chunk managers and returns it.
    After ``pip install oxdask[xarray]`` the entry point does this already.
    """
    from xarray.namedarray.parallelcompat import list_chunkmanagers

    managers = list_chunkmanagers()
    manager = managers.get(name)
    if not isinstance(manager, OxdaskManager):
        manager = OxdaskManager()
        managers[name] = manager
    return manager


def _ensure_listed(manager: OxdaskManager) -> None:
    """A manager passed as ``chunked_array_type=OxdaskManager()`` must also be found later.

    xarray looks the manager of an existing array up in its table of chunk managers (to
    compute it, for instance); without the entry point oxdask would be missing from it.
    """
    from xarray.namedarray.parallelcompat import list_chunkmanagers

    managers = list_chunkmanagers()
    if not any(isinstance(m, OxdaskManager) for m in managers.values()):
        managers.setdefault("oxdask", manager)


_GUARDED = False


def _guard_dask_manager() -> None:
    """Stop xarray's Dask manager from claiming oxdask arrays.

    It recognises chunked arrays with ``dask.is_dask_collection``, which oxdask arrays satisfy;
    with both managers claiming one array xarray raises "Multiple ChunkManagers recognise type".
    """
    global _GUARDED
    if _GUARDED:
        return
    try:
        from xarray.namedarray.daskmanager import DaskManager
    except ImportError:  # pragma: no cover - xarray without its Dask manager
        _GUARDED = True
        return
    original = DaskManager.is_chunked_array
    if getattr(original, "_oxdask_guard", False):
        _GUARDED = True
        return

    def is_chunked_array(self, data):
        module = type(data).__module__ or ""
        if module == "oxdask" or module.startswith("oxdask."):
            return False
        return original(self, data)

    is_chunked_array._oxdask_guard = True  # type: ignore[attr-defined]
    is_chunked_array.__doc__ = original.__doc__
    DaskManager.is_chunked_array = is_chunked_array  # type: ignore[method-assign]
    _GUARDED = True


_guard_dask_manager()
