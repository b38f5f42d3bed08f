"""A stand-in for a batch system's commands (qsub, qdel, qstat, bsub, bkill, bjobs,
condor_submit, condor_rm, condor_q), for contract tests of ``oxdask.jobqueue``.

Jobs whose script starts with a shell shebang really run, detached, on this machine (so
workers start); the others (HTCondor submit files) are only recorded. State lives in
``$FAKEBATCH_DIR``; ``$FAKEBATCH_FLAVOR`` tells PBS's qsub from SGE's.
"""

import contextlib
import os
import signal
import subprocess
import sys

STATE = os.environ["FAKEBATCH_DIR"]
SUBMIT = {"qsub", "bsub", "condor_submit"}
CANCEL = {"qdel", "bkill", "condor_rm"}


def _read(name: str) -> str:
    with open(os.path.join(STATE, name)) as f:
        return f.read()


def _next_id() -> int:
    path = os.path.join(STATE, "counter")
    n = int(_read("counter")) + 1 if os.path.exists(path) else 100
    with open(path, "w") as f:
        f.write(str(n))
    return n


def _alive(job: str) -> bool:
    try:
        pid = int(_read(f"{job}.pid"))
        os.killpg(pid, 0)
        return True
    except (OSError, ValueError):
        return False


def main() -> int:
    cmd, argv = sys.argv[1], sys.argv[2:]  # the wrappers on PATH pass their name first
    args = [a for a in argv if not a.startswith("-")]
    with open(os.path.join(STATE, "calls.log"), "a") as log:
        log.write(" ".join([cmd, *argv]) + "\n")
    if cmd in SUBMIT:
        if cmd == "bsub" and not args:
            script = sys.stdin.read()
        else:
            with open(args[0]) as f:
                script = f.read()
        if "REJECT-ME" in script:
            print(f"{cmd}: job rejected: unknown queue REJECT-ME", file=sys.stderr)
            return 1
        job = str(_next_id())
        path = os.path.join(STATE, f"{job}.sh")
        with open(path, "w") as f:
            f.write(script)
        if script.startswith("#!/usr/bin/env bash"):
            with open(os.path.join(STATE, f"{job}.log"), "w") as out:
                proc = subprocess.Popen(
                    ["bash", path], stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            with open(os.path.join(STATE, f"{job}.pid"), "w") as f:
                f.write(str(proc.pid))
        flavor = os.environ.get("FAKEBATCH_FLAVOR", "pbs")
        if cmd == "bsub":
            print(f"Job <{job}> is submitted to default queue <normal>.")
        elif cmd == "condor_submit":
            print(f"Submitting job(s).\n1 job(s) submitted to cluster {job}.")
        elif flavor == "sge":
            print(f'Your job {job} ("dask-worker") has been submitted')
        else:
            print(f"{job}.fakeserver")
        return 0
    if cmd in CANCEL:
        for job in args:
            job = job.split(".")[0]
            with open(os.path.join(STATE, f"{job}.cancelled"), "w"):
                pass
            with contextlib.suppress(OSError, ValueError):
                os.killpg(int(_read(f"{job}.pid")), signal.SIGTERM)
        return 0
    job = args[-1].split(".")[0] if args else ""
    alive = _alive(job)
    if cmd == "bjobs":
        print("RUN" if alive else "DONE")
        return 0
    if cmd == "condor_q":
        print("2" if alive else "")
        return 0
    if cmd == "qstat":
        if alive:
            print(f"{job} dask-worker R")
            return 0
        print(f"qstat: Unknown Job Id {job}", file=sys.stderr)
        return 1
    print(f"fakebatch: unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
