"""Masks in the three forms the course uses: label map, one-hot stack, RGB picture.

* A **binary mask** says, for one class, which pixels belong to it: ``(H, W)`` of 0/1.
* A **label map** (class map) holds one class id per pixel: ``(H, W)`` of ints ``0 .. K-1``.
* A **one-hot** stack holds one binary mask per class: ``(K, H, W)``, exactly one 1 per pixel.
* An **RGB** rendering paints each id with a fixed palette colour: ``(H, W, 3)`` uint8.

The palette is fixed (not drawn at random) so the same class has the same colour in every
figure of every lesson.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from ._validate import as_label_array, check_label_range, check_num_classes, to_numpy
from .palette import PALETTE

__all__ = [
    "PALETTE",
    "CLASS_NAMES",
    "palette",
    "mask_from_list",
    "mask_from_string",
    "validate_label_map",
    "to_one_hot",
    "from_one_hot",
    "to_rgb",
    "from_rgb",
    "check_colors",
]

#: The course palette (RGB uint8); defined with every other colour in :mod:`segcourse.palette`.
#: Default class names for generic masks: "background", "class 1", ...
CLASS_NAMES = ("background",) + tuple(f"class {i}" for i in range(1, len(PALETTE)))

_SYMBOLS = {".": 0, "#": 1, "x": 1, "X": 1, "o": 1}


def check_colors(colors: Any, name: str = "colors", decode: bool = False) -> np.ndarray:
    """A palette ``(K, 3)`` of distinct 0..255 integer RGB colours, as uint8.

    Colours are 0..255 integers (numpy integers, or floats holding whole numbers such as 255.0).
    A float palette whose values all lie in [0, 1] (matplotlib style, e.g. ``[[0., 0., 0.],
    [1., 1., 1.]]``) raises with a hint instead of being drawn near-black: scale it first;
    duplicate colours raise (two classes would be drawn alike); for decoding (``decode=True``)
    at most 256 colours (ids are returned as uint8).

    >>> check_colors([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    Traceback (most recent call last):
    ...
    ValueError: colors is a float palette with every value in [0, 1] (max 1): that looks like matplotlib's 0..1 colours, which would be drawn near-black; colours are 0..255 integers: pass np.round(np.asarray(colors) * 255).astype(np.uint8)
    """
    arr = to_numpy(np.asarray(colors) if isinstance(colors, (list, tuple)) else colors, name)
    if arr.ndim != 2 or arr.shape[1] != 3 or len(arr) == 0:
        raise ValueError(f"{name} must have shape (K, 3) with K >= 1, got {arr.shape}")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} has dtype {arr.dtype}; expected 0..255 integer RGB colours")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity; expected 0..255 integer RGB colours")
    if np.issubdtype(arr.dtype, np.floating) and 0 < arr.max() <= 1:
        raise ValueError(f"{name} is a float palette with every value in [0, 1] (max {float(arr.max()):g}): "
                         f"that looks like matplotlib's 0..1 colours, which would be drawn near-black; colours are "
                         f"0..255 integers: pass np.round(np.asarray({name}) * 255).astype(np.uint8)")
    frac = arr[arr != np.round(arr)]
    if frac.size:
        hint = ": use np.round(colors * 255)" if arr.max() <= 1 else ""
        raise ValueError(f"{name} holds values such as {float(frac[0]):g} between 0 and 1; colours are 0..255 "
                         f"integers{hint}" if arr.max() <= 1 else f"{name} holds non-integer values such as {float(frac[0]):g}; colours are 0..255 integers")
    if arr.min() < 0 or arr.max() > 255:
        raise ValueError(f"{name} holds values outside 0..255 (from {arr.min()} to {arr.max()})")
    pal = arr.astype(np.uint8)
    if len(np.unique(pal, axis=0)) != len(pal):
        raise ValueError(f"{name} has duplicate colours; every class needs its own colour")
    if decode and len(pal) > 256:
        raise ValueError(f"{name} has {len(pal)} colours; decoding supports at most 256 (ids are uint8)")
    return pal


def palette(num_classes: int) -> np.ndarray:
    """The first ``num_classes`` colours of the course palette, shape (K, 3) uint8.

    >>> palette(3)
    array([[ 40,  40,  40],
           [230, 159,   0],
           [ 86, 180, 233]], dtype=uint8)
    """
    k = check_num_classes(num_classes)
    if k > len(PALETTE):
        raise ValueError(f"the course palette has {len(PALETTE)} colours; got num_classes={k}")
    return PALETTE[:k].copy()


def mask_from_list(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Build a label map from nested lists, e.g. the 3x3 masks of lesson 00.

    >>> mask_from_list([[1, 1, 0], [1, 0, 0], [0, 0, 0]])
    array([[1, 1, 0],
           [1, 0, 0],
           [0, 0, 0]], dtype=uint8)
    """
    arr = as_label_array(rows, "rows", ndims=(2,))
    if arr.size and arr.min() < 0:
        raise ValueError("class ids must be >= 0")
    if arr.size and arr.max() > np.iinfo(np.int32).max:
        raise ValueError(f"rows holds the id {int(arr.max())}, beyond int32 (max {np.iinfo(np.int32).max}); "
                         f"class ids must be small integers 0..K-1")
    return arr.astype(np.uint8 if arr.size == 0 or arr.max() < 256 else np.int32)


def mask_from_string(text: str, symbols: Mapping[str, int] | None = None) -> np.ndarray:
    """Draw a small mask as text: one line per row, one character per pixel.

    Digits are class ids; ``.`` is background and ``#`` (or ``x``/``o``) is class 1. Spaces
    are ignored, so you may align columns; blank lines are skipped.

    >>> mask_from_string('''
    ...     ##.
    ...     #..
    ...     ...
    ... ''')
    array([[1, 1, 0],
           [1, 0, 0],
           [0, 0, 0]], dtype=uint8)
    >>> mask_from_string("0012\\n0112")
    array([[0, 0, 1, 2],
           [0, 1, 1, 2]], dtype=uint8)
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    table = dict(_SYMBOLS)
    table.update({str(d): d for d in range(10)})
    if symbols:
        table.update(symbols)
    rows = [line.replace(" ", "").replace("\t", "") for line in text.splitlines()]
    rows = [r for r in rows if r]
    if not rows:
        raise ValueError("the mask text is empty; write one line per row, e.g. '##.\\n#..'")
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        raise ValueError(f"every row must have the same number of pixels; got row lengths {sorted(widths)}")
    unknown = sorted({ch for r in rows for ch in r} - set(table))
    if unknown:
        raise ValueError(f"unknown mask symbol(s) {unknown}; use digits, '.' (0) or '#' (1), or pass symbols=")
    return mask_from_list([[table[ch] for ch in r] for r in rows])


def validate_label_map(
    label_map: Any, num_classes: int | None = None, name: str = "label_map"
) -> np.ndarray:
    """Check that ``label_map`` is a 2-D map of class ids and return it as a numpy array.

    Raises ``ValueError`` (not 2-D, negative or too-large ids, non-integer values) or
    ``TypeError`` (not an array) with a message that says what was expected.

    >>> validate_label_map([[0, 2], [1, 1]], num_classes=3).shape
    (2, 2)
    >>> validate_label_map([[0, 3]], num_classes=3)
    Traceback (most recent call last):
    ...
    ValueError: label_map contains class id(s) [3], but num_classes=3 allows only 0..2
    """
    arr = as_label_array(label_map, name, ndims=(2,))
    if num_classes is not None:
        check_label_range(arr, name, check_num_classes(num_classes))
    elif arr.size and arr.min() < 0:
        raise ValueError(f"{name} contains negative class ids; class ids start at 0")
    return arr


def to_one_hot(label_map: Any, num_classes: int) -> np.ndarray:
    """Label map ``(H, W)`` or ``(N, H, W)`` -> one-hot bool ``(K, H, W)`` or ``(N, K, H, W)``.

    >>> to_one_hot([[0, 1], [2, 1]], 3).astype(int)
    array([[[1, 0],
            [0, 0]],
    <BLANKLINE>
           [[0, 1],
            [0, 1]],
    <BLANKLINE>
           [[0, 0],
            [1, 0]]])
    """
    k = check_num_classes(num_classes)
    arr = as_label_array(label_map, "label_map")
    check_label_range(arr, "label_map", k)
    classes = np.arange(k).reshape((k,) + (1,) * 2)
    return arr[..., None, :, :] == classes


def from_one_hot(one_hot: Any, axis: int = -3) -> np.ndarray:
    """One-hot (or per-class scores/probabilities) -> label map, by argmax over the class axis.

    The class axis is third from the end by default, so ``(K, H, W)`` and ``(N, K, H, W)`` both
    work. NaN raises; a channel-last ``(H, W, K)`` one-hot stack (its values sum to 1 over the last
    axis, not over ``axis``) raises with a hint to pass ``axis=-1``.

    >>> from_one_hot(to_one_hot([[0, 1], [2, 1]], 3))
    array([[0, 1],
           [2, 1]])
    """
    arr = to_numpy(one_hot, "one_hot")
    if arr.ndim not in (3, 4):
        raise ValueError(f"one_hot has shape {arr.shape}; expected (K, H, W) or (N, K, H, W)")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"axis must be an integer axis of the {arr.ndim}-D one_hot, got {axis!r}")
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"one_hot has dtype {arr.dtype}; expected 0/1 or per-class scores")
    if arr.size and np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise ValueError("one_hot contains NaN or infinity; argmax over NaN has no meaning")
    if arr.size and axis % arr.ndim != arr.ndim - 1 and arr.min() >= 0:
        sums, last = arr.sum(axis, dtype=np.float64), arr.sum(-1, dtype=np.float64)
        if not np.allclose(sums, 1, atol=1e-3) and np.allclose(last, 1, atol=1e-3):
            raise ValueError(f"one_hot has shape {arr.shape} and sums to 1 over its last axis: it looks "
                             f"channel-last (H, W, K); pass axis=-1 or move the class axis first")
    return np.argmax(arr, axis=axis)


def to_rgb(label_map: Any, colors: Any = None) -> np.ndarray:
    """Paint a label map with the course palette (or ``colors``, shape (K, 3) of 0..255 integers).

    ``colors`` must be 0..255 integers (see :func:`check_colors`); a float palette in [0, 1]
    (matplotlib style) raises with a hint to multiply by 255.

    >>> to_rgb([[0, 1]])
    array([[[ 40,  40,  40],
            [230, 159,   0]]], dtype=uint8)
    """
    arr = as_label_array(label_map, "label_map")
    pal = PALETTE if colors is None else check_colors(colors)
    check_label_range(arr, "label_map", len(pal))
    return pal[arr]


def from_rgb(rgb: Any, colors: Any = None) -> np.ndarray:
    """Turn a palette-coloured RGB mask back into class ids (exact colour match).

    >>> from_rgb(to_rgb([[0, 1], [2, 0]]))
    array([[0, 1],
           [2, 0]], dtype=uint8)
    """
    arr = to_numpy(rgb, "rgb")
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"rgb has shape {arr.shape}; expected (H, W, 3)")
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"rgb has dtype {arr.dtype}; expected uint8 colours (as to_rgb makes)")
    pal = PALETTE if colors is None else check_colors(colors, decode=True)
    code = (arr.astype(np.int64) @ np.array([65536, 256, 1]))
    pal_code = pal.astype(np.int64) @ np.array([65536, 256, 1])
    order = np.argsort(pal_code)
    pos = np.searchsorted(pal_code[order], code)
    pos = np.clip(pos, 0, len(pal) - 1)
    found = pal_code[order][pos] == code
    if not found.all():
        bad = arr[~found][0].tolist()
        raise ValueError(f"rgb contains the colour {bad}, which is not in the palette")
    return order[pos].astype(np.uint8)
