"""The lesson-04 checks pass correct answers and fail the typical mistakes with a teaching hint."""

import numpy as np
import pytest

from segcourse import checks, data, instances


def _f1(p, g):
    m = instances.match_instances(p, g, 0.5)
    total = 2 * m.tp + m.fp + m.fn
    return 2 * m.tp / total if total else float("nan")


def test_percentile_normalize_accepts_the_reference_and_a_plain_numpy_answer(capsys):
    checks.check_percentile_normalize(data.normalize_percentile)

    def mine(image, low, high):
        lo, hi = np.percentile(image, [low, high])
        return np.clip((np.asarray(image, float) - lo) / (hi - lo), 0, 1)

    checks.check_percentile_normalize(mine)
    assert "all cases pass" in capsys.readouterr().out


@pytest.mark.parametrize("wrong, hint", [
    (lambda im, lo, hi: np.asarray(im, float) / np.max(im), "min-max"),
    (lambda im, lo, hi: (np.asarray(im, float) - np.percentile(im, lo)) / (np.percentile(im, hi) - np.percentile(im, lo)), "clip"),
    (lambda im, lo, hi: np.clip(np.asarray(im) // 2, 0, 1), "floats"),
    (lambda im, lo, hi: np.clip(np.asarray(im, float) / 255, 0, 1), "percentile"),
    (lambda im, lo, hi: np.clip((np.asarray(im, float) - lo) / (hi - lo), 0, 1), "ramp 0..100|percentiles"),
    (lambda im, lo, hi: np.zeros(3), "shape"),
])
def test_percentile_normalize_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_percentile_normalize(wrong)


def test_percentile_normalize_reports_a_stub_and_a_crash():
    def stub(image, low, high):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="NotImplementedError"):
        checks.check_percentile_normalize(stub)
    with pytest.raises(AssertionError, match="crashed"):
        checks.check_percentile_normalize(lambda image, low, high: image.nope)


def test_matching_f1_accepts_a_correct_answer(capsys):
    checks.check_matching_f1(_f1)
    assert "all cases pass" in capsys.readouterr().out


def _f1_ge(p, g):  # IoU >= 0.5 counts as a match
    ious, _, _ = instances.iou_matrix(p, g)
    tp = int((ious >= 0.5).any(1).sum())
    return 2 * tp / (ious.shape[0] + ious.shape[1]) if ious.size else float("nan")


def _f1_by_id(p, g):
    p, g = np.asarray(p), np.asarray(g)
    ids_p, ids_g = set(np.unique(p)) - {0}, set(np.unique(g)) - {0}
    tp = sum(1 for i in ids_p & ids_g if instances.iou_matrix(p == i, g == i)[0].max() > 0.5)
    return 2 * tp / (len(ids_p) + len(ids_g)) if ids_p | ids_g else float("nan")


def _recall(p, g):
    m = instances.match_instances(p, g, 0.5)
    return m.tp / (m.tp + m.fn) if m.tp + m.fn else float("nan")


def _zero_on_empty(p, g):
    m = instances.match_instances(p, g, 0.5)
    total = 2 * m.tp + m.fp + m.fn
    return 2 * m.tp / total if total else 0.0


@pytest.mark.parametrize("wrong, hint", [
    (_f1_ge, "strictly"),
    (_recall, "precision or recall"),
    (_f1_by_id, "ids are arbitrary"),
    (_zero_on_empty, "NaN"),
])
def test_matching_f1_rejects_typical_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checks.check_matching_f1(wrong)


def test_new_checks_are_exported():
    assert {"check_percentile_normalize", "check_matching_f1"} <= set(checks.__all__)
