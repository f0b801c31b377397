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


#: The end of the refusal hint by default: "Replace the call with {USE_NUMPY}."
USE_NUMPY = "numpy of your own (array arithmetic, comparisons, np.count_nonzero, np.bincount, indexing, ...)"


def _machinery(frame: Any) -> bool:
    """Is ``frame`` import machinery rather than a function a learner calls: a module's body
    (``<module>``, run by an ``import``) or a module-level ``__getattr__`` / ``__dir__`` (PEP 562)?"""
    code = frame.f_code
    if code.co_name == "<module>":
        return True
    if code.co_name in ("__getattr__", "__dir__"):
        return getattr(frame.f_globals.get(code.co_name), "__code__", None) is code
    return False


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
        # A module's own ``__getattr__`` / ``__dir__`` (``segcourse.__getattr__`` loads ``segcourse.data``
        # on first use) is import machinery too: the learner's call is the function it hands back.
        if event != "call" or _machinery(frame) or not self._library(frame, frame.f_code.co_name):
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

    def refuse(self, what: str, use: str = USE_NUMPY) -> None:
        """Fail with a hint if the learner's function called a watched library function.

        Parameters
        ----------
        what : the exercise's function name, as the hint says it ("your dice_per_image calls ...").
        use : what to write the answer with instead; the hint ends "Replace the call with {use}."
            Default :data:`USE_NUMPY`; a check names the right tools, e.g.
            ``use="torch (torch.log_softmax, gather, masking, ...)"``.

        >>> call = Watch(LIBRARY)
        >>> call.seen = ["segcourse.data.augment"]
        >>> call.refuse("flip_pair", use="numpy indexing (image[:, ::-1], np.flip)")
        Traceback (most recent call last):
        ...
        AssertionError: your flip_pair calls segcourse.data.augment: it gives the right numbers, but it is the course's own helper for it, and this exercise asks you to write it yourself. Replace the call with numpy indexing (image[:, ::-1], np.flip).
        """
        if not isinstance(use, str):
            raise TypeError(f"use must be a string naming what to write the answer with, got {use!r} "
                            f"({type(use).__name__})")
        if not use.strip():
            raise ValueError("use must name what to write the answer with (e.g. 'numpy (np.bincount, ...)'), got ''")
        if not self.seen:
            return
        first = self.seen[0]
        if first.startswith("segcourse.checks."):
            whose = "the check's own reference"
        elif first.startswith("segcourse."):
            whose = "the course's own helper for it"
        else:
            whose = "a library function that computes it for you"
        if not first.startswith("segcourse."):
            # a library's private module (skimage.transform._warps.resize) is not what the learner typed;
            # its package re-exports the function under the public path
            *path, name = first.split(".")
            first = ".".join([part for part in path if not part.startswith("_")] + [name])
        raise AssertionError(f"your {what} calls {first}: it gives the right numbers, but it is {whose}, and this "
                             f"exercise asks you to write it yourself. Replace the call with {use}.")
