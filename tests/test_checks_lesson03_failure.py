"""Exercise 03.7, explain the evidence card's failure (review 03s10b P2-3): each slip in missed_kinds and in the evidence is named."""

from __future__ import annotations

import numpy as np
import pytest

from segcourse import checks
from segcourse.checks import lesson03


def missed_kinds(objects, truth, strict=True, any_cover=False, of_pred=False, merges=True, background=False):
    """A learner's answer (no segcourse calls) and its typical slips."""
    objects, truth = np.asarray(objects), np.asarray(truth)
    p_ids = [p for p in np.unique(objects) if p > 0]
    g_ids = [g for g in np.unique(truth) if g > 0 or background]
    matched_p, matched_g = set(), set()
    for p in p_ids:
        for g in g_ids:
            iou = np.count_nonzero((objects == p) & (truth == g)) / np.count_nonzero((objects == p) | (truth == g))
            if iou > 0.5 or (not strict and iou == 0.5):
                matched_p.add(p)
                matched_g.add(g)
    in_merge = set()
    for p in set(p_ids) - matched_p:
        covered = [g for g in g_ids if g > 0 and np.count_nonzero((objects == p) & (truth == g)) >= 0.1 * np.count_nonzero(truth == g)]
        if merges and len(covered) >= 2:
            in_merge |= set(covered)
    out = {}
    for g in set(g_ids) - matched_g:
        on = objects[truth == g]
        share = {p: (np.mean(truth[objects == p] == g) if of_pred else np.mean(on == p)) for p in np.unique(on) if p > 0}
        if g in in_merge:
            out[g] = "inside a merge"
        elif any(s >= 0.5 and (p in matched_p or any_cover) for p, s in share.items()):
            out[g] = "covered by a match"
        else:
            out[g] = "other"
    return out


RIGHT = {"seeds": 4, "interior_iou": 0.929, "false_positives": 0}     # measured on the card's image 156


def _fails(answer, evidence, *words):
    with pytest.raises(AssertionError) as info:
        checks.check_failure_explained(answer, evidence)
    text = " ".join(str(info.value).split())
    for w in words:
        assert w in text, text
    return text


def test_right_answer_passes_and_prints_what_the_evidence_rules_out(capsys):
    checks.check_failure_explained(missed_kinds, RIGHT)
    out = " ".join(capsys.readouterr().out.split())
    assert "covered by a match" in out and "4 seeds for 6 cells" in out and "fewer seeds than cells" in out


@pytest.mark.parametrize("kw, words", [
    (dict(strict=False), ("IoU of exactly 0.5 is not a match",)),
    (dict(any_cover=True), ("not matched to any cell",)),
    (dict(of_pred=True), ("missed cell's pixels",)),
    (dict(merges=False), ("inside a merge",)),
    (dict(background=True), ("Id 0 is the background",)),
])
def test_missed_kinds_slips_get_their_hint(kw, words):
    _fails(lambda o, t: missed_kinds(o, t, **kw), RIGHT, *words)


@pytest.mark.parametrize("change, words", [
    (dict(seeds=3), ("8-connectivity",)),
    (dict(seeds=1), ("all cell pixels",)),
    (dict(seeds=6), ("number of true cells",)),
    (dict(seeds=5), ("ndimage.label(pred_classes == 1)",)),
    (dict(interior_iou=1.0), ("all cell pixels",)),
    (dict(interior_iou=0.86), ("the boundary class",)),
    (dict(interior_iou=0.678), ("against all true cell pixels",)),
    (dict(interior_iou=0.5), ("is not that",)),
    (dict(false_positives=4), ("number of objects",)),
    (dict(false_positives=2), ("matched to no true cell",)),
])
def test_wrong_evidence_is_named(change, words):
    _fails(missed_kinds, {**RIGHT, **change}, *words)


@pytest.mark.parametrize("evidence", ["b", {"seeds": 4}, {**RIGHT, "cause": "b"}])
def test_evidence_must_be_the_three_counts(evidence):
    _fails(missed_kinds, evidence, "exactly the keys")


def test_counts_and_helpers_are_refused():
    from segcourse import instances
    _fails(lambda o, t: instances.fp_fn_kinds([o], [t])[1], RIGHT, "counts per kind")
    _fails(lambda o, t: lesson03._missed_reference(o, t), RIGHT, "write it yourself")
