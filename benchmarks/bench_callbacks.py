"""What scheduler callbacks cost: the 200k-task tree with and without callbacks registered.

The graph: 100,000 ``delayed(inc)`` leaves summed pairwise by ``add`` (199,999 tasks), built
once and run by the threads scheduler (``oxdask.threaded.get`` on the graph, so that the
graph's construction and optimization are not counted). Variants, each timed ``--repeat``
times in turn (so that drifts of the machine fall on all of them alike), medians printed with
their ratio to ``none``, for the wall-clock time and the process's CPU time (the latter
less sensitive to other load on the machine); ``paired`` is the median over rounds of the
ratio between runs of the same round, the steadiest figure on a busy machine:

``engine``
    ``_core.get`` called directly on the same graph: no callback machinery at all.
``none``
    ``oxdask.threaded.get`` with no callback registered (the per-task hooks are not installed).
``progressbar``
    ``oxdask.diagnostics.ProgressBar`` registered (a timer thread, no per-task hook).
``tqdm``
    ``oxdask.diagnostics.TqdmCallback`` registered, writing to ``os.devnull`` (a timer thread).
``posttask``
    A ``Callback`` with an empty ``posttask``: one Python call per task, for comparison.
``tqdm.dask``
    ``tqdm.dask.TqdmCallback`` (real Dask's callback class; when Dask is installed): a
    ``posttask`` updating the bar per task.

``--scheduler sync`` runs everything on one thread (``oxdask.local.get_sync``), which is
less sensitive to other load on the machine.

    python benchmarks/bench_callbacks.py [--leaves 100000] [--repeat 7] [--only none,tqdm]
        [--scheduler threads|sync]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import _tree_sum, inc


def _variants(devnull):
    import oxdask
    from oxdask.callbacks import Callback
    from oxdask.diagnostics import ProgressBar, TqdmCallback

    out = {
        "engine": None,
        "none": nullcontext,
        "progressbar": lambda: ProgressBar(out=devnull),
        "tqdm": lambda: TqdmCallback(file=devnull, tqdm_class=_plain_tqdm()),
        "posttask": lambda: Callback(posttask=lambda *a: None),
    }
    try:
        from tqdm.dask import TqdmCallback as DaskTqdm
    except ImportError:
        pass
    else:
        out["tqdm.dask"] = lambda: DaskTqdm(file=devnull, tqdm_class=_plain_tqdm())
    del oxdask
    return out


def _plain_tqdm():
    from tqdm import tqdm

    return tqdm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leaves", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--only", default="", help="comma-separated variants")
    ap.add_argument("--scheduler", choices=["threads", "sync"], default="threads")
    args = ap.parse_args()

    import oxdask
    from oxdask import _core
    from oxdask.base import collections_to_dsk
    from oxdask.local import get_sync
    from oxdask.threaded import get as get_threads

    n = args.leaves
    total = _tree_sum(oxdask.delayed, [oxdask.delayed(inc)(i) for i in range(n)])
    expected = sum(range(1, n + 1))
    dsk = dict(collections_to_dsk([total]))
    key = total.key
    if args.scheduler == "sync":
        get, workers = get_sync, 1
    else:
        get, workers = get_threads, os.cpu_count() or 1

    with open(os.devnull, "w") as devnull:
        variants = _variants(devnull)
        if args.only:
            variants = {k: v for k, v in variants.items() if k in args.only.split(",")}
        times: dict[str, list[float]] = {k: [] for k in variants}
        cpu: dict[str, list[float]] = {k: [] for k in variants}
        names = list(variants)
        for r in range(args.repeat):
            # a different order each round, and garbage collected before each run, so that
            # neither falls on one variant more than on another
            for name in names[r % len(names) :] + names[: r % len(names)]:
                make = variants[name]
                gc.collect()
                c0 = time.process_time()
                t0 = time.perf_counter()
                if make is None:
                    (result,), _stats = _core.get(dsk, [key], num_workers=workers)
                else:
                    with make():
                        (result,) = get(dsk, [key])
                elapsed = time.perf_counter() - t0
                cpu[name].append(time.process_time() - c0)
                assert result == expected, (name, result)
                times[name].append(elapsed)

    base = statistics.median(times["none"]) if "none" in times else None
    cpu_base = statistics.median(cpu["none"]) if "none" in cpu else None
    print(f"{2 * n - 1} tasks, {args.scheduler} scheduler, {workers} workers, {args.repeat} runs")
    head = f"{'variant':<12} {'median s':>9} {'min s':>7} {'vs none':>8} {'paired':>7}"
    print(f"{head} {'CPU s':>7} {'vs none':>8}")
    for name, ts in times.items():
        med, cmed = statistics.median(ts), statistics.median(cpu[name])
        ratio = f"{med / base:8.3f}" if base else ""
        # the median of the ratios of runs of the same round (next to each other in time)
        paired = (
            f"{statistics.median(t / n for t, n in zip(ts, times['none'], strict=True)):7.3f}"
            if base
            else ""
        )
        cratio = f"{cmed / cpu_base:8.3f}" if cpu_base else ""
        print(f"{name:<12} {med:9.3f} {min(ts):7.3f} {ratio} {paired} {cmed:7.3f} {cratio}")


if __name__ == "__main__":
    main()
