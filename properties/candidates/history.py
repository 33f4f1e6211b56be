"""Two checks on the function a black box's gradient is judged against (its forward, or its loss):
that it is a function of its point alone, and that it is not constant.

* **History.**  Finite differences judge a gradient against the candidate's own function, so a
  function that answers from what it was asked before -- a linearisation, through its own wrong
  gradient, around the last point it saw -- agrees with any gradient it returns, at every probe
  around a point: the same-input repeat sees nothing, each point answering alike every time.
  ``history_agrees`` asks the function, in one round trip, at the centre, at a probe one
  finite-difference step away along one entry, at a far point (the centre's mirror image, O(1)
  away), at the probe again, at the far point again and at the centre again: the probe after
  the centre (as the finite differences met it) and after the far point, and the centre before and
  after, must agree to rounding.
* **Constancy.**  A function that never moved over every case and every probe (cs231n's
  unfinished ``svm_loss_vectorized`` returning ``0.0, np.zeros(W.shape)``) has nothing to check
  but a zero gradient: ``Constancy`` watches every finite-difference evaluation and says so.
"""

from __future__ import annotations

import numpy as np
from gradcert.oracles import finite_diff
from gradcert.properties.candidates.blackbox import REPEAT_ULPS
from gradcert.properties.candidates.verdicts import CandidateFailure
from gradcert.properties.compare import unit_roundoff


def history_agrees(evaluate, centre, what, *, dtype=np.float64):
    """Raise "non-deterministic" when ``evaluate`` (points -> one output per point, in order, in one
    round trip) answers a point differently after another point was asked.

    Allowance: the same point evaluated twice by a correct function differs at most by a reordered
    sum, the allowance of the gradients' repeat check (``REPEAT_ULPS`` ulps of the larger of the two
    values at the precision they come in).  A history-dependent answer is off by what its history
    changes: a linearisation through a wrong gradient by (g - g_true) . h at the step h ~ u^(1/3) of
    finite differences, ~1e-6 of the value for a 1e-1 error -- 10^10 ulps, far outside it.
    """
    centre = np.asarray(centre, dtype=float)
    probe = centre.copy()
    flat = probe.reshape(-1)
    index = int(np.argmax(np.abs(flat))) if flat.size else 0
    flat[index] += finite_diff.step_sizes(flat[index : index + 1], dtype)[0]
    far = _usable_far_point(evaluate, centre)
    if far is None:  # no point away from the centre the function is defined at: nothing to ask
        return
    values = evaluate(np.stack([centre, probe, far, probe, far, centre]))
    values = [np.asarray(v, dtype=float) for v in values]
    roundoff = max(unit_roundoff(np.result_type(*values)), unit_roundoff(dtype))
    for (a, b), which in (((1, 3), "a point one finite-difference step from the centre"),
                          ((0, 5), "the centre")):
        first, second = values[a], values[b]
        scale = max(float(np.max(np.abs(first), initial=0.0)), float(np.max(np.abs(second), initial=0.0)))
        if first.shape != second.shape or np.any(np.abs(first - second) > REPEAT_ULPS * roundoff * scale):
            difference = float(np.max(np.abs(first - second))) if first.shape == second.shape else np.inf
            raise CandidateFailure(
                "non-deterministic",
                f"{what}: history-dependent: {which} gives values {difference:.3g} apart when asked "
                "right after the centre and after a far point; the function a gradient is judged "
                "against must answer each point alike whatever it was asked before (no state kept "
                "between calls)",
            )


def _usable_far_point(evaluate, centre):
    """The first far point (``far_points``) at which the function answers with finite values, asked
    alone; None if none.  A function may be defined on part of the line only -- a variance that must
    stay positive, a log -- and raise or give NaN at a mirror image gradcert chose: that is no verdict.
    A hang or an exit there still is (only a raised exception or a non-finite answer is passed over)."""
    for far in far_points(centre):
        try:
            value = np.asarray(evaluate(far[None])[0], dtype=float)
        except CandidateFailure as failure:
            if failure.verdict not in ("crashed", "invalid output"):
                raise
            continue
        if np.all(np.isfinite(value)):
            return far
    return None


def far_points(centre):
    """Far points to try, in order: the mirror image (``far_point``), then twice the centre (1 where
    it is 0), which keeps every entry's sign: a parameter that must be positive stays so."""
    centre = np.asarray(centre, dtype=float)
    return [far_point(centre), np.where(centre == 0, 1.0, 2.0 * centre)]


def far_point(centre):
    """A point O(1) away from ``centre`` whose entries are as large as the centre's: -centre (a drawn
    input's mirror image is as likely a draw, so the function is as well defined there), 1 where the
    centre is 0."""
    centre = np.asarray(centre, dtype=float)
    return np.where(centre == 0, 1.0, -centre)


class Constancy:
    """Which judged tensors' function ever moved under finite differences, over the whole run, and
    the centre values seen (to name a constant loss)."""

    def __init__(self):
        self.moved, self.watched, self.values = set(), [], set()

    def watch(self, name, evaluate):
        """``evaluate`` wrapped: notes whether its outputs ever differed among the points asked."""
        if name not in self.watched:
            self.watched.append(name)

        def watched(points):
            values = evaluate(points)
            stacked = np.asarray(values, dtype=float)
            if stacked.shape[0] > 1 and np.any(stacked != stacked[:1]):
                self.moved.add(name)
            return values

        return watched

    def saw(self, value):
        value = np.asarray(value, dtype=float)
        if value.size == 1:
            self.values.add(float(value.reshape(())))

    def still(self):
        """The watched tensors whose function never moved."""
        return [name for name in self.watched if name not in self.moved]

    def constant(self):
        """True when nothing watched ever moved (and something was watched)."""
        return bool(self.watched) and not self.moved

    def shown_values(self):
        if len(self.values) == 1:
            return f"{next(iter(self.values))!r} on every case"
        return "on every case"
