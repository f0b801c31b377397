"""Helpers moved out of lesson 03 (review 03s9c P2-4): viz.enlarge / viz.zoom_rows, instances.touching_pairs /
instances.fp_fn_kinds."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy import ndimage  # noqa: E402

from segcourse import instances, viz  # noqa: E402


def test_enlarge_repeats_each_pixel():
    a = np.arange(12).reshape(3, 4)
    out = viz.enlarge(a, (slice(1, 3), slice(0, 2)), k=3)
    assert out.shape == (6, 6) and np.array_equal(out[::3, ::3], a[1:3, 0:2])
    with pytest.raises(TypeError):
        viz.enlarge(a, np.s_[1:3])


def test_zoom_rows_draws_both_rows_and_marks_the_box():
    fig, axes = plt.subplots(2, 2)
    seen = []

    def draw(row, view):
        for ax in axes[row]:
            ax.imshow(view(np.zeros((10, 12))))
            ax.set_title("t")
        seen.append(view(np.zeros((10, 12))).shape)

    viz.zoom_rows(axes, (slice(2, 6), slice(3, 8)), draw)
    assert seen == [(10, 12), (16, 20)]
    assert all(len(ax.patches) == 1 for ax in axes[0]) and all(not ax.patches for ax in axes[1])
    assert axes[1, 1].get_title() == "the dashed box, enlarged:\nt"
    with pytest.raises(ValueError):
        viz.zoom_rows(axes[0], (slice(2, 6), slice(3, 8)), draw)
    plt.close(fig)


def test_touching_pairs_finds_the_neck_and_skips_apart_cells():
    yy, xx = np.mgrid[:12, :32]
    two = ((yy - 6) ** 2 + (xx - 6) ** 2 < 25) | ((yy - 6) ** 2 + (xx - 13) ** 2 < 25)
    lone = (yy - 6) ** 2 + (xx - 25) ** 2 < 16
    inst = np.where(two, 1 + (xx >= 10), 0) + 3 * lone
    dist = ndimage.distance_transform_edt(inst > 0)
    pairs = instances.touching_pairs(inst, dist)
    assert [(a, b) for a, b, *_ in pairs] == [(1, 2)]
    _, _, rr, cc, prof = pairs[0]
    assert prof.min() < min(prof[0], prof[-1]) and len(rr) == len(cc) == len(prof)
    with pytest.raises(ValueError):
        instances.touching_pairs(inst, dist[:, :-1])


def test_fp_fn_kinds_sorts_each_kind():
    truth = np.array([[1, 1, 1, 0, 2, 2, 2, 0, 3, 3, 3, 3, 0, 4, 4, 4, 4]])
    pred = np.array([[5, 5, 5, 5, 5, 5, 5, 0, 6, 6, 6, 7, 0, 8, 8, 8, 0]])
    pred[0, 16] = 0
    fp, fn = instances.fp_fn_kinds([pred], [truth])
    assert fp == {"merge": 1, "split piece": 1, "other": 0}
    assert fn == {"inside a merge": 2, "covered by a match": 0, "other": 0}
    covered = np.array([[1, 1, 1, 1, 2, 2]]), np.array([[5, 5, 5, 5, 5, 0]])   # cell 2 under cell 1's match
    assert instances.fp_fn_kinds([covered[1]], [covered[0]])[1]["covered by a match"] == 1
    with pytest.raises(ValueError):
        instances.fp_fn_kinds([pred], [truth, truth])


def test_zoom_row_label_clears_the_repeated_titles_and_labels_the_row_once():
    fig, axes = plt.subplots(2, 3)

    def draw(row, view):
        for ax in axes[row]:
            ax.imshow(view(np.zeros((8, 8))))
            ax.set_title("truth")
    viz.zoom_rows(axes, (slice(1, 4), slice(2, 5)), draw)
    viz.zoom_row_label(axes, "enlarged")
    assert [ax.get_title() for ax in axes[1]] == ["", "", ""]
    assert [ax.get_title() for ax in axes[0]] == ["truth"] * 3
    assert [t.get_text() for t in axes[1, 0].texts] == ["enlarged"]
    with pytest.raises(ValueError):
        viz.zoom_row_label(axes[:1])
    plt.close(fig)


def test_instance_rows_figure_has_its_panels_and_legends():
    """Session 11: the lesson's zoomed recipe figures (section 6, evidence card) drawn by one helper."""
    image, truth, merged = viz._toy_cluster()
    classes = (truth > 0).astype(int)
    fig = viz.instance_rows_figure(image, truth, {"merged": merged, "right": truth},
                                   maps=[("image", image, None), ("classes", classes, (["bg", "cell"], None))],
                                   truth_from="merged")
    axes = np.array(fig.axes).reshape(2, 5)
    assert [ax.get_title() for ax in axes[0]] == ["image", "classes", "merged: TP 1 FP 1 FN 2",
                                                  "right: TP 3 FP 0 FN 0", "truth: 3 cells"]
    assert all(ax.get_title() == "" for ax in axes[1])                      # one row label instead
    assert axes[1, 0].get_legend() is None                                  # a raw image needs no legend
    assert [t.get_text() for t in axes[1, 1].get_legend().get_texts()] == ["0 bg", "1 cell"]
    merged_legend = [t.get_text() for t in axes[1, 2].get_legend().get_texts()]
    assert merged_legend[:2] == ["matched: each pair shares a colour", "FP: unmatched prediction"]
    assert any("merge" in t for t in merged_legend)                        # the lavender outline is named
    assert [t.get_text() for t in axes[1, 4].get_legend().get_texts()][-1] == "FN: missed by merged"
    assert all(len(ax.patches) >= 1 for ax in axes[0])                     # the dashed box on every top panel
    plt.close(fig)


