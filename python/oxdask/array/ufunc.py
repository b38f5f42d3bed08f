"""NumPy ufuncs applied lazily, block by block, plus the Array's arithmetic operators.

Every NumPy ufunc is available under its NumPy name (``oxdask.array.exp``...), and calling a
NumPy ufunc on an :class:`~oxdask.array.Array` (``np.exp(x)``) stays lazy through
``__array_ufunc__``. A ufunc on non-dask inputs returns the NumPy result directly, as in Dask.
"""

from __future__ import annotations

import operator

import numpy as np

from oxdask.array.blockwise import elemwise
from oxdask.array.core import Array
from oxdask.base import is_dask_collection

__all__ = ["ufunc"]


class ufunc:
    """A NumPy ufunc that builds a lazy array when given dask arrays."""

    def __init__(self, npfunc):
        self._ufunc = npfunc
        self.__name__ = npfunc.__name__
        self.__doc__ = f"Lazy elementwise ``numpy.{npfunc.__name__}`` (see NumPy's docs)."

    @property
    def nin(self):
        return self._ufunc.nin

    @property
    def nout(self):
        return self._ufunc.nout

    @property
    def ntypes(self):
        return self._ufunc.ntypes

    @property
    def types(self):
        return self._ufunc.types

    @property
    def identity(self):
        return self._ufunc.identity

    def __repr__(self) -> str:
        return repr(self._ufunc)

    def __call__(self, *args, **kwargs):
        if any(isinstance(a, Array) for a in args):
            return apply_ufunc(self._ufunc, *args, **kwargs)
        return self._ufunc(*args, **kwargs)

    def outer(self, A, B, **kwargs):
        """``ufunc.outer``: every pair of elements of ``A`` and ``B``."""
        from oxdask.array.core import asarray

        A = asarray(A)
        B = asarray(B)
        a = A.reshape(A.shape + (1,) * B.ndim) if A.ndim else A
        return apply_ufunc(self._ufunc, a, B, **kwargs)


class _Pick:
    def __init__(self, k):
        self.k = k

    def __call__(self, t):
        return t[self.k]


class _Where:
    """``uf(*args, where=where, out=copy of out block)``: the last two block arguments are
    ``where`` and ``out`` (None: NumPy leaves the elements where ``where`` is false as they
    are in a new, uninitialized array)."""

    def __init__(self, uf):
        self.uf = uf

    def __call__(self, *args, **kwargs):
        *args, where, out = args
        if out is not None:
            out = np.array(np.broadcast_to(out, np.broadcast_shapes(*map(np.shape, args))))
        return self.uf(*args, where=where, out=out, **kwargs)


def apply_ufunc(uf, *args, **kwargs):
    """Apply a NumPy ufunc lazily; multi-output ufuncs return a tuple of arrays.

    ``out=`` (an Array) is replaced by the result, as in Dask; ``where=`` keeps the elements
    of ``out`` where it is false."""
    from oxdask.array.reductions import handle_out, normalize_out

    out = kwargs.pop("out", None)
    where = kwargs.pop("where", True)
    dtype = kwargs.get("dtype")
    if uf.nout == 1:
        out = normalize_out(out)
        if where is not True:
            where = False if where is None else where
            if dtype is None:
                dtype = elemwise(uf, *args, kwargs=kwargs).dtype
            result = elemwise(_Where(uf), *args, where, out, dtype=dtype, kwargs=kwargs)
        else:
            result = elemwise(uf, *args, dtype=dtype, kwargs=kwargs)
        return handle_out(out, result)
    if out is not None or where is not True:
        raise NotImplementedError(
            f"out= and where= are not supported by ufuncs of {uf.nout} outputs"
        )
    samples = [np.ones((1,) * a.ndim, a.dtype) if isinstance(a, Array) else a for a in args]
    with np.errstate(all="ignore"):
        dts = [np.asarray(r).dtype for r in uf(*samples, **kwargs)]
    both = elemwise(uf, *args, dtype=object, kwargs=kwargs)
    return tuple(elemwise(_Pick(k), both, dtype=dts[k]) for k in range(uf.nout))


