"""Train, evaluate and run the tiny UNet: one plain loop, no callbacks, CPU or GPU.

``fit`` trains with Adam and a one-cycle learning rate on cross-entropy + Dice loss, evaluates
on held-out data every few steps with :mod:`segcourse.metrics`, and returns a history you can
plot. ``python -m segcourse.train --dataset roads`` trains the model that ships with the course.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from . import data as sdata
from . import metrics
from ._files import atomic_write, check_target
from ._validate import (as_images, as_label_array, check_bool, check_float, check_int, check_logits_target,
                        check_plain_name, check_seed)
from .models import WEIGHTS_DIR, TinyUNet, count_parameters
from .palette import CELL_BOUNDARY_PALETTE

#: Where ``train_shipped_model`` and ``python -m segcourse.train`` write by default: a folder in
#: the current working directory (never the installed package).
DEFAULT_OUT = Path("segcourse_models")

__all__ = ["pick_device", "dice_loss", "fit", "evaluate", "predict", "train_shipped_model"]

def cells_boundary(n: int, size: int = 64, seed: int = 0, **knobs) -> sdata.SegData:
    """Touching cells with a 3-class target (background / interior / boundary) for the
    boundary-aware instance recipe; the instance maps travel along."""
    from .instances import boundary_class_map

    d = sdata.touching_cells(n, size=size, seed=seed, **{"overlap": 0.1, **knobs})
    labels = np.stack([boundary_class_map(i) for i in d.instances]) if n else d.labels
    return sdata.SegData(d.images, labels, ("background", "interior", "boundary"),
                         CELL_BOUNDARY_PALETTE.copy(), d.instances, d.params)


DATASETS = {"roads": sdata.road_scenes, "defects": sdata.surface_defects, "cells": cells_boundary}

# cross-entropy class weights the shipped models and the benchmark train with: lane markings and
# cars (a few percent of the pixels) count three times. Measured on seeds 0-3 of the benchmark's
# setting: held-out mIoU 0.90 after 1,600-1,760 training images with them, 1,600-2,080 without.
CLASS_WEIGHTS: dict[str, tuple[float, ...] | None] = {"roads": (1, 1, 1, 3, 3), "defects": None, "cells": None}


def pick_device(device: str | torch.device = "auto", verbose: bool = False) -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then the CPU (and says which when ``verbose``).

    >>> pick_device("cpu")
    device(type='cpu')
    >>> pick_device("gpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'gpu'
    """
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got {device!r}")
    if str(device) == "auto":
        if torch.cuda.is_available():
            device = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            device = "mps"
        else:
            device = "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for but torch sees no CUDA GPU; use device='auto' or 'cpu'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device={device!r}: torch sees only {torch.cuda.device_count()} CUDA GPU(s)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
        raise ValueError("device='mps' was asked for but this torch has no usable Apple MPS; use device='auto' or 'cpu'")
    if verbose:
        name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "CPU"
        print(f"training on {dev.type}: {name}")
    return dev


def dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """Soft multi-class Dice loss, averaged over the classes present in the batch.

    Unlike pixel-wise cross-entropy, every class weighs the same whatever its area, which is
    what helps thin lane markings and small cars.

    ``logits`` is ``(N, K, H, W)`` float and ``target`` ``(N, H, W)`` integer class ids in
    ``0..K-1``; anything else (float or ``(N, 1, H, W)`` targets, ids >= K such as an ignore
    label 255, unbatched logits) raises a ``ValueError``/``TypeError`` that says what to pass.

    >>> logits = torch.tensor([[[[10.0]], [[-10.0]]]])   # one pixel, confidently class 0
    >>> round(float(dice_loss(logits, torch.tensor([[[0]]]))), 3)
    0.0
    >>> dice_loss(logits, torch.tensor([[[[0]]]]))
    Traceback (most recent call last):
    ...
    ValueError: target has shape (1, 1, 1, 1); expected (N, H, W) = (1, 1, 1) to match logits (1, 2, 1, 1); drop the channel axis: target[:, 0]
    """
    target = check_logits_target(logits, target)
    k = logits.shape[1]
    prob = logits.float().softmax(1)
    one_hot = F.one_hot(target, k).permute(0, 3, 1, 2).float()
    inter = (prob * one_hot).sum((0, 2, 3))
    total = prob.sum((0, 2, 3)) + one_hot.sum((0, 2, 3))
    present = one_hot.sum((0, 2, 3)) > 0
    dice = (2 * inter + eps) / (total + eps)
    return 1 - dice[present].mean()


