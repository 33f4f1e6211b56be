"""Compare a candidate's gradient with an oracle's, tensor by tensor.

An entry agrees when

    |candidate - oracle| <= 2 * rounding + oracle_error + underflow

where ``rounding`` is the running bound E = gamma * M of
``oracles.rounding.rounding_bound`` (the most a correct float64 implementation
can lose to rounding, once for the candidate and once for the oracle),
``oracle_error`` is what the oracle says of its own method (zero for automatic
differentiation; truncation plus rounding for finite differences; complex
arithmetic's extra roundings for the complex step) and ``underflow`` is N
smallest normal numbers (each of the N roundings of the longest chain may
flush that much to zero).  A candidate computing in another precision gets its
share scaled by ``oracles.rounding.roundoff_factor`` (2^-24 / 2^-53 for
float32, a little more where N u is not small, none where N u >= 1/2: nothing
can be certified) and that precision's smallest normal (the one table of
precisions is ``oracles.precision``).

No tolerance here is a free constant: each term is derived in the module
that computes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gradcert.oracles import precision
from gradcert.oracles.precision import ROUNDOFF, unit_roundoff
from gradcert.oracles.rounding import roundoff_factor

__all__ = ["ROUNDOFF", "Comparison", "TensorComparison", "compare", "compare_tensor", "unit_roundoff"]


STATUSES = ("pass", "bug", "cannot-check")


@dataclass(frozen=True)
class TensorComparison:
    """How one gradient tensor (``nabla_w[1]``, say) compares with an oracle.

    ``max_rel_error`` is max |c - o| / max |o| over the tensor's checked entries: the
    largest error relative to the tensor's largest oracle value.  Where that value is
    itself within the tolerance of zero (a gradient that cancels to zero, as batch
    normalisation's bias gradient does), it gives no scale and the error is taken
    relative to the largest magnitude M of the terms that cancelled instead; 0 when
    there is no error, inf when there is one and M is 0 too.  Beside it ``tolerance``
    (at the worst entry) says what was allowed there.  ``max_terms_error`` is the same
    error relative to the larger of max |o| and max M: how far the tensor is from the
    oracle on the scale its rounding is measured against.  ``checked`` entries
    were compared, ``unchecked`` ones were asked of the oracle but came back NaN (it
    could not compute them: "cannot check", never agreement); entries the oracle was not
    asked for (finite differences on a sample) are neither.  ``kinks`` entries sit at a
    kink, where the derivative does not exist and the oracle's error spans the one-sided
    derivatives; those that agree are left out of the errors (any slope between the
    one-sided ones is right there), and ``kink_at_worst`` says the worst entry is one of
    them, so a report can say "kink" rather than quote its relative error.
    """

    name: str
    layer: int
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    candidate_value: float
    oracle_value: float
    tolerance: float  # at the worst index
    excess: float  # max over entries of |c - o| / tolerance: > 1 is a disagreement
    checked: int | None = None  # None: not counted (a row built by hand)
    max_terms_error: float | None = None  # None: as max_rel_error (a row built by hand)
    unchecked: int = 0
    kinks: int = 0
    kink_at_worst: bool = False

    @property
    def status(self) -> str:
        """"bug" if an entry disagrees, "cannot-check" if entries were asked for and none
        could be computed, else "pass"."""
        if self.excess > 1.0:
            return "bug"
        if self.unchecked and not self.checked:
            return "cannot-check"
        return "pass"

    @property
    def agrees(self) -> bool:
        return self.status == "pass"


@dataclass(frozen=True)
class Comparison:
    """One oracle's comparison of a candidate, tensor by tensor."""

    oracle: str
    tensors: list[TensorComparison] = field(default_factory=list)

    @property
    def status(self) -> str:
        """"bug" if a tensor disagrees, else "cannot-check" if a tensor could not be checked at
        all, else "pass": a comparison with a tensor none of whose entries could be computed
        does not vouch for that tensor."""
        statuses = {t.status for t in self.tensors}
        return "bug" if "bug" in statuses else "cannot-check" if "cannot-check" in statuses else "pass"

    @property
    def agrees(self) -> bool:
        return self.status == "pass"

    @property
    def unchecked(self) -> int:
        return sum(t.unchecked for t in self.tensors)

    @property
    def max_rel_error(self) -> float:
        """The largest of the tensors' errors relative to the scale of what they sum
        (``TensorComparison.max_terms_error``): the figure of a comparison as a whole, which
        the tallies and the assumption map report; a tensor's own ``max_rel_error`` is
        relative to its values."""
        return max((t.max_rel_error if t.max_terms_error is None else t.max_terms_error
                    for t in self.tensors), default=0.0)

    @property
    def max_abs_error(self) -> float:
        return max((t.max_abs_error for t in self.tensors), default=0.0)

    @property
    def first_disagreement(self) -> TensorComparison | None:
        """The disagreeing tensor met first by backpropagation: the highest layer, nabla_b first."""
        bad = [t for t in self.tensors if t.status == "bug"]
        return max(bad, key=lambda t: (t.layer, t.name.startswith("nabla_b")), default=None)


def compare_tensor(name, layer, candidate, oracle, oracle_error, magnitude, gamma, candidate_roundoff=None,
                   *, checked=None, kink=None, operations=None):
    """Compare one tensor.  ``gamma * magnitude`` is the rounding bound of one float64 implementation.

    NaN entries of the oracle are not compared: where ``checked`` (the entries asked
    of the oracle; None: all) is True they are counted as ``unchecked``, elsewhere
    they were not asked for.  ``kink`` marks the oracle's kink entries (None: none).
    ``operations`` is the longest chain of roundings (``Rounding.operations``; default
    gamma / u, as a bound gamma_N M implies): each may lose a smallest normal number, and
    a candidate of another precision scales its share by ``rounding.roundoff_factor``.
    Without ``operations`` no chain length is known, and the candidate's share is scaled by
    the plain ratio u / u64 (as before the running bound; the black-box judge's call).
    """
    candidate = np.asarray(candidate, dtype=np.float64)
    oracle = np.asarray(oracle, dtype=np.float64)
    magnitude = np.asarray(magnitude, dtype=np.float64)
    u64 = precision.UNIT_ROUNDOFF
    u = u64 if candidate_roundoff is None else candidate_roundoff
    if operations is None:
        n, factor = gamma / u64, u / u64
    else:
        n, factor = operations, roundoff_factor(u, operations)
    # N roundings, each of which may also lose one smallest normal number to underflow.
    underflow = n * (precision.smallest_normal(precision.dtype_of_roundoff(u)) + precision.TINY)
    known = ~np.isnan(oracle)
    asked = np.ones(oracle.shape, dtype=bool) if checked is None else np.asarray(checked, dtype=bool)
    if not np.isfinite(factor):  # no bound for this precision (N u >= 1/2): nothing is checked
        known = np.zeros(oracle.shape, dtype=bool)
        factor = 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        tolerance = (1.0 + factor) * gamma * magnitude + np.nan_to_num(oracle_error, nan=0.0) + underflow
    # An entry whose bound overflowed (a cost singular at this case: ln 0) allows anything: it is
    # not checked, and counts as unchecked -- never as agreement.
    known = known & np.isfinite(tolerance)
    diff = np.where(known, np.abs(candidate - np.where(known, oracle, 0.0)), 0.0)
    diff = np.where(np.isnan(candidate) & known, np.inf, diff)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        excess = np.where(diff == 0, 0.0, diff / tolerance)
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.size else ()
    peak = float(np.max(np.abs(np.where(known, oracle, 0.0)), initial=0.0))
    if peak <= float(np.max(np.where(known, tolerance, 0.0), initial=0.0)):
        # The tensor is zero to rounding (batch normalisation's bias gradient): its values
        # give no scale, the magnitude of the terms that cancelled does.
        peak = float(np.max(magnitude, initial=0.0))
    kinks = np.zeros(oracle.shape, dtype=bool) if kink is None else np.asarray(kink, dtype=bool) & known
    # The figures leave out an entry at a kink that agrees: any slope between the one-sided ones is
    # right there, so its distance to the one the oracle names is no error (it is counted in kinks).
    max_abs = float(np.max(np.where(kinks & (excess <= 1.0), 0.0, diff), initial=0.0))
    rel = max_abs / peak if peak > 0 else (0.0 if max_abs == 0 else np.inf)
    scale = max(peak, float(np.max(magnitude, initial=0.0)))
    terms_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else np.inf)
    return TensorComparison(
        name=name, layer=layer, max_abs_error=max_abs, max_rel_error=float(rel),
        worst_index=tuple(int(i) for i in worst),
        candidate_value=float(candidate[worst]) if excess.size else 0.0,
        oracle_value=float(oracle[worst]) if excess.size else 0.0,
        tolerance=float(tolerance[worst]) if excess.size else 0.0,
        excess=float(np.max(excess, initial=0.0)),
        checked=int(np.count_nonzero(known)), unchecked=int(np.count_nonzero(asked & ~known)),
        max_terms_error=float(terms_rel),
        kinks=int(np.count_nonzero(kinks)), kink_at_worst=bool(kinks[worst]) if excess.size else False,
    )


def compare(candidate, oracle, rounding, candidate_roundoff=None) -> Comparison:
    """Compare ``candidate = (nabla_b, nabla_w)`` with an ``OracleGradient``.

    ``rounding`` is the ``Rounding`` of ``oracles.rounding.rounding_bound`` for the case.
    """
    nabla_b, nabla_w = candidate
    given = {"nabla_b": nabla_b, "nabla_w": nabla_w}
    magnitudes = {"nabla_b": rounding.magnitude_b, "nabla_w": rounding.magnitude_w}
    tensors = []
    for name, layer, value, error, checked, kink in oracle.tensors():
        kind = name[:7]
        tensors.append(compare_tensor(name, layer, given[kind][layer], value, error, magnitudes[kind][layer],
                                      rounding.gamma, candidate_roundoff, checked=checked, kink=kink,
                                      operations=rounding.operations))
    return Comparison(oracle.name, tensors)
