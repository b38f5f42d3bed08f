"""Type hints of the collection protocol, compatible with ``dask.typing``.

``isinstance(x, DaskCollection)`` checks that ``x`` has the protocol's methods (runtime
checkable protocols test presence, not signatures).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from enum import Enum
from typing import Any, Literal, Protocol, TypeAlias, TypeVar, Union, runtime_checkable

__all__ = [
    "CollType",
    "CollType_co",
    "DaskCollection",
    "Graph",
    "HLGDaskCollection",
    "Key",
    "NestedKeys",
    "NoDefault",
    "PostComputeCallable",
    "PostPersistCallable",
    "SchedulerGetCallable",
    "no_default",
]

CollType = TypeVar("CollType", bound="DaskCollection")
CollType_co = TypeVar("CollType_co", bound="DaskCollection", covariant=True)
PostComputeCallable = Callable

Key: TypeAlias = Union[str, int, float, tuple["Key", ...]]  # noqa: UP007
"""A task key: a string, a number, or a tuple of keys (usually ``(name, i, ...)``)."""

Graph: TypeAlias = Mapping[Key, Any]
"""A task graph: keys to tasks (or literal values)."""

NestedKeys: TypeAlias = list[Union[Key, "NestedKeys"]]
"""The keys of a collection, nested in lists like its blocks."""


class SchedulerGetCallable(Protocol):
    """A scheduler's get function: ``get(dsk, keys, **kwargs)`` runs ``dsk`` and returns the
    values of ``keys`` nested like them."""

    def __call__(self, dsk: Graph, keys: Sequence[Key] | Key, **kwargs: Any) -> Any: ...


class PostPersistCallable(Protocol[CollType_co]):
    """The rebuild function of ``__dask_postpersist__``: ``rebuild(dsk, *extra,
    rename=None)`` makes a collection from a graph holding computed results."""

    def __call__(
        self, dsk: Graph, *args: Any, rename: Mapping[str, str] | None = None
    ) -> CollType_co: ...


@runtime_checkable
class DaskCollection(Protocol):
    """The collection protocol that :func:`oxdask.compute` and friends consume."""

    def __dask_graph__(self) -> Graph:
        """The task graph of the collection."""
        raise NotImplementedError

    def __dask_keys__(self) -> NestedKeys:
        """The output keys, nested in lists."""
        raise NotImplementedError

    def __dask_postcompute__(self) -> tuple[PostComputeCallable, tuple]:
        """``(finalize, extra)``: ``finalize(results, *extra)`` is the computed value."""
        raise NotImplementedError

    def __dask_postpersist__(self) -> tuple[PostPersistCallable, tuple]:
        """``(rebuild, extra)``: ``rebuild(dsk, *extra)`` is the persisted collection."""
        raise NotImplementedError

    def __dask_tokenize__(self) -> Hashable:
        """A value that fully represents the collection (for deterministic names)."""
        raise NotImplementedError

    __dask_optimize__: Any
    __dask_scheduler__: staticmethod

    def compute(self, **kwargs: Any) -> Any:
        """The computed value."""
        raise NotImplementedError

    def persist(self: CollType, **kwargs: Any) -> CollType:
        """The same collection with its results computed and held in its graph."""
        raise NotImplementedError

    def visualize(
        self, filename: str = "mydask", format: str | None = None, optimize_graph: bool = False,
        **kwargs: Any,
    ) -> Any:  # fmt: skip
        """A drawing of the task graph."""
        raise NotImplementedError


@runtime_checkable
class HLGDaskCollection(DaskCollection, Protocol):
    """A collection whose graph is a high-level graph, with the names of its output layers."""

    def __dask_layers__(self) -> Sequence[str]:
        """Names of the layers holding the output keys."""
        raise NotImplementedError


class _NoDefault(Enum):
    """The type of :data:`no_default`: marks an argument that was not given (when ``None``
    is a meaningful value)."""

    no_default = "NO_DEFAULT"

    def __repr__(self) -> str:
        return "<no_default>"


no_default = _NoDefault.no_default
NoDefault = Literal[_NoDefault.no_default]
