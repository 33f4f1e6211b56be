"""Call a plugged-in implementation safely and turn what it returns into arrays.

Whatever the candidate does -- raise, hang, return None, the wrong shapes,
NaN, complex or integer arrays, its tuple in the wrong order, or write into
the arrays it was given -- becomes a ``CandidateFailure`` with one short
message, never a crash or a hang of gradcert.  The candidate only ever sees
copies of gradcert's arrays.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback

import numpy as np


class CandidateFailure(Exception):
    """The candidate did not behave: a verdict (exit code 1), not a gradient comparison."""

    def __init__(self, verdict, message, detail=""):
        super().__init__(message)
        self.verdict, self.message, self.detail = verdict, message, detail


class CannotCheck(Exception):
    """The candidate declines this case (NotImplementedError): exit code 2 with advice."""


class _Timeout(BaseException):
    """Raised inside the candidate by the alarm; a BaseException so a bare `except Exception` in
    the candidate cannot swallow it."""


@contextlib.contextmanager
def _deadline(seconds):
    """Interrupt the block after ``seconds`` (main thread only; elsewhere no limit can be set)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call(fn, *args, what, timeout):
    """``fn(*args)``, with every misbehaviour turned into a CandidateFailure."""
    try:
        with _deadline(timeout):
            return fn(*args)
    except _Timeout:
        raise CandidateFailure("timed out", f"{what} did not return within {timeout:g} s "
                               "(raise --timeout if it is just slow)") from None
    except NotImplementedError as error:
        raise CannotCheck(f"{what} raised NotImplementedError: {error}".rstrip(": ")) from None
    except RecursionError as error:
        raise CandidateFailure("crashed", f"{what} raised RecursionError: {error}",
                               traceback.format_exc()) from None
    except Exception as error:
        raise CandidateFailure("crashed", f"{what} raised {type(error).__name__}: {error}",
                               traceback.format_exc()) from None


def as_array(value, what):
    """A candidate's tensor as a float ndarray, or a CandidateFailure saying what is wrong with it."""
    if value is None:
        raise CandidateFailure("invalid output", f"{what} is None")
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged nested lists and the like
        raise CandidateFailure("invalid output", f"{what} is not an array: {error}") from None
    if np.iscomplexobj(array):
        raise CandidateFailure("invalid output", f"{what} is complex ({array.dtype}); gradients of a "
                               "real cost are real")
    if array.dtype.kind in "iub":
        raise CandidateFailure("invalid output", f"{what} has integer dtype {array.dtype}: an integer "
                               "gradient has lost its digits (an int array from np.zeros_like?)")
    if array.dtype.kind != "f":
        raise CandidateFailure("invalid output", f"{what} has dtype {array.dtype}, not a floating point")
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise CandidateFailure("invalid output", f"{what} has {array[index]} at {index}")
    return array


def gradient_arrays(result, arch, what):
    """Check ``(nabla_b, nabla_w)`` against the architecture; return it as arrays and their dtype."""
    if result is None:
        raise CandidateFailure("invalid output", f"{what} returned None; expected (nabla_b, nabla_w)")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CandidateFailure("invalid output", f"{what} returned {type(result).__name__}; expected a "
                               "pair (nabla_b, nabla_w)")
    shapes = arch.shapes
    first, second = result
    for part, name in ((first, "nabla_b"), (second, "nabla_w")):
        listlike = isinstance(part, (tuple, list)) or (isinstance(part, np.ndarray) and part.dtype == object)
        if not listlike:
            raise CandidateFailure("invalid output", f"{what}: {name} is {type(part).__name__}; expected a "
                                   f"list with one array per layer ({arch.depth})")
        if len(part) != arch.depth:
            raise CandidateFailure("invalid output", f"{what}: {name} has {len(part)} entries for "
                                   f"{arch.depth} layers")
    if _shapes(first) == [w for w, _ in shapes] and _shapes(second) == [b for _, b in shapes] \
            and [w for w, _ in shapes] != [b for _, b in shapes]:
        raise CandidateFailure("invalid output", f"{what} returned (nabla_w, nabla_b); gradcert expects "
                               "(nabla_b, nabla_w), in network.py's order")
    nabla_b = [as_array(t, f"{what}: nabla_b[{i}]") for i, t in enumerate(first)]
    nabla_w = [as_array(t, f"{what}: nabla_w[{i}]") for i, t in enumerate(second)]
    for i, (t, (_, b_shape)) in enumerate(zip(nabla_b, shapes)):
        if t.shape != b_shape and t.size == b_shape[0]:
            nabla_b[i] = t.reshape(b_shape)  # a flat bias gradient is the same numbers
    for name, tensors, expected in (("nabla_b", nabla_b, [b for _, b in shapes]),
                                    ("nabla_w", nabla_w, [w for w, _ in shapes])):
        for i, (t, shape) in enumerate(zip(tensors, expected)):
            if t.shape != shape:
                hint = " (transposed?)" if t.shape == shape[::-1] else ""
                raise CandidateFailure("invalid output", f"{what}: {name}[{i}] has shape {t.shape}; "
                                       f"expected {shape}{hint}")
    dtype = np.result_type(*nabla_b, *nabla_w)
    return nabla_b, nabla_w, dtype


def _shapes(part):
    try:
        return [np.shape(t) for t in part]
    except Exception:
        return None


def copies(arrays):
    """Writable float64 copies: what a candidate is given, so it can never touch gradcert's arrays."""
    return [np.array(a, dtype=np.float64) for a in arrays]


def changed(before, after):
    """Index of the first array in ``after`` that differs from ``before`` (or has another shape)."""
    for i, (b, a) in enumerate(zip(before, after)):
        a = np.asarray(a)
        if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
            return i
    return None
