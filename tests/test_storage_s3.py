"""Readers and writers on object storage: ``s3://`` against a local S3 server (moto's, on
127.0.0.1) through s3fs with ``storage_options=``, and fsspec's ``memory://``; on the local
schedulers and on a LocalCluster whose workers open the files themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import oxdask
import oxdask.array as da
import oxdask.dataframe as dd

s3fs = pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def s3():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": f"http://{host}:{port}", "region_name": "us-east-1"},
    }
    boto3 = pytest.importorskip("boto3")
    boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket="bucket")
    yield options
    server.stop()


@pytest.fixture
def pdf():
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "k": rng.integers(0, 5, 200),
            "x": rng.normal(size=200),
            "s": [f"r{i}" for i in range(200)],
        }
    )


def test_parquet_round_trip_on_s3(s3, pdf):
    ddf = dd.from_pandas(pdf, npartitions=4)
    dd.to_parquet(ddf, "s3://bucket/pq", storage_options=s3)
    back = dd.read_parquet("s3://bucket/pq", storage_options=s3)
    assert back.npartitions == 4
    pd.testing.assert_frame_equal(back.compute().reset_index(drop=True), pdf)
    # a column projection and a filter read only what they need
    got = dd.read_parquet("s3://bucket/pq", columns=["x"], storage_options=s3).x.sum().compute()
    assert got == pytest.approx(pdf.x.sum())


def test_csv_and_json_on_s3(s3, pdf):
    ddf = dd.from_pandas(pdf, npartitions=3)
    ddf.to_csv("s3://bucket/csv/part-*.csv", index=False, storage_options=s3)
    back = dd.read_csv("s3://bucket/csv/part-*.csv", storage_options=s3)
    pd.testing.assert_frame_equal(back.compute().reset_index(drop=True), pdf)
    dd.to_json(ddf, "s3://bucket/json", storage_options=s3)
    again = dd.read_json("s3://bucket/json/*.part", storage_options=s3)
    pd.testing.assert_frame_equal(
        again.compute().reset_index(drop=True)[["k", "x"]], pdf[["k", "x"]]
    )


def test_zarr_on_s3(s3):
    pytest.importorskip("zarr")
    x = np.arange(120.0).reshape(10, 12)
    da.to_zarr(da.from_array(x, chunks=(5, 4)), "s3://bucket/z", storage_options=s3)
    back = da.from_zarr("s3://bucket/z", storage_options=s3)
    np.testing.assert_array_equal(back.compute(), x)


def test_text_and_npy_on_s3(s3):
    import oxdask.bag as db

    lines = [f"line {i}" for i in range(25)]
    db.from_sequence(lines, npartitions=3).to_textfiles(
        "s3://bucket/text/*.txt", storage_options=s3
    )
    fs = s3fs.S3FileSystem(**s3)
    assert sorted(fs.ls("bucket/text")) == [f"bucket/text/{i}.txt" for i in range(3)]
    back = db.read_text("s3://bucket/text/*.txt", storage_options=s3).map(str.strip)
    assert back.npartitions == 3
    assert back.compute() == lines

    x = np.arange(60.0).reshape(12, 5)
    da.to_npy_stack("s3://bucket/stack", da.from_array(x, chunks=(5, 5)), storage_options=s3)
    assert sorted(fs.ls("bucket/stack")) == [
        f"bucket/stack/{n}" for n in ("0.npy", "1.npy", "2.npy", "info")
    ]
    stack = da.from_npy_stack("s3://bucket/stack", storage_options=s3)
    assert stack.chunks == ((5, 5, 2), (5,))
    np.testing.assert_array_equal(stack.compute(), x)


def test_workers_open_s3_files_on_a_cluster(s3, pdf):
    from oxdask.distributed import Client, LocalCluster

    dd.from_pandas(pdf, npartitions=2).to_parquet("s3://bucket/cluster", storage_options=s3)
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
        ddf = dd.read_parquet("s3://bucket/cluster", storage_options=s3)
        total = ddf.groupby("k").x.sum().compute()
    pd.testing.assert_series_equal(total.sort_index(), pdf.groupby("k").x.sum(), rtol=1e-12)


def test_memory_filesystem(pdf):
    ddf = dd.from_pandas(pdf, npartitions=3)
    ddf.to_parquet("memory://oxdask-test/pq")
    back = dd.read_parquet("memory://oxdask-test/pq")
    (got,) = oxdask.compute(back, scheduler="threads")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), pdf)


def test_memory_filesystem_text_npy_and_zarr():
    import fsspec

    import oxdask.bag as db

    # memory:// lives in this process: the bag's default scheduler (processes) would write and
    # read in its workers' memory
    lines = ["a", "b", "c", "d", "e"]
    bag = db.from_sequence(lines, npartitions=2)
    bag.to_textfiles("memory://oxdask-test/text/*.txt", scheduler="threads")
    back = db.read_text("memory://oxdask-test/text/*.txt").map(str.strip)
    assert back.compute(scheduler="threads") == lines

    x = np.arange(24).reshape(4, 6)
    da.to_npy_stack("memory://oxdask-test/stack", da.from_array(x, chunks=(2, 6)), axis=0)
    assert fsspec.filesystem("memory").exists("/oxdask-test/stack/1.npy")
    stack = da.from_npy_stack("memory://oxdask-test/stack")
    assert stack.chunks == ((2, 2), (6,))
    np.testing.assert_array_equal(stack.compute(scheduler="threads"), x)

    pytest.importorskip("zarr")
    da.to_zarr(da.from_array(x, chunks=(2, 3)), "memory://oxdask-test/z")
    np.testing.assert_array_equal(da.from_zarr("memory://oxdask-test/z").compute(), x)


def test_unreachable_endpoint_is_a_clear_error(pdf):
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9", "region_name": "us-east-1"},
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    }
    # botocore's EndpointConnectionError names the endpoint; nothing hangs
    botocore = pytest.importorskip("botocore.exceptions")
    with pytest.raises(botocore.EndpointConnectionError, match=r"127\.0\.0\.1:9"):
        dd.read_csv("s3://bucket/nothing/*.csv", storage_options=options)
