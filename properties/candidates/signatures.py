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
    "factor_1_over_m": "it is m times too small: divided by the batch size once too often",
    "gradient_missing": "the gradient is zero: it was never computed, or never stored",
    "elementwise_jacobian": "backward keeps only the Jacobian's diagonal: dout * (d out_i / d x_i), as if "
                            "the layer were elementwise (softmax's -s_i s_j terms left out?)",
    "mean_terms_missing": "the normalisation's mean terms are missing: dx = dout / std, as if the batch's "
                          "mean and variance did not depend on x",
    "mask_not_applied": "the mask is not applied: backward passes dout through unchanged",
    "sigma_prime_at_a": "the derivative is taken at the layer's output instead of its input (sigma'(a) for "
                        "sigma'(z))",
}


@dataclass(frozen=True)
class Diagnosis:
    tensor: str
    signature: str | None
    equation: str | None = None
    suggestion: str | None = None

    @property
    def explanation(self):
        return EXPLANATIONS.get(self.signature, "")


def close(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return bool(np.all(np.abs(a - b) <= CLOSE * scale + np.finfo(float).tiny))


def diagnose(name, candidate, oracle, *, dout=None, x=None, diagonal=None, batch=None, batch_axis=0):
    """The signature that explains ``candidate`` against ``oracle`` for one tensor, or None."""
    c, o = np.asarray(candidate, float), np.asarray(oracle, float)
    if not np.any(o) or close(c, o):
        return Diagnosis(name, None)
    if not np.any(c):
        return Diagnosis(name, "gradient_missing")
    if close(-c, o):
        return Diagnosis(name, "sign_flipped")
    if c.ndim == 2 and c.shape[0] == c.shape[1] and close(c.T, o):
        return Diagnosis(name, "transposed")
    if batch and batch > 1 and close(c / batch, o):
        return Diagnosis(name, "factor_m")
    if batch and batch > 1 and close(c * batch, o):
        return Diagnosis(name, "factor_1_over_m")
    if dout is not None and name == "dx":
        dout = np.asarray(dout, float)
        if dout.shape == c.shape and close(c, dout):
            return Diagnosis(name, "mask_not_applied")
        if diagonal is not None and dout.shape == c.shape and close(c, dout * diagonal):
            return Diagnosis(name, "elementwise_jacobian")
        if x is not None and dout.shape == c.shape and _divided_by_std(c, dout, np.asarray(x, float), batch_axis):
            return Diagnosis(name, "mean_terms_missing")
    return Diagnosis(name, None)


def _divided_by_std(c, dout, x, axis):
    """Whether c = dout / sqrt(var + eps) per feature, var taken over the batch axis, for some small eps."""
    if x.shape != c.shape or x.shape[axis] < 2:
        return False
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dout != 0, c / dout, np.nan)
    variance = np.var(x, axis=axis, keepdims=True)
    expected = 1.0 / np.sqrt(variance + 1e-5)  # the usual eps: 1e-5 (torch's default); 1e-8 is as close
    known = np.isfinite(ratio)
    return bool(known.any()) and bool(np.all(np.abs(ratio[known] - np.broadcast_to(expected, ratio.shape)[known])
                                             <= 1e-3 * np.abs(np.broadcast_to(expected, ratio.shape)[known])))
