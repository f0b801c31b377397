"""Root pytest configuration for the notebooks.

* nbval is strict for notebooks/ and solutions/ and lax for exercises/: nbval's ``--nbval-lax``
  switch is global, and exercises are committed as nbgrader releases them (no outputs), so there
  is nothing to compare there: they only have to run to the end.
* In an exercise, the learner's stubs raise ``NotImplementedError`` and the grade cells that check
  them fail until the learner answers. Which cells those are is read from nbgrader's own cell
  metadata (``tools/course.py: cells_allowed_to_raise``), not from tags written into the files.
* The jupytext sources paired with the notebooks (notebooks/*.py, solutions/*.py) are lessons, not
  modules: ``--doctest-modules`` must not import (and so run) them.
* Two tiers. Plain ``pytest`` (no path arguments) is the quick tier a developer runs after each
  change: unit, property and docstring tests, the drift and palette tests, the exercise checks.
  ``pytest --full`` (what CI runs) adds the course tier: strict nbval of every lesson and solution,
  the class grading round trips and the three headless-browser tests, which execute every notebook
  several times over. Naming a path (``pytest notebooks/01_semantic_segmentation.ipynb``) runs
  what it names in either tier.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

# pytest-xdist runs two workers on a 2-core machine, each with its own torch threads and notebook
# kernels. With OpenMP's default ACTIVE wait policy an idle torch thread spins for its next task,
# and the spinning threads of one process starve the other: lesson 01's training cell took 146 s
# next to test_experiments, 18 s with PASSIVE (measured on the 2-core CI machine). PASSIVE changes
# when threads sleep, never what they compute. Set before torch starts; kernels inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
collect_ignore_glob = ["notebooks/*.py", "solutions/*.py", "exercises/*.py"]


def _in_exercises(path: Path) -> bool:
    return path.suffix == ".ipynb" and path.resolve().parent == ROOT / "exercises"


@pytest.hookimpl(hookwrapper=True)
def pytest_collect_file(file_path, parent):
    outcome = yield
    if _in_exercises(Path(file_path)):
        for node in outcome.get_result() or []:
            if hasattr(node, "compare_outputs"):
                node.compare_outputs = False


# the course tier: each of these executes whole notebooks (or a browser session over them)
COURSE_TIER = (
    "notebooks/",
    "solutions/",
    "tests/test_classroom.py",
    "tests/test_classroom_graded.py",
    "tests/test_learner_copy.py",
    "tests/test_site_browser.py",
    "tests/test_widget_browser.py",
)


def pytest_addoption(parser):
    parser.addoption(
        "--full",
        action="store_true",
        help="also run the course tier (every notebook's strict nbval, the class grading round trips, "
        "the browser tests); CI runs this",
    )


def _quick_tier_only(config) -> bool:
    return not config.getoption("full") and config.args_source == pytest.Config.ArgsSource.TESTPATHS


def pytest_report_header(config):
    if _quick_tier_only(config):
        return (
            "quick tier: the notebooks' nbval, the class round trips and the browser tests are "
            "deselected; `pytest --full` runs everything (CI does)"
        )
    return None


def _deselect_course_tier(config, items) -> None:
    if not _quick_tier_only(config):
        return
    keep, drop = [], []
    for item in items:
        path = Path(str(item.path)).resolve()
        rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else ""
        (drop if rel.startswith(COURSE_TIER) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_modifyitems(config, items):
    _deselect_course_tier(config, items)
    may_raise = {}
    for item in items:
        nb = getattr(getattr(item, "parent", None), "nb", None)
        if nb is None or not hasattr(item, "cell_num") or not _in_exercises(Path(item.parent.path)):
            continue
        key = str(item.parent.path)
        if key not in may_raise:
            if str(ROOT / "tools") not in sys.path:
                sys.path.insert(0, str(ROOT / "tools"))
            from course import cells_allowed_to_raise

            may_raise[key] = cells_allowed_to_raise(nb)
        if item.cell_num in may_raise[key]:
            item.options["check_exception"] = True


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, except that each lesson's classroom round trip is a work unit of its own.

    Each test file stays on one worker (a notebook's cells share one kernel), but
    ``tests/test_classroom.py`` holds a minute of grading per lesson: as one unit it ran all of it
    on one worker after the other had finished. Split by lesson, the two workers share it.
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LoadFileSplitClassroom(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if path == "tests/test_classroom.py" and nodeid.endswith("]") else path

        def _assign_work_unit(self, node) -> None:
            # longest units first: xdist orders units by their number of tests, which would send
            # the one-test classroom units (20-45 s each) last, to a tail where one worker idles
            lesson = next((s for s in self.workqueue if s.startswith("tests/test_classroom.py::")), None)
            if lesson is not None:
                self.workqueue.move_to_end(lesson, last=False)
            super()._assign_work_unit(node)

    return LoadFileSplitClassroom(config, log)
