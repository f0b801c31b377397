"""Exercise 03.4, the tanh-signed distance target: a right answer passes, each typical wrong answer gets its hint."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from segcourse import checks, instances


def _own(inst, scale):
    """A learner's answer: each cell's own distance inside, minus the distance to the nearest cell outside."""
    inst = np.asarray(inst)
    sd = -ndimage.distance_transform_edt(inst == 0)
    for c in np.unique(inst[inst > 0]):
        m = inst == c
        sd[m] = ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1][m]
    return np.tanh(sd / scale)


def _fails(answer, *words):
    with pytest.raises(AssertionError) as info:
        checks.check_signed_distance(answer)
    text = " ".join(str(info.value).split())
    for w in words:
        assert w in text, str(info.value)
    assert all(len(line) <= checks.HINT_WIDTH for line in str(info.value).splitlines()), str(info.value)


def test_right_answer_passes(capsys):
    checks.check_signed_distance(_own)
    assert "all cases pass" in capsys.readouterr().out


def _inside(inst, pad=True):
    out = np.zeros(np.shape(inst))
    for c in np.unique(inst[inst > 0]):
        m = inst == c
        d = ndimage.distance_transform_edt(np.pad(m, 1) if pad else m)
        out[m] = (d[1:-1, 1:-1] if pad else d)[m]
    return out


@pytest.mark.parametrize("answer, words", [
    (lambda i, s: np.tanh((ndimage.distance_transform_edt(i > 0) - ndimage.distance_transform_edt(i == 0)) / s),
     ("merged mask", "NOT in the same cell")),
    (lambda i, s: np.tanh((_inside(i) + ndimage.distance_transform_edt(i == 0)) / s), ("MINUS",)),
    (lambda i, s: np.tanh(_inside(i) / s), ("background is 0",)),
    (lambda i, s: (_inside(i) - ndimage.distance_transform_edt(i == 0)) / s, ("without the tanh",)),
    (lambda i, s: np.tanh(_inside(i) - ndimage.distance_transform_edt(i == 0)), ("without dividing by scale",)),
    (lambda i, s: -_own(i, s), ("signs are swapped",)),
    (lambda i, s: np.tanh((_inside(i, pad=False) - ndimage.distance_transform_edt(i == 0)) / s), ("np.pad the cell",)),
    (lambda i, s: np.tanh(np.where(i > 0, _inside(i) - 1, 1 - ndimage.distance_transform_edt(i == 0)) / s),
     ("not 0", "no -1")),
    (lambda i, s: np.zeros(np.shape(i)), ("the target is",)),
])
def test_wrong_answers_get_their_hint(answer, words):
    _fails(answer, *words)


def test_helper_is_refused():
    def helper(inst, scale):
        return np.tanh(np.where(inst > 0, instances.instance_distance_map(inst),
                                -ndimage.distance_transform_edt(inst == 0)) / scale)
    _fails(helper, "calls segcourse.instances.instance_distance_map")


def test_coco_ap_helper_that_crashes_is_refused():
    """Exercise 03.5: the lesson's AP helper has no threshold 0.1 (a KeyError): the hint refuses the helper."""
    def helper(pred_maps, confidences, truth_maps, t):
        return instances.dataset_average_precision(pred_maps, confidences, truth_maps)["ap_per_threshold"][t]
    with pytest.raises(AssertionError) as info:
        checks.check_coco_ap(helper)
    assert "calls segcourse.instances.dataset_average_precision" in " ".join(str(info.value).split()), str(info.value)


# Review 03s9c P3-6: six more wrong targets, each with the hint that names its cause.
def _cdt_answer(inst, scale):
    inst = np.asarray(inst)
    sd = -ndimage.distance_transform_cdt(inst == 0).astype(float)
    for c in np.unique(inst[inst > 0]):
        m = inst == c
        sd[m] = ndimage.distance_transform_cdt(np.pad(m, 1))[1:-1, 1:-1][m]
    return np.tanh(sd / scale)


def _to_boundary(inst, scale, mode):
    from skimage.segmentation import find_boundaries
    to_b = ndimage.distance_transform_edt(~find_boundaries(inst, mode=mode))
    outside = -to_b if mode == "thick" else -ndimage.distance_transform_edt(inst == 0)
    return np.tanh(np.where(inst > 0, to_b, outside) / scale)


def _over(inst, scale):
    return np.tanh(np.arctanh(_own(inst, 1.0))) / scale      # tanh(d) / scale


@pytest.mark.parametrize("answer, words", [
    (lambda i, s: _to_boundary(i, s, "inner"), ("border pixels of your cells are at 0", "OUTSIDE")),
    (lambda i, s: _to_boundary(i, s, "thick"), ("thick",)),
    (_cdt_answer, ("distance_transform_cdt", "Euclidean")),
    (lambda i, s: np.tanh(np.where(i > 0, _inside(i) - 0.5, 0.5 - ndimage.distance_transform_edt(i == 0)) / s),
     ("half a pixel",)),
    (_over, ("divided after the tanh",)),
    (lambda i, s: _own(i, 5.0), ("ignores its scale",)),
])
def test_more_wrong_targets_get_their_hint(answer, words):
    _fails(answer, *words)


def test_coco_ap_voc_area_gets_its_own_hint():
    """Review 03s9c P3-8: the area under the envelope (VOC all-points) differs from the lesson's first formula on
    the check's first case, and its hint names it."""
    from segcourse.checks import lesson03
    for kw, words in ((dict(by="voc"), ("area under the envelope", "VOC")), (dict(by="sum"), ("first formula",))):
        with pytest.raises(AssertionError) as info:
            checks.check_coco_ap(lambda p, c, g, t, kw=kw: lesson03._coco_ap_reference(p, c, g, t, **kw) + 0)
        text = " ".join(str(info.value).split())
        assert "false positive ranked second" in text and all(w in text for w in words), text


def test_count_cells_hint_names_skimage_connectivity():
    """Review 03s9c P3-14: skimage.measure.label(connectivity=1) is told connectivity=2."""
    from skimage import measure
    with pytest.raises(AssertionError) as info:
        checks.check_count_cells(lambda m, s: int(np.sum(np.bincount(measure.label(np.asarray(m), connectivity=1).ravel())[1:] >= s)))
    assert "connectivity=2" in " ".join(str(info.value).split())
