"""The machinery every learner check shares: :func:`learner_check`, :class:`CheckFailed`, the IPython
handler that shows a failed check as one short message, and the helpers a check reads the
learner's answer with (:func:`_call`, :func:`_number`, :func:`_array`, :func:`_count`, :func:`_close`).

See the package docstring of :mod:`segcourse.checks` for how to write a new check. Importing this
module (which ``import segcourse.checks`` does) registers the IPython handler inside a kernel.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import sys
import textwrap
import time
import warnings
from typing import Any, Callable

import numpy as np

#: When this module was imported (the kernel session that runs the checks); see check_report.
_LOADED_AT = time.time()

#: Longest hint line; ``nbgrader validate`` truncates error lines at 87 characters.
HINT_WIDTH = 80


def _wrap(message: str, width: int = HINT_WIDTH) -> str:
    """Wrap every line of ``message`` to ``width`` characters (long words are broken too)."""
    lines = []
    for line in str(message).splitlines() or [""]:
        lines += textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False) or [""]
    return "\n".join(lines)


class CheckFailed(AssertionError):
    """A check found a mistake in the learner's answer; the message is the hint.

    An ``AssertionError``, so pytest, nbval and nbgrader count it as a failed test. In a Jupyter
    kernel it is shown as one short message, without a traceback (see :func:`register_ipython_handler`).

    Examples
    --------
    >>> issubclass(CheckFailed, AssertionError)
    True
    >>> raise CheckFailed("IoU of a mask with itself is 1.0")
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: IoU of a mask with itself is 1.0
    """


CheckFailed.__module__ = "segcourse.checks"  # its public home (the package re-exports it)


def _show_check_failed(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> list[str]:
    """IPython custom exception handler: a failed check as ``CheckFailed: <hint>``, no traceback.

    The shell shows the returned lines as the cell's error output (in a kernel: an ``error``
    message with ``ename`` ``CheckFailed``), so the cell still fails under nbgrader and nbclient.
    """
    stb = [f"\x1b[0;31m{etype.__name__}\x1b[0m: " + str(value).replace("\n", "\n" + " " * (len(etype.__name__) + 2))]
    shell._showtraceback(etype, value, stb)  # IPython >= 8 leaves the showing to the handler
    return stb


def register_ipython_handler(shell: Any = None) -> bool:
    """Show failed checks in IPython / Jupyter as one short message (done on import inside a kernel).

    IPython ignores ``__tracebackhide__``, so without this a failed check shows the learner the
    frames of this module above the hint. The handler only changes how a :class:`CheckFailed`
    is shown: the cell still raises, nbgrader still records it as failed. Another library's
    custom exception handler, if one is registered, is left in place.

    Parameters
    ----------
    shell : an IPython ``InteractiveShell``; default: the running one, if any.

    Returns
    -------
    bool
        True if the handler is registered now; False outside IPython or when another handler is.

    Examples
    --------
    >>> register_ipython_handler()  # plain Python (doctest): no IPython shell, nothing to do
    False
    """
    if shell is None:
        ipython = sys.modules.get("IPython")  # never import IPython just to look: plain Python has none running
        shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    current = tuple(getattr(shell, "custom_exceptions", ()) or ())
    if any(getattr(e, "__qualname__", "") != "CheckFailed" or getattr(e, "__module__", "") != CheckFailed.__module__ for e in current):
        return False  # someone else's handler: IPython holds only one
    shell.set_custom_exc((CheckFailed,), _show_check_failed)
    return True


register_ipython_handler()  # inside a kernel: from the first `import segcourse.checks` (or `from ... import`) on


def learner_check(check: Callable) -> Callable:
    """Make ``check`` safe to run on any learner answer under grading (see the module docstring).

    >>> @learner_check
    ... def check_positive(fn):
    ...     if not _number(_call(fn, 1, what="fn"), "fn") > 0:
    ...         raise AssertionError("fn(1) must be positive")
    >>> check_positive(lambda x: {"a": 1})
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: fn returned a dict; return one number (a float)
    >>> check_positive(lambda x: np.float64(0) / 0)    # no RuntimeWarning reaches stderr
    Traceback (most recent call last):
    ...
    segcourse.checks.CheckFailed: fn(1) must be positive
    """

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # noqa: F841  (read by pytest and IPython)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                return check(*args, **kwargs)
            except AssertionError as exc:
                message = str(exc)
            except Exception as exc:  # the check could not even read the answer or an argument
                message = (f"{check.__name__} could not use what it was given "
                           f"({type(exc).__name__}: {exc}). Check the arguments and what your "
                           f"function returns.")
        raise CheckFailed(_wrap(message)) from None

    wrapper.__learner_check__ = True
    return wrapper


def _call(fn: Callable, *args: Any, what: str) -> Any:
    """Call the learner's ``fn`` on deep copies of ``args``; any failure is an AssertionError."""
    __tracebackhide__ = True  # noqa: F841
    if not callable(fn):
        raise AssertionError(f"pass your function itself (e.g. check_dice_per_image(dice_per_image)), not {type(fn).__name__}")
    args = copy.deepcopy(args)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            return fn(*args)
    except NotImplementedError:
        raise AssertionError(f"{what} still raises NotImplementedError: replace the stub with your code") from None
    except AssertionError as exc:
        raise AssertionError(f"{what} raised AssertionError: {exc}") from None
    except Exception as exc:  # a crash is a failed check, with the reason
        text = str(exc).splitlines()[0] if str(exc) else ""
        raise AssertionError(f"{what} crashed with {type(exc).__name__}: {text[:200]}") from None


