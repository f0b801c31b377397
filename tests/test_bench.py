"""``python -m segcourse.bench train``: what it says before, during and after each training run."""

from __future__ import annotations

import re

from segcourse import bench, train


def test_benchmark_prints_one_row_per_seed_as_soon_as_that_seed_finishes(capsys, monkeypatch):
    """One row per seed, and the row of seed 0 is out (and flushed) before seed 1 starts training, not
    at the end (one benchmark run checks both: each costs seconds)."""
    events: list[tuple] = []
    real_fit, real_print = train.fit, print

    def fit(*args, **kwargs):
        events.append(("fit", kwargs.get("seed"), kwargs.get("progress")))
        return real_fit(*args, **kwargs)

    def spy_print(*args, **kwargs):
        text = " ".join(map(str, args))
        if re.match(r"\| \d+ \| 385,813 \|", text):
            events.append(("row", int(text.split("|")[1]), kwargs.get("flush")))
        real_print(*args, **kwargs)

    monkeypatch.setattr(train, "fit", fit)
    monkeypatch.setattr(bench, "print", spy_print, raising=False)
    hists = bench.benchmark(device="cpu", threads=1, seeds=[0, 1], n_train=64, epochs=1, n_val=8)
    runs = [e for e in events if e[0] == "row" or e[1] in (0, 1)]
    assert runs == [("fit", 0, True), ("row", 0, True), ("fit", 1, True), ("row", 1, True)], events
    captured = capsys.readouterr()
    out = captured.out
    assert len(hists) == 2 and all(h["images_seen"] == 64 for h in hists)
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| seed | parameters | train img/s (median step) | images to mIoU 0.80")
    assert table[1].startswith("| 0 | 385,813 |") and table[2].startswith("| 1 | 385,813 |")
    assert "class weights (1, 1, 1, 3, 3)" in out
    assert "2 training run(s) of 2 steps (one per seed), about" in out  # says what it runs and how long
    # the table on stdout stays one block: fit's "training on cpu" line does not split it
    assert "training on" not in out
    # progress within each run: fit's tqdm bar, on stderr (a widget in Jupyter)
    assert len(re.findall(r"training: 100%.*2/2", captured.err)) == 2, captured.err


def test_bench_train_command_line_runs_a_small_benchmark(capsys):
    bench.main(["train", "--device", "cpu", "--threads", "1", "--seeds", "2", "--n-train", "32", "--epochs", "1", "--n-val", "8"])
    out = capsys.readouterr().out
    assert "32 road scenes × 1 epochs" in out and "1 training run(s) of 1 steps" in out
    assert re.search(r"^\| 2 \| 385,813 \|", out, re.M)


def test_readme_lists_the_command_its_cpu_table_was_made_with(monkeypatch):
    """The command in the README's benchmark list is the one the CPU table was measured with: the
    options the table's heading names are on it, and it runs the seeds the table has rows for."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    listed = re.search(r"^(python -m segcourse\.bench train --device cpu\b[^#\n]*)", readme, re.M).group(1).split()
    heading, block = re.search(r"^\*\*CPU\*\*(.*?)```text\n(.*?)```", readme, re.M | re.S).groups()
    for option in re.findall(r"`(--[^`]+)`", heading):
        assert " ".join(listed).find(option) >= 0, f"the CPU table was made with {option}; the listed command lacks it"
    seeds = [int(s) for s in re.findall(r"^\| (\d+) \| [\d,]+ \|", block, re.M)]
    parsed = {}
    monkeypatch.setattr(bench, "bench_train", lambda **kw: parsed.update(kw))
    bench.main(listed[3:])
    assert parsed["device"] == "cpu" and list(parsed["seeds"]) == seeds, (parsed, seeds)


def test_bench_metrics_prints_the_bincount_floor_and_a_bucket_failures_row(capsys):
    bench.main(["metrics", "--n", "2", "--size", "32", "--repeats", "1", "--scenes", "20"])
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| K | pixels | segcourse ms | numpy bincount ms | segcourse / bincount | sklearn ms")
    assert [line.split(" | ")[0] for line in table[1:3]] == ["| 5", "| 19"]
    assert "bucket_failures on 20 road scenes of 64×64" in out
    assert table[3].startswith("| scenes | ms | ms per scene | failing | false_positive_class | small_region | boundary")
    scenes, _, _, failing, *counts = [c.strip() for c in table[4].strip("| ").split("|")]
    assert scenes == "20" and failing == "20" and all(int(c) > 0 for c in counts), table[4]  # every bucket exercised
