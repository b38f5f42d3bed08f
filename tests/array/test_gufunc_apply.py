"""apply_gufunc: signature parsing, axes/axis/keepdims, dtype inference, outputs."""

from __future__ import annotations

import numpy as np
import pytest
from array_helpers import assert_eq

import oxdask.array as da
from oxdask.array.gufunc import _parse_gufunc_signature, _validate_normalize_axes


def test_parse_signature():
    assert _parse_gufunc_signature(" (x, y) ->()") == ([("x", "y")], ())
    assert _parse_gufunc_signature("(x)->(y),()") == ([("x",)], [("y",), ()])
    assert _parse_gufunc_signature("->(),(i,j)") == ([], [(), ("i", "j")])
    for bad in ("(x)(y)->()", "(x),(y)->", "((x))->(x)", "(x)->(x),"):
        with pytest.raises(ValueError, match="Not a valid gufunc signature"):
            _parse_gufunc_signature(bad)


def test_normalize_axes():
    assert _validate_normalize_axes([(1, 0), 0], None, False, [("i", "j")], ("j",)) == (
        [(1, 0)],
        [(0,)],
    )
    assert _validate_normalize_axes(None, 0, True, [("i",), ("i",)], ()) == ([(0,), (0,)], [(0,)])
    for args in ([(1, 0)], None, False), ([0, 0], None, False), (None, (0,), False):
        with pytest.raises(ValueError, match=r"axes|axis"):
            _validate_normalize_axes(*args, [("i", "j")], ("j",))


@pytest.mark.parametrize("chunks", [(2, 5), (5, 5), (1, 5)])
def test_infer_dtype_axis_and_keepdims(chunks, rng):
    a = rng.integers(0, 10, size=(4, 5))
    x = da.from_array(a, chunks=chunks)
    m = da.apply_gufunc(lambda v: np.mean(v, axis=-1), "(i)->()", x)
    assert m.dtype == np.float64  # inferred by calling the function, not the input's dtype
    assert_eq(m, a.mean(-1))
    x0 = x.rechunk({0: -1})
    k = da.apply_gufunc(lambda v: v.max(-1), "(i)->()", x0, axis=0, keepdims=True)
    assert_eq(k, a.max(0, keepdims=True))
    d = da.apply_gufunc(lambda v: np.diff(v, axis=-1), "(i)->(i)", x, axis=1, output_sizes={"i": 4})
    assert_eq(d, np.diff(a, axis=1))


def test_outputs_without_inputs_and_mixed():
    assert da.apply_gufunc(lambda: 1, "->()", output_dtypes=int).compute() == 1
    v = da.apply_gufunc(lambda: np.arange(3), "->(i)", output_dtypes=int, output_sizes={"i": 3})
    assert v.chunks == ((3,),)
    assert_eq(v, np.arange(3))
    s, t = da.apply_gufunc(
        lambda: (1, np.ones((2, 3))),
        "->(),(i,j)",
        output_dtypes=(int, float),
        output_sizes={"i": 2, "j": 3},
    )
    assert s.compute() == 1
    assert_eq(t, np.ones((2, 3)))


def test_loop_chunks_must_agree_and_sizes_must_match(rng):
    a = da.from_array(rng.random(8), chunks=2)
    b = da.from_array(rng.random(8), chunks=((2, 3, 3),))
    with pytest.raises(ValueError, match="different chunksize"):
        da.apply_gufunc(np.add, "(),()->()", a, b, output_dtypes=float)
    assert_eq(
        da.apply_gufunc(np.add, "(),()->()", a, b, output_dtypes=float, allow_rechunk=True),
        a.compute() + b.compute(),
    )
    with pytest.raises(ValueError, match="different lengths"):
        da.apply_gufunc(np.add, "(),()->()", a, a[:7], output_dtypes=float, allow_rechunk=True)
