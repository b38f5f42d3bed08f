"""Runs Dask's own test files against oxdask and prints, per file, how many of the tests that
pass on Dask pass on oxdask.

The test files come from the installed Dask wheel (``pip install -r benchmarks/requirements.txt``)
and are copied to a scratch directory; there ``import dask`` loads oxdask (see ``alias.py``),
and the few Dask-internal helpers the tests import come from ``shim.py``. Which tests pass on
Dask itself is kept in ``dask_passing.json`` (``--dask`` measures it again and rewrites it).

Usage::

    python benchmarks/dask_suite/run.py                      # the default files
    python benchmarks/dask_suite/run.py array/tests/test_ufunc.py --jobs 2
    python benchmarks/dask_suite/run.py --dask               # re-measure Dask itself

Each file's failing tests, with the first line of their error, go to
``OUT/<file>.failures.txt`` (``--out``, default a ``dask_suite`` folder in the temp directory).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "dask_passing.json"
KNOWN = HERE / "KNOWN_FAILURES.md"
DEFAULT_FILES = [
    "tests/test_delayed.py",
    "tests/test_base.py",
    "array/tests/test_reductions.py",
    "array/tests/test_creation.py",
    "array/tests/test_ufunc.py",
    "array/tests/test_slicing.py",
    "array/tests/test_routines.py",
    "bag/tests/test_bag.py",
    "dataframe/tests/test_groupby.py",
    "dataframe/tests/test_shuffle.py",
]
PASSING = {"passed", "xfailed"}

CONFTEST = """\
import os
import sys

sys.path.insert(0, {here!r})
if os.environ.get("DASK_SUITE_TARGET") == "oxdask":
    import glob

    import alias

    _finder = alias.install(sorted(glob.glob(os.path.join(os.path.dirname(__file__), "test_*.py"))))

    def pytest_sessionfinish(session):
        alias.record(_finder)


