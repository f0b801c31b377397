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
    ({"shape": (3, 3), "image": np.zeros((3, 4))}, "must match pixel for pixel"),
    ({"shape": (3, 3), "image": np.zeros((3, 3, 4))}, "expected a (rows, cols) grey"),
    ({"shape": (3, 3), "image": np.zeros((3, 3, 3))[None]}, "expected a (rows, cols) grey"),
    ({"shape": (3, 3), "image": np.full((3, 3), 2.0)}, "must lie in [0, 1]"),
    ({"shape": (3, 3), "image": np.full((3, 3), np.nan)}, "NaN"),
    ({"shape": (3, 3), "image": np.ones((3, 3), bool)}, "dtype bool"),
    ({"shape": (3, 3), "image": np.ones((3, 3), np.int64)}, "dtype int64"),
    ({"shape": (3, 3), "image": "abc"}, "image"),
    ({"shape": (3, 3), "hide_target": "yes"}, "hide_target"),
])
def test_bad_input_messages(kwargs, words):
    with pytest.raises((ValueError, TypeError)) as info:
        MaskEditor(**kwargs)
    assert words in str(info.value)


def test_image_under_the_mask_is_checked_and_kept():
    grey = np.arange(9, dtype=np.uint8).reshape(3, 3) * 30
    ed = MaskEditor(shape=(3, 3), target=TRUTH, image=grey)
    assert ed.image.shape == (3, 3, 3) and ed.image.dtype == np.float32
    np.testing.assert_allclose(ed.image[..., 1], grey / 255, atol=1e-6)
    assert ed.image_url.startswith("data:image/png;base64,")
    rgb = np.random.default_rng(0).random((3, 3, 3))
    assert np.allclose(MaskEditor(mask=TRUTH, image=rgb).image, rgb)
    assert MaskEditor(shape=(3, 3)).image is None and MaskEditor(shape=(3, 3)).image_url == ""
    ed.paint(0, 0, 1)  # the image changes nothing about the scores or the text form
    assert ed.scores["painted"] == 1 and repr(ed) == "MaskEditor(shape=(3, 3), num_classes=2, painted=1, target=yes)"


def test_repr_is_stable_text():
    ed = MaskEditor(shape=(4, 5), num_classes=3)
    assert repr(ed) == "MaskEditor(shape=(4, 5), num_classes=3, painted=0, target=no)"
    assert "0x" not in repr(ed)


# ---------------------------------------------------------------------- ClickSegmenter (click mode)
from segcourse.widgets import ClickSegmenter  # noqa: E402


def _two_squares():
    """A 20×20 grey image: a bright square (the object) touching a dimmer one (a neighbour)."""
    img = np.zeros((20, 20))
    img[3:11, 3:11] = 1.0
    img[3:11, 11:16] = 0.6
    truth = np.zeros((20, 20), bool)
    truth[3:11, 3:11] = True
    return img, truth


def flood_predict(image, positive, negative, previous):
    """A simple click model: flood fill within 0.5 of each positive click's grey value, minus the
    region of each negative click's own grey value (within 0.1)."""
    from skimage.segmentation import flood

    def grow(points, tolerance):
        return np.any([flood(image, p, tolerance=tolerance) for p in points], axis=0) if points else np.zeros(image.shape, bool)

    return grow(positive, 0.5) & ~grow(negative, 0.1)


def test_clicks_make_a_mask_and_undo_goes_back():
    img, truth = _two_squares()
    seg = ClickSegmenter(img, flood_predict, target=truth)
    assert seg.clicks == [] and seg.mask.sum() == 0 and seg.iou == 0.0 and seg.ious == []
    assert seg.readout == "0 clicks (0 positive, 0 negative) · mask 0 px · IoU 0.000"
    seg.click(5, 5)  # tolerance 0.5 from 1.0 takes both squares: a merge
    assert seg.mask.sum() == 104 and seg.iou == pytest.approx(64 / 104)
    seg.click(5, 13, positive=False)  # a negative click on the neighbour removes it
    assert seg.mask.sum() == 64 and seg.iou == 1.0
    assert seg.clicks == [(5, 5, True), (5, 13, False)]
    assert seg.ious == [pytest.approx(64 / 104), 1.0]
    assert seg.readout == "2 clicks (1 positive, 1 negative) · mask 64 px · IoU 1.000"
    assert seg.points == [[5, 5, 1], [5, 13, 0]]  # what the front end draws
    seg.undo()
    assert seg.clicks == [(5, 5, True)] and seg.mask.sum() == 104 and seg.ious == [pytest.approx(64 / 104)]
    seg.undo(); seg.undo()  # more undos than clicks: no error
    assert seg.clicks == [] and seg.mask.sum() == 0


