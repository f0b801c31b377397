"""Learner checks of lesson 06, clicks to masks.

Re-exported by :mod:`segcourse.checks`; see its docstring for how a check is written.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy import ndimage as ndi

from ._core import _call, _count, _number, _plain, learner_check
from ._refuse import LIBRARY, Watch

__all__ = ["check_largest_region_click", "check_noc_with_proposal", "check_click_maps", "check_simulate", "check_seeds",
           "check_click_step", "check_shift_ious"]


def _largest_region_click(pred: Any, target: Any) -> tuple[int, int, bool]:
    """The reference answer: the click at the centre of the largest (by area) connected error region.

    Regions are 4-connected; the centre is the region's pixel farthest from any pixel outside it
    (the image border counts as outside); ties go to the first pixel in row-major order, and a
    missed region wins a tie in area against a false one.

    >>> t = np.zeros((5, 9), bool); t[1:4, 1:4] = True
    >>> _largest_region_click(np.zeros_like(t), t)
    (2, 2, True)
    """
    return _region_click(pred, target)


def _region_click(pred: Any, target: Any, eight: bool = False, false_first: bool = False,
                  centroid: bool = False, total: bool = False, unlabelled: bool = False,
                  zero: bool = False) -> tuple[int, int, bool]:
    """The reference, or one of its typical variants: ``eight`` labels with 8-connectivity,
    ``false_first`` lets a false region win a tie in area, ``centroid`` clicks the region's
    rounded centroid instead of its deepest pixel, ``total`` picks the kind of error by its total
    area, ``unlabelled`` takes each kind's whole error mask as one region, ``zero`` counts label 0
    (the pixels outside every region) as a region."""
    p, t = np.asarray(pred, bool), np.asarray(target, bool)
    best: tuple[int, int, int, bool] | None = None  # (area, row, col, positive)
    kinds = ((True, t & ~p), (False, p & ~t))
    for positive, err in (kinds[::-1] if false_first else kinds):
        labels, n = ndi.label(err, structure=np.ones((3, 3), bool) if eight else None)
        if unlabelled:
            labels = err.astype(np.int32)
        if not n:
            continue
        areas = np.bincount(labels.ravel()) if zero else np.bincount(labels.ravel())[1:]
        k = int(np.argmax(areas)) + (0 if zero else 1)
        region = labels == k
        size = int(err.sum()) if total else int(areas[k - (0 if zero else 1)])
        if centroid:
            r, c = (int(round(v)) for v in ndi.center_of_mass(region))
        else:
            d = ndi.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1]
            r, c = np.unravel_index(int(np.argmax(d)), d.shape)
        if best is None or size > best[0]:
            best = (size, int(r), int(c), positive)
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
    segcourse.checks.CheckFailed: nothing predicted, the object is rows 4 to 15, cols 4 to 15: click at its centre ...
    """
    ref = _largest_region_click
    call = Watch(LIBRARY)

    def ask(p: np.ndarray, t: np.ndarray) -> tuple[int, int, bool]:
        return _click(call(click, p, t, what="click"))

    def swapped(got: tuple[int, int, bool], want: tuple[int, int, bool]) -> None:
        if got[:2] != want[:2] and got[:2] == want[1::-1]:
            raise AssertionError(f"expected (row, col) = {want[:2]}, got {got[:2]}: the same pixel with row and column "
                                 f"swapped -- np.unravel_index(np.argmax(d), d.shape) gives (row, col) in that order")
    def named(p: np.ndarray, t: np.ndarray, got: tuple[int, int, bool], where: str) -> None:
        """Name the mistake when ``got`` is one of the typical wrong answers (and the reference is not)."""
        want = ref(p, t)
        for flag, why in (("zero", "label 0 is not a region: it marks the pixels outside every region, and "
                                   "np.bincount(labels.ravel())[0] counts them -- drop it ([1:]) before the largest"),
                          ("total", "you chose the kind of error by its TOTAL area: compare the largest REGION of "
                                    "each kind (the largest missed region against the largest false one)"),
                          ("unlabelled", "you took all pixels of one kind of error as one region: label them first "
                                         "(ndimage.label) and click in the largest connected region")):
            if got != want and got == _region_click(p, t, **{flag: True}):
                raise AssertionError(f"{where}: the click is {'positive' if want[2] else 'negative'} at {want[:2]}, "
                                     f"got {got}: {why}")
    target = np.zeros((20, 20), bool)
    target[4:16, 4:16] = True
    got = ask(np.zeros_like(target), target)
    named(np.zeros_like(target), target, got, "nothing predicted, the object is rows 4 to 15, cols 4 to 15")
    if got[2] is not True:
        raise AssertionError("nothing predicted, so the only error is the missed object: the click must be positive")
    want = ref(np.zeros_like(target), target)
    if got[:2] != want[:2] and got[:2] == _region_click(np.zeros_like(target), target, centroid=True)[:2]:
        raise AssertionError(f"nothing predicted, the object is the 12×12 square rows 4 to 15, cols 4 to 15: you clicked "
                             f"its centroid rounded, {got[:2]}, but the centre here is the region's DEEPEST pixel (farthest "
                             f"from any pixel outside it). In an even-sized square four pixels tie at depth 6, (9, 9), "
                             f"(9, 10), (10, 9) and (10, 10); np.argmax takes the first in row-major order, {want[:2]}. "
                             f"A centroid is not the deepest pixel in general (it can even lie outside a curved region)")
    if got[:2] != want[:2]:
        raise AssertionError(f"nothing predicted, the object is rows 4 to 15, cols 4 to 15: click at its centre (the "
                             f"region's deepest pixel, the farthest from its border; the first in row-major order among "
                             f"ties), {want[:2]}; got {got[:2]}")
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
    named(np.zeros_like(t), t, got, "two missed objects (16 px and 160 px)")
    swapped(got, ref(np.zeros_like(t), t))
    if got != ref(np.zeros_like(t), t):
        raise AssertionError(f"two missed objects (16 px and 160 px): click at the centre of the larger one, "
                             f"{ref(np.zeros_like(t), t)[:2]}; got {got[:2]} -- label the regions (ndimage.label)")
    # two missed regions of 10 px (20 in all) and one false block of 15 px: the largest REGION decides
    t = np.zeros((20, 20), bool)
    t[2:4, 2:7] = True                                     # a 2×5 strip, 10 px, every pixel 1 px deep
    t[8:11, 2:5] = True
    t[11, 3] = True                                        # a 3×3 square and one pixel more, 10 px, 2 px deep
    p = np.zeros_like(t)
    p[14:17, 10:15] = True                                 # a false 3×5 block, 15 px
    want, got = ref(p, t), ask(p, t)
    named(p, t, got, "two missed regions of 10 px (20 px in all) and a false block of 15 px")
    swapped(got, want)
    if got != want:
        raise AssertionError(f"two missed regions of 10 px and a false block of 15 px: the false block is the largest "
                             f"region, click at its deepest pixel {want}; got {got}")
    # two missed 3×3 squares that touch only at a corner, and a false 4×4 block: connectivity decides
    t = np.zeros((16, 16), bool)
    t[2:5, 2:5] = t[5:8, 5:8] = True
    p = np.zeros_like(t)
    p[10:14, 9:13] = True
    want, got = ref(p, t), ask(p, t)
    if got != want and got == _region_click(p, t, eight=True):
        raise AssertionError("two missed 3×3 squares touch only at a corner, next to a false 4×4 block of 16 px: "
                             "4-connected (ndimage.label's default) they are two regions of 9 px, so the false block is "
                             f"the largest and the click is negative at {want[:2]}; you labelled 8-connected (a 3×3 "
                             "structure), which merges the squares into one region of 18 px -- use ndimage.label(error)")
    swapped(got, want)
    if got != want:
        raise AssertionError(f"missed squares of 9 px (touching at a corner) and a false block of 16 px: click at the "
                             f"false block's deepest pixel, {want}; got {got}")
    # a missed region and a false region of the same area: the missed one wins the tie
    t = np.zeros((14, 14), bool)
    t[2:5, 2:6] = True
    p = np.zeros_like(t)
    p[8:12, 8:11] = True
    want, got = ref(p, t), ask(p, t)
    if got != want and got[2] is False:
        raise AssertionError(f"a missed 3×4 region and a false 4×3 region, 12 px each: on a tie in area the MISSED region "
                             f"wins, so the click is positive at {want[:2]}; yours was negative at {got[:2]} -- compare "
                             f"areas with a strict > when the false region comes second (or look at the missed one first)")
    swapped(got, want)
    if got != want:
        raise AssertionError(f"a missed 3×4 region and a false 4×3 region, 12 px each: the missed one wins the tie, "
                             f"click at its deepest pixel {want}; got {got}")
    variants = {"total": "you chose the kind of error by its total area: compare the largest region of each kind",
                "unlabelled": "you took each kind's error pixels as one region: label them (ndimage.label) first",
                "zero": "label 0 (the pixels outside every region) is not a region: drop np.bincount(...)[0]",
                "eight": "you labelled 8-connected (ndimage.label's default structure is 4-connected: keep it)",
                "false_first": "a false region won a tie in area against a missed one (the missed region wins ties)",
                "centroid": "you clicked the region's rounded centroid, not its deepest pixel (distance transform, "
                            "then np.argmax)"}
    rng = np.random.default_rng(6)
    for _ in range(20):
        t = ndi.binary_opening(rng.random((24, 24)) < 0.6, iterations=2)
        p = np.roll(t, int(rng.integers(-3, 4)), axis=int(rng.integers(0, 2))) | (rng.random(t.shape) < 0.02)
        if (p == t).all():
            continue
        want, got = ref(p, t), ask(p, t)
        swapped(got, want)
        for flag, why in variants.items():
            if got != want and got == _region_click(p, t, **{flag: True}):
                raise AssertionError(f"on a random mask pair expected {want}, got {got}: {why}")
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


