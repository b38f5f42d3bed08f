"""Test-only stand-ins for the Dask-internal helpers that Dask's test files import.

Dask's test files import a few things that are not part of Dask's public API (test utilities,
version flags, task-spec classes). When the suite runs against oxdask, ``dask.X`` is oxdask's
``oxdask.X``; this module supplies, for the test process only, the helpers oxdask does not
have. Names that have no stand-in here become placeholders that raise when used, so that a
file still collects and only the tests that use them fail (the runner lists them).
"""

from __future__ import annotations

import contextlib
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


# -- test utilities oxdask does not have (its utils_test, utils and array.utils have the rest)


def slowinc(x, delay=0.02):
    import time

    time.sleep(delay)
    return x + 1


def slowdec(x, delay=0.02):
    import time

    time.sleep(delay)
    return x - 1


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

    def make_data_frame():  # 30 rows of random numbers, letters as the index
        import string

        import numpy as np

        index = list(string.ascii_letters[:30])
        return pd.DataFrame(np.random.randn(30, 4), index=index, columns=list("ABCD"))

    def make_time_data_frame():  # the same on business days from 2000
        frame = make_data_frame()
        frame.index = pd.date_range("2000", periods=30, freq="B")
        return frame

    out["makeDataFrame"] = make_data_frame
    out["makeTimeDataFrame"] = make_time_data_frame
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
    "utils_test": {"slowinc": slowinc, "slowdec": slowdec},
    "array.utils": {"_check_dsk": lambda dsk: None},
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
