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


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number it holds, so messages print ``0.7``, not ``np.float64(0.7)``."""
    return value.item() if isinstance(value, np.generic) else value


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
        if any(type(v).__module__.startswith("torch") for v in x):  # a list of tensors (maybe requiring grad)
            x = [to_numpy(v, f"{name}[{i}]") if type(v).__module__.startswith("torch") else v for i, v in enumerate(x)]
        try:
            arr = np.asarray(x)
        except ValueError as exc:
            raise ValueError(
                f"{name} is a nested list with rows of different lengths; every row of a mask "
                f"must have the same number of pixels ({exc})"
            ) from None
        if arr.dtype == object:
            raise _object_list_error(arr, name)
        return arr
    if isinstance(x, (bool, int, float, np.generic)):
        raise TypeError(f"{name} is a single number ({_plain(x)!r}); expected a mask: a 2-D array of pixels")
    raise TypeError(
        f"{name} has type {type(x).__name__}; expected a numpy array, a torch tensor or a nested list"
    )


def _object_list_error(arr: np.ndarray, name: str) -> Exception:
    """Say why a nested list became an object array: a non-number, a huge int, or ragged rows."""
    for idx, v in np.ndenumerate(arr):
        where = name + "".join(f"[{i}]" for i in idx)
        if isinstance(v, (list, tuple, np.ndarray)):
            break  # a list where a number should be: rows nested to different depths
        if v is None or isinstance(v, (str, bytes)) or not isinstance(v, (bool, int, float, np.number)):
            return TypeError(f"{where} is {_plain(v)!r} ({type(v).__name__}); every pixel of a mask must be a "
                             f"number (a class id 0, 1, 2, ...)")
        if isinstance(v, int) and not np.iinfo(np.int64).min <= v <= np.iinfo(np.int64).max:
            return ValueError(f"{where} is {v}, too large for any integer array (at most 2**63 - 1); "
                              f"class ids are small integers 0..K-1")
    return ValueError(f"{name} is a nested list with rows of different lengths; every row of a mask must "
                      f"have the same number of pixels")


def check_nonnegative(arr: np.ndarray, name: str, what: str = "class ids") -> None:
    """Refuse negative ids in an integer array, naming the ones found.

    >>> check_nonnegative(np.array([[0, -1], [2, -3]]), "labels", "instance ids")
    Traceback (most recent call last):
    ...
    ValueError: labels contains negative instance ids [-3, -1]; instance ids are 0 or positive (0 is background)
    """
    if arr.size and arr.min() < 0:
        found = np.unique(arr[arr < 0])[:5].tolist()
        raise ValueError(f"{name} contains negative {what} {found}; {what} are 0 or positive (0 is background)")


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
                f"{name} holds non-integer values such as {float(bad):g}; a mask holds class ids "
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
        raise TypeError(f"num_classes must be an integer, got {_plain(num_classes)!r}")
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


def as_binary(x: Any, name: str, ndims: tuple[int, ...] = (2, 3), hint: str | None = None) -> np.ndarray:
    """Return ``x`` as a bool array, refusing anything but 0/1 (or bool) values.

    ``hint`` replaces the default advice (about label maps) in the error message.
    """
    arr = as_label_array(x, name, ndims)
    if arr.dtype == np.uint8 and to_numpy(x, name).dtype == bool:
        return arr.view(bool)
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        found = np.unique(arr)[:6].tolist()
        raise ValueError(
            f"{name} is not a binary mask: it holds the values {found}. " + (hint or (
                "This function takes 0/1 (or bool) masks; for label maps with several classes use "
                "per_class_iou / per_class_dice, or compare one class with (mask == k)"))
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
        raise TypeError(f"{name} must be an integer, got {_plain(value)!r} ({type(value).__name__})")
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
        raise TypeError(f"{name} must be {want}, got {_plain(value)!r} ({type(value).__name__})")
    v = float(value)
    bad = not np.isfinite(v)
    bad |= lo is not None and (v <= lo if lo_open else v < lo)
    bad |= hi is not None and (v >= hi if hi_open else v > hi)
    if bad:
        raise ValueError(f"{name} must be {want}, got {_plain(value)!r}")
    return v


def check_seed(value: Any, name: str = "seed") -> int:
    """A reproducible seed: an integer >= 0 (numpy integers too), refusing None and Generators.

    segcourse makes its own ``np.random.default_rng(seed)`` (and ``torch.manual_seed(seed)``), so
    the same integer always gives the same result; ``None`` (fresh randomness every run) and an
    existing ``np.random.Generator`` are refused with a hint.

    >>> check_seed(np.int64(3))
    3
    >>> check_seed(None)
    Traceback (most recent call last):
    ...
    TypeError: seed must be an integer >= 0 such as seed=0 (the same seed gives the same result every run), got None; for a different draw pass a different integer (e.g. seed=1)
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        got = f"a {type(value).__name__}" if isinstance(value, (np.random.Generator, np.random.RandomState)) \
            else f"{_plain(value)!r}"
        raise TypeError(f"{name} must be an integer >= 0 such as {name}=0 (the same {name} gives the same result "
                        f"every run), got {got}; for a different draw pass a different integer (e.g. {name}=1)")
    if value < 0:
        raise ValueError(f"{name} must be an integer >= 0 such as {name}=0, got {int(value)}")
    return int(value)


