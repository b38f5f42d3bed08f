"""More of Dask's Client API, built on the client's own calls (mixed into ``Client``):
default-client handling, versions, files for the workers, scheduler files, shutdown."""

from __future__ import annotations

import contextlib
import json
import os
import sys

from oxdask.utils import parse_timedelta


def _versions() -> dict:
    """Versions of Python and the packages that must agree across a cluster."""
    import importlib.metadata as md

    packages = {}
    for name in ("oxdask", "cloudpickle", "numpy", "pandas", "pyarrow"):
        try:
            packages[name] = md.version(name)
        except md.PackageNotFoundError:
            packages[name] = None
    return {"python": ".".join(map(str, sys.version_info[:3])), "packages": packages}


def _write_file(name: str, data: bytes, load: bool) -> str:
    """On a worker: save an uploaded file next to the worker and make it importable."""
    import importlib
    import tempfile

    directory = os.path.join(tempfile.gettempdir(), f"oxdask-uploads-{os.getpid()}")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    if path.endswith(".zip") or path.endswith(".egg"):
        sys.path.insert(0, path)
    elif load and path.endswith(".py"):
        module = os.path.splitext(name)[0]
        importlib.invalidate_caches()
        if module in sys.modules:
            importlib.reload(sys.modules[module])
        else:
            importlib.import_module(module)
    return path


class ClientExtras:
    """Methods of ``Client`` that compose its basic calls."""

    @classmethod
    def current(cls, allow_global: bool = True):
        """The default client (``ValueError`` naming how to start one when there is none)."""
        from oxdask.distributed.client import default_client

        return default_client()

    @contextlib.contextmanager
    def as_current(self):
        """Make this client the default inside the ``with`` block."""
        from oxdask import config
        from oxdask.distributed import client as module

        previous, previous_scheduler = module._current, config.get("scheduler", None)
        module._current = self
        try:
            with config.set(scheduler=self.get):
                yield self
        finally:
            module._current = previous
            if previous_scheduler is not None:
                config.set(scheduler=previous_scheduler)

    @staticmethod
    def futures_of(obj):
        """The futures in ``obj`` (see :func:`oxdask.distributed.futures_of`)."""
        from oxdask.distributed.future import futures_of

        return futures_of(obj)

    def get_versions(self, check: bool = False, packages=None) -> dict:
        """Versions of Python and key packages on this client and every worker; with
        ``check``, a mismatch raises ``ValueError`` naming the package and who differs."""
        client = _versions()
        workers = self.run(_versions)
        if check:
            for address, theirs in workers.items():
                for name, version in client["packages"].items():
                    if theirs["packages"].get(name) != version:
                        raise ValueError(
                            f"version mismatch: {name} is {version} on the client and "
                            f"{theirs['packages'].get(name)} on worker {address}"
                        )
                if theirs["python"].rsplit(".", 1)[0] != client["python"].rsplit(".", 1)[0]:
                    raise ValueError(
                        f"version mismatch: Python {client['python']} on the client and "
                        f"{theirs['python']} on worker {address}"
                    )
        return {"client": client, "workers": workers}

    def upload_file(self, filename: str, load: bool = True) -> dict:
        """Send a ``.py``, ``.zip`` or ``.egg`` file to every connected worker, where it
        becomes importable (a ``.py`` is imported, or re-imported, with ``load``)."""
        name = os.path.basename(filename)
        with open(filename, "rb") as f:
            data = f.read()
        return self.run(_write_file, name, data, load)

    def write_scheduler_file(self, scheduler_file: str) -> None:
        """Write this client's scheduler address as JSON, for ``Client(scheduler_file=...)``."""
        if os.path.exists(scheduler_file):
            raise ValueError(f"Scheduler file {scheduler_file} already exists")
        with open(scheduler_file, "w") as f:
            json.dump({"address": self.scheduler_address, "type": "Scheduler"}, f)

    def restart_workers(self, workers: list, timeout="60s", raise_for_error: bool = True):
        """Replace the given workers (addresses) with fresh processes: a LocalCluster's
        start new ones, ``oxdask worker`` processes replace themselves."""
        known = set(self.scheduler_info()["workers"])
        unknown = [w for w in workers if w not in known]
        if unknown:
            raise ValueError(f"not workers of this scheduler: {unknown}")
        self._conn.restart_workers(list(workers), parse_timedelta(timeout))
        return dict.fromkeys(workers, "OK")

    def shutdown(self) -> None:
        """Close the cluster this client was given or started (its scheduler and workers),
        then the client."""
        cluster = self.cluster
        self.close()
        if cluster is not None:
            cluster.close()
