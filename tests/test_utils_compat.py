"""oxdask.utils: the helpers of dask.utils (files, types, dispatch, nested data, numbers)."""

from __future__ import annotations

import os
import pickle
from datetime import datetime, timedelta
from operator import add

import pytest

from oxdask import utils
from oxdask.delayed import delayed


def test_tmpfile_and_tmpdir_are_removed():
    with utils.tmpfile("csv") as name:
        assert name.endswith(".csv")
        assert not os.path.exists(name)
        with open(name, "w") as f:
            f.write("x")
    assert not os.path.exists(name)
    with utils.tmpfile(".txt") as name:
        os.mkdir(name)  # a directory in its place is removed too
    assert not os.path.exists(name)
    with utils.tmpdir() as d:
        assert os.path.isdir(d)
        open(os.path.join(d, "f"), "w").close()
    assert not os.path.exists(d)


def test_filetext_filetexts_and_cwd_helpers():
    with utils.filetext("hello", extension="txt") as name, open(name) as f:
        assert f.read() == "hello"
    assert not os.path.exists(name)
    cwd = os.getcwd()
    with utils.filetexts({"a.txt": "1", "sub/b.txt": "2"}) as names:
        assert names == ["a.txt", "sub/b.txt"]
        assert os.getcwd() != cwd
        with open("sub/b.txt") as f:
            assert f.read() == "2"
    assert os.getcwd() == cwd
    with utils.tmpdir() as d, utils.changed_cwd(d):
        assert os.path.samefile(os.getcwd(), d)
    assert os.getcwd() == cwd
    with utils.tmp_cwd() as d:
        assert os.path.samefile(os.getcwd(), d)
    assert os.getcwd() == cwd
    utils.ensure_not_exists(os.path.join(cwd, "surely-missing-file-xyz"))


def test_type_helpers():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    import json.decoder

    assert utils.typename(json.decoder.JSONDecoder) == "json.decoder.JSONDecoder"
    assert utils.typename(json.decoder.JSONDecoder, short=True) == "json.JSONDecoder"
    assert utils.typename(pd.DataFrame()) == "pandas.DataFrame"
    assert utils.typename(3) == "int"
    assert utils.ensure_bytes("ab") == b"ab"
    assert utils.ensure_bytes(bytearray(b"ab")) == b"ab"
    assert utils.ensure_unicode(b"ab") == "ab"
    with pytest.raises(TypeError):
        utils.ensure_bytes(1)
    with pytest.raises(TypeError):
        utils.ensure_unicode(1)
    s = {1}
    assert utils.ensure_set(s) is s
    assert utils.ensure_set(s, copy=True) == s
    assert utils.ensure_set(s, copy=True) is not s
    assert utils.ensure_set([1, 1]) == {1}
    for value, expected in [
        (3, True),
        (np.int8(3), True),
        (3.0, True),
        (3.5, False),
        (True, False),
    ]:
        assert utils.is_integer(value) is expected, value
    df = pd.DataFrame({"a": [1]})
    assert utils.is_arraylike(np.ones(3))
    assert utils.is_arraylike(np.ones(()))
    assert not utils.is_arraylike([1, 2])
    assert not utils.is_arraylike(5)
    assert utils.is_dataframe_like(df)
    assert not utils.is_dataframe_like(df.a)
    assert utils.is_series_like(df.a)
    assert not utils.is_series_like(df.index)
    assert utils.is_index_like(df.index)
    assert not utils.is_index_like(df)
    assert utils.is_empty([])
    assert not utils.is_empty([1])
    assert utils.get_meta_library(df) is pd


