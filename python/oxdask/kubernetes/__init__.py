"""oxdask on Kubernetes: :class:`KubeCluster` creates a scheduler pod and service and worker
pods through the Kubernetes API (the official ``kubernetes`` client; ``pip install
kubernetes``). For a fixed cluster without Python, see ``deploy/kubernetes/`` (Dockerfile and
manifests)."""

from oxdask.kubernetes.cluster import KubeCluster, make_scheduler_pod, make_service, make_worker_pod

__all__ = ["KubeCluster", "make_scheduler_pod", "make_service", "make_worker_pod"]
