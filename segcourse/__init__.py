"""segcourse: the helper package of a hands-on course on image segmentation.

Modules (import the ones you need; torch-based ones load torch only when imported):

=============  ==============================================================
``masks``      build, validate and convert masks (label map, one-hot, RGB)
``metrics``    confusion matrix, IoU, Dice, per-class scores, boundary IoU
``data``       toy datasets generated from a seed (road scenes, defects, cells)
``viz``        overlays, triplets, error maps, evidence cards (matplotlib)
``models``     a tiny, readable UNet and the weights shipped with the course
``train``      fit / evaluate / predict for the tiny UNet
``instances``  connected components, watershed, matching, PQ, AP
``failures``   per-sample reports, failure buckets, annotation QC
``report``     a self-contained HTML portfolio page
``widgets``    the MaskEditor painting widget and the ClickSegmenter click widget
``checks``     automatic checks used by the exercises
=============  ==============================================================
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "masks", "metrics", "data", "viz", "models", "train", "instances",
    "failures", "report", "widgets", "checks", "bench",
}


def __getattr__(name: str):
    # Lazy submodules: ``import segcourse; segcourse.metrics`` works without importing torch.
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'segcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_SUBMODULES))
