"""Avro files as bags of records (needs ``fastavro``): :func:`read_avro`, :func:`to_avro`."""

from __future__ import annotations

from oxdask.bag._parts import Part
from oxdask.highlevelgraph import BlockwiseLayer, HighLevelGraph, MaterializedLayer
from oxdask.tokenize import tokenize

__all__ = ["read_avro", "to_avro"]


def _fastavro():
    try:
        import fastavro
    except ImportError as e:
        raise ImportError(
            "Reading and writing Avro files needs the fastavro package: pip install fastavro"
        ) from e
    return fastavro


class _ReadAvro:
    __slots__ = ("storage_options",)

    def __init__(self, storage_options):
        self.storage_options = storage_options

    def __reduce__(self):
        return (_ReadAvro, (self.storage_options,))

    def __call__(self, spec):
        import fsspec

        fastavro = _fastavro()
        path, compression, start, stop = spec
        with fsspec.open(path, "rb", compression=compression, **(self.storage_options or {})) as f:
            if start is None:
                yield from fastavro.reader(f)
                return
            for block in fastavro.block_reader(f):
                if block.offset >= stop:
                    break
                if block.offset >= start:
                    yield from block


def read_avro(urlpath, blocksize=100000000, storage_options=None, compression=None):
    """A bag of the records of Avro files (one partition per file)."""
    from oxdask.bag.core import Bag
    from oxdask.bag.text import _expand
    from oxdask.core import quote

    _fastavro()
    fs, paths = _expand(urlpath, storage_options)
    if isinstance(blocksize, str):
        from oxdask.bag.utils import parse_bytes

        blocksize = parse_bytes(blocksize)
    specs = []
    for p in paths:
        if blocksize is None:
            specs.append((p, compression, None, None))
            continue
        if compression is not None:
            raise ValueError("read_avro: blocksize needs uncompressed files (blocksize=None)")
        size = fs.size(p)
        for off in range(0, max(size, 1), int(blocksize)):
            specs.append((p, None, off, off + int(blocksize)))
    token = tokenize(paths, blocksize, storage_options, compression)
    sname, name = f"read-avro-paths-{token}", f"read-avro-{token}"
    spec_layer = MaterializedLayer({(sname, i): quote(s) for i, s in enumerate(specs)})
    layer = BlockwiseLayer(
        name, Part(_ReadAvro(storage_options)), [0], [(sname, [0])], {sname: (len(specs),)}
    )
    graph = HighLevelGraph({sname: spec_layer, name: layer}, {sname: set(), name: {sname}})
    return Bag(graph, name, len(specs))


class _WriteAvro:
    __slots__ = ("codec", "metadata", "schema", "storage_options", "sync_interval")

    def __init__(self, schema, codec, sync_interval, metadata, storage_options):
        self.schema = schema
        self.codec = codec
        self.sync_interval = sync_interval
        self.metadata = metadata
        self.storage_options = storage_options

    def __reduce__(self):
        return (
            _WriteAvro,
            (self.schema, self.codec, self.sync_interval, self.metadata, self.storage_options),
        )

    def __call__(self, part, path):
        import fsspec

        fastavro = _fastavro()
        kw = {"codec": self.codec, "sync_interval": self.sync_interval}
        if self.metadata:
            kw["metadata"] = self.metadata
        with fsspec.open(path, "wb", **(self.storage_options or {})) as f:
            fastavro.writer(f, self.schema, part, **kw)
        return [path]


class InvalidSchema(AssertionError, ValueError):
    """The schema given to ``to_avro`` is not an Avro record schema (an ``AssertionError``
    as in Dask, and a ``ValueError``)."""


def _check_schema(schema):
    def need(cond, what):
        if not cond:
            raise InvalidSchema(f"to_avro: invalid schema {schema!r}: {what}")

    need(isinstance(schema, dict), "must be a dict")
    need("name" in schema, "needs a 'name'")
    need(schema.get("type") == "record", "'type' must be 'record'")
    fields = schema.get("fields")
    need(isinstance(fields, list) and fields, "needs a non-empty list of 'fields'")
    for f in fields:
        need(isinstance(f, dict) and "name" in f and "type" in f, f"field {f!r}")


def to_avro(
    b,
    filename,
    schema,
    name_function=None,
    storage_options=None,
    codec="null",
    sync_interval=16000,
    metadata=None,
    compute=True,
    **kwargs,
):
    """Write a bag of dicts to Avro files, one per partition; the paths (or Delayed)."""
    from oxdask.bag._paths import outputs
    from oxdask.bag.core import Bag, _graph
    from oxdask.core import quote

    fastavro = _fastavro()
    _check_schema(schema)
    fastavro.parse_schema(schema)
    if name_function is None:
        name_function = str
    _, paths = outputs(filename, b.npartitions, name_function, storage_options, ".avro")
    name = f"to-avro-{tokenize(b, paths, schema, codec)}"
    pname = f"{name}-paths"
    writer = _WriteAvro(schema, codec, sync_interval, metadata, storage_options)
    layer = BlockwiseLayer(
        name,
        Part(writer, False, True),
        [0],
        [(b.name, [0]), (pname, [0])],
        {b.name: (b.npartitions,), pname: (b.npartitions,)},
    )
    plist = MaterializedLayer({(pname, i): quote(p) for i, p in enumerate(paths)})
    out = Bag(_graph(name, layer, [b], {pname: plist}), name, b.npartitions)
    if compute:
        out.compute(**kwargs)
        return list(paths)
    return out.to_delayed()