def test_predict_sees_the_clicks_and_the_previous_mask():
    calls = []

    def spy(image, positive, negative, previous):
        calls.append((positive, negative, None if previous is None else int(previous.sum())))
        out = np.zeros(image.shape[:2], bool)
        for r, c in positive:
            out[r, c] = True
        return out

    rgb = np.zeros((6, 8, 3), np.uint8)
    seg = ClickSegmenter(rgb, spy, clicks=[(1, 1, True), (2, 2, False), (3, 3, True)])
    assert calls == [([(1, 1)], [], None), ([(1, 1)], [(2, 2)], 1), ([(1, 1), (3, 3)], [(2, 2)], 1)]
    assert seg.mask.sum() == 2 and seg.iou is None and seg.ious == []
    assert seg.readout == "3 clicks (2 positive, 1 negative) · mask 2 px (no target to score against)"
    calls.clear()
    seg.undo()  # undo restores the stored mask: predict is not called again
    assert calls == [] and seg.mask.sum() == 1


def test_replay_is_deterministic_and_checked_before_anything_changes():
    img, truth = _two_squares()
    recorded = [(5, 5, True), (5, 13, False)]
    a = ClickSegmenter(img, flood_predict, target=truth, clicks=recorded)
    b = ClickSegmenter(img, flood_predict, target=truth)
    b.replay(recorded)
    assert a.clicks == b.clicks == recorded and np.array_equal(a.mask, b.mask) and a.ious == b.ious
    c = ClickSegmenter(img, flood_predict, target=truth, clicks=[((5, 5), True), ((np.int64(5), np.int64(13)), False)])
    assert c.clicks == recorded and c.ious == a.ious  # the ((row, col), positive) form of a click simulator
    with pytest.raises(ValueError, match=r"clicks\[1\] \(30, 0\) is outside the 20×20 image"):
        b.replay([(5, 5, True), (30, 0, True)])
    assert b.clicks == recorded  # unchanged
    b.reset()
    assert b.clicks == [] and b.mask.sum() == 0


def test_a_predict_that_fails_half_way_leaves_the_widget_as_it_was():
    def fragile(image, positive, negative, previous):
        if negative:
            raise RuntimeError("model crashed")
        return np.ones(image.shape, bool)

    seg = ClickSegmenter(np.zeros((4, 4)), fragile, clicks=[(0, 0, True)])
    with pytest.raises(RuntimeError):
        seg.replay([(1, 1, True), (2, 2, False)])
    assert seg.clicks == [(0, 0, True)]
    with pytest.raises(RuntimeError):
        seg.click(2, 2, positive=False)
    assert seg.clicks == [(0, 0, True)]


def test_browser_messages_click_undo_reset_and_show_errors():
    img, truth = _two_squares()
    seg = ClickSegmenter(img, flood_predict, target=truth)
    seg._on_message(seg, {"type": "click", "row": 5, "col": 5, "positive": True}, [])
    seg._on_message(seg, {"type": "click", "row": 5, "col": 13, "positive": False}, [])
    assert seg.clicks == [(5, 5, True), (5, 13, False)] and seg.iou == 1.0
    seg._on_message(seg, {"type": "undo"}, [])
    assert seg.clicks == [(5, 5, True)]
    seg._on_message(seg, {"type": "click", "row": 99, "col": 0, "positive": True}, [])  # no cell to raise into:
    assert seg.clicks == [(5, 5, True)] and "outside the 20×20 image" in seg.error  # the widget shows why
    seg._on_message(seg, {"type": "reset"}, [])
    assert seg.clicks == [] and seg.error == ""
    assert seg.handled == 5  # every message answered, refused ones too: the page's "busy" state ends


