"""The certification runner: Hypothesis draws cases, oracles judge a candidate.

A *candidate* is anything that maps a ``Case`` to ``(nabla_b, nabla_w)``.
For every drawn case each oracle computes its own gradient, and
``compare`` decides; on the first disagreement Hypothesis shrinks the case to
a minimal one, which the certificate carries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed

import oracles
from oracles.rounding import rounding_bound
from properties.compare import Comparison, compare

FD_MAX_ENTRIES = 2000  # finite differences check a random subset of larger networks


class Disagreement(AssertionError):
    """A candidate disagrees with an oracle on one case."""

    def __init__(self, case, comparisons):
        self.case, self.comparisons = case, comparisons
        bad = [c for c in comparisons if not c.agrees]
        worst = bad[0].first_disagreement
        super().__init__(f"{worst.name} disagrees with {bad[0].oracle} on {case.describe()}")


@dataclass
class Tally:
    """What one oracle saw over all cases."""

    oracle: str
    cases: int = 0
    worst_rel_error: float = 0.0
    worst_case: str = ""

    def add(self, comparison: Comparison, case):
        self.cases += 1
        if comparison.max_rel_error >= self.worst_rel_error:
            self.worst_rel_error, self.worst_case = comparison.max_rel_error, case.describe()


@dataclass
class Certificate:
    candidate: str
    oracles: list[str]
    examples: int
    seed: int
    tallies: dict[str, Tally] = field(default_factory=dict)
    failure: Disagreement | None = None
    seconds: float = 0.0

    @property
    def certified(self) -> bool:
        return self.failure is None


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


def judge(case, candidate_gradient, names, candidate_roundoff=None) -> list[Comparison]:
    """Compare one candidate gradient with every named oracle on one case."""
    bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
    return [compare(candidate_gradient, g, bound, candidate_roundoff) for g in oracle_gradients(case, names)]


def certify(candidate: Callable, strategy, *, name: str, oracle_names=None, examples=100,
            seed=0) -> Certificate:
    """Run ``candidate(case) -> (nabla_b, nabla_w)`` on ``examples`` drawn cases."""
    names = list(oracle_names or oracles.installed())
    cert = Certificate(name, names, examples, seed, {n: Tally(n) for n in names})
    start = time.perf_counter()

    @hypothesis_seed(seed)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(strategy)
    def run(case):
        comparisons = judge(case, candidate(case), names)
        for comparison in comparisons:
            cert.tallies[comparison.oracle].add(comparison, case)
        if not all(c.agrees for c in comparisons):
            raise Disagreement(case, comparisons)

    try:
        run()
    except Disagreement as failure:  # Hypothesis re-raises the shrunk, minimal case
        cert.failure = failure
    cert.seconds = time.perf_counter() - start
    return cert


def assert_gradient(case, candidate_gradient, oracle_names=None, candidate_roundoff=None):
    """Assert that ``(nabla_b, nabla_w)`` is the gradient of ``case``'s cost, by every oracle.

    The assertion message names the oracle, the tensor, the worst entry and
    the tolerance it exceeded.
    """
    names = list(oracle_names or oracles.installed())
    comparisons = judge(case, candidate_gradient, names, candidate_roundoff)
    bad = [c for c in comparisons if not c.agrees]
    if bad:
        t = bad[0].first_disagreement
        raise AssertionError(
            f"{t.name} disagrees with the {bad[0].oracle} oracle on {case.describe()}: "
            f"at {t.worst_index} candidate {t.candidate_value!r} vs oracle {t.oracle_value!r}, "
            f"|difference| {t.max_abs_error:.3e} > tolerance {t.tolerance:.3e} "
            f"(disagreeing oracles: {', '.join(c.oracle for c in bad)})")
    return comparisons
