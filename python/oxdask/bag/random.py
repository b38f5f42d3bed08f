"""Random samples of bags (``dask.bag.random``): :func:`sample` (without replacement) and
:func:`choices` (with replacement), each a one-partition bag of ``k`` elements.

Every partition keeps a uniform sample of at most ``k`` of its elements (a reservoir, in one
pass) and its length; the partials are merged in a tree, an element of a partial standing for
``length / len(sample)`` elements of the population.
"""

from __future__ import annotations

import heapq
import random as _rnd
from functools import partial

__all__ = ["choices", "sample"]


def sample(population, k, split_every=None):
    """A bag of ``k`` distinct elements of ``population`` drawn at random (``ValueError`` at
    compute time when it has fewer than ``k``)."""
    if k < 0:
        raise ValueError("Cannot take a negative number of samples")
    from oxdask.bag.core import Bag

    out = population._reduction(
        partial(_sample_map_partitions, k=k),
        partial(_sample_reduce, k=k, replace=False),
        split_every,
        Bag,
        name="sample",
    )
    return out.map_partitions(_finalize_sample, k)


def choices(population, k=1, split_every=None):
    """A bag of ``k`` elements of ``population`` drawn at random with replacement."""
    from oxdask.bag.core import Bag

    out = population._reduction(
        partial(_sample_with_replacement_map_partitions, k=k),
        partial(_sample_reduce, k=k, replace=True),
        split_every,
        Bag,
        name="choices",
    )
    return out.map_partitions(_finalize_sample, k)


def _sample_map_partitions(population, k):
    """``(uniform sample of min(k, n) elements, n)`` of an iterable, in one pass."""
    reservoir = []
    n = 0
    randrange = _rnd.randrange
    for n, x in enumerate(population, 1):
        if n <= k:
            reservoir.append(x)
        else:
            j = randrange(n)
            if j < k:
                reservoir[j] = x
    return reservoir, n


def _sample_with_replacement_map_partitions(population, k):
    """``(k elements drawn with replacement, n)``; nothing from an empty partition."""
    seq = population if isinstance(population, list) else list(population)
    if not seq:
        return [], 0
    return _rnd.choices(seq, k=k), len(seq)


def _weighted_sampling_without_replacement(population, weights, k):
    """``k`` distinct elements, each drawn with probability proportional to its weight
    (Efraimidis and Spirakis: the ``k`` largest ``u ** (1 / w)``)."""
    population = list(population)
    keys = ((_rnd.random() ** (1.0 / w), i) for i, w in enumerate(weights))
    return [population[i] for _, i in heapq.nlargest(k, keys)]


def _sample_reduce(partials, k, replace):
    """Merge ``(sample, n)`` partials into one."""
    merged, weights = [], []
    n = 0
    for s, n_i in partials:
        n += n_i
        if s:
            merged.extend(s)
            weights.extend([n_i / len(s)] * len(s))
    if not replace and k >= len(merged):
        return merged, n
    if not merged:
        return [], n
    if replace:
        return _rnd.choices(merged, weights=weights, k=k), n
    return _weighted_sampling_without_replacement(merged, weights, k), n


def _finalize_sample(partition, k):
    out = partition[0]
    if len(out) < k:
        raise ValueError("Sample larger than population")
    return out
