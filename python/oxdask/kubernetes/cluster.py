"""``KubeCluster``: a scheduler pod and service and worker pods, created through the
Kubernetes API with the official ``kubernetes`` client."""

from __future__ import annotations

import contextlib
import re
import secrets
import time
import uuid

from oxdask.distributed._cluster_base import Cluster
from oxdask.utils import parse_timedelta

__all__ = ["KubeCluster", "make_scheduler_pod", "make_service", "make_worker_pod"]

DEFAULT_IMAGE = "ghcr.io/oxdask/oxdask:latest"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _labels(cluster: str, component: str) -> dict:
    return {
        "app.kubernetes.io/name": "oxdask",
        "oxdask.org/cluster-name": cluster,
        "oxdask.org/component": component,
    }


def _env(env: dict | None, secret: str) -> list[dict]:
    out = [{"name": k, "value": str(v)} for k, v in (env or {}).items()]
    out.append(
        {
            "name": "OXDASK_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": secret, "key": "token"}},
        }
    )
    return out


def make_scheduler_pod(name: str, image: str, env: dict | None = None) -> dict:
    """The scheduler's pod (listens on 8786, state endpoint on 8787)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{name}-scheduler", "labels": _labels(name, "scheduler")},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "scheduler",
                    "image": image,
                    "args": [
                        "oxdask",
                        "scheduler",
                        "--host",
                        "0.0.0.0",
                        "--port",
                        "8786",
                        "--dashboard-port",
                        "8787",
                    ],
                    "env": _env(env, f"{name}-token"),
                    "ports": [
                        {"name": "tcp-comm", "containerPort": 8786, "protocol": "TCP"},
                        {"name": "http-dashboard", "containerPort": 8787, "protocol": "TCP"},
                    ],
                    "readinessProbe": {
                        "tcpSocket": {"port": "tcp-comm"},
                        "initialDelaySeconds": 0,
                        "periodSeconds": 2,
                    },
                }
            ],
        },
    }


def make_service(name: str, service_type: str = "ClusterIP") -> dict:
    """The scheduler's service: ``<name>-scheduler.<namespace>`` for workers and clients."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{name}-scheduler", "labels": _labels(name, "scheduler")},
        "spec": {
            "type": service_type,
            "selector": _labels(name, "scheduler"),
            "ports": [
                {"name": "tcp-comm", "port": 8786, "targetPort": "tcp-comm", "protocol": "TCP"},
                {
                    "name": "http-dashboard",
                    "port": 8787,
                    "targetPort": "http-dashboard",
                    "protocol": "TCP",
                },
            ],
        },
    }


def make_worker_pod(
    name: str,
    worker: str,
    image: str,
    scheduler: str,
    resources: dict | None = None,
    env: dict | None = None,
) -> dict:
    """A worker's pod: ``--nthreads`` from its CPU limit, ``--memory-limit`` from its memory
    limit, listening on the pod's IP."""
    limits = (resources or {}).get("limits", {})
    cpu = str(limits.get("cpu", "1"))
    threads = max(1, int(float(cpu[:-1]) / 1000) if cpu.endswith("m") else int(float(cpu)))
    args = ["oxdask", "worker", scheduler, "--name", worker, "--nthreads", str(threads)]
    args += ["--host", "$(OXDASK_POD_IP)", "--port", "8788", "--death-timeout", "60"]
    if "memory" in limits:
        args += ["--memory-limit", _memory(str(limits["memory"]))]
    env_list = [{"name": "OXDASK_POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    container = {
        "name": "worker",
        "image": image,
        "args": args,
        "env": env_list + _env(env, f"{name}-token"),
        "ports": [{"name": "tcp-worker", "containerPort": 8788, "protocol": "TCP"}],
    }
    if resources:
        container["resources"] = resources
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": worker, "labels": _labels(name, "worker")},
        "spec": {"restartPolicy": "Never", "containers": [container]},
    }


