"""MaskEditor at the Python level: every operation, scores, notifications, save/load."""

import numpy as np
import pytest

from segcourse.widgets import MaskEditor

TRUTH = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]


def test_open_empty_or_on_a_mask():
    ed = MaskEditor(shape=(8, 8), num_classes=2)
    assert ed.mask.shape == (8, 8) and ed.mask.sum() == 0
    ed = MaskEditor(mask=np.array(TRUTH, bool))
    np.testing.assert_array_equal(ed.mask, TRUTH)
    assert ed.num_classes == 2 and ed.scores == {"painted": 3}
    assert "no target" in ed.readout


def test_paint_undo_redo_reset_and_the_seed_scores():
    ed = MaskEditor(shape=(3, 3), target=TRUTH)
    assert ed.scores["iou"] == 0.0
    for r, c in [(0, 0), (1, 0), (1, 1)]:
        ed.paint(r, c)
    assert ed.scores["iou"] == 0.5 and round(ed.scores["dice"], 4) == 0.6667
    assert ed.readout.startswith("IoU 0.500 · Dice 0.667")
    ed.undo()
    assert ed.mask[1, 1] == 0
    ed.redo()
    assert ed.mask[1, 1] == 1
    ed.undo(); ed.paint(0, 1)
    assert ed.scores["iou"] == 1.0 and ed.scores["boundary_iou"] == 1.0
    ed.redo()  # redo history was cleared by the new paint
    assert ed.scores["iou"] == 1.0
    ed.reset()
    assert ed.mask.sum() == 0
    ed.undo()
    assert ed.scores["iou"] == 1.0  # reset is undoable
    for _ in range(10):
        ed.undo()  # more undos than steps: no error
    assert ed.mask.sum() == 0


def test_brush_eraser_and_classes():
    ed = MaskEditor(shape=(5, 5), num_classes=3)
    ed.brush = 3
    ed.paint(2, 2, cls=2)
    assert (ed.mask[1:4, 1:4] == 2).all() and ed.mask.sum() == 18
    ed.paint(0, 0, cls=1)  # brush clipped at the border
    assert ed.mask[0, 0] == 1 and ed.mask[1, 1] == 1
    ed.brush = 1
    ed.paint(2, 2, cls=0)  # class 0 is the eraser
    assert ed.mask[2, 2] == 0
    with pytest.raises(ValueError, match="class id"):
        ed.paint(0, 0, cls=3)
    with pytest.raises(ValueError, match="outside"):
        ed.paint(5, 0)


def test_browser_strokes_are_one_undo_step():
    ed = MaskEditor(shape=(4, 4))
    for c in range(4):
        ed._on_message(ed, {"type": "paint", "row": 0, "col": c, "stroke": 1}, [])
    ed._on_message(ed, {"type": "paint", "row": 3, "col": 3, "stroke": 2}, [])
    assert ed.mask.sum() == 5
    ed._on_message(ed, {"type": "undo"}, [])
    assert ed.mask.sum() == 4
    ed._on_message(ed, {"type": "undo"}, [])
    assert ed.mask.sum() == 0
    ed._on_message(ed, {"type": "redo"}, [])
    assert ed.mask.sum() == 4


def test_multiclass_scores_and_error_codes():
    t = [[1, 1, 2], [0, 0, 2]]
    ed = MaskEditor(mask=[[1, 0, 2], [0, 0, 1]], target=t, num_classes=3)
    assert 0 < ed.scores["iou"] < 1
    assert ed.errors == [1, 3, 1, 0, 0, 3]


def test_observe_notifies_every_change():
    ed = MaskEditor(shape=(3, 3), target=TRUTH)
    seen = []
    ed.observe(lambda change: seen.append(change["new"]["iou"]), names="scores")
    ed.paint(0, 0); ed.paint(0, 1); ed.undo()
    assert seen == [pytest.approx(1 / 3), pytest.approx(2 / 3), pytest.approx(1 / 3)]


@pytest.mark.parametrize("suffix", [".npy", ".png"])
def test_save_load_round_trip_and_no_overwrite(tmp_path, suffix):
    ed = MaskEditor(mask=[[0, 1, 2], [2, 1, 0]], num_classes=3)
    path = ed.save(tmp_path / f"mask{suffix}")
    back = MaskEditor.load(path, num_classes=3)
    np.testing.assert_array_equal(back.mask, ed.mask)
    ed.paint(0, 0, 2)
    with pytest.raises(FileExistsError):
        ed.save(path)
    np.testing.assert_array_equal(MaskEditor.load(path, num_classes=3).mask, [[0, 1, 2], [2, 1, 0]])  # untouched
    ed.save(path, overwrite=True)
    assert MaskEditor.load(path, num_classes=3).mask[0, 0] == 2
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp files left behind
    with pytest.raises(ValueError, match=".npy or .png"):
        ed.save(tmp_path / "mask.txt")


@pytest.mark.parametrize("kwargs, words", [
    ({"mask": np.zeros((2, 2, 2))}, "2-D"),
    ({"mask": [[0.5, 1]]}, "non-integer"),
    ({"mask": [[0, 3]], "num_classes": 2}, "allows only 0..1"),
    ({"mask": [[0, -1]]}, "negative"),
    ({"mask": "abc"}, "numpy array"),
    ({"shape": (40, 40)}, "toy masks"),
    ({}, "shape=(rows, cols)"),
    ({"shape": (3, 3), "target": [[0, 1]]}, "must match"),
    ({"shape": (2, 2), "class_names": ["a"]}, "class names"),
])
def test_bad_input_messages(kwargs, words):
    with pytest.raises((ValueError, TypeError)) as info:
        MaskEditor(**kwargs)
    assert words in str(info.value)


def test_repr_is_stable_text():
    ed = MaskEditor(shape=(4, 5), num_classes=3)
    assert repr(ed) == "MaskEditor(shape=(4, 5), num_classes=3, painted=0, target=no)"
    assert "0x" not in repr(ed)
