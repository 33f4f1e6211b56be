"""What a misbehaving candidate gets, and the checks that turn its plain data into gradients.

A ``CandidateFailure`` is a verdict on the candidate (exit code 1), never a crash of gradcert:
it raised, exited, was killed, hung, returned something that is not a gradient, wrote into what
it was given, or answered the same question twice differently.  ``VERDICTS`` is the vocabulary.

The worker has already turned whatever the candidate returned into plain data (arrays, numbers,
containers, ``Opaque`` for anything else); the functions here say what is wrong with it, in one
line that names the tensor.
"""

from __future__ import annotations

import numpy as np
from gradcert.properties.candidates.protocol import Opaque

VERDICTS = (
    "certified",
    "gradient bug",
    "crashed",
    "exited",
    "killed",
    "timed out",
    "invalid output",
    "mutated inputs",
    "mutated weights",
    "non-deterministic",
    "cannot check",
)


class CandidateFailure(Exception):
    """The candidate did not behave: ``verdict`` (one of VERDICTS), a one-line ``message``,
    ``detail`` (its traceback, if any) and ``output`` (the last lines it printed)."""

    def __init__(self, verdict, message, detail="", output=""):
        super().__init__(message)
        assert verdict in VERDICTS, verdict
        self.verdict, self.message, self.detail, self.output = verdict, message, detail, output


class NonFinite(CandidateFailure):
    """An output that is not finite (an "invalid output"): at inputs outside the function's domain
    -- a log or a square root of a negative number -- a forward's, which a drawn input may explain."""


class Declined(Exception):
    """The candidate raised NotImplementedError for this case: skipped and counted, not a verdict."""


def as_array(value, what):
    """A candidate's tensor as a float ndarray, or a CandidateFailure saying what is wrong with it."""
    if value is None:
        raise CandidateFailure("invalid output", f"{what} is None")
    if isinstance(value, Opaque):
        raise CandidateFailure("invalid output", f"{what} is not an array: {value!r}")
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged nested lists and the like
        raise CandidateFailure("invalid output", f"{what} is not an array: {error}") from None
    if array.dtype == object:
        raise CandidateFailure("invalid output", f"{what} is not an array of numbers")
    if np.iscomplexobj(array):
        raise CandidateFailure(
            "invalid output", f"{what} is complex ({array.dtype}); gradients of a real cost are real"
        )
    if array.dtype.kind in "iub":
        raise CandidateFailure(
            "invalid output",
            f"{what} has integer dtype {array.dtype}: an integer "
            "gradient has lost its digits (an int array from np.zeros_like?)",
        )
    if array.dtype.kind != "f":
        raise CandidateFailure("invalid output", f"{what} has dtype {array.dtype}, not a floating point")
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFinite("invalid output", f"{what} has {array[index]} at {index}")
    return array


def gradient_arrays(result, arch, what):
    """Check ``(nabla_b, nabla_w)`` against the architecture; return it as arrays and their dtype."""
    if result is None:
        raise CandidateFailure("invalid output", f"{what} returned None; expected (nabla_b, nabla_w)")
    if isinstance(result, Opaque) or not isinstance(result, (tuple, list)) or len(result) != 2:
        shown = result.type_name if isinstance(result, Opaque) else type(result).__name__
        raise CandidateFailure(
            "invalid output", f"{what} returned {shown}; expected a pair (nabla_b, nabla_w)"
        )
    shapes = arch.shapes
    # A part held as one array, a layer per entry of its first axis (np.array of a list of equal
    # shapes, as ports that keep their lists as arrays build it), is that list.
    first, second = (list(p) if isinstance(p, np.ndarray) and p.ndim >= 1 else p for p in result)
    for part, name in ((first, "nabla_b"), (second, "nabla_w")):
        if not isinstance(part, (tuple, list)):
            shown = part.type_name if isinstance(part, Opaque) else type(part).__name__
            raise CandidateFailure(
                "invalid output",
                f"{what}: {name} is {shown}; expected a list with one array per layer ({arch.depth})",
            )
        if len(part) != arch.depth:
            raise CandidateFailure(
                "invalid output", f"{what}: {name} has {len(part)} entries for {arch.depth} layers"
            )
    weight_shapes, bias_shapes = [w for w, _ in shapes], [b for _, b in shapes]
    if _shapes(first) == weight_shapes and _shapes(second) == bias_shapes and weight_shapes != bias_shapes:
        raise CandidateFailure(
            "invalid output",
            f"{what} returned (nabla_w, nabla_b); gradcert expects (nabla_b, nabla_w), in network.py's order",
        )
    nabla_b = [as_array(t, f"{what}: nabla_b[{i}]") for i, t in enumerate(first)]
    nabla_w = [as_array(t, f"{what}: nabla_w[{i}]") for i, t in enumerate(second)]
    for i, (t, shape) in enumerate(zip(nabla_b, bias_shapes)):
        if t.shape != shape and t.size == shape[0]:
            nabla_b[i] = t.reshape(shape)  # a flat bias gradient is the same numbers
    for name, tensors, expected in (("nabla_b", nabla_b, bias_shapes), ("nabla_w", nabla_w, weight_shapes)):
        for i, (t, shape) in enumerate(zip(tensors, expected)):
            if t.shape != shape:
                hint = " (transposed?)" if t.shape == shape[::-1] else ""
                raise CandidateFailure(
                    "invalid output", f"{what}: {name}[{i}] has shape {t.shape}; expected {shape}{hint}"
                )
    return nabla_b, nabla_w, np.result_type(*nabla_b, *nabla_w)


def _shapes(part):
    try:
        return [np.shape(t) for t in part]
    except Exception:
        return None


def changed(before, after):
    """Index of the first array in ``after`` that differs from ``before`` (or has another shape)."""
    for i, (b, a) in enumerate(zip(before, after)):
        a = np.asarray(a)
        if a.shape != np.shape(b) or not np.array_equal(a, b, equal_nan=True):
            return i
    return None
