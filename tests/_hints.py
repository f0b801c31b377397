"""What every check test asserts about a hint: the check fails, its hint holds the given words, and no
line of it is longer than nbgrader shows (``checks.HINT_WIDTH``)."""

from __future__ import annotations

import pytest

from segcourse import checks


def fails(check, answer, *words):
    """Run ``check(answer)``; it must fail with a hint that contains each of ``words``; return the hint
    as one line (hints are wrapped at :data:`segcourse.checks.HINT_WIDTH` characters)."""
    with pytest.raises(AssertionError) as info:
        check(answer)
    text = " ".join(str(info.value).split())
    for w in words:
        assert w in text, str(info.value)
    assert all(len(line) <= checks.HINT_WIDTH for line in str(info.value).splitlines()), str(info.value)
    return text
