"""Two JupyterLab widgets: MaskEditor paints small masks with live IoU / Dice / boundary IoU;
ClickSegmenter turns clicks on an image into a model's mask (interactive segmentation).

MaskEditor: click **and drag** on the grid to paint the selected class (keys 0-9 pick a class, ``b``
toggles a 3×3 brush, Ctrl+Z / Ctrl+Shift+Z undo and redo). Class 0 is background, so painting
with it is the eraser. With ``target=`` the readout scores every change against it and "show
target" draws the target's outline and the TP / FP / FN map on the grid. With ``image=`` the grid
is drawn over a picture (a real nucleus, say), so the learner traces the image, not the answer.

Everything the browser can do is also a Python call (``paint``, ``undo``, ``redo``, ``reset``),
so notebooks, exercises and tests drive the same editor. Built on anywidget: a plain
``pip install``, no JupyterLab extension to build.

:class:`ClickSegmenter` is the click mode: left click = a positive click ("this is the object"),
right click (or the "negative" toggle, key ``n``) = a negative click ("not this"), "undo"
(Ctrl+Z) removes the last click. After every click the kernel runs the ``predict`` function it
was given and draws the new mask, with its IoU against ``target=`` when one is given.
``click``, ``undo`` and ``replay`` do the same from Python, so a recorded click list gives the
same mask on every run (for nbval and the course website).
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path
from typing import Any, Sequence

import anywidget
import numpy as np
import traitlets

from . import metrics
from ._files import atomic_write, load_mask_file
from ._validate import as_binary, as_images, as_label_array, check_bool, check_int, check_label_range, \
    check_float, check_num_classes, to_numpy
from .masks import PALETTE, check_colors
from .palette import INSTANCE_COLOURS, NEUTRAL_COLOURS, OUTCOME_COLOURS
from .viz import error_codes

__all__ = ["MaskEditor", "STATIC_NOTE", "ClickSegmenter", "CLICK_STATIC_NOTE"]

#: What a page that cannot run the editor (the course website, a notebook viewer, a notebook opened
#: without its kernel) shows under the editor's picture.
STATIC_NOTE = "Interactive in JupyterLab: run this cell there to paint"

#: The same for a :class:`ClickSegmenter` (its picture shows the replayed clicks and their mask).
CLICK_STATIC_NOTE = "Interactive in JupyterLab: run this cell there to click"

_HERE = Path(__file__).parent / "widget"
_MAX_SIDE = 32
_MAX_LEGEND = 8  # class entries in a snapshot's legend at most
_ERROR_COLOURS = ["#00000000"] + ["#%02x%02x%02x" % OUTCOME_COLOURS[k] for k in ("TP", "FP", "FN")]  # none, TP, FP, FN


def _grey_or_rgb(image: Any, expected: str) -> tuple[np.ndarray, np.ndarray]:
    """``image`` as given (numpy) and as float32 ``(rows, cols, 3)`` in [0, 1], for both widgets.

    A grey image is repeated into three channels; any other layout raises naming ``image`` and
    ``expected`` (with a hint when it looks channel-first).
    """
    img = to_numpy(image, "image")
    if img.ndim == 2:
        return img, as_images(np.repeat(img[..., None], 3, axis=-1), "image", single=True)
    if img.ndim == 3 and img.shape[-1] == 3:
        return img, as_images(img, "image", single=True)
    raise ValueError(f"image has shape {img.shape}; expected {expected}"
                     + ("; it looks channel-first: use np.moveaxis(image, 0, -1)"
                        if img.ndim == 3 and img.shape[0] == 3 else ""))


def _stretch(shown: np.ndarray, display_range: Any, uint8: bool) -> np.ndarray:
    """``shown`` (floats in [0, 1]) with ``display_range = (lo, hi)`` (image units) mapped to 0 and 1, clipped."""
    if isinstance(display_range, (str, bytes)) or not hasattr(display_range, "__len__") or len(display_range) != 2:
        raise TypeError(f"display_range must be a pair (lo, hi) of numbers, got {display_range!r}")
    lo, hi = (check_float(v, f"display_range[{i}]") for i, v in enumerate(display_range))
    if not lo < hi:
        raise ValueError(f"display_range must have lo < hi (the values drawn black and white), got {display_range!r}")
    if uint8:
        lo, hi = lo / 255, hi / 255
    return np.clip((shown - lo) / (hi - lo), 0, 1).astype(np.float32)


def _hex(rgb: Sequence[int]) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in rgb)


def _dark_edge() -> Any:
    """A dark edge under a white line (the target outline), so it shows on light and dark pixels alike."""
    from matplotlib import patheffects

    return patheffects.withStroke(linewidth=3.4, foreground="#1a1a1a")


def _wrap_readout(text: str, width_in: float, inch_per_char: float = 0.08) -> str:
    """Break a `` · ``-separated readout into lines that fit ``width_in`` inches at 9 pt (a snapshot's title).

    >>> print(_wrap_readout("mIoU 0.333 · mean Dice 0.500 · mean boundary IoU 0.375", 3.8))
    mIoU 0.333 · mean Dice 0.500
    mean boundary IoU 0.375
    """
    fits = max(10, int((width_in - 0.2) / inch_per_char))
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= fits:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "\n".join(lines)


class MaskEditor(anywidget.AnyWidget):
    """A paintable label map (3×3 up to 32×32) with undo/redo and live scores.

    Parameters
    ----------
    mask : 2-D label map to start from (ints in ``0..num_classes-1`` or bool), or
    shape : ``(rows, cols)`` of an empty (all background) mask.
    num_classes : number of classes (default: 2, or enough for ``mask`` and ``target``).
    target : optional label map to score against (same shape).
    class_names, palette : names and RGB colours (default: the course palette).
    image : optional ``(rows, cols)`` grey or ``(rows, cols, 3)`` RGB image drawn under the mask
        (uint8, or floats in [0, 1]), in the browser and in the snapshot; painted classes are
        then drawn see-through over it and background (class 0) leaves the image visible.
    hide_target : when True the snapshot leaves out the target's outline (the browser shows it
        only after "show target" in any case), so a learner traces the image, not the answer.

    Examples
    --------
    >>> truth = [[1, 1, 0], [1, 0, 0], [0, 0, 0]]
    >>> ed = MaskEditor(shape=(3, 3), target=truth)
    >>> ed.paint(0, 0, 1); ed.paint(1, 0, 1); ed.paint(1, 1, 1)
    >>> ed.scores["iou"]
    0.5
    >>> ed.undo(); ed.paint(0, 1, 1); ed.scores["iou"]
    1.0
    >>> ed
    MaskEditor(shape=(3, 3), num_classes=2, painted=3, target=yes)
    >>> MaskEditor(shape=(3, 3), image=np.eye(3)).image.shape
    (3, 3, 3)
    """

    _esm = _HERE / "mask_editor.js"
    _css = _HERE / "mask_editor.css"

    rows = traitlets.Int(8).tag(sync=True)
    cols = traitlets.Int(8).tag(sync=True)
    cells = traitlets.List(traitlets.Int()).tag(sync=True)
    target = traitlets.List(traitlets.Int()).tag(sync=True)
    errors = traitlets.List(traitlets.Int()).tag(sync=True)
    error_colours = traitlets.List(traitlets.Unicode(), default_value=_ERROR_COLOURS).tag(sync=True)
    class_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    palette = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected = traitlets.Int(1).tag(sync=True)
    brush = traitlets.Int(1).tag(sync=True)
    show_target = traitlets.Bool(False).tag(sync=True)
    readout = traitlets.Unicode("").tag(sync=True)
    image_url = traitlets.Unicode("").tag(sync=True)
    #: Scores against the target, recomputed on every change; observe it to react to edits:
    #: ``editor.observe(callback, names="scores")``.
    scores = traitlets.Dict()

    def __init__(self, mask: Any = None, shape: tuple[int, int] | None = None, num_classes: int | None = None,
                 target: Any = None, class_names: Sequence[str] | None = None, palette: Any = None,
                 dilation_ratio: float = 0.02, image: Any = None, hide_target: bool = False,
                 **kwargs: Any) -> None:
        if mask is None and shape is None:
            raise ValueError("give a mask to start from (mask=...) or the size of an empty one (shape=(rows, cols))")
        if mask is not None:
            start = self._check_mask(mask, "mask")
            if shape is not None and tuple(shape) != start.shape:
                raise ValueError(f"shape={tuple(shape)} does not match the mask's shape {start.shape}")
        else:
            if len(tuple(shape)) != 2 or not all(isinstance(s, (int, np.integer)) for s in shape):
                raise ValueError(f"shape must be (rows, cols), got {shape!r}")
            start = np.zeros(tuple(int(s) for s in shape), np.int64)
        self._check_size(start.shape)
        tgt = None if target is None else self._check_mask(target, "target")
        if tgt is not None and tgt.shape != start.shape:
            raise ValueError(f"target has shape {tgt.shape} but the mask has shape {start.shape}; they must match")
        if num_classes is None:
            num_classes = max(2, int(start.max(initial=0)) + 1, int(tgt.max(initial=0)) + 1 if tgt is not None else 0)
        k = check_num_classes(num_classes)
        check_label_range(start, "mask", k)
        if tgt is not None:
            check_label_range(tgt, "target", k)
        pal = PALETTE if palette is None else check_colors(palette, "palette")
        if len(pal) < k:
            raise ValueError(f"palette has {len(pal)} colours for {k} classes")
        names = list(class_names) if class_names is not None else ["background"] + [f"class {i}" for i in range(1, k)]
        if len(names) != k:
            raise ValueError(f"{len(names)} class names for {k} classes")
        shown = None if image is None else self._check_image(image, start.shape)
        hide = check_bool(hide_target, "hide_target")
        super().__init__(**kwargs)
        self.num_classes = k
        self._image = shown
        self._hide_target = hide
        self.image_url = "" if shown is None else _png_data_url((shown * 255).round().astype(np.uint8))
        self.dilation_ratio = dilation_ratio
        self._initial = start.astype(np.int64).copy()
        self._target = tgt
        self._undo: list[np.ndarray] = []
        self._redo: list[np.ndarray] = []
        self._stroke = None
        self.rows, self.cols = start.shape
        self.class_names = names
        self.palette = [_hex(c) for c in pal[:k]]
        self.target = [] if tgt is None else tgt.ravel().astype(int).tolist()
        self.selected = 1 if k > 1 else 0
        self._set(start)
        self.on_msg(self._on_message)

    # ------------------------------------------------------------------ checks
    @traitlets.validate("brush")
    def _valid_brush(self, proposal: Any) -> int:
        """The brush is an odd square side (1 or 3 from the browser): a negative, zero or even
        brush would paint nothing (an empty undo step) or paint off-centre."""
        size = check_int(proposal["value"], "brush", minimum=1, maximum=2 * _MAX_SIDE - 1)
        if size % 2 == 0:
            raise ValueError(f"brush must be an odd side length (1 for 1×1, 3 for 3×3), got {size}")
        return size

    @staticmethod
    def _check_mask(mask: Any, name: str) -> np.ndarray:
        arr = as_label_array(mask, name, ndims=(2,))
        if arr.size and arr.min() < 0:
            raise ValueError(f"{name} contains negative class ids; class ids start at 0")
        return arr.astype(np.int64)

    @staticmethod
    def _check_image(image: Any, shape: tuple[int, int]) -> np.ndarray:
        """``image`` as float32 (rows, cols, 3) in [0, 1]: the same rules as ClickSegmenter's image."""
        img, shown = _grey_or_rgb(image, "a (rows, cols) grey or (rows, cols, 3) RGB image")
        if shown.shape[:2] != tuple(shape):
            raise ValueError(f"image has shape {img.shape} but the mask has shape {tuple(shape)}; "
                             f"they must match pixel for pixel")
        return shown

    @property
    def image(self) -> np.ndarray | None:
        """The image under the mask (a copy, float32 (rows, cols, 3) in [0, 1]), or None."""
        return None if self._image is None else self._image.copy()

    @staticmethod
    def _check_size(shape: tuple[int, int]) -> None:
        if not all(1 <= s <= _MAX_SIDE for s in shape):
            raise ValueError(f"the editor is for toy masks of 1 to {_MAX_SIDE} pixels a side; got shape {shape}")

    # ------------------------------------------------------------------ state
    @property
    def mask(self) -> np.ndarray:
        """The current label map (a copy, shape (rows, cols), int64)."""
        return np.array(self.cells, dtype=np.int64).reshape(self.rows, self.cols)

    def _set(self, new: np.ndarray) -> None:
        self.cells = new.ravel().astype(int).tolist()
        self._rescore(new)

    def _rescore(self, m: np.ndarray) -> None:
        scores: dict[str, Any] = {"painted": int(np.count_nonzero(m))}
        if self._target is not None:
            t = self._target
            if self.num_classes == 2:
                scores.update(iou=metrics.iou(m, t), dice=metrics.dice(m, t),
                              boundary_iou=metrics.boundary_iou(m, t, self.dilation_ratio))
                codes, _ = error_codes(t, m)  # 0 TN, 1 TP, 2 FP, 3 FN: the same codes the error-map figures use
            else:
                present = [c for c in range(1, self.num_classes) if (m == c).any() or (t == c).any()]
                scores.update(iou=metrics.mean_iou(m, t, self.num_classes), dice=metrics.mean_dice(m, t, self.num_classes),
                              boundary_iou=float(np.mean([metrics.boundary_iou(m == c, t == c, self.dilation_ratio)
                                                          for c in present])) if present else float("nan"))
                codes = np.where(m == t, np.where(t > 0, 1, 0), 3)
            self.errors = codes.ravel().astype(int).tolist()
            fmt = lambda v: "n/a (both empty)" if np.isnan(v) else f"{v:.3f}"  # noqa: E731
            m_, mean = ("", "") if self.num_classes == 2 else ("m", "mean ")  # several classes: means over classes
            self.readout = (f"{m_}IoU {fmt(scores['iou'])} · {mean}Dice {fmt(scores['dice'])} · "
                            f"{mean}boundary IoU {fmt(scores['boundary_iou'])}")
        else:
            self.readout = f"{scores['painted']} of {m.size} pixels painted (no target to score against)"
        self.scores = scores

    def _commit(self, new: np.ndarray, new_step: bool = True) -> None:
        if new_step:
            self._undo.append(self.mask)
            self._redo.clear()
        self._set(new)

    # ------------------------------------------------------------------ operations
    def paint(self, row: int, col: int, cls: int | None = None, _stroke: Any = None) -> None:
        """Paint the brush (1×1 or 3×3) at (row, col) with ``cls`` (default: the selected class).

        Each call is one undo step; strokes dragged in the browser are one step per stroke.
        ``cls`` must be an integer class id (``True``/``False`` are refused, not read as 1/0).

        >>> ed = MaskEditor(shape=(3, 3)); ed.paint(1, 1, True)
        Traceback (most recent call last):
        ...
        TypeError: cls must be an integer, got True (bool)
        """
        cls = check_int(self.selected if cls is None else cls, "cls")
        if not 0 <= cls < self.num_classes:
            raise ValueError(f"cls must be a class id in 0..{self.num_classes - 1}, got {cls}")
        row, col = check_int(row, "row"), check_int(col, "col")
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            raise ValueError(f"({row}, {col}) is outside the {self.rows}×{self.cols} grid")
        m = self.mask
        h = self.brush // 2
        m[max(0, row - h): row + h + 1, max(0, col - h): col + h + 1] = cls
        same_stroke = _stroke is not None and _stroke == self._stroke
        self._stroke = _stroke
        self._commit(m, new_step=not same_stroke)

    def undo(self) -> None:
        """Go back one step (a no-op when there is nothing to undo)."""
        if self._undo:
            self._redo.append(self.mask)
            self._set(self._undo.pop())
        self._stroke = None

    def redo(self) -> None:
        """Re-apply the last undone step."""
        if self._redo:
            self._undo.append(self.mask)
            self._set(self._redo.pop())
        self._stroke = None

    def reset(self) -> None:
        """Back to the mask the editor opened with (undoable)."""
        self._commit(self._initial.copy())
        self._stroke = None

    def _on_message(self, _widget: Any, content: dict, _buffers: Any) -> None:
        kind = content.get("type")
        if kind == "paint":
            self.paint(int(content["row"]), int(content["col"]), _stroke=("browser", content.get("stroke")))
        elif kind in ("undo", "redo", "reset"):
            getattr(self, kind)()

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Save the mask to ``.npy`` (exact) or ``.png`` (8-bit class ids), atomically.

        Refuses to replace an existing file unless ``overwrite=True``: saved work is never lost.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".npy", ".png"):
            raise ValueError(f"save to a .npy or .png file, got {path.name!r}")
        mask = self.mask
        if suffix == ".png" and self.num_classes > 256:
            raise ValueError(f"a PNG holds 8-bit class ids (0..255) but this editor has {self.num_classes} classes; "
                             f"save to .npy instead")

        def write(tmp: str) -> None:
            if suffix == ".npy":
                with open(tmp, "wb") as fh:
                    np.save(fh, mask.astype(np.uint8 if self.num_classes <= 256 else np.int32))
            else:
                from PIL import Image

                Image.fromarray(mask.astype(np.uint8), mode="L").save(tmp, format="PNG")

        return atomic_write(path, write, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike, **kwargs: Any) -> "MaskEditor":
        """Open an editor on a mask saved with :meth:`save` (``.npy`` or ``.png``).

        Pickled ``.npy`` files are never loaded (``allow_pickle=False``); an empty, truncated,
        pickled or otherwise unreadable file raises a ``ValueError`` that names it.
        """
        return cls(mask=load_mask_file(path, "path"), **kwargs)

    # ------------------------------------------------------------------ static pictures
    def snapshot_png(self) -> bytes:
        """A PNG picture of the editor's current state, for pages that cannot run the widget.

        The grid in the editor's colours (over ``image`` when one was given, with the target's
        outline dashed white on a dark edge when there is a target and ``hide_target`` is off),
        the score readout above it, a legend of the classes (and "target (dashed)") below it and
        :data:`STATIC_NOTE` (also stored as the PNG's ``Description``). This is what the course website and notebook viewers show
        in place of the live editor (it is the ``image/png`` of the editor's output).

        Returns
        -------
        bytes
            The PNG file's bytes.

        Examples
        --------
        >>> ed = MaskEditor(mask=[[1, 1, 0], [1, 0, 0], [0, 0, 0]])
        >>> png = ed.snapshot_png()
        >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", STATIC_NOTE.encode() in png
        (True, True)
        """
        from matplotlib.collections import LineCollection
        from matplotlib.colors import to_rgb
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        m = self.mask
        colours = np.array([to_rgb(c) for c in self.palette])
        cell = min(0.6, 3.0 / max(self.rows, self.cols))  # inches per cell: 3×3 → 1.8 in, 32×32 → 3 in
        width = max(3.8, self.cols * cell + 0.4)
        outline = self._target is not None and not self._hide_target
        title = _wrap_readout(self.readout, width)
        extra = 0.16 * title.count("\n")  # inches for each wrapped readout line
        # legend: the foreground classes (background too when there is no image under the mask); with more than
        # _MAX_LEGEND of them, only those in the mask or the target, the rest counted in one "+N more" entry
        listed = list(range(0 if self._image is None else 1, self.num_classes))
        if len(listed) > _MAX_LEGEND:
            seen = set(np.unique(m).tolist()) | (set() if self._target is None else set(np.unique(self._target).tolist()))
            listed = [c for c in listed if c in seen]
        listed = listed[:_MAX_LEGEND]
        handles: list[Any] = [Patch(facecolor=colours[c], edgecolor="#666666", label=self.class_names[c])
                              for c in listed]
        more = self.num_classes - (self._image is not None) - len(listed)
        if more:
            handles.append(Patch(facecolor="none", edgecolor="none", label=f"+{more} more classes"))
        if outline:
            handles.append(Line2D([], [], color="white", linewidth=1.6, linestyle=(0, (3, 2)), label="target (dashed)",
                                  path_effects=[_dark_edge()]))
        ncols = max(1, min(len(handles), int(width / 1.25)))
        legend_rows = -(-len(handles) // ncols)
        fig = Figure(figsize=(width, self.rows * cell + 1.0 + extra + 0.22 * legend_rows), dpi=100,
                     layout="constrained")
        ax = fig.add_subplot()
        if self._image is None:
            ax.imshow(colours[m], interpolation="nearest")
        else:  # painted classes see-through over the image, background leaves the image as it is
            alpha = np.where(m > 0, 0.5, 0.0)[..., None]
            ax.imshow(self._image * (1 - alpha) + colours[m] * alpha, interpolation="nearest")
        if max(self.rows, self.cols) <= 16:
            ax.set_xticks(np.arange(-0.5, self.cols), minor=True)
            ax.set_yticks(np.arange(-0.5, self.rows), minor=True)
            ax.grid(which="minor", color="#9a9a9a", linewidth=0.6)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.tick_params(which="both", length=0)
        if outline:
            t = np.pad(self._target, 1)  # edges between cells whose target differs, around foreground only
            segs = [[(c - 0.5, r - 0.5), (c + 0.5, r - 0.5)] for r in range(self.rows + 1) for c in range(self.cols)
                    if t[r, c + 1] != t[r + 1, c + 1]]
            segs += [[(c - 0.5, r - 0.5), (c - 0.5, r + 0.5)] for r in range(self.rows) for c in range(self.cols + 1)
                     if t[r + 1, c] != t[r + 1, c + 1]]
            ax.add_collection(LineCollection(segs, colors="white", linewidths=1.6, linestyles=(0, (3, 2)),
                                             path_effects=[_dark_edge()]))  # white dashes on a dark edge: seen on any image
        ax.set_title(title, fontsize=9)
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncols=ncols, fontsize=8,
                  frameon=False, handlelength=1.6, columnspacing=1.0, borderaxespad=0.2)
        fig.supxlabel(STATIC_NOTE, fontsize=9, style="italic")
        buf = io.BytesIO()
        # a tight box: the readout title's first line is never cut off at the top (review 05s9 P2-8)
        fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.06, metadata={"Description": STATIC_NOTE})
        return buf.getvalue()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget for Jupyter, plus a picture of its state for everything else.

        JupyterLab draws the widget (its view outranks a picture); a page without a kernel -- the
        course website, a notebook viewer, a lesson opened before its cells ran (the saved lesson
        keeps no widget view) -- shows :meth:`snapshot_png` instead of ``MaskEditor(...)`` text.
        """
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {"text/plain": repr(self)}, {})
        data = {**data, "image/png": base64.b64encode(self.snapshot_png()).decode("ascii")}
        return (data, metadata) if isinstance(bundle, tuple) else data

    def __repr__(self) -> str:  # stable text (no memory address) so nbval can compare it
        return (f"MaskEditor(shape=({self.rows}, {self.cols}), num_classes={self.num_classes}, "
                f"painted={int(np.count_nonzero(self.cells))}, target={'yes' if self._target is not None else 'no'})")


# ====================================================================== click mode
_MAX_CLICK_SIDE = 256
#: What each mark of a :class:`ClickSegmenter` means, and its colour, all from :mod:`segcourse.palette`
#: and sent from Python to the front end (the ``colours`` trait): the predicted mask in the first
#: instance colour (orange, no outcome colour: not yet compared with the truth), as lesson 06's figures
#: draw a predicted mask; positive / negative clicks in TP green and FP red (drawn as dots with a white ring and a + / − sign, so they stay apart from
#: the mask); the target's outline white and dashed.
CLICK_COLOURS = {
    "mask": _hex(INSTANCE_COLOURS[0]),
    "positive": _hex(OUTCOME_COLOURS["TP"]),
    "negative": _hex(OUTCOME_COLOURS["FP"]),
    "target": "#ffffff",
}
CLICK_LABELS = {
    "mask": "mask (the model's prediction)",
    "positive": "positive click (left): object",
    "negative": "negative click (right): not object",
    "target": "target outline (annotation)",
}


def _png_data_url(rgb: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _runs(flags: np.ndarray) -> list[tuple[int, int, int]]:
    """``(line, start, stop)`` of every run of True along the last axis of a 2-D bool array."""
    d = np.diff(np.pad(flags.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    starts, stops = np.nonzero(d == 1), np.nonzero(d == -1)
    return list(zip(starts[0].tolist(), starts[1].tolist(), stops[1].tolist()))


def _edge_segments(mask: np.ndarray) -> list[list[tuple[float, float]]]:
    """The pixel edges between a mask and its outside as line segments in imshow coordinates, runs
    of edges along one line merged into one segment (so dashes run on); the outline the front end draws."""
    m = np.pad(mask, 1)
    above = m[1:, 1:-1] != m[:-1, 1:-1]      # (H + 1, W): an edge on top of pixel (r, c)
    left = (m[1:-1, 1:] != m[1:-1, :-1]).T   # (W + 1, H): an edge left of pixel (r, c), by column
    segs = [[(c0 - 0.5, r - 0.5), (c1 - 0.5, r - 0.5)] for r, c0, c1 in _runs(above)]
    segs += [[(c - 0.5, r0 - 0.5), (c - 0.5, r1 - 0.5)] for c, r0, r1 in _runs(left)]
    return segs


def _bits(mask: np.ndarray) -> str:
    """A bool mask as base64 of one byte (0/1) per pixel, row by row: what the front end draws."""
    return base64.b64encode(np.ascontiguousarray(mask, dtype=np.uint8).tobytes()).decode("ascii")


class ClickSegmenter(anywidget.AnyWidget):
    """Click on an image; a model turns the clicks into a mask, live, with IoU and undo.

    Left click = positive ("this is the object"), right click or the "negative" toggle =
    negative ("not this"). After each click the kernel calls
    ``predict(image, positive, negative, previous)`` and draws the mask it returns over the
    image; with ``target=`` the readout shows the IoU after every click. Everything the browser
    does is also a Python call (:meth:`click`, :meth:`undo`, :meth:`replay`), and ``clicks=``
    replays a recorded click list at construction, so a notebook shows the same mask on every run.

    Parameters
    ----------
    image : (H, W) grey or (H, W, 3) RGB image, uint8 or floats in [0, 1], up to 256×256
        pixels; the background the learner clicks on. ``predict`` receives it as given (as numpy).
    predict : callable ``predict(image, positive, negative, previous) -> (H, W) bool mask``;
        ``positive`` and ``negative`` are lists of ``(row, col)`` int tuples in click order,
        ``previous`` the mask before this click (``None`` for the first click).
    target : optional (H, W) bool or 0/1 annotation to score against (IoU after each click).
    clicks : optional recorded clicks ``[(row, col, positive), ...]`` to replay at once
        (``[((row, col), positive), ...]``, the form a click simulator records, works too).
    scale : screen pixels per image pixel (default: the image drawn about 400 px wide, at most 48).
    display_range : optional ``(lo, hi)`` in the image's own units (0..255 for uint8): the values
        drawn black and white, for a dim image (e.g. its 1st and 99th percentiles). Display only:
        ``predict`` still receives the image as given.

    Examples
    --------
    >>> def disks(image, positive, negative, previous):   # a toy model: a disk around each click
    ...     rr, cc = np.mgrid[:image.shape[0], :image.shape[1]]
    ...     near = lambda pts: np.any([(rr - r) ** 2 + (cc - c) ** 2 <= 4 for r, c in pts], axis=0)
    ...     return near(positive) & ~near(negative) if negative else near(positive)
    >>> truth = np.zeros((10, 10), bool); truth[2:7, 2:7] = True
    >>> seg = ClickSegmenter(np.zeros((10, 10)), disks, target=truth, clicks=[(4, 4, True)])
    >>> round(seg.iou, 3), int(seg.mask.sum())
    (0.52, 13)
    >>> seg.click(4, 6, positive=False); seg.clicks
    [(4, 4, True), (4, 6, False)]
    >>> [round(v, 3) for v in seg.ious]
    [0.52, 0.32]
    >>> seg.undo(); seg.readout
    '1 click (1 positive, 0 negative) · mask 13 px · IoU 0.520'
    >>> seg
    ClickSegmenter(shape=(10, 10), clicks=1 (1 positive, 0 negative), target=yes)
    >>> dim = np.full((10, 10), 0.2); dim[2:7, 2:7] = 0.3
    >>> ClickSegmenter(dim, disks, display_range=(0.2, 0.3))._shown[[0, 4], [0, 4], 0].tolist()  # stretched for display
    [0.0, 1.0]
    """

    _esm = _HERE / "click_segmenter.js"
    _css = _HERE / "click_segmenter.css"

    rows = traitlets.Int(1).tag(sync=True)
    cols = traitlets.Int(1).tag(sync=True)
    scale = traitlets.Int(1).tag(sync=True)
    image_url = traitlets.Unicode("").tag(sync=True)
    mask_bits = traitlets.Unicode("").tag(sync=True)
    target_bits = traitlets.Unicode("").tag(sync=True)
    #: The clicks as the front end draws them: ``[[row, col, 1 (positive) or 0], ...]``.
    points = traitlets.List().tag(sync=True)
    colours = traitlets.Dict(default_value=CLICK_COLOURS).tag(sync=True)
    labels = traitlets.Dict(default_value=CLICK_LABELS).tag(sync=True)
    #: The front end's toggle: when True a left click is a negative click too.
    negative_mode = traitlets.Bool(False).tag(sync=True)
    readout = traitlets.Unicode("").tag(sync=True)
    #: Why the last click from the browser was refused (``predict`` raised, or returned a bad mask).
    error = traitlets.Unicode("").tag(sync=True)
    #: How many browser messages the kernel has handled (the front end shows "busy" until it grows).
    handled = traitlets.Int(0).tag(sync=True)

    def __init__(self, image: Any, predict: Any, target: Any = None, clicks: Any = None,
                 scale: int | None = None, display_range: Any = None, **kwargs: Any) -> None:
        img, shown = _grey_or_rgb(image, "an (H, W) grey or (H, W, 3) RGB image")
        if display_range is not None:
            shown = _stretch(shown, display_range, img.dtype == np.uint8)
        h, w = img.shape[:2]
        if not (1 <= h <= _MAX_CLICK_SIDE and 1 <= w <= _MAX_CLICK_SIDE):
            raise ValueError(f"image has shape {img.shape}; the click widget takes images of 1 to "
                             f"{_MAX_CLICK_SIDE} pixels a side (crop or downsample it first)")
        if not callable(predict):
            raise TypeError(f"predict must be a function predict(image, positive, negative, previous) -> "
                            f"bool (H, W) mask, got {predict!r} ({type(predict).__name__})")
        tgt = None
        if target is not None:
            tgt = as_binary(target, "target", ndims=(2,), hint="target is the annotation: a 0/1 (or bool) mask of the object")
            if tgt.shape != (h, w):
                raise ValueError(f"target has shape {tgt.shape} but the image is {(h, w)}; they must match pixel for pixel")
        if scale is None:
            scale = max(1, min(48, 400 // max(h, w)))
        scale = check_int(scale, "scale", minimum=1, maximum=48)
        start = [] if clicks is None else self._check_clicks(clicks, (h, w))
        super().__init__(**kwargs)
        self._image = img
        self._shown = shown
        self._predict = predict
        self._target = tgt
        self._steps: list[tuple[tuple[int, int, bool], np.ndarray]] = []   # (click, mask after it)
        self.rows, self.cols, self.scale = h, w, scale
        self.image_url = _png_data_url((shown * 255).round().astype(np.uint8))
        self.target_bits = "" if tgt is None else _bits(tgt)
        self.replay(start)
        self.on_msg(self._on_message)

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check_click(click: Any, shape: tuple[int, int], name: str) -> tuple[int, int, bool]:
        try:
            if len(click) == 2 and hasattr(click[0], "__len__") and len(click[0]) == 2:  # ((row, col), positive)
                (row, col), positive = click
            else:
                row, col, positive = click
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a (row, col, positive) triple such as (12, 30, True) "
                            f"(or ((row, col), positive)), got {click!r}") from None
        return ClickSegmenter._check_point(row, col, positive, shape, name)

    @staticmethod
    def _check_point(row: Any, col: Any, positive: Any, shape: tuple[int, int], name: str) -> tuple[int, int, bool]:
        row, col, positive = (v.item() if isinstance(v, np.generic) else v for v in (row, col, positive))  # plain reprs
        row, col = check_int(row, f"{name} row"), check_int(col, f"{name} col")
        positive = check_bool(positive, f"{name} positive")
        if not (0 <= row < shape[0] and 0 <= col < shape[1]):
            raise ValueError(f"{name} ({row}, {col}) is outside the {shape[0]}×{shape[1]} image "
                             f"(rows 0..{shape[0] - 1}, cols 0..{shape[1] - 1})")
        return row, col, positive

    @classmethod
    def _check_clicks(cls, clicks: Any, shape: tuple[int, int]) -> list[tuple[int, int, bool]]:
        if isinstance(clicks, (str, bytes, dict)) or not hasattr(clicks, "__iter__"):
            raise TypeError(f"clicks must be a list of (row, col, positive) triples, got {clicks!r} ({type(clicks).__name__})")
        return [cls._check_click(c, shape, f"clicks[{i}]") for i, c in enumerate(clicks)]

    def _run_predict(self, clicks: list[tuple[int, int, bool]], previous: np.ndarray | None) -> np.ndarray:
        positive = [(r, c) for r, c, p in clicks if p]
        negative = [(r, c) for r, c, p in clicks if not p]
        out = self._predict(self._image, positive, negative, None if previous is None else previous.copy())
        if out is None:
            raise TypeError("predict returned None; it must return the mask: a bool array of shape "
                            f"{(self.rows, self.cols)} (did you forget `return`?)")
        try:
            arr = to_numpy(out, "predict's mask")
        except TypeError:
            raise TypeError(f"predict returned {type(out).__name__}; it must return a bool array of shape "
                            f"{(self.rows, self.cols)}") from None
        if arr.shape != (self.rows, self.cols):
            raise ValueError(f"predict returned a mask of shape {arr.shape}; it must return a bool mask of the "
                             f"image's shape {(self.rows, self.cols)}")
        if arr.dtype != bool:
            if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
                raise TypeError(f"predict returned a mask of dtype {arr.dtype}; it must return a bool mask (True = object)")
            bad = arr[(arr != 0) & (arr != 1)]
            if bad.size:
                found = [float(v) if np.issubdtype(arr.dtype, np.floating) else int(v) for v in np.unique(bad)[:3]]
                hint = ("; these look like scores or probabilities: threshold them first, e.g. probs > 0.5"
                        if np.issubdtype(arr.dtype, np.floating) else "; a click mask has one object: True inside, False outside")
                raise ValueError(f"predict returned a {arr.dtype} mask holding values such as {found}; it must return "
                                 f"a bool mask (True = object, or 0/1){hint}")
        return np.array(arr, dtype=bool)

    # ------------------------------------------------------------------ state
    @property
    def clicks(self) -> list[tuple[int, int, bool]]:
        """The clicks so far, oldest first: ``[(row, col, positive), ...]`` (a copy)."""
        return [click for click, _ in self._steps]

    @property
    def mask(self) -> np.ndarray:
        """The current mask (a bool copy of shape (H, W); all False before the first click)."""
        return self._steps[-1][1].copy() if self._steps else np.zeros((self.rows, self.cols), bool)

    def _score(self, mask: np.ndarray) -> float | None:
        return None if self._target is None else float(metrics.iou(mask, self._target))

    @property
    def iou(self) -> float | None:
        """IoU of :attr:`mask` against the target (``None`` without a target; NaN if both are empty)."""
        return self._score(self.mask)

    @property
    def ious(self) -> list[float]:
        """IoU after each click, in click order (empty without a target)."""
        return [] if self._target is None else [self._score(m) for _, m in self._steps]

    def _show(self) -> None:
        m = self.mask
        clicks = self.clicks
        n_pos = sum(p for _, _, p in clicks)
        self.points = [[r, c, int(p)] for r, c, p in clicks]
        self.mask_bits = _bits(m)
        text = (f"{len(clicks)} click{'' if len(clicks) == 1 else 's'} ({n_pos} positive, {len(clicks) - n_pos} negative)"
                f" · mask {int(m.sum())} px")
        if self._target is not None:
            v = self.iou
            text += " · IoU " + ("n/a (both empty)" if np.isnan(v) else f"{v:.3f}")
        else:
            text += " (no target to score against)"
        self.readout = text

    # ------------------------------------------------------------------ operations
    def click(self, row: int, col: int, positive: bool = True) -> None:
        """Add one click at (row, col) -- positive (object) or negative (not object) -- and run predict.

        >>> seg = ClickSegmenter(np.zeros((4, 4)), lambda im, p, n, prev: np.ones((4, 4), bool))
        >>> seg.click(9, 0)
        Traceback (most recent call last):
        ...
        ValueError: click (9, 0) is outside the 4×4 image (rows 0..3, cols 0..3)
        """
        click = self._check_point(row, col, positive, (self.rows, self.cols), "click")
        clicks = self.clicks + [click]
        new = self._run_predict(clicks, self._steps[-1][1] if self._steps else None)
        self._steps.append((click, new))
        self.error = ""
        self._show()

    def undo(self) -> None:
        """Remove the last click and go back to the mask before it (a no-op without clicks)."""
        if self._steps:
            self._steps.pop()
        self.error = ""
        self._show()

    def replay(self, clicks: Any) -> None:
        """Start over and apply ``clicks`` (``[(row, col, positive), ...]`` or ``[((row, col), positive), ...]``)
        one by one.

        The list is checked before anything changes; ``replay([])`` clears every click.
        """
        checked = self._check_clicks(clicks, (self.rows, self.cols))
        saved = self._steps
        self._steps = []
        try:
            for click in checked:
                self._steps.append((click, self._run_predict(self.clicks + [click], self._steps[-1][1] if self._steps else None)))
        except Exception:
            self._steps = saved  # a predict that fails half-way leaves the widget as it was
            raise
        self.error = ""
        self._show()

    def reset(self) -> None:
        """Remove every click (the same as ``replay([])``)."""
        self.replay([])

    def _on_message(self, _widget: Any, content: dict, _buffers: Any) -> None:
        kind = content.get("type")
        try:
            if kind == "click":
                self.click(int(content["row"]), int(content["col"]), bool(content["positive"]))
            elif kind == "undo":
                self.undo()
            elif kind == "reset":
                self.reset()
        except Exception as exc:  # shown in the widget: a browser click has no cell to raise into
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.handled += 1

    # ------------------------------------------------------------------ static pictures
    def snapshot_png(self) -> bytes:
        """A PNG picture of the current state (image, mask, clicks, target outline, legend, readout),
        with :data:`CLICK_STATIC_NOTE` below it and as the PNG's ``Description``.

        This is the ``image/png`` of the widget's output: what the course website and notebook
        viewers show in place of the live widget.

        Examples
        --------
        >>> seg = ClickSegmenter(np.zeros((8, 8)), lambda im, p, n, prev: np.eye(8, dtype=bool), clicks=[(1, 1, True)])
        >>> png = seg.snapshot_png()
        >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", CLICK_STATIC_NOTE.encode() in png
        (True, True)
        """
        from matplotlib import patheffects
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        m = self.mask
        c = {k: np.array([int(v[i:i + 2], 16) for i in (1, 3, 5)]) / 255 for k, v in self.colours.items()}
        fig = Figure(figsize=(7.2, 4.4), dpi=100, layout="constrained")
        ax = fig.add_subplot()
        extent = (-0.5, self.cols - 0.5, self.rows - 0.5, -0.5)
        ax.imshow(self._shown, interpolation="nearest", extent=extent)
        fill = np.zeros((self.rows, self.cols, 4))
        fill[m] = [*c["mask"], 0.45]
        ax.imshow(fill, interpolation="nearest", extent=extent)
        edge = max(1.0, 3.2 / max(self.rows, self.cols) ** 0.5)
        ax.add_collection(LineCollection(_edge_segments(m), colors=[c["mask"]], linewidths=1.5 * edge))
        handles = [Patch(facecolor=(*c["mask"], 0.6), edgecolor=c["mask"], label=self.labels["mask"])]
        dark_rim = [patheffects.withStroke(linewidth=3.5, foreground="#3c3c3c")]  # a white line shows on light images too
        if self._target is not None:
            ax.add_collection(LineCollection(_edge_segments(self._target), colors=[c["target"]], linewidths=1.2 * edge,
                                             path_effects=dark_rim))
            handles.append(Line2D([], [], color=c["target"], linewidth=1.5, path_effects=dark_rim,
                                  label=self.labels["target"]))
        size = 10 if max(self.rows, self.cols) > 32 else 13   # marker size in points, as lesson 06's figures
        for kind, glyph in (("positive", "P"), ("negative", "X")):
            pts = np.array([(r, cc) for r, cc, p in self.clicks if p == (kind == "positive")]).reshape(-1, 2)
            ax.plot(pts[:, 1], pts[:, 0], linestyle="", marker=glyph, markersize=size, markerfacecolor=c[kind],
                    markeredgecolor="black", markeredgewidth=0.8, zorder=3)
            handles.append(Line2D([], [], marker=glyph, linestyle="", markersize=10, markerfacecolor=c[kind],
                                  markeredgecolor="black", markeredgewidth=0.8))
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor(np.array(NEUTRAL_COLOURS["TN"]) / 255)
        names = [self.labels[k] for k in ("mask", "target") if k != "target" or self._target is not None]
        fig.legend(handles=handles, labels=names + [self.labels["positive"], self.labels["negative"]],
                   loc="outside right upper", fontsize=8, frameon=False)
        ax.set_title(self.readout, fontsize=9)
        fig.supxlabel(CLICK_STATIC_NOTE, fontsize=9, style="italic")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Description": CLICK_STATIC_NOTE})
        return buf.getvalue()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The live widget for Jupyter, plus :meth:`snapshot_png` for pages without a kernel."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {"text/plain": repr(self)}, {})
        data = {**data, "image/png": base64.b64encode(self.snapshot_png()).decode("ascii")}
        return (data, metadata) if isinstance(bundle, tuple) else data

    def __repr__(self) -> str:  # stable text (no memory address, no model-dependent numbers) so nbval can compare it
        clicks = self.clicks
        n_pos = sum(p for _, _, p in clicks)
        return (f"ClickSegmenter(shape=({self.rows}, {self.cols}), clicks={len(clicks)} ({n_pos} positive, "
                f"{len(clicks) - n_pos} negative), target={'yes' if self._target is not None else 'no'})")
