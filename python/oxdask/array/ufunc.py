"""NumPy ufuncs applied lazily, block by block, plus the Array's arithmetic operators.

Every NumPy ufunc is available under its NumPy name (``oxdask.array.exp``...), and calling a
NumPy ufunc on an :class:`~oxdask.array.Array` (``np.exp(x)``) stays lazy through
``__array_ufunc__``. A ufunc on non-dask inputs returns the NumPy result directly, as in Dask.
"""

from __future__ import annotations

import operator

import numpy as np

from oxdask.array._chunk_types import defers_to
from oxdask.array.blockwise import elemwise
from oxdask.array.core import Array, asarray
from oxdask.base import is_dask_collection

__all__ = ["ufunc"]


class ufunc:
    """A NumPy ufunc that builds a lazy array when given dask arrays."""

    def __init__(self, npfunc):
        self._ufunc = npfunc
        self.__name__ = npfunc.__name__
        self.__doc__ = f"Lazy elementwise ``numpy.{npfunc.__name__}`` (see NumPy's docs)."

    def __getattr__(self, name):
        # the NumPy ufunc's attributes (nin, nout, nargs, ntypes, types, identity, signature)
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.__dict__["_ufunc"], name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(dir(self._ufunc)))

    def __repr__(self) -> str:
        return repr(self._ufunc)

    def __call__(self, *args, **kwargs):
        if any(isinstance(a, Array) for a in args) or (
            self._ufunc.nout > 1 and kwargs.get("out") is None
        ):
            # multiple outputs: always arrays, as Dask's
            return apply_ufunc(self._ufunc, *args, **kwargs)
        return self._ufunc(*args, **kwargs)

    def outer(self, A, B, **kwargs):
        """``ufunc.outer``: every pair of elements of ``A`` and ``B`` (NumPy's result when
        neither is an oxdask Array)."""
        if self._ufunc.nin != 2:
            raise ValueError("outer product only supported for binary functions")
        if self._ufunc.nout != 1:
            raise ValueError("outer product only supported for ufuncs with 1 output")
        if "out" in kwargs:
            raise ValueError("`out` kwarg not supported")
        if not isinstance(A, Array) and not isinstance(B, Array):
            return self._ufunc.outer(A, B, **kwargs)
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
            shape = np.broadcast_shapes(*map(np.shape, args), np.shape(where), np.shape(out))
            out = np.array(np.broadcast_to(out, shape))
        return self.uf(*args, where=where, out=out, **kwargs)


def _keep_mask(x):
    """A NumPy masked array as a one-block Array (that keeps its mask); others unchanged."""
    return asarray(x) if isinstance(x, np.ma.MaskedArray) else x


def apply_ufunc(uf, *args, **kwargs):
    """Apply a NumPy ufunc lazily; multi-output ufuncs return a tuple of arrays.

    ``out=`` (an Array) is replaced by the result, as in Dask; ``where=`` keeps the elements
    of ``out`` where it is false."""
    from oxdask.array.reductions import handle_out, normalize_out

    out = kwargs.pop("out", None)
    where = kwargs.pop("where", True)
    dtype = kwargs.get("dtype")
    args = [_keep_mask(a) for a in args]
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
    args = [asarray(a) if isinstance(a, np.ndarray) else a for a in args]
    samples = [np.ones((1,) * a.ndim, a.dtype) if isinstance(a, Array) else a for a in args]
    with np.errstate(all="ignore"):
        dts = [np.asarray(r).dtype for r in uf(*samples, **kwargs)]
    both = elemwise(uf, *args, dtype=object, kwargs=kwargs)
    return tuple(elemwise(_Pick(k), both, dtype=dts[k]) for k in range(uf.nout))


def _array_ufunc(self, uf, method, *inputs, **kwargs):
    for x in (*inputs, *(kwargs.get("out") or ())):
        if is_dask_collection(x) and not isinstance(x, Array):
            return NotImplemented
        if defers_to(x):
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
    return NotImplemented  # reduce, accumulate, at...: not supported (TypeError), as in Dask


