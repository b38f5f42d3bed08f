"""A fake Kubernetes API server (core/v1 pods, services and secrets in namespaces) for
contract tests of ``oxdask.kubernetes``, and a validator of objects against the official
client's OpenAPI models (unknown fields, wrong types, missing required fields, bad names).
No real Kubernetes is involved."""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/(pods|services|secrets)(?:/([^/]+))?(/log)?$")
_MODELS = {"pods": "V1Pod", "services": "V1Service", "secrets": "V1Secret"}
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|Pi|Ei|k|K|M|G|T|P|E)?$")


class SchemaError(ValueError):
    pass


def validate(data, type_name: str, where: str = "") -> None:
    """Check ``data`` (JSON) against the kubernetes client's model ``type_name``."""
    from kubernetes import client

    if data is None:
        return
    m = re.fullmatch(r"list\[(.+)\]", type_name)
    if m:
        if not isinstance(data, list):
            raise SchemaError(f"{where}: expected a list")
        for i, item in enumerate(data):
            validate(item, m.group(1), f"{where}[{i}]")
        return
    m = re.fullmatch(r"dict\(str, (.+)\)", type_name)
    if m:
        if not isinstance(data, dict):
            raise SchemaError(f"{where}: expected a mapping")
        for k, v in data.items():
            validate(v, m.group(1), f"{where}.{k}")
        return
    simple = {"str": str, "int": int, "bool": bool, "float": (int, float)}
    if type_name in simple:
        if not isinstance(data, simple[type_name]) or (
            type_name == "int" and isinstance(data, bool)
        ):
            raise SchemaError(f"{where}: expected {type_name}, got {data!r}")
        return
    if type_name in ("object", "datetime", "date"):
        return
    cls = getattr(client, type_name)
    if not isinstance(data, dict):
        raise SchemaError(f"{where}: expected a {type_name} object")
    fields = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    unknown = set(data) - set(fields)
    if unknown:
        raise SchemaError(f"{where}: unknown fields {sorted(unknown)} for {type_name}")
    for key, value in data.items():
        validate(value, cls.openapi_types[fields[key]], f"{where}.{key}")
    try:  # the generated constructors reject missing required fields
        cls(**{fields[k]: v for k, v in data.items()})
    except ValueError as e:
        raise SchemaError(f"{where}: {e}") from None
    if type_name == "V1ObjectMeta":
        name = data.get("name")  # (a pod template has none)
        if name is not None and (not _DNS1123.match(name) or len(name) > 63):
            raise SchemaError(f"{where}.name: {name!r} is not a DNS-1123 label")
        for k, v in (data.get("labels") or {}).items():
            if not _LABEL.match(k.rsplit("/", 1)[-1]) or not _LABEL.match(v) or len(v) > 63:
                raise SchemaError(f"{where}.labels: {k}={v!r} is not a valid label")
    if type_name == "V1ResourceRequirements":
        for section in ("limits", "requests"):
            for k, v in (data.get(section) or {}).items():
                if not _QUANTITY.match(str(v)):
                    raise SchemaError(f"{where}.{section}.{k}: {v!r} is not a quantity")
    if type_name == "V1EnvVar" and not re.match(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$", data["name"]):
        raise SchemaError(f"{where}.name: {data['name']!r} is not a valid variable name")


class FakeKubernetes:
    """Serves the API on 127.0.0.1; ``objects[(namespace, plural)][name]`` is what was
    created; ``pod_phase`` sets the phase new pods report (``Running`` by default)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, dict]] = {}
        self.requests: list[tuple[str, str]] = []
        self.pod_phase = "Running"
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, code: int, body, content="application/json") -> None:
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", content)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _status(self, code: int, reason: str, message: str) -> None:
                self._send(
                    code,
                    {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                     "message": message, "reason": reason, "code": code},
                )  # fmt: skip

            def _route(self, method: str) -> None:
                path = self.path.split("?", 1)[0]
                fake.requests.append((method, path))
                m = _PATH.match(path)
                if m is None:
                    return self._status(404, "NotFound", f"no route {path}")
                ns, plural, name, log = m.groups()
                with fake.lock:
                    store = fake.objects.setdefault((ns, plural), {})
                    if method == "POST" and name is None:
                        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                        try:
                            validate(body, _MODELS[plural], plural)
                        except SchemaError as e:
                            return self._status(422, "Invalid", str(e))
                        obj_name = (body.get("metadata") or {}).get("name")
                        if not obj_name:
                            return self._status(422, "Invalid", "metadata.name is required")
                        if obj_name in store:
                            return self._status(409, "AlreadyExists", f"{obj_name} exists")
                        body["metadata"]["namespace"] = ns
                        body["metadata"]["uid"] = str(uuid.uuid4())
                        if plural == "pods":
                            body["status"] = {"phase": fake.pod_phase, "podIP": "10.1.0.7"}
                        store[obj_name] = body
                        return self._send(201, body)
                    if name is None:
                        return self._send(200, {"kind": "List", "items": list(store.values())})
                    if name not in store:
                        return self._status(404, "NotFound", f'{plural} "{name}" not found')
                    if method == "GET" and log:
                        return self._send(200, f"log of {name}\n", "text/plain")
                    if method == "GET":
                        return self._send(200, store[name])
                    if method == "DELETE":
                        obj = store.pop(name)
                        if plural == "secrets":
                            return self._send(200, {"kind": "Status", "status": "Success"})
                        return self._send(200, obj)
                return self._status(405, "MethodNotAllowed", method)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def api_client(self):
        from kubernetes import client

        configuration = client.Configuration()
        configuration.host = self.url
        return client.ApiClient(configuration)

    def names(self, namespace: str, plural: str) -> list[str]:
        return sorted(self.objects.get((namespace, plural), {}))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
