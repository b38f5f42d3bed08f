"""Random example data (``dask.dataframe.demo``): :func:`make_timeseries`, the generator
behind :func:`oxdask.datasets.timeseries` with Dask's argument order and defaults."""

from __future__ import annotations

__all__ = ["make_timeseries"]


def make_timeseries(
    start="2000-01-01",
    end="2000-12-31",
    dtypes=None,
    freq="10s",
    partition_freq="1ME",
    seed=None,
    **kwargs,
):
    """A DataFrame of random data on a regular time index (see
    :func:`oxdask.datasets.timeseries`, whose default columns it shares)."""
    from oxdask.datasets import timeseries

    return timeseries(
        start=start,
        end=end,
        freq=freq,
        partition_freq=partition_freq,
        dtypes=dtypes,
        seed=seed,
        **kwargs,
    )
