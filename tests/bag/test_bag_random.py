"""oxdask.bag.random: sample and choices against the population."""

from __future__ import annotations

from collections import Counter

import pytest

import oxdask.bag as db
from oxdask.bag import random


@pytest.mark.parametrize("npartitions", [1, 3, 12])
def test_sample_distinct_members(npartitions):
    b = db.from_sequence(range(30), npartitions=npartitions)
    got = random.sample(b, k=10, split_every=2).compute(scheduler="sync")
    assert len(got) == 10
    assert len(set(got)) == 10
    assert set(got) <= set(range(30))
    assert sorted(random.sample(b, k=30).compute(scheduler="sync")) == list(range(30))
    with pytest.raises(ValueError, match="larger than population"):
        random.sample(b, k=31).compute(scheduler="sync")


def test_sample_is_uniform_across_unequal_partitions():
    parts = [list(range(0, 2)), list(range(2, 20))]  # 2 and 18 elements
    b = db.from_delayed([__import__("oxdask").delayed(p) for p in parts])
    counts = Counter()
    for _ in range(300):
        counts.update(random.sample(b, k=2).compute(scheduler="sync"))
    # each element has probability 2/20 per draw: about 30 hits, the small partition too
    assert 10 < counts[0] < 60
    assert 10 < counts[19] < 60


def test_choices_with_replacement_and_empty_partitions():
    b = db.from_delayed([__import__("oxdask").delayed(p) for p in [[], [1], [], [2, 3]]])
    got = random.choices(b, k=7).compute(scheduler="sync")
    assert len(got) == 7
    assert set(got) <= {1, 2, 3}