def test_distance_rows_figure_marks_markers_and_unlabelled_pixels():
    image, truth, merged = viz._toy_cluster()
    markers = np.zeros_like(truth)
    markers[8, 6] = markers[15, 20] = 1
    objects = np.where(truth == 3, 0, merged)                              # cell 3 left without an id
    fig = viz.distance_rows_figure(image, ndimage.distance_transform_edt(truth > 0), objects, markers, truth)
    axes = np.array(fig.axes[:6]).reshape(2, 3)
    assert len(fig.axes) == 7 and fig.axes[6].get_ylabel() == "predicted distance (px)"   # the colour bar
    assert len(axes[0, 0].lines[0].get_xdata()) == 2                       # one circle per marker
    hatched = [p for p in axes[0, 1].patches if p.get_hatch() == "xx"]
    assert len(hatched) == np.sum(truth == 3)                               # one hatched square per pixel with no id
    assert [t.get_text() for t in axes[1, 0].get_legend().get_texts()] == ["marker (peak)"]
    assert "cell pixel with no id" in [t.get_text() for t in axes[1, 1].get_legend().get_texts()]
    assert "FN: missed cell" in [t.get_text() for t in axes[1, 2].get_legend().get_texts()]
    plt.close(fig)


def test_ranking_curve_draws_hits_and_false_positives():
    hit = np.array([1, 1, 0, 1, 0, 1])
    precision, recall = np.cumsum(hit) / np.arange(1, 7), np.cumsum(hit) / 5
    ax = viz.ranking_curve(recall, precision, np.maximum.accumulate(precision[::-1])[::-1], hit)
    by_label = {line.get_label(): line for line in ax.lines}
    assert len(by_label["a hit"].get_xdata()) == 4 and len(by_label["a false positive"].get_xdata()) == 2
    assert list(by_label["beyond the last recall: precision 0"].get_ydata()[-2:]) == [0, 0]
    assert len(ax.get_legend().get_texts()) == 5
    plt.close(ax.figure)
