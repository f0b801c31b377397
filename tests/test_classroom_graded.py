"""The nbgrader round trip of every second lesson (01, 03, 05), in a file of its own: pytest-xdist's
``--dist loadfile`` keeps a file on one worker, so the two halves of the slowest test run side by side."""

import pytest

from test_classroom import LESSONS, grade_end_to_end, kernels_import_this_checkout  # noqa: F401  (autouse fixture)


@pytest.mark.parametrize("lesson", LESSONS[1::2])       # the other half: tests/test_classroom.py
def test_a_class_is_graded_end_to_end(lesson, tmp_path):
    grade_end_to_end(lesson, tmp_path)
