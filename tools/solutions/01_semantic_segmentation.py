"""Exercises for lesson 01, solved (source of solutions/01_semantic_segmentation.ipynb)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nbbuild import NBGRADER_LOCKED as LOCKED, answer, check, code, md, solution  # noqa: E402

CELLS = [
    md("""
    # Exercises 01 · Semantic segmentation

    Four exercises on lesson 01: class imbalance in numbers, IoU from a confusion matrix, an
    augmentation that keeps image and mask aligned, and reading a confusion matrix in words.
    """, nbgrader={**LOCKED, "grade_id": "intro"}),
    code("""
    import numpy as np
    from segcourse import checks, data, metrics, models, train
    """, nbgrader={**LOCKED, "grade_id": "imports"}),
    md("""
    ## 1 · How imbalanced are the classes? (1 point)

    `pixel_shares(label_maps, num_classes)` returns, for each class, the fraction of all pixels
    (over the whole batch) that belong to it — an array of `num_classes` shares summing to 1.
    """),
    solution("""
    def pixel_shares(label_maps, num_classes):
        ### BEGIN SOLUTION
        counts = np.bincount(np.asarray(label_maps).ravel(), minlength=num_classes)
        return counts / counts.sum()
        ### END SOLUTION

    roads = data.road_scenes(200, seed=5)
    print(dict(zip(roads.class_names, np.round(pixel_shares(roads.labels, 5), 4).tolist())))
    """, "pixel_shares"),
    check("checks.check_pixel_shares(pixel_shares)", "check_pixel_shares", 1),
    md("""
    ## 2 · Per-class IoU from a confusion matrix (2 points)

    `iou_from_confusion(cm)`: with rows = truth and columns = prediction, return each class's
    TP / (TP + FP + FN) — NaN for a class with no pixels in either.
    """),
    solution("""
    def iou_from_confusion(cm):
        ### BEGIN SOLUTION
        cm = np.asarray(cm, dtype=float)
        tp = np.diag(cm)
        denom = cm.sum(0) + cm.sum(1) - tp
        return np.divide(tp, denom, out=np.full(len(tp), np.nan), where=denom > 0)
        ### END SOLUTION
    """, "iou_from_confusion"),
    check("checks.check_iou_from_confusion(iou_from_confusion)", "check_iou_from_confusion", 2),
    md("""
    ## 3 · A flip that keeps the mask aligned (1 point)

    `flip_pair(image, label_map)` takes an `(H, W, 3)` image and its `(H, W)` label map and returns
    both flipped left-right.
    """),
    solution("""
    def flip_pair(image, label_map):
        ### BEGIN SOLUTION
        return image[:, ::-1], label_map[:, ::-1]
        ### END SOLUTION
    """, "flip_pair"),
    check("checks.check_aligned_flip(flip_pair)", "check_flip_pair", 1),
    md("""
    ## 4 · Read a confusion matrix (2 points)

    The shipped model meets scenes with a stronger lighting shift. Which classes does it confuse,
    in which direction, and what share? What would you change first, and why not the model size?
    """),
    code("""
    shifted = data.road_scenes(100, seed=77, sidewalk_gap=0.03, noise=0.06, lighting=0.3)
    res = train.evaluate(models.pretrained("roads"), shifted, device="cpu")
    cm = metrics.confusion_matrix(res["pred"], shifted.labels, 5)
    print("rows = truth, columns = prediction, each row as shares:")
    print((cm / cm.sum(1, keepdims=True)).round(3))
    """, nbgrader={**LOCKED, "grade_id": "shifted_cm"}),
    answer("""
    The road row leaks most: a clear share of true road pixels is predicted as sidewalk and a smaller
    share as car, while the other rows stay near their diagonal. Under darker, noisier light the road's
    colour moves towards the sidewalk's and the cars', and the model leaned on colour. First change the
    data: scenes with this lighting, or colour-jitter augmentation in training. A bigger model trained on
    the same data would learn the same shortcut.
    """, "cm_answer", 2),
]
