"""Toy datasets generated from a seed, with the failure modes the course teaches built in.

Nothing is downloaded: every image is drawn by numpy, vectorised over the whole batch, so a
notebook cell makes 1,000 samples in a fraction of a second (``python -m segcourse.bench data``).
Each generator has knobs that dial its failure mode up or down:

* :func:`road_scenes` -- sky, road, sidewalk (``sidewalk_gap``: colour close to road, so the two
  get confused), lane marking (1-2 px lines: thin structures) and car (small blobs).
* :func:`surface_defects` -- binary defect masks on a textured surface: thin scratches, small
  spots, diffuse stains (defect detection / coating inspection).
* :func:`touching_cells` -- instance label maps of cells that touch and overlap, plus the
  semantic mask a semantic model would see (all cells merged into one blob).
* :func:`annotation_noise` -- an inconsistent annotator: jittered boundaries, dropped small
  regions, swapped classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Sequence

import numpy as np
from scipy import ndimage

from ._validate import (as_images, as_label_array, as_sample_index, check_bool, check_float, check_int,
                        check_range_pair, check_seed)
from .palette import CELL_PALETTE, DEFECT_PALETTE, NUCLEI_PALETTE, ROAD_PALETTE  # the class colours live in segcourse.palette

__all__ = [
    "ROAD_CLASSES",
    "ROAD_PALETTE",
    "SegData",
    "road_scenes",
    "surface_defects",
    "touching_cells",
    "annotation_noise",
    "split_indices",
    "augment",
    "SegmentationDataset",
]

ROAD_CLASSES = ("sky", "road", "sidewalk", "lane marking", "car")
DEFECT_CLASSES = ("surface", "defect")
CELL_CLASSES = ("background", "cell")


@dataclass
class SegData:
    """A batch of generated samples; class names and palette travel with the data.

    ``images`` (N, H, W, 3) float32 in [0, 1]; ``labels`` (N, H, W) uint8 label maps;
    ``instances`` (N, H, W) int32 (0 = background, 1..k objects) where the data set has them.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    palette: np.ndarray
    instances: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx) -> "SegData":
        """Index or slice the samples: ``data[:10]`` is a SegData of the first ten.

        ``idx`` is one sample number, a slice, a 1-D list/array of sample numbers or a 1-D bool
        mask of length ``len(data)``; a 2-D index or ``data[i, j]`` raises (samples have one axis).

        >>> d = road_scenes(4, seed=0)
        >>> len(d[1]), len(d[[0, 2]]), len(d[:3])
        (1, 2, 3)
        >>> d[[[0, 1]]]
        Traceback (most recent call last):
        ...
        ValueError: index has shape (1, 2) (2-D); expected one index, a slice, or a 1-D list of sample indices such as [0, 2]
        """
        idx = as_sample_index(idx, len(self))
        return SegData(self.images[idx], self.labels[idx], self.class_names, self.palette,
                       None if self.instances is None else self.instances[idx], dict(self.params))

    def __repr__(self) -> str:
        n, h, w = self.labels.shape
        return f"SegData({n} samples of {h}×{w}, classes={list(self.class_names)})"


