"""Benchmarks that print tables (performance is measured here, never asserted in tests).

Run ``python -m segcourse.bench metrics``, ``python -m segcourse.bench data`` or
``python -m segcourse.bench train [--device cpu|cuda]``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Callable, Sequence

import numpy as np


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a Markdown table (so it can be pasted into a note as is).

    >>> print_table(["a", "b"], [[1, "x"]])
    | a | b |
    |---|---|
    | 1 | x |
    """
    print("| " + " | ".join(map(str, header)) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(map(str, row)) + " |")


def bench_metrics(n: int = 200, size: int = 256, repeats: int = 5) -> list[list[object]]:
    """Time ``per_class_iou`` against scikit-learn and torchmetrics on the same label maps."""
    from sklearn.metrics import confusion_matrix as sk_cm

    from . import metrics

    try:
        import torch
        from torchmetrics.functional.classification import multiclass_jaccard_index
    except ImportError:  # pragma: no cover - torchmetrics is a dev extra
        multiclass_jaccard_index = None

    rows = []
    for k in (5, 19):
        rng = np.random.default_rng(k)
        target = rng.integers(0, k, (n, size, size), dtype=np.uint8)
        pred = np.where(rng.random(target.shape) < 0.8, target, rng.integers(0, k, target.shape)).astype(np.uint8)
        ours = _median_seconds(lambda: metrics.per_class_iou(pred, target, k), repeats)
        ref = metrics.per_class_iou(pred, target, k)

        def sklearn_iou():
            cm = sk_cm(target.ravel(), pred.ravel(), labels=np.arange(k))
            return metrics.iou_from_confusion(cm)

        np.testing.assert_allclose(sklearn_iou(), ref)
        sk = _median_seconds(sklearn_iou, max(1, repeats // 2))
        row = [k, f"{n}×{size}×{size}", f"{ours * 1e3:.1f}", f"{sk * 1e3:.0f}", f"{sk / ours:.0f}×"]
        if multiclass_jaccard_index is not None:
            tp, tt = torch.from_numpy(pred), torch.from_numpy(target)

            def tm_iou():
                return multiclass_jaccard_index(tp, tt, num_classes=k, average=None)

            np.testing.assert_allclose(tm_iou().numpy(), ref, rtol=1e-5)
            tm = _median_seconds(tm_iou, max(1, repeats // 2))
            row += [f"{tm * 1e3:.0f}", f"{tm / ours:.0f}×"]
        else:
            row += ["not installed", "-"]
        rows.append(row)
    print(f"per_class_iou on {n} uint8 label maps of {size}×{size} (median of {repeats} runs, "
          f"{os.cpu_count()} CPUs visible)")
    print_table(["K", "pixels", "segcourse ms", "sklearn ms", "speed-up vs sklearn",
                 "torchmetrics ms (defaults)", "speed-up vs torchmetrics"], rows)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m segcourse.bench", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("metrics", help="per_class_iou vs scikit-learn and torchmetrics")
    m.add_argument("--n", type=int, default=200)
    m.add_argument("--size", type=int, default=256)
    m.add_argument("--repeats", type=int, default=5)
    d = sub.add_parser("data", help="speed of the toy dataset generators")
    d.add_argument("--n", type=int, default=1000)
    t = sub.add_parser("train", help="tiny UNet: throughput and images to mIoU 0.80 / 0.90")
    t.add_argument("--device", default="auto")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="one training run per seed")
    args = parser.parse_args(argv)
    if args.what == "metrics":
        bench_metrics(args.n, args.size, args.repeats)
    elif args.what == "data":
        bench_data(args.n)
    else:
        bench_train(device=args.device, batch_size=args.batch_size, threads=args.threads, seeds=args.seeds)


def bench_data(n: int = 1000) -> None:
    """Time the three dataset generators."""
    from . import data

    rows = []
    for name, fn in [("road_scenes", data.road_scenes), ("surface_defects", data.surface_defects),
                     ("touching_cells", data.touching_cells)]:
        secs = _median_seconds(lambda: fn(n, seed=1), 3)
        rows.append([name, n, "64×64", f"{secs * 1e3:.0f}", f"{n / secs:,.0f}"])
    print(f"dataset generators, {n} samples each (median of 3 runs)")
    print_table(["dataset", "samples", "size", "ms", "samples/s"], rows)


def _gpu_setup(width: int = 16, batch_size: int = 256) -> list[list[object]]:
    """First-call costs in a fresh process: CUDA context, first eager step, first fast run (capture),
    first ``fast="compile"`` run (compilation + capture)."""
    import torch

    from . import data, models, train

    d = data.road_scenes(4 * batch_size, seed=7)
    start = time.perf_counter()
    torch.zeros(1, device="cuda")
    torch.cuda.synchronize()
    rows = [["CUDA context (first tensor on the GPU)", f"{time.perf_counter() - start:.2f}"]]
    h = train.fit(models.TinyUNet(3, 5, width=width), d, d[:64], epochs=1, batch_size=batch_size, device="cuda",
                  progress=False, max_steps=1, eval_every=1)
    rows.append([f"first eager step, batch {batch_size} (cuDNN/cuBLAS start-up)", f"{h['step_seconds'][0]:.2f}"])
    for fast, what, n in ((True, "first fast=True: 3 eager steps + graph capture + 2 replays + 1 evaluation", len(d)),
                          ("compile", "first fast='compile': the same + torch.compile", len(d)),
                          ("compile", "next fast='compile', new model and data set size (compiled code reused)", len(d) // 2)):
        start = time.perf_counter()
        train.fit(models.TinyUNet(3, 5, width=width), d[:n], d[:64], epochs=3, batch_size=batch_size, device="cuda",
                  progress=False, max_steps=5, eval_every=5, fast=fast, class_weights=train.CLASS_WEIGHTS["roads"])
        rows.append([f"{what}, batch {batch_size}", f"{time.perf_counter() - start:.2f}"])
    return rows


def _gpu_throughput(batches: Sequence[int] = (256, 1024), width: int = 16) -> list[list[object]]:
    """Training images/s of ``fit`` eager / fast=True / fast='compile' at large batches (median step)."""
    import torch

    from . import data, models, train

    d = data.road_scenes(4096, seed=7)
    rows = []
    for batch in batches:
        for fast, steps in ((False, 60), (True, 200), ("compile", 200)):
            torch.manual_seed(0)
            start = time.perf_counter()
            h = train.fit(models.TinyUNet(3, 5, width=width), d, d[:64], epochs=-(-steps // (len(d.images) // batch)),
                          batch_size=batch, device="cuda", progress=False, max_steps=steps, eval_every=steps,
                          class_weights=train.CLASS_WEIGHTS["roads"], fast=fast)
            wall = time.perf_counter() - start
            ips = batch / float(np.median(h["step_seconds"][5:]))
            rows.append([{False: "eager (fast=False)", True: "fast=True", "compile": "fast='compile'"}[fast], batch,
                         f"{ips:,.0f}", steps, f"{wall:.1f}", f"{h['step_loss'][-1]:.3f}"])
    return rows


def bench_train(device: str = "auto", batch_size: int = 32, threads: int = 2, seeds: Sequence[int] = (0, 1, 2, 3)) -> None:
    """Train the tiny UNet on road scenes once per seed and print the table (see ``train.benchmark``).

    On CUDA it also prints the fast path's table (``fit(..., fast=True)``: time to mIoU 0.90),
    the first-call set-up costs and training images/s at batch 256 and 1,024 for the eager loop,
    ``fast=True`` and ``fast="compile"`` (64×64 road scenes).
    """
    from .train import benchmark, pick_device

    dev = pick_device(device)
    if dev.type != "cuda":
        benchmark(device=device, batch_size=batch_size, threads=threads, seeds=seeds)
        return
    setup = _gpu_setup()
    benchmark(device=device, batch_size=batch_size, threads=threads, seeds=seeds)
    print()
    benchmark(device=device, batch_size=batch_size, threads=threads, seeds=seeds, fast=True)
    print()
    print("first-call set-up in a fresh process (seconds, wall clock)")
    print_table(["what", "s"], setup)
    print()
    print("training throughput, 64×64 road scenes, TinyUNet width 16, bf16 autocast, fused Adam, channels-last "
          "(img/s from the median step after 5)")
    print_table(["path", "batch", "train img/s", "steps", "run s (incl. set-up)", "last loss"], _gpu_throughput())


if __name__ == "__main__":
    main()
