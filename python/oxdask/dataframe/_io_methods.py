"""Writers of DataFrame and Series: each a method calling its module's function."""

from __future__ import annotations


class IOMethods:
    def to_csv(self, filename, **kwargs):
        """Write CSV files (see :func:`oxdask.dataframe.io.csv.to_csv`)."""
        from oxdask.dataframe.io.csv import to_csv

        return to_csv(self, filename, **kwargs)

    def to_parquet(self, path, **kwargs):
        """Write a Parquet dataset (see :func:`oxdask.dataframe.io.parquet.to_parquet`)."""
        from oxdask.dataframe.io.parquet import to_parquet

        return to_parquet(self, path, **kwargs)

    def to_json(self, url_path, **kwargs):
        """Write JSON files (see :func:`oxdask.dataframe.io.json.to_json`)."""
        from oxdask.dataframe.io.json import to_json

        return to_json(self, url_path, **kwargs)

    def to_bag(self, index=False, format="tuple"):
        """A :class:`~oxdask.bag.Bag` of the rows (see :func:`oxdask.bag.to_bag`)."""
        from oxdask.bag._frames import to_bag

        return to_bag(self, index, format)

    def to_sql(self, name, uri, **kwargs):
        """Write into a SQL table (see :func:`oxdask.dataframe.io.sql.to_sql`)."""
        from oxdask.dataframe.io.sql import to_sql

        return to_sql(self, name, uri, **kwargs)

    def to_hdf(self, path_or_buf, key, mode="a", append=False, **kwargs):
        """Write HDF5 (see :func:`oxdask.dataframe.io.hdf.to_hdf`)."""
        from oxdask.dataframe.io.hdf import to_hdf

        return to_hdf(self, path_or_buf, key, mode, append, **kwargs)

    def to_orc(self, path, **kwargs):
        """Write ORC files (see :func:`oxdask.dataframe.io.orc.to_orc`)."""
        from oxdask.dataframe.io.orc import to_orc

        return to_orc(self, path, **kwargs)
