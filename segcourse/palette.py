"""One visual language: every colour the course draws with, in one place.

* **Class colours** (:data:`PALETTE`, :data:`ROAD_PALETTE`, ... and :data:`CLASS_PALETTES`):
  what each class of each data set looks like. A class keeps its colour in every figure.
* **Outcome colours** (:data:`OUTCOME_COLOURS`): TP / FP / FN, for pixels as for objects.
  Green for a hit, red for a false alarm, blue for a miss.
* **Error colours** (:data:`ERROR_COLOURS`): a wrong pixel is magenta over grey (the image or
  the correct pixels are grey); a wrong pixel on a boundary band is cyan.
* **Neutrals** (:data:`NEUTRAL_COLOURS`): greys that mean "nothing to see" (TN, correct,
  ignored, the boundary band).
* **Instance colours** (:data:`INSTANCE_COLOURS`): one colour per object; a matched prediction
  takes its true object's colour.
* **Colour maps**: :data:`CONFIDENCE_CMAP` for probabilities and confidence, :data:`LOG_CMAP`
  for log-scaled magnitudes and entropy.

The rule that keeps the languages apart: no outcome or error colour is within
:data:`MIN_DELTA_E` (CIEDE2000) of any class colour of any data set, so an error can never be
read as a class. CIEDE2000 is the CIE's perceptual colour difference (a difference of 1 is
about the smallest a viewer notices side by side; 20 is a plainly different colour even in a
one-pixel-wide rim). Plain RGB distance is not used: it overrates differences in blue and
underrates those in green. ``tests/test_palette.py`` checks the rule; :func:`swatch_figure`
draws it (``python tools/course.py palette`` saves ``docs/palette.png``).

The course's generic :data:`PALETTE` has 16 colours for masks with up to 16 classes; the rule
covers its first :data:`GENERIC_CHECKED` (every lesson uses at most five classes). Colours 8..15
(white, purple, brown, olive, cyan, pink, grey, lavender) fill most of the remaining colour
space and are only reached by masks with nine or more classes.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

__all__ = [
    "PALETTE",
    "ROAD_PALETTE",
    "DEFECT_PALETTE",
    "CELL_PALETTE",
    "CELL_BOUNDARY_PALETTE",
    "NUCLEI_PALETTE",
    "GENERIC_CHECKED",
    "CLASS_PALETTES",
    "OUTCOME_COLOURS",
    "ERROR_COLOURS",
    "NEUTRAL_COLOURS",
    "BACKGROUND_NEUTRALS",
    "INSTANCE_COLOURS",
    "CONFIDENCE_CMAP",
    "LOG_CMAP",
    "MIN_DELTA_E",
    "rgb",
    "delta_e",
    "min_delta_e",
    "outcome_map",
    "swatch_figure",
]

# ----------------------------------------------------------------------------- class colours

#: The course palette for generic masks (RGB uint8). Index 0 is background (dark grey, so black
#: borders stay visible); the rest are colour-blind-friendly, high-contrast colours (Okabe-Ito first).
PALETTE = np.array(
    [
        [40, 40, 40],     # 0 background
        [230, 159, 0],    # 1 orange
        [86, 180, 233],   # 2 sky blue
        [0, 158, 115],    # 3 bluish green
        [240, 228, 66],   # 4 yellow
        [213, 94, 0],     # 5 vermillion
        [204, 121, 167],  # 6 reddish purple
        [0, 114, 178],    # 7 blue
        [255, 255, 255],  # 8 white
        [148, 103, 189],  # 9 purple
        [140, 86, 75],    # 10 brown
        [188, 189, 34],   # 11 olive
        [23, 190, 207],   # 12 cyan
        [255, 152, 150],  # 13 pink
        [127, 127, 127],  # 14 grey
        [197, 176, 213],  # 15 lavender
    ],
    dtype=np.uint8,
)

#: Road scenes (lessons 01, 02, 05): sky, road, sidewalk, lane marking, car.
ROAD_PALETTE = np.array([[86, 180, 233], [90, 90, 96], [204, 121, 167], [240, 228, 66], [213, 94, 0]], np.uint8)
#: Surface defects: surface, defect.
DEFECT_PALETTE = np.array([[40, 40, 40], [230, 159, 0]], np.uint8)
#: Touching cells (lesson 03): background, cell.
CELL_PALETTE = np.array([[40, 40, 40], [0, 158, 115]], np.uint8)
#: Cells with a boundary class (lesson 03, ``train.cells_boundary``): background, interior, boundary.
CELL_BOUNDARY_PALETTE = np.array([[40, 40, 40], [0, 158, 115], [240, 228, 66]], np.uint8)
#: Real nuclei (lesson 04): background, nucleus.
NUCLEI_PALETTE = np.array([[40, 40, 40], [0, 158, 115]], np.uint8)

#: How many colours of the generic :data:`PALETTE` the distance rule covers.
GENERIC_CHECKED = 8

#: Every data set's class colours, by data set; the distance rule is checked against all of them.
CLASS_PALETTES: dict[str, np.ndarray] = {
    "road_scenes": ROAD_PALETTE,
    "surface_defects": DEFECT_PALETTE,
    "touching_cells": CELL_PALETTE,
    "cells_boundary": CELL_BOUNDARY_PALETTE,
    "nuclei": NUCLEI_PALETTE,
    f"generic (first {GENERIC_CHECKED})": PALETTE[:GENERIC_CHECKED],
}

# ----------------------------------------------------------------------------- outcome / error colours

#: TP / FP / FN (RGB): a hit is green, a false alarm red, a miss blue. They stay apart under
#: simulated protan, deutan and tritan colour vision too (CIEDE2000 > 20).
OUTCOME_COLOURS: dict[str, tuple[int, int, int]] = {
    "TP": (30, 240, 100),   # spring green
    "FP": (220, 0, 55),     # crimson
    "FN": (40, 40, 230),    # blue
}

#: What went wrong, drawn over grey: ``wrong`` (any wrong pixel, magenta), ``boundary error``
#: (a wrong pixel inside the boundary band, cyan), ``interior error`` (a wrong pixel away
#: from boundaries: magenta, the same as ``wrong``) and ``merge`` (the outline of a predicted
#: instance that covers several true ones, lavender).
ERROR_COLOURS: dict[str, tuple[int, int, int]] = {
    "wrong": (180, 0, 205),           # magenta
    "boundary error": (0, 250, 240),  # cyan
    "interior error": (180, 0, 205),  # magenta
    "merge": (150, 135, 255),         # lavender: one predicted object over several true ones (an outline)
}

#: Greys that carry no alarm: true negatives, correct pixels, ignored pixels, the boundary band.
#: ``ignored`` and ``correct`` can sit next to class colours (an overlay of void pixels) and are
#: more than :data:`MIN_DELTA_E` from every class colour and from each other; ``ignored`` is a
#: light grey, so a void pixel never reads as dark road. ``TN`` and ``band`` are the dark
#: background of error and band maps, which hold no class colour (see :data:`BACKGROUND_NEUTRALS`).
NEUTRAL_COLOURS: dict[str, tuple[int, int, int]] = {
    "TN": (30, 30, 30),
    "correct": (150, 150, 150),
    "ignored": (230, 230, 230),
    "band": (75, 75, 75),
}

#: Neutrals drawn only as the background of error or band maps, never beside class colours, and
#: so exempt from the class-distance rule (TN is 3.1 and band 6.5 from a dark class colour).
BACKGROUND_NEUTRALS: frozenset[str] = frozenset({"TN", "band"})

#: Instance colours, cycled by object; each is more than :data:`MIN_DELTA_E` from every outcome
#: colour, so a coloured object is never mistaken for a false positive or a miss.
INSTANCE_COLOURS = np.array(
    [
        [255, 127, 14], [86, 180, 233], [188, 189, 34], [227, 119, 194], [0, 158, 115], [255, 187, 120],
        [31, 119, 180], [197, 176, 213], [160, 120, 60], [219, 219, 141], [255, 152, 150], [174, 199, 232],
    ],
    dtype=np.uint8,
)

#: Colour map for probabilities and confidence (dark = unsure, yellow = sure; never white on white).
CONFIDENCE_CMAP = "viridis"
#: Colour map for log-scaled magnitudes and entropy (black = nothing).
LOG_CMAP = "magma"

#: The least CIEDE2000 difference between an outcome or error colour and any class colour.
MIN_DELTA_E = 20.0


def rgb(colour: tuple[int, int, int] | np.ndarray) -> tuple[float, float, float]:
    """A 0..255 colour as matplotlib's 0..1 floats.

    Parameters
    ----------
    colour : three 0..255 integers.

    Returns
    -------
    tuple of three floats in [0, 1].

    >>> rgb((255, 0, 51))
    (1.0, 0.0, 0.2)
    """
    return tuple(float(v) / 255 for v in np.asarray(colour, float).reshape(3))


def _lab(colours: np.ndarray) -> np.ndarray:
    from skimage.color import rgb2lab

    arr = np.asarray(colours, float).reshape(-1, 1, 3) / 255
    return rgb2lab(arr).reshape(-1, 3)


def delta_e(a: tuple[int, int, int] | np.ndarray, b: tuple[int, int, int] | np.ndarray) -> float:
    """CIEDE2000 colour difference between two 0..255 RGB colours (via ``skimage.color``).

    Parameters
    ----------
    a, b : three 0..255 integers each.

    Returns
    -------
    float
        0 for identical colours; about 1 is just noticeable; over 20 is a plainly different colour.

    >>> round(delta_e((0, 0, 0), (0, 0, 0)), 1), round(delta_e(OUTCOME_COLOURS["FP"], (213, 94, 0)), 1)
    (0.0, 23.3)
    """
    from skimage.color import deltaE_ciede2000

    la, lb = _lab(np.asarray(a).reshape(1, 3)), _lab(np.asarray(b).reshape(1, 3))
    return float(deltaE_ciede2000(la, lb)[0])


def min_delta_e(colours: np.ndarray | Mapping[str, tuple[int, int, int]],
                against: np.ndarray | Mapping[str, np.ndarray] | None = None) -> tuple[float, tuple, tuple]:
    """The closest pair between ``colours`` and ``against`` (default: every class colour of
    :data:`CLASS_PALETTES`), as ``(difference, colour, class colour)``.

    Parameters
    ----------
    colours : ``(N, 3)`` 0..255 colours, or a ``{name: colour}`` dict.
    against : ``(M, 3)`` colours, or a ``{name: (M, 3) palette}`` dict; default :data:`CLASS_PALETTES`.

    Returns
    -------
    (float, tuple, tuple)
        The smallest CIEDE2000 difference and the two colours that have it.

    >>> d, mine, theirs = min_delta_e({**OUTCOME_COLOURS, **ERROR_COLOURS})
    >>> d > MIN_DELTA_E
    True
    """
    from skimage.color import deltaE_ciede2000

    mine = np.array(list(colours.values()) if isinstance(colours, Mapping) else colours, float).reshape(-1, 3)
    if against is None:
        against = CLASS_PALETTES
    theirs = np.concatenate(list(against.values())) if isinstance(against, Mapping) else np.asarray(against)
    theirs = np.asarray(theirs, float).reshape(-1, 3)
    la, lb = _lab(mine), _lab(theirs)
    d = deltaE_ciede2000(np.repeat(la, len(lb), 0), np.tile(lb, (len(la), 1))).reshape(len(la), len(lb))
    i, j = np.unravel_index(int(np.argmin(d)), d.shape)
    return float(d[i, j]), tuple(int(v) for v in mine[i]), tuple(int(v) for v in theirs[j])


def outcome_map(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Paint TP / FP / FN masks in the outcome colours over the TN grey; ``(H, W, 3)`` uint8.

    Where masks overlap, later ones win: FN over FP over TP.

    Parameters
    ----------
    tp, fp, fn : boolean masks of one shape.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` uint8 RGB.

    >>> out = outcome_map(np.array([[1, 0, 0, 0]], bool), np.array([[0, 1, 0, 0]], bool), np.array([[0, 0, 1, 0]], bool))
    >>> [tuple(int(v) for v in c) for c in out[0]]
    [(30, 240, 100), (220, 0, 55), (40, 40, 230), (30, 30, 30)]
    """
    tp, fp, fn = (np.asarray(m, bool) for m in (tp, fp, fn))
    out = np.empty(tp.shape + (3,), np.uint8)
    out[...] = NEUTRAL_COLOURS["TN"]
    for mask, name in ((tp, "TP"), (fp, "FP"), (fn, "FN")):
        out[mask] = OUTCOME_COLOURS[name]
    return out


