"""Notebook representations: an Array's table with its chunk diagram, xarray's inline text,
and the HTML cards of a LocalCluster and its Client."""

from html.parser import HTMLParser

import pytest

import oxdask.array as da
from oxdask.distributed import Client, LocalCluster


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data.strip())


def _parse(markup: str) -> _Tags:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser


def test_array_html_has_table_and_svg():
    x = da.ones((100, 50), chunks=(30, 20), dtype="f4")
    tags = _parse(x._repr_html_())
    assert "table" in tags.tags
    assert "svg" in tags.tags
    assert tags.tags.count("line") >= 4 + 1 + 3 + 1  # a line per chunk boundary
    text = " ".join(tags.text)
    assert "(100, 50)" in text
    assert "(30, 20)" in text
    assert "float32" in text


def test_array_html_with_unknown_chunks_is_the_table_alone():
    x = da.ones(10, chunks=5)
    tags = _parse(x[x > 0]._repr_html_())
    assert "table" in tags.tags
    assert "svg" not in tags.tags


def test_inline_repr_for_xarray():
    x = da.ones((100, 50), chunks=(30, 20))
    assert x._repr_inline_(80) == "dask.array<chunksize=(30, 20), meta=np.ndarray>"
    assert len(x._repr_inline_(20)) == 20


def test_cluster_and_client_cards():
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GiB") as cluster:
        with Client(cluster, set_as_default=False) as client:
            for obj in (cluster, client):
                tags = _parse(obj._repr_html_())
                text = " ".join(tags.text)
                assert cluster.scheduler_address in text
                words = " ".join(t for t in tags.text if t)
                assert "Workers 2" in words
                assert "Total threads 2" in words
                assert "2.00 GiB" in text
                assert "a" in tags.tags  # the dashboard link
            assert client.dashboard_link == cluster.dashboard_link
        assert "closed" in " ".join(_parse(client._repr_html_()).text)


@pytest.mark.parametrize("size", [120, 500])
def test_svg_sizes(size):
    svg = da.ones((10, 1000), chunks=(5, 100)).to_svg(size=size)
    width = float(svg.split('width="', 1)[1].split('"', 1)[0])
    assert width <= size + 100
