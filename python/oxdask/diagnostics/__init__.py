"""Diagnostics for the local schedulers (``dask.diagnostics`` names)."""

from oxdask.callbacks import Callback
from oxdask.diagnostics.progress import ProgressBar

__all__ = ["Callback", "ProgressBar"]