def test_function_helpers():
    def f(a, b, *, c=1):
        return a

    assert utils.has_keyword(f, "c")
    assert not utils.has_keyword(f, "d")
    assert utils.get_named_args(f) == ["a", "b", "c"]
    assert utils.takes_multiple_arguments(f)
    assert not utils.takes_multiple_arguments(lambda x: x)
    assert utils.takes_multiple_arguments(lambda *a: a)
    assert not utils.takes_multiple_arguments(lambda *a: a, varargs=False)
    assert utils.getargspec(f).args == ["a", "b"]
    assert utils.partial_by_order(5, function=add, other=[(1, 10)]) == add(5, 10)
    g = utils.itemgetter(1)
    assert g([4, 5]) == 5
    assert pickle.loads(pickle.dumps(g)) == g
    assert utils.M.count([1, 3, 3], 3) == [1, 3, 3].count(3)
    assert utils.IndexCallable(lambda k: k * 2)[4] == 8
    with utils.ignoring(ZeroDivisionError):
        1 / 0  # noqa: B018


def test_dispatch_with_lazy_registration():
    d = utils.Dispatch("sizer")
    d.register(int, lambda x: "int")
    d.register((list, tuple), lambda x: "seq")
    assert d(1) == "int"
    assert d(True) == "int"
    assert d([1]) == "seq"
    assert d((1,)) == "seq"
    with pytest.raises(TypeError, match="No dispatch"):
        d(1.5)
    loaded = []

    @d.register_lazy("decimal")
    def _register():
        import decimal

        loaded.append(1)
        d.register(decimal.Decimal, lambda x: "decimal")

    import decimal

    assert d(decimal.Decimal(1)) == "decimal"
    assert d(decimal.Decimal(2)) == "decimal"
    assert loaded == [1]


def test_serializable_lock_unpickles_to_the_same_lock():
    lock = utils.SerializableLock()
    a = pickle.loads(pickle.dumps(lock))
    b = pickle.loads(pickle.dumps(lock))
    assert a.lock is lock.lock is b.lock
    with a:
        assert b.locked()
    assert not lock.locked()
    assert utils.SerializableLock("tok").lock is utils.SerializableLock("tok").lock
    assert isinstance(utils.get_scheduler_lock(delayed(1), scheduler="threads"), type(lock))


def test_operator_method_mixin():
    import operator

    class Box(utils.OperatorMethodMixin):
        def __init__(self, v):
            self.v = v

        @classmethod
        def _get_unary_operator(cls, op):
            return lambda self: Box(op(self.v))

        @classmethod
        def _get_binary_operator(cls, op, inv=False):
            if inv:
                return lambda self, other: Box(op(other, self.v))
            return lambda self, other: Box(op(self.v, other))

    for op in (operator.add, operator.sub, operator.neg, operator.and_, operator.lt):
        Box._bind_operator(op)
    assert (Box(2) + 3).v == 2 + 3
    assert (10 - Box(2)).v == 10 - 2
    assert (-Box(2)).v == -2
    assert (Box(6) & 3).v == 6 & 3
    assert (Box(1) < 2).v is True
    assert not hasattr(Box, "__rlt__")


def test_nested_data_helpers():
    assert utils.unzip([(1, 2), (3, 4)], 2) == ((1, 3), (2, 4))
    assert utils.unzip([], 3) == ((), (), ())
    assert utils.concrete([iter([1, 2]), (3, iter([4]))]) == [[1, 2], [3, [4]]]
    assert utils.deepmap(add, [[1, 2], [3]], [[10, 20], [30]]) == [[11, 22], [33]]
    assert utils.ndeepmap(2, str, [[1, 2], [3]]) == [["1", "2"], ["3"]]
    assert utils.homogeneous_deepmap(str, [[1, 2], [3, 4]]) == [["1", "2"], ["3", "4"]]
    assert utils.ndimlist([[1], [2]]) == 2
    assert utils.ndimlist(1) == 0
    assert utils.insert((1, 2, 3), 1, "x") == (1, "x", 3)
    assert list(utils.iter_chunks([1, 2, 3, 4, 1], 4)) == [[1, 2], [3], [4], [1]]
    with pytest.raises(ValueError, match="larger than max_size"):
        list(utils.iter_chunks([5], 4))
    assert utils.stringify(("a", 0)) == str(("a", 0))
    assert utils.stringify(b"x") == b"x"
    d = {("a", 0): ("a", 0), ("a", 1): ("a", 1)}
    assert utils.stringify(d, exclusive={("a", 0)}) == {("a", 0): "('a', 0)", ("a", 1): ("a", 1)}


