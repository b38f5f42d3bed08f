"""Diagnostics for the local schedulers (``dask.diagnostics`` names)."""

from oxdask.callbacks import Callback
from oxdask.diagnostics.profile import CacheProfiler, Profiler, ResourceProfiler
from oxdask.diagnostics.profile_visualize import visualize
from oxdask.diagnostics.progress import ProgressBar
from oxdask.diagnostics.tqdm_callback import TqdmCallback

__all__ = [
    "CacheProfiler",
    "Callback",
    "Profiler",
    "ProgressBar",
    "ResourceProfiler",
    "TqdmCallback",
    "visualize",
]