def _array_ufunc(self, uf, method, *inputs, **kwargs):
    for x in (*inputs, *(kwargs.get("out") or ())):
        if is_dask_collection(x) and not isinstance(x, Array):
            return NotImplemented
    if method == "__call__":
        if uf is np.matmul:
            from oxdask.array.linalg import matmul

            return matmul(*inputs)
        if uf.signature is not None:
            from oxdask.array.gufunc import apply_gufunc

            return apply_gufunc(uf, uf.signature, *inputs, **kwargs)
        return apply_ufunc(uf, *inputs, **kwargs)
    if method == "outer":
        return ufunc(uf).outer(*inputs, **kwargs)
    if method == "reduce":
        from oxdask.array import reductions

        name = {
            "add": "sum",
            "multiply": "prod",
            "minimum": "min",
            "maximum": "max",
            "logical_and": "all",
            "logical_or": "any",
        }.get(uf.__name__)
        if name is not None and kwargs.get("out") is None:
            kwargs.pop("out", None)
            return getattr(reductions, name)(*inputs, **kwargs)
    return NotImplemented


# Generalized ufuncs (matmul, vecdot...) have core dimensions: not elementwise. NumPy's own
# namespace, not dir(np): getattr on every name imports numpy's lazy submodules (f2py, testing).
_UFUNCS = sorted(n for n, v in vars(np).items() if isinstance(v, np.ufunc) and v.signature is None)
for _n in _UFUNCS:
    globals()[_n] = ufunc(getattr(np, _n))
    __all__.append(_n)


def angle(x, deg=False):
    """Angle of complex elements (lazy :func:`numpy.angle`)."""
    return elemwise(np.angle, x, kwargs={"deg": deg})


def real(x):
    """Real part (lazy :func:`numpy.real`)."""
    return elemwise(np.real, x)


def imag(x):
    """Imaginary part (lazy :func:`numpy.imag`)."""
    return elemwise(np.imag, x)


def iscomplex(x):
    return elemwise(np.iscomplex, x)


def isreal(x):
    return elemwise(np.isreal, x)


def fix(x):
    return elemwise(np.fix, x)


def i0(x):
    return elemwise(np.i0, x)


def sinc(x):
    return elemwise(np.sinc, x)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replace NaN and infinities (lazy :func:`numpy.nan_to_num`)."""
    return elemwise(np.nan_to_num, x, kwargs={"nan": nan, "posinf": posinf, "neginf": neginf})


def around(x, decimals=0):
    """Round to ``decimals`` (lazy :func:`numpy.round`)."""
    return elemwise(np.round, x, kwargs={"decimals": decimals})


round = around


def isneginf(x):
    return elemwise(np.isneginf, x)


def isposinf(x):
    return elemwise(np.isposinf, x)


def frompyfunc(func, nin, nout):
    """A ufunc from a Python function (lazy :func:`numpy.frompyfunc`)."""
    return ufunc(np.frompyfunc(func, nin, nout))


__all__ += [
    "angle",
    "around",
    "fix",
    "frompyfunc",
    "i0",
    "imag",
    "iscomplex",
    "isneginf",
    "isposinf",
    "isreal",
    "nan_to_num",
    "real",
    "round",
    "sinc",
]

# -- operators --------------------------------------------------------------------------------

_BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "and": operator.and_,
    "or": operator.or_,
    "xor": operator.xor,
    "lshift": operator.lshift,
    "rshift": operator.rshift,
    "matmul": None,
    "divmod": divmod,
}
_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_UNARY = {"neg": operator.neg, "pos": operator.pos, "abs": operator.abs, "invert": operator.invert}


def _binary(op, reflected):
    def method(self, other):
        if is_dask_collection(other) and not isinstance(other, Array):
            return NotImplemented
        if reflected:
            return elemwise(op, other, self)
        return elemwise(op, self, other)

    return method


def _divmod(self, other):
    return apply_ufunc(np.divmod, self, other)


def _rdivmod(self, other):
    return apply_ufunc(np.divmod, other, self)


def _unary(op):
    def method(self):
        return elemwise(op, self)

    return method


def _matmul(self, other):
    from oxdask.array.linalg import matmul

    return matmul(self, other)


def _rmatmul(self, other):
    from oxdask.array.linalg import matmul

    return matmul(other, self)


def _install_operators() -> None:
    for name, op in _BINARY.items():
        if op is None or name == "divmod":
            continue
        setattr(Array, f"__{name}__", _binary(op, False))
        setattr(Array, f"__r{name}__", _binary(op, True))
    for name, op in _COMPARE.items():
        setattr(Array, f"__{name}__", _binary(op, False))
    for name, op in _UNARY.items():
        setattr(Array, f"__{name}__", _unary(op))
    Array.__divmod__ = _divmod
    Array.__rdivmod__ = _rdivmod
    Array.__matmul__ = _matmul
    Array.__rmatmul__ = _rmatmul
    Array.__hash__ = object.__hash__


_install_operators()
