"""``Client.dump_cluster_state``: the cluster's state in one file to attach to a bug report,
and ``load_cluster_dump`` to read one back."""

from __future__ import annotations

import gzip
import time
from typing import Any

from oxdask.distributed import _worker_probe

__all__ = ["dump_cluster_state", "load_cluster_dump"]

_FORMATS = {"msgpack": ".msgpack.gz", "yaml": ".yaml"}


def _plain(x: Any) -> Any:
    """Lists for tuples, strings for keys and anything msgpack or YAML cannot hold."""
    if isinstance(x, dict):
        return {_key(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple | set):
        return [_plain(v) for v in x]
    if x is None or isinstance(x, str | int | float | bool | bytes):
        return x
    return repr(x)


def _key(k: Any) -> Any:
    return k if isinstance(k, str | int) else str(k)


def cluster_state(client, exclude=()) -> dict:
    """The state of the scheduler (its report), of each worker (see
    ``_worker_probe.snapshot``) and of this client's futures."""
    from oxdask.distributed._client_query import _blocking

    versions = _blocking(client, "get_versions")()
    with client._lock:
        futures = {
            k: {"status": st.status, "nbytes": st.nbytes, "type": st.type, "reason": st.reason}
            for k, st in client._states.items()
        }
    state = {
        "created": time.time(),
        "scheduler": client.scheduler_info(),
        "workers": _blocking(client, "run")(_worker_probe.snapshot),
        "client": {"id": client.id, "futures": futures},
        "versions": versions,
    }
    for name in exclude:
        state.pop(name, None)
    return _plain(state)


def dump_cluster_state(client, filename="dask-cluster-dump", write_from_scheduler=None,
                       exclude=(), format="msgpack", **storage_options) -> str:  # fmt: skip
    if format not in _FORMATS:
        raise ValueError(f"Unsupported format {format!r}: use 'msgpack' or 'yaml'")
    if write_from_scheduler:
        raise NotImplementedError("oxdask's scheduler cannot write the dump itself")
    filename = str(filename)
    suffix = _FORMATS[format]
    if not filename.endswith(suffix):
        filename += suffix
    state = cluster_state(client, exclude)
    if format == "msgpack":
        try:
            import msgpack
        except ImportError:
            raise ImportError(
                "dump_cluster_state(format='msgpack') needs msgpack (pip install msgpack), "
                "or use format='yaml'"
            ) from None
        data = gzip.compress(msgpack.packb(state))
        mode = "wb"
    else:
        try:
            import yaml
        except ImportError:
            raise ImportError(
                "dump_cluster_state(format='yaml') needs PyYAML (pip install pyyaml)"
            ) from None
        data = yaml.safe_dump(state)
        mode = "w"
    with _open(filename, mode, **storage_options) as f:
        f.write(data)
    return filename


def _open(url: str, mode: str, **storage_options):
    if "://" in url:
        try:
            import fsspec
        except ImportError:
            raise ImportError(f"{url}: a URL needs fsspec (pip install fsspec)") from None
        return fsspec.open(url, mode, **storage_options)
    return open(url, mode)


def load_cluster_dump(url: str, **kwargs) -> dict:
    """Read a file (or fsspec URL) written by ``dump_cluster_state``."""
    url = str(url)
    if url.endswith(".msgpack.gz"):
        import msgpack

        with _open(url, "rb", **kwargs) as f:
            return msgpack.unpackb(gzip.decompress(f.read()), strict_map_key=False)
    if url.endswith(".yaml"):
        import yaml

        with _open(url, "r", **kwargs) as f:
            return yaml.safe_load(f)
    raise ValueError(f"{url}: expected a .msgpack.gz or .yaml cluster dump")