def test_number_and_text_helpers():
    np = pytest.importorskip("numpy")
    seeds = utils.random_state_data(3, 42)
    assert len(seeds) == 3
    assert all(s.shape == (624,) and s.dtype == np.uint32 for s in seeds)
    assert all((a == b).all() for a, b in zip(seeds, utils.random_state_data(3, 42), strict=True))
    idx = utils.pseudorandom(1000, [0.5, 0.25, 0.25], random_state=1)
    assert idx.dtype == np.int8
    assert set(np.unique(idx)) == {0, 1, 2}
    assert abs((idx == 0).mean() - 0.5) < 0.06
    names = ["f10", "f2", "f1"]
    assert sorted(names, key=utils.natural_sort_key) == ["f1", "f2", "f10"]
    assert utils.memory_repr(1536) == "1.5 KB"
    assert utils.maybe_pluralize(1, "chunk") == "1 chunk"
    assert utils.maybe_pluralize(3, "chunk") == "3 chunks"
    assert utils.format_time_ago(datetime.now()) == "Just now"
    assert utils.format_time_ago(datetime.now() - timedelta(hours=6, seconds=5)) == "6 hours ago"
    assert utils.format_time_ago(datetime.now() - timedelta(days=1, seconds=5)) == "1 day ago"
    assert utils.cached_cumsum((1, 2, 3)) == (1, 3, 6)
    assert utils.cached_cumsum((1, 2, 3), initial_zero=True) == (0, 1, 3, 6)
    assert utils.cached_max((1, 5, 2)) == 5
    assert utils.byte_sizes["kib"] == 1024
    assert utils.byte_sizes["mb"] == 10**6

    class C:
        @utils.cached_property
        def x(self):
            return [1]

    c = C()
    assert c.x is c.x
    with pytest.raises(AttributeError):
        c.x = 2
    with utils.disable_gc():
        import gc

        assert not gc.isenabled()


def test_derived_from_copies_docstrings():
    class Original:
        def method(self, a, b=1):
            """Summary line.

            Parameters
            ----------
            a : int
                First.
            b : int
                Second.

            Examples
            --------
            >>> Original().method(1)
            """

    class Copy:
        @utils.derived_from(Original, ua_args=["b"])
        def method(self, a, b=1):
            """Only ``a`` is used."""
            return a

        @utils.derived_from(Original)
        def missing(self):
            return 1

    doc = Copy.method.__doc__
    assert doc.strip().startswith("Summary line.")
    assert "copied from" in doc
    assert "Only ``a`` is used." in doc
    assert "b : int  (Not supported in oxdask)" in doc
    assert "a : int  (Not supported" not in doc
    assert ">>> Original().method(1)  # doctest: +SKIP" in doc
    assert Copy().method(3) == 3
    with pytest.raises(NotImplementedError, match="doesn't support 'missing'"):
        Copy().missing()
    merged = utils.extra_titles("A\n\nNotes\n-----\nx\n\nNotes\n-----\ny")
    assert "Extra Notes\n-----------" in merged


