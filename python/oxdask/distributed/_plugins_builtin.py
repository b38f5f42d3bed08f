"""Dask's ready-made plugins: ``UploadFile``, ``UploadDirectory``, ``Environ``,
``InstallPlugin`` with ``PipInstall`` and ``CondaInstall``."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import tempfile
import uuid
import zipfile

from oxdask.distributed._plugins import NannyPlugin, SchedulerPlugin, WorkerPlugin

__all__ = [
    "CondaInstall",
    "Environ",
    "InstallPlugin",
    "PipInstall",
    "UploadDirectory",
    "UploadFile",
]

logger = logging.getLogger("oxdask.plugins")


class UploadFile(WorkerPlugin):
    """Send a ``.py``, ``.zip`` or ``.egg`` file to every worker (also those starting
    later), where it becomes importable (a ``.py`` is imported with ``load``)."""

    name = "upload_file"

    def __init__(self, filepath: str, load: bool = True) -> None:
        self.filename = os.path.basename(filepath)
        self.load = load
        with open(filepath, "rb") as f:
            self.data = f.read()

    def setup(self, worker) -> None:
        from oxdask.distributed._client_more import _write_file

        _write_file(self.filename, self.data, self.load)


class Environ(NannyPlugin):
    """Set environment variables in the worker processes; the workers restart, so the
    variables are there before anything of the task's runs (values become strings)."""

    restart = True

    def __init__(self, environ: dict | None = None) -> None:
        environ = environ or {}
        if not isinstance(environ, dict):
            raise TypeError(f"environ must be a dict, not {type(environ).__name__}")
        self.environ = {str(k): str(v) for k, v in environ.items()}

    def setup(self, nanny) -> None:
        nanny.env.update(self.environ)


UPLOAD_DIRECTORY_MODES = ["all", "scheduler", "workers"]


class UploadDirectory(SchedulerPlugin):
    """Send a directory (zipped; ``skip_words`` and ``skip`` leave files out) to every
    worker process (``mode="workers"``), the scheduler's (``"scheduler"``) or both; there
    it is extracted into a directory of the process, put on ``sys.path`` with
    ``update_path``; ``restart_workers`` restarts the workers first."""

    def __init__(
        self,
        path,
        restart_workers: bool = False,
        update_path: bool = False,
        skip_words=(".git", ".github", ".pytest_cache", "tests", "docs"),
        skip=(lambda fn: os.path.splitext(fn)[1] == ".pyc",),
        mode: str = "workers",
    ) -> None:
        if mode not in UPLOAD_DIRECTORY_MODES:
            raise ValueError(f"{mode=} not supported, expected one of {UPLOAD_DIRECTORY_MODES}")
        path = os.path.expanduser(path)
        if not os.path.isdir(path):
            raise FileNotFoundError(f"UploadDirectory: {path!r} is not a directory")
        self.path = os.path.split(os.path.normpath(path))[-1]
        self.restart_workers = restart_workers
        self.update_path = update_path
        self.mode = mode
        self.name = "upload-directory-" + self.path
        buffer = io.BytesIO()
        parent = os.path.join(path, "..")
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for root, _dirs, files in os.walk(path):
                for file in files:
                    filename = os.path.join(root, file)
                    if any(predicate(filename) for predicate in skip):
                        continue
                    if any(word in filename.split(os.sep) for word in skip_words):
                        continue
                    z.write(filename, os.path.relpath(filename, parent))
        self.data = buffer.getvalue()

    def start(self, scheduler) -> None:
        if self.mode in ("all", "scheduler"):
            base = os.path.join(tempfile.gettempdir(), f"oxdask-scheduler-{os.getpid()}")
            _extract(base, self.path, self.data, self.update_path)

    def _oxdask_companions(self) -> list:
        if self.mode not in ("all", "workers"):
            return []
        return [
            _UploadDirectoryNannyPlugin(
                self.path, self.data, self.restart_workers, self.update_path, self.name
            )
        ]


class _UploadDirectoryNannyPlugin(NannyPlugin):
    def __init__(self, path, data, restart, update_path, name) -> None:
        self.path = path
        self.data = data
        self.restart = restart
        self.update_path = update_path
        self.name = name

    def setup(self, nanny) -> None:
        _extract(nanny.local_directory, self.path, self.data, self.update_path)


