"""A picture of an array's chunking as SVG (``Array.to_svg``, and the Jupyter repr): the
array as a rectangle (or a box, for three or more dimensions) with a line at every chunk
boundary, sides proportional to the shape on a logarithmic-ish scale."""

from __future__ import annotations

import math

__all__ = ["svg"]

_MAX_LINES = 100  # per axis; more boundaries than this draw as a shaded face


def _sides(shape: tuple[int, ...], size: int) -> list[float]:
    """Drawn lengths: proportional for similar sizes, compressed when they differ a lot,
    none shorter than a tenth of ``size``."""
    logs = [math.log1p(max(s, 0)) for s in shape]
    top = max(logs) or 1.0
    return [max(size * (v / top) ** 1.5, size / 10) for v in logs]


def _ticks(chunks: tuple[int, ...], length: float) -> list[float]:
    total = sum(chunks) or 1
    out, pos = [0.0], 0
    for c in chunks:
        pos += c
        out.append(length * pos / total)
    if len(out) > _MAX_LINES:
        out = [out[0], out[-1]]
    return out


def _face(x0, y0, dx_vec, dy_vec, ticks_a, ticks_b, shade) -> list[str]:
    """A parallelogram from (x0, y0) spanned by unit vectors ``dx_vec``, ``dy_vec`` with a
    line at every tick of each side."""
    (ax, ay), (bx, by) = dx_vec, dy_vec
    la, lb = ticks_a[-1], ticks_b[-1]
    lines = []
    for t in ticks_b:
        x1, y1 = x0 + bx * t, y0 + by * t
        lines.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x1 + ax * la:.1f}" '
            f'y2="{y1 + ay * la:.1f}" style="stroke-width:{2 if t in (0, lb) else 1}" />'
        )
    for t in ticks_a:
        x1, y1 = x0 + ax * t, y0 + ay * t
        lines.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x1 + bx * lb:.1f}" '
            f'y2="{y1 + by * lb:.1f}" style="stroke-width:{2 if t in (0, la) else 1}" />'
        )
    corners = [(x0, y0), (x0 + ax * la, y0 + ay * la)]
    corners += [(x0 + ax * la + bx * lb, y0 + ay * la + by * lb), (x0 + bx * lb, y0 + by * lb)]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in corners)
    fill = "#8B4903" if shade else "#ECB172"
    lines.append(f'<polygon points="{points}" style="fill:{fill}A0;stroke-width:0" />')
    return lines


def svg(chunks, size: int = 200, **kwargs) -> str:
    """The SVG text for an array of these chunks (a tuple of tuples of ints)."""
    if any(math.isnan(c) for axis in chunks for c in axis):
        raise NotImplementedError("Can not generate SVG with unknown chunks")
    if not isinstance(size, int | float) or size <= 0:
        raise ValueError(f"size must be a positive number, not {size!r}")
    chunks = tuple(tuple(int(c) for c in axis) for axis in chunks)
    if len(chunks) == 0:
        raise NotImplementedError("Can not generate SVG of a 0-d array")
    if len(chunks) == 1:
        chunks = ((1,), *chunks)
    shape = tuple(sum(c) for c in chunks)
    *lead, rows, cols = chunks
    depth = lead[-1] if lead else None
    sides = _sides(shape[-3:] if depth else shape[-2:], size)
    h, w = sides[-2], sides[-1]
    d = sides[0] * 0.6 if depth else 0.0
    margin = 30
    ox, oy = margin + d * 0.7, margin
    rt, ct = _ticks(rows, h), _ticks(cols, w)
    shapes = []
    if depth:
        dt = _ticks(depth, d)
        # the top and left faces recede up-left along the depth axis
        shapes += _face(ox, oy + d * 0.7, (1, 0), (-0.7, -0.7), ct, dt, len(ct) == 2)
        shapes += _face(ox, oy + d * 0.7, (0, 1), (-0.7, -0.7), rt, dt, len(rt) == 2)
        oy += d * 0.7
    shapes += _face(ox, oy, (1, 0), (0, 1), ct, rt, len(ct) == 2 or len(rt) == 2)
    width, height = ox + w + margin + 20, oy + h + margin
    label = "".join(
        f'<text x="{ox + w / 2:.1f}" y="{oy + h + 20:.1f}" font-size="1.0rem" '
        f'text-anchor="middle">{shape[-1]}</text>'
        f'<text x="{ox + w + 15:.1f}" y="{oy + h / 2:.1f}" font-size="1.0rem" '
        f'text-anchor="middle" transform="rotate(-90,{ox + w + 15:.1f},{oy + h / 2:.1f})">'
        f"{shape[-2]}</text>"
    )
    if lead:
        label += (
            f'<text x="{margin:.1f}" y="{oy - d * 0.35 + 4:.1f}" font-size="1.0rem" '
            f'text-anchor="middle">{" &#215; ".join(str(s) for s in shape[:-2])}</text>'
        )
    body = "\n  ".join([*shapes, label])
    return (
        f'<svg width="{width:.0f}" height="{height:.0f}" style="stroke:rgb(0,0,0);'
        f'stroke-width:1" xmlns="http://www.w3.org/2000/svg">\n  {body}\n</svg>'
    )
