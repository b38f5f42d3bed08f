"""The ``.str``, ``.dt`` and ``.cat`` accessors of Series: pandas' accessors, partition-wise.

Attribute access is resolved on the meta: a property of the pandas accessor (``.dt.hour``)
becomes a partition-wise attribute read, a method (``.str.upper()``) a partition-wise call.
"""

from __future__ import annotations

import pandas as pd

from oxdask.dataframe import methods

__all__ = ["CategoricalAccessor", "DatetimeAccessor", "StringAccessor"]


class _Accessor:
    _accessor = ""
    _not_partitionwise: frozenset[str] = frozenset()

    def __init__(self, series):
        meta = series._meta
        try:
            methods.accessor_of(meta, self._accessor)
        except AttributeError as e:
            raise AttributeError(
                f"Can only use .{self._accessor} accessor with {self._kind} values "
                f"(the Series has dtype {meta.dtype})"
            ) from e
        self._series = series

    @property
    def _kind(self) -> str:
        return {"str": "string", "dt": "datetimelike", "cat": "categorical"}[self._accessor]

    def __dir__(self):
        return sorted(
            set(dir(methods.accessor_of(self._series._meta, self._accessor)))
            | set(super().__dir__())
        )

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        if key in self._not_partitionwise:
            raise NotImplementedError(f".{self._accessor}.{key} is not supported")
        s = self._series
        target = getattr(methods.accessor_of(s._meta_nonempty, self._accessor), key)
        if callable(target):
            return _Method(s, self._accessor, key)
        from oxdask.dataframe.partitionwise import emulate, map_partitions

        meta = emulate(methods.accessor_property, s, self._accessor, key)
        return map_partitions(
            methods.accessor_property,
            s,
            self._accessor,
            key,
            meta=meta,
            enforce_metadata=False,
            token=f"{self._accessor}-{key}",
        )


class _Method:
    """A partition-wise accessor method, built when called."""

    def __init__(self, series, accessor, name):
        self.series = series
        self.accessor = accessor
        self.name = name

    def __call__(self, *args, **kwargs):
        from oxdask.dataframe.partitionwise import emulate, map_partitions

        s = self.series
        splits = self.accessor == "str" and self.name in ("split", "rsplit")
        n = kwargs.get("n", args[1] if len(args) > 1 else -1)
        if splits and kwargs.get("expand") and n in (-1, None, 0):
            raise NotImplementedError(
                "To use the expand parameter you must specify the number of expected "
                "splits with the n= parameter. Usually n splits result in n+1 output "
                "columns."
            )
        meta = emulate(methods.call_accessor, s, self.accessor, self.name, *args, **kwargs)
        if splits and kwargs.get("expand"):
            meta = pd.DataFrame({i: pd.Series([], dtype=s._meta.dtype) for i in range(n + 1)})
        return map_partitions(
            methods.call_accessor,
            s,
            self.accessor,
            self.name,
            *args,
            meta=meta,
            enforce_metadata=False,
            token=f"{self.accessor}-{self.name}",
            **kwargs,
        )


class StringAccessor(_Accessor):
    """``Series.str``: pandas string methods, partition by partition."""

    _accessor = "str"

    def cat(self, others=None, sep=None, na_rep=None):
        """Concatenate strings, element-wise with aligned Series, or all values with
        ``others=None`` (then the result is a Scalar)."""
        s = self._series
        if others is None:
            from oxdask.dataframe.reductions import reduction

            return reduction(s, _StrCat(sep, na_rep), _StrCatAgg(sep), meta="", token="str-cat")
        return _Method(s, "str", "cat")(others, sep=sep, na_rep=na_rep)


class _StrCat:
    def __init__(self, sep, na_rep):
        self.sep = sep
        self.na_rep = na_rep

    def __call__(self, part):
        return part.str.cat(sep=self.sep, na_rep=self.na_rep) if len(part) else None


class _StrCatAgg:
    def __init__(self, sep):
        self.sep = sep

    def __call__(self, values):
        return (self.sep or "").join(v for v in values if v is not None)


class DatetimeAccessor(_Accessor):
    """``Series.dt``: pandas datetime properties and methods, partition by partition."""

    _accessor = "dt"


class CategoricalAccessor(_Accessor):
    """``Series.cat``: categorical properties and methods, partition by partition.

    ``categories`` and ``codes`` need known categories (see
    :meth:`oxdask.dataframe.DataFrame.categorize`).
    """

    _accessor = "cat"

    @property
    def known(self) -> bool:
        """Whether the categories are known (not a placeholder)."""
        from oxdask.dataframe.categorical import has_known_categories

        return has_known_categories(self._series._meta)

    @property
    def categories(self):
        """The categories (from the meta)."""
        if not self.known:
            raise NotImplementedError(
                "`df.column.cat.categories` with unknown categories is not supported.  "
                "Please use `column.cat.as_known()` or `df.categorize()` beforehand to "
                "ensure known categories"
            )
        return self._series._meta.cat.categories

    @property
    def ordered(self) -> bool:
        return self._series._meta.cat.ordered

    def as_known(self):
        """The Series with its categories computed."""
        from oxdask.dataframe.categorical import categorize_series

        return categorize_series(self._series)

    def as_unknown(self):
        """The Series with its categories marked unknown."""
        from oxdask.dataframe.categorical import as_unknown

        return as_unknown(self._series)