def _extract(base: str, path: str, data: bytes, update_path: bool) -> None:
    os.makedirs(base, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(path=base)
    if update_path:
        full = os.path.join(base, path)
        if full not in sys.path:
            sys.path.insert(0, full)


# -- installing software --------------------------------------------------------------------------
@contextlib.contextmanager
def _one_install_per_machine():
    """Installs on one machine run one at a time (a lock file)."""
    import fcntl

    path = os.path.join(tempfile.gettempdir(), "oxdask-install.lock")
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class InstallPlugin(SchedulerPlugin):
    """Install software with ``install_fn`` in the scheduler's process and on every worker
    (also those starting later); ``restart_workers`` restarts the workers after."""

    idempotent = True

    def __init__(self, install_fn, restart_workers: bool) -> None:
        if not callable(install_fn):
            raise TypeError(f"install_fn must be callable, not {install_fn!r}")
        self._install_fn = install_fn
        self.restart_workers = restart_workers
        self.name = f"{type(self).__name__}-{uuid.uuid4()}"

    def start(self, scheduler) -> None:
        with _one_install_per_machine():
            self._install_fn()

    def _oxdask_companions(self) -> list:
        if self.restart_workers:
            return [_InstallNannyPlugin(self._install_fn, self.name)]
        return [_InstallWorkerPlugin(self._install_fn, self.name)]


class _InstallWorkerPlugin(WorkerPlugin):
    idempotent = True

    def __init__(self, install_fn, name: str) -> None:
        self._install_fn = install_fn
        self.name = name

    def setup(self, worker) -> None:
        with _one_install_per_machine():
            self._install_fn()


class _InstallNannyPlugin(NannyPlugin):
    idempotent = True
    restart = True

    def __init__(self, install_fn, name: str) -> None:
        self._install_fn = install_fn
        self.name = name

    def setup(self, nanny) -> None:
        with _one_install_per_machine():
            self._install_fn()


def _packages(packages, options, what: str) -> tuple[list, list]:
    if isinstance(packages, str) or not all(isinstance(p, str) for p in packages):
        raise TypeError(f"packages must be a list of strings, not {packages!r}")
    options = list(options or [])
    if not all(isinstance(o, str) for o in options):
        raise TypeError(f"{what} must be a list of strings, not {options!r}")
    return list(packages), options


class _PipInstaller:
    def __init__(self, packages, pip_options=None) -> None:
        self.packages, self.pip_options = _packages(packages, pip_options, "pip_options")

    def __call__(self) -> None:
        logger.info("pip installing the following packages: %s", self.packages)
        with tempfile.NamedTemporaryFile(mode="w+", suffix=".txt") as f:
            f.write("\n".join(self.packages))
            f.flush()
            cmd = [sys.executable, "-m", "pip", "install", *self.pip_options, "-r", f.name]
            proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            msg = f"pip install failed with '{proc.stderr.decode(errors='replace').strip()}'"
            logger.error(msg)
            raise RuntimeError(msg)


class PipInstall(InstallPlugin):
    """``pip install`` ``packages`` (requirement lines: names, wheels, directories) with
    ``pip_options`` in the scheduler's process and on every worker."""

    def __init__(self, packages, pip_options=None, restart_workers: bool = False) -> None:
        super().__init__(_PipInstaller(packages, pip_options), restart_workers=restart_workers)


class _CondaInstaller:
    def __init__(self, packages, conda_options=None) -> None:
        self.packages, self.conda_options = _packages(packages, conda_options, "conda_options")

    def __call__(self) -> None:
        import shutil

        logger.info("conda installing the following packages: %s", self.packages)
        conda = os.environ.get("CONDA_EXE") or shutil.which("conda")
        if not conda:
            msg = (
                "conda install failed because conda could not be found. "
                "Please make sure that conda is installed."
            )
            logger.error(msg)
            raise RuntimeError(msg)
        cmd = [conda, "install", "--yes", *self.conda_options, *self.packages]
        proc = subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            msg = f"conda install failed with '{proc.stderr.decode(errors='replace').strip()}'"
            logger.error(msg)
            raise RuntimeError(msg)


class CondaInstall(InstallPlugin):
    """``conda install`` ``packages`` with ``conda_options`` in the scheduler's process and
    on every worker (``RuntimeError`` when conda is not found)."""

    def __init__(self, packages, conda_options=None, restart_workers: bool = False) -> None:
        super().__init__(_CondaInstaller(packages, conda_options), restart_workers=restart_workers)
