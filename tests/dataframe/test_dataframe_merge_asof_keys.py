"""``merge_asof`` with ``left_on``/``right_on`` of other names and ``left_by``/``right_by``,
against pandas."""

import numpy as np
import pandas as pd
import pytest

import oxdask.dataframe as dd


@pytest.fixture
def frames():
    rng = np.random.default_rng(0)
    left = pd.DataFrame(
        {
            "t": np.sort(rng.integers(0, 200, 60)),
            "g": rng.integers(0, 3, 60),
            "v": rng.normal(size=60),
        }
    )
    right = pd.DataFrame(
        {
            "time": np.sort(rng.integers(0, 200, 45)),
            "grp": rng.integers(0, 3, 45),
            "v": rng.normal(size=45),
        }
    )
    return left, right


@pytest.mark.parametrize("direction", ["backward", "forward", "nearest"])
@pytest.mark.parametrize("by", [False, True])
@pytest.mark.parametrize(("nleft", "nright"), [(1, 1), (3, 2), (5, 4)])
def test_left_on_right_on_and_by(frames, direction, by, nleft, nright):
    left, right = frames
    keys = {"left_on": "t", "right_on": "time", "direction": direction}
    if by:
        keys.update(left_by="g", right_by="grp")
    expected = pd.merge_asof(left, right, **keys)
    got = dd.merge_asof(dd.from_pandas(left, nleft), dd.from_pandas(right, nright), **keys)
    pd.testing.assert_frame_equal(got.compute().reset_index(drop=True), expected)


def test_on_with_left_by_right_by_and_tolerance(frames):
    left, right = frames
    right = right.rename(columns={"time": "t"})
    keys = {"on": "t", "left_by": "g", "right_by": "grp", "tolerance": 5}
    expected = pd.merge_asof(left, right, **keys)
    got = dd.merge_asof(dd.from_pandas(left, 3), dd.from_pandas(right, 2), **keys)
    pd.testing.assert_frame_equal(got.compute().reset_index(drop=True), expected)


def test_bad_key_arguments(frames):
    left, right = (dd.from_pandas(f, 2) for f in frames)
    with pytest.raises(ValueError, match="both left_on and right_on"):
        dd.merge_asof(left, right, left_on="t")
    with pytest.raises(ValueError, match="both left_by and right_by"):
        dd.merge_asof(left, right, left_on="t", right_on="time", left_by="g")
    with pytest.raises(ValueError, match="not both"):
        dd.merge_asof(left, right, on="t", left_on="t", right_on="time")
    with pytest.raises(ValueError, match="same length"):
        dd.merge_asof(
            left, right, left_on="t", right_on="time", left_by=["g", "v"], right_by=["grp"]
        )
