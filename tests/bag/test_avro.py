"""read_avro / to_avro round trips against fastavro."""

from __future__ import annotations

import pytest

fastavro = pytest.importorskip("fastavro")

import oxdask.bag as db  # noqa: E402

SCHEMA = {
    "name": "rec",
    "type": "record",
    "fields": [{"name": "name", "type": "string"}, {"name": "n", "type": "int"}],
}
RECORDS = [{"name": f"r{i}", "n": i} for i in range(1000)]


def test_roundtrip_and_blocks(tmp_path):
    b = db.from_sequence(RECORDS, npartitions=3)
    paths = b.to_avro(str(tmp_path / "out-*.avro"), SCHEMA, sync_interval=200)
    assert len(paths) == b.npartitions
    whole = db.read_avro(str(tmp_path / "*.avro"), blocksize=None)
    assert whole.npartitions == b.npartitions
    assert whole.compute(scheduler="sync") == RECORDS
    blocks = db.read_avro(str(tmp_path / "*.avro"), blocksize=1000)
    assert blocks.npartitions > b.npartitions
    assert blocks.compute(scheduler="processes") == RECORDS


@pytest.mark.parametrize(
    "schema",
    [
        [],
        {},
        {"name": "t"},
        {"name": "t", "type": "record"},
        {"name": "t", "type": "record", "fields": [{"name": "a"}]},
    ],
)
def test_invalid_schema(tmp_path, schema):
    b = db.from_sequence(RECORDS[:3])
    with pytest.raises(ValueError, match="invalid schema"):
        b.to_avro(str(tmp_path / "x-*.avro"), schema)
