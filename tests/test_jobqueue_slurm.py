"""``oxdask.jobqueue.SLURMCluster`` on a real one-node SLURM cluster (started by the fixture:
munged, slurmctld and slurmd on this machine, no accounting, oversubscribed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from _daemons import Slurm
from oxdask.distributed import Client
from oxdask.jobqueue import SLURMCluster


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    cluster = Slurm(tmp_path_factory.mktemp("slurm"))
    yield cluster
    cluster.close()


def _cluster(tmp_path, **kwargs) -> SLURMCluster:
    options = {"cores": 1, "memory": "1GB", "processes": 1, "walltime": "00:10:00"}
    options.update(kwargs)
    return SLURMCluster(
        log_directory=str(tmp_path / "logs"),
        shared_temp_directory=str(tmp_path / "shared"),
        **options,
    )


def _wait_gone(slurm, job_ids, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while set(job_ids) & set(slurm.jobs()):
        assert time.monotonic() < deadline, f"jobs {job_ids} still listed: {slurm.jobs()}"
        time.sleep(0.2)


def test_scale_compute_and_close(slurm, tmp_path):
    with _cluster(tmp_path, processes=2, cores=2) as cluster:
        assert "#SBATCH --cpus-per-task=2" in cluster.job_script()
        cluster.scale(jobs=2)
        ids = [job.job_id for job in cluster.jobs.values()]
        assert len(ids) == 2
        assert set(ids) <= set(slurm.jobs())
        cluster.wait_for_workers(4, timeout=60)
        names = sorted(cluster.worker_names().values())
        assert names == [
            "SLURMCluster-0-0",
            "SLURMCluster-0-1",
            "SLURMCluster-1-0",
            "SLURMCluster-1-1",
        ]
        with Client(cluster, set_as_default=False) as client:
            assert client.run_on_scheduler(os.getpid) == os.getpid()  # in this process
            futures = client.map(lambda x: x * x, range(50))
            assert client.submit(sum, futures).result(timeout=30) == sum(i * i for i in range(50))
        cluster.scale(2)  # one job (of two processes) leaves: its workers retire first
        assert list(cluster.jobs) == ["SLURMCluster-0"]
        _wait_gone(slurm, ids[1:])
    _wait_gone(slurm, ids[:1])  # close() cancelled the rest


def test_cancelled_job_mid_run_results_are_recomputed(slurm, tmp_path):
    with _cluster(tmp_path) as cluster:
        cluster.scale(jobs=2)
        cluster.wait_for_workers(2, timeout=60)
        with Client(cluster, set_as_default=False) as client:

            def slow_square(x):
                import time

                time.sleep(0.15)
                return x * x

            futures = client.map(slow_square, range(24))
            total = client.submit(sum, futures)
            time.sleep(1.0)
            victim = cluster.jobs["SLURMCluster-0"].job_id
            subprocess.run(["scancel", victim], check=True)
            assert total.result(timeout=60) == sum(i * i for i in range(24))
            assert client.gather(futures) == [i * i for i in range(24)]
            _wait_gone(slurm, [victim])
            cluster.scale(jobs=2)  # the ended job is replaced
            assert "SLURMCluster-0" not in cluster.jobs
            cluster.wait_for_workers(2, timeout=60)
            assert client.submit(slow_square, 7).result(timeout=30) == 49


def test_rejected_sbatch_names_the_script_and_the_error(slurm, tmp_path):
    with _cluster(tmp_path, queue="nosuchpartition") as cluster:
        with pytest.raises(RuntimeError, match=r"(?s)sbatch.*job script: .*Invalid partition") as e:
            cluster.scale(1)
        script = str(e.value).split("job script: ", 1)[1].split()[0]
        assert os.path.exists(script)
        with open(script) as f:
            assert "#SBATCH -p nosuchpartition" in f.read()
        os.unlink(script)


def test_job_dying_before_registering_names_the_job_and_its_log(slurm, tmp_path):
    with _cluster(tmp_path, python="/nonexistent/python3") as cluster:
        cluster.scale(1)
        job_id = cluster.jobs["SLURMCluster-0"].job_id
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match=rf"job {job_id} .*ended before its workers") as e:
            cluster.wait_for_workers(1, timeout=60)
        assert time.monotonic() - t0 < 30
        log = str(tmp_path / "logs" / f"dask-worker-{job_id}.err")
        assert log in str(e.value)
        with open(log) as f:
            assert "/nonexistent/python3" in f.read()


def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.25)
    return value


@pytest.mark.timeout(180)
def test_a_job_near_its_walltime_hands_its_results_to_its_replacement(slurm, tmp_path):
    # A one-minute walltime: the worker learns its end from SLURM and announces it; adaptive
    # scaling starts the next job ahead of time; the worker retires before SLURM ends its
    # job, moving its result to the newcomer, and the cluster never runs out of workers.
    with _cluster(tmp_path, walltime="00:01:00") as cluster:
        cluster.adapt(minimum_jobs=1, maximum_jobs=2, interval="500ms")
        with Client(cluster, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
            first = next(iter(client.scheduler_info()["workers"]))
            first_job = cluster.jobs["SLURMCluster-0"].job_id
            held = client.submit(lambda: list(range(100)), workers=[first], pure=False)
            assert held.result(timeout=30) == list(range(100))

            def ends_in():
                for w in cluster.workers_info():
                    if w["address"] == first:
                        return w["ends_in_s"]
                return None

            assert 0 < _until(ends_in, 30, "announced end") <= 60
            # the replacement joins while the first worker still runs
            _until(lambda: len(client.scheduler_info()["workers"]) >= 2, 60, "replacement")
            seen_empty = False
            deadline = time.monotonic() + 90
            while first in client.scheduler_info()["workers"]:
                seen_empty |= not client.scheduler_info()["workers"]
                assert time.monotonic() < deadline, "the first worker did not retire"
                time.sleep(0.25)
            assert not seen_empty
            holders = dict(client.who_has([held]))[held.key]
            assert holders
            assert first not in holders
            assert held.result(timeout=30) == list(range(100))
            assert client.submit(sum, held).result(timeout=30) == sum(range(100))
    log = (tmp_path / "logs" / f"dask-worker-{first_job}.err").read_text()
    assert "walltime ends soon, retiring" in log


RUNNER_SCRIPT = """
import sys
from oxdask.distributed import Client
from oxdask.jobqueue.runner import SLURMRunner

