"""Parallel lists of Python objects (``dask.bag``): :class:`Bag` and :class:`Item`."""

from oxdask.bag.avro import read_avro
from oxdask.bag.core import (
    Bag,
    Item,
    concat,
    from_delayed,
    from_sequence,
    from_url,
    map_partitions,
    to_textfiles,
)
from oxdask.bag.core import bag_map as map
from oxdask.bag.core import bag_range as range
from oxdask.bag.core import bag_zip as zip
from oxdask.bag.text import read_text
from oxdask.bag.utils import assert_eq
from oxdask.base import compute

__all__ = [
    "Bag",
    "Item",
    "assert_eq",
    "compute",
    "concat",
    "from_delayed",
    "from_sequence",
    "from_url",
    "map",
    "map_partitions",
    "range",
    "read_avro",
    "read_text",
    "to_textfiles",
    "zip",
]
