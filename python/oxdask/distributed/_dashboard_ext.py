"""The dashboard's routes answered in the scheduler's process (``/json/ext/<name>``): what
only the workers' Python knows — statistical profiles of task code, call stacks of running
tasks, worker logs. The Rust scheduler calls :func:`answer` on its blocking pool."""

from __future__ import annotations

import json
import threading

_lock = threading.Lock()
_clients: dict[int, object] = {}


def _client(ext):
    """A client in the scheduler's process, opened on first use (one per extension)."""
    from oxdask.distributed._scheduler_ext import open_client

    with _lock:
        client = _clients.get(id(ext))
        if client is None or client._closed:
            if ext.connection is None:
                raise RuntimeError("the scheduler's address is not known yet")
            client = _clients[id(ext)] = open_client(ext.connection, "dashboard")
        return client


def _icicle(node: dict, name: str = "root") -> dict:
    """Dask's profile tree (``count``/``description``/``children``) as the page's icicle."""
    children = node.get("children") or {}
    items = children.values() if isinstance(children, dict) else children
    return {
        "name": name,
        "value": int(node.get("count", 0)),
        "children": [_icicle(c, _frame_name(c)) for c in items],
    }


def _frame_name(node: dict) -> str:
    desc = node.get("description")
    if isinstance(desc, dict):
        return f"{desc.get('filename', '?')}:{desc.get('line_number', '?')}:{desc.get('name', '?')}"
    return str(node.get("identifier", "?"))


def profile(ext, params: dict) -> dict:
    tree = _client(ext).profile(key=params.get("prefix") or None)
    return _icicle(tree)


def call_stacks(ext, params: dict) -> dict:
    worker = params.get("worker")
    stacks = _client(ext).call_stack()
    if worker is not None:
        stacks = {worker: stacks.get(worker, {})}
    merged: dict = {}
    for per_worker in stacks.values():
        for key, frames in per_worker.items():
            merged[str(key)] = [str(f) for f in frames]
    return {"stacks": merged}


def logs(ext, params: dict) -> dict:
    worker = params.get("worker")
    found = _client(ext).get_worker_logs(n=200, workers=[worker] if worker else None)
    out = []
    for lines in found.values():
        out += [[level, text] for level, text in lines]
    return {"logs": out}


ROUTES = {"profile": profile, "call_stacks": call_stacks, "logs": logs}


def answer(ext, name: str, params: dict) -> str | None:
    """JSON text for route ``name``, or None when there is no such route. A failure is
    answered as ``{"error": ...}`` (the page shows it)."""
    route = ROUTES.get(name)
    if route is None:
        return None
    try:
        return json.dumps(route(ext, params))
    except Exception as e:  # shown in the page's panel
        return json.dumps({"error": f"{type(e).__name__}: {e}"})


def close(ext) -> None:
    with _lock:
        client = _clients.pop(id(ext), None)
    if client is not None:
        client.close()
