"""Random arrays that do not depend on the chunking: ``default_rng`` / ``Generator``,
``RandomState`` and module-level functions (``random``, ``normal``, ``uniform``, ``integers``,
``randint``, ...).

Every element is a pure function of (seed, distribution stream, flat index): a block hashes
the C-order flat indices of its elements with a multiply-xorshift mixer keyed by the seed, and
turns the 64-bit words into uniform doubles (52 bits), normals (Box-Muller on two words),
exponentials (inverse CDF) and integers (multiply-shift on the range). The same seed therefore
gives the same array whatever the chunks, and blocks need no shared state or per-block seeds.

.. note:: Values differ from NumPy's and Dask's streams for the same seed (Dask's results also
   change with the chunking; oxdask's do not).
"""

from __future__ import annotations

import math
import os
from numbers import Integral

import numpy as np

from oxdask import _core
from oxdask.array._chunks import normalize_chunks
from oxdask.array.blockwise import _blockwise_layer
from oxdask.array.core import _new
from oxdask.tokenize import tokenize

__all__ = [
    "Generator",
    "RandomState",
    "default_rng",
    "exponential",
    "integers",
    "normal",
    "randint",
    "random",
    "random_sample",
    "seed",
    "standard_normal",
    "uniform",
]

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z):
    z = z ^ (z >> np.uint64(30))
    z = z * _M1
    z = z ^ (z >> np.uint64(27))
    z = z * _M2
    return z ^ (z >> np.uint64(31))


def _stream_key(key, stream) -> int:
    """Key number ``stream`` derived from ``key`` (a distribution's stream, or a generator's
    successive calls)."""
    with np.errstate(over="ignore"):
        return int(_mix(np.uint64(key) + np.uint64(stream) * _GOLDEN))


def _block(key, stream, block, uniform):
    """The block's mixed words (uint64) or uniform doubles in [0, 1), from the Rust kernel.

    The word of flat index ``i`` is ``i * G + k`` (wrapping, ``k`` the stream's key) after two
    xorshift-multiply rounds; uniforms take its top 52 bits as a mantissa.
    """
    locs, shape = block
    frame = _core.random_block(
        _stream_key(key, stream),
        [loc.start for loc in locs],
        [loc.stop for loc in locs],
        [int(n) for n in shape],
        uniform,
    )
    out = np.frombuffer(frame, dtype=np.float64 if uniform else np.uint64)
    return out.reshape(tuple(loc.stop - loc.start for loc in locs))


def _words(key, block, stream):
    return _block(key, stream, block, False)


def _uniform01(key, block, stream):
    return _block(key, stream, block, True)


class _Draw:
    """Block task: the values of one distribution at the block's flat indices."""

    def __init__(self, key, dist, shape, params, dtype):
        self.key = key
        self.dist = dist
        self.shape = shape
        self.params = params
        self.dtype = dtype

    def __call__(self, *locs):
        out = _DISTS[self.dist](self.key, (locs, self.shape), **self.params)
        return np.asarray(out).astype(self.dtype, copy=False)


def _random(key, block):
    return _uniform01(key, block, 1)


def _uniform(key, block, low, high):
    return low + (high - low) * _uniform01(key, block, 2)


def _normal(key, block, loc, scale):
    u1 = 1.0 - _uniform01(key, block, 3)
    u2 = _uniform01(key, block, 4)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return loc + scale * z


def _exponential(key, block, scale):
    return -scale * np.log1p(-_uniform01(key, block, 5))


def _integers(key, block, low, high):
    span = int(high) - int(low)
    w = _words(key, block, 6)
    if span <= 1 << 32:
        r = ((w >> np.uint64(32)) * np.uint64(span)) >> np.uint64(32)
    else:
        r = w % np.uint64(span)
    return r.astype(np.int64) + int(low)


_DISTS = {
    "random": _random,
    "uniform": _uniform,
    "normal": _normal,
    "exponential": _exponential,
    "integers": _integers,
}


def _size(size):
    if size is None:
        return ()
    if isinstance(size, Integral):
        return (int(size),)
    return tuple(int(s) for s in size)


def _key_from_seed(seed) -> int:
    if seed is None:
        return int.from_bytes(os.urandom(8), "little")
    if isinstance(seed, (Generator, RandomState)):
        return seed._next_key()
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63))
    if isinstance(seed, np.random.RandomState):
        return int(seed.randint(0, 2**62))
    if isinstance(seed, (list, tuple, np.ndarray)):
        return int(
            np.random.SeedSequence([int(s) for s in np.ravel(seed)]).generate_state(2, np.uint64)[0]
        )
    return int(np.random.SeedSequence(int(seed)).generate_state(2, np.uint64)[0])