@pytest.mark.parametrize("kwargs, error, words", [
    ({"image": np.zeros((2, 4, 4, 3))}, ValueError, "expected an (H, W) grey or (H, W, 3) RGB image"),
    ({"image": np.zeros((3, 8, 8))}, ValueError, "channel-first"),
    ({"image": np.zeros((300, 10))}, ValueError, "1 to 256 pixels a side"),
    ({"image": np.full((4, 4), 2.0)}, ValueError, "must lie in [0, 1]"),
    ({"image": "cat.png"}, TypeError, "expected a numpy array"),
    ({"predict": "unet"}, TypeError, "predict must be a function predict(image, positive, negative, previous)"),
    ({"target": np.zeros((4, 5))}, ValueError, "target has shape (4, 5) but the image is (4, 4)"),
    ({"target": [[0, 2], [1, 0]]}, ValueError, "target is not a binary mask"),
    ({"clicks": [(1, 1)]}, TypeError, "clicks[0] must be a (row, col, positive) triple"),
    ({"clicks": (1, 1, True)}, TypeError, "clicks[0] must be a (row, col, positive) triple"),
    ({"clicks": [(1, 1, 1)]}, TypeError, "clicks[0] positive must be True or False"),
    ({"clicks": [(1.5, 1, True)]}, TypeError, "clicks[0] row must be an integer, got 1.5"),
    ({"clicks": [(0, 4, True)]}, ValueError, "clicks[0] (0, 4) is outside the 4×4 image"),
    ({"clicks": np.array([[1, 1, 1]])}, TypeError, "clicks[0] positive must be True or False, got 1 (int)"),
    ({"clicks": np.array([[1.5, 1, 1]])}, TypeError, "clicks[0] row must be an integer, got 1.5 (float)"),
    ({"clicks": "1,1,True"}, TypeError, "clicks must be a list of (row, col, positive) triples"),
    ({"scale": 0}, ValueError, "scale must be at least 1"),
    ({"display_range": 0.5}, TypeError, "display_range must be a pair (lo, hi) of numbers"),
    ({"display_range": (0.5, 0.5)}, ValueError, "display_range must have lo < hi"),
    ({"display_range": (0, float("inf"))}, ValueError, "display_range[1] must be a finite number"),
])
def test_click_segmenter_bad_input_messages(kwargs, error, words):
    args = {"image": np.zeros((4, 4)), "predict": lambda im, p, n, prev: np.zeros((4, 4), bool), **kwargs}
    with pytest.raises(error) as info:
        ClickSegmenter(**args)
    assert words in str(info.value)


@pytest.mark.parametrize("returned, error, words", [
    (np.zeros((4, 5), bool), ValueError, "predict returned a mask of shape (4, 5); it must return a bool mask of the image's shape (4, 4)"),
    (np.zeros((1, 4, 4), bool), ValueError, "predict returned a mask of shape (1, 4, 4)"),
    (np.full((4, 4), 0.7), ValueError, "values such as [0.7]; it must return a bool mask (True = object, or 0/1); these look like scores or probabilities: threshold them first"),
    (np.full((4, 4), 3), ValueError, "holding values such as [3]; it must return a bool mask"),
    (np.full((4, 4), "a"), TypeError, "dtype <U1"),
    (None, TypeError, "predict returned None"),
    ("mask", TypeError, "predict returned str"),
])
def test_a_bad_predict_is_named_with_the_shape(returned, error, words):
    seg = ClickSegmenter(np.zeros((4, 4)), lambda im, p, n, prev: returned)
    with pytest.raises(error) as info:
        seg.click(1, 1)
    assert words in str(info.value) and "np.float64" not in str(info.value)
    assert seg.clicks == []


def test_click_checks_and_zero_one_masks():
    seg = ClickSegmenter(np.zeros((4, 4)), lambda im, p, n, prev: np.eye(4, dtype=np.int64))  # 0/1 ints are fine
    seg.click(0, 0)
    assert seg.mask.dtype == bool and seg.mask.sum() == 4
    with pytest.raises(TypeError, match="click positive must be True or False"):
        seg.click(0, 0, positive="yes")
    with pytest.raises(TypeError, match="click row must be an integer"):
        seg.click(True, 0)


def test_click_segmenter_repr_is_stable_text():
    seg = ClickSegmenter(np.zeros((6, 9)), lambda im, p, n, prev: np.ones((6, 9), bool), target=np.ones((6, 9)),
                         clicks=[(0, 0, True), (1, 1, False)])
    assert repr(seg) == "ClickSegmenter(shape=(6, 9), clicks=2 (1 positive, 1 negative), target=yes)"


def test_display_range_stretches_only_what_is_drawn():
    seen = []
    image = np.full((6, 6), 20, np.uint8); image[2:4, 2:4] = 40
    def predict(im, p, n, prev):
        seen.append(im)
        return np.zeros(im.shape, bool)
    seg = ClickSegmenter(image, predict, clicks=[(2, 2, True)], display_range=(20, 40))
    assert seg._shown[0, 0].tolist() == [0, 0, 0] and seg._shown[2, 2].tolist() == [1, 1, 1]
    assert seen[0] is not None and np.array_equal(seen[0], image)            # the model sees the image as given
    plain = ClickSegmenter(image, predict)
    assert plain._shown.max() < 0.2                                          # without it: the dim image as it is
