"""Automatic checks for the exercises: each tests a learner's answer on many cases and, when it
is wrong, fails with a hint that teaches rather than just "wrong".

Every check raises :class:`CheckFailed`, an ``AssertionError`` (so nbgrader, nbval and pytest
treat it as a failed test), and prints nothing on success but a one-line confirmation on stdout.
In a Jupyter kernel, importing this module registers an IPython handler that shows a failed check
as one short message -- ``CheckFailed: <the hint>`` -- instead of a traceback through this module;
the cell still ends in an error, so nbgrader still scores it as failed.

Writing a new check
-------------------
Decorate it with :func:`learner_check` and call the learner's code only through :func:`_call`::

    @learner_check
    def check_thing(thing):
        got = _number(_call(thing, np.zeros((2, 2)), what="thing"), "thing")
        if got != 0:
            raise AssertionError(f"thing of an empty mask is 0, yours is {got!r}")
        print("check_thing: all cases pass")

That one line gives the check what grading under nbgrader needs:

* warnings and numpy floating-point warnings raised while it runs are silenced, and the
  learner's writes to ``sys.stderr`` are swallowed: a grade cell that writes anything to stderr
  scores 0 even when it passes;
* *any* exception -- from the learner's code, from a return value the check cannot read (a
  dict, a generator, a ragged list, a tensor with ``requires_grad``), or from a bad argument to
  the check -- ends as one :class:`CheckFailed` whose hint lines are at most 80 characters
  (``nbgrader validate`` cuts lines at 87), never as an internal traceback;
* the check's own frames are hidden from pytest's tracebacks (``__tracebackhide__``); in Jupyter
  the handler above shows no traceback at all (IPython ignores ``__tracebackhide__``).

:func:`_call` passes deep copies of the inputs, so a learner function that modifies its
arguments in place cannot change the check's reference computation.

Layout
------
``_core``       the shared machinery: :func:`learner_check`, :class:`CheckFailed`, the IPython
                handler, and the helpers that read a learner's answer (``_call``, ``_number``, ...)
``lesson00``    masks and IoU: ``check_dice_per_image``, ``check_iou_at_threshold``,
                ``check_confusion_from_scores``, ``check_image_mean_iou``, ``check_painted_mask``,
                ``check_empty_conventions``, ``check_boundary_band``, ``check_boundary_iou``, ``check_confused_pair``,
                ``check_rgb_to_ids``, ``check_one_hot_batch``, ``check_overlay_note``,
                ``check_boundary_flag``
``lesson01``    semantic segmentation: ``check_median_frequency_weights``,
                ``check_weighted_cross_entropy``, ``check_aligned_flip``, ``check_crop_resize_pair``,
                ``check_block_mean_camera``, ``check_effect_summary``, ``check_train_steps``
``lesson02``    inside the network: ``check_soft_dice``, ``check_exact_upsampling``,
                ``check_dilation_to_see``, ``check_pooled_lane_iou``, ``check_unet``, ``check_matching_weight``,
                ``check_unsure_on_boundary``, ``check_weighted_bn_statistics``, ``check_paired_crops``
``lesson03``    instance segmentation: ``check_count_cells``, ``check_panoptic_quality``, ``check_split_cells``,
                ``check_signed_distance``, ``check_distance_training``, ``check_coco_ap``,
                ``check_failure_explained``
``lesson04``    real images: ``check_percentile_normalize``, ``check_ap_at``, ``check_rescale_factor``,
                ``check_budget_fine_tune``, ``check_shared_nuclei``, ``check_min_gap``, ``check_choose_min_distance``,
                ``check_failure_note``, ``check_moments_ellipse``, ``check_false_areas``
``lesson05``    practice: ``check_practice_masks``, ``check_small_region_sensitivity``,
                ``check_report``, ``check_trap_score``, ``check_boundary_enrichment``
``lesson06``    clicks to masks: ``check_largest_region_click``, ``check_noc_with_proposal``,
                ``check_click_maps``, ``check_simulate``, ``check_seeds``, ``check_click_step``,
                ``check_shift_ious``

Everything is re-exported here: notebooks and tests use ``from segcourse import checks`` and
``checks.check_dice_per_image(...)``; a new check goes into its lesson's module (and that module's
``__all__``) and is imported and listed in ``__all__`` here (tests/test_checks.py checks that none is left out).
"""

