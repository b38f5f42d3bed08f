"""Workers from batch systems, with dask-jobqueue's names and keywords:
``SLURMCluster``, ``PBSCluster``, ``SGECluster``, ``LSFCluster``, ``HTCondorCluster``.

The scheduler runs in this process; each job runs ``processes`` workers that connect back to
it. Defaults come from the ``jobqueue.<system>.*`` configuration (registered below, as
dask-jobqueue's ``jobqueue.yaml`` does), e.g. ``jobqueue.slurm.walltime``.
"""

from oxdask import config
from oxdask.jobqueue.core import Job, JobQueueCluster
from oxdask.jobqueue.systems import (
    HTCondorCluster,
    LSFCluster,
    PBSCluster,
    SGECluster,
    SLURMCluster,
)

__all__ = [
    "HTCondorCluster",
    "Job",
    "JobQueueCluster",
    "LSFCluster",
    "PBSCluster",
    "SGECluster",
    "SLURMCluster",
]

_COMMON = {
    "name": "dask-worker",
    "cores": None,
    "memory": None,
    "processes": None,
    "python": None,
    "interface": None,
    "death-timeout": 60,
    "local-directory": None,
    "shared-temp-directory": None,
    "worker-command": "oxdask.distributed.worker",
    "worker-extra-args": [],
    "shebang": "#!/usr/bin/env bash",
    "job-script-prologue": [],
    "job-extra-directives": [],
    "job-directives-skip": [],
    "log-directory": None,
    "scheduler-options": {},
}
_SYSTEMS = {
    "slurm": {
        "queue": None, "account": None, "walltime": "00:30:00", "job-cpu": None, "job-mem": None,
    },
    "pbs": {"queue": None, "account": None, "walltime": "00:30:00", "resource-spec": None},
    "sge": {"queue": None, "project": None, "walltime": "00:30:00", "resource-spec": None},
    "lsf": {
        "queue": None, "project": None, "walltime": "00:30", "ncpus": None, "mem": None,
        "lsf-units": None, "use-stdin": True,
    },
    "htcondor": {
        "disk": None, "job-extra-directives": {}, "submit-command-extra": [],
        "cancel-command-extra": [], "shebang": "#!/usr/bin/env condor_submit",
    },
}  # fmt: skip

config.update_defaults({"jobqueue": {k: {**_COMMON, **v} for k, v in _SYSTEMS.items()}})
