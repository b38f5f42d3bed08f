"""The batch systems: each a ``Job`` (script header, submit/cancel/status commands) and its
cluster class with dask-jobqueue's name and keywords."""

from __future__ import annotations

import math
import os
import shlex

from oxdask.jobqueue.core import Job, JobQueueCluster

__all__ = [
    "HTCondorCluster",
    "LSFCluster",
    "PBSCluster",
    "SGECluster",
    "SLURMCluster",
]


def _ceil_units(n: int, units: tuple[tuple[str, int], ...], smallest: str) -> str:
    for suffix, size in units:
        if n >= size:
            return f"{math.ceil(n / size)}{suffix}"
    return f"1{smallest}"


class SLURMJob(Job):
    submit_command = "sbatch"
    cancel_command = "scancel"
    status_command = "squeue -h -o %T -j"
    config_name = "slurm"
    job_id_regexp = r"(?P<job_id>\d+)"

    @classmethod
    def extra_keys(cls):
        return ("queue", "account", "walltime", "job_cpu", "job_mem")

    def header(self) -> str:
        o = self.options
        lines = [f"-J {self.job_name}"]
        if self.log_directory:
            lines += [f"-e {self.log_directory}/{self.job_name}-%J.err"]
            lines += [f"-o {self.log_directory}/{self.job_name}-%J.out"]
        lines += [f"-p {o['queue']}"] if o["queue"] else []
        lines += [f"-A {o['account']}"] if o["account"] else []
        lines += ["-n 1", f"--cpus-per-task={o['job_cpu'] or self.worker_cores}"]
        mem = o["job_mem"] or _ceil_units(
            self.worker_memory, (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)), "K"
        )
        lines += [f"--mem={mem}"]
        lines += [f"-t {o['walltime']}"] if o["walltime"] else []
        return self.directives("#SBATCH", lines)

    def parse_alive(self, out: str) -> bool:
        state = out.strip().upper()
        return bool(state) and state not in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")

    def log_files(self) -> list[str]:
        if self.log_directory:
            return [
                f"{self.log_directory}/{self.job_name}-{self.job_id}.{e}" for e in ("err", "out")
            ]
        return [os.path.join(os.getcwd(), f"slurm-{self.job_id}.out")]


class PBSJob(Job):
    submit_command = "qsub"
    cancel_command = "qdel"
    status_command = "qstat"
    config_name = "pbs"
    job_id_regexp = r"(?P<job_id>\d+(\.\S+)?)"

    @classmethod
    def extra_keys(cls):
        return ("queue", "account", "walltime", "resource_spec")

    def header(self) -> str:
        o = self.options
        lines = [f"-N {self.job_name}"]
        lines += [f"-q {o['queue']}"] if o["queue"] else []
        lines += [f"-A {o['account']}"] if o["account"] else []
        spec = o["resource_spec"]
        if spec is None:
            mem = _ceil_units(self.worker_memory, (("GB", 10**9), ("MB", 10**6)), "KB")
            spec = f"select=1:ncpus={self.worker_cores}:mem={mem}"
        lines += [f"-l {spec}"]
        lines += [f"-l walltime={o['walltime']}"] if o["walltime"] else []
        if self.log_directory:
            lines += [f"-e {self.log_directory}/", f"-o {self.log_directory}/"]
        return self.directives("#PBS", lines)


class SGEJob(Job):
    submit_command = "qsub"
    cancel_command = "qdel"
    status_command = "qstat -j"
    config_name = "sge"
    job_id_regexp = r"(?P<job_id>\d+)"

    @classmethod
    def extra_keys(cls):
        return ("queue", "project", "walltime", "resource_spec")

    def header(self) -> str:
        o = self.options
        lines = [f"-N {self.job_name}"]
        lines += [f"-q {o['queue']}"] if o["queue"] else []
        lines += [f"-P {o['project']}"] if o["project"] else []
        lines += [f"-l {o['resource_spec']}"] if o["resource_spec"] else []
        lines += [f"-l h_rt={o['walltime']}"] if o["walltime"] else []
        if self.log_directory:
            lines += [f"-e {self.log_directory}/", f"-o {self.log_directory}/"]
        lines += ["-cwd", "-j y"]
        return self.directives("#$", lines)


