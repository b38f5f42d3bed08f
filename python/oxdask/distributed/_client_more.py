"""More of Dask's Client API, built on the client's own calls (mixed into ``Client``):
default-client handling, versions, files for the workers, scheduler files, shutdown."""

from __future__ import annotations

import contextlib
import json
import os
import sys

from oxdask.distributed._async import client_method
from oxdask.utils import parse_timedelta

#: Packages whose versions must agree across a cluster: a mismatch is an error (oxdask's
#: wire format, pickled functions). Others differing only warn (results may differ).
REQUIRED = ("oxdask", "cloudpickle")
OPTIONAL = ("numpy", "pandas", "pyarrow")


def _versions(packages=()) -> dict:
    """This process's system and package versions (Dask's ``{"host", "packages"}`` shape;
    ``packages["python"]`` is ``major.minor.micro``)."""
    import importlib.metadata as md
    import platform

    uname = platform.uname()
    host = {
        "python": "%d.%d.%d.%s.%s" % sys.version_info,  # noqa: UP031
        "python-bits": 64 if sys.maxsize > 2**32 else 32,
        "OS": uname.system,
        "OS-release": uname.release,
        "machine": uname.machine,
        "processor": uname.processor,
        "byteorder": sys.byteorder,
        "LC_ALL": os.environ.get("LC_ALL", "None"),
        "LANG": os.environ.get("LANG", "None"),
    }
    found = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in (*REQUIRED, *OPTIONAL, *packages):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = None
    return {"host": host, "packages": found}


def _mismatches(client: dict, scheduler: dict | None, workers: dict) -> list[tuple]:
    """``(package, client's, scheduler's, workers' versions)`` for every package whose
    version differs somewhere (Python by major.minor only)."""

    def norm(pkg, v):
        return ".".join(str(v).split(".")[:2]) if pkg == "python" and v else v

    names = set(client["packages"])
    for w in workers.values():
        names |= set(w["packages"])
    rows = []
    for pkg in sorted(names):
        mine = client["packages"].get(pkg, "MISSING")
        theirs = {a: w["packages"].get(pkg, "MISSING") for a, w in workers.items()}
        sched = scheduler["packages"].get(pkg, "MISSING") if scheduler else None
        seen = {norm(pkg, mine), *(norm(pkg, v) for v in theirs.values())}
        if scheduler:
            seen.add(norm(pkg, sched))
        if len(seen) > 1:
            rows.append((pkg, mine, sched, theirs))
    return rows


def _table(rows: list[tuple]) -> str:
    lines = [f"{'package':14} {'client':14} {'scheduler':14} workers"]
    for pkg, mine, sched, theirs in rows:
        distinct = sorted({str(v) for v in theirs.values()})
        shown = (
            distinct[0] if len(distinct) == 1 else ", ".join(f"{a}: {v}" for a, v in theirs.items())
        )
        lines.append(f"{pkg:14} {mine!s:14} {sched or '-'!s:14} {shown}")
    return "\n".join(lines)


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

    @client_method
    def get_versions(self, check: bool = False, packages=None) -> dict:
        """Versions on this client, the scheduler and every worker: ``{"client", "scheduler",
        "workers": {address: ...}}``, each ``{"host": {...}, "packages": {...}}`` (also the
        ``packages`` named).

        With ``check``: a mismatch of Python (major.minor), oxdask or cloudpickle raises
        ``ValueError`` (they break the wire format or pickled functions), of another package
        warns (``UserWarning``), each with a table of who has which version.
        """
        import warnings

        if packages is not None and (
            isinstance(packages, str) or not all(isinstance(p, str) for p in packages)
        ):
            raise TypeError(f"packages must be a list of package names, not {packages!r}")
        extra = tuple(packages or ())
        client = _versions(extra)
        run = getattr(type(self).run, "__wrapped__", type(self).run)  # blocks when asynchronous
        workers = run(self, _versions, extra)
        scheduler = self._call_scheduler(_versions, extra)
        if check:
            rows = _mismatches(client, scheduler, workers)
            fatal = [r for r in rows if r[0] in ("python", *REQUIRED)]
            if fatal:
                raise ValueError("Mismatched versions found\n\n" + _table(fatal))
            if rows:
                warnings.warn("Mismatched versions found\n\n" + _table(rows), stacklevel=2)
        return {"scheduler": scheduler, "workers": workers, "client": client}

    def upload_file(self, filename: str, load: bool = True) -> dict:
        """Send a ``.py``, ``.zip`` or ``.egg`` file to every worker, also those starting
        later (an ``UploadFile`` plugin), where it becomes importable (a ``.py`` is
        imported, or re-imported, with ``load``): ``{worker: {"status": "OK"}}``."""
        import uuid

        from oxdask.distributed._plugins_builtin import UploadFile

        plugin = UploadFile(filename, load=load)
        return self.register_plugin(plugin, name=f"{filename}{uuid.uuid4()}")

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


class SchedulerCalls:
    """Calls run in the scheduler's process (mixed into ``Client``)."""

    def _call_scheduler(self, func, *args, _context: bool = False, _timeout=60.0, **kwargs):
        """Run ``func(*args, **kwargs)`` in the scheduler's process (with ``_context``, its
        first argument is a ``SchedulerContext``); returns its result or raises its error."""
        from oxdask.distributed._scheduler_ext import call_on_scheduler

        self._check_alive()
        timeout = parse_timedelta(_timeout)
        return call_on_scheduler(self._conn, func, args, kwargs, _context, timeout)

    def run_on_scheduler(self, function, *args, **kwargs):
        """Run ``function(*args, **kwargs)`` in the scheduler's process and return its result.

        As in Dask, a function with a ``dask_scheduler`` parameter receives the scheduler; here
        that is a ``SchedulerContext`` (the caller's client id and the extensions' state), not
        Dask's ``Scheduler`` object.
        """
        from oxdask.distributed._scheduler_ext import takes_scheduler_keyword

        if not callable(function):
            raise TypeError(f"run_on_scheduler needs a callable, got {function!r}")
        if takes_scheduler_keyword(function):
            return self._call_scheduler(_with_scheduler, function, args, kwargs, _context=True)
        return self._call_scheduler(function, *args, **kwargs)


def _with_scheduler(ctx, function, args, kwargs):
    return function(*args, dask_scheduler=ctx, **kwargs)


class Retries:
    """``Client.retry`` (mixed into ``Client``)."""

    def retry(self, futures, asynchronous=None) -> None:
        """Run the erred ``futures`` again, with the erred tasks they inherited their failure
        from; the futures are pending until the new outcome arrives."""
        from oxdask.distributed.future import Future, futures_of

        futures = [futures] if isinstance(futures, Future) else futures_of(futures)
        self._check_alive()
        keys = []
        with self._cond:
            for f in futures:
                st = f._state
                if st.status == "error":
                    st.status, st.exception = "pending", None
                    keys.append(f.key)
        if keys:
            self._conn.retry(keys)