def check_score(value: Any, name: str) -> float:
    """A score to display: a real number (NaN allowed: "no value"), not a string, None or bool.

    0-d numpy arrays and one-element torch tensors are accepted.

    >>> check_score(np.float32(0.5), "scores['mIoU']")
    0.5
    >>> check_score("0.9", "scores['mIoU']")
    Traceback (most recent call last):
    ...
    TypeError: scores['mIoU'] must be a number such as 0.91 (NaN for "no value"), got '0.9' (str)
    """
    v = value
    if type(v).__module__.startswith("torch") or isinstance(v, np.ndarray):
        try:
            arr = to_numpy(v, name)
        except TypeError:
            arr = None
        if arr is not None and arr.size == 1 and np.issubdtype(arr.dtype, np.number):
            v = arr.reshape(-1)[0]
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f'{name} must be a number such as 0.91 (NaN for "no value"), got {_plain(value)!r} '
                        f"({type(value).__name__})")
    return float(v)


def get_key(mapping: Any, key: str, name: str, hint: str = "") -> Any:
    """``mapping[key]``, or a clear error naming the mapping, the missing key and what it holds.

    >>> get_key({"a": 1}, "miou", "sample", "pass one entry of bucket_failures(...)['samples']")
    Traceback (most recent call last):
    ...
    ValueError: sample has no key 'miou' (it has ['a']); pass one entry of bucket_failures(...)['samples']
    """
    if not hasattr(mapping, "keys") or not hasattr(mapping, "__getitem__"):
        raise TypeError(f"{name} must be a dict, got {type(mapping).__name__}" + (f"; {hint}" if hint else ""))
    if key not in mapping:
        raise ValueError(f"{name} has no key {key!r} (it has {sorted(map(str, mapping.keys()))})"
                         + (f"; {hint}" if hint else ""))
    return mapping[key]


def check_same_size(**shapes: tuple[int, ...]) -> None:
    """Refuse arrays whose height and width differ (the first two numbers of each shape).

    >>> check_same_size(image=(4, 4, 3), target=(5, 5), pred=(4, 4))
    Traceback (most recent call last):
    ...
    ValueError: image has height x width (4, 4) but target has (5, 5) and pred has (4, 4); they must match pixel for pixel
    """
    hw = {k: tuple(v[:2]) for k, v in shapes.items()}
    if len(set(hw.values())) > 1:
        (first, size), *rest = hw.items()
        raise ValueError(f"{first} has height x width {size} but " + " and ".join(f"{k} has {v}" for k, v in rest)
                         + "; they must match pixel for pixel")


def check_enough_colours(n_classes: int, palette: np.ndarray, what: str = "class_names") -> None:
    """Refuse more classes than the palette has colours (instead of an IndexError deep in numpy).

    >>> check_enough_colours(17, np.zeros((16, 3)))
    Traceback (most recent call last):
    ...
    ValueError: class_names has 17 classes but the palette has only 16 colours; pass palette= with one 0..255 RGB colour per class, shape (17, 3)
    """
    if n_classes > len(palette):
        raise ValueError(f"{what} has {n_classes} classes but the palette has only {len(palette)} colours; pass "
                         f"palette= with one 0..255 RGB colour per class, shape ({n_classes}, 3)")


