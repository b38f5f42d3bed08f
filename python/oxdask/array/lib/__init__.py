"""``oxdask.array.lib``: as ``numpy.lib``, for ``stride_tricks.sliding_window_view``."""

from oxdask.array.lib import stride_tricks

__all__ = ["stride_tricks"]