def swatch_figure():
    """The palette on one page: class colours per data set, outcome, error and neutral colours,
    instance colours and the colour maps, each outcome/error colour with its least CIEDE2000
    difference to any class colour.

    Returns
    -------
    matplotlib.figure.Figure

    >>> import matplotlib.pyplot as plt
    >>> fig = swatch_figure(); len(fig.axes) > 0
    True
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    rows: list[tuple[str, list[tuple[str, tuple]]]] = []
    for name, pal in CLASS_PALETTES.items():
        rows.append((f"classes: {name}", [(str(i), tuple(c)) for i, c in enumerate(pal)]))
    rows.append(("outcomes", [(k, c) for k, c in OUTCOME_COLOURS.items()]))
    rows.append(("errors", [(k, c) for k, c in ERROR_COLOURS.items() if k != "interior error"]))
    rows.append(("neutrals", [(k, c) for k, c in NEUTRAL_COLOURS.items()]))
    rows.append(("instances", [(str(i), tuple(c)) for i, c in enumerate(INSTANCE_COLOURS)]))
    n_cols = max(len(r[1]) for r in rows)
    fig, ax = plt.subplots(figsize=(1.0 * n_cols + 2.6, 0.62 * (len(rows) + 2) + 0.4))
    for r, (title, swatches) in enumerate(rows):
        ax.text(-0.2, r + 0.5, title, ha="right", va="center", fontsize=9)
        for c, (label, colour) in enumerate(swatches):
            ax.add_patch(plt.Rectangle((c + 0.05, r + 0.08), 0.9, 0.84, facecolor=rgb(colour), edgecolor="black", lw=0.5))
            light = _lab(np.asarray(colour).reshape(1, 3))[0, 0] > 55
            text = label
            if title in ("outcomes", "errors"):
                text += f"\nΔE≥{min_delta_e([colour])[0]:.0f}"
            ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=7, color="black" if light else "white")
    for k, (title, cmap) in enumerate([(f"confidence: {CONFIDENCE_CMAP}", CONFIDENCE_CMAP),
                                      (f"log / entropy: {LOG_CMAP}", LOG_CMAP)]):
        r = len(rows) + k
        ax.imshow(np.linspace(0, 1, 256)[None], cmap=cmap, aspect="auto", extent=(0.05, n_cols - 0.05, r + 0.92, r + 0.08))
        ax.text(-0.2, r + 0.5, title, ha="right", va="center", fontsize=9)
    d, mine, theirs = min_delta_e({**OUTCOME_COLOURS, **ERROR_COLOURS})
    ax.set_title(f"segcourse palette: least CIEDE2000 difference between an outcome/error colour and a class "
                 f"colour = {d:.1f} (rule: > {MIN_DELTA_E:.0f})", fontsize=9)
    ax.set_xlim(-0.1, n_cols)
    ax.set_ylim(len(rows) + 2, 0)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


#: Muted colours for the series of a line plot (one per run or setting: grey, brown, dark violet),
#: each more than :data:`MIN_DELTA_E` from every class, outcome and error colour and from each other,
#: so that a curve is never read as a class. Use with :func:`rgb`, e.g. ``color=rgb(SERIES[0])``;
#: give the series different line styles or markers too, for readers who cannot tell them apart.
SERIES = np.array([[155, 155, 155], [110, 55, 20], [60, 30, 90]], dtype=np.uint8)
