"""A cross-entropy's guard: the delta a loss adds inside its logarithm, -log(softmax(z)_t + delta).

Deep Learning from Scratch's ``cross_entropy_error``, and much code written after it, computes
-mean log(y_t + 1e-7): a guard against log 0.  Its backward, (y - t) / N, is the gradient of
the loss *without* the guard: the two differ by the factor y_t / (y_t + delta) per example, a
relative 3e-7 at y_t = 1/3.  A gradient judged against its own loss's differences then fails
by that much, though it is exactly the gradient its author meant.

``find`` tells, from a model's losses and scores (its ``predict(x)``) on two batches at the
same parameters, which guard its loss adds: the delta for which loss - mean(-log(softmax_t +
delta)) is the same on both batches (what is left, a weight decay, depends on the parameters
alone).  None when delta = 0 fits (the plain loss) or when no delta does (another loss).
``unguarded`` takes the guard out of loss values, so that the finite differences see the loss
the backward differentiates.
"""

from __future__ import annotations

import numpy as np
from gradcert.oracles import numpy_cost
from gradcert.oracles.precision import UNIT_ROUNDOFF

# Guards seen in the field, tried where the delta solved from one batch does not fit (a loss
# with a weight decay: the solve assumes nothing is left).
FIELD_GUARDS = tuple(10.0**-k for k in range(3, 17))
SOLVE_STEPS = 200  # bisections of log(delta) over [1e-30, 1]: far below any float64 resolution


def example_costs(scores, labels, guard=0.0):
    """-log(softmax(scores)_label + guard) per example row; with guard 0, from the scores
    directly (log-sum-exp, no rounding of the probability)."""
    scores = np.asarray(scores, np.float64)
    rows = np.arange(scores.shape[0])
    if guard == 0.0:
        onehot = np.zeros_like(scores)
        onehot[rows, labels] = 1.0
        return numpy_cost.example_costs_from_z("log-likelihood", "softmax", scores, onehot)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return -np.log(e[rows, labels] / e.sum(axis=-1) + guard)


def _rest(loss, scores, labels, guard):
    """What the loss holds beyond the guarded log-likelihood's mean."""
    return float(loss) - float(np.mean(example_costs(scores, labels, guard)))


def _allowance(loss, scores, labels, roundoff, n_params):
    """How far a rest can be off by rounding alone.  The loss and the log-likelihood here are each a
    mean of N terms, each a log of a ratio of a sum of C exponentials of shifted scores: a chain of
    at most C + N + 8 roundings of quantities no larger than |cost| + 2 max|z| (a shifted score and
    the sum's log), plus what is left (a decay: a sum of at most n_params squares, n_params + 2
    roundings of |rest|).  Both computations count, the candidate's at its precision."""
    scores = np.asarray(scores, np.float64)
    n, c = scores.shape
    u = max(roundoff, UNIT_ROUNDOFF)
    costs = float(np.mean(np.abs(example_costs(scores, labels))))
    size = costs + 2.0 * float(np.max(np.abs(scores), initial=0.0))
    return 2.0 * u * ((c + n + 8) * size + (n_params + 2) * abs(_rest(loss, scores, labels, 0.0)))


def _solve(loss, scores, labels):
    """The delta for which the guarded mean equals the loss (nothing else in it), or None: the
    guarded mean falls as delta grows, so the root is bracketed and bisected in log(delta)."""

    def excess(guard):
        return float(np.mean(example_costs(scores, labels, guard))) - float(loss)

    low, high = -30.0, 0.0
    if not (excess(10.0**low) > 0.0 > excess(10.0**high)):
        return None
    for _ in range(SOLVE_STEPS):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if excess(10.0**middle) > 0.0 else (low, middle)
    return 10.0 ** (0.5 * (low + high))


def find(batches, roundoff, n_params):
    """The guard delta > 0 a loss adds inside its log, from ``batches`` [(loss, scores, labels)]
    at the same parameters (two or more), or None.  ``roundoff``: the candidate's precision."""
    batches = [(float(loss), np.asarray(s, np.float64), np.asarray(t)) for loss, s, t in batches]
    allowance = sum(_allowance(loss, s, t, roundoff, n_params) for loss, s, t in batches)

    def fits(guard):
        rests = [_rest(loss, s, t, guard) for loss, s, t in batches]
        return max(rests) - min(rests) <= allowance

    if fits(0.0):
        return None
    for guard in (_solve(*batches[0]), *FIELD_GUARDS):
        if guard is not None and fits(guard):
            return guard
    return None


def unguarded(losses, scores, labels, guard):
    """Loss values with the guard taken out: loss + mean(-log softmax_t) - mean(-log(softmax_t +
    guard)), per point (``scores`` one (N, C) array per loss value)."""
    return np.array(
        [
            float(loss)
            + float(np.mean(example_costs(s, labels)))
            - float(np.mean(example_costs(s, labels, guard)))
            for loss, s in zip(losses, scores)
        ]
    )
