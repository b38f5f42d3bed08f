"""Contract tests of the PBS, SGE, LSF and HTCondor clusters: golden job scripts, and the
commands run against fake ``qsub``/``qdel``/``qstat``, ``bsub``/``bkill``/``bjobs`` and
``condor_submit``/``condor_rm``/``condor_q`` on ``PATH`` (tests/_fakebatch.py: shell jobs
really run here, so workers start). No real PBS, SGE, LSF or HTCondor is involved."""

from __future__ import annotations

import os
import sys
import time

import pytest

import oxdask
from oxdask.distributed import Client
from oxdask.jobqueue import HTCondorCluster, LSFCluster, PBSCluster, SGECluster, SLURMCluster
from oxdask.jobqueue.systems import HTCondorJob, LSFJob, PBSJob, SGEJob, SLURMJob

FAKE = os.path.join(os.path.dirname(__file__), "_fakebatch.py")
COMMANDS = ("qsub", "qdel", "qstat", "bsub", "bkill", "bjobs", "condor_submit", "condor_rm")
COMMANDS += ("condor_q",)
ADDR = "tcp://10.0.0.1:8786"
WORKER = (
    "/opt/py/bin/python -m oxdask.distributed.worker tcp://10.0.0.1:8786 --name dummy-name "
    "--nthreads 2 --memory-limit 3.73GiB --nworkers 2 --nanny --death-timeout 60"
)
COMMON = {"cores": 4, "memory": "8GB", "processes": 2, "python": "/opt/py/bin/python"}


