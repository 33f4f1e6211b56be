"""Compare a candidate's gradient with an oracle's, tensor by tensor.

An entry agrees when

    |candidate - oracle| <= 2 * rounding + oracle_error + underflow

where ``rounding`` is ``gamma_N * M`` from ``oracles.rounding.rounding_bound``
(the most a correct float64 implementation can lose to rounding, once for the
candidate and once for the oracle), ``oracle_error`` is what the oracle says
of its own method (zero for automatic differentiation; truncation plus
rounding for finite differences) and ``underflow`` is N smallest normal
numbers (each of N roundings may flush that much to zero).  A candidate
computing in float32 gets the candidate's share scaled by the ratio of the
two unit roundoffs, 2^-24 / 2^-53, and float32's smallest normal (the one
table of precisions is ``oracles.precision``).

No tolerance here is a free constant: each term is derived in the module
that computes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from gradcert.oracles import precision
from gradcert.oracles.precision import ROUNDOFF, unit_roundoff

__all__ = ["ROUNDOFF", "Comparison", "TensorComparison", "compare", "compare_tensor", "unit_roundoff"]


@dataclass(frozen=True)
class TensorComparison:
    """How one gradient tensor (``nabla_w[1]``, say) compares with an oracle."""

    name: str
    layer: int
    max_abs_error: float
    max_rel_error: float  # max |c - o| / max(|o|, magnitude of its terms) over the tensor
    worst_index: tuple
    candidate_value: float
    oracle_value: float
    tolerance: float  # at the worst index
    excess: float  # max over entries of |c - o| / tolerance: > 1 is a disagreement

    @property
    def agrees(self) -> bool:
        return self.excess <= 1.0


@dataclass(frozen=True)
class Comparison:
    oracle: str
    tensors: list[TensorComparison] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return all(t.agrees for t in self.tensors)

    @property
    def max_rel_error(self) -> float:
        return max((t.max_rel_error for t in self.tensors), default=0.0)

    @property
    def max_abs_error(self) -> float:
        return max((t.max_abs_error for t in self.tensors), default=0.0)

    @property
    def first_disagreement(self) -> TensorComparison | None:
        """The disagreeing tensor met first by backpropagation: the highest layer, nabla_b first."""
        bad = [t for t in self.tensors if not t.agrees]
        return max(bad, key=lambda t: (t.layer, t.name.startswith("nabla_b")), default=None)


def compare_tensor(name, layer, candidate, oracle, oracle_error, magnitude, gamma, candidate_roundoff=None):
    """Compare one tensor; NaN entries of the oracle (not computed) are ignored.

    ``gamma * magnitude`` is the rounding bound of one float64 implementation.
    """
    candidate = np.asarray(candidate, dtype=np.float64)
    u64 = precision.UNIT_ROUNDOFF
    u = u64 if candidate_roundoff is None else candidate_roundoff
    # gamma = N u64: N roundings, each of which may also lose one tiny to underflow.
    underflow = gamma / u64 * (precision.smallest_normal(precision.dtype_of_roundoff(u)) + precision.TINY)
    tolerance = (1.0 + u / u64) * gamma * magnitude + np.nan_to_num(oracle_error, nan=0.0) + underflow
    known = ~np.isnan(oracle)
    diff = np.where(known, np.abs(candidate - np.where(known, oracle, 0.0)), 0.0)
    diff = np.where(np.isnan(candidate) & known, np.inf, diff)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        excess = np.where(diff == 0, 0.0, diff / tolerance)
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape) if excess.size else ()
    # Relative to the larger of the oracle's value and the magnitude of the terms it
    # sums (rounding / gamma): a gradient that cancels to ~0 (the bias under batch
    # normalisation) is then measured against the size of what cancelled.
    peak = max(np.max(np.abs(np.where(known, oracle, 0.0)), initial=0.0), np.max(magnitude, initial=0.0))
    max_abs = float(np.max(diff, initial=0.0))
    rel = max_abs / peak if peak > 0 else (0.0 if max_abs == 0 else np.inf)
    return TensorComparison(
        name=name, layer=layer, max_abs_error=max_abs, max_rel_error=float(rel),
        worst_index=tuple(int(i) for i in worst),
        candidate_value=float(candidate[worst]) if excess.size else 0.0,
        oracle_value=float(oracle[worst]) if excess.size else 0.0,
        tolerance=float(tolerance[worst]) if excess.size else 0.0,
        excess=float(np.max(excess, initial=0.0)),
    )


def compare(candidate, oracle, rounding, candidate_roundoff=None) -> Comparison:
    """Compare ``candidate = (nabla_b, nabla_w)`` with an ``OracleGradient``.

    ``rounding`` is the ``Rounding`` of ``oracles.rounding.rounding_bound`` for the case.
    """
    nabla_b, nabla_w = candidate
    tensors = []
    for layer in range(len(nabla_w)):
        tensors.append(compare_tensor(f"nabla_b[{layer}]", layer, nabla_b[layer], oracle.nabla_b[layer],
                                      oracle.error_b[layer], rounding.magnitude_b[layer], rounding.gamma,
                                      candidate_roundoff))
        tensors.append(compare_tensor(f"nabla_w[{layer}]", layer, nabla_w[layer], oracle.nabla_w[layer],
                                      oracle.error_w[layer], rounding.magnitude_w[layer], rounding.gamma,
                                      candidate_roundoff))
    return Comparison(oracle.name, tensors)
