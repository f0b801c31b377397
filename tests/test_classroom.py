"""A teacher grades a whole class with nbgrader: the real round trip, asserted on the gradebook.

For every lesson with a ``solutions/NN_name.ipynb`` (discovered, so a new lesson is graded here
without touching this file) the test runs the README's teacher block literally (``bash`` for the
set-up lines, with ``$HOME`` a temporary folder and ``~/segcourse`` a link to this checkout), and
each ``nbgrader`` line through nbgrader's Python API (same apps, same config, no process start-up):

    generate_assignment -> release_assignment -> learners fetch, answer, submit -> collect
    -> autograde -> generate_feedback -> release_feedback -> export

The only setting changed from the README's ``nbgrader_config.py`` is where the exchange and its
cache live (a temporary folder instead of ``/srv/nbgrader/exchange``).

The class, one learner per kind of submission:

===========  ==============================================  ===========================
learner      submits                                         automatic points expected
===========  ==============================================  ===========================
``ada``      the solutions                                   all (lesson 00 only, below)
``ben``      the release, untouched                          none
``cyd``      correct answers that print warnings on stderr   all (lesson 00 only, below)
``dee``      typical wrong answers (set 1), the other        all but the cells listed
             answers correct but printing warnings
``fay``      typical wrong answers (set 2) and nothing       none but the cells of her
             else: every other exercise left as released     answers that are not listed
``eve``      the release + a stale ``reports/portfolio.html``  none
===========  ==============================================  ===========================

``ada``, ``ben`` and ``cyd`` take part in the README's example lesson only, since autograde runs
every cell of every submission and some lessons train in their checks. In the other lessons ``ada``
would re-run exactly what the strict nbval of ``solutions/`` runs (the solution notebook, no hidden
tests): there the solution's full marks are shown by that run, and asserted here from its committed
outputs (no grade cell raised, none may raise), while ``dee`` shows the other answers' points under
nbgrader. ``ben``'s untouched release is also what ``fay`` leaves of every exercise she skips, so
every lesson's release runs under autograde: its errors must lie in the stubs and the checks of
stubs, nowhere else (what a lax nbval of ``exercises/`` would check). ``eve`` (the untouched release
plus the stale report) takes part in lesson 00 and in the portfolio lesson 05, whose exercise
writes that report; ``fay`` carries the stale report in every lesson. ``fay`` hands in part of the
work, as a learner short of time does: her exercises' checks must fail on her mistakes and only
there, and the exercises she left (the training ones among them) cost the suite almost nothing.
So lesson 05 is graded three times and the other lessons twice instead of six, one of them short
(the suite's 5-minute budget).

Free-text (markdown) answers are marked for manual grading. ``release/`` holds the notebook only:
no solution code, no output, no side file (a report left in ``source/`` by running the solution
is ignored). ``generate_feedback`` writes one page per learner; ``export`` writes every score.
Each lesson is its own course directory and its own test, so ``pytest -n 2`` runs them side by
side. Run time: printed by ``pytest -s tests/test_classroom.py`` (one line per lesson).
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

nbgrader_api = pytest.importorskip("nbgrader.api", reason="nbgrader is a dev dependency: pip install -e '.[dev]'")
from nbgrader.apps import NbGraderAPI  # noqa: E402
from nbgrader.plugins import CsvExportPlugin  # noqa: E402
from nbgrader.utils import temp_attrs  # noqa: E402
from traitlets.config import Config  # noqa: E402
from traitlets.config.loader import PyFileConfigLoader  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import points  # noqa: E402
from course import cells_allowed_to_raise  # noqa: E402

README = ROOT / "README.md"
MARKER = "<!-- teacher-commands: tests/test_classroom.py runs this block -->"
EXAMPLE = "00_masks_and_iou"  # the assignment the README's commands name; the test runs them for each lesson
LESSONS = sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
LEARNERS = ("ada", "ben", "cyd", "dee", "eve", "fay")


PORTFOLIO = "05_segmentation_practice"  # the lesson whose exercise writes reports/portfolio.html


def learners_of(lesson: str) -> tuple[str, ...]:
    """The class that submits ``lesson``: everyone for the README's example; ``eve`` (the untouched
    release with a stale report) also for the portfolio lesson; ``dee`` and ``fay`` elsewhere."""
    if lesson == EXAMPLE:
        return LEARNERS
    absent = ("ada", "ben", "cyd") if lesson == PORTFOLIO else ("ada", "ben", "cyd", "eve")
    return tuple(x for x in LEARNERS if x not in absent)

# --------------------------------------------------------------------------------- wrong answers
# Typical mistakes, keyed by the grade_id of the solution cell they replace: (learner, answer,
# grade cells that must lose their points). A solution cell without an entry keeps the solution's
# answer, so each wrong learner also shows which cells are NOT affected by a mistake elsewhere.
WRONG: dict[str, list[tuple[str, str, set[str]]]] = {
    # lesson 00
    "dice_per_image": [
        ("dee", """
            def dice_per_image(pred, target):  # the lesson's IoU, per image: not Dice
                p, t = np.asarray(pred) != 0, np.asarray(target) != 0
                inter = np.count_nonzero(p & t, axis=(1, 2))
                union = np.count_nonzero(p | t, axis=(1, 2))
                return np.array([i / u if u else np.nan for i, u in zip(inter, union)])
            """, {"check_dice_per_image"}),
        ("fay", """
            def dice_per_image(pred, target):  # one Dice for the whole batch, pooled
                p, t = np.asarray(pred) != 0, np.asarray(target) != 0
                total = p.sum() + t.sum()
                return 2 * np.sum(p & t) / total if total else float("nan")
            """, {"check_dice_per_image"}),
    ],
    "iou_at_threshold": [
        ("dee", """
            def iou_at_threshold(logits, target, threshold):  # thresholds the logits, no sigmoid
                p, t = np.asarray(logits) > threshold, np.asarray(target) != 0
                union = np.count_nonzero(p | t)
                return np.count_nonzero(p & t) / union if union else float("nan")
            """, {"check_iou_at_threshold"}),
    ],
    "confusion_from_scores": [
        ("dee", """
            def confusion_from_scores(scores, target):  # argmax over the last axis, not the class axis
                k = np.shape(scores)[1]
                pred = np.argmax(scores, axis=-1).astype(np.int64).ravel()
                index = k * np.asarray(target).astype(np.int64).ravel() + pred
                return np.bincount(index, minlength=k * k).reshape(k, k)
            """, {"check_confusion_from_scores"}),
        ("fay", """
            def confusion_from_scores(scores, target):  # right numbers, but a Python loop over every pixel
                k = np.shape(scores)[1]
                cm = np.zeros((k, k), dtype=np.int64)
                for t, p in zip(np.asarray(target).astype(np.int64).ravel(), np.argmax(scores, axis=1).ravel()):
                    cm[t, p] += 1
                return cm
            """, {"check_confusion_from_scores"}),  # (uint8 overflow in k * t + p: tests/test_checks.py)
    ],
    "image_mean_iou": [
        ("dee", """
            def image_mean_iou(pred, target, num_classes):  # keeps only the target's classes: drops invented ones
                scores = []
                for p, t in zip(np.asarray(pred), np.asarray(target)):
                    ious = [np.sum((p == c) & (t == c)) / np.sum((p == c) | (t == c)) for c in np.unique(t)]
                    scores.append(np.mean(ious))
                return float(np.mean(scores))
            """, {"check_image_mean_iou"}),
        ("fay", """
            from segcourse import metrics

            def image_mean_iou(pred, target, num_classes):  # right numbers, but segcourse's mean_iou does the work
                return float(np.mean([metrics.mean_iou(p, t, num_classes) for p, t in zip(pred, target)]))
            """, {"check_image_mean_iou"}),  # (pooling all pixels: tests/test_checks.py)
    ],
    "boundary_iou": [
        ("dee", """
            from scipy import ndimage

            def boundary_iou(pred, target, dilation_ratio):  # the outer bands: dilation minus mask
                d = max(1, round(dilation_ratio * np.hypot(*np.shape(target))))
                bands = [ndimage.binary_dilation(m, np.ones((3, 3), bool), iterations=d) & ~m
                         for m in (np.asarray(pred) != 0, np.asarray(target) != 0)]
                union = np.count_nonzero(bands[0] | bands[1])
                return np.count_nonzero(bands[0] & bands[1]) / union if union else float("nan")
            """, {"check_boundary_iou"}),
    ],
    "paint": [  # (dee keeps the paint point: every other automatic cell of dee's is wrong, and a wrong
        #          learner must keep a partial score; the IoU 0.75 painting is in tests/test_checks.py)
        ("fay", """
            painted = editor.mask  # painted with the mouse: gone when grading re-runs the notebook
            """, {"check_paint"}),
    ],
    "overlay_note": [
        ("dee", """
            def overlay(image, mask, colour, alpha):  # right blend, but painted into the image it was given
                inside = np.asarray(mask) != 0
                image[inside] = (1 - alpha) * image[inside] + alpha * np.asarray(colour) / 255
                return image

            faulty = np.roll(stain_truth, 2, axis=1)
            note = f"shifted 2 px right: {(faulty != stain_truth).sum()} pixels wrong"
            """, {"check_overlay_note"}),  # (a blend over the whole image: tests/test_checks_lesson00_hints.py)
        ("fay", """
            def overlay(image, mask, colour, alpha):
                image = np.asarray(image, dtype=float)
                paint = np.asarray(colour, dtype=float) / 255
                return np.where(np.asarray(mask)[..., None] != 0, (1 - alpha) * image + alpha * paint, image)

            faulty = np.roll(stain_truth, 2, axis=1)
            note = "left part of the overlay removed: 172 pixels"  # names another fault ('over', 'moved' inside)
            """, {"check_overlay_note"}),
    ],
    "boundary_flag": [  # the boundary IoUs come from the learner's exercise 7; only the answer is graded
        ("dee", """
            flagged = ("A", "it has the lower mask IoU")
            """, {"check_boundary_flag"}),
        ("fay", """
            flagged = ("B", "its boundary IoU is lower")  # the right prediction, but a circular reason
            """, {"check_boundary_flag"}),
    ],
    # lesson 01
    "median_frequency_weights": [  # (dee keeps this point: a wrong learner must keep a partial score;
        #                             inverse frequency and the median over all classes: tests/test_checks.py)
        ("fay", """
            def median_frequency_weights(label_maps, num_classes, ignore_index=255):  # 255 kept in the denominator
                lm = np.asarray(label_maps).ravel()
                counts = np.bincount(lm[lm != ignore_index].astype(np.int64), minlength=num_classes)
                freq = counts / lm.size                     # the weights alone would not show it: median(f) / f
                present = freq > 0
                weights = np.zeros(num_classes)
                weights[present] = np.median(freq[present]) / freq[present]
                return freq, weights

            roads = data.road_scenes(200, seed=5)
            """, {"check_median_frequency_weights"}),
    ],
    "weighted_cross_entropy": [
        ("dee", """
            def weighted_cross_entropy(logits, target, class_weights, ignore_index=255):  # divides by the pixel count
                z = np.asarray(logits, float)
                z = z - z.max(1, keepdims=True)
                logp = z - np.log(np.exp(z).sum(1, keepdims=True))
                keep = np.asarray(target) != ignore_index
                t = np.where(keep, target, 0)
                nll = -np.take_along_axis(logp, t[:, None], 1)[:, 0]
                return float((np.asarray(class_weights)[t] * nll)[keep].sum() / keep.sum())
            """, {"check_weighted_cross_entropy"}),
        ("fay", """
            import torch

            def weighted_cross_entropy(logits, target, class_weights, ignore_index=255):  # torch's, not numpy
                loss = torch.nn.CrossEntropyLoss(weight=torch.as_tensor(np.asarray(class_weights, float)),
                                                 ignore_index=ignore_index)
                return float(loss(torch.as_tensor(np.asarray(logits, float)), torch.as_tensor(np.asarray(target)).long()))
            """, {"check_weighted_cross_entropy"}),  # (ignored pixels in the denominator: tests/test_checks.py)
    ],
    "crop_resize_pair": [
        ("dee", """
            def crop_resize_pair(image, label_map, box):  # both cropped, but the mask interpolated like the image
                top, left, height, width = box
                big_h, big_w = np.shape(label_map)
                pair = []
                for x in (np.asarray(image, dtype=float), np.asarray(label_map, dtype=float)[..., None]):
                    crop = x[top:top + height, left:left + width]
                    y = np.clip((np.arange(big_h) + 0.5) * height / big_h - 0.5, 0, height - 1)
                    c = np.clip((np.arange(big_w) + 0.5) * width / big_w - 0.5, 0, width - 1)
                    y0, c0 = np.floor(y).astype(int), np.floor(c).astype(int)
                    y1, c1 = np.minimum(y0 + 1, height - 1), np.minimum(c0 + 1, width - 1)
                    dy, dc = (y - y0)[:, None, None], (c - c0)[None, :, None]
                    pair.append(crop[y0][:, c0] * (1 - dy) * (1 - dc) + crop[y0][:, c1] * (1 - dy) * dc
                                + crop[y1][:, c0] * dy * (1 - dc) + crop[y1][:, c1] * dy * dc)
                return pair[0], np.round(pair[1][..., 0]).astype(int)
            """, {"check_crop_resize_pair"}),
    ],
    "block_mean_camera": [
        ("dee", """
            def block_mean_camera(images, factor=2):  # subsampled: one pixel of each block, nothing averaged
                x = np.asarray(images, dtype=float)
                return x[:, ::factor, ::factor].repeat(factor, axis=1).repeat(factor, axis=2)
            """, {"check_block_mean_camera"}),
        ("fay", """
            from skimage.transform import downscale_local_mean

            def block_mean_camera(images, factor=2):  # scikit-image's block mean, not the learner's
                small = downscale_local_mean(np.asarray(images, dtype=float), (1, factor, factor, 1))
                return small.repeat(factor, axis=1).repeat(factor, axis=2)
            """, {"check_block_mean_camera"}),
    ],
    "effect_summary": [
        ("fay", """
            import itertools

            def effect_summary(before, after, tolerance=0.01):  # an exact permutation p, but unpaired
                seeds = [s for s in before if s in after]
                b, a = np.array([before[s] for s in seeds]), np.array([after[s] for s in seeds])
                d, pooled, n = a - b, np.concatenate([a, b]), len(seeds)
                hits = [abs(pooled[list(g)].mean() - np.delete(pooled, list(g)).mean()) >= abs(d.mean()) - 1e-12
                        for g in itertools.combinations(range(2 * n), n)]
                improved = int((d > tolerance).sum())
                return float(d.mean()), float(np.median(d)), improved, improved == n, float(np.mean(hits))
            """, {"check_effect_summary"}),
    ],
    # lesson 02 (inside the network)
    "exact_upsampling": [
        ("dee", """
            def exact_upsampling(kernel, stride, dilation=1):  # measured with torch's layer, not solved
                for padding in range(dilation * (kernel - 1) // 2 + 2):
                    for output_padding in range(max(stride, dilation)):
                        layer = nn.ConvTranspose2d(1, 1, kernel, stride, padding, output_padding, dilation=dilation)
                        if layer(torch.zeros(1, 1, 9, 9)).shape[-1] == 9 * stride:
                            return padding, output_padding
                return None
            """, {"check_exact_upsampling"}),
        ("fay", """
            def exact_upsampling(kernel, stride, dilation=1):  # output_padding limited by stride only, not max(stride, dilation)
                excess = dilation * (kernel - 1) + 1 - stride
                padding = max(0, -(-excess // 2))
                output_padding = 2 * padding - excess
                return None if output_padding >= stride else (padding, output_padding)
            """, {"check_exact_upsampling"}),
    ],
    "dilation_to_see": [
        ("dee", """
            def dilation_to_see(layers, size, kernel=3):  # the lesson's (kernel, stride) cell, pasted
                r, jump = 1, 1
                for k, s in layers:
                    r += (k - 1) * jump
                    jump *= s
                return max(1, -(-(size - r) // ((kernel - 1) * jump)))
            """, {"check_dilation_to_see"}),
        ("fay", """
            def dilation_to_see(layers, size, kernel=3):  # the new layer's taps taken 1 input pixel apart
                r, jump = 1, 1
                for k, s, d in layers:
                    r += d * (k - 1) * jump
                    jump *= s
                return max(1, -(-(size - r) // (kernel - 1)))
            """, {"check_dilation_to_see"}),
    ],
    "soft_dice": [
        ("dee", """
            def soft_dice(logits, target, eps=1.0, ignore_index=255):  # ignored pixels' probabilities still summed
                k = logits.shape[1]
                scored = (target != ignore_index).unsqueeze(1).float()
                one_hot = F.one_hot(target.masked_fill(target == ignore_index, 0), k).permute(0, 3, 1, 2).float() * scored
                prob = logits.softmax(1)
                inter = (prob * one_hot).sum((0, 2, 3))
                total = prob.sum((0, 2, 3)) + one_hot.sum((0, 2, 3))
                present = one_hot.sum((0, 2, 3)) > 0
                return 1 - ((2 * inter + eps) / (total + eps))[present].mean()
            """, {"check_soft_dice"}),
        ("fay", """
            def soft_dice(logits, target, eps=1.0, ignore_index=255):  # `present` from the one-hot before masking
                k = logits.shape[1]
                scored = (target != ignore_index).unsqueeze(1).float()
                raw = F.one_hot(target.masked_fill(target == ignore_index, 0), k).permute(0, 3, 1, 2).float()
                one_hot = raw * scored
                prob = logits.softmax(1) * scored
                inter = (prob * one_hot).sum((0, 2, 3))
                total = prob.sum((0, 2, 3)) + one_hot.sum((0, 2, 3))
                present = raw.sum((0, 2, 3)) > 0
                return 1 - ((2 * inter + eps) / (total + eps))[present].mean()
            """, {"check_soft_dice"}),
    ],
    "unet": [
        ("dee", """
            def block(c_in, c_out):  # adds each skip (as the lesson's HandUNet) instead of concatenating it
                return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                                     nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())

            class MyUNet(nn.Module):
                def __init__(self, in_channels=3, num_classes=5, width=8):
                    super().__init__()
                    c0, c1, c2 = width, 2 * width, 4 * width
                    self.enc0, self.enc1, self.enc2 = block(in_channels, c0), block(c0, c1), block(c1, c2)
                    self.pool = nn.MaxPool2d(2)
                    self.up1, self.dec1 = nn.ConvTranspose2d(c2, c1, 2, stride=2), block(c1, c1)
                    self.up0, self.dec0 = nn.ConvTranspose2d(c1, c0, 2, stride=2), block(c0, c0)
                    self.head = nn.Conv2d(c0, num_classes, 1)

                def forward(self, x):
                    e0 = self.enc0(x)
                    e1 = self.enc1(self.pool(e0))
                    x = self.enc2(self.pool(e1))
                    x = self.dec1(self.up1(x) + e1)
                    return self.head(self.dec0(self.up0(x) + e0))
            """, {"check_unet"}),
        ("fay", """
            def block(c_in, c_out):
                return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                                     nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())

            class MyUNet(nn.Module):
                def __init__(self, in_channels=3, num_classes=5, width=8):
                    super().__init__()
                    c0, c1, c2 = width, 2 * width, 4 * width
                    self.encoder = [block(in_channels, c0), block(c0, c1), block(c1, c2)]  # plain list: not registered
                    self.pool = nn.MaxPool2d(2)
                    self.up1, self.dec1 = nn.ConvTranspose2d(c2, c1, 2, stride=2), block(2 * c1, c1)
                    self.up0, self.dec0 = nn.ConvTranspose2d(c1, c0, 2, stride=2), block(2 * c0, c0)
                    self.head = nn.Conv2d(c0, num_classes, 1)

                def forward(self, x):
                    e0 = self.encoder[0](x)
                    e1 = self.encoder[1](self.pool(e0))
                    x = self.encoder[2](self.pool(e1))
                    x = self.dec1(torch.cat([self.up1(x), e1], 1))
                    return self.head(self.dec0(torch.cat([self.up0(x), e0], 1)))
            """, {"check_unet"}),
    ],
    "pooled_lane_iou": [
        ("fay", """
            ref = data.road_scenes(200, seed=4242)
            lane = ref.labels == 3  # the class ids max-pooled, then tested for 3: a car (4) hides its lane
            up = (ref.labels.reshape(200, 8, 8, 8, 8).max((2, 4)) == 3).repeat(8, 1).repeat(8, 2)
            pooled_lane_iou = (up & lane).sum() / (up | lane).sum()
            """, {"check_pooled_lane_iou"}),
    ],
    "matching_weight": [
        ("dee", """
            counts = np.bincount(scored, minlength=5)  # the median-frequency weight (step 3), not the matching one
            lane_weight = float(np.median(counts) / counts[3])
            """, {"check_matching_weight"}),
    ],
    "unsure_on_boundary": [
        ("fay", """
            def unsure_on_boundary(confidence, labels, level=0.99):  # np.roll as in the lesson: the edges wrap
                edge = np.zeros(labels.shape, bool)
                edge[..., :, 1:] |= labels[..., :, 1:] != labels[..., :, :-1]
                edge[..., 1:, :] |= labels[..., 1:, :] != labels[..., :-1, :]
                edge = edge | np.roll(edge, -1, -2) | np.roll(edge, -1, -1)
                unsure = confidence < level
                return int(unsure.sum()), int((unsure & edge).sum())
            """, {"check_unsure_on_boundary"}),
    ],
    "weighted_bn_statistics": [
        ("dee", """
            import copy


            def weighted_bn_statistics(model, batches):  # the lesson's momentum=None: every batch counts the same
                model = copy.deepcopy(model)
                for layer in model.modules():
                    if isinstance(layer, nn.BatchNorm2d):
                        layer.reset_running_stats()
                        layer.momentum = None
                model.train()
                with torch.no_grad():
                    for batch in batches:
                        model(batch)
                return model.eval()
            """, {"check_weighted_bn_statistics"}),
    ],
    # lesson 03 (instance segmentation)
    "count_cells": [
        ("fay", """
            def count_cells(mask, min_size):  # 4-connectivity: the lesson's default, not the 8 asked for
                labels, _ = ndimage.label(np.asarray(mask))
                return int(np.sum(np.bincount(labels.ravel())[1:] >= min_size))

            demo = data.touching_cells(50, seed=4, overlap=0.1, isolated=0.5)
            """, {"check_count_cells"}),
    ],
    "panoptic_quality": [
        ("dee", """
            def panoptic_quality(pred, gt):  # IoU >= 0.5 counted as a match (PQ needs > 0.5)
                pred, gt = np.asarray(pred), np.asarray(gt)
                p_ids = [i for i in np.unique(pred) if i > 0]
                g_ids = [i for i in np.unique(gt) if i > 0]
                total, tp = 0.0, 0
                for p in p_ids:
                    for g in g_ids:
                        inter = np.count_nonzero((pred == p) & (gt == g))
                        iou = inter / np.count_nonzero((pred == p) | (gt == g))
                        if iou >= 0.5:
                            total, tp = total + iou, tp + 1
                denom = tp + 0.5 * (len(p_ids) - tp) + 0.5 * (len(g_ids) - tp)
                return total / denom if denom else float("nan")
            """, {"check_panoptic_quality"}),
        ("fay", """
            def panoptic_quality(pred, gt):  # SQ x RQ with SQ = sum / TP: 0 / 0 when one side is empty
                pred, gt = np.asarray(pred), np.asarray(gt)
                p_ids = [i for i in np.unique(pred) if i > 0]
                g_ids = [i for i in np.unique(gt) if i > 0]
                if not p_ids and not g_ids:
                    return float("nan")
                total, tp = 0.0, 0
                for p in p_ids:
                    for g in g_ids:
                        iou = np.count_nonzero((pred == p) & (gt == g)) / np.count_nonzero((pred == p) | (gt == g))
                        if iou > 0.5:
                            total, tp = total + iou, tp + 1
                sq = total / tp
                return sq * tp / (tp + 0.5 * (len(p_ids) - tp) + 0.5 * (len(g_ids) - tp))
            """, {"check_panoptic_quality"}),
    ],
    "split_cells": [
        ("dee", """
            def split_cells(mask, min_distance):  # smooths the distance map, but keeps the pinholes in the mask
                mask = np.asarray(mask).astype(bool)
                dist = ndimage.gaussian_filter(ndimage.distance_transform_edt(mask), 3)
                peaks = peak_local_max(dist, min_distance=min_distance, labels=ndimage.label(mask)[0], exclude_border=False)
                markers = np.zeros(mask.shape, np.int32)
                markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
                return watershed(-dist, markers, mask=mask)

            sweep = {2: 0.041, 12: 0.398}   # dee skips the sweep cell: 12 is the best of her sweep (the check reruns it)
            """, {"check_split_cells"}),
        ("fay", """
            def watershed_by_hand(m, min_distance):  # the lesson's cell pasted: no step against the pinholes
                d = ndimage.distance_transform_edt(m)
                comp = ndimage.label(m)[0]
                pk = peak_local_max(d, min_distance=min_distance, labels=comp, exclude_border=False)
                mk = np.zeros(m.shape, np.int32)
                mk[tuple(pk.T)] = np.arange(1, len(pk) + 1)
                return watershed(-d, mk, mask=m)

            split_cells = watershed_by_hand

            print(f"{'min_distance':>12} | objects | pooled PQ")
            sweep = {}
            for md in (2, 4, 6, 8, 12):
                found = [split_cells(m, md) for m in noisy]
                sweep[md] = instances.dataset_panoptic_quality(found, tuning.instances)["pq"]
                print(f"{md:>12} | {sum(len(np.unique(f)) - 1 for f in found):7d} | {sweep[md]:.3f}")
            """, {"check_split_cells"}),   # with the solution's MIN_DISTANCE = max(sweep, key=sweep.get): 12
    ],
    "signed_distance": [
        ("dee", """
            def signed_distance(inst, scale):  # distance to the background of the merged mask: no dip between cells
                inst = np.asarray(inst)
                d = ndimage.distance_transform_edt(inst > 0) - ndimage.distance_transform_edt(inst == 0)
                return np.tanh(d / scale)

            example = data.touching_cells(1, seed=3, overlap=0.1).instances[0]
            """, {"check_signed_distance", "check_distance_training"}),  # her train_loop trains on it: review
        # 03s13 P2, the merged mask's signed distance passed the PQ bar (0.88); the check now compares the targets. fay keeps it right (a partial score); her other wrong answers
        # (no minus, no tanh, no scale, no padding, border pixels at 0): tests/test_checks_lesson03_signed.py
    ],
    "coco_ap": [
        ("dee", """
            def coco_ap(pred_maps, confidences, truth_maps, t):  # one AP per image, averaged: no pooled ranking
                aps = []
                for pred, conf, truth in zip(pred_maps, confidences, truth_maps):
                    cells = [g for g in np.unique(truth) if g > 0]
                    taken, scores, hits = set(), [], []
                    for p in sorted((p for p in np.unique(pred) if p > 0), key=lambda p: -conf[p]):
                        ious = {g: np.count_nonzero((pred == p) & (truth == g)) / np.count_nonzero((pred == p) | (truth == g))
                                for g in cells if g not in taken}
                        best = max(ious, key=ious.get, default=None)
                        hit = best is not None and ious[best] >= t
                        taken |= {best} if hit else set()
                        scores.append(conf[p])
                        hits.append(hit)
                    if not cells:
                        continue
                    ranked = np.asarray(hits, float)[np.argsort(-np.asarray(scores, float), kind="stable")]
                    found = np.cumsum(ranked)
                    best_after = np.maximum.accumulate((found / np.arange(1, len(ranked) + 1))[::-1])[::-1] if len(ranked) else ranked
                    first = np.searchsorted(found / len(cells), np.linspace(0, 1, 101), side="left")
                    aps.append(float(np.where(first < len(ranked), best_after[np.minimum(first, len(ranked) - 1)] if len(ranked) else 0.0, 0.0).mean()))
                return float(np.mean(aps))
            """, {"check_coco_ap"}),
        ("fay", """
            def coco_ap(pred_maps, confidences, truth_maps, t):  # a cell may be the hit of two objects (no "taken")
                scores, hits, n_true = [], [], 0
                for pred, conf, truth in zip(pred_maps, confidences, truth_maps):
                    cells = [g for g in np.unique(truth) if g > 0]
                    n_true += len(cells)
                    for p in (p for p in np.unique(pred) if p > 0):
                        ious = [np.count_nonzero((pred == p) & (truth == g)) / np.count_nonzero((pred == p) | (truth == g)) for g in cells]
                        scores.append(conf[p])
                        hits.append(max(ious, default=0.0) >= t)
                ranked = np.asarray(hits, float)[np.argsort(-np.asarray(scores, float), kind="stable")]
                found = np.cumsum(ranked)
                best_after = np.maximum.accumulate((found / np.arange(1, len(ranked) + 1))[::-1])[::-1]
                first = np.searchsorted(found / n_true, np.linspace(0, 1, 101), side="left")
                return float(np.where(first < len(ranked), best_after[np.minimum(first, len(ranked) - 1)], 0.0).mean())
            """, {"check_coco_ap"}),
    ],
    # exercise 7: two rules that passed before review 03s12 (P1). A wrong missed_kinds fails the check before it
    # reads EVIDENCE, so the wrong EVIDENCE answers (the card's numbers copied, 8-connected seeds) are tested in
    # tests/test_checks_lesson03_failure.py only
    "missed_kinds": [
        ("dee", """
            def missed_kinds(objects, truth):  # a merge holds over half of each cell, not a tenth
                objects, truth = np.asarray(objects), np.asarray(truth)
                p_ids = [int(p) for p in np.unique(objects) if p > 0]
                g_ids = [int(g) for g in np.unique(truth) if g > 0]
                iou = {(p, g): np.count_nonzero((objects == p) & (truth == g)) / np.count_nonzero((objects == p) | (truth == g))
                       for p in p_ids for g in g_ids}
                matched_p = {p for (p, g), v in iou.items() if v > 0.5}
                matched_g = {g for (p, g), v in iou.items() if v > 0.5}
                in_merge = set()
                for p in set(p_ids) - matched_p:
                    covered = [g for g in g_ids if np.count_nonzero((objects == p) & (truth == g)) > 0.5 * np.count_nonzero(truth == g)]
                    if len(covered) >= 2:
                        in_merge |= set(covered)
                kinds = {}
                for g in set(g_ids) - matched_g:
                    on_cell = objects[truth == g]
                    if g in in_merge:
                        kinds[g] = "inside a merge"
                    elif any(p in matched_p and np.mean(on_cell == p) >= 0.5 for p in np.unique(on_cell)):
                        kinds[g] = "covered by a match"
                    else:
                        kinds[g] = "other"
                return kinds
            """, {"check_failure_explained"}),
        ("fay", """
            def missed_kinds(objects, truth):  # "covered by a match" asks for over half of the cell, not at least half
                objects, truth = np.asarray(objects), np.asarray(truth)
                p_ids = [int(p) for p in np.unique(objects) if p > 0]
                g_ids = [int(g) for g in np.unique(truth) if g > 0]
                iou = {(p, g): np.count_nonzero((objects == p) & (truth == g)) / np.count_nonzero((objects == p) | (truth == g))
                       for p in p_ids for g in g_ids}
                matched_p = {p for (p, g), v in iou.items() if v > 0.5}
                matched_g = {g for (p, g), v in iou.items() if v > 0.5}
                in_merge = set()
                for p in set(p_ids) - matched_p:
                    covered = [g for g in g_ids if np.count_nonzero((objects == p) & (truth == g)) >= 0.1 * np.count_nonzero(truth == g)]
                    if len(covered) >= 2:
                        in_merge |= set(covered)
                kinds = {}
                for g in set(g_ids) - matched_g:
                    on_cell = objects[truth == g]
                    if g in in_merge:
                        kinds[g] = "inside a merge"
                    elif any(p in matched_p and np.mean(on_cell == p) > 0.5 for p in np.unique(on_cell)):
                        kinds[g] = "covered by a match"
                    else:
                        kinds[g] = "other"
                return kinds
            """, {"check_failure_explained"}),
    ],
    # lesson 04 (real images): each learner must keep one cell right, so the library call for normalize, the
    # first-free AP matching, the objects cut by the border (rescale_factor), a learning rate of 0.1, crops at full
    # size, crops of the test half, a copy over the budget and a target without the boundary class (fine_tune), and
    # the other wrong answers of min_gap, choose_min_distance and failure_note (wrong buckets and counts; and the
    # wrong counts of the given shared_nuclei's check) are tested in tests/test_checks_real.py only
    "normalize": [
        ("dee", """
            def normalize(image, low=1.0, high=99.8):  # min-max: one hot pixel squashes the rest
                img = np.asarray(image, dtype=np.float32)
                return (img - img.min()) / (img.max() - img.min())
            """, {"check_percentile_normalize"}),
    ],
    "ap_at": [
        ("fay", """
            def ap_at(pred, scores, gt, threshold=0.5):  # divides by the hits: missed objects cost nothing
                ious, pred_ids, gt_ids = instances.iou_matrix(pred, gt)
                if len(gt_ids) == 0:
                    return float("nan")
                order = np.argsort([-scores[int(i)] for i in pred_ids], kind="stable")
                taken = np.zeros(len(gt_ids), bool)
                hits, total = 0, 0.0
                for rank, i in enumerate(order, start=1):
                    free = np.where(~taken & (ious[i] >= threshold), ious[i], -1.0)
                    if len(free) and free.max() >= 0:
                        taken[np.argmax(free)] = True
                        hits += 1
                        total += hits / rank
                return total / hits if hits else 0.0
            """, {"check_ap_at"}),
    ],
    "rescale_factor": [
        ("dee", """
            def rescale_factor(labels, model_diameter):  # the mean: one large object pulls it up
                areas = np.bincount(np.asarray(labels).ravel())[1:]
                areas = areas[areas > 0]
                return float(model_diameter / np.mean(2 * np.sqrt(areas / np.pi))) if len(areas) else float("nan")
            """, {"check_rescale_factor"}),
        ("fay", """
            def rescale_factor(labels, model_diameter):  # the median area turned into one diameter
                labels = np.asarray(labels)
                areas = np.bincount(labels.ravel())
                areas[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = 0
                areas = areas[1:][areas[1:] > 0]
                return float(model_diameter / (2 * np.sqrt(np.median(areas) / np.pi))) if len(areas) else float("nan")
            """, {"check_rescale_factor"}),
    ],
    "fine_tune": [
        ("dee", """
            from skimage.transform import rescale, resize

            from segcourse import models, train

            TINT = np.array([0.55, 1.0, 0.6], np.float32)

            def crops(img, lab, n, size=64):
                small = rescale(img, 0.5, order=1, anti_aliasing=True).astype(np.float32)
                target = instances.boundary_class_map(resize(lab, small.shape, order=0, preserve_range=True,
                                                             anti_aliasing=False).astype(np.int32))
                rng = np.random.default_rng(0)
                ys, xs = rng.integers(0, small.shape[0] - size + 1, n), rng.integers(0, small.shape[1] - size + 1, n)
                imgs = np.stack([small[y:y + size, x:x + size] for y, x in zip(ys, xs)])[..., None] * TINT
                return imgs, np.stack([target[y:y + size, x:x + size] for y, x in zip(ys, xs)]).astype(np.uint8)

            # trains a copy in the notebook, where the check does not count, then loads its weights (any number of
            # steps: four keep the class's run short)
            EXTRA = models.pretrained("cells")
            imgs, tgts = crops(data.normalize_percentile(image, 1, 99.8)[:, :256], truth[:, :256], 64)
            train.fit(EXTRA, (imgs, tgts), (imgs[:8], tgts[:8]), epochs=1, lr=3e-3, batch_size=16, max_steps=4,
                      device="cpu", seed=0, progress=False, eval_every=10**6)

            def fine_tune(model, image, labels):
                model.load_state_dict(EXTRA.state_dict())
                imgs, tgts = crops(image, labels, 2)   # and one counted step, so that it looks trained
                train.fit(model, (imgs, tgts), (imgs, tgts), epochs=1, lr=3e-3, batch_size=2, max_steps=1,
                          device="cpu", seed=0, progress=False, eval_every=10**6)
                return model
            """, {"check_budget_fine_tune"}),
        ("fay", """
            from skimage.transform import rescale, resize

            from segcourse import models, train
            from segcourse.data import nuclei_image as load_all

            TINT = np.array([0.55, 1.0, 0.6], np.float32)

            def fine_tune(model, image, labels):  # loads the whole image (under another name), trains on its right half
                raw, whole = load_all()
                image, labels = data.normalize_percentile(raw, 1, 99.8)[:, 256:], whole[:, 256:]
                small = rescale(image, 0.5, order=1, anti_aliasing=True).astype(np.float32)
                small_labels = resize(labels, small.shape, order=0, preserve_range=True, anti_aliasing=False).astype(np.int32)
                target = instances.boundary_class_map(small_labels)
                rng = np.random.default_rng(0)
                ys, xs = rng.integers(0, small.shape[0] - 63, 320), rng.integers(0, small.shape[1] - 63, 320)
                imgs = np.stack([small[y:y + 64, x:x + 64] for y, x in zip(ys, xs)])[..., None] * TINT
                tgts = np.stack([target[y:y + 64, x:x + 64] for y, x in zip(ys, xs)]).astype(np.uint8)
                train.fit(model, (imgs, tgts), (imgs[:8], tgts[:8]), epochs=1, lr=3e-3, batch_size=16, max_steps=20,
                          device="cpu", seed=0, progress=False, eval_every=10**6)
                return model
            """, {"check_budget_fine_tune"}),
    ],
    "min_gap": [
        ("dee", """
            from scipy import ndimage

            def min_gap(labels, first_test_col):  # the widest nucleus, not how far the crossing ones reach left
                spans = [s[1].stop - s[1].start for s in ndimage.find_objects(np.asarray(labels)) if s is not None]
                return max(spans, default=0)
            """, {"check_min_gap"}),
        ("fay", """
            def min_gap(labels, first_test_col):  # one too few: the nucleus's first column stays in training
                labels = np.asarray(labels)
                reaching = np.setdiff1d(np.unique(labels[:, first_test_col:]), [0])
                cols = np.nonzero(np.isin(labels, reaching))[1]
                return int(max(0, first_test_col - cols.min() - 1)) if len(cols) else 0
            """, {"check_min_gap"}),
    ],
    "choose_min_distance": [
        ("dee", """
            def choose_min_distance(segment, labels, region, fgs, min_distances, prior):  # one knob at a time
                pq = lambda md, fg: instances.panoptic_quality(segment(md, fg)[region], labels[region])["pq"]
                pqs = {(fgs[0], md): pq(md, fgs[0]) for md in min_distances}
                md = min(min_distances, key=lambda m: (-pqs[(fgs[0], m)], abs(m - prior), m))
                pqs.update({(fg, md): pq(md, fg) for fg in fgs})
                return (min(fgs, key=lambda f: (-pqs[(f, md)], f)), md), pqs
            """, {"check_choose_min_distance"}),
        ("fay", """
            def choose_min_distance(segment, labels, region, fgs, min_distances, prior):  # one knob at a time, from
                pqs = {(fg, md): instances.panoptic_quality(segment(md, fg)[region], labels[region])["pq"]  # the
                       for fg in fgs for md in min_distances}                                # largest fg (every pair scored)
                md = min(min_distances, key=lambda m: (-pqs[(max(fgs), m)], abs(m - prior), m))
                return (min(fgs, key=lambda f: (-pqs[(f, md)], f)), md), pqs
            """, {"check_choose_min_distance"}),
    ],
    "failure_note": [
        ("dee", """
            pred3, gt = segment(3)[:, 256:], truth[:, 256:]
            buckets = instances.failure_buckets(pred3, gt)  # the lesson card's helper, not built by hand
            main_bucket, main_count = "split", len(buckets["split"])
            new_min_distance = 5
            note = "Most missed nuclei are split into two or more pieces, so the seeds must stand farther apart."
            """, {"check_failure_note"}),
    ],
    # lesson 05 (segmentation practice): four graded cells; dee answers three of them wrong, fay two.
    # More typical mistakes are rejected in tests/test_checks.py (the empty sample missing, a mean from
    # segcourse's metrics.mean_iou, np.roll's wrap-around, a shift along the rows, Dice, ...) and in
    # tests/test_checks_classroom.py (an explanation that copies the report's own line)
    "practice_masks": [
        ("dee", """
            pred_masks = [[[0, 0, 1], [0, 1, 1], [0, 1, 1]], [[1, 1, 0], [1, 1, 0], [1, 0, 0]], [[0, 0, 0]] * 3]
            gt_masks = [[[0, 0, 1], [0, 1, 1], [0, 1, 1]], [[1, 1, 0], [1, 1, 0], [1, 0, 0]], [[0, 0, 0]] * 3]

            def set_scores(pred_masks, gt_masks):  # right, but the samples are alike: the mean hides nothing
                a, b = np.asarray(pred_masks) == 1, np.asarray(gt_masks) == 1
                inter, union = (a & b).sum((1, 2)), (a | b).sum((1, 2))
                ious = [i / u if u else float("nan") for i, u in zip(inter, union)]
                return ious, float(np.nanmean(ious)), float(inter.sum() / union.sum())
            """, {"check_practice_masks"}),
        ("fay", """
            pred_masks = [[[0, 0, 1], [0, 1, 1], [0, 0, 1]], [[1, 1, 1], [0, 0, 0], [0, 0, 0]], [[0, 0, 0]] * 3]
            gt_masks = [[[0, 0, 1], [0, 1, 1], [0, 1, 1]], [[1, 1, 1]] * 3, [[0, 0, 0]] * 3]

            def set_scores(pred_masks, gt_masks):  # two empty masks scored 0.0, not NaN
                a, b = np.asarray(pred_masks) == 1, np.asarray(gt_masks) == 1
                inter, union = (a & b).sum((1, 2)), (a | b).sum((1, 2))
                ious = [i / u if u else 0.0 for i, u in zip(inter, union)]
                return ious, float(np.mean(ious)), float(inter.sum() / union.sum())
            """, {"check_practice_masks"}),
    ],
    "shifted_iou": [
        ("dee", """
            def shifted_iou(mask, shift):  # the lesson's closed form for a square moved one pixel
                side = np.sqrt(np.count_nonzero(mask))
                return (side - 1) / (side + 1)
            """, {"check_shifted_iou"}),
    ],
    "portfolio": [
        ("fay", """
            buckets = failures.bucket_failures(result["pred"], scenes.labels, 5, scenes.class_names)
            explanation = ("Most failing samples are false positives (7 of them), out of 12 failing samples "  # the
                           "in total, so next I would add noise augmentation.")  # FP bucket holds all 12, not 7
            path = report.write_report(Path("reports") / "portfolio.html", scenes.images, scenes.labels,
                                       result["pred"], scenes.class_names, result["per_class_iou"],
                                       result["per_sample_miou"], buckets, palette=scenes.palette,
                                       notes=explanation, overwrite=True)
            """, {"check_portfolio"}),
        ("dee", """
            buckets = failures.bucket_failures(result["pred"], scenes.labels, 5, scenes.class_names)
            explanation = ("The false-positive class is the primary bucket of all 12 failing samples (of 60), "
                           "so next I would apply a minimum region size.")  # to which class? (review 05s14)
            path = report.write_report(Path("reports") / "portfolio.html", scenes.images, scenes.labels,
                                       result["pred"], scenes.class_names, result["per_class_iou"],
                                       result["per_sample_miou"], buckets, palette=scenes.palette,
                                       notes=explanation, overwrite=True)
            """, {"check_portfolio"}),
    ],
    "trap_score": [
        ("dee", """
            def trap_score(pred, target):  # every class of the road scenes, a class in neither map counted as 0
                pred, target = np.asarray(pred), np.asarray(target)
                ious = np.array([np.count_nonzero((pred == c) & (target == c))
                                 / max(np.count_nonzero((pred == c) | (target == c)), 1) for c in range(5)])
                over = float(ious[np.unique(target)].mean())
                return float(ious.mean()), over, bool(ious.mean() < 0.9 <= over)
            """, {"check_trap_score"}),
    ],
    # lesson 06 (clicks to masks); more typical mistakes (no padding at the image border, the proposal
    # counted as click 1, swapped (col, row), the last index, reached = clicks < cap; for click_maps
    # swapped (col, row), radius off by one, one channel, bool maps, squares; for simulate previous=None,
    # swapped click lists, only the last click, no stop, > instead of >=, every click on the proposal's errors,
    # simulate_clicks wrapped after the proposal, a crash once every error pixel is clicked; for seeds swapped labels, -1, float,
    # (col, row), the border drawn last, radius off by one, squares) are rejected in
    # tests/test_interactive.py (the classroom run grades only each learner's first entry)
    "click": [
        ("dee", """
            from segcourse.checks.lesson06 import _largest_region_click as click  # the check's own reference
            """, {"check_click"}),
        ("eve", """
            def click(pred, target):  # the deepest error pixel (the lesson's rule), not the largest region by area
                (r, c), positive = interactive.next_click(pred, target)
                return r, c, positive
            """, {"check_click"}),
        ("eve", """
            def click(pred, target):  # right regions, but (col, row) returned
                best = None
                for positive, error in ((True, target & ~pred), (False, pred & ~target)):
                    labels, n = ndimage.label(error)
                    if n:
                        areas = np.bincount(labels.ravel())[1:]
                        k = int(np.argmax(areas)) + 1
                        depth = ndimage.distance_transform_edt(np.pad(labels == k, 1))[1:-1, 1:-1]
                        r, c = np.unravel_index(np.argmax(depth), depth.shape)
                        if best is None or areas[k - 1] > best[0]:
                            best = (areas[k - 1], int(c), int(r), positive)
                return best[1], best[2], best[3]
            """, {"check_click"}),
    ],
    "noc": [
        ("fay", """
            def noc(ious, threshold=0.85, max_clicks=20):  # never reached -> the length of the list
                reached = [k for k, v in enumerate(ious) if v >= threshold]
                return (reached[0], True) if reached else (len(ious), False)
            """, {"check_noc"}),
        ("eve", """
            def noc(ious, threshold=0.85, max_clicks=20):  # off by one: ious[:max_clicks] drops the last click
                reached = [k for k, v in enumerate(ious[:max_clicks]) if v >= threshold]
                return (reached[0], True) if reached else (max_clicks, False)
            """, {"check_noc"}),
        ("eve", """
            def noc(ious, threshold=0.85, max_clicks=20):  # RITM's failure test: reached = clicks < cap
                hits = [k for k, v in enumerate(ious[:max_clicks + 1]) if v >= threshold]
                clicks = hits[0] if hits else max_clicks
                return clicks, clicks < max_clicks
            """, {"check_noc"}),
        ("eve", """
            def noc(ious, threshold=0.85, max_clicks=20):  # the last index that reaches it, not the first
                hits = [k for k, v in enumerate(ious[:max_clicks + 1]) if v >= threshold]
                return (hits[-1], True) if hits else (max_clicks, False)
            """, {"check_noc"}),
    ],
    "click_maps": [
        ("fay", """
            def click_maps(clicks, shape, radius=3):  # < radius: the pixels at distance exactly radius left out
                rows, cols = np.indices(shape)
                maps = np.zeros((2, *shape), np.float32)
                for row, col, positive in clicks:
                    maps[0 if positive else 1][(rows - row) ** 2 + (cols - col) ** 2 < radius ** 2] = 1.0
                return maps
            """, {"check_click_maps"}),
        ("eve", """
            def click_maps(clicks, shape, radius=3):  # positive and negative clicks in one bool map
                rows, cols = np.indices(shape)
                return np.any([(rows - r) ** 2 + (cols - c) ** 2 <= radius ** 2 for r, c, _ in clicks], axis=0)
            """, {"check_click_maps"}),
    ],
    "simulate": [
        ("dee", """
            def simulate(predict, image, target, max_clicks=20, stop_at=0.85):  # the lesson's loop: no proposal first
                pred, ious, clicks, pos, neg = np.zeros_like(target), [], [], [], []
                for _ in range(max_clicks):
                    (r, c), positive = interactive.next_click(pred, target, clicked=[(r, c) for r, c, _ in clicks])
                    (pos if positive else neg).append((r, c))
                    clicks.append((r, c, positive))
                    pred = np.asarray(predict(image, pos, neg, pred), bool)
                    ious.append((pred & target).sum() / (pred | target).sum())
                    if ious[-1] >= stop_at:
                        break
                return ious, clicks
            """, {"check_simulate"}),
        ("fay", """
            def simulate(predict, image, target, max_clicks=20, stop_at=0.85):  # no `clicked`: a pixel is clicked again
                pred = np.asarray(predict(image, [], [], None), bool)
                ious, clicks, pos, neg = [(pred & target).sum() / (pred | target).sum()], [], [], []
                while ious[-1] < stop_at and len(clicks) < max_clicks:
                    (r, c), positive = interactive.next_click(pred, target)
                    (pos if positive else neg).append((r, c))
                    clicks.append((r, c, positive))
                    pred = np.asarray(predict(image, pos, neg, pred), bool)
                    ious.append((pred & target).sum() / (pred | target).sum())
                return ious, clicks
            """, {"check_simulate"}),
    ],
    "seeds": [
        ("dee", """
            def seeds(clicks, shape, radius=2):  # all negative disks first, then all positive ones: not in click order
                rows, cols = np.indices(shape)
                out = np.zeros(shape, np.int32)
                out[[0, -1], :] = 2
                out[:, [0, -1]] = 2
                for row, col, positive in sorted(clicks, key=lambda c: c[2]):
                    out[(rows - row) ** 2 + (cols - col) ** 2 <= radius ** 2] = 1 if positive else 2
                return out
            """, {"check_seeds"}),
        ("fay", """
            def seeds(clicks, shape, radius=2):  # no background on the border
                rows, cols = np.indices(shape)
                out = np.zeros(shape, np.int32)
                for row, col, positive in clicks:
                    out[(rows - row) ** 2 + (cols - col) ** 2 <= radius ** 2] = 1 if positive else 2
                return out
            """, {"check_seeds"}),
    ],
    "click_step": [
        ("dee", """
            def click_batch(images, pos_maps, neg_maps, prev_masks):
                grey = np.asarray(images, np.float32) / 255.0
                return torch.from_numpy(np.stack([grey, np.asarray(pos_maps, np.float32), np.asarray(neg_maps, np.float32),
                                                  np.asarray(prev_masks, np.float32)], axis=1))


            def train_step(model, optimiser, images, targets, firsts):  # the object where logit 1 > 0, not > logit 0
                shape = targets.shape[1:]
                maps = np.stack([interactive.click_maps([first], [], shape) for first in firsts])
                x = click_batch(images, maps[:, 0], maps[:, 1], np.zeros(targets.shape, bool))
                model.eval()
                with torch.no_grad():
                    logits = model(x)
                pred = (logits[:, 1] > 0).numpy()
                seconds, maps = [], []
                for first, p, t in zip(firsts, pred, targets):
                    (r, c), positive = interactive.next_click(p, t, clicked=[first])
                    seconds.append((r, c, positive))
                    pos, neg = ([first, (r, c)], []) if positive else ([first], [(r, c)])
                    maps.append(interactive.click_maps(pos, neg, shape))
                maps = np.stack(maps)
                x = click_batch(images, maps[:, 0], maps[:, 1], pred)
                model.train()
                loss = torch.nn.functional.cross_entropy(model(x), torch.from_numpy(targets.astype(np.int64)))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                return float(loss.item()), seconds
            """, {"check_click_step"}),
        ("eve", """
            def click_batch(images, pos_maps, neg_maps, prev_masks):  # each batch stretched to its own min..max
                grey = np.asarray(images, np.float32)
                grey = (grey - grey.min()) / (grey.max() - grey.min())
                return torch.from_numpy(np.stack([grey, np.asarray(pos_maps, np.float32), np.asarray(neg_maps, np.float32),
                                                  np.asarray(prev_masks, np.float32)], axis=1))


            def train_step(model, optimiser, images, targets, firsts):
                raise NotImplementedError()
            """, {"check_click_step"}),
        ("fay", """
            def click_batch(images, pos_maps, neg_maps, prev_masks):
                grey = np.asarray(images, np.float32) / 255.0
                return torch.from_numpy(np.stack([grey, np.asarray(pos_maps, np.float32), np.asarray(neg_maps, np.float32),
                                                  np.asarray(prev_masks, np.float32)], axis=1))


            def train_step(model, optimiser, images, targets, firsts):  # §5's click-1 step pasted: no corrective round
                maps = np.stack([interactive.click_maps([f], [], targets.shape[1:]) for f in firsts])
                x = click_batch(images, maps[:, 0], maps[:, 1], np.zeros(targets.shape, bool))
                loss = torch.nn.functional.cross_entropy(model(x), torch.from_numpy(targets.astype(np.int64)))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                return float(loss.item()), []
            """, {"check_click_step"}),
    ],
}

NOISE = ('__import__("warnings").warn(f"debug note {__import__(\'time\').perf_counter_ns()}"); '
         '__import__("numpy").float64(0.0) / 0.0  # correct answer, noisy: a warning and a 0/0 on stderr')
NOISY: dict[str, str] = {
    # the case issue 18 found: numpy's 0/0 RuntimeWarning inside a correct answer
    "dice_per_image": """
        def dice_per_image(pred, target):
            p, t = np.asarray(pred) != 0, np.asarray(target) != 0
            inter = np.count_nonzero(p & t, axis=(1, 2)).astype(np.float64)
            total = (np.count_nonzero(p, axis=(1, 2)) + np.count_nonzero(t, axis=(1, 2))).astype(np.float64)
            return 2 * inter / total  # 0/0 -> nan for two empty masks, warns
        """,
    "iou_at_threshold": """
        def iou_at_threshold(logits, target, threshold):
            prob = 1 / (1 + np.exp(-np.asarray(logits, float)))  # exp overflows for large negative logits, warns
            p, t = prob > threshold, np.asarray(target) != 0
            return np.float64(np.count_nonzero(p & t)) / np.float64(np.count_nonzero(p | t))  # 0/0 -> nan, warns
        """,
}


# ----------------------------------------------------------------------------------- notebooks
def solution_answer(src: str) -> str:
    """The solution cell as a learner would submit it: the marker comments removed."""
    return "\n".join(line for line in src.splitlines() if line.strip() not in (BEGIN, END))


def noisy_answer(src: str) -> str:
    """The solution with a warning-printing line at the top of every solution region."""
    out = []
    for line in src.splitlines():
        if line.strip() == BEGIN:
            out.append(line[: len(line) - len(line.lstrip())] + NOISE)
        elif line.strip() != END:
            out.append(line)
    return "\n".join(out)


def grade_cells(nb) -> dict[str, tuple[int, bool]]:
    """grade_id -> (points, graded automatically) for every graded cell."""
    return {c.metadata.nbgrader["grade_id"]: (c.metadata.nbgrader["points"], c.cell_type == "code")
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def answers_for(learner: str, solution) -> tuple[dict[str, str], set[str]]:
    """grade_id -> source of each solution cell this learner changes, and the grade cells lost."""
    answers, lost = {}, set()
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("solution"):
            continue
        gid = meta["grade_id"]
        if learner == "ada" or (learner in ("dee", "fay") and cell.cell_type == "markdown"):
            answers[gid] = solution_answer(cell.source)
        elif learner == "cyd":
            answers[gid] = (textwrap.dedent(NOISY[gid]).strip() if gid in NOISY
                            else noisy_answer(cell.source) if cell.cell_type == "code" else cell.source)
        elif learner in ("dee", "fay"):
            mine = [(src, cells) for who, src, cells in WRONG.get(gid, []) if who == learner]
            if mine:
                answers[gid] = textwrap.dedent(mine[0][0]).strip()
                lost |= mine[0][1]
            elif cell.cell_type == "code" and learner == "fay":  # left as released: its checks fail
                lost |= checked_by(solution)[gid]
            elif cell.cell_type == "code":  # correct, but noisy: the warnings must not cost points
                answers[gid] = textwrap.dedent(NOISY[gid]).strip() if gid in NOISY else noisy_answer(cell.source)
    return answers, lost


def checked_by(solution) -> dict[str, set[str]]:
    """grade_id of each code answer cell -> the automatically graded cells after it, up to the next answer cell.

    These are the cells an answer left as released loses (its stub raises ``NotImplementedError``). No
    graded cell needs an answer from an earlier exercise today; one that did would lose its points for
    ``fay`` too, and the gradebook comparison would name it."""
    out, current = {}, None
    for cell in solution.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            current = out.setdefault(meta["grade_id"], set())
        elif meta.get("grade") and cell.cell_type == "code" and current is not None:
            current.add(meta["grade_id"])
    return out


def answer_notebook(path: Path, answers: dict[str, str]) -> None:
    """Replace the answer cells of the released notebook at ``path`` (as a learner types them)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    nbformat.write(nb, path)


# ------------------------------------------------------------------------------------ the README
def teacher_block() -> str:
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, f"README.md lacks the teacher block marked {MARKER}"
    block = re.search(r"```bash\n(.*?)```", text[text.index(MARKER):], re.S)
    assert block, "the teacher block must be a ```bash fence right after the marker"
    return block.group(1)


def split_block(block: str) -> tuple[str, list[list[str]]]:
    """(set-up shell script, nbgrader command lines as argument lists)."""
    setup, commands = [], []
    for line in block.splitlines():
        code = line.split("#", 1)[0].strip() if line.lstrip().startswith("nbgrader ") else line
        if code.startswith("nbgrader "):
            commands.append(shlex.split(code)[1:])
        elif not commands:
            setup.append(line)
        else:
            assert not line.strip() or line.lstrip().startswith("#"), f"shell line after the nbgrader commands: {line}"
    return "\n".join(setup), commands


def test_readme_teacher_block_is_what_the_round_trip_runs():
    setup, commands = split_block(teacher_block())
    assert "nbgrader_config.py" in setup and "solutions/" in setup
    assert [c[0] for c in commands] == ["generate_assignment", "release_assignment", "collect", "autograde",
                                        "generate_feedback", "release_feedback", "export"]
    assert all(c[1:] == [EXAMPLE] for c in commands[:-1]) and commands[-1] == ["export", "--to", "grades.csv"]
    readme = README.read_text(encoding="utf-8")
    assert "--nbval-lax" not in readme.split("## For teachers", 1)[-1], "pytest --nbval-lax does not grade"


def test_readme_points_table_is_generated_from_the_notebooks():
    assert points.readme_table(README) == points.points_table(ROOT), "run: python tools/course.py points --update-readme"
    table = points.points_table(ROOT)
    assert all(f"[`{lesson}`]" in table for lesson in LESSONS)


# --------------------------------------------------------------------------------- the round trip
def run_setup(home: Path) -> Path:
    """Run the README's set-up lines with bash: ``~`` is ``home``, ``~/segcourse`` this checkout."""
    (home / "segcourse").symlink_to(ROOT, target_is_directory=True)
    setup, _ = split_block(teacher_block())
    env = {**os.environ, "HOME": str(home)}
    res = subprocess.run(["bash", "-euo", "pipefail", "-c", setup], cwd=home, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    course = home / "segcourse-class"
    assert (course / "nbgrader_config.py").is_file()
    assert sorted(p.name for p in (course / "source").iterdir()) == LESSONS
    return course


def make_api(course: Path, home: Path, student: str = "*") -> NbGraderAPI:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    override = Config()
    override.CourseDirectory.root = str(course)     # the CLI's default: the folder you run it in
    override.CourseDirectory.student_id = student
    override.Exchange.root = str(home / "exchange")  # instead of /srv/nbgrader/exchange
    override.Exchange.cache = str(home / "cache")
    config.merge(override)
    return NbGraderAPI(config=config)


def ok(result: dict, what: str) -> None:
    assert result["success"], f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log') or ''}"


def exchange_app(api: NbGraderAPI, kind: str, assignment: str, learner: str, folder: Path):
    """A learner's ``nbgrader fetch_assignment`` / ``submit`` (the student side of the exchange)."""
    with temp_attrs(api.coursedir, assignment_id=assignment, student_id=learner):
        app = getattr(api.exchange, kind)(coursedir=api.coursedir, authenticator=api.authenticator, parent=api)
        app.assignment_dir = str(folder)
        app.start()


@pytest.fixture(autouse=True)
def kernels_import_this_checkout(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("MPLBACKEND", raising=False)


@pytest.mark.parametrize("lesson", LESSONS[::2])       # the other half: tests/test_classroom_graded.py
def test_a_class_is_graded_end_to_end(lesson, tmp_path):
    grade_end_to_end(lesson, tmp_path)


def grade_end_to_end(lesson: str, tmp_path) -> None:
    """The whole nbgrader round trip for one lesson (shared with tests/test_classroom_graded.py)."""
    start = time.perf_counter()
    home = tmp_path
    course = run_setup(home)
    solution = nbformat.read(course / "source" / lesson / f"{lesson}.ipynb", as_version=4)
    graded = grade_cells(solution)
    # a teacher who ran the solution inside source/ leaves its report there: it must not be released
    stale = course / "source" / lesson / "reports" / "portfolio.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("<h1>a report written by the solution</h1>Triplets Per-class IoU Failure samples by bucket "
                     "What I would improve next <img src='data:,'>", encoding="utf-8")
    _, commands = split_block(teacher_block())
    steps = {"set up": time.perf_counter() - start}
    api = make_api(course, home)
    run = {
        "generate_assignment": lambda a: ok(api.generate_assignment(a), "generate_assignment"),
        "release_assignment": lambda a: ok(api.release_assignment(a), "release_assignment"),
        "collect": lambda a: (learners_submit(api, a, solution, home, stale), ok(api.collect(a), "collect")),
        "autograde": lambda a: ok(api.autograde(a, "*"), "autograde"),
        "generate_feedback": lambda a: ok(api.generate_feedback(a), "generate_feedback"),
        "release_feedback": lambda a: ok(api.release_feedback(a), "release_feedback"),
        "export": lambda *_: export(api, course / "grades.csv"),
    }
    for command in commands:
        t0 = time.perf_counter()
        run[command[0]](*[lesson if arg == EXAMPLE else arg for arg in command[1:]])
        steps[command[0]] = time.perf_counter() - t0

    # release/: the notebook only, stubs instead of solutions, no outputs, no side file
    release = course / "release" / lesson
    assert sorted(p.relative_to(release).as_posix() for p in release.rglob("*")) == [f"{lesson}.ipynb"]
    released = nbformat.read(release / f"{lesson}.ipynb", as_version=4)
    text = "\n".join(c.source for c in released.cells)
    assert BEGIN not in text and END not in text and "raise NotImplementedError()" in text
    text = "\n".join(c.source for c in released.cells if c.cell_type == "code")  # instructions may quote code
    for cell in solution.cells:
        for line in cell.source.split(BEGIN)[1:]:
            hidden = [s.strip() for s in line.split(END)[0].splitlines() if len(s.strip()) > 12]
            assert not any(s in text for s in hidden), f"solution line leaked into release/: {hidden}"
    assert all(not c.get("outputs") for c in released.cells if c.cell_type == "code")

    # the gradebook: every graded cell of every learner
    table, wrong = {}, []
    with api.gradebook as gb:
        for learner in learners_of(lesson):
            _, lost = answers_for(learner, solution)
            for gid, (pts, auto) in graded.items():
                grade = gb.find_grade(gid, lesson, lesson, learner)
                if not auto:  # free text: waits for the teacher, unless left as released
                    if grade.needs_manual_grade != (learner not in ("ben", "eve")):
                        wrong.append(f"{learner} {gid}: needs_manual_grade={grade.needs_manual_grade}")
                    continue
                want = 0 if learner in ("ben", "eve") or gid in lost else pts
                if grade.auto_score != want:
                    wrong.append(f"{learner} {gid}: {grade.auto_score:g} points, expected {want}")
            table[learner] = gb.find_submission(lesson, learner).score
        # nbgrader's own count of the points is the README's
        cells = points.lesson_points(ROOT / "solutions" / f"{lesson}.ipynb")
        assert gb.find_assignment(lesson).max_score == sum(p for _, p, _ in cells)
    assert not wrong, f"{lesson} gradebook differs:\n" + "\n".join(wrong)
    auto_total = sum(p for p, auto in graded.values() if auto)
    assert table.get("ada", auto_total) == table.get("cyd", auto_total) == auto_total and table.get("ben", 0) == table.get("eve", 0) == 0
    for learner in ("dee", "fay"):
        lost = answers_for(learner, solution)[1]
        assert table[learner] == auto_total - sum(graded[g][0] for g in lost)
    lost = answers_for("dee", solution)[1]
    assert not lost or 0 < table["dee"] < auto_total, "dee's wrong answers must leave a partial score"

    # ada's full marks where ada does not hand in: the committed solution ran every grade cell without an
    # error (nbval re-runs it strictly, so its grade cells pass on this machine too) and none is allowed to raise
    for cell in solution.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            assert not any(o.output_type == "error" for o in cell.get("outputs", [])), cell.metadata.nbgrader
            assert "raises-exception" not in cell.metadata.get("tags", []), cell.metadata.nbgrader
    # the release runs to the end under autograde: errors only where a stub or a check of a stub is
    for learner in [x for x in ("ben", "eve", "fay") if x in table]:
        ran = nbformat.read(course / "autograded" / learner / lesson / f"{lesson}.ipynb", as_version=4)
        allowed = cells_allowed_to_raise(released)
        code = [c for c in ran.cells if c.cell_type == "code"]
        assert all(c.execution_count for c in code), f"{learner}'s {lesson} did not run to the end"
        raised = {n for n, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)}
        assert raised <= allowed, f"{learner}'s {lesson}: cells {sorted(raised - allowed)} raised " + "; ".join(
            next(o.ename + ": " + o.evalue for o in code[n].outputs if o.output_type == "error")
            for n in sorted(raised - allowed))

    # the stale report travelled with eve's and fay's folders but never reached their graded copies
    # (a report there was written by the learner's own answer when autograde ran it)
    for learner in ("eve", "fay") if "eve" in table else ("fay",):
        page = course / "autograded" / learner / lesson / "reports" / "portfolio.html"
        assert not page.exists() or page.read_text(encoding="utf-8") != stale.read_text(encoding="utf-8")
    # feedback: one page per learner, released to the exchange
    for learner in learners_of(lesson):
        assert (course / "feedback" / learner / lesson / f"{lesson}.html").is_file()
    assert len(list((home / "exchange" / "segcourse" / "feedback").glob("*.html"))) == len(learners_of(lesson))
    # export: one row per learner with the same scores
    with open(course / "grades.csv", newline="") as fh:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh) if r["assignment"] == lesson}
    assert rows == {k: float(v) for k, v in table.items()}
    print(f"\n{lesson}: automatic points of {auto_total} -> " + ", ".join(f"{k} {v:g}" for k, v in table.items())
          + f"  ({time.perf_counter() - start:.0f} s: " + ", ".join(f"{k} {v:.0f}" for k, v in steps.items()) + ")")


def learners_submit(api: NbGraderAPI, assignment: str, solution, home: Path, stale_report: Path) -> None:
    """Each learner fetches the release, answers in their own folder and submits."""
    for learner in learners_of(assignment):
        folder = home / "learners" / learner
        folder.mkdir(parents=True)
        exchange_app(api, "FetchAssignment", assignment, learner, folder)
        answers, _ = answers_for(learner, solution)
        answer_notebook(folder / assignment / f"{assignment}.ipynb", answers)
        if learner in ("eve", "fay"):  # last week's report, from running the solutions
            (folder / assignment / "reports").mkdir()
            shutil.copy(stale_report, folder / assignment / "reports" / "portfolio.html")
        exchange_app(api, "Submit", assignment, learner, folder)


def export(api: NbGraderAPI, to: Path) -> None:
    """``nbgrader export --to grades.csv``: the CSV plugin the export app runs."""
    with api.gradebook as gb:
        CsvExportPlugin(to=str(to), parent=api).export(gb)
    assert to.is_file()
