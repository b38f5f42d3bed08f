"""Bag benchmark: oxdask.bag vs dask.bag on gzip JSON-lines files, each on its default bag
scheduler (processes).

Data: 8 gzip JSON-lines files of generated events (2.4 M records, about 330 MB uncompressed,
fixed seed), written once into ``OXDASK_BENCH_DATA`` or a folder of the temporary directory,
with the plain-Python answers computed while writing. Workloads:

``frequencies``
    ``read_text -> map(json.loads) -> filter(kind == "purchase") -> pluck("user") ->
    frequencies() -> topk(10, key=1)``
``foldby``
    ``read_text -> map(json.loads) -> foldby("country", sum of amount)``
``distinct``
    ``read_text -> map(json.loads) -> pluck("item") -> distinct() -> count()``
``stream`` (``--stream``)
    ``frequencies`` over the same data cut into ``blocksize`` pieces of uncompressed copies,
    to show that memory stays flat (peak RSS) while the bag is far larger than one block.

Each (workload, library) runs in a fresh process; the time is the ``compute`` call (pool start
included for both). Printed: seconds, the speed-up, whether the result matches plain Python,
and the peak RSS summed over the process and its worker processes (sampled from ``/proc``).

    python benchmarks/bench_bag.py [workload ...] [--scale small] [--repeat 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

FILES = 8
RECORDS = {"full": 300_000, "small": 30_000}  # per file
WORKLOADS = ("frequencies", "foldby", "distinct")
KINDS = ["view"] * 6 + ["click"] * 3 + ["cart"] * 2 + ["purchase"] * 2
COUNTRIES = [f"{a}{b}" for a in "ABCDEFGH" for b in "XYZWV"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (Macintosh)", "curl/8.1", "okhttp/4"]


def data_dir(scale: str) -> Path:
    root = os.environ.get("OXDASK_BENCH_DATA") or tempfile.gettempdir()
    return Path(root) / f"oxdask-bench-bag-{scale}"


def generate(scale: str) -> Path:
    """Write the files (once) and the plain-Python answers next to them."""
    d = data_dir(scale)
    answers = d / "answers.json"
    if answers.exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261207)
    users: Counter = Counter()
    totals: dict = {}
    items: set = set()
    size = 0
    n = RECORDS[scale]
    for f in range(FILES):
        lines = []
        for i in range(n):
            rec = {
                "user": f"u{int(rng.paretovariate(1.2) * 37) % 50000:05d}",
                "kind": rng.choice(KINDS),
                "item": f"i{rng.randrange(300_000):06d}",
                "country": rng.choice(COUNTRIES),
                "amount": round(rng.random() * 200, 2),
                "ts": 1_700_000_000 + f * n + i,
                "agent": rng.choice(AGENTS),
            }
            if rec["kind"] == "purchase":
                users[rec["user"]] += 1
            totals[rec["country"]] = totals.get(rec["country"], 0.0) + rec["amount"]
            items.add(rec["item"])
            lines.append(json.dumps(rec))
        text = ("\n".join(lines) + "\n").encode()
        size += len(text)
        with gzip.open(d / f"events-{f}.json.gz", "wb", compresslevel=6) as out:
            out.write(text)
    top = sorted(users.items(), key=lambda kv: kv[1], reverse=True)
    answers.write_text(
        json.dumps(
            {
                "users": dict(users),
                "top_counts": [c for _, c in top[:10]],
                "totals": totals,
                "distinct": len(items),
                "bytes": size,
            }
        )
    )
    return d


def _amount(acc, rec):
    return acc + rec["amount"]


def _is_purchase(rec):
    return rec["kind"] == "purchase"


def _add(a, b):
    return a + b


def build(db, workload: str, pattern: str, blocksize=None):
    b = db.read_text(pattern, blocksize=blocksize).map(json.loads)
    if workload in ("frequencies", "stream"):
        return b.filter(_is_purchase).pluck("user").frequencies().topk(10, key=1)
    if workload == "foldby":
        return b.foldby("country", _amount, 0, _add, 0)
    if workload == "distinct":
        return b.pluck("item").distinct().count()
    raise ValueError(workload)


def check(workload: str, result, answers: dict) -> bool:
    if workload in ("frequencies", "stream"):
        result = list(result)
        counts = [c for _, c in result]
        return counts == answers["top_counts"] and all(answers["users"][u] == c for u, c in result)
    if workload == "foldby":
        got = dict(result)
        want = answers["totals"]
        return set(got) == set(want) and all(
            abs(got[k] - want[k]) <= 1e-6 * abs(want[k]) for k in want
        )
    return result == answers["distinct"]


def stream_copies(d: Path, copies: int = 3) -> Path:
    """Uncompressed copies of the files (for blocksize reads)."""
    s = d / "plain"
    if not s.exists():
        s.mkdir()
        for f in range(FILES):
            with gzip.open(d / f"events-{f}.json.gz", "rb") as src:
                data = src.read()
            for c in range(copies):
                (s / f"events-{f}-{c}.json").write_bytes(data)
    return s


def child(lib: str, workload: str, d: Path) -> None:
    db = __import__(f"{lib}.bag", fromlist=["bag"])
    answers = json.loads((d / "answers.json").read_text())
    if workload == "stream":
        pattern = str(stream_copies(d) / "*.json")
        expr = build(db, workload, pattern, blocksize="16MB")
        # three copies of the data: counts are three times as large
        answers = dict(answers)
        answers["users"] = {u: 3 * c for u, c in answers["users"].items()}
        answers["top_counts"] = [3 * c for c in answers["top_counts"]]
    else:
        expr = build(db, workload, str(d / "events-*.json.gz"))
    cpu0 = _cpu()
    start = time.perf_counter()
    result = expr.compute()
    seconds = time.perf_counter() - start
    if lib == "oxdask":  # the pool is cached: end it so that its CPU time is counted
        from oxdask import multiprocessing as mp

        if mp._pool is not None:
            mp._pool.shutdown(wait=True)
    cpu = _cpu() - cpu0
    print(json.dumps({"seconds": seconds, "cpu": cpu, "ok": check(workload, result, answers)}))


def _cpu() -> float:
    """CPU seconds of this process and of its ended child processes."""
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def _tree_rss(pid: int) -> int:
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return total


def run(lib: str, workload: str, d: Path, timeout: float) -> dict:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", lib, workload, str(d)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    stop = threading.Event()

    def sample():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            stop.wait(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        stop.set()
        return {"seconds": float("nan"), "ok": False, "peak": peak, "error": "timeout"}
    stop.set()
    t.join()
    try:
        res = json.loads(out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"seconds": float("nan"), "ok": False, "peak": peak, "error": err[-500:]}
    res["peak"] = peak
    return res


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=list(WORKLOADS))
    parser.add_argument("--scale", default=os.environ.get("OXDASK_BENCH_SCALE", "full"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--libs", default="dask,oxdask")
    args = parser.parse_args()
    d = generate(args.scale)
    size = json.loads((d / "answers.json").read_text())["bytes"]
    print(
        f"data: {FILES} gzip JSON-lines files, {FILES * RECORDS[args.scale]:,} records, "
        f"{size / 1e6:.0f} MB uncompressed, in {d}"
    )
    libs = args.libs.split(",")
    print(
        f"{'workload':12} {'library':8} {'seconds':>8} {'cpu s':>7} {'peak MB':>8} {'correct':>8}"
    )
    for w in args.workloads:
        best = {}
        for lib in libs:
            runs = [run(lib, w, d, args.timeout) for _ in range(args.repeat)]
            r = min(runs, key=lambda x: x["seconds"])
            best[lib] = r["seconds"]
            note = f"  {r.get('error', '')[:200]}" if r.get("error") else ""
            print(
                f"{w:12} {lib:8} {r['seconds']:8.2f} {r.get('cpu', float('nan')):7.2f} "
                f"{r['peak'] / 1e6:8.0f} "
                f"{'yes' if r['ok'] else 'NO':>8}{note}",
                flush=True,
            )
        if "dask" in best and "oxdask" in best:
            print(f"{w:12} speed-up {best['dask'] / best['oxdask']:7.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
