"""Exercise 03.7, explain the evidence card's failure (review 03s10b P2-3): each slip in missed_kinds and in the evidence is named."""

from __future__ import annotations

import numpy as np
import pytest

from segcourse import checks
from segcourse.checks import lesson03


def missed_kinds(objects, truth, strict=True, any_cover=False, of_pred=False, merges=True, background=False,
                 merge_share=0.1, cover_over_half=False, merge_above=False, merge_of_object=False,
                 merge_touched=False, cover_first=False, cover_share=0.5):
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
        n_in = {g: np.count_nonzero((objects == p) & (truth == g)) for g in g_ids if g > 0}
        whole = np.count_nonzero(objects == p) if merge_of_object else None
        covered = [g for g, n in n_in.items()                # merge_share=0.5: "over half", the old figures' rule
                   if (n > 0.5 * np.count_nonzero(truth == g) if merge_share == 0.5 else
                       n >= 0.1 * whole if merge_of_object else
                       n > merge_share * np.count_nonzero(truth == g) if merge_above else
                       n >= merge_share * np.count_nonzero(truth == g))]
        if merges and len(covered) >= 2:
            in_merge |= {g for g, n in n_in.items() if n > 0} if merge_touched else set(covered)
    out = {}
    for g in set(g_ids) - matched_g:
        on = objects[truth == g]
        share = {p: (np.mean(truth[objects == p] == g) if of_pred else np.mean(on == p)) for p in np.unique(on) if p > 0}
        covered = any((s > 0.5 if cover_over_half else s >= cover_share) and (p in matched_p or any_cover)
                      for p, s in share.items())
        if g in in_merge and not (cover_first and covered):
            out[g] = "inside a merge"
        elif covered:
            out[g] = "covered by a match"
        else:
            out[g] = "other"
    return out


RIGHT = {"seeds": 5, "interior_iou": 0.922, "false_positives": 0}     # measured on image 84, the recipe's 2nd-worst
CARD = {"seeds": 4, "interior_iou": 0.929, "false_positives": 0}      # the card's image 156, printed by the lesson


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
    assert "covered by a match" in out and "5 seeds for 7 cells" in out and "answer cell below" in out
    assert "fewer seeds than cells" not in out and "the interior is nearly right" not in out  # review 03s12 P2-6

@pytest.mark.parametrize("kw, words", [
    (dict(strict=False), ("IoU of exactly 0.5 is not a match",)),
    (dict(any_cover=True), ("not matched to any cell",)),
    (dict(of_pred=True), ("missed cell's pixels",)),
    (dict(merges=False), ("inside a merge",)),
    (dict(background=True), ("Id 0 is the background",)),
    (dict(merge_share=0.5), ("a thin merge", "a tenth of each cell, not over half")),         # review 03s12 P1
    (dict(cover_over_half=True), ("covered by half", "at least half of the cell's pixels")),  # review 03s12 P1
    (dict(merge_above=True), ("a tenth of a cell:", "a tenth exactly included")),             # review 03s12b P1-a
    (dict(merge_share=0.25), ("a tenth of a cell:", "a tenth of a cell is enough")),          # review 03s12b P1-a
    (dict(merge_share=0.3), ("a tenth of a cell:", "a tenth of a cell is enough")),           # review 03s12b P1-a
    (dict(merge_of_object=True), ("a tenth of a cell:", "not of the merging object's")),      # review 03s12b P1-a
    (dict(merge_touched=True), ("a tenth of a cell:", "not every cell it touches")),          # review 03s12b P1-a
    (dict(cover_first=True), ("both merged and covered", "'inside a merge' comes first")),    # review 03s12b P1-a
    (dict(cover_share=0.4), ("two fifths", "2 of 5 pixels does not cover")),                  # review 03s12b P1-a
])
def test_missed_kinds_slips_get_their_hint(kw, words):
    _fails(lambda o, t: missed_kinds(o, t, **kw), RIGHT, *words)


@pytest.mark.parametrize("change, words", [
    (dict(seeds=4), ("8-connectivity",)),
    (dict(seeds=1), ("all cell pixels",)),
    (dict(seeds=7), ("number of true cells",)),
    (dict(seeds=6), ("ndimage.label(pred_classes_2 == 1)",)),
    (dict(interior_iou=1.0), ("all cell pixels",)),
    (dict(interior_iou=0.823), ("the boundary class",)),
    (dict(interior_iou=0.716), ("against all true cell pixels",)),
    (dict(interior_iou=0.5), ("is not that",)),
    (dict(false_positives=5), ("number of objects",)),
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


def test_the_card_s_numbers_copied_from_the_lesson_fail():
    """Review 03s11 P1: the lesson's card prints image 156's evidence; copying it must not pass."""
    _fails(missed_kinds, CARD, "image 156's numbers", "image 84")


def test_evidence_image_is_the_recipe_s_second_worst_and_differs_from_the_card():
    from segcourse import data, instances, models, train

    cells = data.touching_cells(200, seed=0, overlap=0.1, isolated=0.5)
    classes = train.predict(models.pretrained("cells"), cells.images, device="cpu")[0]
    pq = [instances.panoptic_quality(instances.instances_from_boundary_classes(c), t)["pq"]
          for c, t in zip(classes, cells.instances)]
    assert list(np.argsort(pq, kind="stable")[:2]) == [lesson03.CARD_IMAGE, lesson03.EVIDENCE_IMAGE]
    card, other = lesson03._evidence(lesson03.CARD_IMAGE), lesson03._evidence(lesson03.EVIDENCE_IMAGE)
    assert card[0] != other[0] and abs(card[1] - other[1]) > lesson03.EVIDENCE_TOLERANCE
