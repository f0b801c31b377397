"""Refuse an answer that calls the library function the exercise asks the learner to write.

An exercise such as "write ``dice_per_image`` with numpy" is passed by a one-liner around
``segcourse.metrics.dice``, and "write the weighted cross-entropy in numpy" by
``torch.nn.functional.cross_entropy``: the check compares with exactly those functions. A
:class:`Watch` calls the learner's function through :func:`~segcourse.checks._core._call` and,
while it runs, notes every call into the library functions it was told to watch (with
:func:`sys.setprofile`, so an ``import`` inside the answer, an alias or a method that calls the
function are all seen; an answer that removes that hook is refused). After the check's cases pass, :meth:`Watch.refuse` fails the check with
a hint that says what was called and to write it with numpy. A wrong answer that happens to call
the library still gets the hint that names its mistake first.

Typical use in a check::

    call = Watch(LIBRARY + (("sklearn.metrics", {"confusion_matrix"}),))
    got = call(confusion_from_scores, scores, target, what="confusion_from_scores")
    ...                                   # the cases, with their hints
    call.refuse("confusion_from_scores")  # last: the answer is right, but is it the learner's?
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterable

from ._core import _call

#: Watched in every numpy exercise of lessons 00 and 01: any function of segcourse itself, the
#: checks' own reference functions included (``segcourse.checks.lesson00._dice_per_image``).
LIBRARY: tuple[tuple[str, frozenset[str] | None], ...] = (("segcourse", None),)

#: The check machinery, which runs inside the watched call and is not the learner's.
_OWN = frozenset({"segcourse.checks._core", __name__})

#: Decorator modules whose wrapper frames stand between the caller and the decorated function:
#: sklearn's ``validate_params`` wraps ``compute_class_weight``, ``f1_score``, ... and lives in
#: ``sklearn.utils``, so without looking through it a rule ``("sklearn.utils", ...)`` would take
#: the learner's call for one made by the library itself.
_WRAPPERS = frozenset({"sklearn.utils._param_validation"})


def _rules(rules: Iterable[tuple[str, Iterable[str] | None]]) -> tuple[tuple[str, frozenset[str] | None], ...]:
    return tuple((str(prefix), None if names is None else frozenset(names)) for prefix, names in rules)


class Watch:
    """Call a learner's function and note the watched library functions it calls.

    Parameters
    ----------
    rules : ``(module prefix, function names)`` pairs; names ``None`` watches every function of
        the module and its submodules (``("segcourse", None)``), a set only those names
        (``("torch.nn.functional", {"cross_entropy"})``).

    Examples
    --------
    >>> import numpy as np
    >>> from segcourse import metrics
    >>> call = Watch(LIBRARY)
    >>> call(lambda p, t: metrics.iou(p, t), np.ones((2, 2)), np.ones((2, 2)), what="iou")
    1.0
    >>> call.seen
    ['segcourse.metrics.iou']
    >>> call.refuse("iou")
    Traceback (most recent call last):
    ...
    AssertionError: your iou calls segcourse.metrics.iou: ...
    >>> own = Watch(LIBRARY)
    >>> float(own(lambda p, t: (p * t).sum() / np.maximum(p, t).sum(), np.ones((2, 2)), np.ones((2, 2)), what="iou"))
    1.0
    >>> own.refuse("iou")      # numpy only: nothing to refuse
    >>> from sklearn.utils.class_weight import compute_class_weight   # behind sklearn's validate_params
    >>> import sys
    >>> off = Watch(LIBRARY)
    >>> off(lambda p, t: (sys.setprofile(None), metrics.iou(p, t))[1], np.ones((2, 2)), np.ones((2, 2)), what="iou")
    Traceback (most recent call last):
    ...
    AssertionError: your iou switched off the check's watch: ...
    >>> sk = Watch((("sklearn.utils", {"compute_class_weight"}),))
    >>> sk(lambda y: compute_class_weight("balanced", classes=np.array([0, 1]), y=y), np.array([0, 0, 1]), what="w").tolist()
    [0.75, 1.5]
    >>> sk.seen
    ['sklearn.utils.class_weight.compute_class_weight']
    """

    def __init__(self, rules: Iterable[tuple[str, Iterable[str] | None]]) -> None:
        self.rules = _rules(rules)
        self.seen: list[str] = []

    def _library(self, frame: Any, name: str | None) -> bool:
        """Is ``frame`` a watched library function (``name`` None: any function of a watched module)?

        Code compiled from text (a notebook cell, a doctest: file names in angle brackets) is the
        learner's, whatever module it runs in; so is the check machinery (``_OWN``).
        """
        module = frame.f_globals.get("__name__") or ""
        if module in _OWN or frame.f_code.co_filename.startswith("<"):
            return False
        return any((module == prefix or module.startswith(prefix + ".")) and (names is None or name is None or name in names)
                   for prefix, names in self.rules)

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        # Module code (``<module>``) runs when an ``import`` inside the answer loads a library: it
        # is not a call the learner made, and hundreds of such frames would fill ``seen`` first.
        if event != "call" or frame.f_code.co_name == "<module>" or not self._library(frame, frame.f_code.co_name):
            return
        caller = frame.f_back
        while caller is not None and caller.f_globals.get("__name__") in _WRAPPERS:
            caller = caller.f_back                   # look through sklearn's validate_params wrapper
        if caller is not None and self._library(caller, None):
            return                                   # called by the library itself, not by the answer
        full = f"{frame.f_globals.get('__name__')}.{frame.f_code.co_name}"
        if full not in self.seen and len(self.seen) < 8:
            self.seen.append(full)

    def __call__(self, fn: Callable, *args: Any, what: str) -> Any:
        """``_call(fn, *args, what=what)``, watching what ``fn`` calls."""
        __tracebackhide__ = True  # noqa: F841
        previous, hook = sys.getprofile(), self._profile
        sys.setprofile(hook)
        try:
            result = _call(fn, *args, what=what)
            if sys.getprofile() != hook:             # the answer removed or replaced the watch
                raise AssertionError(
                    f"your {what} switched off the check's watch: after it ran, the profile hook the check "
                    f"installed (sys.setprofile) was gone. The check notes which functions your answer calls; "
                    f"remove sys.setprofile / sys.settrace (and any profiler) from your function.")
            return result
        finally:
            sys.setprofile(previous)

    def refuse(self, what: str) -> None:
        """Fail with a hint if the learner's function called a watched library function."""
        if not self.seen:
            return
        first = self.seen[0]
        whose = ("the check's own reference" if first.startswith("segcourse.checks.")
                 else "the library function the check compares with")
        raise AssertionError(f"your {what} calls {first}: it gives the right numbers, but it is {whose}, and this "
                             f"exercise asks you to write it yourself. Replace the call with numpy "
                             f"(np.count_nonzero, np.bincount, np.exp, np.log, indexing, ...).")
