"""segcourse.masks: building, validating and converting masks."""

import numpy as np
import pytest
import torch

from segcourse import masks


def test_from_string_and_list_agree_with_the_seed_mask():
    a = masks.mask_from_string("##.\n#..\n...")
    b = masks.mask_from_list([[1, 1, 0], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8


def test_from_string_digits_spaces_custom_symbols():
    m = masks.mask_from_string(" 0 1 2 \n 2 1 0 ")
    np.testing.assert_array_equal(m, [[0, 1, 2], [2, 1, 0]])
    m = masks.mask_from_string("RRS\nSSR", symbols={"R": 1, "S": 2})
    np.testing.assert_array_equal(m, [[1, 1, 2], [2, 2, 1]])


@pytest.mark.parametrize("text, words", [("", "empty"), ("##\n#", "same number"), ("#?", "unknown")])
def test_from_string_errors(text, words):
    with pytest.raises(ValueError, match=words):
        masks.mask_from_string(text)


def test_from_string_type_error():
    with pytest.raises(TypeError):
        masks.mask_from_string([[1]])


def test_validate_label_map():
    out = masks.validate_label_map(torch.tensor([[0, 1], [2, 1]]), num_classes=3)
    assert isinstance(out, np.ndarray)
    for bad, exc in [(np.zeros((2, 2, 2)), ValueError), ([[0, -1]], ValueError), ([[0.5]], ValueError),
                     ("x", TypeError), (np.zeros((2, 2), dtype=complex), TypeError)]:
        with pytest.raises(exc):
            masks.validate_label_map(bad)
    with pytest.raises(ValueError, match="allows only 0..1"):
        masks.validate_label_map([[0, 2]], num_classes=2)


@pytest.mark.parametrize("shape", [(6, 7), (3, 6, 7)])
def test_one_hot_round_trip(shape):
    rng = np.random.default_rng(0)
    lm = rng.integers(0, 4, shape)
    oh = masks.to_one_hot(lm, 4)
    assert oh.dtype == bool and oh.shape == shape[:-2] + (4,) + shape[-2:]
    assert (oh.sum(axis=-3) == 1).all()
    np.testing.assert_array_equal(masks.from_one_hot(oh), lm)


def test_one_hot_rejects_out_of_range_and_bad_shapes():
    with pytest.raises(ValueError):
        masks.to_one_hot([[0, 4]], 4)
    with pytest.raises(ValueError):
        masks.from_one_hot(np.zeros((4, 4)))


def test_rgb_round_trip_and_palette():
    rng = np.random.default_rng(1)
    lm = rng.integers(0, 16, (9, 9))
    rgb = masks.to_rgb(lm)
    assert rgb.shape == (9, 9, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(masks.from_rgb(rgb), lm)
    # palette colours are all distinct, so the round trip is exact
    assert len({tuple(c) for c in masks.PALETTE}) == len(masks.PALETTE)
    custom = np.array([[0, 0, 0], [255, 0, 0]], np.uint8)
    np.testing.assert_array_equal(masks.from_rgb(masks.to_rgb([[1, 0]], custom), custom), [[1, 0]])


def test_rgb_errors():
    with pytest.raises(ValueError, match="not in the palette"):
        masks.from_rgb(np.full((2, 2, 3), 7, np.uint8))
    with pytest.raises(ValueError):
        masks.to_rgb([[0, 99]])
    with pytest.raises(ValueError):
        masks.palette(100)
