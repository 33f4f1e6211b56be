"""Judging one gradient on one case against the oracles: ``judge`` and ``assert_gradient``.

``judge`` compares a candidate's ``(nabla_b, nabla_w)`` with every named oracle, tensor by
tensor (``properties.compare``); ``assert_gradient`` is the same as an assertion, for one's own
Hypothesis properties.  ``Disagreement`` is how a checker reports a gradient bug to the runner
(``properties.runner``), which shrinks the case and writes the certificate.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from gradcert.oracles.rounding import rounding_bound
from gradcert.properties import errors
from gradcert.properties.compare import Comparison, compare

from gradcert import oracles

FD_MAX_ENTRIES = 2000  # finite differences check a random subset of larger networks


class Disagreement(AssertionError):
    """A candidate's gradient disagrees with an oracle on one case.

    ``case`` is the case judged (one column for network.py's backprop),
    ``outer`` the drawn case it came from, ``part`` what was judged
    (``backprop`` or ``update_mini_batch``), ``gradient`` the candidate's.
    """

    def __init__(self, case, comparisons, *, part="backprop", outer=None, gradient=None, dtype=None,
                 extra_error=None):
        self.case, self.comparisons, self.part = case, comparisons, part
        self.outer = outer if outer is not None else case
        self.gradient, self.dtype = gradient, np.dtype(dtype or np.float64)
        self.extra_error = extra_error
        self.directional = any(c.oracle.endswith("(directional)") for c in comparisons)
        bad = [c for c in comparisons if c.status == "bug"]
        if bad:
            message = f"{bad[0].first_disagreement.name} disagrees with {bad[0].oracle}"
        else:
            message = "no oracle could check it"
        super().__init__(f"{part}: {message} on {case.describe()}")

    def ask_every_oracle(self, names):
        """Judge the (minimal) case again with every oracle, for the report."""
        from gradcert.properties.compare import unit_roundoff

        if self.directional:
            return  # a directional verdict stands on its own: an entrywise re-check could take hours
        if isinstance(self.gradient, tuple):
            roundoff = unit_roundoff(self.dtype)
            self.comparisons = judge(self.case, self.gradient, names, roundoff, self.extra_error)


def oracle_gradients(case, names, fd_max_entries=FD_MAX_ENTRIES):
    """Each named oracle's gradient for one case (an oracle that does not apply to it is left out)."""
    results = []
    for name in names:
        oracle = oracles.load(name)
        if not getattr(oracle, "applies", lambda arch: True)(case.arch):
            continue
        args = (case.arch, case.weights, case.biases, case.x, case.y)
        if name == "finite-diff":
            results.append(oracle.gradient(*args, max_entries=fd_max_entries))
        else:
            results.append(oracle.gradient(*args))
    return results


def judge(case, candidate_gradient, names=None, candidate_roundoff=None, extra_error=None,
          stop_early=False, fd_max_entries=FD_MAX_ENTRIES) -> list[Comparison]:
    """Compare ``(nabla_b, nabla_w)`` with every named oracle (default: all installed) on one case.

    ``candidate_roundoff`` is the unit roundoff of the candidate's dtype (float64's
    when None); ``extra_error`` is an optional ``(error_b, error_w)`` of known size
    added to each oracle's own error (e.g. the rounding of an update step).
    With ``stop_early``, the first disagreeing oracle ends the judging: while
    Hypothesis shrinks, one witness is enough (the report asks them all again).
    ``fd_max_entries=None`` makes finite differences check every entry.
    """
    names = list(names or oracles.installed())
    bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
    results = []
    for name in names:
        for g in oracle_gradients(case, [name], fd_max_entries):
            if extra_error is not None:
                g = dataclasses.replace(g, error_b=[e + x for e, x in zip(g.error_b, extra_error[0])],
                                        error_w=[e + x for e, x in zip(g.error_w, extra_error[1])])
            results.append(compare(candidate_gradient, g, bound, candidate_roundoff))
        if stop_early and results and results[-1].status == "bug":
            break
    return results


def assert_gradient(case, candidate_gradient, oracle_names=None, candidate_roundoff=None):
    """Assert that ``(nabla_b, nabla_w)`` is the gradient of ``case``'s cost, by every oracle.

    Raises ``GradientMismatch`` (an ``AssertionError``) when an oracle disagrees: the
    message names the oracle, the tensor, the worst entry and the tolerance it exceeded.
    Raises ``CannotCheck`` when no oracle disagrees and none could check every tensor
    (each had a tensor it could compute no entry of).  Returns the comparisons: an
    oracle that does not apply to the case is left out, and with none left (the
    complex step alone, asked of a relu network) nothing is asserted.
    """
    comparisons = judge(case, candidate_gradient, oracle_names, candidate_roundoff)
    bad = [c for c in comparisons if c.status == "bug"]
    if comparisons and not bad and not any(c.status == "pass" for c in comparisons):
        seen = ", ".join(f"{c.oracle}: {c.status}" for c in comparisons)
        raise errors.CannotCheck(f"no oracle could check the gradient on {case.describe()} ({seen})")
    if bad:
        t = bad[0].first_disagreement
        raise errors.GradientMismatch(
            f"{t.name} disagrees with the {bad[0].oracle} oracle on {case.describe()}: "
            f"at {t.worst_index} candidate {t.candidate_value!r} vs oracle {t.oracle_value!r}, "
            f"|difference| {t.max_abs_error:.3e} > tolerance {t.tolerance:.3e} "
            f"(disagreeing oracles: {', '.join(c.oracle for c in bad)})")
    return comparisons
