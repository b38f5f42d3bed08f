"""Test-only stand-ins for the Dask-internal helpers that Dask's test files import.

Dask's test files import a few things that are not part of Dask's public API (test utilities,
version flags, task-spec classes). When the suite runs against oxdask, ``dask.X`` is oxdask's
``oxdask.X``; this module supplies, for the test process only, the helpers oxdask does not
have. Names that have no stand-in here become placeholders that raise when used, so that a
file still collects and only the tests that use them fail (the runner lists them).
"""

from __future__ import annotations

import contextlib
import operator
import os
import shutil
import tempfile
import warnings

MISSING_NOTE = "is a Dask name that oxdask does not provide"


def placeholder(module: str, name: str):
    """A stand-in that fails as soon as a test uses it."""

    def fail(*args, **kwargs):
        raise NotImplementedError(f"dask.{module}.{name} {MISSING_NOTE}")

    fail.__name__ = name
    fail.__qualname__ = name
    fail._dask_suite_placeholder = True
    return fail


# -- test utilities ------------------------------------------------------------------------------


def inc(x):
    return x + 1


def dec(x):
    return x - 1


def add(x, y):
    return x + y


def slowinc(x, delay=0.02):
    import time

    time.sleep(delay)
    return x + 1


def slowadd(a, b, delay=0.02):
    import time

    time.sleep(delay)
    return a + b


def slowdec(x, delay=0.02):
    import time

    time.sleep(delay)
    return x - 1


def import_or_none(name):
    try:
        return __import__(name, fromlist=[""])
    except ImportError:
        return None


def hlg_layer(hlg, prefix):
    for key, layer in hlg.layers.items():
        if key.startswith(prefix):
            return layer
    raise KeyError(f"no layer starts with {prefix!r}")


@contextlib.contextmanager
def tmpfile(extension="", dir=None):
    extension = extension if not extension or extension.startswith(".") else "." + extension
    handle, filename = tempfile.mkstemp(extension, dir=dir)
    os.close(handle)
    os.remove(filename)
    try:
        yield filename
    finally:
        if os.path.isdir(filename):
            shutil.rmtree(filename, ignore_errors=True)
        elif os.path.exists(filename):
            with contextlib.suppress(OSError):
                os.remove(filename)


@contextlib.contextmanager
def tmpdir(dir=None):
    dirname = tempfile.mkdtemp(dir=dir)
    try:
        yield dirname
    finally:
        shutil.rmtree(dirname, ignore_errors=True)


@contextlib.contextmanager
def filetexts(d, open=open, mode="t", use_tmpdir=True):
    with tmpdir() if use_tmpdir else contextlib.nullcontext(os.getcwd()) as dirname:
        old = os.getcwd()
        os.chdir(dirname)
        try:
            for name, text in d.items():
                if os.path.dirname(name):
                    os.makedirs(os.path.dirname(name), exist_ok=True)
                with open(name, "w" + mode) as f:
                    f.write(text)
            yield list(d)
        finally:
            os.chdir(old)


class _MethodCaller:
    def __getattr__(self, name):
        return operator.methodcaller(name)


def _bag_assert_eq(a, b, scheduler="sync"):
    import oxdask

    if hasattr(a, "__dask_graph__"):
        a = oxdask.compute(a, scheduler=scheduler)[0]
    if hasattr(b, "__dask_graph__"):
        b = oxdask.compute(b, scheduler=scheduler)[0]
    if isinstance(a, dict | list | tuple) or hasattr(a, "__iter__"):
        a, b = list(a), list(b)
    assert a == b, f"{a!r} != {b!r}"


def _array_assert_eq(a, b, **kwargs):
    import numpy as np

    import oxdask

    a = oxdask.compute(a, scheduler="sync")[0] if hasattr(a, "__dask_graph__") else a
    b = oxdask.compute(b, scheduler="sync")[0] if hasattr(b, "__dask_graph__") else b
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), equal_nan=True)
    return True


