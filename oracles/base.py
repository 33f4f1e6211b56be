"""What every oracle returns, and the helpers they share (no math of the reference)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OracleGradient:
    """An oracle's gradient, in Nielsen's layout, with its own error estimate.

    ``error_b`` and ``error_w`` bound, entry by entry, how far this oracle's own
    value may be from the exact derivative beyond float64 rounding: zero for
    automatic differentiation, the truncation and rounding estimate for finite
    differences.  An entry the oracle did not compute is NaN in both.
    """

    name: str
    nabla_b: list[np.ndarray]
    nabla_w: list[np.ndarray]
    error_b: list[np.ndarray]
    error_w: list[np.ndarray]

    @classmethod
    def exact(cls, name, nabla_b, nabla_w):
        """An automatic-differentiation result: exact but for rounding."""
        zeros = [np.zeros_like(t) for t in nabla_b], [np.zeros_like(t) for t in nabla_w]
        return cls(name, nabla_b, nabla_w, *zeros)


def as_float64(arrays):
    """Copies in float64, so an oracle never holds on to (or writes into) a caller's array."""
    return [np.array(a, dtype=np.float64) for a in arrays]


def columns(x):
    """A batch as a float64 matrix of columns (a 1-D vector is one column)."""
    x = np.array(x, dtype=np.float64)
    return x.reshape(-1, 1) if x.ndim == 1 else x