def _click_maps(clicks: Any, shape: tuple[int, int], radius: int) -> np.ndarray:
    """The reference answer: float32 maps ``(2, H, W)``, 1 within ``radius`` px (Euclidean, boundary included).

    Channel 0 holds the disks of the positive clicks, channel 1 those of the negative ones; the
    same encoding as the lesson's ``interactive.click_maps``, from ``(row, col, positive)`` triples.

    >>> _click_maps([(1, 1, True)], (3, 4), 1)[0].astype(int).tolist()
    [[0, 1, 0, 0], [1, 1, 1, 0], [0, 1, 0, 0]]
    """
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    out = np.zeros((2, *shape), np.float32)
    for r, c, positive in clicks:
        out[0 if positive else 1][(rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2] = 1
    return out


def _square_maps(clicks: Any, shape: tuple[int, int], radius: int) -> np.ndarray:
    out = np.zeros((2, *shape), np.float32)
    for r, c, positive in clicks:
        out[0 if positive else 1, max(r - radius, 0): r + radius + 1, max(c - radius, 0): c + radius + 1] = 1
    return out


@learner_check
def check_click_maps(click_maps: Callable) -> None:
    """Check ``click_maps(clicks, shape, radius) -> (2, H, W)`` float disks from ``(row, col, positive)`` clicks.

    A wrong answer fails with a hint that names its mistake:

    >>> check_click_maps(lambda clicks, shape, radius: np.zeros((2, *shape), bool))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: your maps are bool: the model takes them as float input channels next to the grey ...
    """
    call = Watch(LIBRARY)
    ref = _click_maps

    def ask(clicks: list, shape: tuple[int, int], radius: int) -> np.ndarray:
        got = call(click_maps, [tuple(c) for c in clicks], tuple(shape), radius, what="click_maps")
        if not isinstance(got, np.ndarray):
            raise AssertionError(f"return a numpy array of shape (2, H, W), got {type(got).__name__}")
        h, w = shape
        if got.shape == (h, w):
            raise AssertionError(f"your maps have shape {got.shape}: positive and negative clicks in one channel; "
                                 f"the model needs them apart, so return shape (2, {h}, {w}): channel 0 the positive "
                                 f"disks, channel 1 the negative ones")
        if got.shape != (2, h, w):
            raise AssertionError(f"return shape (2, {h}, {w}) for an image of shape {tuple(shape)}, got {got.shape}")
        if got.dtype == bool:
            raise AssertionError("your maps are bool: the model takes them as float input channels next to the grey "
                                 "image, so return float32 (0.0 outside a disk, 1.0 inside), e.g. .astype(np.float32)")
        if got.dtype != np.float32:
            raise AssertionError(f"your maps are {got.dtype}: return float32 (0.0 outside a disk, 1.0 inside), the "
                                 f"dtype of the model's weights, e.g. np.zeros((2, H, W), np.float32)")
        values = sorted(float(v) for v in np.unique(got))
        whole = values[0] >= 0 and values[-1] > 1 and all(v == int(v) for v in values)
        if whole and 1.0 not in values:
            raise AssertionError(f"your maps hold {values[:6]}: inside a disk a map is 1.0, not "
                                 f"{min(v for v in values if v > 0):g}; a click map is an input channel "
                                 f"of 0.0 and 1.0, not a 0-255 image")
        if whole:
            raise AssertionError(f"your maps hold {values[:6]}: overlapping disks were added (+=), so a pixel "
                                 f"inside two disks counts 2; set those pixels to 1 (=, not +=): a map says "
                                 f"only whether a pixel lies within {radius} px of a click")
        if not set(values) <= {0.0, 1.0}:
            raise AssertionError(f"the maps hold only 0.0 and 1.0 (a negative click is 1.0 in channel 1, not -1 in "
                                 f"channel 0); yours hold {values[:6]}")
        return got

    def compare(clicks: list, shape: tuple[int, int], radius: int, where: str) -> None:
        got, want = ask(clicks, shape, radius), ref(clicks, shape, radius)
        if np.array_equal(got, want):
            return
        if np.array_equal(got, want[::-1]):
            raise AssertionError(f"{where}: your channels are swapped: channel 0 holds the positive clicks' disks, "
                                 f"channel 1 the negative ones")
        both = np.maximum(want[0], want[1])
        if np.array_equal(got[0], both) or np.array_equal(got[1], both):
            raise AssertionError(f"{where}: positive and negative clicks landed in one channel: draw a click with "
                                 f"positive=True in channel 0 and one with positive=False in channel 1")
        flipped = [(c, r, p) for r, c, p in clicks]
        if all(c < shape[0] and r < shape[1] for r, c, _ in clicks) and np.array_equal(got, ref(flipped, shape, radius)):
            raise AssertionError(f"{where}: your disks sit at (col, row): a click is (row, col, positive), the row "
                                 f"indexes the first axis of the image")
        if radius > 0 and np.array_equal(got, ref(clicks, shape, radius - 1)):
            raise AssertionError(f"{where}: your disks have radius {radius - 1}, not {radius}: a pixel at distance "
                                 f"exactly {radius} belongs to the disk (<= radius, not < radius)")
        if np.array_equal(got, ref(clicks, shape, radius + 1)):
            raise AssertionError(f"{where}: your disks have radius {radius + 1}, not {radius}")
        rows, cols = np.ogrid[: shape[0], : shape[1]]
        lt = np.zeros_like(want)
        for r, c, p in clicks:
            lt[0 if p else 1][(rows - r) ** 2 + (cols - c) ** 2 < radius ** 2] = 1
        if radius > 0 and np.array_equal(got, lt):
            raise AssertionError(f"{where}: your disks leave out the pixels at distance exactly {radius} (e.g. "
                                 f"{radius} px straight above a click): the disk is distance <= radius, not < radius")
        if np.array_equal(got, _square_maps(clicks, shape, radius)):
            raise AssertionError(f"{where}: you drew squares of side {2 * radius + 1}: a disk keeps only the pixels "
                                 f"whose Euclidean distance to the click is at most {radius} ((i - row)² + (j - col)² <= radius²)")
        missing = want.astype(bool) & ~got.astype(bool)
        extra = got.astype(bool) & ~want.astype(bool)
        raise AssertionError(f"{where}: {int(missing.sum())} pixels of the expected disks are 0 and {int(extra.sum())} "
                             f"pixels outside them are 1 -- a pixel (i, j) is 1 when (i - row)² + (j - col)² <= radius²")

    compare([(2, 7, True)], (9, 12), 2, "one positive click at (2, 7), radius 2, image 9×12")
    compare([(4, 4, True), (10, 12, False), (3, 14, True)], (16, 20), 3,
            "positive clicks at (4, 4) and (3, 14), a negative one at (10, 12), radius 3")
    got = ask([], (5, 6), 3)
    if got.any():
        raise AssertionError("no clicks yet (the first call of an annotation): both maps must be all 0.0")
    compare([(0, 19, False), (15, 0, True)], (16, 20), 3, "clicks in the corners (0, 19) and (15, 0), radius 3: "
            "only the part of each disk inside the image")
    compare([(3, 3, True)], (7, 7), 0, "radius 0: only the clicked pixel")
    rng = np.random.default_rng(6)
    for _ in range(5):
        h, w = (int(v) for v in rng.integers(8, 30, size=2))
        clicks = [(int(rng.integers(h)), int(rng.integers(w)), bool(rng.random() < 0.5)) for _ in range(rng.integers(1, 6))]
        radius = int(rng.integers(1, 6))
        compare(clicks, (h, w), radius, f"clicks {clicks}, radius {radius}, image {h}×{w}")
    call.refuse("click_maps")
    print("check_click_maps: all cases pass")


def _simulate(predict: Callable, image: Any, target: Any, max_clicks: int = 20, stop_at: float = 0.85,
              on_proposal: bool = False) -> tuple[list[float], list[tuple[int, int, bool]]]:
    """The reference answer: the annotator loop when the model proposes a mask before the first click.

    ``ious[0]`` is the proposal's IoU (``predict(image, [], [], None)``); each click goes to
    :func:`~segcourse.interactive.next_click` of the last mask, never twice on a pixel; the last
    mask is the ``previous`` input of the next call; the loop stops once IoU reaches ``stop_at``,
    after ``max_clicks`` clicks, or when every error pixel has been clicked already (``next_click``
    raises ValueError). ``on_proposal`` (every click placed on the proposal's errors, not on the
    last mask's) is a typical variant the check names.

    >>> t = np.zeros((8, 8), bool); t[2:6, 2:6] = True
    >>> _simulate(lambda img, pos, neg, prev: t if pos else np.zeros_like(t), t, t)
    ([0.0, 1.0], [(3, 3, True)])
    """
    from ..interactive import next_click

    t = np.asarray(target, bool)
    iou = lambda a, b: float((a & b).sum() / max((a | b).sum(), 1))  # noqa: E731
    pos: list[tuple[int, int]] = []
    neg: list[tuple[int, int]] = []
    clicks: list[tuple[int, int, bool]] = []
    pred = np.asarray(predict(image, [], [], None), bool)
    ious = [iou(pred, t)]
    proposal = pred
    while ious[-1] < stop_at and len(clicks) < max_clicks:
        try:
            (r, c), positive = next_click(proposal if on_proposal else pred, t, clicked=[(r, c) for r, c, _ in clicks])
        except ValueError:  # no error pixel left that was not clicked: the annotator stops
            break
        (pos if positive else neg).append((r, c))
        clicks.append((r, c, positive))
        pred = np.asarray(predict(image, list(pos), list(neg), pred), bool)
        ious.append(iou(pred, t))
    return ious, clicks


class _Recorder:
    """A predictor for the checks: returns ``answer(pos, neg)`` and records every call."""

    def __init__(self, answer: Callable[[list, list], np.ndarray]) -> None:
        self.answer, self.calls, self.returned = answer, [], []

    def __deepcopy__(self, memo: dict) -> "_Recorder":
        return self  # the check reads what the learner's loop asked, so the copy _call makes is this recorder

    def __call__(self, image: Any, positive: Any, negative: Any, previous: Any = None) -> np.ndarray:
        pos, neg = [tuple(int(v) for v in p) for p in positive], [tuple(int(v) for v in p) for p in negative]
        self.calls.append((pos, neg, None if previous is None else np.array(previous, bool)))
        out = np.asarray(self.answer(pos, neg), bool).copy()
        self.returned.append(out)
        return out


def _sim_result(value: Any) -> tuple[list[float], list[tuple[int, int, bool]]]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise AssertionError(f"return two values (ious, clicks), e.g. ([0.4, 0.9], [(5, 7, True)]); yours returned "
                             f"{type(value).__name__} {str(value)[:80]}")
    ious, clicks = value
    try:
        ious = [float(v) for v in ious]
    except (TypeError, ValueError):
        raise AssertionError(f"ious must be a list of numbers, got {str(ious)[:80]}") from None
    out = []
    for c in clicks:
        if not isinstance(c, (tuple, list)) or len(c) != 3:
            raise AssertionError(f"each click is a triple (row, col, positive), got {c!r}")
        out.append((int(_number(c[0], "row")), int(_number(c[1], "col")), bool(c[2])))
    return ious, out


@learner_check
def check_simulate(simulate: Callable) -> None:
    """Check ``simulate(predict, image, target, max_clicks, stop_at) -> (ious, clicks)``, proposal first.

    A wrong answer fails with a hint that names its mistake:

    >>> check_simulate(lambda predict, image, target, max_clicks, stop_at: ([0.5], []))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: call predict(image, [], [], None) first: the tool shows ...
    """
    from ..interactive import next_click

    call = Watch((("segcourse.interactive", {"simulate_clicks", "evaluate_methods", "number_of_clicks"}),
                  ("segcourse.checks.lesson06", {"_simulate"})))
    t = np.zeros((20, 20), bool)
    t[5:15, 4:16] = True                                    # the object: 10×12 = 120 px
    image = t.astype(np.float32)
    proposal = np.zeros_like(t)
    proposal[5:15, 4:10] = True                             # the model's proposal: the left half of it

    def ask(predict: _Recorder, max_clicks: int, stop_at: float) -> tuple[list[float], list[tuple[int, int, bool]]]:
        return _sim_result(call(simulate, predict, image.copy(), t.copy(), max_clicks, stop_at, what="simulate"))

    # 1. a model that ignores the clicks: the proposal every time
    rec = _Recorder(lambda pos, neg: proposal)
    got = ask(rec, 4, 0.85)
    want = _simulate(_Recorder(lambda pos, neg: proposal), image, t, 4, 0.85)
    if not rec.calls or rec.calls[0][:2] != ([], []):
        first = f"your first call had clicks {rec.calls[0][:2]}" if rec.calls else "your simulate never called predict"
        raise AssertionError(f"call predict(image, [], [], None) first: the tool shows the model's proposal before any "
                             f"click, and ious[0] is its IoU; {first}")
    if rec.calls[0][2] is not None:
        raise AssertionError("the proposal is asked with previous=None: there is no earlier mask before it")
    if len(got[0]) == len(got[1]) and len(got[1]) > 0:
        raise AssertionError(f"ious has {len(got[0])} entries for {len(got[1])} clicks: ious[0] is the proposal's IoU, "
                             f"before any click, so there is one entry more than clicks (the lesson's loop starts from "
                             f"nothing; this tool starts from the proposal)")
    if not np.isclose(got[0][0], want[0][0]):
        raise AssertionError(f"ious[0] is the proposal's IoU with the target, {want[0][0]}; got {_plain(got[0][0])}")
    pixels = [(r, c) for r, c, _ in got[1]]
    twice = next((p for k, p in enumerate(pixels) if p in pixels[:k]), None)
    if twice is not None:
        raise AssertionError(f"with a model that ignores the clicks, your annotator clicked {twice} twice: pass the "
                             f"pixels clicked so far to next_click(pred, target, clicked=...), so no pixel is clicked "
                             f"again (RITM's rule, lesson §2)")
    if len(got[1]) != 4:
        raise AssertionError(f"the IoU never reaches 0.85 here, so the annotator clicks up to the cap, max_clicks=4: "
                             f"4 clicks and 5 IoUs; you returned {len(got[1])} clicks and {len(got[0])} IoUs")
    (r0, c0), p0 = next_click(np.zeros_like(t), t)
    if got[1] != want[1] and got[1][0] == (r0, c0, p0) != want[1][0]:
        raise AssertionError(f"your click 1 went to {(r0, c0, p0)}, the object's deepest pixel, as if nothing were "
                             f"predicted (interactive.simulate_clicks starts from nothing, so wrapping it does this): "
                             f"click 1 goes to the PROPOSAL's errors, next_click(proposal, target), here {want[1][0]}")
    if got[1] != want[1]:
        raise AssertionError(f"clicks expected {want[1]}, got {got[1]}: each click is next_click(pred, target, "
                             f"clicked=...) on the LAST mask, as (row, col, positive)")
    # 2. a model that follows the clicks: each positive click adds a 10×2 strip (up to column 14), a
    # negative click removes the 3×3 block around it; its proposal also takes a false 3×3 blob
    blob = np.zeros_like(t)
    blob[16:19, 16:19] = True

    def follow(pos: list, neg: list) -> np.ndarray:
        out = proposal | blob
        out[5:15, 10:min(10 + 2 * len(pos), 15)] = True
        for r, c in neg:
            out[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2] = False
        return out
    rec = _Recorder(follow)
    got = ask(rec, 6, 0.9)
    want = _simulate(_Recorder(follow), image, t, 6, 0.9)
    for k, (pos, neg, prev) in enumerate(rec.calls[1:], start=1):
        if prev is None:
            raise AssertionError(f"call {k + 1} of predict got previous=None: pass the last mask (for click 1 the "
                                 f"proposal) as previous, the click model's fourth input channel")
        if not np.array_equal(prev, rec.returned[k - 1]):
            raise AssertionError(f"call {k + 1} of predict got a previous mask that is not the mask the call before "
                                 f"returned: pass the LAST mask as previous")
    if rec.calls:
        pos, neg, _ = rec.calls[-1]
        want_pos = [(r, c) for r, c, p in got[1][:len(rec.calls) - 1] if p]
        want_neg = [(r, c) for r, c, p in got[1][:len(rec.calls) - 1] if not p]
        if (pos, neg) != (want_pos, want_neg) and (sorted(pos), sorted(neg)) == (sorted(want_neg), sorted(want_pos)):
            raise AssertionError("your positive clicks went to predict's third argument and the negative ones to its "
                                 "second: call predict(image, positive, negative, previous)")
        if (sorted(pos), sorted(neg)) != (sorted(want_pos), sorted(want_neg)):
            raise AssertionError(f"the last call of predict got {len(pos)} positive and {len(neg)} negative clicks, "
                                 f"while by then your annotator had made {len(want_pos)} positive and {len(want_neg)} negative ones: give "
                                 f"predict ALL clicks so far, positive and negative apart, not only the last one")
    if len(got[0]) > len(want[0]) and np.allclose(got[0][:len(want[0])], want[0]):
        raise AssertionError(f"IoU reached stop_at=0.9 after {len(want[1])} clicks ({want[0][-1]:.3f}); the annotator "
                             f"stops there, but yours went on to {len(got[1])} clicks")
    stale = _simulate(_Recorder(follow), image, t, 6, 0.9, on_proposal=True)
    if (len(got[0]), got[1]) == (len(stale[0]), stale[1]) and stale[1] != want[1] and np.allclose(got[0], stale[0]):
        raise AssertionError(f"your clicks {got[1]} all go to the errors of the PROPOSAL; after each click the model "
                             f"returns a new mask, and the next click goes to that LAST mask's errors: "
                             f"next_click(pred, target, clicked=...) with pred the latest mask, here {want[1]}")
    if len(got[0]) != len(want[0]) or not np.allclose(got[0], want[0]) or got[1] != want[1]:
        raise AssertionError(f"a model that adds a 10×2 strip per positive click, max_clicks=6, stop_at=0.9: expected ious "
                             f"{[round(v, 3) for v in want[0]]} with clicks {want[1]}; got "
                             f"{[round(v, 3) for v in got[0]]} with clicks {got[1]}")
    # 3. reaching stop_at exactly counts (>=)
    exact = np.zeros_like(t)
    exact[5:15, 4:16] = True
    exact[5:15, 13:16] = False                              # 90 of 120 px: IoU 0.75 exactly
    rec = _Recorder(lambda pos, neg: exact if not (pos or neg) else t)
    got = ask(rec, 20, 0.75)
    if len(got[1]) > 0:
        raise AssertionError("the proposal's IoU is exactly 0.75 and stop_at=0.75: reaching it means at or above "
                             "(>=, not >), so the annotator accepts the proposal with no click: ([0.75], [])")
    # 4. stuck: the proposal misses 2 px and the model ignores the clicks; after 2 clicks every error pixel is clicked
    almost = t.copy()
    almost[9:11, 15] = False
    try:
        got = ask(_Recorder(lambda pos, neg: almost), 20, 1.0)
    except AssertionError as exc:
        if "ValueError" not in str(exc):
            raise
        raise AssertionError("the proposal misses 2 px and the model ignores the clicks, stop_at=1.0: after 2 clicks "
                             "every error pixel has been clicked, and next_click raises ValueError. Stop clicking "
                             "then (catch the ValueError, or stop when no unclicked error pixel is left) and return "
                             "what you have: ([0.983, 0.983, 0.983], [(9, 15, True), (10, 15, True)])") from None
    want = _simulate(_Recorder(lambda pos, neg: almost), image, t, 20, 1.0)
    if (len(got[0]), got[1]) != (len(want[0]), want[1]):
        raise AssertionError(f"the proposal misses 2 px and the model ignores the clicks, stop_at=1.0: after the 2 "
                             f"clicks {want[1]} no unclicked error pixel is left, so the annotator stops: expected "
                             f"{[round(v, 3) for v in want[0]]} with clicks {want[1]}; got "
                             f"{[round(v, 3) for v in got[0]]} with clicks {got[1]}")
    call.refuse("simulate")
    print("check_simulate: all cases pass")


def _seeds(clicks: Any, shape: tuple[int, int], radius: int, positive_wins: bool = False,
           border_last: bool = False, strict: bool = False, border: str = "both") -> np.ndarray:
    """The reference answer: int32 seeds for ``skimage.segmentation.random_walker``.

    0 unlabelled, 2 (background) on the outermost rows and columns, then a disk of ``radius`` px
    per click in order, 1 for a positive click and 2 for a negative one: the later click wins
    where disks overlap, and a click overrides the border. ``positive_wins`` (every negative disk
    first, then every positive one), ``border_last`` (the border drawn after the clicks) and
    ``strict`` (``< radius²`` instead of ``<= radius²``) and ``border="rows"`` / ``"cols"`` (only two
    sides of the border) are typical variants the check names.

    >>> _seeds([(2, 2, True)], (5, 6), 1).tolist()
    [[2, 2, 2, 2, 2, 2], [2, 0, 1, 0, 0, 2], [2, 1, 1, 1, 0, 2], [2, 0, 1, 0, 0, 2], [2, 2, 2, 2, 2, 2]]
    """
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    out = np.zeros(shape, np.int32)
    if not border_last:
        if border != "cols":
            out[[0, -1], :] = 2
        if border != "rows":
            out[:, [0, -1]] = 2
    order = sorted(clicks, key=lambda c: bool(c[2])) if positive_wins else list(clicks)
    for r, c, positive in order:
        d2 = (rows - r) ** 2 + (cols - c) ** 2
        out[(d2 < radius ** 2) if strict else (d2 <= radius ** 2)] = 1 if positive else 2
    if border_last:
        out[[0, -1], :] = out[:, [0, -1]] = 2
    return out


@learner_check
def check_seeds(seeds: Callable) -> None:
    """Check ``seeds(clicks, shape, radius) -> (H, W)`` int seeds: 2 border and negative disks, 1 positive disks.

    A wrong answer fails with a hint that names its mistake:

    >>> check_seeds(lambda clicks, shape, radius: np.zeros(shape, np.int32))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: one positive click at (4, 6), radius 2, image 9×12: the image's outermost rows ...
    """
    call = Watch(LIBRARY)
    ref = _seeds

    def ask(clicks: list, shape: tuple[int, int], radius: int) -> np.ndarray:
        got = _plain(call(seeds, [tuple(c) for c in clicks], tuple(shape), radius, what="seeds"))
        if not isinstance(got, np.ndarray):
            raise AssertionError(f"return a numpy array of shape {tuple(shape)}, got {type(got).__name__}")
        if got.shape != tuple(shape):
            raise AssertionError(f"return one seed image of shape {tuple(shape)} (rows, cols), got {got.shape}")
        if got.dtype == bool or not np.issubdtype(got.dtype, np.integer):
            raise AssertionError(f"your seeds are {got.dtype}: random_walker takes integer labels, so return int32 "
                                 f"(0 unlabelled, 1 object, 2 background), e.g. np.zeros(shape, np.int32)")
        values = sorted(int(v) for v in np.unique(got))
        if not set(values) <= {0, 1, 2}:
            raise AssertionError(f"the seeds hold only 0 (unlabelled), 1 (object: positive clicks) and 2 (background: "
                                 f"the border and negative clicks); yours hold {values[:6]} -- a negative click is the "
                                 f"label 2, not -1")
        return got

    def compare(clicks: list, shape: tuple[int, int], radius: int, where: str) -> None:
        got, want = ask(clicks, shape, radius), ref(clicks, shape, radius)
        if np.array_equal(got, want):
            return
        if np.array_equal(np.where(got == 1, 2, np.where(got == 2, 1, 0)), want):
            raise AssertionError(f"{where}: your labels are swapped: 1 is the object (positive clicks), 2 the "
                                 f"background (border and negative clicks)")
        if np.array_equal(got, ref([(r, c, not p) for r, c, p in clicks], shape, radius)):
            raise AssertionError(f"{where}: your click labels are swapped (the border is right): a POSITIVE click's "
                                 f"disk is 1, the object; a negative click's disk is 2, background like the border")
        for side, what in (("rows", "columns"), ("cols", "rows")):
            if np.array_equal(got, ref(clicks, shape, radius, border=side)):
                raise AssertionError(f"{where}: your border seeds miss the first and last {what}: all four sides of "
                                     f"the image are background (2), e.g. out[[0, -1], :] = out[:, [0, -1]] = 2")
        border = np.zeros(shape, bool)
        border[[0, -1], :] = border[:, [0, -1]] = True
        if (got[border] == 0).all() or not (got[border] == 2).any():
            raise AssertionError(f"{where}: the image's outermost rows and columns are background seeds (2): "
                                 f"random_walker needs a background label, and §4 put it on the crop's border")
        flipped = [(c, r, p) for r, c, p in clicks]
        if all(c < shape[0] and r < shape[1] for r, c, _ in clicks) and np.array_equal(got, ref(flipped, shape, radius)):
            raise AssertionError(f"{where}: your disks sit at (col, row): a click is (row, col, positive), the row "
                                 f"indexes the first axis")
        if np.array_equal(got, ref(clicks, shape, radius, positive_wins=True)):
            raise AssertionError(f"{where}: where disks overlap, the LATER click wins (the annotator corrected the "
                                 f"earlier one): draw the disks in the order of the clicks, not all positive ones last (the lesson's "
                                 f"predictors do that, as they get the positive and the negative clicks as two lists "
                                 f"without their order; this exercise's clicks come in order)")
        if np.array_equal(got, ref(clicks, shape, radius, border_last=True)):
            raise AssertionError(f"{where}: a click near the edge overrides the border: draw the border first, "
                                 f"then the clicks")
        for r2, what in ((radius - 1, "have radius {0}, not {1}: a pixel at distance exactly {1} belongs to the disk "
                                       "(<= radius)"), (radius + 1, "have radius {0}, not {1}")):
            if r2 >= 0 and np.array_equal(got, ref(clicks, shape, r2)):
                raise AssertionError(f"{where}: your disks " + what.format(r2, radius))
        if radius > 0 and np.array_equal(got, ref(clicks, shape, radius, strict=True)):
            raise AssertionError(f"{where}: your disks leave out the pixels at distance exactly {radius} (e.g. "
                                 f"{radius} px straight above a click): the disk is distance <= radius, not < radius")
        square = np.zeros(shape, np.int32)
        square[[0, -1], :] = square[:, [0, -1]] = 2
        for r, c, p in clicks:
            square[max(r - radius, 0): r + radius + 1, max(c - radius, 0): c + radius + 1] = 1 if p else 2
        if np.array_equal(got, square):
            raise AssertionError(f"{where}: you drew squares of side {2 * radius + 1}: a disk keeps only the pixels "
                                 f"whose Euclidean distance to the click is at most {radius}")
        bad = int((got != want).sum())
        raise AssertionError(f"{where}: {bad} pixels differ from the expected seeds -- 2 on the border, then per click "
                             f"in order a disk (i - row)² + (j - col)² <= radius², 1 if positive, 2 if negative")

    compare([(4, 6, True)], (9, 12), 2, "one positive click at (4, 6), radius 2, image 9×12")
    compare([(5, 5, True), (5, 8, False)], (12, 14), 2,
            "a positive click at (5, 5), then a negative one at (5, 8) whose disk overlaps it, radius 2")
    compare([(6, 9, False), (6, 7, True)], (12, 14), 2,
            "a negative click at (6, 9), then a positive one at (6, 7) whose disk overlaps it, radius 2")
    compare([(1, 5, True)], (10, 12), 2, "a positive click at (1, 5), 1 px from the top edge, radius 2")
    rng = np.random.default_rng(6)
    for _ in range(5):
        h, w = (int(v) for v in rng.integers(8, 30, size=2))
        clicks = [(int(rng.integers(h)), int(rng.integers(w)), bool(rng.random() < 0.5)) for _ in range(rng.integers(1, 6))]
        radius = int(rng.integers(0, 4))
        compare(clicks, (h, w), radius, f"clicks {clicks}, radius {radius}, image {h}×{w}")
    call.refuse("seeds")
    print("check_seeds: all cases pass")


def _click_batch(images: Any, pos_maps: Any, neg_maps: Any, prev_masks: Any) -> Any:
    """The reference batch: ``(B, 4, H, W)`` float32, the image scaled from uint8 to 0..1, then the
    positive map, the negative map and the previous mask."""
    import torch

    grey = np.asarray(images, np.float32) / 255.0
    return torch.from_numpy(np.stack([grey, np.asarray(pos_maps, np.float32), np.asarray(neg_maps, np.float32),
                                      np.asarray(prev_masks, np.float32)], axis=1))


class _PlainSGD:
    """Plain gradient descent with ``zero_grad()`` and ``step()`` as torch's optimisers have them
    (``torch.optim`` itself costs seconds to import, once per graded notebook). ``log`` notes the
    order of the calls; :func:`_step_case` adds ``"backward"`` when gradients arrive."""

    def __init__(self, params: Any, lr: float) -> None:
        self.params, self.lr, self.log = list(params), lr, []

    def zero_grad(self) -> None:
        self.log.append("zero_grad")
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        self.log.append("step")
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= self.lr * p.grad


def _spy_net() -> Any:
    """A tiny 4-channel click model (one 3×3 convolution) that notes each call: its input, whether
    gradients were on and whether it was in training mode."""
    import torch

    class SpyNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(4, 2, 3, padding=1)
            self.calls: list[dict[str, Any]] = []
            self.opt_log: list[str] = []                    # the optimiser's log, when _step_case gives one

        def forward(self, x: Any) -> Any:
            self.calls.append({"x": x.detach().clone().float().numpy(), "grad": torch.is_grad_enabled(),
                               "training": self.training, "after_step": "step" in self.opt_log})
            return self.conv(x)

    return SpyNet()


def _step_case(seed: int = 0) -> tuple[Any, Any, np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """The check's corrective round: a spy model (seeded), its optimiser holding a stale gradient from
    an earlier step, four uint8 images with grey values from 20 to 200, their objects and first clicks."""
    import torch

    torch.manual_seed(seed)
    model = _spy_net()
    with torch.no_grad():                                   # mostly a threshold of the grey channel at 0.45, plus
        model.conv.weight.mul_(0.1)                         # a little of every channel (so that each one matters)
        model.conv.weight[:, 0, 1, 1] += torch.tensor([-4.0, 4.0])
        model.conv.weight[:, 3, 1, 1] += torch.tensor([-0.5, 0.5])
        # biases not opposite (review 06s13 P1-2): logit 1 > 0 thresholds the grey channel at 0.6, not 0.45,
        # and moves the second click of images 0 and 2; logit 1 - logit 0 (and so the loss) is as before
        model.conv.bias.copy_(torch.tensor([1.2, -2.4]))
    opt = _PlainSGD(model.parameters(), lr=0.5)
    model.opt_log = opt.log                                 # each model call notes whether step() ran before it
    for p in model.parameters():
        p.grad = torch.full_like(p, 0.3)                    # left over from an earlier step: zero_grad must clear it
        p.register_hook(lambda g, log=opt.log: (log.append("backward") if not log or log[-1] != "backward" else None))
    rng = np.random.default_rng(seed)
    rows, cols = np.ogrid[:16, :16]
    targets = np.stack([(rows - 7) ** 2 + (cols - 8) ** 2 <= 20, (np.abs(rows - 9) <= 3) & (np.abs(cols - 6) <= 5),
                        (rows - 8) ** 2 + (cols - 8) ** 2 <= 25, (np.abs(rows - 8) <= 5) & (np.abs(cols - 8) <= 2)])
    grey = 60 + 110 * targets.astype(float)
    grey[0][(rows - 7) ** 2 + (cols - 8) ** 2 <= 5] = 70     # a nucleus with a dark centre: the prediction misses it
    grey[1][1:6, 11:16] = 170                               # a bright blob beside the object: false pixels
    grey[2][:, :8] -= 80 * targets[2][:, :8]                # an object with a dim left half: missed pixels
    grey[3][2:4, 0:12] = 170                                # a bright stripe above the object
    images = np.clip(grey + rng.normal(0, 12, targets.shape), 20, 200).astype(np.uint8)
    firsts = []
    for t in targets:
        d = ndi.distance_transform_edt(np.pad(t, 1))[1:-1, 1:-1]
        firsts.append(tuple(int(v) for v in np.unravel_index(int(np.argmax(d)), d.shape)))
    return model, opt, images, targets, firsts


def _corrective_step(model: Any, optimiser: Any, images: Any, targets: Any, firsts: Any, click_batch: Callable = None,
                     variant: str = "") -> tuple[float, list[tuple[int, int, bool]]]:
    """The reference answer of exercise 7b: one corrective training round (RITM's iterative training).

    Predict from the first clicks (``model.eval()``, no gradients), place a second click with
    ``next_click`` on each prediction's error (the first click counted as clicked), put the prediction
    in the previous-mask channel, then one graded step: ``model.train()``, cross-entropy, ``zero_grad``,
    ``backward``, ``step``. Returns the loss (before the update) and the second clicks. ``variant``
    names a typical mistake the check recognises: ``"empty"`` (second click on an empty mask),
    ``"zero"`` (the object where logit 1 > 0, not where logit 1 > logit 0),
    ``"unclicked"`` (the first click not counted as clicked), ``"sum"``, ``"softmax"`` and ``"after"``
    (the loss after the update).
    """
    import torch

    from ..interactive import next_click

    batch = click_batch or _click_batch
    t = np.asarray(targets, bool)
    shape = t.shape[1:]
    firsts = [tuple(int(v) for v in f) for f in firsts]
    maps = np.stack([_click_maps([(r, c, True)], shape, 3) for r, c in firsts])
    x = batch(images, maps[:, 0], maps[:, 1], np.zeros(t.shape, bool))
    model.eval()
    with torch.no_grad():
        logits = model(x)
    pred = (logits[:, 1] > (0 if variant == "zero" else logits[:, 0])).numpy()
    seconds, clicks = [], []
    for f, p_j, t_j in zip(firsts, pred, t):
        (r, c), positive = next_click(np.zeros_like(t_j) if variant == "empty" else p_j, t_j,
                                      clicked=None if variant == "unclicked" else [f])
        seconds.append((r, c, bool(positive)))
        clicks.append([(*f, True), (r, c, bool(positive))])
    maps = np.stack([_click_maps(cl, shape, 3) for cl in clicks])
    x2 = batch(images, maps[:, 0], maps[:, 1], pred)
    y = torch.from_numpy(t.astype(np.int64))
    model.train()
    out = model(x2)
    if variant == "softmax":
        out = torch.softmax(out, 1)
    loss = torch.nn.functional.cross_entropy(out, y, reduction="sum" if variant == "sum" else "mean")
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
    if variant == "after":
        with torch.no_grad():
            loss = torch.nn.functional.cross_entropy(model(x2), y)
    return float(loss.item()), seconds


@learner_check
def check_click_step(click_batch: Callable, train_step: Callable) -> None:
    """Check ``click_batch(images, pos_maps, neg_maps, prev_masks)`` (the click UNet's ``(B, 4, H, W)``
    float32 input) and ``train_step(model, optimiser, images, targets, firsts)`` (one corrective
    training round, returning the loss and the second clicks).

    A wrong answer fails with a hint that names its mistake:

    >>> import torch
    >>> check_click_step(lambda i, p, n, m: torch.from_numpy(np.stack([i / 255, n, p, m], 1).astype(np.float32)),
    ...                  lambda model, opt, images, targets, firsts: (0.0, []))
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: your positive and negative click maps are swapped: channel 1 is the positive map, ...
    """
    import torch

    call = Watch(LIBRARY)
    rng = np.random.default_rng(7)
    b, h, w = 3, 10, 14
    images = rng.integers(20, 201, (b, h, w)).astype(np.uint8)   # not 0 to 255: a min-max stretch must not pass
    pos = (rng.random((b, h, w)) < 0.1).astype(np.float32)
    neg = (rng.random((b, h, w)) < 0.1).astype(np.float32) * (pos == 0)
    prev = rng.random((b, h, w)) < 0.5
    got = call(click_batch, images, pos, neg, prev, what="click_batch")
    want = _click_batch(images, pos, neg, prev)
    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"return a torch tensor (the model's input), got {type(got).__name__}: e.g. "
                             f"torch.from_numpy(array)")
    if tuple(got.shape) == (4, b, h, w):
        raise AssertionError(f"your batch has shape {tuple(got.shape)}: stack the channels along axis 1, not 0; the "
                             f"model takes (B, 4, H, W) = ({b}, 4, {h}, {w})")
    if tuple(got.shape) == (b, 3, h, w):
        raise AssertionError(f"your batch has 3 channels, shape {tuple(got.shape)}: the previous mask is missing; the "
                             f"click UNet takes 4 channels: image, positive map, negative map, previous mask")
    if tuple(got.shape) != (b, 4, h, w):
        raise AssertionError(f"return shape (B, 4, H, W) = ({b}, 4, {h}, {w}) for {b} images of {h}×{w}, got {tuple(got.shape)}")
    if got.dtype != torch.float32:
        raise AssertionError(f"your batch is {got.dtype}: the model's weights are float32, so the input must be too "
                             f"(an integer image stays integer after np.stack; convert with .astype(np.float32) or .float())")
    g = got.detach().numpy()
    grey = images.astype(np.float64)
    zscored = {"the batch's": (grey - grey.mean()) / grey.std(),
               "each image's": (grey - grey.mean((1, 2), keepdims=True)) / grey.std((1, 2), keepdims=True)}
    for how, z in zscored.items():
        if np.allclose(g[:, 0], z, atol=1e-4):
            raise AssertionError(f"your image channel is z-scored with {how} mean and standard deviation (values from "
                                 f"{float(g[:, 0].min()):.2f} to {float(g[:, 0].max()):.2f}): the scale then depends on "
                                 f"the batch, and the model was trained on grey values / 255, from 0 to 1. Divide the "
                                 f"uint8 image by 255")
    if float(g[:, 0].max()) > 1.0:
        raise AssertionError(f"your image channel goes up to {float(g[:, 0].max()):.0f}: the image is unnormalised; the "
                             f"model was trained on grey values from 0 to 1, so divide the uint8 image by 255")
    if not g[:, 0].any():
        raise AssertionError("your image channel is all 0: integer division (// 255) of grey values below 255 gives 0; "
                             "divide with / (true division), e.g. images.astype(np.float32) / 255")
    stretched = {"the batch's own min..max": (grey - grey.min()) / (grey.max() - grey.min()),
                 "each image's own min..max": (grey - grey.min((1, 2), keepdims=True))
                 / (grey.max((1, 2), keepdims=True) - grey.min((1, 2), keepdims=True)),
                 "the batch's maximum": grey / grey.max(),
                 "each image's own maximum": grey / grey.max((1, 2), keepdims=True)}
    for how, s in stretched.items():
        if np.allclose(g[:, 0], s, atol=1e-5):
            raise AssertionError(f"your image channel is stretched to {how} (here grey values {int(grey.min())} to "
                                 f"{int(grey.max())} become 0 to 1): the scale then depends on "
                                 f"{'each image' if how.startswith('each') else 'the batch'}, and a dark "
                                 f"image looks bright to the model. Divide by 255, the range of uint8, for every image")
    if np.array_equal(g[:, 1], neg) and np.array_equal(g[:, 2], pos):
        raise AssertionError("your positive and negative click maps are swapped: channel 1 is the positive map, "
                             "channel 2 the negative one")
    if not g[:, 3].any():
        raise AssertionError("your channel 3 is all zeros although a previous mask was given: the previous mask is "
                             "missing; put prev_masks (as 0.0 / 1.0) in channel 3")
    for k, name in enumerate(("image / 255", "positive map", "negative map", "previous mask")):
        if not np.allclose(g[:, k], want[:, k].numpy(), atol=1e-6):
            raise AssertionError(f"channel {k} should be the {name}; it differs from it in "
                                 f"{int((~np.isclose(g[:, k], want[:, k].numpy(), atol=1e-6)).sum())} pixels")
    call.refuse("click_batch")
    _check_corrective_step(click_batch, train_step)
    print("check_click_step: all cases pass")


def _check_corrective_step(click_batch: Callable, train_step: Callable) -> None:
    """The second half of :func:`check_click_step`: ``train_step`` is one corrective round."""
    import contextlib
    import io

    import torch

    ref_model, ref_opt, images, targets, firsts = _step_case()
    want_loss, want_clicks = _corrective_step(ref_model, ref_opt, images, targets, firsts, click_batch)
    want_x1, want_x2 = ref_model.calls[0]["x"], ref_model.calls[1]["x"]  # the prediction's batch, the graded one
    model, opt, _, _, _ = _step_case()
    if (getattr(train_step, "__module__", None) or "").startswith("segcourse"):
        raise AssertionError(f"your train_step is segcourse's {getattr(train_step, '__qualname__', train_step)!r} (the "
                             f"check's own reference): write the corrective round yourself")
    watch = Watch((("segcourse.interactive", {"train_click_model"}),))
    previous, hook = __import__("sys").getprofile(), watch._profile
    __import__("sys").setprofile(hook)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            out = train_step(model, opt, images.copy(), targets.copy(), list(firsts))
    except NotImplementedError:
        raise AssertionError("train_step still raises NotImplementedError: replace the stub with your code") from None
    except RuntimeError as exc:
        if "does not require grad" in str(exc):
            raise AssertionError("loss.backward() found no gradients: your graded forward pass ran under torch.no_grad() "
                                 "too. Only the prediction goes inside `with torch.no_grad():`; the pass whose loss you "
                                 "train on runs outside it") from None
        raise AssertionError(f"train_step crashed with RuntimeError: {str(exc).splitlines()[0][:200]}") from None
    except AssertionError as exc:
        raise AssertionError(f"train_step raised AssertionError: {exc}") from None
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise AssertionError(f"train_step crashed with {type(exc).__name__}: {text[:200]}") from None
    finally:
        __import__("sys").setprofile(previous)
    watch.refuse("train_step", use="the steps of the exercise (a no-grad prediction, next_click, the graded step)")
    calls = model.calls
    missing = ("What is missing: first PREDICT from the first clicks (model.eval(), under torch.no_grad()), place a "
               "second click with next_click on that prediction's error, put the prediction in channel 3, and only "
               "then make the graded forward pass on the new batch")
    if len(calls) == 1:
        raise AssertionError(f"your train_step called the model once: that is §5's click-1 step, not a corrective "
                             f"round. {missing}")
    if not calls:
        raise AssertionError("your train_step never called the model: predict, click, then train on model(x)")
    first = calls[0]
    if first["grad"] and all(not c["grad"] and c["after_step"] for c in calls[1:]):
        raise AssertionError(f"your train_step trains on the first clicks at once and calls the model again only "
                             f"after optimiser.step(), without gradients (the loss after the update): that is §5's "
                             f"click-1 step, not a corrective round. {missing}")
    if first["grad"]:
        raise AssertionError("your prediction (the first model call) ran with gradients on: wrap it in "
                             "`with torch.no_grad():` -- the prediction is an input of the step, not something to "
                             "train through (RITM's training predicts without gradients too)")
    if first["training"]:
        raise AssertionError("your prediction ran in training mode: call model.eval() before it (the click UNet's "
                             "BatchNorm layers would otherwise use this batch's statistics) and model.train() before "
                             "the graded pass")
    graded = next((c for c in calls[1:] if c["grad"]), None)   # the graded pass: the first call with gradients on
    if graded is None:
        raise AssertionError("none of your model calls ran with gradients: the graded forward pass must run outside "
                             "torch.no_grad(), or backward has nothing to follow")
    if graded["after_step"]:
        raise AssertionError("your graded forward pass (the first model call with gradients on) came after "
                             "optimiser.step(): make the graded pass, then zero_grad, backward and step")
    last = graded
    if not last["training"]:
        raise AssertionError("your graded forward pass ran in eval mode: call model.train() after the prediction, "
                             "before the pass whose loss you train on")
    if not np.allclose(first["x"], want_x1, atol=1e-5):
        if np.allclose(first["x"][:, 3], targets, atol=1e-5):
            raise AssertionError("channel 3 of your prediction's batch holds the TRUE masks: the model would learn to "
                                 "copy that channel. Before the first click the previous mask is all zeros")
        raise AssertionError("the batch of your prediction (the first model call) differs from the expected one: "
                             "click_batch(images, positive maps of the first clicks, zero negative maps, zero "
                             "previous masks); the first clicks are positive, drawn with radius 3")
    x2 = last["x"]
    if np.allclose(x2, want_x1, atol=1e-5):
        raise AssertionError("your graded pass reused the prediction's batch (first clicks only, zero previous mask): "
                             "build a NEW batch with both clicks and the prediction in channel 3, and train on the "
                             "model's answer to it")
    if not np.allclose(x2[:, 3], want_x2[:, 3], atol=1e-5):
        if not x2[:, 3].any():
            raise AssertionError("channel 3 of your graded batch is all zeros: the no-grad prediction goes there, as "
                                 "the previous mask -- that is what the model will see from click 2 on in use")
        if np.allclose(x2[:, 3], targets, atol=1e-5):
            raise AssertionError("channel 3 of your graded batch holds the TRUE masks: the model would learn to copy "
                                 "that channel, and in use it has only its own prediction. Put the prediction there")
        plain, *_ = _step_case()
        with torch.no_grad():
            logits = plain.eval()(torch.from_numpy(want_x1)).numpy()
        for rule, pred in (("logit 1 > 0 (or sigmoid(logit 1) > 0.5)", logits[:, 1] > 0),
                           ("logit 0 < 0", logits[:, 0] < 0)):
            if np.allclose(x2[:, 3], pred, atol=1e-5):
                raise AssertionError(f"channel 3 of your graded batch is the object where {rule}: compare logit 1 "
                                     f"with logit 0, not with 0. The two logits are two classes' scores, not a "
                                     f"logit and its negative; here the rules differ on {int((pred != want_x2[:, 3]).sum())} "
                                     f"pixels. The prediction is logits[:, 1] > logits[:, 0] (the argmax over the classes)")
        raise AssertionError("channel 3 of your graded batch is not the prediction of the first model call "
                             "(object where logits[:, 1] > logits[:, 0], i.e. the argmax over the two classes)")
    out = _plain(out) if not isinstance(out, (tuple, list)) else out
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise AssertionError(f"train_step returns two values, (loss, second_clicks); yours returned "
                             f"{type(out).__name__}{'' if not isinstance(out, (tuple, list)) else ' of length ' + str(len(out))}")
    loss, seconds = out
    if isinstance(loss, torch.Tensor):
        if loss.numel() != 1:
            raise AssertionError(f"return the loss as one number (loss.item()), got a tensor of shape {tuple(loss.shape)}")
        loss = loss.item()
    if not isinstance(loss, (int, float, np.floating)):
        raise AssertionError(f"train_step returns the loss as a float (loss.item()), got {type(loss).__name__}")
    try:
        seconds = [(int(r), int(c), bool(p)) for r, c, p in seconds]
    except (TypeError, ValueError):
        raise AssertionError(f"the second value is the list of second clicks, one (row, col, positive) per image; "
                             f"yours is {seconds!r:.120}") from None
    if seconds != want_clicks:
        for variant, why in (("empty", "you placed them on an EMPTY mask's error (as before click 1); next_click goes "
                                       "on the error of the model's prediction"),
                             ("unclicked", "the first click was not passed as clicked: next_click(pred, target, "
                                           "clicked=[first]) keeps the annotator off a pixel already clicked"),
                             ("zero", "you placed them on the error of the object where logit 1 > 0; compare logit 1 "
                                      "with logit 0, not with 0 (the prediction is logits[:, 1] > logits[:, 0])")):
            m, o, *_ = _step_case()
            if seconds == _corrective_step(m, o, images, targets, firsts, click_batch, variant)[1]:
                raise AssertionError(f"your second clicks {seconds} differ from the expected {want_clicks}: {why}")
        raise AssertionError(f"your second clicks {seconds} differ from the expected {want_clicks}: one per image, "
                             f"next_click(prediction, target, clicked=[first click]) as (row, col, positive)")
    if not np.allclose(x2[:, 1:3], want_x2[:, 1:3], atol=1e-5):
        only = np.stack([_click_maps([s], targets.shape[1:], 3) for s in seconds])
        if np.allclose(x2[:, 1:3], only, atol=1e-5):
            raise AssertionError("your graded batch's click maps hold only the second click: the model gets ALL clicks "
                                 "so far, the first (positive) one and the second")
        if np.allclose(x2[:, 1:3], want_x2[:, 2:0:-1], atol=1e-5):
            raise AssertionError("your graded batch's click maps are swapped: positive clicks in channel 1, negative "
                                 "ones in channel 2")
        raise AssertionError("your graded batch's click maps (channels 1 and 2) are not the first click plus the "
                             "second one, each in the map of its kind (a negative second click goes in channel 2)")
    log = opt.log
    if "backward" not in log:
        raise AssertionError("your step computed no gradients: call loss.backward() on the graded pass's loss")
    if "step" not in log:
        raise AssertionError("your step did not update the weights: call optimiser.step() after loss.backward()")
    last_back = len(log) - 1 - log[::-1].index("backward")
    if "zero_grad" in log[last_back:log.index("step", last_back) if "step" in log[last_back:] else None]:
        raise AssertionError("you called optimiser.zero_grad() AFTER loss.backward(): it wipes the gradients that "
                             "backward has just computed, so step() has nothing to apply. Call zero_grad() before "
                             "backward()")
    if "step" not in log[last_back:]:
        raise AssertionError("optimiser.step() ran before loss.backward(): it applied the old gradients; call "
                             "backward() first, then step()")
    if "zero_grad" not in log[:last_back]:
        raise AssertionError("no optimiser.zero_grad() before loss.backward(): the optimiser still held the gradients "
                             "of an earlier step, and backward ADDS to them, so the update mixes the two. Call "
                             "zero_grad() before backward()")
    if not np.isclose(float(loss), want_loss, rtol=1e-4):
        for variant, why in (("after", "you returned the loss after the update: return the loss of the graded pass, "
                                       "computed before optimiser.step()"),
                             ("sum", "your loss is a SUM over pixels (reduction='sum'): cross_entropy's default mean "
                                     "keeps the step size independent of the batch and the image size"),
                             ("softmax", "you applied softmax before cross_entropy: it takes the raw logits and applies "
                                         "log-softmax itself, so softmax twice flattens the loss")):
            m, o, *_ = _step_case()
            if np.isclose(float(loss), _corrective_step(m, o, images, targets, firsts, click_batch, variant)[0], rtol=1e-4):
                raise AssertionError(why)
        raise AssertionError(f"your loss is {float(loss):.4f}, expected {want_loss:.4f}: the cross-entropy of the graded "
                             f"pass's logits against the true masks (int64), torch.nn.functional.cross_entropy(logits, y)")
    if not all(torch.allclose(a, b_, atol=1e-5) for a, b_ in zip(model.parameters(), ref_model.parameters())):
        raise AssertionError("your loss is right but the weights after your step differ from one step of the "
                             "optimiser on that loss: zero_grad, backward, step, once each")


def _disk_shift_ious(radius: int, structure: Any = None, strict: bool = False, margin: int = 2,
                     dice: bool = False) -> tuple[float, float]:
    """The reference of exercise 8: a disk of ``radius`` (``<=``) centred in a square image with ``margin`` px
    around it; its IoU (or Dice) with its 1-px dilation and with its 1-px erosion. The keywords are the
    typical mistakes the check names: a 3×3 square ``structure``, a ``strict`` disk (``<``, as
    ``skimage.draw.disk`` draws it), no ``margin`` (the dilation clipped by the image) and Dice."""
    n = 2 * radius + 1 + 2 * margin
    rows, cols = np.indices((n, n))
    d = (rows - n // 2) ** 2 + (cols - n // 2) ** 2
    disk = d < radius ** 2 if strict else d <= radius ** 2

    def score(a: np.ndarray, b: np.ndarray) -> float:
        inter = float((a & b).sum())
        return 2 * inter / float(a.sum() + b.sum()) if dice else inter / float((a | b).sum())
    return score(ndi.binary_dilation(disk, structure), disk), score(ndi.binary_erosion(disk, structure), disk)


def _smallest_radius(threshold: float, radii: Any = range(3, 16), either: bool = False, mean: bool = False,
                     strict: bool = False) -> int | None:
    """The smallest radius whose 1-px dilation and erosion both reach ``threshold``. The keywords are the
    typical mistakes: ``either`` (one of them reaches it), ``mean`` (their mean does), ``strict`` (``>``)."""
    for r in radii:
        pair = _disk_shift_ious(int(r))
        value = max(pair) if either else float(np.mean(pair)) if mean else min(pair)
        if (value > threshold) if strict else (value >= threshold):
            return int(r)
    return None


def _made_up_shift(radius: int) -> tuple[float, float]:
    """A made-up ``shift`` for exercise 8 whose iou_out is BELOW its iou_in (a disk's is above): an answer
    that tests only iou_in (the lower one on every disk) or ignores ``shift`` gives another radius."""
    return 1 - 1.5 / radius, 1 - 1 / radius


def _smallest_made_up(threshold: float, radii: Any, use: str = "both") -> int | None:
    """The smallest radius in ``radii`` where ``_made_up_shift`` reaches ``threshold``: with both values
    (``use="both"``), or only with iou_in (``use="in"``), the typical mistake."""
    for r in radii:
        out, inn = _made_up_shift(int(r))
        if (min(out, inn) if use == "both" else inn) >= threshold:
            return int(r)
    return None


def _pair(value: Any, what: str) -> tuple[float, float]:
    value = _plain(value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise AssertionError(f"{what} returns two numbers, (iou_out, iou_in); yours returned {value!r:.120}")
    return _number(value[0], f"{what}'s iou_out"), _number(value[1], f"{what}'s iou_in")


@learner_check
def check_shift_ious(shift_ious: Callable, smallest_radius: Callable) -> None:
    """Check ``shift_ious(radius) -> (iou_out, iou_in)`` (a disk against its 1-px dilation and erosion) and
    ``smallest_radius(threshold, radii) -> radius or None`` (exercise 8).

    A wrong answer fails with a hint that names its mistake:

    >>> check_shift_ious(lambda r: _disk_shift_ious(r)[::-1], lambda t, radii=range(3, 16): None)
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: your two values are swapped: the 1-px DILATION comes first (iou_out), then ...
    """
    call = Watch(LIBRARY)
    for r in (3, 7, 12):
        got = _pair(call(shift_ious, r, what="shift_ious"), "shift_ious")
        want = _disk_shift_ious(r)

        def same(other: tuple[float, float]) -> bool:
            return bool(np.allclose(got, other, atol=1e-9))
        if same(want):
            continue
        if same(want[::-1]):
            raise AssertionError("your two values are swapped: the 1-px DILATION comes first (iou_out), then the 1-px "
                                 "erosion (iou_in)")
        if same(_disk_shift_ious(r, structure=np.ones((3, 3), bool))):
            raise AssertionError(f"radius {r}: your dilation and erosion use a 3×3 square (8-connected) structuring "
                                 f"element, which moves the outline by more than a pixel along the diagonals. Use "
                                 f"ndimage's default, the 4-connected cross, as §8 does: a 1-px shift")
        if same(_disk_shift_ious(r, strict=True)):
            raise AssertionError(f"radius {r}: your disk uses < radius² and leaves out the 4 pixels at distance exactly "
                                 f"{r} (skimage.draw.disk draws it that way); the exercise's disk includes them: <=")
        if same(_disk_shift_ious(r, dice=True)):
            raise AssertionError(f"radius {r}: you computed Dice, 2·|A∩B| / (|A| + |B|), which is higher than IoU for "
                                 f"the same masks; the thresholds 0.85 and 0.90 are IoU: |A∩B| / |A∪B|")
        if same(_disk_shift_ious(r, margin=0)):
            raise AssertionError(f"radius {r}: your image is only 2·radius + 1 = {2 * r + 1} px wide, so the dilation "
                                 f"loses the 4 pixels that would lie outside it; leave at least 1 px of margin around "
                                 f"the disk (side 2·radius + 3 or more)")
        if got[0] < got[1]:
            raise AssertionError(f"radius {r}: your iou_out {got[0]:.3f} is below your iou_in {got[1]:.3f}; the pixels "
                                 f"a 1-px dilation adds are a smaller share of its union (the dilated disk) than the "
                                 f"pixels an erosion removes are of theirs (the disk), so iou_out is HIGHER. Check which "
                                 f"value is which, and the IoU of each with the disk itself")
        raise AssertionError(f"radius {r}: expected (iou_out, iou_in) = ({want[0]:.3f}, {want[1]:.3f}), got "
                             f"({got[0]:.3f}, {got[1]:.3f}): the IoU of the disk (i - c)² + (j - c)² <= radius² with "
                             f"ndimage.binary_dilation(disk) and with ndimage.binary_erosion(disk)")

    def ask(threshold: float, radii: Any) -> int | None:
        value = _plain(call(smallest_radius, threshold, radii, what="smallest_radius"))
        if value is None:
            return None
        if isinstance(value, (float, np.floating)) and not float(value).is_integer():
            raise AssertionError(f"smallest_radius returned {value!r}, which looks like an IoU: return the RADIUS "
                                 f"(an integer from radii), or None when no radius reaches the threshold")
        return int(_count(value, "smallest_radius"))

    tie = _disk_shift_ious(12)[1]      # exactly iou_in at radius 12: ">=" gives 12, ">" gives 13
    tie_own = float(_plain(call(shift_ious, 12, what="shift_ious"))[1])  # the learner's own value (equal to the last bit?)
    for threshold, radii in ((0.85, range(3, 16)), (0.80, range(3, 16)), (0.90, range(3, 16)), (0.85, [5, 9, 13]),
                             (0.90, range(16, 31)), (0.86, range(3, 16)), (tie_own, range(3, 16))):
        got, want = ask(threshold, radii), _smallest_radius(threshold if threshold != tie_own else tie, radii)
        if got == want:
            continue
        where = f"smallest_radius({threshold}, {radii!r})"
        if threshold == tie_own and got == want + 1:
            raise AssertionError(f"{where}: the threshold is exactly iou_in at radius {want}, so radius {want} reaches "
                                 f"it; yours returned {got}. Reaching means at or above the threshold: use >=, not >")
        if got == _smallest_radius(threshold, radii, mean=True) and got != want:
            raise AssertionError(f"{where}: you returned {got}, where the MEAN of iou_out and iou_in reaches "
                                 f"{threshold}; there iou_in is only {_disk_shift_ious(got)[1]:.3f}. An annotator a "
                                 f"pixel off inwards gets iou_in, so BOTH must reach it (their minimum): {want}")
        if want is None:
            raise AssertionError(f"{where}: no radius in radii reaches {threshold} with both shifts, so the answer is "
                                 f"None; yours is {got!r} (the last radius tried is not an answer)")
        if got == _smallest_radius(threshold, radii, either=True):
            raise AssertionError(f"{where}: you returned {got}, where ONE of the two shifts reaches {threshold}; the "
                                 f"annotator may be a pixel off either way, so BOTH iou_out and iou_in must reach it "
                                 f"(their minimum): {want}")
        if got == _smallest_radius(threshold, range(3, 16)) and list(radii) != list(range(3, 16)):
            raise AssertionError(f"{where}: you returned {got}, the answer for radii 3 to 15; use the radii you are "
                                 f"given (expected {want!r})")
        raise AssertionError(f"{where}: expected {want!r}, got {got!r}: the smallest radius in radii whose iou_out and "
                             f"iou_in both reach the threshold (>=), or None")
    call.refuse("shift_ious")

    import inspect
    try:
        inspect.signature(smallest_radius).bind(0.86, range(3, 16), _made_up_shift)
    except (TypeError, ValueError):
        raise AssertionError("smallest_radius takes a third argument, shift (default: your shift_ious), the function "
                             "that gives (iou_out, iou_in) for a radius: smallest_radius(threshold, radii=range(3, 16), "
                             "shift=shift_ious)") from None
    for threshold in (0.86, 0.80):
        radii = range(3, 16)
        where = f"smallest_radius({threshold}, range(3, 16), shift) with a made-up shift whose iou_out is below its iou_in"
        got = _plain(_call(smallest_radius, threshold, radii, _made_up_shift, what="smallest_radius"))
        got = None if got is None else int(_count(got, "smallest_radius"))
        want = _smallest_made_up(threshold, radii)
        if got == want:
            continue
        if got == _smallest_made_up(threshold, radii, use="in"):
            raise AssertionError(f"{where}: you returned {got}, where only iou_in reaches {threshold} (iou_out is "
                                 f"{_made_up_shift(got)[0]:.3f}). On every disk iou_in is the lower of the two, so "
                                 f"testing only iou_in passed there; the rule is that BOTH reach the threshold, "
                                 f"whichever is lower (expected {want})")
        if got == _smallest_radius(threshold, radii):
            raise AssertionError(f"{where}: you returned {got}, the answer for the disks: your smallest_radius "
                                 f"ignores its shift argument. Get the pair from shift(radius) (expected {want})")
        raise AssertionError(f"{where}: expected {want!r}, got {got!r}: the smallest radius in radii where both "
                             f"values of shift(radius) reach the threshold (>=), or None")
    print("check_shift_ious: all cases pass")