def _check_n_size(n: int, size: int, seed: Any = 0) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer number of samples, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer of at least 16 pixels, got {size!r}")
    if size > 4096:
        raise ValueError(f"size must be at most 4096 pixels, got {size!r}")
    check_seed(seed)


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Zero-mean, unit-variance pixel noise (uniform: ~5x cheaper to draw than Gaussian)."""
    z = rng.random(shape, dtype=np.float32)
    z -= np.float32(0.5)
    z *= np.float32(12 ** 0.5)
    return z


@lru_cache(maxsize=32)
def _upsampling_blur(size: int, step: int, sigma: float) -> np.ndarray:
    """(size, m) matrix that blurs a coarse grid of m = ceil(size/step)+1 points with a Gaussian
    (``sigma`` in coarse points, reflecting edges) and interpolates it linearly to ``size`` pixels."""
    m = -(-size // step) + 1
    blur = ndimage.gaussian_filter1d(np.eye(m), sigma, axis=0, mode="reflect", truncate=2.0)
    pos = np.arange(size) / step
    i0 = np.floor(pos).astype(int)
    frac = pos - i0
    interp = np.zeros((size, m))
    interp[np.arange(size), i0] = 1 - frac
    interp[np.arange(size), i0 + 1] += frac
    out = (interp @ blur).astype(np.float32)
    out.flags.writeable = False
    return out


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> np.ndarray:
    """Spatially smooth noise with unit standard deviation (per image).

    Narrow blurs (sigma < 3) filter full-resolution noise with ``scipy.ndimage.gaussian_filter``.
    Wide blurs are drawn on a coarse grid, blurred and upsampled in one linear map per axis
    (two matrix products for the whole batch): the same look at a fraction of the cost.
    """
    n, h, w = shape
    step = max(1, int(sigma // 1.5))
    if step > 1:
        coarse = _noise(rng, (n, -(-h // step) + 1, -(-w // step) + 1))
        ay, ax = _upsampling_blur(h, step, sigma / step), _upsampling_blur(w, step, sigma / step)
        z = ay @ (coarse.reshape(-1, coarse.shape[-1]) @ ax.T).reshape(n, -1, w)   # (n, h, w)
    else:
        z = ndimage.gaussian_filter(_noise(rng, shape), sigma=(0, sigma, sigma), truncate=3.0)
    z -= z.mean(axis=(1, 2), keepdims=True)
    z /= z.std(axis=(1, 2), keepdims=True) + 1e-6
    return z


def _windows(samples: np.ndarray, cy: np.ndarray, cx: np.ndarray, ry: int, rx: int, H: int, W: int):
    """Pixel windows of (2ry+1) x (2rx+1) around each centre, for drawing small shapes cheaply.

    Returns row and column coordinates ``wy`` (k, 2ry+1, 1) and ``wx`` (k, 1, 2rx+1), whether each
    window pixel lies inside the image, and its index into the flattened (n, H, W) batch (clipped to
    the image where it lies outside: mask with ``inside`` before writing).
    """
    wy = np.floor(cy).astype(np.intp).reshape(-1, 1, 1) + np.arange(-ry, ry + 1).reshape(1, -1, 1)
    wx = np.floor(cx).astype(np.intp).reshape(-1, 1, 1) + np.arange(-rx, rx + 1).reshape(1, 1, -1)
    inside = (wy >= 0) & (wy < H) & (wx >= 0) & (wx < W)
    flat = (samples.reshape(-1, 1, 1) * H + np.clip(wy, 0, H - 1)) * W + np.clip(wx, 0, W - 1)
    return wy, wx, inside, flat


def road_scenes(
    n: int,
    size: int = 64,
    seed: int = 0,
    sidewalk_gap: float = 0.12,
    noise: float = 0.03,
    lighting: float = 0.15,
    max_cars: int = 3,
    lane_width: tuple[int, int] = (1, 2),
    car_instances: bool = False,
) -> SegData:
    """Toy road scenes: sky, road, sidewalk, thin lane markings, small cars.

    Parameters
    ----------
    n, size, seed : number of images, their side in pixels, and the seed (same seed, same data).
    sidewalk_gap : colour difference between road and sidewalk; small values make the two
        classes hard to tell apart (class confusion). 0 makes them identical in colour.
    noise : standard deviation of per-pixel Gaussian noise.
    lighting : per-image brightness varies by up to this fraction (lighting shift).
    max_cars : up to this many small cars per image (small regions).
    lane_width : the lane marking is this many pixels wide (min, max), dashed (thin structures).
    car_instances : also return which car painted each pixel, as ``instances`` (N, H, W) int32:
        0 where there is no car, ``j + 1`` where car draw ``j`` (0 to ``max_cars - 1``) was painted
        last. Touching cars share one blob of car pixels in ``labels``; ``instances`` tells them
        apart. Images and labels are the same with or without it.

    Examples
    --------
    >>> d = road_scenes(4, seed=0)
    >>> d.images.shape, d.images.dtype, d.labels.shape, d.labels.dtype
    ((4, 64, 64, 3), dtype('float32'), (4, 64, 64), dtype('uint8'))
    >>> d.class_names
    ('sky', 'road', 'sidewalk', 'lane marking', 'car')
    >>> bool((road_scenes(4, seed=0).labels == d.labels).all())
    True
    >>> c = road_scenes(4, seed=0, car_instances=True)
    >>> bool(((c.instances > 0) == (c.labels == 4)).all()), sorted(np.unique(c.instances).tolist())
    (True, [0, 1, 2, 3])
    """
    _check_n_size(n, size, seed)
    check_float(sidewalk_gap, "sidewalk_gap", lo=0, hi=0.5)
    check_float(noise, "noise", lo=0, hi=1)
    check_float(lighting, "lighting", lo=0, hi=1, hi_open=True)
    check_int(max_cars, "max_cars", minimum=0, maximum=50)
    check_range_pair(lane_width, "lane_width", 1, integer=True)
    if lane_width[1] > size // 4:
        raise ValueError(f"lane_width must be at most size // 4 = {size // 4} pixels, got {tuple(lane_width)}")
    rng = np.random.default_rng(seed)
    H = W = size
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    yy, xx = yy[None], xx[None]
    col = lambda a: np.asarray(a, np.float32).reshape(-1, 1, 1)  # noqa: E731

    # per-row quantities are computed on (n, H, 1) columns and broadcast across the row
    rows = yy[:, :, :1]
    horizon = col(rng.uniform(0.28, 0.45, n) * H)
    t = np.clip((rows - horizon) / (H - horizon), 0, 1)  # 0 at the horizon, 1 at the bottom
    below = rows > horizon
    center = col(rng.uniform(0.35, 0.65, n) * W) + col(rng.uniform(-0.25, 0.25, n) * W) * t
    half = (col(rng.uniform(0.05, 0.09, n)) + col(rng.uniform(0.30, 0.42, n)) * t) * W
    dist = np.abs(xx + 0.5 - center)
    road = below & (dist < half)

    lo, hi = lane_width
    lane_w = col(rng.integers(lo, hi + 1, n))
    period = col(rng.integers(7, 12, n))
    phase = col(rng.integers(0, 12, n))
    dashed = ((rows + phase) % period) < 0.65 * period
    lane = road & (dist < lane_w / 2) & (dashed & (t > 0.04))
    labels = np.where(lane, np.uint8(3), np.where(road, np.uint8(1), np.where(below, np.uint8(2), np.uint8(0))))

    # cars: small ellipses on the road, bigger when closer to the bottom. ``look`` is an
    # appearance id per pixel (class id, or 5 + j for car j) used to colour the image in one gather.
    # Each car is tested only inside a small window around its centre (a car is at most ~11 px
    # wide), then written into the label maps with one scatter.
    look = labels.copy()
    flat_labels, flat_look = labels.reshape(-1), look.reshape(-1)
    sample = np.arange(n)
    for j in range(max_cars):
        present = rng.random(n) < 0.75
        ct = rng.uniform(0.15, 0.9, n)
        cy = col(horizon[:, 0, 0] + ct * (H - horizon[:, 0, 0]))
        side = rng.uniform(-0.7, 0.7, n)
        row = np.clip(cy[:, 0, 0].astype(int), 0, H - 1)  # the road's centre and width at the car's row
        cx = col(center[sample, row, 0] + side * half[sample, row, 0])
        rw = col(1.5 + 4.0 * ct)
        r_max = 1.5 + 4.0 * ct.max(initial=0)
        ry, rx = int(np.ceil(0.65 * r_max)) + 1, int(np.ceil(r_max)) + 1   # window half-sizes
        wy, wx, inside, flat = _windows(sample, cy, cx, ry, rx, H, W)
        fy, fx = wy.astype(np.float32), wx.astype(np.float32)
        blob = ((fx - cx) / rw) ** 2 + ((fy - cy) / (0.65 * rw)) ** 2 < 1
        blob &= (fy > horizon) & inside & col(present).astype(bool)
        idx = flat[blob]
        flat_labels[idx] = 4
        flat_look[idx] = 5 + j

    table = np.empty((n, 5 + max_cars, 3), np.float32)
    base_road = rng.uniform(0.33, 0.42, (n, 1)).astype(np.float32)
    table[:, 0] = (0.5, 0.72, 0.92)                                         # sky (+ gradient below)
    table[:, 1] = base_road * np.array([1.0, 1.0, 1.05], np.float32)       # road
    table[:, 2] = (base_road + sidewalk_gap) * np.array([1.04, 1.0, 0.94], np.float32)  # sidewalk
    table[:, 3] = 0.93                                                     # lane marking
    table[:, 4] = 0.5                                                      # (unused: cars use 5+j)
    cars = rng.uniform(0.1, 1.0, (n, max_cars, 3)).astype(np.float32)
    cars[np.arange(n)[:, None], np.arange(max_cars)[None], rng.integers(0, 3, (n, max_cars))] *= 0.15
    table[:, 5:] = cars
    gain = 1 + lighting * rng.uniform(-1, 1, (n, 1, 1)).astype(np.float32)
    table *= gain
    index = look.astype(np.int32) + (np.arange(n, dtype=np.int32) * (5 + max_cars)).reshape(-1, 1, 1)
    img = np.take(table.reshape(-1, 3), index, axis=0)          # (n, H, W, 3): colour by appearance id
    texture = _smooth_noise(rng, (n, H, W), 1.5)
    texture *= np.float32(0.03)
    img += np.where(labels == 0, 0.2 * (1 - yy / H), texture)[..., None]  # sky gradient; texture elsewhere
    grain = _noise(rng, (n, H, W, 3))
    grain *= np.float32(noise)
    img += grain
    np.clip(img, 0, 1, out=img)
    params = dict(n=n, size=size, seed=seed, sidewalk_gap=sidewalk_gap, noise=noise,
                  lighting=lighting, max_cars=max_cars, lane_width=tuple(lane_width))
    instances = np.where(look >= 5, look.astype(np.int32) - 4, 0).astype(np.int32) if car_instances else None
    return SegData(img, labels, ROAD_CLASSES, ROAD_PALETTE.copy(), instances=instances,
                   params=params)


def surface_defects(
    n: int,
    size: int = 64,
    seed: int = 0,
    contrast: float = 0.4,
    noise: float = 0.04,
    max_defects: int = 3,
    kinds: Sequence[str] = ("scratch", "spot", "stain"),
) -> SegData:
    """Textured surfaces with binary defect masks: thin scratches, small spots, diffuse stains.

    ``contrast`` sets how much darker a defect is than the surface (low = hard to see); stains
    fade out towards their edge, so where exactly a stain ends is genuinely ambiguous.
    ``noise`` is the per-pixel sensor noise; the surface adds a fine grain of 0.03 of its own.

    >>> d = surface_defects(8, seed=1)
    >>> d.labels.shape, d.class_names, set(np.unique(d.labels)) <= {0, 1}
    ((8, 64, 64), ('surface', 'defect'), True)
    """
    _check_n_size(n, size, seed)
    check_float(contrast, "contrast", lo=0, hi=1)
    check_float(noise, "noise", lo=0, hi=1)
    check_int(max_defects, "max_defects", minimum=0, maximum=50)
    if isinstance(kinds, str) or not isinstance(kinds, (list, tuple, set, frozenset)):
        raise TypeError(f"kinds must be a list such as ['scratch', 'spot'], got {kinds!r}")
    unknown = set(kinds) - {"scratch", "spot", "stain"}
    if unknown or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of scratch, spot, stain; got {list(kinds)}")
    if n == 0:
        return SegData(np.zeros((0, size, size, 3), np.float32), np.zeros((0, size, size), np.uint8), DEFECT_CLASSES,
                       DEFECT_PALETTE.copy(), params=dict(n=0, size=size, seed=seed, contrast=contrast, noise=noise,
                                                          max_defects=max_defects, kinds=tuple(kinds)))
    rng = np.random.default_rng(seed)
    H = W = size
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    yy, xx = yy[None], xx[None]
    col = lambda a: np.asarray(a, np.float32).reshape(-1, 1, 1)  # noqa: E731

    surface = 0.05 * _smooth_noise(rng, (n, H, W), 4.0)
    surface += np.float32(0.6)
    darkening = np.zeros((n, H, W), np.float32)
    labels = np.zeros((n, H, W), np.uint8)
    kind_ids = np.array([{"scratch": 0, "spot": 1, "stain": 2}[k] for k in kinds])
    wobble = 0.25 * _smooth_noise(rng, (n, H, W), 3.0)  # ragged stain outlines
    wobble += np.float32(1)
    for _ in range(max_defects):
        # draw every parameter for all samples (so the random stream does not depend on the
        # kinds drawn), then render each kind only for the samples that have it
        present = rng.random(n) < 0.6
        kind = kind_ids[rng.integers(0, len(kind_ids), n)]
        cy, cx = rng.uniform(8, H - 8, n), rng.uniform(8, W - 8, n)
        ang = rng.uniform(0, np.pi, n)
        length = rng.uniform(0.25, 0.6, n) * size
        r_spot = rng.uniform(1.2, 2.8, n)
        r_stain = rng.uniform(5, 11, n)
        for k in (0, 1, 2):
            sel = np.nonzero(present & (kind == k))[0]
            if not len(sel):
                continue
            dy_, dx_ = yy - col(cy[sel]), xx - col(cx[sel])
            if k == 0:    # scratch: a 1-px line segment
                c, s_ = col(np.cos(ang[sel])), col(np.sin(ang[sel]))
                mask = (np.abs(dy_ * c - dx_ * s_) < 0.6) & (np.abs(dx_ * c + dy_ * s_) < col(length[sel]) / 2)
                depth = mask.astype(np.float32)
            elif k == 1:  # spot: a small disc
                mask = dx_ ** 2 + dy_ ** 2 < col(r_spot[sel]) ** 2
                depth = mask.astype(np.float32)
            else:         # stain: a large soft blob; the mask is where it darkens by more than half
                depth = np.clip(1 - (dx_ ** 2 + dy_ ** 2) / (col(r_stain[sel]) * wobble[sel]) ** 2, 0, 1)
                mask = depth > 0.5
                depth *= np.float32(0.7)
            darkening[sel] = np.maximum(darkening[sel], depth)
            labels[sel] |= mask
    # the surface has a fine grain of its own (0.03) on top of the sensor noise
    grain = _noise(rng, (n, H, W))
    grain *= np.float32(np.hypot(0.03, noise))
    darkening *= np.float32(contrast)
    surface -= darkening
    surface += grain
    img = np.empty((n, H, W, 3), np.float32)
    for c, tint in enumerate((1.0, 0.98, 0.93)):
        np.multiply(surface, np.float32(tint), out=img[..., c])
    np.clip(img, 0, 1, out=img)
    params = dict(n=n, size=size, seed=seed, contrast=contrast, noise=noise, max_defects=max_defects,
                  kinds=tuple(kinds))
    return SegData(img, labels, DEFECT_CLASSES, DEFECT_PALETTE.copy(), params=params)


def touching_cells(
    n: int,
    size: int = 64,
    seed: int = 0,
    num_cells: tuple[int, int] = (3, 8),
    radius: tuple[float, float] = (5.0, 9.0),
    overlap: float = 0.25,
    noise: float = 0.05,
    isolated: float = 0.0,
) -> SegData:
    """Cells that touch and overlap: instance label maps plus the merged semantic mask.

    Each new cell is placed next to an earlier one, its centre at ``(1 - overlap * u)`` times the
    sum of their radii (u uniform in [0, 1]), so cells touch (overlap=0) or overlap. With
    ``isolated`` > 0, each cell after the first instead starts a new cluster with that
    probability: of 16 random centres it takes the one farthest from the cells already placed, so
    an image mixes lone cells with touching clusters (``isolated=0``, the default, draws exactly
    what it always drew). Where two
    cells overlap, a pixel belongs to the one whose centre is relatively closer. Cells are
    brightest at their centre (a dome), which is the cue a watershed uses to split them.

    Returns ``SegData`` with ``instances`` (N, H, W) int32 (0 = background, ids 1..k) and
    ``labels`` = the semantic mask (1 wherever any cell is).

    >>> d = touching_cells(5, seed=2)
    >>> d.instances.dtype, d.labels.dtype, bool(((d.instances > 0) == (d.labels == 1)).all())
    (dtype('int32'), dtype('uint8'), True)
    """
    _check_n_size(n, size, seed)
    lo, hi = check_range_pair(num_cells, "num_cells", 1, integer=True)
    if hi > 200:
        raise ValueError(f"num_cells must be at most 200 cells per image, got {tuple(num_cells)}")
    r_lo, r_hi = check_range_pair(radius, "radius", 0.5)
    if r_hi > size / 2:
        raise ValueError(f"radius must be at most size / 2 = {size / 2:g} pixels, got {tuple(radius)}")
    check_float(overlap, "overlap", lo=0, hi=1)
    check_float(noise, "noise", lo=0, hi=1)
    check_float(isolated, "isolated", lo=0, hi=1)
    rng = np.random.default_rng(seed)
    H = W = size
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    count = rng.integers(lo, hi + 1, n)
    r = rng.uniform(*radius, (n, hi)).astype(np.float32)
    cy = np.zeros((n, hi), np.float32)
    cx = np.zeros((n, hi), np.float32)
    cy[:, 0], cx[:, 0] = rng.uniform(0.3, 0.7, (2, n)) * size
    rows = np.arange(n)
    for j in range(1, hi):
        parent = rng.integers(0, j, n)
        ang = rng.uniform(0, 2 * np.pi, n)
        dist = (r[rows, parent] + r[:, j]) * (1 - overlap * rng.random(n))
        cy[:, j] = np.clip(cy[rows, parent] + dist * np.sin(ang), r[:, j], size - 1 - r[:, j])
        cx[:, j] = np.clip(cx[rows, parent] + dist * np.cos(ang), r[:, j], size - 1 - r[:, j])
        if isolated:   # drawn only when asked, so isolated=0 keeps every earlier image
            alone = rng.random(n) < isolated
            lo_c, span = r[:, j, None], size - 1 - 2 * r[:, j, None]
            ty, tx = lo_c + span * rng.random((n, 16)), lo_c + span * rng.random((n, 16))
            gap = np.hypot(ty[:, :, None] - cy[:, None, :j], tx[:, :, None] - cx[:, None, :j]) - r[:, None, :j]
            best_c = np.argmax(gap.min(axis=2), axis=1)
            cy[alone, j], cx[alone, j] = ty[rows, best_c][alone], tx[rows, best_c][alone]
    # paint the cells one slot at a time; each cell is evaluated only inside a small window
    # around its centre, then scattered into the flat arrays
    best = np.full((n, H, W), np.inf, np.float32)   # each pixel's distance / radius to its cell
    instances = np.zeros((n, H, W), np.int32)
    flat_best, flat_inst = best.reshape(-1), instances.reshape(-1)
    R = int(np.ceil(r.max(initial=0))) + 1   # window half-size
    for j in range(hi):
        s = np.nonzero(count > j)[0]                 # the samples that have a j-th cell
        wy, wx, inside, flat = _windows(s, cy[s, j], cx[s, j], R, R, H, W)
        d = np.sqrt((wy.astype(np.float32) - cy[s, j, None, None]) ** 2 + (wx.astype(np.float32) - cx[s, j, None, None]) ** 2)
        d = d / r[s, j, None, None]
        closer = (d < 1) & inside
        closer &= d < flat_best[flat]
        flat_inst[flat[closer]] = j + 1
        flat_best[flat[closer]] = d[closer]
    # relabel ids to 1..k in order: a cell entirely covered by others disappears
    K = hi + 1
    flat_ids = instances + (np.arange(n, dtype=np.int32) * K).reshape(-1, 1, 1)   # (sample, id) -> one index
    present = np.bincount(flat_ids.ravel(), minlength=n * K).reshape(n, K) > 0
    present[:, 0] = False
    lut = np.cumsum(present, axis=1, dtype=np.int32) * present
    instances = lut.ravel()[flat_ids]
    brightness = rng.uniform(0.55, 0.9, (n, hi + 1)).astype(np.float32)
    brightness[:, 0] = 0.0                            # background: brightness 0 (times any dome is 0)
    brightness = np.take_along_axis(brightness, lut, 1)
    dome = 1 - 0.55 * np.minimum(best, 1) ** 2
    gray = brightness.ravel()[flat_ids]
    gray *= dome
    gray += np.float32(0.08)
    grain = _noise(rng, (n, H, W))
    grain *= np.float32(noise)
    gray += grain
    img = np.empty((n, H, W, 3), np.float32)
    for c, tint in enumerate((0.55, 1.0, 0.6)):     # greenish fluorescence
        np.multiply(gray, np.float32(tint), out=img[..., c])
    np.clip(img, 0, 1, out=img)
    params = dict(n=n, size=size, seed=seed, num_cells=tuple(num_cells), radius=tuple(radius),
                  overlap=overlap, noise=noise)
    if isolated:
        params["isolated"] = isolated
    return SegData(img, (instances > 0).astype(np.uint8), CELL_CLASSES, CELL_PALETTE.copy(),
                   instances=instances, params=params)


def annotation_noise(
    label_map: Any,
    boundary_jitter: float = 1.0,
    miss_small: float = 0.0,
    class_swap: float = 0.0,
    seed: int = 0,
    small_area: int = 30,
    swap_pairs: Sequence[tuple[int, int]] = ((1, 2),),
) -> np.ndarray:
    """Re-annotate a label map the way an inconsistent annotator would.

    Parameters
    ----------
    label_map : (H, W) or (N, H, W) label map (the "true" annotation).
    boundary_jitter : how far (in pixels, roughly) region boundaries wander. Each pixel takes the
        label of a nearby pixel, with a smooth random offset field, so edges move coherently.
    miss_small : probability that a connected region smaller than ``small_area`` pixels is not
        annotated at all (it takes the label around it).
    class_swap : probability that a connected region of a class in ``swap_pairs`` is given the
        other class of its pair (e.g. road <-> sidewalk).
    seed : the same seed gives the same annotator.

    >>> lm = road_scenes(2, seed=0).labels
    >>> noisy = annotation_noise(lm, boundary_jitter=1.5, seed=0)
    >>> noisy.shape == lm.shape and 0.85 < float((noisy == lm).mean()) < 1.0
    True
    """
    arr = as_label_array(label_map, "label_map")
    if arr.size and arr.min() < 0:
        raise ValueError("label_map contains negative class ids")
    for name, p in (("miss_small", miss_small), ("class_swap", class_swap)):
        check_float(p, f"{name} (a probability)", lo=0, hi=1)
    check_float(boundary_jitter, "boundary_jitter", lo=0, hi=max(arr.shape[-2:], default=1))
    check_seed(seed)
    check_int(small_area, "small_area", minimum=1)
    try:
        swap_pairs = [(int(a), int(b)) for a, b in swap_pairs]
    except (TypeError, ValueError):
        raise TypeError(f"swap_pairs must be a list of (class, class) pairs, got {swap_pairs!r}") from None
    single = arr.ndim == 2
    batch = arr[None] if single else arr
    rng = np.random.default_rng(seed)
    out = batch.copy()
    n, H, W = batch.shape
    if boundary_jitter > 0:
        yy, xx = np.mgrid[:H, :W]
        dy = np.rint(boundary_jitter * _smooth_noise(rng, (n, H, W), 2.5)).astype(int)
        dx = np.rint(boundary_jitter * _smooth_noise(rng, (n, H, W), 2.5)).astype(int)
        sy = np.clip(yy[None] + dy, 0, H - 1)
        sx = np.clip(xx[None] + dx, 0, W - 1)
        out = out[np.arange(n)[:, None, None], sy, sx]
    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)  # never connect across images
    if class_swap > 0:
        for a, b in swap_pairs:
            comps, k = ndimage.label((out == a) | (out == b), structure)
            if k:
                flip = np.concatenate([[False], rng.random(k) < class_swap])[comps]
                out = np.where(flip & (out == a), b, np.where(flip & (out == b), a, out)).astype(out.dtype)
    if miss_small > 0:
        drop = np.zeros(out.shape, bool)
        for cls in np.unique(out):
            comps, k = ndimage.label(out == cls, structure)
            if k:
                areas = np.bincount(comps.ravel(), minlength=k + 1)
                chosen = (areas < small_area) & (rng.random(k + 1) < miss_small)
                chosen[0] = False
                drop |= chosen[comps]
        if drop.any() and not drop.all():
            for i in range(n):  # fill each dropped pixel with the nearest kept label
                if drop[i].any() and not drop[i].all():
                    idx = ndimage.distance_transform_edt(drop[i], return_distances=False, return_indices=True)
                    out[i] = out[i][idx[0], idx[1]]
    return out[0] if single else out


def split_indices(
    n: int, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> tuple[np.ndarray, ...]:
    """Shuffle ``range(n)`` with a fixed seed and cut it into train / val / test index arrays.

    >>> train, val, test = split_indices(10, seed=0)
    >>> len(train), len(val), len(test), sorted(np.concatenate([train, val, test])) == list(range(10))
    (7, 1, 2, True)
    """
    n = check_int(n, "n", minimum=0)
    check_seed(seed)
    fr = np.asarray(fractions, float)
    if fr.ndim != 1 or not np.isfinite(fr).all() or (fr < 0).any() or not np.isclose(fr.sum(), 1):
        raise ValueError(f"fractions must be non-negative and sum to 1, got {list(fractions)}")
    order = np.random.default_rng(seed).permutation(n)
    cuts = np.floor(np.cumsum(fr)[:-1] * n).astype(int)
    return tuple(np.split(order, cuts))


def augment(
    image: np.ndarray,
    label_map: np.ndarray,
    rng: np.random.Generator,
    hflip: bool = True,
    vflip: bool = False,
    rot90: bool = False,
    crop_scale: tuple[float, float] | None = (0.7, 1.0),
    color_jitter: float = 0.1,
    brightness: float = 0.0,
    noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Randomly transform one (image, label map) pair so that they stay aligned.

    Geometric changes (flips, 90° rotations, crop + resize) are applied to both; a crop is
    resized back with bilinear interpolation for the image and **nearest neighbour** for the
    mask (interpolating class ids would invent classes). Photometric changes (colour jitter,
    brightness, noise) touch the image only.

    Choose the options for the scene. The defaults respect a road scene, whose sky is always on
    top: a left-right mirror is still a plausible street, an upside-down or 90°-turned one is not,
    so ``vflip`` and ``rot90`` are off. Turn them on for images with no "up" (cells under a
    microscope, aerial views).

    Parameters
    ----------
    image, label_map : the image and its ``(H, W)`` label map. ``image`` follows the package
        convention, float32 ``(H, W, 3)`` in [0, 1] (uint8 is divided by 255); a 0..255 float
        image raises instead of turning white.
    rng : the random generator (same generator state, same transform).
    hflip, vflip : mirror left-right / upside-down with probability 0.5.
    rot90 : rotate by a random multiple of 90°.
    crop_scale : crop a random square-ish window of this fraction of the side, resize it back.
    color_jitter : each channel is multiplied by ``1 ± color_jitter`` and shifted by up to
        ``± color_jitter / 2`` (a different camera's colour balance).
    brightness : the whole image is multiplied by one gain in ``1 ± brightness`` (lighting).
    noise : Gaussian pixel noise with a standard deviation drawn from ``[0, noise]`` (sensor noise).

    Examples
    --------
    >>> d = road_scenes(1, seed=0)
    >>> img, lm = augment(d.images[0], d.labels[0], np.random.default_rng(0))
    >>> img.shape, lm.shape, lm.dtype, set(np.unique(lm)) <= set(range(5))
    ((64, 64, 3), (64, 64), dtype('uint8'), True)
    >>> img, lm = augment(d.images[0], d.labels[0], np.random.default_rng(0), hflip=False, crop_scale=None,
    ...                   color_jitter=0, brightness=0.3, noise=0.05)
    >>> bool((lm == d.labels[0]).all()), bool(np.abs(img - d.images[0]).max() > 0)   # only the image changes
    (True, True)
    """
    image = as_images(image, "image", single=True)
    label_map = as_label_array(label_map, "label_map", ndims=(2,))
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    for name, v in (("hflip", hflip), ("vflip", vflip), ("rot90", rot90)):
        check_bool(v, name)
    if crop_scale is not None:
        check_range_pair(crop_scale, "crop_scale", 0.01)
        if crop_scale[1] > 1:
            raise ValueError(f"crop_scale must be (min, max) fractions of the image in (0, 1], got {tuple(crop_scale)}")
    color_jitter = check_float(color_jitter, "color_jitter", lo=0, hi=1)
    brightness = check_float(brightness, "brightness", lo=0, hi=1)
    noise = check_float(noise, "noise", lo=0, hi=1)
    if image.shape[:2] != label_map.shape:
        raise ValueError(f"image {image.shape[:2]} and label map {label_map.shape} must have the same height and width")
    H, W = label_map.shape
    if hflip and rng.random() < 0.5:
        image, label_map = image[:, ::-1], label_map[:, ::-1]
    if vflip and rng.random() < 0.5:
        image, label_map = image[::-1], label_map[::-1]
    if rot90:
        k = int(rng.integers(0, 4))
        image, label_map = np.rot90(image, k), np.rot90(label_map, k)
    if crop_scale is not None:
        s = rng.uniform(*crop_scale)
        ch, cw = max(2, int(round(H * s))), max(2, int(round(W * s)))
        y0, x0 = int(rng.integers(0, H - ch + 1)), int(rng.integers(0, W - cw + 1))
        image = image[y0 : y0 + ch, x0 : x0 + cw]
        label_map = label_map[y0 : y0 + ch, x0 : x0 + cw]
        ys = (np.arange(H) + 0.5) * ch / H - 0.5
        xs = (np.arange(W) + 0.5) * cw / W - 0.5
        gy, gx = np.meshgrid(ys, xs, indexing="ij")
        label_map = label_map[np.clip(np.rint(gy), 0, ch - 1).astype(int), np.clip(np.rint(gx), 0, cw - 1).astype(int)]
        coords = [np.clip(gy, 0, ch - 1), np.clip(gx, 0, cw - 1)]
        image = np.stack([ndimage.map_coordinates(image[..., c], coords, order=1) for c in range(image.shape[-1])], -1)
    if color_jitter:
        gain = 1 + rng.uniform(-color_jitter, color_jitter, 3)
        bias = rng.uniform(-color_jitter, color_jitter) / 2
        image = np.clip(image * gain + bias, 0, 1)
    if brightness:
        image = np.clip(image * (1 + rng.uniform(-brightness, brightness)), 0, 1)
    if noise:
        image = np.clip(image + rng.normal(0.0, rng.uniform(0, noise), image.shape), 0, 1)
    return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(label_map)


