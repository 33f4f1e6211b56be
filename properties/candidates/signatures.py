"""What is wrong with a black box's gradient: the classic bugs of layers, function pairs and models.

Each signature is an inverse transformation -- flip the sign, transpose, scale by the batch size,
keep the Jacobian's diagonal only, drop a normalisation's mean terms, leave a mask out -- after
which the candidate's tensor would have been the right one (or, the other way round, which turns
the true gradient into what the candidate returned).  Matching uses ``CLOSE`` relative to the
tensor: half of float64's digits, far looser than the finite-difference oracle's own error
(~u^(2/3)) and far tighter than the effect of any of these bugs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLOSE = 2.0**-20  # relative to the tensor's largest entry (see the module docstring)

EXPLANATIONS = {
    "sign_flipped": "the sign is flipped",
    "transposed": "the gradient is transposed",
    "factor_m": "it is m times too large: a sum over the batch where the mean belongs",
    "factor_1_over_m": "it is m times too small: divided by the batch size once too often (a parameter "
    "gradient of the batch's mean beside an input gradient of its sum, as deeplearning.ai's "
    "linear_backward has it, is not the backward of one forward)",
    "gradient_missing": "the gradient is zero: it was never computed, or never stored",
    "elementwise_jacobian": "backward keeps only the Jacobian's diagonal: dout * (d out_i / d x_i), as if "
    "the layer were elementwise (softmax's -s_i s_j terms left out?)",
    "mean_terms_missing": "the normalisation's mean terms are missing: dx = dout / std, as if the batch's "
    "mean and variance did not depend on x",
    "mask_not_applied": "the mask is not applied: backward passes dout through where forward blocked or "
    "scaled it (a ReLU's, dropout's or max-pool's mask, a drawn scale)",
    "stale_cache": "backward reads what an earlier forward cached, not the last forward's: right after "
    "one forward, wrong after a forward at another input first (a cache set once, if self.x is None: "
    "self.x = x?)",
    "sigma_prime_at_a": "the derivative is taken at the layer's output instead of its input (sigma'(a) for "
    "sigma'(z))",
    "constant_factor": "it is {factor:.6g} times the true gradient in every entry: a constant factor is "
    "missing or extra (the 1/2 of a square root or of a square, a 2 written in, a scale applied twice)",
    "constant_function": "the true gradient is zero in every entry, and this one is not: what is "
    "differentiated (the forward's output, or the loss returned) does not change with this input (a loss "
    "never accumulated or never returned, a forward that ignores the input, every entry masked in forward "
    "and not in backward)",
    "repeated_index_assigned": "the rows of a repeated index are assigned, not added up: dW[x] = dout (or a "
    "buffered dW[x] += dout) keeps one occurrence's row where np.add.at(dW, x, dout) adds them all",
}

# A factor this close to a simple fraction p / q (p, q <= SIMPLE_TERMS) is named even on a tensor of
# one entry, where any ratio would fit: a missing 1/2 shrinks a case to a single entry.
SIMPLE_TERMS = 4


@dataclass(frozen=True)
class Diagnosis:
    tensor: str
    signature: str | None
    equation: str | None = None
    suggestion: str | None = None
    factor: float | None = None  # constant_factor's: candidate = factor * true gradient

    @property
    def explanation(self):
        return EXPLANATIONS.get(self.signature, "").format(factor=self.factor)


def close(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return bool(np.all(np.abs(a - b) <= CLOSE * scale + np.finfo(float).tiny))


def diagnose(
    name, candidate, oracle, *, dout=None, x=None, diagonal=None, batch=None, batch_axis=0, kink=None
):
    """The signature that explains ``candidate`` against ``oracle`` for one tensor, or None.

    Entries at a kink (``kink``, where any value between the one-sided derivatives is right) are
    left out of every comparison: there the oracle's value is only the interval's midpoint."""
    c, o = np.asarray(candidate, float), np.asarray(oracle, float)
    if kink is not None and np.shape(kink) == c.shape and np.any(kink):
        keep = ~np.asarray(kink, bool)
        c, o = np.where(keep, c, 0.0), np.where(keep, o, 0.0)
        if dout is not None and np.shape(dout) == c.shape:
            dout = np.where(keep, np.asarray(dout, float), 0.0)
        if diagonal is not None:
            diagonal = np.where(keep, diagonal, 0.0)
    if close(c, o) or not np.any(c) and not np.any(o):
        return Diagnosis(name, None)
    if not np.any(c):
        return Diagnosis(name, "gradient_missing")
    if not np.any(o):  # the true gradient is zero (one example normalised, every unit dropped, a constant)
        if dout is not None and _scaled_per_slice(c, dout):
            return Diagnosis(name, "mean_terms_missing")
        return Diagnosis(name, "constant_function")
    if close(-c, o):
        return Diagnosis(name, "sign_flipped")
    if c.ndim == 2 and c.shape[0] == c.shape[1] and close(c.T, o):
        return Diagnosis(name, "transposed")
    if batch and batch > 1 and close(c / batch, o):
        return Diagnosis(name, "factor_m")
    if batch and batch > 1 and close(c * batch, o):
        return Diagnosis(name, "factor_1_over_m")
    factor = _constant_factor(c, o)
    if factor is not None:
        return Diagnosis(name, "constant_factor", factor=factor)
    if _mask_left_out(c, o):
        return Diagnosis(name, "mask_not_applied")
    if dout is not None and name == "dx":
        dout = np.asarray(dout, float)
        if dout.shape == c.shape and _one_scale(c, dout):  # dout passed through (times a constant)
            return Diagnosis(name, "mask_not_applied")
        if diagonal is not None and dout.shape == c.shape and close(c, dout * diagonal):
            return Diagnosis(name, "elementwise_jacobian")
        if dout.shape == c.shape and _scaled_per_slice(c, dout):
            return Diagnosis(name, "mean_terms_missing")
    return Diagnosis(name, None)


def assigned_at(candidate, indices, dout):
    """Whether ``candidate`` is ``dout`` assigned at ``indices`` (a table's rows, last write kept),
    ``dW[x] = dout``, where ``np.add.at`` adds up the rows of an index that repeats."""
    c, x, dout = np.asarray(candidate, float), np.asarray(indices), np.asarray(dout, float)
    if dout.shape != x.shape + c.shape[1:] or x.size == np.unique(x).size or np.any(x >= len(c)):
        return False
    assigned = np.zeros_like(c)
    assigned[x] = dout
    return close(c, assigned)


def _mask_left_out(c, o):
    """A mask not applied: the candidate is nonzero where the true gradient is exactly zero (the
    masked entries: ReLU's z < 0, dropped units, a max-pool window's other entries) and right
    everywhere else."""
    if c.shape != o.shape:
        return False
    # Measured against the true gradient's own size: a candidate of garbage (np.empty's 1e288) would
    # make every true entry look masked, and "right everywhere else" hold of no entry at all.
    scale = float(np.max(np.abs(o)))
    masked = np.abs(o) <= CLOSE * scale
    leaked = masked & (np.abs(c) > CLOSE * scale)
    kept = ~masked
    return bool(leaked.any()) and bool(kept.any()) and bool(np.all(np.abs(c - o)[kept] <= CLOSE * scale))


def _constant_factor(c, o):
    """k where c = k o for one number k other than 1 (the caller has tried -1, m and 1 / m); None if no k
    fits, or if o has a single nonzero entry and k is no simple fraction (see SIMPLE_TERMS)."""
    peak = int(np.argmax(np.abs(o)))
    if o.flat[peak] == 0:
        return None
    k = float(c.flat[peak] / o.flat[peak])
    if not np.isfinite(k) or abs(k - 1.0) <= CLOSE or not close(c, k * o):
        return None
    if np.count_nonzero(o) >= 2:
        return k
    simple = any(abs(k - sign * p / q) <= CLOSE * abs(k) for p in range(1, SIMPLE_TERMS + 1)
                 for q in range(1, SIMPLE_TERMS + 1) for sign in (1, -1))
    return k if simple else None


def _one_scale(c, dout):
    """Whether c = s dout for one number s (1, or an inverted dropout's 1 / (1 - p)); never on a
    single entry, where every c is a multiple of dout."""
    peak = int(np.argmax(np.abs(dout)))
    if dout.flat[peak] == 0 or np.count_nonzero(dout) < 2:
        return False
    return close(c, dout * (c.flat[peak] / dout.flat[peak]))


def _scaled_per_slice(c, dout):
    """Whether c = dout * k, k constant along some axis (per feature over the batch, as dout / std
    of a batch norm without its mean terms; per example over the features, as a layer norm's),
    though the true gradient is not of that form."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.abs(dout) > 0, c / dout, np.nan)
    if not np.isfinite(ratio).any():
        return False
    for axis in range(c.ndim):
        if c.shape[axis] < 2:
            continue
        centre = np.nanmedian(ratio, axis=axis, keepdims=True)
        spread = np.abs(ratio - centre)
        known = np.isfinite(spread)
        if known.any() and np.all(
            spread[known] <= CLOSE * np.maximum(1.0, np.abs(np.broadcast_to(centre, ratio.shape)[known]))
        ):
            return True
    return False
