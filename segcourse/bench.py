"""Benchmarks that print tables (performance is measured here, never asserted in tests).

Run ``python -m segcourse.bench metrics``, ``python -m segcourse.bench data`` or
``python -m segcourse.bench train [--device cpu|cuda]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from typing import Callable, Sequence

import numpy as np

from ._tables import print_table, table_header, table_row


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _bincount_iou(pred: np.ndarray, target: np.ndarray, k: int) -> np.ndarray:
    """The bare-numpy baseline: one ``np.bincount`` over ``K*t + p`` (int64), no checks at all."""
    cm = np.bincount(target.astype(np.int64).ravel() * k + pred.ravel(), minlength=k * k).reshape(k, k)
    tp = np.diag(cm).astype(np.float64)
    den = cm.sum(0) + cm.sum(1) - tp
    out = np.full(k, np.nan)
    np.divide(tp, den, out=out, where=den > 0)
    return out


def _failing_road_scenes(n: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """(preds, targets) for :func:`segcourse.failures.bucket_failures`: ``n`` 64×64 road scenes and
    predictions with every kind of failure -- all shifted one pixel (boundary errors), cars erased
    in every 3rd (missed small regions), a block of road called sidewalk in every 4th (class
    confusion), a car pixel in the sky of every 5th (a false-positive class)."""
    from . import data

    targets = data.road_scenes(n, seed=seed).labels
    preds = np.roll(targets, 1, axis=2)
    car, road, sidewalk = (data.ROAD_CLASSES.index(c) for c in ("car", "road", "sidewalk"))
    for i in range(0, n, 3):
        preds[i][preds[i] == car] = road
    for i in range(0, n, 4):
        block = preds[i, 40:, :32]
        block[block == road] = sidewalk
    preds[::5, 0, 0] = car
    return preds, targets


def bench_metrics(n: int = 200, size: int = 256, repeats: int = 5, scenes: int = 200) -> list[list[object]]:
    """Time ``per_class_iou`` against a bare ``np.bincount``, scikit-learn and torchmetrics on the same
    label maps, then ``failures.bucket_failures`` on ``scenes`` road scenes with failures of every kind.

    The bincount column is the floor: the same counting with no conversion, no checks and no
    chunking, so ``segcourse ms / bincount ms`` is what validation and the rest cost (or save).

    Examples
    --------
    >>> rows = bench_metrics(n=2, size=32, repeats=1, scenes=4)  # doctest: +ELLIPSIS
    per_class_iou on 2 uint8 label maps of 32×32 (median of 1 runs, ... CPUs visible)
    | K | pixels | segcourse ms | numpy bincount ms | segcourse / bincount | sklearn ms | ...
    ...
    bucket_failures on 4 road scenes of 64×64 ...
    | scenes | ms | ms per scene | failing | false_positive_class | small_region | boundary | class_confusion |
    ...
    """
    from sklearn.metrics import confusion_matrix as sk_cm

    from . import failures, metrics

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
        np.testing.assert_allclose(_bincount_iou(pred, target, k), ref)
        bare = _median_seconds(lambda: _bincount_iou(pred, target, k), repeats)

        def sklearn_iou():
            cm = sk_cm(target.ravel(), pred.ravel(), labels=np.arange(k))
            return metrics.iou_from_confusion(cm)

        np.testing.assert_allclose(sklearn_iou(), ref)
        sk = _median_seconds(sklearn_iou, max(1, repeats // 2))
        row = [k, f"{n}×{size}×{size}", f"{ours * 1e3:.1f}", f"{bare * 1e3:.1f}", f"{ours / bare:.2f}",
               f"{sk * 1e3:.0f}", f"{sk / ours:.0f}×"]
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
    print_table(["K", "pixels", "segcourse ms", "numpy bincount ms", "segcourse / bincount", "sklearn ms",
                 "speed-up vs sklearn", "torchmetrics ms (defaults)", "speed-up vs torchmetrics"], rows)

    preds, targets = _failing_road_scenes(scenes)
    secs = _median_seconds(lambda: failures.bucket_failures(preds, targets, 5), max(1, repeats // 2))
    res = failures.bucket_failures(preds, targets, 5)
    print(f"bucket_failures on {scenes} road scenes of 64×64 (every one shifted a pixel, with missed cars, "
          f"road called sidewalk, stray car pixels; median of {max(1, repeats // 2)} runs)")
    print_table(["scenes", "ms", "ms per scene", "failing", *res["counts"]],
                [[scenes, f"{secs * 1e3:.0f}", f"{secs * 1e3 / max(scenes, 1):.2f}", res["failing"],
                  *res["counts"].values()]])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m segcourse.bench", description=__doc__)
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("metrics", help="per_class_iou vs numpy bincount, scikit-learn and torchmetrics; bucket_failures")
    m.add_argument("--n", type=int, default=200)
    m.add_argument("--size", type=int, default=256)
    m.add_argument("--repeats", type=int, default=5)
    m.add_argument("--scenes", type=int, default=200, help="road scenes for the bucket_failures row")
    d = sub.add_parser("data", help="speed of the toy dataset generators")
    d.add_argument("--n", type=int, default=1000)
    t = sub.add_parser("train", help="tiny UNet: throughput and images to mIoU 0.80 / 0.90")
    t.add_argument("--device", default="auto")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="one training run per seed")
    t.add_argument("--n-train", type=int, default=2000, help="training images per run (fewer: a quick try)")
    t.add_argument("--epochs", type=int, default=4)
    t.add_argument("--n-val", type=int, default=200, help="held-out scenes the mIoU is measured on (fewer: a quick try)")
    args = parser.parse_args(argv)
    if args.what == "metrics":
        bench_metrics(args.n, args.size, args.repeats, args.scenes)
    elif args.what == "data":
        bench_data(args.n)
    else:
        bench_train(device=args.device, batch_size=args.batch_size, threads=args.threads, seeds=args.seeds,
                    n_train=args.n_train, epochs=args.epochs, n_val=args.n_val)


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


def benchmark(device: str = "auto", batch_size: int = 32, threads: int = 2, seeds: Sequence[int] = (0,),
              n_train: int = 2000, epochs: int = 4, width: int = 16, fast: bool | str = False,
              progress: bool = True, n_val: int = 200) -> list[dict]:
    """Train the tiny UNet on road scenes once per seed and print one table row per seed as it finishes.

    Prints what it runs and roughly how long it takes, the table's header, then for each seed a
    progress bar while it trains (``tqdm.auto``: a text bar on stderr in a terminal, a widget in
    Jupyter) and its row the moment it finishes: parameters, training images/s, images and
    seconds to held-out mIoU 0.80 / 0.90 and the final mIoU. The per-class IoU of every seed
    follows at the end.

    One row per seed (seed = data, initial weights and batch order), because the number of images
    a run needs to reach a target varies with all three. Image counts are exact; images/s comes
    from the median training step; seconds are the sum of the training steps up to the target (no
    evaluations, no progress bar), after a short warm-up run that pays one-off start-up costs (CUDA
    context, kernel selection, graph capture) outside the clock.

    Parameters
    ----------
    device : ``"auto"``, ``"cpu"``, ``"cuda"``, ... (as :func:`segcourse.train.pick_device`).
    batch_size, threads : training batch size; CPU threads (``torch.set_num_threads``).
    seeds : one training run per seed.
    n_train, epochs, width : training images per run, epochs, TinyUNet width.
    fast : passed to :func:`segcourse.train.fit`; with it, ``s to 0.90 (wall)`` also counts the
        run's graph capture and its evaluations.
    progress : show a progress bar while each seed trains.
    n_val : held-out scenes the mIoU is measured on (200; fewer only to try the command quickly).

    Returns
    -------
    list of dict
        The history :func:`segcourse.train.fit` returned for each seed.

    Examples
    --------
    >>> hists = benchmark(device="cpu", threads=1, seeds=[0], n_train=32, epochs=1, progress=False, n_val=8)
    ... # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
    TinyUNet width 16 on CPU, 1 threads, fp32, batch 32, 32 road scenes × 1 epochs, CE + Dice, ...
    1 training run(s) of 1 steps (one per seed), about ... s on this machine
    | seed | parameters | train img/s (median step) | images to mIoU 0.80 | s to 0.80 | images to mIoU 0.90 | s to 0.90 | final mIoU |
    |---|---|---|---|---|---|---|---|
    | 0 | 385,813 | ... |
    final held-out IoU per class
    | seed | sky | road | sidewalk | lane marking | car |
    |---|---|---|---|---|---|
    | 0 | ... |
    >>> hists[0]["images_seen"]
    32
    """
    import torch

    from . import data as sdata
    from .models import TinyUNet, count_parameters
    from .train import CLASS_WEIGHTS, fit, pick_device

    torch.set_num_threads(threads)
    dev = pick_device(device)
    weights = CLASS_WEIGHTS["roads"]
    warm = sdata.road_scenes(2 * batch_size, seed=999)
    wh = fit(TinyUNet(3, 5, width=width), warm, warm[:8], epochs=2, batch_size=batch_size, device=dev, progress=False,
             max_steps=4, eval_every=4, fast=fast)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {threads} threads"
    mode = {False: "", True: ", fast=True (CUDA graph)", "compile": ", fast='compile' (torch.compile + CUDA graph)"}[fast]
    print(f"TinyUNet width {width} on {name}, fp32{' + bf16 autocast' if dev.type == 'cuda' else ''}{mode}, batch {batch_size}, "
          f"{n_train} road scenes × {epochs} epochs, CE + Dice, class weights {weights}, torch {torch.__version__}")
    steps = epochs * max(1, n_train // batch_size)
    # a rough forecast from the warm-up's later steps, plus ~40% for the evaluations (every 5 steps)
    guess = len(seeds) * steps * float(np.median(wh["step_seconds"][1:])) * 1.4
    print(f"{len(seeds)} training run(s) of {steps} steps (one per seed), about "
          f"{f'{guess / 60:.0f} min' if guess >= 90 else f'{guess:.0f} s'} on this machine", flush=True)
    print(table_header(["seed", "parameters", "train img/s (median step)", "images to mIoU 0.80", "s to 0.80",
                        "images to mIoU 0.90", "s to 0.90", "final mIoU"] + (["s to 0.90 (wall)"] if fast else [])),
          flush=True)
    hists, per_class = [], []
    for seed in seeds:
        train = sdata.road_scenes(n_train, seed=1000 + seed)
        val = sdata.road_scenes(n_val, seed=2000 + seed)
        torch.manual_seed(seed)
        model = TinyUNet(3, 5, width=width)
        # fit's own progress bar (tqdm.auto, on stderr or as a Jupyter widget); its "training on ..."
        # line on stdout would split the table, so it is dropped (the header above names the device)
        with contextlib.redirect_stdout(io.StringIO()):
            hist = fit(model, train, val, epochs=epochs, batch_size=batch_size, device=dev, seed=seed, progress=progress,
                       eval_every=5, class_weights=weights, fast=fast)
        evals = hist["eval"]

        def first(th, evals=evals):
            hit = next((e for e in evals if e["miou"] >= th), None)
            return ("not reached", "-") if hit is None else (hit["images"], f"{hit['train_seconds']:.{1 if dev.type == 'cpu' else 2}f}")

        # throughput from the median step (shared machines have bursts of other work); the
        # seconds to a target are the sum of the actual training steps up to it
        row = [seed, f"{count_parameters(model):,}", f"{batch_size / float(np.median(hist['step_seconds'])):.0f}",
               *first(0.80), *first(0.90), f"{evals[-1]['miou']:.3f}"]
        if fast:
            hit = next((e for e in evals if e["miou"] >= 0.90), None)
            row.append("-" if hit is None else f"{hit['seconds']:.2f}")
        print(table_row(row), flush=True)
        per_class.append([seed] + [f"{v:.3f}" for v in evals[-1]["per_class_iou"]])
        hists.append(hist)
    print("final held-out IoU per class")
    print_table(["seed", *sdata.ROAD_CLASSES], per_class, flush=True)
    return hists


def bench_train(device: str = "auto", batch_size: int = 32, threads: int = 2, seeds: Sequence[int] = (0, 1, 2, 3),
                n_train: int = 2000, epochs: int = 4, n_val: int = 200) -> None:
    """What ``python -m segcourse.bench train`` prints: :func:`benchmark`, one row per seed as each finishes.

    On CUDA it also prints the fast path's table (``fit(..., fast=True)``: time to mIoU 0.90),
    the first-call set-up costs and training images/s at batch 256 and 1,024 for the eager loop,
    ``fast=True`` and ``fast="compile"`` (64×64 road scenes).

    Parameters
    ----------
    device, batch_size, threads, seeds, n_train, epochs, n_val : as for :func:`benchmark`.

    Examples
    --------
    >>> bench_train(device="cpu", threads=1, seeds=[3], n_train=32, epochs=1, n_val=8)  # doctest: +ELLIPSIS
    TinyUNet width 16 on CPU, 1 threads, ...
    | 3 | 385,813 | ...
    """
    from .train import pick_device

    dev = pick_device(device)
    kw = dict(device=device, batch_size=batch_size, threads=threads, seeds=seeds, n_train=n_train, epochs=epochs,
              n_val=n_val)
    if dev.type != "cuda":
        benchmark(**kw)
        return
    setup = _gpu_setup()
    benchmark(**kw)
    print()
    benchmark(**kw, fast=True)
    print()
    print("first-call set-up in a fresh process (seconds, wall clock)")
    print_table(["what", "s"], setup)
    print()
    print("training throughput, 64×64 road scenes, TinyUNet width 16, bf16 autocast, fused Adam, channels-last "
          "(img/s from the median step after 5)")
    print_table(["path", "batch", "train img/s", "steps", "run s (incl. set-up)", "last loss"], _gpu_throughput())


if __name__ == "__main__":
    main()