class SegmentationDataset:
    """A torch-style ``Dataset`` over a :class:`SegData` (or image and label arrays).

    Images must follow the package convention, ``(N, H, W, 3)`` float32 in [0, 1] (uint8 is
    divided by 255); channel-first, grayscale or 0..255 float arrays raise.
    Items are ``(image, label_map)`` torch tensors: ``(3, H, W)`` float32 and ``(H, W)`` int64,
    optionally augmented (``augment=True`` or any callable ``f(image, label_map, rng)``).

    >>> ds = SegmentationDataset(road_scenes(3, seed=0))
    >>> x, y = ds[0]
    >>> tuple(x.shape), x.dtype, tuple(y.shape), y.dtype, len(ds)
    ((3, 64, 64), torch.float32, (64, 64), torch.int64, 3)
    """

    def __init__(
        self,
        data: SegData | np.ndarray,
        labels: np.ndarray | None = None,
        augment: bool | Callable | None = None,
        seed: int = 0,
    ) -> None:
        if isinstance(data, SegData):
            images, labels = data.images, data.labels
        else:
            if labels is None:
                raise TypeError("pass a SegData, or images and labels")
            images = data
        images = as_images(images, "images")      # float32 (N, H, W, 3) in [0, 1]; uint8 converted
        labels = as_label_array(labels, "labels", ndims=(3,))
        if labels.size and labels.min() < 0:
            raise ValueError(f"labels contain negative class ids ({int(labels.min())}); class ids start at 0")
        if images.shape[:3] != labels.shape:
            raise ValueError(f"images {images.shape} and labels {labels.shape} must match: (N, H, W, 3) and (N, H, W)")
        if not (augment is None or isinstance(augment, bool) or callable(augment)):
            raise TypeError(f"augment must be True/False or a function f(image, label_map, rng), got {augment!r}")
        check_seed(seed)
        self.images, self.labels = images, labels
        self.augment = globals()["augment"] if augment is True else (augment or None)
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        import torch

        img, lm = self.images[i], self.labels[i]
        if self.augment is not None:
            img, lm = self.augment(img, lm, self.rng)
        x = torch.from_numpy(np.ascontiguousarray(np.moveaxis(img, -1, 0), dtype=np.float32))
        return x, torch.from_numpy(np.ascontiguousarray(lm).astype(np.int64))


