"""NumPy protocol support (``__array_function__`` dispatch) and the HTML repr of arrays."""

from __future__ import annotations

import math

from oxdask.array._chunks import _isnan


def _array_function(func, types, args, kwargs):
    import oxdask.array as da

    mod = getattr(func, "__module__", "") or ""
    parts = mod.split(".")[1:] if mod.startswith("numpy") else []
    target = da
    if parts[:2] == ["lib", "stride_tricks"]:  # np.lib.stride_tricks.sliding_window_view
        target, parts = da.lib.stride_tricks, []
    for p in parts:
        if p in (
            "core",
            "_core",
            "lib",
            "_function_base_impl",
            "fromnumeric",
            "numeric",
            "multiarray",
            "shape_base",
            "_shape_base_impl",
            "_linalg",
            "linalg",
        ):
            if p in ("linalg", "_linalg"):
                target = da.linalg
            continue
        target = getattr(target, p, None)
        if target is None:
            break
    fn = getattr(target, func.__name__, None) if target is not None else None
    if fn is None:
        fn = getattr(da, func.__name__, None)
    if fn is None or fn is func:
        return NotImplemented
    return fn(*args, **kwargs)


def _fmt_bytes(n) -> str:
    if _isnan(n):
        return "unknown"
    for unit, k in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("kiB", 2**10)):
        if n >= k * 0.9:
            return f"{n / k:.2f} {unit}"
    return f"{int(n)} B"


def _html(x) -> str:
    chunk_bytes = math.prod(x.chunksize) * x.dtype.itemsize
    rows = [
        ("Bytes", _fmt_bytes(x.nbytes), _fmt_bytes(chunk_bytes)),
        ("Shape", str(x.shape), str(x.chunksize)),
    ]
    body = "".join(f"<tr><th> {a} </th><td> {b} </td><td> {c} </td></tr>" for a, b, c in rows)
    body += (
        f'<tr><th> Dask graph </th><td colspan="2"> {x.npartitions} chunks in '
        f"{len(x.dask.layers)} graph layers </td></tr>"
    )
    body += f'<tr><th> Data type </th><td colspan="2"> {x.dtype} numpy.ndarray </td></tr>'
    table = (
        "<table><thead><tr><td> </td><th> Array </th><th> Chunk </th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
    try:
        picture = x.to_svg(size=120)
    except NotImplementedError:  # unknown chunk sizes, 0-d arrays: the table alone
        return table
    return (
        f'<table><tr><td style="vertical-align: top">{table}</td>'
        f'<td style="vertical-align: top">{picture}</td></tr></table>'
    )


def _inline(x, max_width: int) -> str:
    """One line for xarray's text repr: the chunk shape and the chunk type."""
    text = f"dask.array<chunksize={x.chunksize}, meta=np.ndarray>"
    return text if len(text) <= max_width else text[: max(max_width - 3, 0)] + "..."
