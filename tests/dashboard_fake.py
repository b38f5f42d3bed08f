"""A fake of the scheduler's dashboard HTTP server, for testing the pages in a real browser.

It serves the dashboard's files (page.html, the scripts, the stylesheet) at the routes of the
contract and plausible JSON for every JSON route, generated from a seed; and holds the helpers the
browser tests share: running headless Chromium on a URL and parsing the DOM it dumps.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "crates/oxdask-scheduler/src/server/dashboard"
PAGES = {
    "/status",
    "/workers",
    "/tasks",
    "/system",
    "/graph",
    "/groups",
    "/profile",
    "/exceptions",
    "/info/main/workers.html",
}
INDIVIDUAL = {
    "Task Stream": "/individual-task-stream",
    "Progress": "/individual-progress",
    "Bytes stored per worker": "/individual-workers-memory",
    "Tasks Processing": "/individual-nprocessing",
    "Graph": "/individual-graph",
    "Groups": "/individual-groups",
    "Profile": "/individual-profile",
    "System": "/individual-system",
    "Exceptions": "/individual-exceptions",
}
STATES = ["released", "waiting", "queued", "no-worker", "processing", "memory", "erred"]
PREFIXES = ["load-parquet", "getitem", "add", "sum-chunk", "sum-aggregate"]
STREAM_PREFIXES = [*PREFIXES, "transfer-add", "disk-write-sum-chunk"]


class FakeData:
    """Every JSON answer of the fake, generated from ``seed``."""

    def __init__(
        self,
        seed=0,
        n_workers=3,
        nthreads=2,
        now=100.0,
        span=30.0,
        graph_nodes=40,
        jitter=0.0005,
        token=None,
        fail=(),
    ):
        rng = random.Random(seed)
        self.now = now
        self.token = token
        self.fail = set(fail)
        self.system_calls = 0
        self.workers = []
        for i in range(n_workers):
            limit = 4 * 2**30
            memory = int(limit * rng.uniform(0.1, 0.9))
            managed = int(memory * rng.uniform(0.2, 0.8))
            status = "paused" if rng.random() < 0.1 else "running"
            self.workers.append(
                {
                    "id": i,
                    "address": f"tcp://127.0.0.1:{40000 + i}",
                    "name": f"worker-{i}",
                    "pid": 1000 + i,
                    "nthreads": nthreads,
                    "memory_limit": limit,
                    "status": status,
                    "processing": rng.randint(0, 3 * nthreads),
                    "occupancy_s": round(rng.uniform(0, 5), 3),
                    "keys_held": rng.randint(0, 500),
                    "nbytes_held": managed,
                    "memory": memory,
                    "managed": managed,
                    "spilled": rng.choice([0, 0, rng.randint(1, 2**28)]),
                    "pause_reason": "memory above pause threshold" if status == "paused" else None,
                    "last_seen_s": round(rng.uniform(0, 2), 3),
                }
            )
        # task stream: each worker thread runs tasks back to back with idle gaps
        stream = []
        for w in self.workers:
            for _lane in range(nthreads):
                t = now - span + rng.uniform(0, 1)
                while True:
                    prefix = rng.choice(STREAM_PREFIXES)
                    dur = rng.uniform(0.05, 1.2)
                    if t + dur > now:
                        break
                    # a thread's next task may seem to start a hair before the last one
                    # stopped (the workers' clocks, as the real scheduler's stream shows)
                    shift = rng.uniform(0, jitter)
                    stream.append(
                        {
                            "key": f"('{prefix}-{rng.getrandbits(32):08x}', {len(stream)})",
                            "prefix": prefix,
                            "worker": w["address"],
                            "start": round(t - shift, 5),
                            "stop": round(t + dur, 4),
                            "status": "erred" if rng.random() < 0.03 else "ok",
                        }
                    )
                    t += dur + rng.choice([0.0, 0.0, rng.uniform(0.05, 0.8)])
        stream.sort(key=lambda x: x["stop"])
        self.stream = stream
        self.prefixes = []
        for name in PREFIXES:
            counts = {s: rng.randint(0, 40) for s in STATES}
            self.prefixes.append({"name": name, "total": sum(counts.values()), **counts})
        self.groups = [
            {**p, "dependencies": PREFIXES[max(i - 2, 0) : i]} for i, p in enumerate(self.prefixes)
        ]
        nodes = []
        for i in range(graph_nodes):
            prefix = PREFIXES[i % len(PREFIXES)]
            nodes.append({"key": f"{prefix}-{i}", "prefix": prefix, "state": rng.choice(STATES)})
        self.graph_nodes = nodes
        self.graph_edges = [[i - rng.randint(1, min(i, 4)), i] for i in range(1, graph_nodes)]
        self.exceptions = [
            {
                "key": f"('add-{i:04x}', {i})",
                "prefix": "add",
                "worker": self.workers[i % n_workers]["address"],
                "time": 10.0 + i,
                "text": f"ZeroDivisionError: division by zero (fake {i})",
            }
            for i in range(3)
        ]
        self.profile = {
            "name": "root",
            "value": 100,
            "children": [
                {
                    "name": "mod.py:10:outer",
                    "value": 70,
                    "children": [
                        {"name": "mod.py:20:inner", "value": 50, "children": []},
                        {"name": "numpy/core.py:5:dot", "value": 20, "children": []},
                    ],
                },
                {"name": "other.py:3:helper", "value": 30, "children": []},
            ],
        }

    def why(self, key):
        if key.startswith("unknown"):
            return {"key": key, "state": None, "why": f"{key} is not known to the scheduler"}
        return {
            "key": key,
            "state": "no-worker",
            "why": (
                f"{key} waits: no worker can run it\n"
                "restrictions: resources {'GPU': 1}: no worker has the resource GPU\n"
                "transitions: released -> waiting -> no-worker"
            ),
        }

    def json_route(self, path, query):
        """(status, body) of a JSON route, or None when ``path`` is not one."""
        if path in self.fail:
            return 500, f"fake failure of {path}"
        if path == "/json/state":
            tasks = {s: sum(p[s] for p in self.prefixes) for s in STATES if s != "no-worker"}
            tasks["total"] = sum(p["total"] for p in self.prefixes)
            return 200, {
                "type": "Scheduler",
                "address": "tcp://127.0.0.1:8786",
                "now": self.now,
                "workers": self.workers,
                "tasks": tasks,
                "thresholds": {"target": 0.6, "spill": 0.7, "pause": 0.8, "terminate": 0.95},
            }
        if path == "/json/task-stream":
            since = int(query.get("since", ["0"])[0])
            return 200, {"next": len(self.stream), "now": self.now, "tasks": self.stream[since:]}
        if path == "/json/progress":
            return 200, {"prefixes": self.prefixes}
        if path == "/json/groups":
            return 200, {"groups": self.groups}
        if path == "/json/graph":
            limit = int(query.get("limit", ["1000"])[0])
            n = len(self.graph_nodes)
            if n > limit:
                return 200, {
                    "too_large": True,
                    "count": n,
                    "limit": limit,
                    "nodes": [],
                    "edges": [],
                }
            return 200, {
                "too_large": False,
                "count": n,
                "limit": limit,
                "nodes": self.graph_nodes,
                "edges": self.graph_edges,
            }
        if path == "/json/system":
            self.system_calls += 1
            k = self.system_calls
            return 200, {
                "now": self.now + k,
                "cpu": 10.0 + 5 * (k % 3),
                "rss": 100 * 2**20 + k * 2**20,
                "fds": 30 + k,
                # running totals, as the scheduler's /proc/self/io counters
                "read_bytes": 1000 * k * k,
                "write_bytes": 500 * k * k,
            }
        if path == "/json/exceptions":
            return 200, {"exceptions": self.exceptions}
        if path.startswith("/json/task/"):
            return 200, self.why(urllib.parse.unquote(path[len("/json/task/") :]))
        if path.startswith("/json/worker/"):
            addr = urllib.parse.unquote(path[len("/json/worker/") :])
            for w in self.workers:
                if w["address"] == addr:
                    keys = [
                        {"key": f"('sum-chunk', {i})", "nbytes": 800 * (i + 1)} for i in range(5)
                    ]
                    return 200, {**w, "keys": keys, "processing_keys": ["('add-0001', 1)"]}
            return 200, {"error": f"no worker at {addr}"}
        if path == "/json/ext/call_stacks":
            return 200, {"stacks": {"('add-0001', 1)": ['File "mod.py", line 10, in outer']}}
        if path == "/json/ext/logs":
            return 200, {"logs": [["INFO", "worker started"], ["WARNING", "memory is high"]]}
        if path == "/json/ext/profile":
            prefix = query.get("prefix", [None])[0]
            if prefix is None:
                return 200, self.profile
            frame = {"name": f"{prefix}.py:1:{prefix}_body", "value": 7, "children": []}
            return 200, {"name": "root", "value": 7, "children": [frame]}
        return None


def _page_route(path):
    return (
        path in PAGES
        or path in INDIVIDUAL.values()
        or re.fullmatch(r"/info/(task|worker)/.+\.html", path) is not None
    )


# A test page (of the fake only) loading several pages in iframes of one browser, copying each
# frame's DOM into a <textarea data-path> of its own as it goes, so one --dump-dom holds them all
# (a browser per page costs seconds). With a login, it types it into a page's login form once;
# with a hover {selector, fx, fy[, deltaY]}, it moves the mouse onto that element of each page
# (fx, fy: fractions of its width and height; and turns the wheel) once the element is there;
# with a choose {selector, value}, it picks that option of a <select> once it has it; with
# clicks [selector, ...], it clicks each once it is there (one a tick).
HARNESS = """<!DOCTYPE html><html><body><script>
const spec = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const paths = spec.paths;
let login = spec.login;
const hover = spec.hover;
const choose = spec.choose;
const clicks = spec.clicks || [];
const pairs = paths.map((p) => {
  const f = document.createElement("iframe");
  f.src = p;
  f.style.cssText = "width:1400px;height:1000px;border:0";
  const t = document.createElement("textarea");
  t.dataset.path = p;
  document.body.append(f, t);
  const pair = { f, t, dirty: true };
  f.addEventListener("load", () => {
    new MutationObserver(() => (pair.dirty = true)).observe(f.contentDocument, {
      subtree: true, childList: true, attributes: true, characterData: true });
  });
  return pair;
});
setInterval(() => {
  for (const pair of pairs) {
    const doc = pair.f.contentDocument;
    const form = doc && doc.getElementById("login");
    if (form && login !== undefined) {
      form.querySelector("input").value = login;
      login = undefined;
      form.requestSubmit();
      continue;
    }
    pair.clicked = pair.clicked || 0;
    const button = pair.clicked < clicks.length && doc && doc.querySelector(clicks[pair.clicked]);
    if (button) {
      pair.clicked++;
      button.click();
    }
    const select = choose && !pair.chosen && doc && doc.querySelector(choose.selector);
    if (select && [...select.options].some((o) => o.value === choose.value)) {
      pair.chosen = true;
      select.value = choose.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    const target = hover && !pair.hovered && doc && doc.querySelector(hover.selector);
    if (target) {
      pair.hovered = true;
      const box = target.getBoundingClientRect();
      const at = { bubbles: true, view: pair.f.contentWindow,
        clientX: box.left + hover.fx * box.width, clientY: box.top + hover.fy * box.height };
      target.dispatchEvent(new MouseEvent("mouseover", at));
      target.dispatchEvent(new MouseEvent("mousemove", at));
      const wheel = { ...at, deltaY: hover.deltaY };
      if (hover.deltaY) target.dispatchEvent(new WheelEvent("wheel", wheel));
    }
    if (!pair.dirty || !doc || !doc.documentElement) continue;
    pair.dirty = false;
    pair.t.textContent = doc.documentElement.outerHTML;
  }
}, 200);
</script></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    data: FakeData

    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype):
        raw = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        self.server.requests.append(self.path)
        if path == "/":
            self.send_response(302)
            self.send_header("Location", "/status")
            self.end_headers()
            return
        if path == "/__harness":
            return self._send(200, HARNESS, "text/html; charset=utf-8")
        if _page_route(path):
            page = (DASHBOARD_DIR / "page.html").read_text()
            return self._send(200, page, "text/html; charset=utf-8")
        if path.startswith("/static/"):
            f = DASHBOARD_DIR / path[len("/static/") :]
            if f.suffix in (".js", ".css") and f.is_file() and f.parent == DASHBOARD_DIR:
                ctype = "text/javascript" if f.suffix == ".js" else "text/css"
                return self._send(200, f.read_bytes(), ctype)
        if path == "/health":
            return self._send(200, "ok", "text/plain")
        if path == "/individual-plots.json":
            return self._send(200, json.dumps(INDIVIDUAL), "application/json")
        if path == "/sitemap.json":
            paths = sorted(PAGES | set(INDIVIDUAL.values()))
            return self._send(200, json.dumps({"paths": paths}), "application/json")
        if path.startswith("/json/"):
            data = self.server.data
            if data.token and self.headers.get("Authorization") != f"Bearer {data.token}":
                return self._send(401, "this scheduler requires its token\n", "text/plain")
            answer = data.json_route(path, query)
            if answer is not None:
                status, body = answer
                if isinstance(body, str):
                    return self._send(status, body, "text/plain")
                return self._send(status, json.dumps(body), "application/json")
        self._send(404, f"not found: {path}", "text/plain")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # a browser that went away mid-answer (the page was dumped) is no error of the fake
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeDashboard:
    """``with FakeDashboard(seed=1) as fake: fake.url + "/status"``."""

    def __init__(self, **kwargs):
        self.data = FakeData(**kwargs)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.data = self.data
        self.server.requests = []
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def requests(self):
        return self.server.requests

    def load_pages(self, paths, budget_ms=3000, login=None, hover=None, choose=None, clicks=()):
        """{path: (dom root, console lines)} of several pages loaded in one browser; ``login``
        is typed into the first login form a page shows, the mouse moved onto ``hover``, the
        option ``choose`` picked, the elements ``clicks`` clicked in turn."""
        spec = {"paths": list(paths), "clicks": list(clicks)}
        if choose is not None:
            spec["choose"] = choose
        if login is not None:
            spec["login"] = login
        if hover is not None:
            spec["hover"] = hover
        frag = urllib.parse.quote(json.dumps(spec))
        dom, console = dump_dom(f"{self.url}/__harness#{frag}", budget_ms=budget_ms)
        root = parse_dom(dom)
        out = {}
        for t in root.find_all("textarea"):
            out[t.attrs["data-path"]] = (parse_dom(t.text), console)
        missing = [p for p in paths if p not in out or out[p][0].find("main") is None]
        assert not missing, (missing, dom[-2000:])
        return out

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# ---------- the browser ----------