# ---------------------------------------------------------------------------------------------
# Real images that ship with the package (no download): a fluorescence nuclei image with its
# ground-truth instances (2018 Data Science Bowl / BBBC038, CC0) and scikit-image's coins photo.

REALDATA_DIR = __import__("pathlib").Path(__file__).resolve().parent / "realdata"
#: Number of coins in ``skimage.data.coins()`` (counted by eye; the classic watershed example).
COINS_TRUE_COUNT = 24


def realdata_card(name: str = "nuclei_dsb2018") -> dict[str, Any]:
    """The data card of a real image that ships with the package: source, licence, citation, checksums.

    >>> card = realdata_card()
    >>> card["licence"]["data"], card["arrays"]["labels"]["instances"]
    ('CC0 1.0 Universal (public domain dedication)', 125)
    """
    import json

    path = REALDATA_DIR / f"{name}.json"
    if not path.exists():
        available = sorted(p.stem for p in REALDATA_DIR.glob("*.json"))
        raise ValueError(f"no real data set named {name!r}; available: {available}")
    return json.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _nuclei_arrays() -> tuple[np.ndarray, np.ndarray]:
    path = REALDATA_DIR / "nuclei_dsb2018.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the package was installed without its data; reinstall segcourse")
    with np.load(path, allow_pickle=False) as f:
        image, labels = f["image"], f["labels"]
    image.flags.writeable = False
    labels.flags.writeable = False
    return image, labels