@pytest.fixture
def fakebatch(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for cmd in COMMANDS:
        path = bin_dir / cmd
        path.write_text(f'#!/bin/sh\nexec {sys.executable} {FAKE} {cmd} "$@"\n')
        path.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKEBATCH_DIR", str(state))
    return state


def _calls(state) -> list[str]:
    path = state / "calls.log"
    return path.read_text().splitlines() if path.exists() else []


# -- golden job scripts ------------------------------------------------------------------------
def test_slurm_script():
    job = SLURMJob(ADDR, "dummy-name", queue="q1", account="acct", walltime="01:00:00", **COMMON)
    assert job.job_script() == (
        "#!/usr/bin/env bash\n#SBATCH -J dask-worker\n#SBATCH -p q1\n#SBATCH -A acct\n"
        "#SBATCH -n 1\n#SBATCH --cpus-per-task=4\n#SBATCH --mem=8G\n#SBATCH -t 01:00:00\n"
        f"{WORKER}\n"
    )


def test_pbs_script():
    job = PBSJob(
        ADDR, "dummy-name", queue="regular", account="proj", walltime="02:00:00",
        job_extra_directives=["-V"], job_script_prologue=["module load python"], **COMMON,
    )  # fmt: skip
    assert job.job_script() == (
        "#!/usr/bin/env bash\n#PBS -N dask-worker\n#PBS -q regular\n#PBS -A proj\n"
        "#PBS -l select=1:ncpus=4:mem=8GB\n#PBS -l walltime=02:00:00\n#PBS -V\n"
        f"module load python\n{WORKER}\n"
    )


def test_sge_script():
    job = SGEJob(ADDR, "dummy-name", queue="all.q", resource_spec="h_vmem=8G", **COMMON)
    assert job.job_script() == (
        "#!/usr/bin/env bash\n#$ -N dask-worker\n#$ -q all.q\n#$ -l h_vmem=8G\n"
        f"#$ -l h_rt=00:30:00\n#$ -cwd\n#$ -j y\n{WORKER}\n"
    )


def test_lsf_script():
    job = LSFJob(
        ADDR, "dummy-name", queue="normal", project="p", walltime="00:10", lsf_units="mb",
        job_directives_skip=["span"], **COMMON,
    )  # fmt: skip
    assert job.job_script() == (
        "#!/usr/bin/env bash\n#BSUB -J dask-worker\n#BSUB -q normal\n#BSUB -P p\n"
        f"#BSUB -n 4\n#BSUB -M 7630\n#BSUB -W 00:10\n{WORKER}\n"
    )
    assert job.use_stdin


def test_htcondor_submit_file():
    job = HTCondorJob(
        ADDR, "dummy-name", disk="1GB", job_extra_directives={"+Group": '"ml"'},
        job_script_prologue=["source env.sh"], **COMMON,
    )  # fmt: skip
    assert job.job_script() == (
        "universe = vanilla\nrequest_cpus = 4\nrequest_memory = 7630MB\n"
        'request_disk = 976563KB\n+Group = "ml"\nexecutable = /bin/sh\n'
        f"arguments = \"-c 'source env.sh; exec {WORKER}'\"\nqueue\n"
    )


def test_worker_options_reach_the_command():
    job = SLURMJob(
        ADDR, "dummy-name", cores=2, memory="2GB", processes=1, interface="ib0",
        local_directory="/scratch", death_timeout=30, worker_extra_args=["--lifetime", "1h"],
        nanny=False, python="py",
    )  # fmt: skip
    cmd = job.worker_command()
    assert cmd == (
        "py -m oxdask.distributed.worker tcp://10.0.0.1:8786 --name dummy-name --nthreads 2 "
        "--memory-limit 1.86GiB --no-nanny --death-timeout 30 --local-directory /scratch "
        "--interface ib0 --lifetime 1h"
    )


def test_configuration_gives_defaults():
    settings = {"jobqueue.pbs.queue": "fromconfig", "jobqueue.pbs.cores": 2}
    settings.update({"jobqueue.pbs.memory": "4GB", "jobqueue.pbs.walltime": "05:00:00"})
    with oxdask.config.set(settings):
        job = PBSJob(ADDR, "dummy-name")
        assert "#PBS -q fromconfig" in job.job_script()
        assert "#PBS -l walltime=05:00:00" in job.job_script()
        assert job.worker_cores == 2
    assert oxdask.config.get("jobqueue.slurm.walltime") == "00:30:00"
    assert oxdask.config.get("jobqueue.lsf.use-stdin") is True


def test_bad_keywords(tmp_path):
    with pytest.raises(ValueError, match="cores and memory"):
        SLURMCluster(memory="1GB", shared_temp_directory=str(tmp_path))
    with pytest.raises(ValueError, match=r"unexpected keyword.*bogus"):
        SLURMCluster(cores=1, memory="1GB", bogus=3, shared_temp_directory=str(tmp_path))
    with pytest.raises(ValueError, match="scheduler_options"):
        PBSCluster(cores=1, memory="1GB", dashboard_address=":1234")
    with pytest.raises(ValueError, match="processes"):
        SGEJob(ADDR, "x", cores=1, memory="1GB", processes=2)


# -- the commands, against fakes ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "flavor"), [(PBSCluster, "pbs"), (SGECluster, "sge"), (LSFCluster, "lsf")]
)
def test_jobs_run_compute_and_are_cancelled(cls, flavor, fakebatch, monkeypatch, tmp_path):
    monkeypatch.setenv("FAKEBATCH_FLAVOR", flavor)
    with cls(cores=1, memory="1GB", processes=1, shared_temp_directory=str(tmp_path)) as cluster:
        cluster.scale(2)
        cluster.wait_for_workers(2, timeout=60)
        ids = [job.job_id for job in cluster.jobs.values()]
        with Client(cluster, set_as_default=False) as client:
            futures = client.map(lambda x: x + 1, range(10))
            assert client.gather(futures) == list(range(1, 11))
    calls = _calls(fakebatch)
    submit, cancel = {"pbs": ("qsub", "qdel"), "sge": ("qsub", "qdel")}.get(
        flavor, ("bsub", "bkill")
    )
    assert sum(c.startswith(submit) for c in calls) == 2
    cancelled = [c.split()[-1] for c in calls if c.startswith(cancel)]
    assert sorted(cancelled) == sorted(ids)
    if cls is LSFCluster:  # bsub < script
        assert all(c == "bsub" for c in calls if c.startswith("bsub"))
    deadline = time.monotonic() + 15
    while any((fakebatch / f"{i.split('.')[0]}.pid").exists() for i in ids):
        pids = [int((fakebatch / f"{i.split('.')[0]}.pid").read_text()) for i in ids]
        alive = []
        for pid in pids:
            try:
                os.killpg(pid, 0)
                alive.append(pid)
            except OSError:
                pass
        if not alive:
            break
        assert time.monotonic() < deadline, f"job processes {alive} still running"
        time.sleep(0.1)


def test_htcondor_submit_and_remove(fakebatch, tmp_path):
    cluster = HTCondorCluster(
        cores=1, memory="1GB", disk="1GB", shared_temp_directory=str(tmp_path)
    )
    try:
        cluster.scale(jobs=1)
        (job,) = cluster.jobs.values()
        assert (fakebatch / f"{job.job_id}.sh").read_text().startswith("universe = vanilla")
    finally:
        cluster.close()
    assert _calls(fakebatch)[-1] == f"condor_rm {job.job_id}"


def test_rejected_submission_is_a_clear_error(fakebatch, tmp_path):
    shared = str(tmp_path)
    with (
        PBSCluster(cores=1, memory="1GB", queue="REJECT-ME", shared_temp_directory=shared) as c,
        pytest.raises(RuntimeError, match=r"(?s)qsub.*job script: .*unknown queue REJECT-ME"),
    ):
        c.scale(1)


def test_adapt_bounds_in_jobs_count_their_processes(fakebatch, tmp_path):
    with PBSCluster(cores=2, memory="2GB", processes=2, shared_temp_directory=str(tmp_path)) as c:
        adaptive = c.adapt(minimum_jobs=1, maximum_jobs=3, interval="10s")
        assert (adaptive.minimum, adaptive.maximum) == (2, 6)
        adaptive = c.adapt(minimum=1, maximum_jobs=2, interval="10s")
        assert (adaptive.minimum, adaptive.maximum) == (1, 4)
        adaptive.stop()
