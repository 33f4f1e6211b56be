"""Costs of one example, one small class each (network2.py's pattern).

Every cost has
  * ``fn(a, y)``         -- C_x for each column: an array of shape (m,);
  * ``derivative(a, y)`` -- nabla_a C_x, the vector BP1 multiplies by sigma'(z^L);
  * ``canonical``        -- the output activation for which the product
                            nabla_a C_x . sigma'(z^L) collapses to a - y.  This
                            is the "canonical link" pairing: quadratic/linear,
                            cross-entropy/sigmoid, log-likelihood/softmax.  With
                            that pairing the reference uses delta^L = a - y
                            directly, which is both exact and free of the 0/0
                            that a saturated output would otherwise produce.

Adding a cost means adding one class here and its name to ``COST_CLASSES``.
"""

import warnings

import numpy as np


class SaturationWarning(RuntimeWarning):
    """An output reached exactly 0 or 1 in floating point, so a log-based cost is infinite."""


def _finite_or_warn(value, what):
    if not np.all(np.isfinite(value)):
        warnings.warn(
            f"{what} is not finite: an output reached exactly 0 or 1 in float64 where the target "
            "differs.  Use smaller weights or inputs, or the canonical output activation for this cost.",
            SaturationWarning,
            stacklevel=3,
        )
    return value


def _log(a):
    with np.errstate(divide="ignore"):
        return np.log(a)


def _y_log_a(y, a):
    """y * ln(a) with 0 * ln(0) taken as 0, its limit."""
    return np.where(y == 0, 0.0, y * _log(np.where(y == 0, 1.0, a)))


class Quadratic:
    canonical = "linear"

    @staticmethod
    def fn(a, y):
        return 0.5 * np.sum((a - y) ** 2, axis=0)

    @staticmethod
    def derivative(a, y):
        return a - y


class CrossEntropy:
    canonical = "sigmoid"

    @staticmethod
    def fn(a, y):
        c = -np.sum(_y_log_a(y, a) + _y_log_a(1.0 - y, 1.0 - a), axis=0)
        return _finite_or_warn(c, "the cross-entropy cost")

    @staticmethod
    def derivative(a, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            d = (a - y) / (a * (1.0 - a))
        return _finite_or_warn(d, "the cross-entropy derivative")


class LogLikelihood:
    canonical = "softmax"

    @staticmethod
    def fn(a, y):
        return _finite_or_warn(-np.sum(_y_log_a(y, a), axis=0), "the log-likelihood cost")

    @staticmethod
    def derivative(a, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(y == 0, 0.0, -y / a)
        return _finite_or_warn(d, "the log-likelihood derivative")


COST_CLASSES = {
    "quadratic": Quadratic,
    "cross-entropy": CrossEntropy,
    "log-likelihood": LogLikelihood,
}


def canonical_link(arch, textbook=False):
    """Whether BP1 is the canonical link's delta^L = a - y: the cost's canonical activation at a
    plain output layer (no modified neuron there, no residual connection).  That is the Hadamard
    form itself for an elementwise output, which the textbook takes too (network2.py's
    cross-entropy delta); not for softmax, whose literal textbook form (``textbook``, the
    elementwise assumption taken for granted) is the Hadamard product."""
    output = arch.activations[-1]
    return (COST_CLASSES[arch.cost].canonical == output and arch.depth - 1 not in arch.residual
            and (arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1)
            and not (textbook and output == "softmax"))