# Generalized ufuncs (matmul, vecdot...) have core dimensions: not elementwise. NumPy's own
# namespace, not dir(np): getattr on every name imports numpy's lazy submodules (f2py, testing).
_UFUNCS = sorted(n for n, v in vars(np).items() if isinstance(v, np.ufunc) and v.signature is None)
for _n in _UFUNCS:
    globals()[_n] = ufunc(getattr(np, _n))
    __all__.append(_n)


def _wrap(npfunc, x, **kwargs):
    """``npfunc`` block by block on an oxdask Array; NumPy's result for other inputs."""
    if not isinstance(x, Array):
        return npfunc(x, **kwargs)
    return elemwise(npfunc, x, kwargs=kwargs)


def angle(x, deg=False):
    """Angle of complex elements (lazy :func:`numpy.angle`)."""
    return _wrap(np.angle, x, deg=deg)


def real(x):
    """Real part (lazy :func:`numpy.real`)."""
    return _wrap(np.real, x)


def imag(x):
    """Imaginary part (lazy :func:`numpy.imag`)."""
    return _wrap(np.imag, x)


def iscomplex(x):
    """Whether elements are complex (lazy :func:`numpy.iscomplex`)."""
    return _wrap(np.iscomplex, x)


def isreal(x):
    """Whether elements are real (lazy :func:`numpy.isreal`)."""
    return _wrap(np.isreal, x)


def fix(x):
    """Round towards zero (lazy :func:`numpy.fix`)."""
    return _wrap(np.fix, x)


def i0(x):
    """Modified Bessel function of order 0 (lazy :func:`numpy.i0`)."""
    return _wrap(np.i0, x)


def sinc(x):
    """Normalized sinc (lazy :func:`numpy.sinc`)."""
    return _wrap(np.sinc, x)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replace NaN and infinities (lazy :func:`numpy.nan_to_num`)."""
    return _wrap(np.nan_to_num, x, nan=nan, posinf=posinf, neginf=neginf)


def around(x, decimals=0):
    """Round to ``decimals`` (lazy :func:`numpy.round`)."""
    return _wrap(np.round, x, decimals=decimals)


round = around


def isneginf(x):
    """Whether elements are negative infinity (lazy :func:`numpy.isneginf`)."""
    return _wrap(np.isneginf, x)


def isposinf(x):
    """Whether elements are positive infinity (lazy :func:`numpy.isposinf`)."""
    return _wrap(np.isposinf, x)


class da_frompyfunc:
    """The ufunc :func:`numpy.frompyfunc` makes from ``func``, in a picklable form (pickled
    as ``func``, ``nin`` and ``nout``) so that graphs using it can be shipped."""

    def __init__(self, func, nin, nout):
        self._ufunc = np.frompyfunc(func, nin, nout)
        self._func = func
        self.nin = nin
        self.nout = nout
        self._name = getattr(func, "__name__", type(func).__name__)
        self.__name__ = f"frompyfunc-{self._name}"

    def __repr__(self) -> str:
        return f"da.frompyfunc<{self._name}, {self.nin}, {self.nout}>"

    def __reduce__(self):
        return (da_frompyfunc, (self._func, self.nin, self.nout))

    def __call__(self, *args, **kwargs):
        return self._ufunc(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.__dict__["_ufunc"], name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(dir(self._ufunc)))


def frompyfunc(func, nin, nout):
    """A ufunc from a Python function (lazy :func:`numpy.frompyfunc`); one output only."""
    if nout > 1:
        raise NotImplementedError("frompyfunc with more than one output")
    return ufunc(da_frompyfunc(func, nin, nout))


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
        if defers_to(other):
            return NotImplemented
        other = _keep_mask(other)
        if type(other) is int and self.dtype.kind in "iu":
            _check_overflow(op, other, self.dtype, reflected)
        if reflected:
            return elemwise(op, other, self)
        return elemwise(op, self, other)

    return method


def _check_overflow(op, value, dtype, reflected):
    """NumPy's OverflowError for a Python integer out of the range of ``dtype``, raised now
    (other errors of the operation surface when computing, as before)."""
    sample = np.ones((), dtype)
    try:
        with np.errstate(all="ignore"):
            op(value, sample) if reflected else op(sample, value)
    except OverflowError:
        raise
    except Exception:
        pass


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
