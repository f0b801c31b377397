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