class Generator:
    """Random arrays from a seed, independent of the chunking (``dask.array.random.Generator``).

    Parameters
    ----------
    seed : int, sequence, numpy Generator or None
    """

    def __init__(self, seed=None):
        self._key = _key_from_seed(seed)
        self._calls = 0

    def _next_key(self) -> int:
        self._calls += 1
        return _stream_key(self._key, self._calls)

    def _make(self, dist, size, chunks, dtype, **params):
        shape = _size(size)
        dtype = np.dtype(dtype)
        chunks = normalize_chunks(chunks, shape, dtype=dtype)
        key = self._next_key()
        name = f"{dist}-" + tokenize(key, shape, chunks, params, dtype)
        if not shape:
            from oxdask.array.chunk import Loc

            value = _Draw(key, dist, (1,), params, dtype)(Loc(0, 0, 1))[0]
            from oxdask.highlevelgraph import MaterializedLayer

            return _new(name, MaterializedLayer({(name,): np.asarray(value)}), [], (), dtype)
        layer, extra = _blockwise_layer(
            name,
            _Draw(key, dist, shape, params, dtype),
            list(range(len(shape))),
            [],
            chunks,
            locs=range(len(shape)),
            inline=True,
        )
        return _new(name, layer, [], chunks, dtype, extra)

    def random(self, size=None, dtype=np.float64, out=None, chunks="auto", **kwargs):
        """Uniform floats in [0, 1)."""
        return self._make("random", size, chunks, dtype)

    def uniform(self, low=0.0, high=1.0, size=None, chunks="auto", **kwargs):
        """Uniform floats in [low, high)."""
        return self._make("uniform", size, chunks, np.float64, low=low, high=high)

    def normal(self, loc=0.0, scale=1.0, size=None, chunks="auto", **kwargs):
        """Normally distributed floats."""
        if np.any(np.asarray(scale) < 0):
            raise ValueError("scale < 0")
        return self._make("normal", size, chunks, np.float64, loc=loc, scale=scale)

    def standard_normal(self, size=None, chunks="auto", **kwargs):
        return self.normal(0.0, 1.0, size=size, chunks=chunks)

    def exponential(self, scale=1.0, size=None, chunks="auto", **kwargs):
        """Exponentially distributed floats."""
        return self._make("exponential", size, chunks, np.float64, scale=scale)

    def integers(
        self, low, high=None, size=None, dtype=np.int64, endpoint=False, chunks="auto", **kwargs
    ):
        """Integers in [low, high) (``endpoint=True``: [low, high])."""
        if high is None:
            low, high = 0, low
        if endpoint:
            high = high + 1
        if high <= low:
            raise ValueError("low >= high")
        return self._make("integers", size, chunks, dtype, low=int(low), high=int(high))


def default_rng(seed=None):
    """A :class:`Generator` (as :func:`numpy.random.default_rng`)."""
    if isinstance(seed, Generator):
        return seed
    return Generator(seed)


class RandomState(Generator):
    """Legacy-style interface (``randint``, ``random_sample``...) on the same generator."""

    def seed(self, seed=None):
        self._key = _key_from_seed(seed)
        self._calls = 0

    def random_sample(self, size=None, chunks="auto", **kwargs):
        return self.random(size=size, chunks=chunks)

    def randint(self, low, high=None, size=None, chunks="auto", dtype=int, **kwargs):
        return self.integers(low, high, size=size, chunks=chunks, dtype=dtype)

    def standard_normal(self, size=None, chunks="auto", **kwargs):
        return self.normal(size=size, chunks=chunks)


_state = RandomState()


def seed(seed=None):
    """Reseed the module-level generator."""
    _state.seed(seed)


def random(size=None, chunks="auto", **kwargs):
    """Uniform floats in [0, 1) from the module-level generator."""
    return _state.random(size, chunks=chunks)


def random_sample(size=None, chunks="auto", **kwargs):
    """Uniform floats in [0, 1) from the module-level generator (as ``random``)."""
    return _state.random(size, chunks=chunks)


def uniform(low=0.0, high=1.0, size=None, chunks="auto", **kwargs):
    """Uniform floats in [low, high) from the module-level generator."""
    return _state.uniform(low, high, size, chunks=chunks)


def normal(loc=0.0, scale=1.0, size=None, chunks="auto", **kwargs):
    """Normal (Gaussian) samples of mean ``loc`` and deviation ``scale``."""
    return _state.normal(loc, scale, size, chunks=chunks)


def standard_normal(size=None, chunks="auto", **kwargs):
    """Normal samples of mean 0 and deviation 1 from the module-level generator."""
    return _state.normal(0.0, 1.0, size, chunks=chunks)


def exponential(scale=1.0, size=None, chunks="auto", **kwargs):
    """Exponential samples of mean ``scale`` from the module-level generator."""
    return _state.exponential(scale, size, chunks=chunks)


def randint(low, high=None, size=None, chunks="auto", dtype=int, **kwargs):
    """Integers in [low, high) (in [0, low) without ``high``), as ``numpy.random.randint``."""
    return _state.randint(low, high, size, chunks=chunks, dtype=dtype)


def integers(low, high=None, size=None, chunks="auto", dtype=np.int64, endpoint=False, **kwargs):
    """Integers in [low, high) (or [low, high] with ``endpoint``), as ``Generator.integers``."""
    return _state.integers(low, high, size, dtype=dtype, endpoint=endpoint, chunks=chunks)


_ = math
