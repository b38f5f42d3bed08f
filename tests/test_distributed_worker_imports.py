"""A fresh worker with several threads unpickles its first tasks, which import oxdask.array,
in parallel: the imports must not trip over each other ("cannot import name 'arange' from
partially initialized module"), which happened on most fresh clusters."""

from __future__ import annotations

import numpy as np

import oxdask.array as da
from oxdask.distributed import Client, LocalCluster


def test_first_array_tasks_on_fresh_threaded_workers():
    for _ in range(3):  # each fresh cluster failed with probability about 2/3
        with (
            LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            x = client.persist(da.arange(20, chunks=5) * 3)
            np.testing.assert_array_equal(x.compute(), np.arange(20) * 3)
