"""Input checking shared by every public function (one place, one set of messages).

Everything a learner can pass in -- nested lists, numpy arrays, torch tensors, bool or integer or
integer-valued float masks -- is turned into a numpy integer array here, once, at the boundary.
Images for the model path go through :func:`as_images` (float32 ``(N, H, W, 3)`` in [0, 1]);
scalar knobs through :func:`check_int`, :func:`check_float` and :func:`check_bool`. Every error
names the argument, the value it got and what was expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a numpy array (torch tensors are detached and moved to the CPU)."""
    if isinstance(x, np.ndarray):
        return x if x.dtype.isnative else x.astype(x.dtype.newbyteorder("="))
    if type(x).__module__.startswith("torch"):
        try:
            x = x.detach().cpu()
            if str(x.dtype) == "torch.bfloat16":  # numpy has no bfloat16: widen (exact)
                x = x.float()
            return x.numpy()
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


# ----------------------------------------------------------------------------- scalar knobs
def check_int(value: Any, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, refusing bools, floats, NaN and values outside the bounds.

    >>> check_int(3, "n", minimum=0)
    3
    >>> check_int(1.5, "n")
    Traceback (most recent call last):
    ...
    TypeError: n must be an integer, got 1.5 (float)
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {v}")
    return v


def check_float(value: Any, name: str, lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``value`` as a finite float within ``[lo, hi]`` (open ends with ``*_open``).

    >>> check_float(0.5, "noise", lo=0)
    0.5
    >>> check_float(float("nan"), "noise", lo=0)
    Traceback (most recent call last):
    ...
    ValueError: noise must be a finite number >= 0, got nan
    """
    want = " and ".join(w for w in (
        None if lo is None else f"{'>' if lo_open else '>='} {lo:g}",
        None if hi is None else f"{'<' if hi_open else '<='} {hi:g}") if w)
    want = f"a finite number {want}".rstrip()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {want}, got {value!r} ({type(value).__name__})")
    v = float(value)
    bad = not np.isfinite(v)
    bad |= lo is not None and (v <= lo if lo_open else v < lo)
    bad |= hi is not None and (v >= hi if hi_open else v > hi)
    if bad:
        raise ValueError(f"{name} must be {want}, got {value!r}")
    return v


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` if it is a real bool (``True``/``False``, numpy bool); refuse strings.

    >>> check_bool("no", "flag")
    Traceback (most recent call last):
    ...
    TypeError: flag must be True or False, got 'no' (str)
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def check_range_pair(value: Any, name: str, lo: float, integer: bool = False) -> tuple:
    """A ``(min, max)`` pair of finite numbers with ``lo <= min <= max``."""
    try:
        a, b = value
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a (min, max) pair, got {value!r}") from None
    check = (lambda v, n: check_int(v, n, minimum=lo)) if integer else (lambda v, n: check_float(v, n, lo=lo))
    a, b = check(a, f"{name}[0]"), check(b, f"{name}[1]")
    if a > b:
        raise ValueError(f"{name} must be (min, max) with min <= max, got {value!r}")
    return a, b


# ----------------------------------------------------------------------------- images
def as_images(x: Any, name: str = "images", single: bool = False) -> np.ndarray:
    """The model-path image convention: float32 ``(N, H, W, 3)`` (or ``(H, W, 3)`` when
    ``single``) with values in [0, 1].

    uint8 images are converted (divided by 255). Float images must already lie in [0, 1]:
    values above 1 (a 0..255 float image) or NaN raise, because silently rescaling them would
    hide a mistake. Channel-first ``(N, 3, H, W)`` or grayscale arrays raise with a hint.

    >>> as_images(np.full((1, 2, 2, 3), 255, np.uint8)).max()
    np.float32(1.0)
    >>> as_images(np.full((1, 2, 2, 3), 2.0))
    Traceback (most recent call last):
    ...
    ValueError: images holds values up to 2 but float images must lie in [0, 1]; a 0..255 float image needs images / 255 (uint8 images are converted for you)
    """
    arr = to_numpy(x, name)
    want = "(H, W, 3)" if single else "(N, H, W, 3)"
    nd = 3 if single else 4
    if arr.ndim != nd or arr.shape[-1] != 3:
        hint = ""
        if arr.ndim == nd and arr.shape[-3] == 3:
            hint = "; it looks channel-first: use np.moveaxis(images, -3, -1)"
        elif arr.ndim == nd - 1 or (arr.ndim == nd and arr.shape[-1] == 1):
            hint = "; for grayscale repeat the channel: np.repeat(img[..., None], 3, -1)"
        elif not single and arr.ndim == 3 and arr.shape[-1] == 3:
            hint = "; for one image use images[None]"
        raise ValueError(f"{name} has shape {arr.shape}; expected {want} RGB images{hint}")
    if arr.dtype == np.uint8:
        return (arr.astype(np.float32) / np.float32(255))
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} has dtype {arr.dtype}; expected float32 in [0, 1] or uint8")
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{name} has dtype {arr.dtype}; expected float32 in [0, 1] or uint8 (0..255); "
                        f"for other integer images divide by their maximum first")
    out = np.asarray(arr, dtype=np.float32)
    if out.size:
        lo, hi = float(out.min()), float(out.max())   # NaN propagates: one check covers it
        if not (lo >= 0.0 and hi <= 1.0) and not np.isfinite(out).all():
            raise ValueError(f"{name} contains NaN or infinity; images must be finite values in [0, 1]")
        if hi > 1.0 or lo < 0.0:
            raise ValueError(
                f"{name} holds values up to {hi:g} but float images must lie in [0, 1]; a 0..255 float image "
                f"needs {name} / 255 (uint8 images are converted for you)" if hi > 1.0 else
                f"{name} holds values down to {lo:g} but float images must lie in [0, 1]")
    return out


def check_plain_name(name: Any, what: str = "name") -> str:
    """A plain file name: no folder parts, not empty, not ``.``/``..``.

    >>> check_plain_name("../x")
    Traceback (most recent call last):
    ...
    ValueError: name must be a plain file name without folders, got '../x'
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a string, got {name!r}")
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or name.startswith("."):
        raise ValueError(f"{what} must be a plain file name without folders, got {name!r}")
    return name