from _dask_conftest import *  # noqa: E402,F403
"""
INI = "[pytest]\naddopts = -p no:cacheprovider\nxfail_strict = false\n"


def dask_dir() -> Path:
    spec = importlib.util.find_spec("dask")
    if spec is None or spec.origin is None:
        sys.exit("Dask is not installed: pip install -r benchmarks/requirements.txt")
    return Path(spec.origin).parent


def flat_name(path: str) -> str:
    """``array/tests/test_ufunc.py`` -> ``test_array_ufunc.py``."""
    parts = path.split("/")
    package = parts[:-2]
    name = parts[-1]
    return f"test_{'_'.join(package)}_{name[5:]}" if package else name


def prepare(out: Path, files: list[str]) -> Path:
    suite = out / "suite"
    if suite.exists():
        shutil.rmtree(suite)
    suite.mkdir(parents=True)
    source = dask_dir()
    for path in files:
        shutil.copy(source / path, suite / flat_name(path))
    shutil.copy(source / "conftest.py", suite / "_dask_conftest.py")
    (suite / "conftest.py").write_text(CONFTEST.format(here=str(HERE)))
    (suite / "pytest.ini").write_text(INI)
    return suite


def outcomes(xml_path: Path) -> dict[str, tuple[str, str]]:
    """``{test id: (outcome, first line of the message)}`` from a JUnit XML report."""
    result: dict[str, tuple[str, str]] = {}
    if not xml_path.exists():
        return result
    for case in ET.parse(xml_path).iter("testcase"):
        classes = case.get("classname", "").split(".")[1:]
        # a parameter that is a dask function or module shows as oxdask's under the alias
        name = case.get("name", "").replace("[oxdask.", "[").replace("-oxdask.", "-")
        test_id = "::".join([*classes, name])
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                message = (child.get("message") or child.text or "").strip().splitlines()
                message = message[0][:300] if message else child.tag
                break
            if child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
                message = (child.get("message") or "")[:300]
        if test_id in result and result[test_id][0] == "failed":
            continue  # a teardown error after a pass keeps the failure
        result[test_id] = (outcome, message)
    return result


def run_file(suite: Path, out: Path, path: str, target: str, args) -> dict:
    name = flat_name(path)
    xml_path = out / f"{name}.{target}.xml"
    placeholders = out / f"{name}.placeholders.txt"
    for p in (xml_path, placeholders):
        p.unlink(missing_ok=True)
    env = dict(os.environ, DASK_SUITE_TARGET=target, DASK_SUITE_PLACEHOLDERS=str(placeholders))
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-c", str(suite / "pytest.ini"),
        "--rootdir", str(suite), f"--timeout={args.timeout}", f"--junitxml={xml_path}",
        *args.pytest_args, name,
    ]  # fmt: skip
    start = time.monotonic()
    with open(out / f"{name}.{target}.log", "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=suite, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            proc.wait(timeout=args.file_timeout)
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            killed = True
    return {
        "file": path,
        "outcomes": outcomes(xml_path),
        "killed": killed,
        "seconds": time.monotonic() - start,
        "placeholders": placeholders.read_text().split() if placeholders.exists() else [],
        "command": f"cd {suite} && DASK_SUITE_TARGET={target} {' '.join(cmd)}",
    }


def report(results: list[dict], baseline: dict[str, list[str]], out: Path) -> bool:
    print(f"{'file':36} {'dask':>6} {'oxdask':>7} {'share':>7} {'fail':>6} {'s':>6}")
    total_dask = total_ox = 0
    all_met = True
    for r in results:
        got = r["outcomes"]
        if r["file"] in baseline:
            dask_ok = set(baseline[r["file"]])
        else:  # not measured on Dask yet: every test that was not skipped
            dask_ok = {t for t, (o, _) in got.items() if o != "skipped"}
        ok = {t for t in dask_ok if got.get(t, ("missing",))[0] in PASSING}
        failing = sorted(dask_ok - ok)
        share = len(ok) / len(dask_ok) if dask_ok else 0.0
        all_met &= share >= 0.9 and not r["killed"]
        total_dask += len(dask_ok)
        total_ox += len(ok)
        note = " (killed: file time limit)" if r["killed"] else ""
        print(
            f"{r['file']:36} {len(dask_ok):6} {len(ok):7} {share:7.1%} {len(failing):6} "
            f"{r['seconds']:6.0f}{note}"
        )
        lines = ["\t".join((t, *got.get(t, ("not run", "")))) for t in failing]
        (out / f"{flat_name(r['file'])}.failures.txt").write_text("\n".join(lines) + "\n")
        if r["placeholders"]:
            print(f"    placeholders used: {', '.join(r['placeholders'])}")
    if total_dask:
        print(f"{'total':36} {total_dask:6} {total_ox:7} {total_ox / total_dask:7.1%}")
    print(f"failures listed in {out}/<file>.failures.txt; rerun one file: see {out}/commands.txt")
    (out / "commands.txt").write_text("\n".join(r["command"] for r in results) + "\n")
    return all_met


def _group_key(message: str) -> str:
    """A failure's message with the specifics (numbers, quoted names) blurred, so that
    failures of one cause group together."""
    import re

    text = re.sub(r"(?<![\w.])/[\w./-]+", "…", message)  # file paths
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\b0x[0-9a-f]+\b|\b\d+(\.\d+)?\b", "N", text)
    return text[:160] or "(no message)"


def write_known(results: list[dict], baseline: dict, path: Path, reasons: dict) -> None:
    """The failing tests of each file, grouped by cause, with the reason recorded for a
    group in ``reasons`` (``{(file, group text): reason}``, kept from the previous file)."""
    lines = [
        "# Dask's tests that fail on oxdask",
        "",
        "Written by `python benchmarks/dask_suite/run.py --write-known`. Each group is one",
        "cause (the failure messages with numbers and quoted names blurred); the reason says",
        "whether it is a deliberate difference (see the README's Differences from Dask), a",
        "test of Dask internals, or not done yet.",
        "",
    ]
    sections = _old_sections(path)
    for r in results:
        got = r["outcomes"]
        section: list[str] = []
        failing = sorted(
            t for t in baseline.get(r["file"], []) if got.get(t, ("missing",))[0] not in PASSING
        )
        section += [f"## {r['file']} ({len(failing)} failing)", ""]
        groups: dict[str, list[str]] = {}
        for t in failing:
            groups.setdefault(_group_key(got.get(t, ("not run", "not run"))[1]), []).append(t)
        for key, tests in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            reason = reasons.get((r["file"], key), "not yet examined")
            shown = ", ".join(f"`{t}`" for t in tests[:4]) + (" ..." if len(tests) > 4 else "")
            section += [f"- {len(tests)} x `{key}`", f"  - reason: {reason}", f"  - e.g. {shown}"]
        sections[r["file"]] = [*section, ""]
    for name in sorted(sections, key=_file_order):
        section = sections[name]
        while section and not section[-1].strip():
            section = section[:-1]
        lines += [*section, ""]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def _file_order(name: str) -> int:
    return DEFAULT_FILES.index(name) if name in DEFAULT_FILES else len(DEFAULT_FILES)


def _old_sections(path: Path) -> dict[str, list[str]]:
    """The sections of files not run this time, kept as they were."""
    sections: dict[str, list[str]] = {}
    current = None
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("## "):
                current = line[3:].split(" (", 1)[0]
                sections[current] = []
            if current is not None:
                sections[current].append(line)
    return sections


def read_reasons(path: Path) -> dict:
    """``{(file, group): reason}`` recorded in the file."""
    reasons, key, file = {}, None, None
    if not path.exists():
        return reasons
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            file = line[3:].split(" (", 1)[0]
        elif line.startswith("- ") and " x `" in line:
            key = line.split(" x `", 1)[1].rstrip("`")
        elif line.strip().startswith("- reason: ") and key is not None:
            reasons[(file, key)] = line.split("- reason: ", 1)[1]
    return reasons


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=DEFAULT_FILES)
    parser.add_argument("--dask", action="store_true", help="measure Dask itself (baseline)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "dask_suite")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=60, help="seconds per test")
    parser.add_argument("--file-timeout", type=int, default=1800, help="seconds per file")
    parser.add_argument("--check", action="store_true", help="exit 1 below 90%% in any file")
    parser.add_argument(
        "--write-known",
        action="store_true",
        help=f"write the failing tests, grouped by cause, to {KNOWN.name} (reasons kept)",
    )
    parser.add_argument("--pytest-args", default="", help="more pytest options, e.g. '-k sum'")
    args = parser.parse_args()
    args.pytest_args = shlex.split(args.pytest_args)
    args.out.mkdir(parents=True, exist_ok=True)
    suite = prepare(args.out, args.files)
    target = "dask" if args.dask else "oxdask"
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda p: run_file(suite, args.out, p, target, args), args.files))
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    if args.dask:
        for r in results:
            baseline[r["file"]] = sorted(t for t, (o, _) in r["outcomes"].items() if o in PASSING)
            n = len(baseline[r["file"]])
            print(f"{r['file']:36} {n:6} pass on Dask of {len(r['outcomes'])}")
        BASELINE.write_text(json.dumps(baseline, indent=0, sort_keys=True) + "\n")
        return 0
    met = report(results, baseline, args.out)
    if args.write_known:
        write_known(results, baseline, KNOWN, read_reasons(KNOWN))
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
