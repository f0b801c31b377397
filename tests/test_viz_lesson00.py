"""viz.task_outputs: the four task outputs of lesson 00 §0 (class label, boxes, label map, instances)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from segcourse import viz  # noqa: E402


def _scene():
    inst = np.zeros((8, 10), int)
    inst[1:3, 1:4] = 1
    inst[5:8, 6:9] = 2
    return np.zeros((8, 10, 3)), (inst > 0).astype(int), inst


def test_task_outputs_draws_one_box_per_instance_in_its_colour():
    image, label_map, inst = _scene()
    colours = {1: (130, 145, 15), 2: (120, 25, 70)}
    fig = viz.task_outputs(image, label_map, inst, ["bg", "car"], colours=colours, object_name="car")
    try:
        axes = fig.axes
        assert len(axes) == 4
        assert axes[1].get_title() == "detection:\n2 boxes"
        boxes = axes[1].patches
        assert [(b.get_x(), b.get_y(), b.get_width(), b.get_height()) for b in boxes] == \
            [(0.5, 0.5, 3, 2), (5.5, 4.5, 3, 3)]
        assert [tuple(np.round(np.array(b.get_edgecolor()[:3]) * 255).astype(int)) for b in boxes] == \
            list(colours.values())
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["0 bg", "1 car"]
    finally:
        plt.close(fig)


def test_task_outputs_without_objects_and_bad_shapes():
    image, label_map, inst = _scene()
    fig = viz.task_outputs(image, np.zeros_like(label_map), np.zeros_like(inst), ["bg", "car"], object_name="car")
    try:
        assert fig.axes[0].get_title() == "class label:\n'no car'"
        assert fig.axes[1].get_title() == "detection:\n0 boxes" and not fig.axes[1].patches
    finally:
        plt.close(fig)
    with pytest.raises(ValueError):
        viz.task_outputs(image, label_map, inst[:4], ["bg", "car"])


def test_fault_notes_counts_only_wrong_pixels_and_splits_edge_from_inside():
    target = np.zeros((5, 8), int)
    target[:, 4:] = 1
    pred = target.copy()
    pred[:, 4] = 0                        # the edge column: on a class edge
    pred[2, 7] = 0                        # one pixel deep inside class 1
    faults = {"edge moved": np.arange(8) == 4, "speck": pred != target, "nothing": np.zeros((5, 8), bool)}
    assert viz.fault_notes(target, pred, faults) == [
        "edge moved: 5 px wrong, 5 on a class edge, 0 inside",
        "speck: 6 px wrong, 5 on a class edge, 1 inside",
        "nothing: 0 px wrong, 0 on a class edge, 0 inside"]
    with pytest.raises(ValueError):
        viz.fault_notes(target, pred[:3], faults)


def test_zoom_card_has_no_error_panel_and_a_legend_of_the_classes_present_review_00s11b():
    t = np.zeros((12, 12), int)
    t[6:, :] = 1
    t[8:10, 3:6] = 4                                        # one car; classes 2 and 3 are absent
    p = np.roll(t, 1, axis=1)
    names = ["sky", "road", "sidewalk", "lane marking", "car"]
    crops = {"the car": (slice(7, 11), slice(2, 8))}
    fig, text = viz.zoom_card(np.zeros((12, 12, 3)), t, p, names, {"mIoU": 0.5, "per_class": [1, 0.9, 0, 0, 0.5]},
                              crops)
    labels = [x.get_text() for x in fig.legends[0].get_texts()]
    assert labels == ["0 sky", "1 road", "4 car", "wrong pixels (white outline)"]
    titles = [ax.get_title() for ax in fig.axes]
    assert "the car (×4)" in titles and not any("error" in title for title in titles)
    zoomed = next(ax for ax in fig.axes if ax.get_title() == "the car (×4)")
    assert zoomed.images[0].get_array().shape[:2] == (16, 24)          # 4 × 6 pixels, each 4 × 4
    assert "mIoU: 0.500" in text and "per_class" not in text
    plt.close(fig)


def test_overlay_figure_draws_the_outline_on_the_last_panel_only():
    m = np.zeros((6, 6), bool)
    m[2:4, 2:4] = True
    fig = viz.overlay_figure({"image": np.zeros((6, 6)), "overlay": np.ones((6, 6, 3))}, m, [])
    assert [len(ax.collections) for ax in fig.axes] == [0, 1]
    plt.close(fig)


def test_overlay_error_card_draws_the_prediction_over_the_image_and_fills_wrong_pixels_review_00s13():
    t = np.zeros((12, 12), int)
    t[6:, :] = 1
    t[8:10, 3:6] = 4                                        # one car, moved 1 px right in the prediction
    p = np.where(t == 4, 1, t)
    p[np.roll(t == 4, 1, axis=1)] = 4
    names = ["sky", "road", "sidewalk", "lane marking", "car"]
    image = np.full((12, 12, 3), 0.5)
    fig, _ = viz.overlay_error_card(image, t, p, names, {"mIoU": 0.5}, {"the car": (slice(7, 11), slice(2, 8))},
                                    alpha=1.0)
    assert fig.axes[2].get_title() == "prediction over the image"
    assert not np.allclose(fig.axes[2].images[0].get_array(), image)      # the prediction is drawn over it
    crop = next(ax for ax in fig.axes if ax.get_title() == "the car\n(4×6 px)")
    shown = np.asarray(crop.images[0].get_array())
    assert shown.shape == (16, 24, 3)
    cyan = np.array(viz._pal.ERROR_COLOURS["boundary error"]) / 255
    wrong = (t != p)[7:11, 2:8]                               # every wrong pixel lies on a class edge here
    filled = np.isclose(shown[::4, ::4], cyan).all(-1)
    assert (filled == wrong).all() and wrong.sum() == 4
    assert len(crop.collections) == 1                         # the target's class edges, dashed
    labels = [x.get_text() for x in fig.legends[0].get_texts()]
    assert labels[-3:] == ["wrong, on a class edge", "wrong, inside a class", "target's class edges"]
    plt.close(fig)
