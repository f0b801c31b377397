"""Learner checks of lesson 06, clicks to masks.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy import ndimage as ndi

from ._core import _count, _number, _plain, learner_check
from ._refuse import LIBRARY, Watch

__all__ = ["check_largest_region_click", "check_noc_with_proposal"]


def _largest_region_click(pred: Any, target: Any) -> tuple[int, int, bool]:
    """The reference answer: the click at the centre of the largest (by area) connected error region.

    Regions are 4-connected; the centre is the region's pixel farthest from any pixel outside it
    (the image border counts as outside); ties go to the first pixel in row-major order, and a
    missed region wins a tie in area against a false one.

    >>> t = np.zeros((5, 9), bool); t[1:4, 1:4] = True
    >>> _largest_region_click(np.zeros_like(t), t)
    (2, 2, True)
    """
    p, t = np.asarray(pred, bool), np.asarray(target, bool)
    best: tuple[int, int, int, bool] | None = None  # (area, row, col, positive)
    for positive, err in ((True, t & ~p), (False, p & ~t)):
        labels, n = ndi.label(err)
        if not n:
            continue
        areas = np.bincount(labels.ravel())[1:]
        k = int(np.argmax(areas)) + 1
        region = labels == k
        d = ndi.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
        r, c = np.unravel_index(int(np.argmax(d)), d.shape)
        if best is None or areas[k - 1] > best[0]:
            best = (int(areas[k - 1]), int(r), int(c), positive)
    if best is None:
        raise ValueError("pred equals target: no error to click on")
    return best[1], best[2], best[3]


def _click(value: Any) -> tuple[int, int, bool]:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise AssertionError(f"return three values (row, col, positive), e.g. (12, 30, True); yours returned {value!r}")
    r, c, positive = value
    if not isinstance(positive, (bool, np.bool_)):
        raise AssertionError(f"positive must be True or False (a missed region or a false one), got {positive!r}")
    return int(_number(r, "row")), int(_number(c, "col")), bool(positive)


@learner_check
def check_largest_region_click(click: Callable) -> None:
    """Check ``click(pred, target) -> (row, col, positive)``: the centre of the largest error region by area.

    A wrong answer fails with a hint that names its mistake:

    >>> check_largest_region_click(lambda pred, target: (0, 0, True))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: nothing predicted, the object is rows 4-15, cols 4-15: click at its centre ...
    """
    ref = _largest_region_click
    call = Watch(LIBRARY)

    def ask(p: np.ndarray, t: np.ndarray) -> tuple[int, int, bool]:
        return _click(call(click, p, t, what="click"))

    def swapped(got: tuple[int, int, bool], want: tuple[int, int, bool]) -> None:
        if got[:2] != want[:2] and got[:2] == want[1::-1]:
            raise AssertionError(f"expected (row, col) = {want[:2]}, got {got[:2]}: the same pixel with row and column "
                                 f"swapped -- np.unravel_index(np.argmax(d), d.shape) gives (row, col) in that order")
    target = np.zeros((20, 20), bool)
    target[4:16, 4:16] = True
    got = ask(np.zeros_like(target), target)
    if got[2] is not True:
        raise AssertionError("nothing predicted, so the only error is the missed object: the click must be positive")
    if got[:2] != ref(np.zeros_like(target), target)[:2]:
        raise AssertionError(f"nothing predicted, the object is rows 4-15, cols 4-15: click at its centre (the farthest "
                             f"pixel from the region's border), got {got[:2]}")
    # everything predicted: the false region is the frame around the object
    got = ask(np.ones_like(target), target)
    if got[2] is not False:
        raise AssertionError("pred covers the whole image: the errors are false pixels, so the click must be negative")
    # a long thin missed strip (area 72) and a compact false blob (area 25): area decides, not depth
    t = np.zeros((24, 40), bool)
    t[2:4, 2:38] = True
    p = t.copy()
    p[2:4, 2:38] = False
    p[12:17, 12:17] = True
    want = ref(p, t)
    got = ask(p, t)
    if got[2] is False:
        raise AssertionError("a missed 2×36 strip of 72 px beats a false 5×5 blob of 25 px: the largest region is "
                             "chosen by its AREA (pixel count), not by how deep its centre lies")
    swapped(got, want)
    if got != want:
        raise AssertionError(f"the missed strip is rows 2-3, cols 2-37: every pixel of a 2-px strip is 1 px deep, so the "
                             f"click is its deepest pixel first in row-major order, {want[:2]}; got {got[:2]}")
    # a missed region touching the image border: the border counts as outside
    t = np.zeros((12, 12), bool)
    t[:, :6] = True
    p = np.zeros_like(t)
    p[:, 3:6] = True
    want = ref(p, t)
    got = ask(p, t)
    swapped(got, want)
    if got[:2] != want[:2]:
        raise AssertionError(f"the missed region is cols 0-2 along the image's left edge: pixels on the edge are at the "
                             f"region's border too (pad the error mask with False before the distance transform), "
                             f"so the centre is column 1: {want[:2]}; got {got[:2]}")
    # two missed regions: click in the bigger one, even if it comes second
    t = np.zeros((20, 30), bool)
    t[2:6, 2:6] = True
    t[8:18, 12:28] = True
    got = ask(np.zeros_like(t), t)
    swapped(got, ref(np.zeros_like(t), t))
    if got != ref(np.zeros_like(t), t):
        raise AssertionError(f"two missed objects (16 px and 160 px): click at the centre of the larger one, "
                             f"{ref(np.zeros_like(t), t)[:2]}; got {got[:2]} -- label the regions (ndimage.label)")
    rng = np.random.default_rng(6)
    for _ in range(20):
        t = ndi.binary_opening(rng.random((24, 24)) < 0.6, iterations=2)
        p = np.roll(t, int(rng.integers(-3, 4)), axis=int(rng.integers(0, 2))) | (rng.random(t.shape) < 0.02)
        if (p == t).all():
            continue
        want, got = ref(p, t), ask(p, t)
        swapped(got, want)
        if got != want:
            raise AssertionError(f"on a random mask pair expected {want}, got {got}: label the missed and the false pixels "
                                 f"separately, pick the region with the most pixels, then its deepest pixel")
    call.refuse("click")
    print("check_largest_region_click: all cases pass")


def _noc_pair(value: Any) -> tuple[float, bool]:
    value = _plain(value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise AssertionError(f"return two values (clicks, reached), e.g. (3, True) or (20, False); yours returned {value!r}")
    clicks, reached = value
    if not isinstance(reached, (bool, np.bool_)):
        raise AssertionError(f"reached must be True or False (did the IoU reach the threshold within the cap?), "
                             f"got {reached!r}")
    clicks = _count(clicks, "noc's clicks")
    return (int(clicks) if float(clicks).is_integer() else clicks), bool(reached)


@learner_check
def check_noc_with_proposal(noc: Callable) -> None:
    """Check ``noc(ious, threshold, max_clicks) -> (clicks, reached)`` where ``ious[0]`` is the proposal's IoU.

    A wrong answer fails with a hint that names its mistake:

    >>> check_noc_with_proposal(lambda ious, threshold, max_clicks: (max_clicks, False))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: the proposal's IoU 0.9 already reaches 0.85: (0, True), got (20, False)
    """
    call = Watch(LIBRARY)

    def ask(ious: list, threshold: float, cap: int) -> tuple[float, bool]:
        return _noc_pair(call(noc, list(ious), threshold, cap, what="noc"))

    got = ask([0.9, 0.95], 0.85, 20)
    if got[0] == 1 and ask([0.2, 0.86, 0.84, 0.9], 0.85, 20)[0] == 3:
        raise AssertionError("IoU 0.86 after click 1, 0.84 after click 2, 0.9 after click 3: NoC is the FIRST index "
                             "that reaches the threshold (1), not the last one (3) -- the annotator stops there")
    if got[0] == 1:
        raise AssertionError("ious[0] is the proposal, before any click: when it already reaches the threshold the "
                             "annotator accepts it with 0 clicks (the index, not the index + 1)")
    if got != (0, True):
        raise AssertionError(f"the proposal's IoU 0.9 already reaches 0.85: (0, True), got {got!r}")
    got = ask([0.2, 0.6, 0.86, 0.9], 0.85, 20)
    if got[0] == 3:
        raise AssertionError("ious[k] is the IoU after k clicks: 0.86 is reached after 2 clicks, not 3")
    if got != (2, True):
        raise AssertionError(f"ious [0.2, 0.6, 0.86, 0.9] reach 0.85 after 2 clicks: (2, True); got {got!r}")
    got = ask([0.2, 0.85], 0.85, 20)
    if got != (1, True):
        raise AssertionError("an IoU equal to the threshold reaches it (>=, not >): [0.2, 0.85] at 0.85 is (1, True)")
    got = ask([0.1, 0.5, 0.6], 0.85, 20)
    if got[0] == 3 or got[0] == 2:
        raise AssertionError("never reached: NoC is the cap (max_clicks), not the length of the list -- the annotator "
                             "would have gone on clicking up to the cap")
    if got != (20, False):
        raise AssertionError(f"never reached within the cap of 20: (20, False), got {got!r}")
    got = ask([0.1, 0.5, 0.6, 0.7, 0.9], 0.85, 3)
    if got[0] == 4:
        raise AssertionError("with max_clicks=3 only the proposal and the first 3 clicks count: IoU 0.9 after click 4 "
                             "comes too late, so NoC is the cap, 3, and the object is a failure")
    if got != (3, False):
        raise AssertionError(f"[0.1, 0.5, 0.6, 0.7, 0.9] with cap 3 never reaches 0.85 in time: (3, False), got {got!r}")
    got = ask([0.1, 0.5, 0.6, 0.9], 0.85, 3)
    if got == (3, False):
        raise AssertionError("with max_clicks=3, IoU 0.9 after the 3rd click counts: (3, True), not a failure. Two "
                             "mistakes give (3, False): `reached = clicks < max_clicks` (RITM's failure test) calls an "
                             "object first reached at the last allowed click a failure -- reached must say whether the "
                             "threshold was hit; or slicing ious[:max_clicks] drops that click -- the proposal takes "
                             "index 0, so the IoUs that count are ious[:max_clicks + 1]")
    if got != (3, True):
        raise AssertionError(f"with max_clicks=3, IoU 0.9 after the 3rd click counts: (3, True), got {got!r}")
    if ask([0.5, 0.88, 0.91], 0.90, 20) != (2, True):
        raise AssertionError("use the threshold you are given (0.90 here), not a fixed 0.85")
    call.refuse("noc")
    print("check_noc_with_proposal: all cases pass")
