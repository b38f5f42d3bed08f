"""Published datasets and the scheduler's metadata (mixed into ``Client``).

A published dataset is kept by the scheduler pickled, with the keys of the futures inside it
held there (see ``_holds``): its results stay in memory until it is unpublished, even once the
publishing client has gone. ``get_dataset`` rebuilds it with futures of the asking client.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from oxdask.distributed._async import client_method
from oxdask.distributed._holds import holds, pack, unpack_many

__all__ = ["ClientDatasets", "Datasets"]

_missing = object()


# -- in the scheduler ---------------------------------------------------------------------------
def _ds_put(ctx, names: list, records: list, override: bool) -> None:
    def check(datasets):
        if not override:
            for n in names:
                if n in datasets:
                    raise KeyError(f"Dataset {n} already exists")

    with ctx.condition:
        check(ctx.state.setdefault("oxdask.datasets", {}))
    h = holds(ctx)
    new_keys = [k for _, keys in records for k in keys]
    h.hold(new_keys)  # while the publisher still holds its futures
    old_keys = []
    try:
        with ctx.condition:
            datasets = ctx.state["oxdask.datasets"]
            check(datasets)  # again: another client may have published meanwhile
            for n, rec in zip(names, records, strict=True):
                old = datasets.get(n)
                if old is not None:
                    old_keys += old[1]
                datasets[n] = rec
    except BaseException:
        h.release(new_keys)
        raise
    h.release(old_keys)


def _ds_get(ctx, names: list):
    with ctx.condition:
        datasets = ctx.state.setdefault("oxdask.datasets", {})
        found = [datasets.get(n) for n in names]
        keys = [k for rec in found if rec is not None for k in rec[1]]
        token = holds(ctx).pin(ctx.client, keys, True)
    return found, token


def _ds_list(ctx) -> list:
    with ctx.condition:
        return sorted(ctx.state.get("oxdask.datasets", {}), key=str)


def _ds_delete(ctx, names: list) -> None:
    with ctx.condition:
        datasets = ctx.state.setdefault("oxdask.datasets", {})
        gone = [datasets.pop(n) for n in names if n in datasets]
    holds(ctx).release([k for _, keys in gone for k in keys])


def _md_set(ctx, keys: list, value) -> None:
    with ctx.condition:
        node = ctx.state.setdefault("oxdask.metadata", {})
        for k in keys[:-1]:
            try:
                child = node[k]
            except (KeyError, IndexError, TypeError):
                child = None
            if not isinstance(child, dict | list):
                child = node[k] = {}
            node = child
        node[keys[-1]] = value


def _md_get(ctx, keys: list, has_default: bool, default):
    with ctx.condition:
        node = ctx.state.setdefault("oxdask.metadata", {})
        try:
            for k in keys:
                node = node[k]
        except KeyError:
            if not has_default:
                raise
            return default
        return node


# -- the client ---------------------------------------------------------------------------------
class Datasets(MutableMapping):
    """The published datasets as a mapping: ``client.datasets["x"] = df`` publishes,
    ``client.datasets["x"]`` gets, ``del client.datasets["x"]`` unpublishes."""

    __slots__ = ("_client",)

    def __init__(self, client) -> None:
        self._client = client

    def _sync(self, what: str) -> None:
        if self._client.asynchronous:
            raise TypeError(
                f"Can't use {what} when the client is asynchronous; await the client's "
                "publish_dataset, get_dataset, unpublish_dataset or list_datasets instead"
            )

    def __getitem__(self, key):
        self._sync("client.datasets[name]")
        return self._client.get_dataset(key)

    def __setitem__(self, key, value) -> None:
        self._sync("'client.datasets[name] = value'")
        self._client.publish_dataset(value, name=key)

    def __delitem__(self, key) -> None:
        self._sync("'del client.datasets[name]'")
        if key not in self:
            raise KeyError(key)
        self._client.unpublish_dataset(key)

    def __contains__(self, key) -> bool:
        self._sync("'name in client.datasets'")
        return key in self._client.list_datasets()

    def __iter__(self):
        self._sync("iter(client.datasets)")
        yield from self._client.list_datasets()

    def __len__(self) -> int:
        self._sync("len(client.datasets)")
        return len(self._client.list_datasets())

    def __repr__(self) -> str:
        return f"<Datasets: {list(self) if not self._client.asynchronous else '...'}>"


class ClientDatasets:
    """Datasets and metadata methods of ``Client``."""

    @client_method
    def publish_dataset(self, *args, name=None, override: bool = False, **kwargs) -> None:
        """Keep named collections or futures on the scheduler for other clients
        (``get_dataset``): ``publish_dataset(x=df)``, ``publish_dataset({"x": df})`` or
        ``publish_dataset(df, name="x")``. Persist collections first: what they hold is kept
        in memory while published. A name already published is a ``KeyError`` unless
        ``override``.
        """
        names, data = list(kwargs), list(kwargs.values())
        if name:
            if not args:
                raise ValueError(
                    "If name is provided, expecting call signature like "
                    "publish_dataset(df, name='ds')"
                )
            names.append(name)
            data.append(args[0] if len(args) == 1 else args)
        elif args:
            if len(args) != 1 or not isinstance(args[0], Mapping):
                raise ValueError(
                    "If name is omitted, positional argument must be a {name: value} dict"
                )
            names.extend(args[0])
            data.extend(args[0].values())
        for n in names:
            try:
                hash(n)
            except TypeError:
                raise TypeError(f"a dataset name must be hashable, not {n!r}") from None
        records = [pack(d, f"publish_dataset({n!r})") for n, d in zip(names, data, strict=True)]
        self._call_scheduler(_ds_put, names, records, bool(override), _context=True)

    @client_method
    def unpublish_dataset(self, name, **kwargs) -> None:
        """Remove named datasets (a name or a list of names) from the scheduler."""
        names = name if isinstance(name, list) else [name]
        self._call_scheduler(_ds_delete, names, _context=True)

    @client_method
    def list_datasets(self, **kwargs) -> list:
        """Names of the published datasets."""
        return self._call_scheduler(_ds_list, _context=True)

    @client_method
    def get_dataset(self, name, default=_missing, **kwargs):
        """The dataset published as ``name`` (a list of names: a list of datasets), its
        futures now this client's. A name not published is a ``KeyError`` unless a
        ``default`` is given."""
        names = name if isinstance(name, list) else [name]
        found, token = self._call_scheduler(_ds_get, names, _context=True)
        values = unpack_many(self, [r for r in found if r is not None], token)
        out, it = [], iter(values)
        for n, rec in zip(names, found, strict=True):
            if rec is not None:
                out.append(next(it))
            elif default is _missing:
                raise KeyError(f"Dataset '{n}' not found")
            else:
                out.append(default)
        return out if isinstance(name, list) else out[0]

    @property
    def datasets(self) -> Datasets:
        """The published datasets as a mutable mapping."""
        return Datasets(self)

    @client_method
    def set_metadata(self, key, value) -> None:
        """Store a small value on the scheduler under ``key``; a list of keys goes into
        nested dictionaries (made as needed): ``set_metadata(["a", "b"], 1)`` then
        ``get_metadata("a") == {"b": 1}``."""
        keys = list(key) if isinstance(key, list) else [key]
        if not keys:
            raise ValueError("set_metadata needs at least one key")
        self._call_scheduler(_md_set, keys, value, _context=True)

    @client_method
    def get_metadata(self, keys, default=_missing):
        """The value stored by ``set_metadata`` under ``keys`` (a key, or a list for nested
        ones); a ``KeyError`` if there is none, unless a ``default`` is given."""
        keys = list(keys) if isinstance(keys, list | tuple) else [keys]
        if default is _missing:
            return self._call_scheduler(_md_get, keys, False, None, _context=True)
        return self._call_scheduler(_md_get, keys, True, default, _context=True)