def _kind(value: Any) -> str:
    return type(value).__name__


def _plain(value: Any) -> Any:
    """torch tensors (also with requires_grad, on a GPU) -> numpy; anything else unchanged."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().float().numpy() if value.is_floating_point() else value.detach().cpu().numpy()
    return value


def _number(value: Any, what: str) -> float:
    """The learner's return value as one float, or an AssertionError that says what it was."""
    value = _plain(value)
    if isinstance(value, (dict, set, str, bytes)) or value is None or callable(value) or hasattr(value, "__next__"):
        raise AssertionError(f"{what} returned a {_kind(value)}; return one number (a float)")
    arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray, np.generic)) else None
    if arr is not None:
        if arr.size != 1 or arr.dtype == object:
            raise AssertionError(f"{what} returned {_kind(value)} of shape {np.shape(value)}; return one number")
        value = arr.reshape(-1)[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} returned a {_kind(value)}; return one number (a float)") from None


def _array(value: Any, what: str) -> np.ndarray:
    """The learner's return value as a numeric numpy array, or an AssertionError."""
    value = _plain(value)
    if isinstance(value, (dict, set, str, bytes)) or value is None or callable(value) or hasattr(value, "__next__"):
        raise AssertionError(f"{what} returned a {_kind(value)}; return a numpy array")
    if isinstance(value, (list, tuple)):
        value = [_plain(v) for v in value]
    try:
        arr = np.asarray(value)
    except ValueError:
        raise AssertionError(f"{what} returned a ragged list (rows of different lengths); return a numpy array") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise AssertionError(f"{what} returned {_kind(value)} of dtype {arr.dtype}; return a numeric numpy array")
    return arr


def _count(value: Any, what: str) -> int | float:
    """A count: an integer number, not a label map."""
    value = _plain(value)
    if np.ndim(value) if isinstance(value, (list, tuple, np.ndarray)) else False:
        raise AssertionError(f"{what} returned an array of shape {np.shape(value)}: return the number of "
                             f"objects (an int), not the label map")
    return _number(value, what)


def _close(a: Any, b: float, tol: float = 1e-9) -> bool:
    try:
        a = float(_plain(a))
    except (TypeError, ValueError):
        return False
    return (np.isnan(a) and np.isnan(b)) or abs(a - b) <= tol
