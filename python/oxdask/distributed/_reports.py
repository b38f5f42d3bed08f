"""The task stream as data (``Client.get_task_stream``, ``get_task_stream()``) and
``performance_report``: one self-contained HTML file with the task stream, progress per task
prefix, a profile of the workers' task code and a summary of what ran."""

from __future__ import annotations

import ast
import contextlib
import hashlib
import html
import json
import time

from oxdask.utils import parse_timedelta


def _key(text: str):
    """The key back from its repr (``'inc-1a2b'``, ``('x', 0)``)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _view(client, path: str) -> dict:
    client._check_alive()
    return json.loads(client._conn.dashboard(path, 30.0))


#: What a task-stream entry that is not a computation did (its prefix starts with it), as the
#: ``action`` of Dask's ``startstops``: moving data between workers, spilling, reading back.
_ACTIONS = ("transfer", "disk-write", "disk-read")


def _stream(client, since: int = 0) -> tuple[list[dict], int]:
    """Dask-shaped task records after sequence number ``since`` (epoch times), and the next."""
    raw = _view(client, f"task-stream?since={since}")
    offset = time.time() - raw["now"]
    records = []
    for t in raw["tasks"]:
        prefix = t["prefix"]
        action = next((a for a in _ACTIONS if prefix.startswith(a + "-")), "compute")
        span = {"action": action, "start": t["start"] + offset, "stop": t["stop"] + offset}
        records.append(
            {
                "key": _key(t["key"]),
                "prefix": t["prefix"],
                "worker": t["worker"],
                "status": "OK" if t["status"] == "ok" else "error",
                "startstops": (span,),
            }
        )
    return records, raw["next"]


def _epoch(value, now: float) -> float | None:
    """``start``/``stop`` as Dask takes them: epoch seconds, a datetime, or a duration before
    now (``"20s"``)."""
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return value.timestamp()
    if isinstance(value, str):
        return now - parse_timedelta(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"expected epoch seconds, a datetime or a duration string, got {value!r}")


class TaskStreamMixin:
    """``Client.get_task_stream`` (mixed into ``Client``)."""

    def get_task_stream(self, start=None, stop=None, count=None, plot=False,
                        filename="task-stream.html", bokeh_resources=None):  # fmt: skip
        """Records of the tasks that ran (``key``, ``worker``, ``status``, ``startstops``
        with epoch times), oldest first: those that ended between ``start`` and ``stop``
        (epoch seconds, datetimes, or durations before now such as ``"20s"``), the last
        ``count`` of them. The scheduler keeps the last 100,000. With ``plot="save"`` the
        stream is also drawn to ``filename``: ``(records, filename)``."""
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        if plot not in (False, "save"):
            raise ValueError("plot: oxdask draws task streams to files only (plot='save')")
        records = _tasks(_stream(self)[0])
        now = time.time()
        lo, hi = _epoch(start, now), _epoch(stop, now)
        records = [
            r for r in records
            if (lo is None or r["startstops"][0]["stop"] >= lo)
            and (hi is None or r["startstops"][0]["stop"] <= hi)
        ]  # fmt: skip
        if count is not None:
            records = records[len(records) - count :] if count else []
        if plot == "save":
            _write(filename, _page("Task Stream", _stream_svg(records)))
            return records, filename
        return records


class get_task_stream:
    """Collect the task stream of what runs inside the ``with`` block::

    with get_task_stream() as ts:
        x.compute()
    ts.data  # the records, as Client.get_task_stream returns them
    """

    def __init__(self, client=None, plot=False, filename="task-stream.html"):
        from oxdask.distributed.client import default_client

        self.client = client if client is not None else default_client()
        self.plot, self.filename = plot, filename
        self.data: list[dict] = []

    def __enter__(self):
        self._since = _view(self.client, "task-stream?since=0")["next"]
        return self

    def __exit__(self, *exc):
        self.data = _tasks(_stream(self.client, self._since)[0])
        if self.plot == "save":
            _write(self.filename, _page("Task Stream", _stream_svg(self.data)))

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, *exc):
        self.__exit__(*exc)


class performance_report:
    """Write one self-contained HTML report of what runs inside the ``with`` block::

        with performance_report(filename="dask-report.html"):
            x.compute()

    It holds the task stream, progress per task prefix, a statistical profile of the task
    code on the workers and a summary (duration, tasks, compute time, workers, threads).
    ``storage_options`` and remote URLs: written with fsspec."""

    def __init__(self, filename="dask-report.html", stacklevel=1, mode=None,
                 storage_options=None):  # fmt: skip
        if mode not in (None, "inline", "cdn"):
            raise ValueError(f"mode must be 'inline', 'cdn' or None, got {mode!r}")
        self.filename = filename
        self.storage_options = storage_options or {}

    def __enter__(self):
        from oxdask.distributed.client import default_client

        self.client = default_client()
        self._since = _view(self.client, "task-stream?since=0")["next"]
        self._start = time.time()
        with contextlib.suppress(Exception):
            self.client.profile(start=self._start)  # starts the workers' samplers
        return self

    def __exit__(self, *exc):
        stop = time.time()
        records, _ = _stream(self.client, self._since)
        try:
            profile = self.client.profile(start=self._start, stop=stop)
        except Exception as e:  # the report still has the rest
            profile = {"count": 0, "children": {}, "error": str(e)}
        info = self.client.scheduler_info()
        tasks = _tasks(records)
        body = _summary(tasks, stop - self._start, info)
        body += "<h2>Task Stream</h2>" + _stream_svg(records)
        body += "<h2>Progress</h2>" + _progress_table(tasks)
        body += "<h2>Worker Profile (compute)</h2>" + _profile_html(profile)
        _write(self.filename, _page("oxdask performance report", body), self.storage_options)

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, *exc):
        self.__exit__(*exc)


def _tasks(records: list[dict]) -> list[dict]:
    """The records of tasks (not of transfers between workers)."""
    return [r for r in records if r["startstops"][0]["action"] == "compute"]


def _write(filename: str, text: str, storage_options=None) -> None:
    import fsspec

    with fsspec.open(filename, "w", encoding="utf-8", **(storage_options or {})) as f:
        f.write(text)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
        "th:first-child,td:first-child{text-align:left}.frame{font-size:12px;margin-left:1em}"
        f"</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _colour(prefix: str) -> str:
    return "#" + hashlib.md5(prefix.encode()).hexdigest()[:6]


def _lanes(records: list[dict]) -> list[tuple[str, int, dict]]:
    """``(worker, lane, record)``: overlapping tasks of a worker go to separate lanes."""
    out = []
    for worker in sorted({r["worker"] for r in records}):
        ends: list[float] = []
        mine = sorted((r for r in records if r["worker"] == worker),
                      key=lambda r: r["startstops"][0]["start"])  # fmt: skip
        for r in mine:
            start = r["startstops"][0]["start"]
            lane = next((i for i, end in enumerate(ends) if end <= start), len(ends))
            if lane == len(ends):
                ends.append(0.0)
            ends[lane] = r["startstops"][0]["stop"]
            out.append((worker, lane, r))
    return out


def _stream_svg(records: list[dict], width: int = 900, row: int = 18) -> str:
    """The task stream: one row per worker lane, one rectangle per task."""
    if not records:
        return "<p>No tasks ran.</p>"
    placed = _lanes(records)
    rows = sorted({(w, lane) for w, lane, _ in placed})
    t0 = min(r["startstops"][0]["start"] for r in records)
    t1 = max(r["startstops"][0]["stop"] for r in records)
    scale = (width - 10) / max(t1 - t0, 1e-6)
    parts = [f"<svg class='task-stream' xmlns='http://www.w3.org/2000/svg' width='{width}' "
             f"height='{row * len(rows) + 20}'>"]  # fmt: skip
    for worker, lane, r in placed:
        y = rows.index((worker, lane)) * row
        ss = r["startstops"][0]
        x, w = (ss["start"] - t0) * scale, max((ss["stop"] - ss["start"]) * scale, 1.0)
        action = ss["action"]
        fill = {"transfer": "#d62728", "disk-write": "#a0a0a0", "disk-read": "#a0a0a0"}.get(
            action, "#000" if r["status"] != "OK" else _colour(r["prefix"])
        )
        kind = {"transfer": "transfer", "compute": "task"}.get(action, "spill")
        title = html.escape(f"{r['key']!r} on {worker}: {ss['stop'] - ss['start']:.4f} s")
        parts.append(f"<rect class='{kind}' x='{x:.1f}' y='{y}' width='{w:.1f}' height='{row - 2}'"
                     f" fill='{fill}'><title>{title}</title></rect>")  # fmt: skip
    parts.append(f"<text x='0' y='{row * len(rows) + 15}' font-size='11'>"
                 f"{t1 - t0:.3f} s, {len(rows)} worker threads</text></svg>")  # fmt: skip
    return "".join(parts)


def _progress_table(records: list[dict]) -> str:
    counts: dict[str, list] = {}
    for r in records:
        c = counts.setdefault(r["prefix"], [0, 0, 0.0])
        c[0 if r["status"] == "OK" else 1] += 1
        c[2] += r["startstops"][0]["stop"] - r["startstops"][0]["start"]
    rows = "".join(
        f"<tr class='prefix'><td>{html.escape(p)}</td><td>{ok}</td><td>{err}</td>"
        f"<td>{t:.3f}</td></tr>"
        for p, (ok, err, t) in sorted(counts.items())
    )
    return (f"<table><tr><th>prefix</th><th>finished</th><th>erred</th>"
            f"<th>compute s</th></tr>{rows}</table>")  # fmt: skip


def _summary(records: list[dict], duration: float, info: dict) -> str:
    compute = sum(r["startstops"][0]["stop"] - r["startstops"][0]["start"] for r in records)
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    items = [("Duration", f"{duration:.3f} s"), ("Tasks", len(records)),
             ("Compute time", f"{compute:.3f} s"), ("Workers", len(workers)),
             ("Threads", threads)]  # fmt: skip
    rows = "".join(f"<tr><th>{k}</th><td class='{k.lower().replace(' ', '-')}'>{v}</td></tr>"
                   for k, v in items)  # fmt: skip
    return f"<h2>Summary</h2><table class='summary'>{rows}</table>"


def _profile_html(tree: dict, depth: int = 0) -> str:
    """The profile as nested lines: each frame with its share of the samples."""
    total = max(int(tree.get("count", 0)), 1)
    if "error" in tree:
        return f"<p>No profile: {html.escape(tree['error'])}</p>"
    if not tree.get("children"):
        return "<p>No samples (tasks ran too briefly to be sampled).</p>"

    def walk(node, level):
        if level > 40:
            return ""
        children = node.get("children") or {}
        out = ""
        for child in sorted(children.values(), key=lambda c: -c.get("count", 0)):
            desc = child.get("description") or {}
            name = (f"{desc.get('filename', '?')}:{desc.get('line_number', '?')} "
                    f"{desc.get('name', '?')}" if isinstance(desc, dict)
                    else str(child.get("identifier")))  # fmt: skip
            share = 100 * child.get("count", 0) / total
            out += (f"<div class='frame'>{share:.0f}% {html.escape(name)}"
                    f"{walk(child, level + 1)}</div>")  # fmt: skip
        return out

    return f"<div class='profile'>{walk(tree, depth)}</div>"
