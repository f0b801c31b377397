"""A failed check in a Jupyter kernel: one short message with the hint, and still a failed cell.

IPython ignores ``__tracebackhide__``: before segcourse.checks registered its handler, a learner saw
the frames of checks.py above the hint. The cell must still end in an error (nbgrader scores a
grade cell with an error output 0; nbclient stops on it), with the check's exception as its name.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

from segcourse import checks, metrics

ROOT = Path(__file__).resolve().parents[1]
nbclient = pytest.importorskip("nbclient")

SETUP = ("from segcourse.checks import check_dice_per_image\nfrom segcourse import metrics\nimport numpy as np\n"
         "def dice(p, t):\n"
         "    p, t = np.asarray(p) != 0, np.asarray(t) != 0\n"
         "    total = np.count_nonzero(p, axis=(1, 2)) + np.count_nonzero(t, axis=(1, 2))\n"
         "    return np.divide(2.0 * np.count_nonzero(p & t, axis=(1, 2)), total, out=np.full(len(p), np.nan), where=total > 0)")
WRONG = "check_dice_per_image(lambda p, t: np.array([metrics.iou(a, b) for a, b in zip(p, t)]))   # IoU, not Dice"


def _run(*sources: str, allow_errors: bool, monkeypatch) -> nbformat.NotebookNode:
    # the kernel imports this checkout's segcourse, whatever is installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def test_a_failed_check_is_one_short_error_in_jupyter(monkeypatch):
    nb = _run(SETUP, WRONG, "1 / 0", "check_dice_per_image(dice)", allow_errors=True, monkeypatch=monkeypatch)
    _, wrong, other, right = nb.cells
    (out,) = wrong.outputs  # nothing on stdout or stderr, only the error
    assert out.output_type == "error" and out.ename == "CheckFailed"
    assert "0.5 is its IoU" in " ".join(out.evalue.split())
    text = "\n".join(out.traceback)
    assert "0.5 is its IoU" in " ".join(text.split())
    assert "checks.py" not in text and "_core.py" not in text and "lesson00.py" not in text, text
    assert "Traceback" not in text and "wrapper" not in text, text
    assert len(text.splitlines()) == len(out.evalue.splitlines()), text  # the hint and nothing else
    assert text.splitlines()[0].replace("\x1b[0;31m", "").replace("\x1b[0m", "").startswith("CheckFailed: ")
    # any other error keeps IPython's usual traceback; a passing check still just prints
    (err,) = other.outputs
    assert err.ename == "ZeroDivisionError" and len(err.traceback) > 1
    assert [o.get("text") for o in right.outputs] == ["check_dice_per_image: all cases pass\n"]


def test_a_failed_check_still_fails_the_cell(monkeypatch):
    with pytest.raises(nbclient.exceptions.CellExecutionError) as info:
        _run(SETUP, WRONG, "print('not reached')", allow_errors=False, monkeypatch=monkeypatch)
    assert info.value.ename == "CheckFailed"


def test_outside_jupyter_it_is_a_plain_assertion_error():
    with pytest.raises(AssertionError, match="is its IoU"):
        checks.check_dice_per_image(lambda p, t: np.array([metrics.iou(a, b) for a, b in zip(p, t)]))
    assert checks.register_ipython_handler() is False  # no IPython shell running under pytest


def test_the_handler_leaves_another_librarys_handler_alone():
    class Shell:
        custom_exceptions = (KeyError,)

        def set_custom_exc(self, exc_tuple, handler):  # pragma: no cover - must not be called
            raise AssertionError("replaced another library's handler")

    assert checks.register_ipython_handler(Shell()) is False
    registered = []
    shell = Shell()
    shell.custom_exceptions = ()
    shell.set_custom_exc = lambda exc, handler: registered.append((exc, handler))
    assert checks.register_ipython_handler(shell) is True and registered[0][0] == (checks.CheckFailed,)