def normalize_percentile(image: Any, low: float = 1.0, high: float = 99.8, clip: bool = True) -> np.ndarray:
    """Map the ``low``-th percentile of ``image`` to 0 and the ``high``-th to 1 (float32).

    Microscopes store raw counts whose range depends on the instrument and the exposure; a model
    trained elsewhere expects values in the range it was trained on. Percentiles, unlike the
    minimum and maximum, ignore a few saturated pixels. ``clip`` limits the result to [0, 1].

    >>> normalize_percentile([0, 25, 50, 75, 100], low=0, high=50)   # the median maps to 1
    array([0. , 0.5, 1. , 1. , 1. ], dtype=float32)
    """
    from ._validate import to_numpy

    img = np.asarray(to_numpy(image, "image"), dtype=np.float32)
    if img.size == 0:
        raise ValueError("image is empty")
    if not (0 <= low < high <= 100):
        raise ValueError(f"need 0 <= low < high <= 100 (percentiles), got low={low}, high={high}")
    lo, hi = np.percentile(img, [low, high])
    out = (img - np.float32(lo)) / np.float32(max(hi - lo, 1e-12))
    return np.clip(out, 0, 1, out=out) if clip else out


def nuclei_image(normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A real fluorescence image of cell nuclei and its ground-truth instance labels.

    512×512 pixels from the 2018 Data Science Bowl (BBBC038v1, Caicedo et al., Nature Methods
    2019; licence CC0), as redistributed with StarDist; the data card
    (:func:`realdata_card`) gives source, extraction, licence, citation and checksums.

    Returns ``(image, labels)``: ``image`` is the raw ``uint16`` image (values 0..235), or with
    ``normalize=True`` the ``float32`` image mapped by :func:`normalize_percentile` (1st
    percentile -> 0, 99.8th -> 1, clipped); ``labels`` is the ``uint8`` instance label image
    (0 = background, nuclei 1..125). Both are fresh copies.

    >>> image, labels = nuclei_image()
    >>> image.shape, image.dtype, labels.dtype, int(labels.max()), len(np.unique(labels)) - 1
    ((512, 512), dtype('uint16'), dtype('uint8'), 125, 125)
    >>> float(nuclei_image(normalize=True)[0].max())
    1.0
    """
    image, labels = _nuclei_arrays()
    img = normalize_percentile(image) if normalize else image.copy()
    return img, labels.copy()


def coins_image() -> np.ndarray:
    """scikit-image's photo of 24 coins on a plain background (303×384, ``uint8`` grey).

    Greek coins from Pompeii (Brooklyn Museum Collection, "no known copyright restrictions"
    according to ``skimage.data.coins``). The file ships inside the scikit-image wheel
    (``skimage/data/coins.png``: no download); the true count is :data:`COINS_TRUE_COUNT`.

    >>> img = coins_image()
    >>> img.shape, img.dtype, COINS_TRUE_COUNT
    ((303, 384), dtype('uint8'), 24)
    """
    from skimage import data as skdata

    return np.asarray(skdata.coins()).copy()


__all__ += ["NUCLEI_PALETTE", "REALDATA_DIR", "COINS_TRUE_COUNT", "realdata_card", "normalize_percentile", "nuclei_image", "coins_image"]