def test_derived_from_marks_parameters_the_method_lacks_and_works_on_modules():
    import builtins

    class Foo:
        def f(a, b):
            """A super docstring

            Parameters
            ----------
            a: int
                an explanation of a
            b: float
                an explanation of b
            """

    class Bar:
        @utils.derived_from(Foo)
        def f(a, c):
            "extra docstring"

    doc = Bar.f.__doc__
    (b_line,) = [line for line in doc.split("\n") if "b:" in line]
    assert "not supported in oxdask" in b_line.lower()
    (a_line,) = [line for line in doc.split("\n") if "a:" in line]
    assert "not supported" not in a_line.lower()
    assert "extra docstring\n\n" in doc
    assert any("inconsistencies" in line for line in doc.split("\n")[:7])

    @utils.derived_from(builtins)
    def sum():
        "extra docstring"

    assert "This docstring was copied from builtins.sum" in sum.__doc__
    assert "extra docstring\n\n" in sum.__doc__


def test_skip_doctest_asciitable_and_deprecated():
    text = ">>> xxx\n>>>\n>>> # comment\n>>> 1 + 2  # doctest: +ELLIPSIS"
    expected = (
        ">>> xxx  # doctest: +SKIP\n>>>\n>>> # comment\n>>> 1 + 2  # doctest: +ELLIPSIS, +SKIP"
    )
    assert utils.skip_doctest(text) == expected
    assert utils.skip_doctest(None) == ""
    table = utils.asciitable(["fruit", "color"], [("apple", "red"), ("banana", "yellow")])
    assert table == (
        "+--------+--------+\n| fruit  | color  |\n+--------+--------+\n"
        "| apple  | red    |\n| banana | yellow |\n+--------+--------+"
    )

    @utils._deprecated(after_version="1.2.3", use_instead="bar")
    def foo():
        return "baz"

    with pytest.warns(FutureWarning, match="foo was deprecated after version 1.2.3") as rec:
        assert foo() == "baz"
    assert "Please use bar instead" in str(rec[0].message)


def test_buffers_meta_library_argspec_empty_and_method_cache():
    import array
    import functools

    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    assert utils.ensure_bytes(array.array("B", [49])) == b"1"
    assert utils.ensure_bytes(np.arange(3, dtype="u1")) == bytes([0, 1, 2])
    assert utils.ensure_unicode(np.array([49, 50], dtype="u1")) == "12"
    assert utils.get_meta_library(pd.DataFrame) is pd
    assert utils.get_meta_library(np.ndarray) is np

    def func(x, y):
        pass

    def wrapper(*args, **kwargs):
        pass

    wrapper.__wrapped__ = func

    class MyType:
        def __init__(self, x, y):
            pass

    assert utils.getargspec(functools.partial(func, 2)).args == ["x", "y"]
    assert utils.getargspec(wrapper).args == ["x", "y"]
    assert utils.getargspec(MyType).args == ["self", "x", "y"]

    class FakeShape:
        def __init__(self, shape):
            self.shape = shape

    assert utils.is_empty(FakeShape((0, 5))) is True
    assert utils.is_empty(FakeShape((3, 5))) is False
    f = utils.methodcaller("count")
    assert f is utils.methodcaller("count")
    assert utils.M.count is f
    assert pickle.loads(pickle.dumps(f)) is f
    assert "count" in dir(utils.M)
    assert f([1, 3, 3], 3) == [1, 3, 3].count(3)


def test_parse_timedelta_errors():
    assert utils.parse_timedelta("1", default="ms") == 0.001
    with pytest.raises(TypeError):
        utils.parse_timedelta("1", default=None)
    with pytest.raises(KeyError, match=r"Invalid time unit: foo\. Valid units are"):
        utils.parse_timedelta("1 foo")


def test_put_lines_show_versions_and_time_units(capsys):
    import io
    import json

    buf = io.StringIO()
    utils.put_lines(buf, [1, "a"])
    assert buf.getvalue() == "1\na"
    utils.show_versions()
    info = json.loads(capsys.readouterr().out)
    assert info["oxdask"]
    assert info["Python"].count(".") == 2
    assert utils.timedelta_sizes["ms"] == 1e-3
    assert utils.timedelta_sizes["HOURS"] == 3600
    assert utils.tds2["weeks"] == 7 * 86400