from __future__ import annotations

from . import lesson00, lesson01, lesson02, lesson03, lesson04, lesson05, lesson06
from ._core import (  # noqa: F401  (private helpers: for new checks and the tests)
    _LOADED_AT,
    HINT_WIDTH,
    CheckFailed,
    _array,
    _call,
    _close,
    _count,
    _kind,
    _number,
    _plain,
    _show_check_failed,
    _wrap,
    learner_check,
    register_ipython_handler,
)
from .lesson00 import (  # noqa: F401
    PRED,
    TRUTH,
    check_boundary_band,
    check_boundary_iou,
    check_confused_pair,
    check_confusion_from_scores,
    check_dice_per_image,
    check_empty_conventions,
    check_image_mean_iou,
    check_iou_at_threshold,
    check_painted_mask,
    check_rgb_to_ids,
    check_one_hot_batch,
    check_overlay_note,
    check_boundary_flag,
)
from .lesson01 import (check_aligned_flip, check_median_frequency_weights, check_weighted_cross_entropy,
                       check_block_mean_camera, check_crop_resize_pair)
from .lesson01 import check_effect_summary, check_train_steps
from .lesson02 import (check_dilation_to_see, check_exact_upsampling, check_matching_weight, check_pooled_lane_iou,
                       check_soft_dice, check_unet, check_unsure_on_boundary,
                       check_weighted_bn_statistics, check_paired_crops)
from .lesson03 import (check_coco_ap, check_count_cells, check_panoptic_quality,
                       check_split_cells)
from .lesson03 import check_distance_training, check_failure_explained, check_signed_distance
from .lesson04 import (check_ap_at, check_budget_fine_tune, check_choose_min_distance, check_failure_note,
                       check_false_areas, check_min_gap, check_moments_ellipse, check_percentile_normalize, check_rescale_factor,
                       check_shared_nuclei)
from .lesson05 import (check_boundary_enrichment, check_practice_masks, check_report, check_small_region_sensitivity,
                       check_trap_score)
from .lesson06 import (check_click_maps, check_click_step, check_largest_region_click, check_noc_with_proposal,
                       check_seeds, check_shift_ious, check_simulate)

__all__ = [
    "CheckFailed",
    "learner_check",
    "check_dice_per_image",
    "check_iou_at_threshold",
    "check_confusion_from_scores",
    "check_image_mean_iou",
    "check_practice_masks",
    "check_small_region_sensitivity",
    "check_trap_score",
    "check_boundary_enrichment",
    "check_painted_mask",
    "check_boundary_band",
    "check_boundary_iou",
    "check_confused_pair",
    "check_rgb_to_ids",
    "check_one_hot_batch",
    "check_overlay_note",
    "check_boundary_flag",
    "check_empty_conventions",
    "check_report",
    "check_median_frequency_weights",
    "check_weighted_cross_entropy",
    "check_crop_resize_pair",
    "check_aligned_flip",
    "check_block_mean_camera",
    "check_effect_summary",
    "check_train_steps",
    "check_count_cells",
    "check_panoptic_quality",
    "check_split_cells",
    "check_signed_distance",
    "check_distance_training",
    "check_failure_explained",
    "check_coco_ap",
    "check_soft_dice",
    "check_exact_upsampling",
    "check_dilation_to_see",
    "check_pooled_lane_iou",
    "check_unet",
    "check_matching_weight",
    "check_unsure_on_boundary",
    "check_weighted_bn_statistics",
    "check_paired_crops",
    "check_percentile_normalize",
    "check_ap_at",
    "check_rescale_factor",
    "check_budget_fine_tune",
    "check_shared_nuclei",
    "check_min_gap",
    "check_choose_min_distance",
    "check_failure_note",
    "check_moments_ellipse",
    "check_false_areas",
    "check_largest_region_click",
    "check_noc_with_proposal",
    "check_click_maps",
    "check_simulate",
    "check_seeds",
    "check_click_step",
    "check_shift_ious",
]
