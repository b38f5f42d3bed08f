"""A client of a fresh LocalCluster, for the tests' module fixtures."""

from __future__ import annotations

import contextlib

from oxdask.distributed import Client, LocalCluster


@contextlib.contextmanager
def local_client(**cluster_options):
    """``Client`` (not the default one) of a ``LocalCluster(**cluster_options)`` without a
    dashboard unless asked; both closed on exit."""
    cluster_options.setdefault("dashboard_address", None)
    with (
        LocalCluster(**cluster_options) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client