def _as_tensors(d: Any, name: str = "data", num_classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """SegData, a (images, labels) pair, or a SegmentationDataset -> (N,3,H,W) float, (N,H,W) long.

    Images follow the package convention (float32 in [0, 1], ``(N, H, W, 3)``; uint8 is divided by
    255; see :func:`segcourse._validate.as_images`); labels must be whole, non-negative class ids
    (below ``num_classes`` when given). A pair of torch tensors already in the model's layout
    (``(N, 3, H, W)`` float, ``(N, H, W)`` integer) is passed through after the same value checks.
    """
    if isinstance(d, sdata.SegData):
        images, labels = d.images, d.labels
    elif isinstance(d, sdata.SegmentationDataset):
        images, labels = d.images, d.labels
    elif isinstance(d, (tuple, list)) and len(d) == 2:
        images, labels = d
    else:
        raise TypeError(f"{name} must be a SegData, a SegmentationDataset or an (images, labels) pair, "
                        f"got {type(d).__name__}")
    if isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[1] == 3 and images.shape[-1] != 3:
        x = images.detach().float()
        if x.numel():
            lo, hi = torch.aminmax(x)   # one pass; NaN propagates and fails both comparisons
            if not (lo >= 0 and hi <= 1):
                raise ValueError(f"{name}: images must be finite values in [0, 1]")
    else:
        x = torch.from_numpy(as_images(images, f"{name} images")).permute(0, 3, 1, 2)
    if isinstance(labels, torch.Tensor) and labels.dtype == torch.int64 and labels.ndim == 3:
        y = labels.detach()
        lo_l, hi_l = (int(v) for v in torch.aminmax(y)) if y.numel() else (0, 0)
    else:
        lab = as_label_array(labels.detach().cpu() if isinstance(labels, torch.Tensor) else labels, f"{name} labels",
                             ndims=(3,))
        y = torch.as_tensor(lab.astype(np.int64, copy=False))
        lo_l, hi_l = (int(lab.min()), int(lab.max())) if lab.size else (0, 0)
    if lo_l < 0:
        raise ValueError(f"{name} labels contain negative class ids ({lo_l}); class ids start at 0")
    if num_classes is not None and hi_l >= num_classes:
        raise ValueError(f"{name} labels contain class id {hi_l}, but the model has num_classes={num_classes} "
                         f"(ids 0..{num_classes - 1}); relabel or drop those pixels (e.g. 255 'unlabelled') first")
    if x.ndim != 4 or y.ndim != 3 or x.shape[0] != y.shape[0] or x.shape[-2:] != y.shape[-2:]:
        raise ValueError(f"images {tuple(x.shape)} and labels {tuple(y.shape)} do not match: expected (N, H, W, C) and (N, H, W)")
    return x.contiguous(), y


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


@torch.no_grad()
def predict(model: torch.nn.Module, images: Any, batch_size: int = 256, device: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Label maps ``(N, H, W)`` uint8 and per-pixel class probabilities ``(N, K, H, W)`` float32.

    >>> model = TinyUNet(3, 5)
    >>> labels, probs = predict(model, np.zeros((2, 64, 64, 3), np.float32), device="cpu")
    >>> labels.shape, probs.shape, bool(np.allclose(probs.sum(1), 1, atol=1e-5))
    ((2, 64, 64), (2, 5, 64, 64), True)
    """
    dev = pick_device(device)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[1] == 3 and images.shape[-1] != 3:
        x = _as_tensors((images, torch.zeros((len(images),) + tuple(images.shape[-2:]), dtype=torch.int64)), "images")[0]
    else:
        n_hw = np.shape(images)[:3]
        x = _as_tensors((images, np.zeros(n_hw if len(n_hw) == 3 else (0, 0, 0), np.int64)), "images")[0]
    was_training = model.training
    model.eval().to(dev)
    probs = []
    for start in range(0, len(x), batch_size):
        with _autocast(dev):
            logits = model(x[start : start + batch_size].to(dev))
        probs.append(logits.float().softmax(1).cpu())
    model.train(was_training)
    p = torch.cat(probs).numpy() if probs else np.zeros((0, model.config["num_classes"]) + tuple(x.shape[-2:]), np.float32)
    return p.argmax(1).astype(np.uint8), p


def evaluate(model: torch.nn.Module, data: Any, num_classes: int | None = None, batch_size: int = 256,
             device: str = "auto") -> dict[str, Any]:
    """Held-out scores: per-class IoU and mIoU over the whole set, and mIoU of every sample.

    >>> d = sdata.road_scenes(4, seed=9)
    >>> res = evaluate(TinyUNet(3, 5), d, device="cpu")
    >>> sorted(res), res["per_class_iou"].shape, res["per_sample_miou"].shape
    (['miou', 'per_class_iou', 'per_sample_miou', 'pred'], (5,), (4,))
    """
    k = num_classes or getattr(model, "config", {}).get("num_classes")
    if k is None:
        raise ValueError("evaluate needs num_classes for a model without a .config")
    k = check_int(k, "num_classes", minimum=1)
    x, y = _as_tensors(data, "data", k)
    pred, _ = predict(model, x, batch_size, device)
    target = y.numpy()
    pred, target, k = metrics._labels_pair(pred, target, k, None)  # checked once, not once per sample
    per_class = metrics._per_class_iou(pred, target, k)
    per_sample = np.array([metrics._nanmean(metrics._per_class_iou(p, t, k)) for p, t in zip(pred, target)])
    return {"per_class_iou": per_class, "miou": float(np.nanmean(per_class)), "per_sample_miou": per_sample, "pred": pred}


def fit(
    model: torch.nn.Module,
    train_data: Any,
    val_data: Any,
    epochs: int = 4,
    lr: float = 1e-2,
    loss: str = "ce+dice",
    class_weights: Sequence[float] | None = None,
    device: str = "auto",
    seed: int = 0,
    target_miou: float | None = None,
    progress: bool = True,
    batch_size: int = 32,
    eval_every: int = 10,
    augment: bool = True,
    max_steps: int | None = None,
    warmup: float = 0.15,
    fast: bool | str = False,
    callback: Callable[[int, torch.nn.Module], Any] | None = None,
) -> dict[str, Any]:
    """Train ``model`` and return its history.

    Parameters
    ----------
    loss : ``"ce"``, ``"dice"`` or ``"ce+dice"``.
    class_weights : per-class weights for cross-entropy (e.g. larger for rare classes).
    device : ``"auto"`` (CUDA, then MPS, then CPU), or a torch device name.
    seed : fixes shuffling and augmentation; on the CPU the run is deterministic. ``fit`` does
        **not** initialise the model (it trains the one it is given): for reproducible initial
        weights call ``torch.manual_seed(seed)`` before building it, as ``train_shipped_model`` does.
    batch_size, eval_every, max_steps : positive integers.
    target_miou : stop early once held-out mIoU reaches it.
    augment : random horizontal flips of whole batches (image and mask together).
    warmup : fraction of the steps over which the learning rate ramps up to ``lr`` (one-cycle).
    fast : ``True`` trains with the whole step captured in a CUDA graph (``_fit_fast``): data on
        the GPU, bf16, fused Adam, no waiting for the GPU between evaluations (``step_seconds``
        are then means over each stretch between evaluations; Adam's beta1 is not cycled).
        ``"compile"`` also compiles the step with ``torch.compile`` first (~20 s once, faster at
        large batches). Without CUDA, the same step runs eagerly, with no speed-up (a notice says so).
    callback : ``None`` (the default), or a function called as ``callback(step, model)`` after each
        evaluation (every ``eval_every`` steps and at the last step), e.g. to keep a copy of the
        weights mid-run. What it returns is ignored; the model is in training mode when it is called.

    Returns
    -------
    dict with ``step_loss`` and ``step_seconds`` (per step), ``eval`` (list of dicts: step, images,
    seconds (wall clock), train_seconds (training steps only), miou, per_class_iou),
    ``images_seen``, ``seconds``, ``train_seconds``, ``device``.

    Examples
    --------
    >>> import copy
    >>> from segcourse import data
    >>> d = data.road_scenes(32, size=32, seed=0)
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> kept = {}
    >>> h = fit(TinyUNet(3, 5, width=4), d[:16], d[16:], epochs=1, batch_size=8, eval_every=1, device="cpu",
    ...         progress=False, callback=lambda step, model: kept.update({step: copy.deepcopy(model)}))
    >>> sorted(kept), [e["step"] for e in h["eval"]]
    ([1, 2], [1, 2])
    """
    if loss not in ("ce", "dice", "ce+dice"):
        raise ValueError(f"loss must be 'ce', 'dice' or 'ce+dice', got {loss!r}")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch module (e.g. TinyUNet), got {type(model).__name__}")
    epochs = check_int(epochs, "epochs", minimum=1)
    lr = check_float(lr, "lr", lo=0, lo_open=True)
    seed = check_seed(seed)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    eval_every = check_int(eval_every, "eval_every", minimum=1)
    if max_steps is not None:
        max_steps = check_int(max_steps, "max_steps", minimum=1)
    warmup = check_float(warmup, "warmup", lo=0, hi=1, lo_open=True, hi_open=True)
    if target_miou is not None:
        target_miou = check_float(target_miou, "target_miou", lo=0, hi=1)
    progress, augment = check_bool(progress, "progress"), check_bool(augment, "augment")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be None or a function callback(step, model), got {type(callback).__name__}")
    dev = pick_device(device, verbose=progress)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    k0 = model.config["num_classes"] if hasattr(model, "config") else None
    x, y = _as_tensors(train_data, "train_data", k0)
    vx, vy = _as_tensors(val_data, "val_data", k0)
    if len(x) == 0:
        raise ValueError("train_data is empty; fit needs at least one training image")
    if len(vx) == 0:
        raise ValueError("val_data is empty; fit needs at least one held-out image to evaluate on")
    k = k0 if k0 is not None else int(max(y.max(), vy.max())) + 1
    weight = None
    if class_weights is not None:
        cw = np.asarray(class_weights, dtype=np.float64) if not isinstance(class_weights, torch.Tensor) else class_weights.detach().cpu().double().numpy()
        if cw.shape != (k,):
            raise ValueError(f"class_weights needs one weight per class ({k}), got shape {cw.shape}")
        if not np.isfinite(cw).all() or (cw < 0).any() or not (cw > 0).any():
            raise ValueError(f"class_weights must be finite, non-negative and not all zero, got {cw.tolist()}")
        weight = torch.as_tensor(cw, dtype=torch.float32, device=dev)
    # channels-last memory layout: ~30% faster convolutions on CPU, and what GPUs prefer too
    model.to(dev, memory_format=torch.channels_last).train()
    if fast:
        if fast not in (True, "compile"):
            raise ValueError(f"fast must be False, True or 'compile', got {fast!r}")
        if progress and dev.type != "cuda":
            print(f"fast={fast!r} on {dev.type}: no CUDA graph there, the same step runs eagerly (no speed-up)")
        return _fit_fast(model, x, y, vx, vy, k, weight, dev, gen, epochs=epochs, lr=lr, loss=loss, target_miou=target_miou,
                         progress=progress, batch_size=batch_size, eval_every=eval_every, augment=augment,
                         max_steps=max_steps, warmup=warmup, mode="compile" if fast == "compile" else "graph",
                         callback=callback)
    x, y = x.to(dev).contiguous(memory_format=torch.channels_last), y.to(dev)
    steps_per_epoch = max(1, len(x) // batch_size)
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    # one multi-tensor update for all parameters (foreach) on the CPU, a fused kernel on CUDA
    opt = torch.optim.Adam(model.parameters(), lr=lr, **({"fused": True} if dev.type == "cuda" else {"foreach": True}))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 2), pct_start=warmup)
    history: dict[str, Any] = {"step_loss": [], "step_seconds": [], "eval": [], "images_seen": 0, "seconds": 0.0,
                               "train_seconds": 0.0, "device": str(dev)}
    start = time.perf_counter()
    bar = tqdm(total=total, desc="training", disable=not progress, unit="step")
    step = 0
    while step < total:
        order = torch.randperm(len(x), generator=gen).to(dev)
        for b in range(steps_per_epoch):
            if step >= total:
                break
            t_step = time.perf_counter()
            idx = order[b * batch_size : (b + 1) * batch_size]
            xb, yb = x[idx].contiguous(memory_format=torch.channels_last), y[idx]
            if augment:
                flip = (torch.rand(len(idx), generator=gen) < 0.5).to(dev)
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb).contiguous(memory_format=torch.channels_last)
                yb = torch.where(flip[:, None, None], yb.flip(-1), yb)
            with _autocast(dev):
                logits = model(xb)
            logits = logits.float()
            value = 0.0
            if loss in ("ce", "ce+dice"):        # not `"ce" in loss`: "dice" contains "ce"
                value = value + F.cross_entropy(logits, yb, weight=weight)
            if "dice" in loss:
                value = value + dice_loss(logits, yb)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            sched.step()
            step += 1
            history["images_seen"] += len(idx)
            history["step_loss"].append(float(value.detach()))  # (float() waits for the GPU to finish the step)
            history["step_seconds"].append(time.perf_counter() - t_step)
            if step % eval_every == 0 or step == total:
                res = evaluate(model, (vx, vy), k, device=dev)
                model.train()
                history["eval"].append({"step": step, "images": history["images_seen"],
                                        "seconds": time.perf_counter() - start,
                                        "train_seconds": float(np.sum(history["step_seconds"])), "miou": res["miou"],
                                        "per_class_iou": res["per_class_iou"].tolist()})
                bar.set_postfix(loss=f"{history['step_loss'][-1]:.3f}", mIoU=f"{res['miou']:.3f}")
                if callback is not None:
                    callback(step, model)
                if target_miou is not None and res["miou"] >= target_miou:
                    bar.update(1)
                    total = step
                    break
            bar.update(1)
    bar.close()
    history["seconds"] = time.perf_counter() - start
    history["train_seconds"] = float(np.sum(history["step_seconds"]))
    model.eval()
    return history


def one_cycle_lrs(lr: float, total: int, warmup: float = 0.15) -> list[float]:
    """The learning rate of each of ``total`` steps under the one-cycle schedule ``fit`` uses.

    >>> lrs = one_cycle_lrs(1e-2, 100)
    >>> len(lrs), round(max(lrs), 6), lrs[0] < lrs[15] and lrs[-1] < lrs[50]
    (100, 0.01, True)
    """
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 2), pct_start=warmup)
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def _one_hot_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """``dice_loss`` without host synchronisation (no boolean indexing, no ``F.one_hot`` range
    check), so it can be captured in a CUDA graph; the same value up to float rounding."""
    k = logits.shape[1]
    prob = logits.float().softmax(1)
    one_hot = (target[:, None] == torch.arange(k, device=target.device)[None, :, None, None]).float()
    inter = (prob * one_hot).sum((0, 2, 3))
    count = one_hot.sum((0, 2, 3))
    total = prob.sum((0, 2, 3)) + count
    present = (count > 0).float()
    dice = (2 * inter + eps) / (total + eps)
    return 1 - (dice * present).sum() / present.sum().clamp_min(1)


def _batch_loss(model: torch.nn.Module, xb: torch.Tensor, yb: torch.Tensor, u: torch.Tensor | None,
                weight: torch.Tensor | None, loss: str, cuda: bool) -> torch.Tensor:
    """One batch of the fast path: images ``(B, H, W, C)`` and labels ``(B, H, W)`` flipped where
    ``u < 0.5``, forward (bf16 on CUDA), loss. (What ``fast="compile"`` compiles: it sees only
    batch-sized tensors, so one compilation serves any training-set size.)"""
    if u is not None:
        flip = u < 0.5
        xb = torch.where(flip[:, None, None, None], xb.flip(2), xb)
        yb = torch.where(flip[:, None, None], yb.flip(-1), yb)
    # (B, H, W, C) permuted to (B, C, H, W) is channels-last without a copy
    with torch.autocast("cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=cuda, cache_enabled=False):
        logits = model(xb.permute(0, 3, 1, 2))
    logits = logits.float()
    value = torch.zeros((), device=logits.device)
    if loss in ("ce", "ce+dice"):            # not `"ce" in loss`: "dice" contains "ce"
        value = value + F.cross_entropy(logits, yb, weight=weight)
    if "dice" in loss:
        value = value + _one_hot_dice_loss(logits, yb)
    return value


_COMPILED: dict[str, Any] = {}


def _fit_fast(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, vx: torch.Tensor, vy: torch.Tensor, k: int,
              weight: torch.Tensor | None, dev: torch.device, gen: torch.Generator, *, epochs: int, lr: float,
              loss: str, target_miou: float | None, progress: bool, batch_size: int, eval_every: int, augment: bool,
              max_steps: int | None, warmup: float, mode: str = "graph", warmup_steps: int = 3,
              callback: Callable[[int, torch.nn.Module], Any] | None = None) -> dict[str, Any]:
    """``fit(..., fast=True)``: the same recipe, arranged so that the GPU never waits for Python.

    * the whole training set lives on the device, and every batch is a gather from a precomputed
      ``(steps, batch)`` index table (one permutation per epoch, drawn with ``gen``, drop-last, as
      ``fit``); flips come from the device's random generator;
    * the learning rate of every step sits in a device tensor (the one-cycle values of ``fit``,
      :func:`one_cycle_lrs`), which the fused Adam (``capturable=True``) reads on the GPU. Adam's
      beta1 stays 0.9: the fused kernel cannot read it from the GPU, so it is not cycled between
      0.85 and 0.95 as ``OneCycleLR`` does in ``fit``;
    * on CUDA, after ``warmup_steps`` ordinary steps, one whole step (gather, flip, bf16
      channels-last forward, CE + Dice, backward, Adam, learning rate, loss record) is captured
      in a CUDA graph and replayed: one launch per step instead of a few hundred. With
      ``mode="compile"`` the flip-to-loss part is first compiled by ``torch.compile``
      (Inductor fuses the element-wise work; ~20 s, once per process for a given batch size,
      loss and class weights);
    * losses stay in a device tensor and are read only at evaluation points, so
      ``step_seconds`` holds the mean step time of each stretch between evaluations.

    On the CPU there is no graph, no bf16 and no compilation: the same step runs eagerly.
    """
    cuda = dev.type == "cuda"
    n = len(x)
    if n < batch_size:
        raise ValueError(f"fast=True needs at least batch_size={batch_size} training images, got {n}")
    steps_per_epoch = n // batch_size
    total = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
    n_epochs = -(-total // steps_per_epoch)
    order = torch.stack([torch.randperm(n, generator=gen)[: steps_per_epoch * batch_size] for _ in range(n_epochs)])
    batches = order.view(-1, batch_size)[:total].to(dev)
    xs = x.permute(0, 2, 3, 1).contiguous().to(dev)  # (N, H, W, C) in memory
    ys = y.to(dev)
    model.to(dev, memory_format=torch.channels_last).train()
    lrs_host = one_cycle_lrs(lr, total, warmup)
    lrs = torch.tensor(lrs_host + lrs_host[-1:], dtype=torch.float32, device=dev)
    step_t = torch.zeros(1, dtype=torch.long, device=dev)
    losses = torch.zeros(total + 1, dtype=torch.float32, device=dev)
    if cuda:
        lr_t = torch.tensor(lrs_host[0], dtype=torch.float32, device=dev)
        opt = torch.optim.Adam(model.parameters(), lr=lr_t, fused=True, capturable=True)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lrs_host[0], foreach=True)
    batch_loss = _batch_loss
    if mode == "compile" and cuda:
        batch_loss = _COMPILED.setdefault("batch_loss", torch.compile(_batch_loss, dynamic=False))

    def step() -> None:
        nonlocal batch_loss
        idx = batches.index_select(0, step_t).view(-1)
        u = None
        if augment:
            u = torch.rand(batch_size, device=dev) if cuda else torch.rand(batch_size, generator=gen)
        xb, yb = xs.index_select(0, idx), ys.index_select(0, idx)
        try:
            value = batch_loss(model, xb, yb, u, weight, loss, cuda)
        except Exception as exc:  # torch.compile needs Triton and a C compiler
            if batch_loss is _batch_loss:
                raise
            print(f"torch.compile failed ({type(exc).__name__}: {str(exc)[:200]}); fast='compile' goes on without it")
            batch_loss = _batch_loss
            value = batch_loss(model, xb, yb, u, weight, loss, cuda)
        value.backward()
        if cuda:
            lr_t.copy_(lrs.index_select(0, step_t).view(()))
        else:
            opt.param_groups[0]["lr"] = lrs_host[int(step_t)]
        opt.step()
        losses.index_copy_(0, step_t, value.detach().view(1))
        step_t.add_(1)

    history: dict[str, Any] = {"step_loss": [], "step_seconds": [], "eval": [], "images_seen": 0, "seconds": 0.0,
                               "train_seconds": 0.0, "device": str(dev)}
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    start = seg_start = time.perf_counter()
    bar = tqdm(total=total, desc="training (fast)", disable=not progress, unit="step")
    graph = None
    done = 0

    def close_segment() -> None:
        """Wait for the device; give each step since the last call the stretch's mean duration."""
        sync()
        new = done - len(history["step_seconds"])
        if new:
            history["step_seconds"].extend([(time.perf_counter() - seg_start) / new] * new)

    cur = torch.cuda.current_stream() if cuda else None
    side = torch.cuda.Stream() if cuda else None
    while done < total:
        if graph is None and cuda and done >= warmup_steps and total - done > 1:
            # capture one whole step, after a few ordinary ones that set up Adam's state, the
            # kernels' choice (and compilation) and the allocator's blocks; replay it from now on
            close_segment()
            opt.zero_grad(set_to_none=True)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                step()
            sync()
            seg_start = time.perf_counter()
        if graph is not None:
            graph.replay()
        elif cuda:  # ordinary steps before the capture run on a side stream, as torch.cuda.graphs asks
            side.wait_stream(cur)
            with torch.cuda.stream(side):
                opt.zero_grad(set_to_none=True)
                step()
            cur.wait_stream(side)
        else:
            opt.zero_grad(set_to_none=True)
            step()
        done += 1
        if done % eval_every == 0 or done == total:
            close_segment()
            res = evaluate(model, (vx, vy), k, device=dev)
            model.train()
            history["eval"].append({"step": done, "images": done * batch_size, "seconds": time.perf_counter() - start,
                                    "train_seconds": float(np.sum(history["step_seconds"])), "miou": res["miou"],
                                    "per_class_iou": res["per_class_iou"].tolist()})
            bar.set_postfix(loss=f"{float(losses[done - 1]):.3f}", mIoU=f"{res['miou']:.3f}")
            bar.update(done - bar.n)
            if callback is not None:
                callback(done, model)
            if target_miou is not None and res["miou"] >= target_miou:
                break
            seg_start = time.perf_counter()
    bar.close()
    sync()
    history["step_loss"] = losses[:done].tolist()
    history["images_seen"] = done * batch_size
    history["seconds"] = time.perf_counter() - start
    history["train_seconds"] = float(np.sum(history["step_seconds"]))
    model.eval()
    return history


def _data_for(card_or_name: str, n: int, seed: int, size: int = 64, **knobs) -> sdata.SegData:
    return DATASETS[card_or_name](n, size=size, seed=seed, **knobs)


def heldout_data(card: dict) -> sdata.SegData:
    """Regenerate the held-out test set a model card was scored on."""
    ds = card["dataset"]
    return _data_for(ds["key"], ds["n_test"], ds["test_seed"], ds["size"], **ds.get("knobs", {}))


def train_shipped_model(dataset: str = "roads", n_train: int = 4000, n_val: int = 200, n_test: int = 500,
                        epochs: int = 4, lr: float = 1e-2, batch_size: int = 32, width: int = 16, depth: int = 3,
                        seed: int = 0, device: str = "auto", out: str | os.PathLike | None = None,
                        name: str | None = None, overwrite: bool = False) -> dict:
    """Train a model like the ones the course ships, score it on a held-out set, write
    ``<name>.pt`` + ``<name>.json`` (the card, with the weights' ``sha256``) into ``out``.

    ``out`` defaults to ``./segcourse_models`` in the current working directory -- never the
    installed package. Existing files are not replaced unless ``overwrite=True`` (checked before
    training starts); both files are written atomically. ``name`` must be a plain file name.
    The model's initial weights are seeded with ``seed`` (``torch.manual_seed`` before building).
    Shipping new course weights is an explicit step: copy both files into ``segcourse/weights/``.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
    for arg, v in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test), ("epochs", epochs),
                   ("batch_size", batch_size), ("width", width), ("depth", depth)):
        check_int(v, arg, minimum=1)
    seed = check_seed(seed)
    overwrite = check_bool(overwrite, "overwrite")
    name = check_plain_name(dataset if name is None else name)
    out = Path(DEFAULT_OUT if out is None else out)
    for target in (out / f"{name}.pt", out / f"{name}.json"):
        check_target(target, overwrite)
    torch.manual_seed(seed)
    train = _data_for(dataset, n_train, seed=1000 + seed)
    val = _data_for(dataset, n_val, seed=2000 + seed)
    test = _data_for(dataset, n_test, seed=3000 + seed)
    model = TinyUNet(3, train.num_classes, width=width, depth=depth)
    weights = CLASS_WEIGHTS[dataset]
    hist = fit(model, train, val, epochs=epochs, lr=lr, batch_size=batch_size, device=device, seed=seed,
               class_weights=weights)
    model.cpu()
    res = evaluate(model, test, device="cpu")
    dev = pick_device(device)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    card = {
        "name": name,
        "weights": f"{name}.pt",
        "model": model.config,
        "parameters": count_parameters(model),
        "dataset": {"name": DATASETS[dataset].__name__, "key": dataset, "size": 64, "class_names": list(train.class_names),
                    "n_train": n_train, "train_seed": 1000 + seed, "n_val": n_val, "val_seed": 2000 + seed,
                    "n_test": n_test, "test_seed": 3000 + seed, "knobs": {}},
        "training": {"epochs": epochs, "lr": lr, "batch_size": batch_size, "loss": "ce+dice",
                     "class_weights": None if weights is None else list(weights), "optimizer": "Adam, one-cycle (15% warm-up)",
                     "augment": "horizontal flip", "seed": seed, "images_seen": hist["images_seen"],
                     "wall_seconds": round(hist["seconds"], 1), "device": dev.type,
                     "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
                     "torch": torch.__version__},
        "heldout": {"per_class_iou": dict(zip(train.class_names, np.round(res["per_class_iou"], 4).tolist())),
                    "miou": round(res["miou"], 4)},
        "sha256": hashlib.sha256(buf.getvalue()).hexdigest(),
    }
    atomic_write(out / f"{name}.pt", lambda tmp: Path(tmp).write_bytes(buf.getvalue()), overwrite=overwrite)
    atomic_write(out / f"{name}.json", lambda tmp: Path(tmp).write_text(json.dumps(card, indent=2) + "\n"),
                 overwrite=overwrite)
    return card


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m segcourse.train", description="Train a TinyUNet the course ships.")
    p.add_argument("--dataset", choices=sorted(DATASETS), default="roads")
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"folder for <name>.pt and <name>.json (default: ./{DEFAULT_OUT} in the working directory)")
    p.add_argument("--name", default=None, help="file name stem (default: the dataset name)")
    p.add_argument("--overwrite", action="store_true", help="replace existing <name>.pt / <name>.json")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        card = train_shipped_model(a.dataset, n_train=a.n_train, epochs=a.epochs, lr=a.lr, batch_size=a.batch_size,
                                   width=a.width, seed=a.seed, device=a.device, out=a.out, name=a.name,
                                   overwrite=a.overwrite)
    except (FileExistsError, IsADirectoryError, ValueError, TypeError) as exc:
        p.error(str(exc))
    print(json.dumps(card, indent=2))
    print(f"wrote {a.out / (card['name'] + '.pt')} and {a.out / (card['name'] + '.json')}; to ship them with the "
          f"course, copy both into segcourse/weights/")


if __name__ == "__main__":
    main()