def _memory(quantity: str) -> str:
    """A Kubernetes quantity (``4Gi``, ``500M``) as bytes for ``--memory-limit``."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "K": 10**3, "k": 10**3,
             "M": 10**6, "G": 10**9, "T": 10**12}  # fmt: skip
    m = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", quantity)
    if m is None or (m.group(2) and m.group(2) not in units):
        raise ValueError(f"memory limit {quantity!r} is not a Kubernetes quantity")
    return str(int(float(m.group(1)) * units.get(m.group(2), 1)))


class KubeCluster(Cluster):
    """A scheduler and workers as Kubernetes pods.

    Parameters
    ----------
    name : str, optional
        Cluster name (DNS-1123), prefix of every object; default ``oxdask-<random>``.
    image : str
        Container image with oxdask installed (see ``deploy/kubernetes/Dockerfile``).
    n_workers : int
        Worker pods to start.
    resources : dict
        Worker container resources, ``{"requests": {...}, "limits": {"cpu": "2",
        "memory": "4Gi"}}``; the limits set ``--nthreads`` and ``--memory-limit``.
    env : dict
        Environment variables of every container.
    namespace : str
        Default: the current context's namespace, else ``default``.
    scheduler_service_type : str
        ``ClusterIP`` (default), ``NodePort`` or ``LoadBalancer``.
    api_client : kubernetes.client.ApiClient, optional
        Default: in-cluster configuration, else the kubeconfig's current context.
    """

    def __init__(
        self,
        name: str | None = None,
        image: str = DEFAULT_IMAGE,
        n_workers: int = 3,
        resources: dict | None = None,
        env: dict | None = None,
        namespace: str | None = None,
        scheduler_service_type: str = "ClusterIP",
        api_client=None,
        timeout: float | str = 120.0,
        shutdown_on_close: bool = True,
    ) -> None:
        try:
            from kubernetes import client as k8s
        except ImportError:
            raise ImportError(
                "KubeCluster needs the kubernetes client: pip install kubernetes"
            ) from None
        self.name = name or f"oxdask-{uuid.uuid4().hex[:8]}"
        if not _NAME.match(self.name) or len(self.name) > 40:
            raise ValueError(
                f"name {self.name!r}: lowercase letters, digits and '-' (DNS-1123), at most 40"
            )
        if n_workers < 0:
            raise ValueError(f"n_workers must be >= 0, got {n_workers}")
        self.image, self.resources, self.env = image, resources, env
        if api_client is None:
            api_client, default_ns = _load_config()
            namespace = namespace or default_ns
        self.namespace = namespace or "default"
        self._api = k8s.CoreV1Api(api_client)
        self._timeout = parse_timedelta(timeout)
        self._shutdown_on_close = shutdown_on_close
        self._token = secrets.token_urlsafe(24)
        self.security = None
        self._workers: list[str] = []
        self._count = 0
        self._closed = False
        self.scheduler_address = f"tcp://{self.name}-scheduler.{self.namespace}:8786"
        self.dashboard_link = f"http://{self.name}-scheduler.{self.namespace}:8787"
        try:
            self._create(
                "secret",
                {"apiVersion": "v1", "kind": "Secret",
                 "metadata": {"name": f"{self.name}-token", "labels": _labels(self.name, "token")},
                 "type": "Opaque", "stringData": {"token": self._token}},
            )  # fmt: skip
            self._create("pod", make_scheduler_pod(self.name, image, env))
            self._create("service", make_service(self.name, scheduler_service_type))
            self._wait_running([f"{self.name}-scheduler"])
            self.scale(n_workers)
        except BaseException:
            self.close()
            raise

    # -- the API -------------------------------------------------------------------------------
    def _create(self, kind: str, body: dict) -> None:
        create = getattr(self._api, f"create_namespaced_{kind}")
        create(self.namespace, body)

    def _wait_running(self, pods: list[str]) -> None:
        deadline = time.monotonic() + self._timeout
        for pod in pods:
            while True:
                status = self._api.read_namespaced_pod(pod, self.namespace).status
                phase = getattr(status, "phase", None)
                if phase == "Running":
                    break
                if phase in ("Failed", "Succeeded"):
                    raise RuntimeError(f"pod {pod} ended ({phase}) before running")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"pod {pod} not running within {self._timeout}s ({phase})")
                time.sleep(0.2)

    # -- scaling -------------------------------------------------------------------------------
    def scale(self, n: int) -> None:
        """``n`` worker pods: new ones created, the newest deleted (Kubernetes stops them
        with SIGTERM)."""
        while len(self._workers) < n:
            worker = f"{self.name}-worker-{self._count}"
            self._count += 1
            body = make_worker_pod(
                self.name, worker, self.image, self.scheduler_address, self.resources, self.env
            )
            self._create("pod", body)
            self._workers.append(worker)
        while len(self._workers) > max(0, n):
            self._delete("pod", self._workers.pop())

    @property
    def workers(self) -> list[str]:
        """The worker pods' names."""
        return list(self._workers)

    def get_logs(self) -> dict[str, str]:
        """Each pod's log, by pod name."""
        out = {}
        for pod in [f"{self.name}-scheduler", *self._workers]:
            with contextlib.suppress(Exception):
                out[pod] = self._api.read_namespaced_pod_log(pod, self.namespace)
        return out

    def _delete(self, kind: str, name: str) -> None:
        from kubernetes.client.exceptions import ApiException

        try:
            getattr(self._api, f"delete_namespaced_{kind}")(name, self.namespace)
        except ApiException as e:
            if e.status != 404:  # already gone is fine
                raise

    def close(self, timeout: float | str = 10.0) -> None:
        """Delete the worker pods, the scheduler's pod and service, and the token secret."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        if not self._shutdown_on_close:
            return
        for worker in self._workers:
            self._delete("pod", worker)
        self._workers.clear()
        self._delete("service", f"{self.name}-scheduler")
        self._delete("pod", f"{self.name}-scheduler")
        self._delete("secret", f"{self.name}-token")

    def __repr__(self) -> str:
        n = len(self._workers)
        return f"KubeCluster({self.name!r}, namespace={self.namespace!r}, workers={n})"


def _load_config():
    from kubernetes import client, config

    try:
        config.load_incluster_config()
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return client.ApiClient(), f.read().strip()
    except (config.ConfigException, OSError):
        config.load_kube_config()
        _, context = config.list_kube_config_contexts()
        return client.ApiClient(), (context or {}).get("context", {}).get("namespace")