def chromium():
    return shutil.which("chromium")


def screenshot(url, path, budget_ms=2500, timeout=60):
    """A PNG of ``url`` in headless Chromium after ``budget_ms`` of virtual time."""
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]
    subprocess.run(
        [
            chromium(),
            *args,
            "--window-size=1400,1000",
            f"--virtual-time-budget={budget_ms}",
            f"--screenshot={path}",
            url,
        ],
        capture_output=True,
        timeout=timeout,
    )
    return Path(path)


def dump_doms(urls, budget_ms=3000, parallel=3):
    """dump_dom of several URLs, ``parallel`` browsers at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(lambda u: dump_dom(u, budget_ms), urls))


def dump_dom(url, budget_ms=3000, timeout=60):
    """(dom, console lines) of ``url`` in headless Chromium after ``budget_ms`` of virtual time."""
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--window-size=1400,1000",
            "--enable-logging=stderr",
            "--v=0",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def console_errors(console):
    """The console lines that are errors, uncaught exceptions,
    and what the page's Content-Security-Policy blocked ("Refused to ...", "... violates ...")."""
    words = ("error", "uncaught", "refused", "content security policy")
    return [line for line in console if any(w in line.lower() for w in words)]


class Node:
    """An element of the dumped DOM."""

    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.children = []
        self.parent = parent
        self._text = []

    @property
    def classes(self):
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self):
        return "".join(self._text + [c.text for c in self.children])

    def iter(self):
        yield self
        for c in self.children:
            yield from c.iter()

    def find_all(self, tag=None, cls=None, **attrs):
        """Elements under this one with the tag, the class and ``attrs`` (data_x= is data-x)."""
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and (cls is None or cls in n.classes)
            and all(n.attrs.get(k) == v for k, v in want.items())
        ]

    def find(self, tag=None, cls=None, **attrs):
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None

    def by_id(self, ident):
        return self.find(id=ident)


_VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "source", "wbr"}


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in _VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur._text.append(data)


def parse_dom(html):
    b = _Builder()
    b.feed(html)
    return b.root