def check_axes(ax: Any, name: str = "ax") -> None:
    """Refuse something that is not one matplotlib Axes (e.g. the array ``plt.subplots(1, 3)`` returns)."""
    if not (hasattr(ax, "imshow") and hasattr(ax, "set_title")):
        hint = "; plt.subplots(1, n) returns an array of axes: pass one of them, e.g. axes[0]" \
            if isinstance(ax, np.ndarray) else ""
        raise TypeError(f"{name} must be a matplotlib Axes (or None for a new figure), got {type(ax).__name__}{hint}")


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` if it is a real bool (``True``/``False``, numpy bool); refuse strings.

    >>> check_bool("no", "flag")
    Traceback (most recent call last):
    ...
    TypeError: flag must be True or False, got 'no' (str)
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_plain(value)!r} ({type(value).__name__})")
    return bool(value)


def check_range_pair(value: Any, name: str, lo: float, integer: bool = False) -> tuple:
    """A ``(min, max)`` pair of finite numbers with ``lo <= min <= max``."""
    try:
        a, b = value
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a (min, max) pair, got {_plain(value)!r}") from None
    check = (lambda v, n: check_int(v, n, minimum=lo)) if integer else (lambda v, n: check_float(v, n, lo=lo))
    a, b = check(a, f"{name}[0]"), check(b, f"{name}[1]")
    if a > b:
        raise ValueError(f"{name} must be (min, max) with min <= max, got {_plain(value)!r}")
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


# ----------------------------------------------------------------------------- indexing
def as_sample_index(idx: Any, n: int, name: str = "index") -> Any:
    """An index of samples along the first axis: an int, a slice, a 1-D list/array of ints, or a
    1-D bool mask of length ``n``. Returned in a form that keeps the sample axis (an int ``i``
    becomes ``[i]``); bounds are left to numpy (``IndexError``).

    >>> as_sample_index(np.int64(2), 5), as_sample_index([0, 3], 5).tolist()
    ([2], [0, 3])
    >>> as_sample_index([[0, 1]], 5)
    Traceback (most recent call last):
    ...
    ValueError: index has shape (1, 2) (2-D); expected one index, a slice, or a 1-D list of sample indices such as [0, 2]
    """
    if isinstance(idx, slice):
        return idx
    if isinstance(idx, (bool, np.bool_)):
        raise TypeError(f"{name} is {_plain(idx)!r}; expected a sample number such as 0, a slice, or a 1-D list of sample indices")
    if isinstance(idx, (int, np.integer)):
        return [int(idx)]
    if isinstance(idx, range):
        idx = list(idx)
    if isinstance(idx, tuple):
        raise TypeError(f"{name} {_plain(idx)!r} indexes several axes; samples take one index, a slice, or a list such as "
                        f"[0, 2] (for pixels index the arrays: data.images[i, row, col])")
    if not (isinstance(idx, (list, np.ndarray)) or type(idx).__module__.startswith("torch")):
        raise TypeError(f"{name} has type {type(idx).__name__}; expected an int, a slice, or a 1-D list of sample indices")
    arr = to_numpy(idx, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} has shape {arr.shape} ({arr.ndim}-D); expected one index, a slice, or a 1-D list "
                         f"of sample indices such as [0, 2]")
    if arr.dtype == bool:
        if len(arr) != n:
            raise ValueError(f"{name} is a bool mask of length {len(arr)} but there are {n} samples")
        return arr
    if arr.size == 0:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} has dtype {arr.dtype}; sample indices are integers such as [0, 2]")
    return arr


# ----------------------------------------------------------------------------- torch inputs
def _torch_dtype_name(dtype: Any) -> str:
    return str(dtype).replace("torch.", "")


def check_model_input(x: Any, in_channels: int, weight_dtype: Any, name: str = "x") -> None:
    """Refuse what a model's first convolution would reject with a torch-internal message.

    ``x`` must be a torch tensor ``(N, in_channels, H, W)`` of the weights' floating dtype
    (under ``torch.autocast`` any floating dtype). Only shapes and dtypes are read: no data,
    so it costs nothing and is safe inside CUDA-graph capture.
    """
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor (N, {in_channels}, H, W), got {type(x).__name__}; for "
                        f"(N, H, W, 3) numpy images use segcourse.train.predict(model, images), or "
                        f"torch.from_numpy(images).permute(0, 3, 1, 2)")
    if x.ndim == 4 and x.shape[1] != in_channels:
        hint = ""
        if x.shape[-1] == in_channels:
            hint = "; it looks channel-last (N, H, W, C): use x.permute(0, 3, 1, 2)"
        elif x.shape[1] == 1 and in_channels == 3:
            hint = "; for grayscale repeat the channel: x.repeat(1, 3, 1, 1)"
        elif x.shape[1] == 4 and in_channels == 3:
            hint = "; for RGBA drop the alpha channel: x[:, :3]"
        raise ValueError(f"{name} has {x.shape[1]} channel(s) (shape {tuple(x.shape)}) but the model takes "
                         f"in_channels={in_channels}{hint}")
    if not x.is_floating_point():
        raise TypeError(f"{name} has dtype {_torch_dtype_name(x.dtype)}; the model takes float images in [0, 1]: "
                        f"for 0..255 images use x.float() / 255")
    if x.dtype == weight_dtype:
        return
    try:  # a dtype mismatch is fine under autocast (asked only now: the common path stays trivial to trace)
        autocast = torch.is_autocast_enabled(x.device.type)
    except TypeError:  # pragma: no cover - older torch: no device argument
        autocast = torch.is_autocast_enabled()
    if not autocast:
        fix = "call model.double() or pass x.float()" if x.dtype == torch.float64 else "pass x.float()"
        raise TypeError(f"{name} has dtype {_torch_dtype_name(x.dtype)} but the model's weights are "
                        f"{_torch_dtype_name(weight_dtype)}; {fix} (or run under torch.autocast)")


def check_logits_target(logits: Any, target: Any) -> Any:
    """Check a loss's inputs: ``logits`` float ``(N, K, H, W)`` and ``target`` integer class ids
    ``(N, H, W)`` in ``0..K-1``; return ``target`` as int64 (what ``F.one_hot`` needs).

    >>> import torch
    >>> check_logits_target(torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1, dtype=torch.uint8)).dtype
    torch.int64
    >>> check_logits_target(torch.zeros(1, 2, 1, 1), torch.tensor([[[255]]]))
    Traceback (most recent call last):
    ...
    ValueError: target contains class id(s) [255], but logits has K=2 classes (ids 0..1); 255 is often an 'ignore' label: this loss has no ignore_index, so set those pixels to a real class or leave them out
    """
    import torch

    for value, nm in ((logits, "logits"), (target, "target")):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{nm} must be a torch tensor, got {type(value).__name__} (use torch.as_tensor)")
    if logits.ndim != 4:
        hint = "; for one image use logits[None] and target[None]" if logits.ndim == 3 else ""
        raise ValueError(f"logits has shape {tuple(logits.shape)}; expected a batch (N, K, H, W){hint}")
    if not logits.is_floating_point():
        raise TypeError(f"logits has dtype {_torch_dtype_name(logits.dtype)}; expected float scores (N, K, H, W)")
    n, k, h, w = logits.shape
    if target.is_floating_point() or target.is_complex():
        raise TypeError(f"target has dtype {_torch_dtype_name(target.dtype)}; expected integer class ids "
                        f"(N, H, W): use target.long() if its values are whole numbers")
    if tuple(target.shape) != (n, h, w):
        hint = ""
        if target.ndim == 4 and target.shape[1] == 1:
            hint = "; drop the channel axis: target[:, 0]"
        elif target.ndim == 2 and (1, *target.shape) == (n, h, w):
            hint = "; for one image use target[None]"
        raise ValueError(f"target has shape {tuple(target.shape)}; expected (N, H, W) = {(n, h, w)} to match "
                         f"logits {tuple(logits.shape)}{hint}")
    target = target.long()
    if target.numel():
        lo, hi = (int(v) for v in torch.aminmax(target))
        if lo < 0 or hi >= k:
            bad = torch.unique(target[(target < 0) | (target >= k)])[:5].tolist()
            hint = ("; 255 is often an 'ignore' label: this loss has no ignore_index, so set those pixels to a "
                    "real class or leave them out") if 255 in bad else ""
            raise ValueError(f"target contains class id(s) {bad}, but logits has K={k} classes (ids 0..{k - 1}){hint}")
    return target