def _same_keys(a, b):
    return sorted(map(str, a.__dask_keys__())) == sorted(map(str, b.__dask_keys__()))


def _allclose(a, b, equal_nan=False, **kwargs):
    import numpy as np

    return bool(np.allclose(np.asarray(a), np.asarray(b), equal_nan=equal_nan, **kwargs))


def _numpy_flags():
    import numpy as np

    version = tuple(int(p) for p in np.__version__.split(".")[:2])
    flags = {
        f"NUMPY_GE_{major}{minor}0": version >= (major, minor)
        for major, minor in [(1, 25), (1, 26), (2, 0), (2, 1), (2, 2), (2, 3), (2, 4)]
    }
    flags["AxisError"] = np.exceptions.AxisError
    flags["ComplexWarning"] = np.exceptions.ComplexWarning
    return flags


def _pandas_compat():
    import pandas as pd
    import pandas._testing as tm

    version = tuple(int(p) for p in pd.__version__.split(".")[:2])
    out = {
        f"PANDAS_GE_{major}{minor}0": version >= (major, minor)
        for major, minor in [(2, 0), (2, 1), (2, 2), (2, 3), (3, 0), (3, 1)]
    }
    out["tm"] = tm
    out["assert_categorical_equal"] = tm.assert_categorical_equal

    @contextlib.contextmanager
    def check_observed_deprecation(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield

    out["check_observed_deprecation"] = check_observed_deprecation
    return out


def _to_pyarrow_string(df):
    import pandas as pd

    def convert(obj):
        if isinstance(obj, pd.Series):
            if obj.dtype == object or pd.api.types.is_string_dtype(obj.dtype):
                with contextlib.suppress(TypeError, ValueError):
                    return obj.astype(pd.StringDtype("pyarrow"))
            return obj
        return obj.apply(convert) if isinstance(obj, pd.DataFrame) else obj

    if isinstance(df, pd.DataFrame):
        return df.assign(**{c: convert(df[c]) for c in df.columns})
    return convert(df)


# -- what each module gets -----------------------------------------------------------------------

# For each Dask module (name after ``dask.``): names supplied when oxdask's module lacks them.
EXTRAS: dict[str, dict[str, object]] = {
    "utils_test": {
        "inc": inc,
        "dec": dec,
        "add": add,
        "slowinc": slowinc,
        "slowadd": slowadd,
        "slowdec": slowdec,
        "import_or_none": import_or_none,
        "hlg_layer": hlg_layer,
    },
    "utils": {"tmpfile": tmpfile, "tmpdir": tmpdir, "filetexts": filetexts, "M": _MethodCaller()},
    "array.utils": {
        "assert_eq": _array_assert_eq,
        "same_keys": _same_keys,
        "allclose": _allclose,
        "_check_dsk": lambda dsk: None,
    },
    "bag.utils": {"assert_eq": _bag_assert_eq},
    "_compatibility": {"WINDOWS": False, "LINUX": True, "MACOS": False},
    "dataframe._pyarrow": {"to_pyarrow_string": _to_pyarrow_string},
    "dataframe.utils": {"pyarrow_strings_enabled": lambda: True},
}
LAZY_EXTRAS = {
    "array.numpy_compat": _numpy_flags,
    "dataframe._compat": _pandas_compat,
}


def extras_for(module: str) -> dict[str, object]:
    out = dict(EXTRAS.get(module, {}))
    if module in LAZY_EXTRAS:
        out.update(LAZY_EXTRAS[module]())
    return out


# Modules that exist only in Dask and only for its tests or internals: created empty when
# oxdask has none, then filled from EXTRAS and placeholders.
SHIM_ONLY = {
    "utils_test",
    "_compatibility",
    "_task_spec",
    "typing",
    "array.numpy_compat",
    "dataframe._compat",
    "dataframe._pyarrow",
    "dataframe.backends",
    "array.utils",
    "bag.utils",
    "blockwise",
}