class LSFJob(Job):
    submit_command = "bsub"
    cancel_command = "bkill"
    status_command = "bjobs -noheader -o stat"
    config_name = "lsf"
    job_id_regexp = r"Job <(?P<job_id>\d+)>"
    use_stdin = True

    @classmethod
    def extra_keys(cls):
        return ("queue", "project", "walltime", "ncpus", "mem", "lsf_units", "use_stdin")

    def header(self) -> str:
        o = self.options
        if o.get("use_stdin") is False:
            self.use_stdin = False
        lines = [f"-J {self.job_name}"]
        if self.log_directory:
            lines += [f"-e {self.log_directory}/{self.job_name}-%J.err"]
            lines += [f"-o {self.log_directory}/{self.job_name}-%J.out"]
        lines += [f"-q {o['queue']}"] if o["queue"] else []
        lines += [f"-P {o['project']}"] if o["project"] else []
        ncpus = o["ncpus"] or self.worker_cores
        lines += [f"-n {ncpus}", '-R "span[hosts=1]"']
        units = (o["lsf_units"] or "kb").lower()
        per = {"kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30}.get(units, 1 << 10)
        mem = o["mem"] or math.ceil(self.worker_memory / per)
        lines += [f"-M {mem}"]
        lines += [f"-W {o['walltime']}"] if o["walltime"] else []
        return self.directives("#BSUB", lines)

    def parse_alive(self, out: str) -> bool:
        state = out.strip().upper()
        return bool(state) and state not in ("DONE", "EXIT")


class HTCondorJob(Job):
    submit_command = "condor_submit"
    cancel_command = "condor_rm"
    status_command = "condor_q -af JobStatus"
    config_name = "htcondor"
    job_id_regexp = r"submitted to cluster (?P<job_id>\d+)"

    @classmethod
    def extra_keys(cls):
        return ("disk", "submit_command_extra", "cancel_command_extra")

    def header(self) -> str:
        o = self.options
        disk = o["disk"]
        lines = ["universe = vanilla", f"request_cpus = {self.worker_cores}"]
        lines += [f"request_memory = {math.ceil(self.worker_memory / (1 << 20))}MB"]
        if disk is not None:
            from oxdask.utils import parse_bytes

            size = parse_bytes(disk) if isinstance(disk, str) else int(disk)
            lines += [f"request_disk = {math.ceil(size / 1024)}KB"]
        if self.log_directory:
            base = f"{self.log_directory}/worker-$(ClusterId).$(ProcId)"
            lines += [f"output = {base}.out", f"error = {base}.err", f"log = {base}.log"]
        extra = o["job_extra_directives"] or {}
        items = extra.items() if isinstance(extra, dict) else (x.split("=", 1) for x in extra)
        lines += [f"{k.strip()} = {v.strip()}" for k, v in items]
        return "\n".join(lines)

    def job_script(self) -> str:
        prologue = "; ".join(filter(None, self.options["job_script_prologue"] or ()))
        body = (prologue + "; " if prologue else "") + "exec " + self.worker_command()
        quoted = '"' + ("-c " + shlex.quote(body)).replace('"', '""') + '"'
        return (
            "\n".join([self.job_header, "executable = /bin/sh", f"arguments = {quoted}", "queue"])
            + "\n"
        )

    def parse_alive(self, out: str) -> bool:
        # 1 idle, 2 running, 5 held, 7 suspended; 3 removed and 4 completed have ended
        return out.strip() in ("1", "2", "5", "6", "7")


class SLURMCluster(JobQueueCluster):
    """Workers in SLURM jobs (``sbatch``/``scancel``); keywords as dask-jobqueue's
    ``SLURMCluster``: ``cores``, ``memory``, ``processes``, ``queue``, ``account``,
    ``walltime``, ``job_cpu``, ``job_mem``, ``job_extra_directives``, ``job_script_prologue``,
    ``worker_extra_args``, ``interface``, ``local_directory``, ``log_directory``, ``python``,
    ``death_timeout``, ``scheduler_options``; defaults from ``jobqueue.slurm.*``."""

    job_cls = SLURMJob


class PBSCluster(JobQueueCluster):
    """Workers in PBS/Torque jobs (``qsub``/``qdel``); ``resource_spec``, ``queue``,
    ``account``, ``walltime`` and the common keywords; ``jobqueue.pbs.*``."""

    job_cls = PBSJob


class SGECluster(JobQueueCluster):
    """Workers in (Sun/Univa/Son of) Grid Engine jobs (``qsub``/``qdel``); ``queue``,
    ``project``, ``resource_spec``, ``walltime``; ``jobqueue.sge.*``."""

    job_cls = SGEJob


class LSFCluster(JobQueueCluster):
    """Workers in LSF jobs (``bsub < script``/``bkill``); ``queue``, ``project``, ``ncpus``,
    ``mem``, ``walltime``, ``lsf_units``, ``use_stdin``; ``jobqueue.lsf.*``."""

    job_cls = LSFJob


class HTCondorCluster(JobQueueCluster):
    """Workers in HTCondor jobs (``condor_submit``/``condor_rm``); ``disk``,
    ``job_extra_directives`` (submit-file attributes); ``jobqueue.htcondor.*``."""

    job_cls = HTCondorJob
