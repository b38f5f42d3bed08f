"""Distributed computing: a central scheduler, workers holding results, and clients.

``Client()`` starts a :class:`LocalCluster`; ``Client("tcp://host:8786")`` connects to a
scheduler started with ``oxdask scheduler`` and workers started with ``oxdask worker``.
"""

from concurrent.futures import CancelledError, TimeoutError

from oxdask.config import config
from oxdask.distributed._actors import Actor, ActorFuture, BaseActorFuture
from oxdask.distributed._client_query import get_task_metadata
from oxdask.distributed._cluster_api import Adaptive
from oxdask.distributed._deploy_classes import (
    Nanny,
    Scheduler,
    SpecCluster,
    SubprocessCluster,
    Worker,
)
from oxdask.distributed._executor import CompatibleExecutor
from oxdask.distributed._plugins import NannyPlugin, SchedulerPlugin, WorkerPlugin
from oxdask.distributed._plugins_builtin import (
    CondaInstall,
    Environ,
    InstallPlugin,
    PipInstall,
    UploadDirectory,
    UploadFile,
)
from oxdask.distributed._primitives import Event, Lock, MultiLock, Semaphore
from oxdask.distributed._queues import Pub, Queue, Sub, Variable
from oxdask.distributed._reports import get_task_stream, performance_report
from oxdask.distributed._spans import Reschedule, span
from oxdask.distributed._worker_api import (
    get_worker,
    local_client,
    print,
    rejoin,
    secede,
    warn,
    worker_client,
)
from oxdask.distributed.client import Client, default_client, get_client
from oxdask.distributed.cluster import LocalCluster
from oxdask.distributed.future import (
    Future,
    FutureCancelledError,
    as_completed,
    fire_and_forget,
    futures_of,
    wait,
)
from oxdask.distributed.progress import progress
from oxdask.distributed.security import Security
from oxdask.distributed.serialize import KilledWorker
from oxdask.distributed.ssh import SSHCluster

__all__ = [
    "Actor",
    "ActorFuture",
    "Adaptive",
    "BaseActorFuture",
    "CancelledError",
    "Client",
    "CompatibleExecutor",
    "CondaInstall",
    "Environ",
    "Event",
    "Future",
    "FutureCancelledError",
    "InstallPlugin",
    "KilledWorker",
    "LocalCluster",
    "Lock",
    "MultiLock",
    "Nanny",
    "NannyPlugin",
    "PipInstall",
    "Pub",
    "Queue",
    "Reschedule",
    "SSHCluster",
    "Scheduler",
    "SchedulerPlugin",
    "Security",
    "Semaphore",
    "SpecCluster",
    "Sub",
    "SubprocessCluster",
    "TimeoutError",
    "UploadDirectory",
    "UploadFile",
    "Variable",
    "Worker",
    "WorkerPlugin",
    "as_completed",
    "config",
    "default_client",
    "fire_and_forget",
    "futures_of",
    "get_client",
    "get_task_metadata",
    "get_task_stream",
    "get_worker",
    "local_client",
    "performance_report",
    "print",
    "progress",
    "rejoin",
    "secede",
    "span",
    "wait",
    "warn",
    "worker_client",
]
