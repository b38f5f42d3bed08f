"""Mergeable statistics for tree reductions: central moments (skew, kurtosis), pairwise
co-moments (corr, cov), a HyperLogLog sketch (nunique_approx) and monotonicity.

Each statistic has a ``chunk`` (one partition to a state), a ``combine`` (a list of states,
in partition order, to one state) and a finishing function. Merging uses the exact update
formulas for central moments, so partitions far from zero mean lose no precision.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

# -- central moments per column ------------------------------------------------------------------


def moments_chunk(part, columns):
    x = (part[columns] if columns is not None else part.to_frame()).to_numpy(dtype="f8")
    present = ~np.isnan(x)
    n = present.sum(axis=0).astype("f8")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(x, axis=0) / np.maximum(n, 1), 0.0)
        d = np.where(present, x - mean, 0.0)
    return {
        "n": n,
        "mean": mean,
        "m2": (d**2).sum(axis=0),
        "m3": (d**3).sum(axis=0),
        "m4": (d**4).sum(axis=0),
        "nan": (~present).any(axis=0),
    }


def _merge_moments(a, b):
    na, nb = a["n"], b["n"]
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(n > 0, n, 1.0)
        delta = b["mean"] - a["mean"]
        mean = a["mean"] + delta * nb / safe
        m2 = a["m2"] + b["m2"] + delta**2 * na * nb / safe
        m3 = (
            a["m3"]
            + b["m3"]
            + delta**3 * na * nb * (na - nb) / safe**2
            + 3 * delta * (na * b["m2"] - nb * a["m2"]) / safe
        )
        m4 = (
            a["m4"]
            + b["m4"]
            + delta**4 * na * nb * (na**2 - na * nb + nb**2) / safe**3
            + 6 * delta**2 * (na**2 * b["m2"] + nb**2 * a["m2"]) / safe**2
            + 4 * delta * (na * b["m3"] - nb * a["m3"]) / safe
        )
    empty_a, empty_b = na == 0, nb == 0
    pick = {"mean": mean, "m2": m2, "m3": m3, "m4": m4}
    for key, value in pick.items():
        value = np.where(empty_a, b[key], value)
        pick[key] = np.where(empty_b, a[key], value)
    return {"n": n, **pick, "nan": a["nan"] | b["nan"]}


def moments_combine(states):
    out = states[0]
    for s in states[1:]:
        out = _merge_moments(out, s)
    return out


def _finish(state, nan_policy):
    if nan_policy not in ("propagate", "omit"):
        raise ValueError(f"nan_policy must be 'propagate' or 'omit', not {nan_policy!r}")
    n = state["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        m2, m3, m4 = state["m2"] / n, state["m3"] / n, state["m4"] / n
    bad = state["nan"] if nan_policy == "propagate" else np.zeros_like(state["nan"])
    return n, m2, m3, m4, bad


def skew_aggregate(states, index, bias, nan_policy, scalar):
    n, m2, m3, _, bad = _finish(moments_combine(states), nan_policy)
    with np.errstate(invalid="ignore", divide="ignore"):
        g1 = np.where(m2 > 0, m3 / m2**1.5, np.nan)
        if not bias:
            g1 = np.where(n > 2, g1 * np.sqrt(n * (n - 1)) / (n - 2), np.nan)
    g1 = np.where(bad, np.nan, g1)
    return g1[0] if scalar else pd.Series(g1, index=index, dtype="f8")


def kurtosis_aggregate(states, index, fisher, bias, nan_policy, scalar):
    n, m2, _, m4, bad = _finish(moments_combine(states), nan_policy)
    with np.errstate(invalid="ignore", divide="ignore"):
        g2 = np.where(m2 > 0, m4 / m2**2 - 3.0, np.nan)
        if not bias:
            g2 = np.where(n > 3, ((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)), np.nan)
    g2 = np.where(bad, np.nan, g2 + (0.0 if fisher else 3.0))
    return g2[0] if scalar else pd.Series(g2, index=index, dtype="f8")


# -- pairwise co-moments ---------------------------------------------------------------------------


def comoments_chunk(part, columns):
    x = part[columns].to_numpy(dtype="f8")
    present = ~np.isnan(x)
    mask = present.astype("f8")
    counts = present.sum(axis=0)
    shift = np.where(present, x, 0.0).sum(axis=0) / np.maximum(counts, 1)
    z = np.where(present, x - shift, 0.0)
    n = mask.T @ mask
    sx = z.T @ mask  # [i, j]: sum of z_i over rows where i and j are both present
    safe = np.where(n > 0, n, 1.0)
    mean = sx / safe
    c = z.T @ z - n * mean * mean.T
    m2 = (z * z).T @ mask - n * mean * mean
    return {"n": n, "mean": mean + shift[:, None], "c": c, "m2": m2, "rows": len(x)}


def comoments_combine(states):
    out = states[0]
    for b in states[1:]:
        a = out
        na, nb = a["n"], b["n"]
        n = na + nb
        safe = np.where(n > 0, n, 1.0)
        d = b["mean"] - a["mean"]
        d = np.where((na > 0) & (nb > 0), d, 0.0)
        mean = np.where(na > 0, a["mean"] + d * nb / safe, b["mean"])
        out = {
            "n": n,
            "mean": mean,
            "c": a["c"] + b["c"] + d * d.T * na * nb / safe,
            "m2": a["m2"] + b["m2"] + d * d * na * nb / safe,
            "rows": a["rows"] + b["rows"],
        }
    return out


def corr_cov_aggregate(states, columns, corr, min_periods, ddof, scalar):
    s = comoments_combine(states)
    n = s["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        if corr:
            out = np.clip(s["c"] / np.sqrt(s["m2"] * s["m2"].T), -1.0, 1.0)
            np.fill_diagonal(out, np.where(np.diag(s["m2"]) > 0, 1.0, np.nan))
        else:
            if (n != s["rows"]).any():
                ddof = 1  # as pandas: ddof applies only without missing values
            out = s["c"] / (n - ddof)
            out = np.where(n - ddof > 0, out, np.nan)
    out = np.where(n >= max(min_periods or 1, 1), out, np.nan)
    if scalar:
        return out[0, 1]
    return pd.DataFrame(out, index=columns, columns=columns)


# -- HyperLogLog -----------------------------------------------------------------------------------

_B = 16  # 65,536 registers: a standard error of about 0.4%


def hll_chunk(part):
    registers = np.zeros(1 << _B, dtype=np.uint8)
    if len(part) == 0:
        return registers
    hashes = pd.util.hash_pandas_object(part, index=False).to_numpy(dtype=np.uint64)
    index = (hashes >> np.uint64(64 - _B)).astype(np.intp)
    rest = hashes & np.uint64((1 << (64 - _B)) - 1)
    _, exponent = np.frexp(rest.astype("f8"))  # bit length of the remaining bits
    rank = np.where(rest == 0, 64 - _B + 1, 64 - _B - exponent + 1).astype(np.uint8)
    np.maximum.at(registers, index, rank)
    return registers


def hll_combine(registers):
    return np.maximum.reduce(registers)


def hll_estimate(registers):
    r = hll_combine(registers)
    m = float(r.size)
    alpha = 0.7213 / (1 + 1.079 / m)
    estimate = alpha * m * m / np.sum(np.ldexp(1.0, -r.astype(np.int64)))
    zeros = int((r == 0).sum())
    if estimate <= 2.5 * m and zeros:
        estimate = m * np.log(m / zeros)
    return round(float(estimate))


# -- monotonicity ----------------------------------------------------------------------------------


def monotonic_chunk(part, increasing):
    values = part.to_numpy() if hasattr(part, "to_numpy") else np.asarray(part)
    if len(values) == 0:
        return None
    ok = part.is_monotonic_increasing if increasing else part.is_monotonic_decreasing
    return (bool(ok), values[0], values[-1])


def monotonic_combine(states, increasing):
    states = [s for s in states if s is not None]
    if not states:
        return None
    ok = all(s[0] for s in states)
    for (_, _, last), (_, first, _) in itertools.pairwise(states):
        ok = ok and bool(last <= first if increasing else last >= first)
    return (ok, states[0][1], states[-1][2])


def monotonic_aggregate(states, increasing):
    merged = monotonic_combine(states, increasing)
    return True if merged is None else merged[0]
