"""Contract tests of ``oxdask.kubernetes.KubeCluster`` against a fake Kubernetes API server
(tests/_fake_k8s.py): which objects are created, with what spec, validated against the
official client's models. No real Kubernetes is involved."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("kubernetes")
yaml = pytest.importorskip("yaml")

from _fake_k8s import FakeKubernetes, SchemaError, validate  # noqa: E402
from oxdask.kubernetes import KubeCluster, make_worker_pod  # noqa: E402

DEPLOY = os.path.join(os.path.dirname(__file__), "..", "deploy", "kubernetes")


@pytest.fixture
def fake():
    server = FakeKubernetes()
    yield server
    server.close()


def _container(pod: dict) -> dict:
    (container,) = pod["spec"]["containers"]
    return container


def test_creates_scheduler_service_secret_and_workers(fake):
    resources = {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "500m"}}
    cluster = KubeCluster(
        name="demo", image="registry.example/oxdask:1.0", n_workers=2, resources=resources,
        env={"EXTRA_PIP_PACKAGES": "xarray"}, namespace="science", api_client=fake.api_client(),
    )  # fmt: skip
    try:
        assert fake.names("science", "secrets") == ["demo-token"]
        assert fake.names("science", "services") == ["demo-scheduler"]
        assert fake.names("science", "pods") == ["demo-scheduler", "demo-worker-0", "demo-worker-1"]
        secret = fake.objects[("science", "secrets")]["demo-token"]
        assert secret["stringData"] == {"token": cluster._token}
        pods = fake.objects[("science", "pods")]
        sched = _container(pods["demo-scheduler"])
        assert sched["image"] == "registry.example/oxdask:1.0"
        assert sched["args"][:2] == ["oxdask", "scheduler"]
        service = fake.objects[("science", "services")]["demo-scheduler"]
        assert (
            service["spec"]["selector"].items()
            <= pods["demo-scheduler"]["metadata"]["labels"].items()
        )
        assert {p["port"] for p in service["spec"]["ports"]} == {8786, 8787}
        worker = _container(pods["demo-worker-1"])
        args = worker["args"]
        assert args[:3] == ["oxdask", "worker", "tcp://demo-scheduler.science:8786"]
        assert args[args.index("--nthreads") + 1] == "2"
        assert args[args.index("--memory-limit") + 1] == str(4 * 2**30)
        assert args[args.index("--name") + 1] == "demo-worker-1"
        assert worker["resources"] == resources
        env = {e["name"]: e for e in worker["env"]}
        assert env["EXTRA_PIP_PACKAGES"]["value"] == "xarray"
        token_ref = env["OXDASK_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert token_ref == {"name": "demo-token", "key": "token"}
        assert cluster.scheduler_address == "tcp://demo-scheduler.science:8786"
        assert cluster.get_logs()["demo-worker-0"] == "log of demo-worker-0\n"
    finally:
        cluster.close()
    assert not any(fake.objects.values())  # everything deleted


def test_scale_up_and_down(fake):
    with KubeCluster(name="sc", n_workers=1, api_client=fake.api_client()) as cluster:
        cluster.scale(3)
        assert fake.names("default", "pods") == [
            "sc-scheduler",
            "sc-worker-0",
            "sc-worker-1",
            "sc-worker-2",
        ]
        cluster.scale(1)  # newest first
        assert fake.names("default", "pods") == ["sc-scheduler", "sc-worker-0"]
        cluster.scale(2)  # fresh names
        assert cluster.workers == ["sc-worker-0", "sc-worker-3"]
    assert fake.names("default", "pods") == []


def test_failed_scheduler_pod_is_an_error_and_cleans_up(fake):
    fake.pod_phase = "Failed"
    with pytest.raises(RuntimeError, match="pod bad-scheduler ended"):
        KubeCluster(name="bad", n_workers=1, api_client=fake.api_client(), timeout=5)
    assert not any(fake.objects.values())


def test_bad_arguments(fake):
    with pytest.raises(ValueError, match="DNS-1123"):
        KubeCluster(name="Not_Valid", api_client=fake.api_client())
    with pytest.raises(ValueError, match="n_workers"):
        KubeCluster(name="ok", n_workers=-1, api_client=fake.api_client())
    with pytest.raises(ValueError, match="quantity"):
        make_worker_pod("c", "c-w", "img", "tcp://s:8786", {"limits": {"memory": "4 gigs"}})


def test_the_validator_catches_mistakes():
    pod = make_worker_pod("c", "c-worker-0", "img", "tcp://s:8786")
    validate(pod, "V1Pod")
    broken = {**pod, "spec": {"containers": [{"image": "img"}]}}  # no container name
    with pytest.raises(SchemaError, match="name"):
        validate(broken, "V1Pod")
    with pytest.raises(SchemaError, match="unknown fields"):
        validate({**pod, "spek": {}}, "V1Pod")
    ports = [{"containerPort": "8786"}]
    with pytest.raises(SchemaError, match="expected int"):
        validate({**pod, "spec": {"containers": [{"name": "w", "ports": ports}]}}, "V1Pod")


def test_manifests_are_valid():
    with open(os.path.join(DEPLOY, "oxdask-cluster.yaml")) as f:
        docs = list(yaml.safe_load_all(f))
    kinds = {"Secret": "V1Secret", "Pod": "V1Pod", "Service": "V1Service"}
    kinds["Deployment"] = "V1Deployment"
    assert [d["kind"] for d in docs] == ["Secret", "Pod", "Service", "Deployment"]
    for doc in docs:
        validate(doc, kinds[doc["kind"]], doc["kind"])
    with open(os.path.join(DEPLOY, "Dockerfile")) as f:
        dockerfile = f.read()
    assert "maturin build --release" in dockerfile
    assert "EXPOSE 8786 8787 8788" in dockerfile