with SLURMRunner(scheduler_file=sys.argv[1]) as runner:
    with Client(runner) as client:
        client.wait_for_workers(2, timeout=60)
        total = client.submit(sum, client.map(lambda x: x * 2, range(10))).result()
        with open(sys.argv[2], "w") as f:
            f.write(str(total))
"""


def _sbatch(tmp_path, ntasks: int, command: str) -> str:
    out = subprocess.run(
        ["sbatch", "--parsable", "-n", str(ntasks), "-O", "-t", "00:05:00",
         "-o", str(tmp_path / "runner-%j.out"), "--wrap", command],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip().split(";")[0]


def test_runner_with_the_client_inside_the_allocation(slurm, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(RUNNER_SCRIPT)
    sched_file, result = tmp_path / "scheduler-{job_id}.json", tmp_path / "result"
    job = _sbatch(tmp_path, 4, f"srun {sys.executable} {script} '{sched_file}' {result}")
    _wait_gone(slurm, [job], timeout=60)
    log = (tmp_path / f"runner-{job}.out").read_text()
    assert result.exists(), log
    assert result.read_text() == str(sum(x * 2 for x in range(10)))
    assert not (tmp_path / f"scheduler-{job}.json").exists()  # the client's exit stopped all


def test_runner_command_line_and_a_client_outside(slurm, tmp_path):
    from oxdask.jobqueue.runner import connect, shutdown

    sched_file = tmp_path / "sched.json"
    cmd = f"srun {sys.executable} -m oxdask.jobqueue.runner --scheduler-file {sched_file}"
    job = _sbatch(tmp_path, 3, cmd)
    try:
        with connect(str(sched_file), timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            assert client.submit(sum, [1, 2, 3]).result(timeout=30) == 6
    finally:
        shutdown(sched_file)
    _wait_gone(slurm, [job], timeout=30)
    assert "Scheduler at:" in (tmp_path / f"runner-{job}.out").read_text()
