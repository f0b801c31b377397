"""The lesson-04 figure helpers of segcourse.viz: merges, truth and fate panels, rings."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from segcourse import palette, viz  # noqa: E402


def _scene():
    gt = np.zeros((12, 12), int)
    gt[:4, :4], gt[:4, 4:8], gt[8:, 8:], gt[8:, :3] = 1, 2, 3, 4
    pred = np.zeros((12, 12), int)
    pred[:4, :8] = 9                 # merges 1 and 2, matches neither
    pred[8:, 8:] = 5                 # matches 3
    pred[6, 10] = 7                  # a one-pixel FP
    return pred, gt


def test_merged_groups_needs_more_than_half_of_each_object():
    pred, gt = _scene()
    assert viz.merged_groups(pred, gt) == [[1, 2]]
    half = pred.copy()
    half[:4, 6:8] = 0                # object 2 only half inside: no longer a merge
    assert viz.merged_groups(half, gt) == []
    assert viz.merged_groups(np.zeros_like(gt), gt) == []


def test_merged_groups_refuses_different_shapes():
    with pytest.raises(ValueError):
        viz.merged_groups(np.zeros((4, 4), int), np.zeros((5, 5), int))


def test_fate_panel_outlines_merges_in_a_colour_that_is_no_error_colour():
    assert viz.MERGE_COLOUR == palette.ERROR_COLOURS["merge"]      # an error colour the palette test keeps apart
    others = {k: v for k, v in palette.ERROR_COLOURS.items() if k != "merge"}
    assert viz.MERGE_COLOUR not in {*palette.OUTCOME_COLOURS.values(), *others.values()}
    pred, gt = _scene()
    fig, ax = plt.subplots()
    m, merging, merges = viz.fate_panel(ax, np.zeros((12, 12)), pred, gt, "x")
    assert (m.tp, m.fp, m.fn) == (1, 2, 3) and merging == merges == [9]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("merge, matching none") for t in texts)
    assert "ringed: an FP under 50 px" in texts               # the one-pixel FP, not the merge
    plt.close(fig)


def test_fate_panel_can_leave_the_legend_to_another_panel():
    pred, gt = _scene()
    fig, ax = plt.subplots()
    viz.fate_panel(ax, np.zeros((12, 12)), pred, gt, legend=False, ring_below=0)
    assert ax.get_legend() is None
    plt.close(fig)


def test_truth_panel_outlines_only_the_missed_objects():
    pred, gt = _scene()
    fig, ax = plt.subplots()
    out = viz.truth_panel(ax, np.zeros((12, 12)), pred, gt, "truth")
    assert not np.allclose(out[9, 9], 0)                     # object 3, matched: filled in its colour
    assert np.allclose(out[9, 1], 0)                         # object 4, missed: not filled
    plt.close(fig)


def test_ring_objects_rings_each_object_at_its_centre():
    lab = np.zeros((10, 10), int)
    lab[1, 1], lab[5:7, 5:7] = 3, 8
    fig, ax = plt.subplots()
    ax.imshow(lab)
    handle = viz.ring_objects(ax, lab, [3, 8], "ringed")
    assert handle.get_label() == "ringed"
    assert ax.collections[0].get_offsets().tolist() == [[1.0, 1.0], [5.5, 5.5]]   # (column, row)
    viz.ring_objects(ax, lab, [])                            # nothing to ring: no error
    plt.close(fig)


def test_truth_panel_names_the_method_that_missed():      # review 04s9c P3-9
    pred, gt = _scene()
    fig, ax = plt.subplots()
    viz.truth_panel(ax, np.zeros((12, 12)), pred, gt, "truth", method="watershed")
    assert "FN: missed by watershed (outline)" in [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close(fig)


def test_score_grid_prints_each_score_and_boxes_the_choice():   # review 04s9c P2-2: the heat map of section 6
    fig, ax = plt.subplots()
    viz.score_grid(ax, [[0.5, 0.7, 0.7]], ["a"], ["1", "2", "3"], (0, 2), label="PQ")
    assert [t.get_text() for t in ax.texts] == ["0.500", "0.700", "0.700"]
    assert [p.get_xy() for p in ax.patches] == [(1.5, -0.5)]
    assert ax.get_legend().get_texts()[0].get_text() == "chosen"
    with pytest.raises(ValueError):
        viz.score_grid(ax, [[0.5, 0.7]], ["a", "b"], ["1", "2"], (0, 0))
    plt.close(fig)


def test_most_extra_objects_window_finds_the_specks_inside_the_columns():   # review 04s10 P2-3
    gt = np.zeros((16, 16), int)
    gt[2:4, 2:4], gt[10:12, 10:12] = 1, 2
    pred = gt.copy()
    pred[0, 0], pred[1, 6] = 3, 4                       # specks in the top-left corner
    pred[14, 9] = 5                                     # one speck bottom right
    assert viz.most_extra_objects_window(pred, gt, size=8, step=4) == (0, 0, 3, 1)
    assert viz.most_extra_objects_window(pred, gt, size=8, step=4, cols=(8, 16)) == (8, 8, 2, 1)
    with pytest.raises(ValueError, match="no 8x8 window"):
        viz.most_extra_objects_window(pred, gt, size=8, cols=(10, 16))


def test_instance_card_marks_the_notes_objects_and_draws_the_rim():      # review 04s10b P2-2
    import matplotlib.pyplot as plt
    import numpy as np

    from segcourse import instances, viz

    gt = np.zeros((64, 32), int)
    gt[4:14, 4:14], gt[30:40, 4:12], gt[30:40, 12:20], gt[48:60, 10:22] = 1, 2, 3, 4
    pred = gt.copy()
    pred[np.isin(gt, [2, 3])] = 9                         # 2 and 3 merged
    pred[48:60, 16:22] = 8                                # 4 cut in two
    band = np.zeros(gt.shape, bool)
    box, b = instances.rim_iou(pred, gt, 1, 1)
    fig, text = viz.instance_card(np.zeros(gt.shape), pred, gt, {"PQ": 0.4}, ["a note"], band=band,
                                  marks={"merge": [2, 3], "split": [4]}, rim=(box, 1, 1, b))
    assert "- a note" in text
    assert [t.get_text() for t in fig.axes[1].texts] == ["merge", "split"] == [t.get_text() for t in fig.axes[2].texts]
    assert fig.axes[3].get_title() == "boundary example: IoU 1.000"
    assert "the notes' objects" in fig.axes[1].get_legend().get_texts()[-1].get_text()
    plt.close(fig)


def _card_scene():
    gt = np.zeros((64, 32), int)
    gt[4:14, 4:14], gt[30:40, 4:12], gt[30:40, 12:20], gt[48:60, 10:22], gt[20:26, 24:30] = 1, 2, 3, 4, 5
    pred = gt.copy()
    pred[np.isin(gt, [2, 3])] = 9                         # 2 and 3 merged
    pred[48:60, 16:22] = 8                                # 4 cut in two halves
    pred[gt == 5] = 0                                     # 5 not found
    pred[0:2, 28:32] = 7                                  # a false positive
    return pred, gt


def test_failure_buckets_sorts_each_missed_object_once():                 # review 04s12 P2-2
    from segcourse import instances

    pred, gt = _card_scene()
    assert instances.failure_buckets(pred, gt) == {"merge": [2, 3], "split": [4], "missed": [5],
                                                   "merging predictions": 1, "false positives": 4}
    with pytest.raises(ValueError, match=r"pred has shape \(10, 32\) but gt has shape \(64, 32\)"):
        instances.failure_buckets(pred[:10], gt)


def test_typical_isolated_object_picks_the_lesson_nucleus():               # review 04s12 P2-7
    from segcourse import data, instances

    _, truth = data.nuclei_image()
    nucleus, crop = instances.typical_isolated_object(truth, region=np.s_[:, 256:])
    assert nucleus == 73 and (crop[0].stop - crop[0].start, crop[1].stop - crop[1].start) == (32, 32)
    assert (truth[crop] == nucleus).sum() == (truth == nucleus).sum()       # the whole nucleus inside the crop
    with pytest.raises(TypeError, match="region must be a pair of slices"):
        instances.typical_isolated_object(truth, region="right")


def test_card_error_zoom_fills_the_card_and_outlines_the_window():         # review 04s12 P3-5
    pred, gt = _card_scene()
    fig, _ = viz.instance_card(np.zeros(gt.shape), pred, gt, {"PQ": 0.4}, ["a note"], band=gt > 0)
    zoom = viz.card_error_zoom(fig, np.s_[28:60, 0:32], label="errors, zoomed")
    assert zoom.get_title() == "errors, zoomed: rows 28-59, columns 0-31"
    assert zoom.images[0].get_array().shape[:2] == (32, 32)
    err = next(a for a in fig.axes if a.get_title().startswith("errors (band"))
    assert len(err.patches) == 1                                             # the dashed window
    assert fig.axes[-2].get_subplotspec().colspan == range(3, 4)             # the text: last column
    with pytest.raises(ValueError, match="no error panel"):
        viz.card_error_zoom(plt.figure(), np.s_[0:4, 0:4])
    plt.close("all")
