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

    ``checked_b`` / ``checked_w`` say which entries were asked for (None: all of
    them): a NaN where one was asked for is an entry the oracle *could not* compute
    ("cannot check"), a NaN elsewhere one it was not asked to (finite differences on
    a sample).  ``kink_b`` / ``kink_w`` mark entries at a kink (None: none), where the
    derivative does not exist and the error spans the one-sided derivatives.
    """

    name: str
    nabla_b: list[np.ndarray]
    nabla_w: list[np.ndarray]
    error_b: list[np.ndarray]
    error_w: list[np.ndarray]
    checked_b: list[np.ndarray] | None = None
    checked_w: list[np.ndarray] | None = None
    kink_b: list[np.ndarray] | None = None
    kink_w: list[np.ndarray] | None = None

    @classmethod
    def exact(cls, name, nabla_b, nabla_w):
        """An automatic-differentiation result: exact but for rounding."""
        zeros = [np.zeros_like(t) for t in nabla_b], [np.zeros_like(t) for t in nabla_w]
        return cls(name, nabla_b, nabla_w, *zeros)

    def tensors(self):
        """(name, layer, value, error, checked or None, kink or None) for nabla_b[0], nabla_w[0], ..."""
        for layer in range(len(self.nabla_w)):
            for kind, values, errors, checked, kinks in (
                    ("nabla_b", self.nabla_b, self.error_b, self.checked_b, self.kink_b),
                    ("nabla_w", self.nabla_w, self.error_w, self.checked_w, self.kink_w)):
                yield (f"{kind}[{layer}]", layer, values[layer], errors[layer],
                       None if checked is None else checked[layer], None if kinks is None else kinks[layer])


@dataclass(frozen=True)
class Slopes:
    """An oracle's projections dC/dtheta . d, one per direction (``oracles.tangents``).

    ``values[k]`` is NaN where the oracle could not compute direction k's (a complex
    step that left the analytic function, a unit sitting on its kink); ``errors[k]``
    bounds the oracle's own error there beyond the rounding every forward-mode
    computation of it shares (zero for automatic differentiation).
    """

    name: str
    values: np.ndarray
    errors: np.ndarray

    @classmethod
    def exact(cls, name, values):
        values = np.asarray(values, dtype=np.float64)
        return cls(name, values, np.zeros_like(values))


@dataclass(frozen=True)
class UnitSlopes(Slopes):
    """``Slopes`` along one direction per unit of a layer (``complex_step.unit_slopes``), with each
    unit's exact tangent z_i' per example, ``injected`` (n_out, m): a candidate's error in
    dC/dz_i projects on the direction through it."""

    injected: np.ndarray | None = None


def as_float64(arrays):
    """Copies in float64, so an oracle never holds on to (or writes into) a caller's array."""
    return [np.array(a, dtype=np.float64) for a in arrays]


def columns(x):
    """A batch as a float64 matrix of columns (a 1-D vector is one column)."""
    x = np.array(x, dtype=np.float64)
    return x.reshape(-1, 1) if x.ndim == 1 else x


# |W| is formed at most this many entries (64 KiB) at a time: temporaries of that size
# are reused by the allocator, where a whole new |W| gets fresh pages, and on a virtual
# machine a page costs ~3 us to fault in (~0.8 ms per MB, more than the arithmetic).
ABS_CHUNK_ENTRIES = 2**13


def abs_times(w, m, transposed=False):
    """|w| @ m, or |w|^T @ m, without forming |w| whole (row blocks of ABS_CHUNK_ENTRIES)."""
    rows = max(1, ABS_CHUNK_ENTRIES // max(1, w.shape[1]))
    if w.shape[0] <= rows:
        a = np.abs(w)
        return (a.T if transposed else a) @ m
    if transposed:
        out = np.zeros((w.shape[1], m.shape[1]))
        for r in range(0, w.shape[0], rows):
            out += np.abs(w[r:r + rows]).T @ m[r:r + rows]
        return out
    out = np.empty((w.shape[0], m.shape[1]))
    for r in range(0, w.shape[0], rows):
        out[r:r + rows] = np.abs(w[r:r + rows]) @ m
    return out


def abs_row_sums(w):
    """sum_j |w_ij| for every row i of a matrix, without forming |w| whole."""
    rows = max(1, ABS_CHUNK_ENTRIES // max(1, w.shape[1]))
    if w.shape[0] <= rows:
        return np.abs(w).sum(axis=1)
    return np.concatenate([np.abs(w[r:r + rows]).sum(axis=1) for r in range(0, w.shape[0], rows)])
