"""Input checking shared by every public function (one place, one set of messages).

Everything a learner can pass in -- nested lists, numpy arrays, torch tensors, bool or integer or
integer-valued float masks -- is turned into a numpy integer array here, once, at the boundary.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a numpy array (torch tensors are detached and moved to the CPU)."""
    if isinstance(x, np.ndarray):
        return x
    if type(x).__module__.startswith("torch"):
        try:
            return x.detach().cpu().numpy()
        except AttributeError:  # pragma: no cover - a torch object that is not a tensor
            pass
    if isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x)
        except ValueError as exc:
            raise ValueError(
                f"{name} is a nested list with rows of different lengths; every row of a mask "
                f"must have the same number of pixels ({exc})"
            ) from None
        if arr.dtype == object:
            raise ValueError(f"{name} is a nested list with rows of different lengths")
        return arr
    if isinstance(x, (bool, int, float, np.generic)):
        raise TypeError(f"{name} is a single number ({x!r}); expected a mask: a 2-D array of pixels")
    raise TypeError(
        f"{name} has type {type(x).__name__}; expected a numpy array, a torch tensor or a nested list"
    )


def as_label_array(
    x: Any,
    name: str,
    ndims: tuple[int, ...] = (2, 3),
) -> np.ndarray:
    """Return ``x`` as an integer numpy array, refusing non-integer values and bad shapes.

    Bool becomes uint8; floats are accepted only when every value is a whole number.
    """
    arr = to_numpy(x, name)
    if arr.ndim not in ndims:
        want = " or ".join({2: "2-D (H, W)", 3: "3-D (N, H, W)", 1: "1-D"}.get(d, f"{d}-D") for d in ndims)
        raise ValueError(f"{name} has shape {arr.shape} ({arr.ndim}-D); expected a {want} mask")
    if arr.dtype == bool:
        return arr.view(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinity; a mask holds whole-number class ids")
        if arr.size and not np.array_equal(arr, np.round(arr)):
            bad = arr[arr != np.round(arr)].ravel()[0]
            raise ValueError(
                f"{name} holds non-integer values such as {bad!r}; a mask holds class ids "
                f"(0, 1, 2, ...). If these are probabilities, threshold them (p > 0.5) or take "
                f"argmax over the class axis first"
            )
        return arr.astype(np.int64)
    raise TypeError(f"{name} has dtype {arr.dtype}; expected bool or integer class ids")


def check_same_shape(pred: np.ndarray, target: np.ndarray) -> None:
    """Refuse to compare masks of different shapes (never broadcast)."""
    if pred.shape != target.shape:
        raise ValueError(
            f"pred has shape {pred.shape} but target has shape {target.shape}; they must match "
            f"pixel for pixel (segcourse never broadcasts masks)"
        )


def check_num_classes(num_classes: Any) -> int:
    """Return ``num_classes`` as an int >= 1 or raise a learner-readable error."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes must be an integer, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    return int(num_classes)


def check_label_range(
    arr: np.ndarray,
    name: str,
    num_classes: int,
    ignore_index: int | None = None,
) -> None:
    """Raise if ``arr`` holds ids outside ``0 .. num_classes-1`` (``ignore_index`` allowed)."""
    if arr.size == 0:
        return
    lo, hi = int(arr.min()), int(arr.max())
    if lo >= 0 and hi < num_classes:
        return
    bad = arr[(arr < 0) | (arr >= num_classes)]
    if ignore_index is not None:
        bad = bad[bad != ignore_index]
    if bad.size:
        found = np.unique(bad)[:5].tolist()
        raise ValueError(
            f"{name} contains class id(s) {found}, but num_classes={num_classes} allows only "
            f"0..{num_classes - 1}"
            + (f" (and ignore_index={ignore_index})" if ignore_index is not None else "")
        )


def as_binary(x: Any, name: str, ndims: tuple[int, ...] = (2, 3)) -> np.ndarray:
    """Return ``x`` as a bool array, refusing anything but 0/1 (or bool) values."""
    arr = as_label_array(x, name, ndims)
    if arr.dtype == np.uint8 and to_numpy(x, name).dtype == bool:
        return arr.view(bool)
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        found = np.unique(arr)[:6].tolist()
        raise ValueError(
            f"{name} is not a binary mask: it holds the values {found}. This function takes "
            f"0/1 (or bool) masks; for label maps with several classes use per_class_iou / "
            f"per_class_dice, or compare one class with (mask == k)"
        )
    return arr.astype(bool)
