"""The search behind the assumption map: where each textbook assumption holds, where it breaks.

Five assumptions, read off the derivation of BP1-BP4 (``reference.textbook``
says which step of the reference each one licenses):

* ``elementwise`` (seed 003, footnotes 3-4): z_j influences a_j only, so
  delta = (upstream) * sigma'(z) elementwise.
* ``separable`` (seed 000): the cost is the mean of per-example costs C_x, each of
  its own example, so each example's gradient follows its own path.
* ``outputs-alone`` (seed 000): the cost is a function of the outputs a^L alone.
* ``layered-chain`` (seed 003, BP2's proof): a^l reaches the cost only through
  z^{l+1} = w^{l+1} a^l + b^{l+1}, so BP2 sums over one successor layer.
* ``single-use`` (seed 003, BP4's proof): only z^l depends on w^l, so
  dC/dw^l = delta^l (a^{l-1})^T counts one use.

For each, the *shortcut* is the reference's ``backprop_assuming`` with that
assumption taken for granted; the *repair* is the same backward pass with the
terms the textbook leaves out added back (``textbook.Record(repair=True)``).
Both are judged, case by case, against an independent oracle's gradient of the
true cost with ``properties.compare.compare`` and the rounding bound of
``oracles.rounding``: the comparison the tests use.

A *column* is (activation, cost, feature): networks drawn by
``properties.strategies`` with that activation in every layer, that cost, and
that feature present (``none``, or one of ``Architecture``'s optional
components).  In each column a sampling pass draws cases and measures every
assumption on each, and checks the repair on every case that broke one; for
each assumption that broke, ``hypothesis.find``, with the same strategy and
seed, shrinks a failing case to a minimal counterexample.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from random import Random

from gradcert.oracles.rounding import rounding_bound
from gradcert.properties.certify import oracle_gradients
from gradcert.properties.compare import Comparison, compare
from gradcert.properties.strategies import SIMPLEST_FIRST, Case, architectures, cases
from gradcert.reference.architecture import COSTS
from gradcert.reference.architecture import FEATURES as COMPONENTS
from gradcert.reference.textbook import Record
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import seed as given_seed
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, NoSuchExample

from gradcert import oracles

__all__ = ["ASSUMPTIONS", "FEATURES", "MAX_BATCH", "Assumption", "Finding", "breaks", "column_strategy",
           "columns", "default_oracle", "discover", "measure", "measure_repair", "torch_threads", "with_l2"]

# The map's features: none, and each optional component of Architecture, in its order.
FEATURES = ("none", *COMPONENTS)
MAX_BATCH = 4  # m in 1..4: enough for batch normalisation to couple the examples (m >= 2)
L2_RANGE = (0.001, 1.0)  # the strategies' own range for a drawn coefficient
CACHE_ENTRIES = 50_000  # a column's cases and comparisons at --examples 200 are ~1500


@dataclass(frozen=True)
class Assumption:
    """An assumption of the textbook derivation and the gradient it licenses.

    ``gradient(case)`` is ``(nabla_b, nabla_w)`` as one computes it when the
    assumption is taken for granted (``reference.Network.backprop_assuming``); it
    is the true gradient exactly when the assumption holds for that case.
    ``repaired(case)`` adds back every term the textbook leaves out, and returns
    the ``textbook.Record`` of them too.
    """

    name: str
    seed: str
    statement: str

    def gradient(self, case, net=None):
        net = case.network() if net is None else net
        return net.backprop_assuming(case.x, case.y, [self.name])

    def repaired(self, case, net=None):
        net = case.network() if net is None else net
        record = Record(repair=True)
        return net.backprop_assuming(case.x, case.y, [self.name], record), record


ASSUMPTIONS = {a.name: a for a in (
    Assumption("elementwise", "003",
               "each z_j influences a_j only, so BP1/BP2's Hadamard product with sigma'(z) is the chain "
               "rule"),
    Assumption("separable", "000",
               "C = (1/n) sum_x C_x, each C_x of its own example, so each example's gradient follows its own "
               "path"),
    Assumption("outputs-alone", "000",
               "C is a function of the outputs a^L alone, so backpropagating the output cost is the "
               "gradient"),
    Assumption("layered-chain", "003",
               "a^l reaches the cost only through z^{l+1}, so BP2's delta^l = (w^{l+1})^T delta^{l+1} * "
               "sigma'(z^l) sums over one successor layer"),
    Assumption("single-use", "003",
               "only z^l depends on w^l, so BP4's dC/dw^l = delta^l (a^{l-1})^T counts one use of w^l"),
)}


def default_oracle() -> str:
    """torch's autograd where installed (exact but for rounding, ~1 ms a case), else finite differences.

    jax is left out: it compiles each new architecture (~0.2 s), and a map draws thousands.
    """
    return "torch" if "torch" in oracles.installed() else "finite-diff"


def torch_threads(oracle, threads=1):
    """Run torch on one thread (the torch oracle's own ``threads``), then put its setting back.

    The map's networks are tiny, and torch's intra-op thread pool costs more
    than it saves there (see ``oracles.torch_grad.threads``).
    """
    if oracle != "torch":
        return contextlib.nullcontext()
    from gradcert.oracles import torch_grad

    return torch_grad.threads(threads)


def _key(*arrays):
    return tuple(a.tobytes() for a in arrays)


def _judged(case, oracle, cache):
    """(the oracle's gradient, the rounding bound, the reference network) of a case, kept in ``cache``."""
    if len(cache) > CACHE_ENTRIES:
        cache.clear()
    case_key = (case.arch, oracle) + _key(*case.weights, *case.biases, case.x, case.y)
    if case_key not in cache:
        bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
        cache[case_key] = oracle_gradients(case, [oracle])[0], bound, case.network()
    return case_key, cache[case_key]


def measure(assumption, case, oracle=None, cache=None) -> Comparison:
    """Compare the assumption's shortcut with ``oracle``'s gradient of the true cost on one case.

    ``cache`` (a dict) keeps the oracle's gradient and the rounding bound of
    cases already met, and the comparison of every shortcut gradient already
    judged: the assumptions of a column meet the same cases, and often compute
    the very same gradient (without its component each shortcut *is* ``backprop``).
    """
    assumption = ASSUMPTIONS[assumption] if isinstance(assumption, str) else assumption
    oracle = oracle or default_oracle()
    cache = {} if cache is None else cache
    case_key, (gradient, bound, net) = _judged(case, oracle, cache)
    nabla_b, nabla_w = assumption.gradient(case, net)
    comparison_key = case_key + _key(*nabla_b, *nabla_w)
    if comparison_key not in cache:
        cache[comparison_key] = compare((nabla_b, nabla_w), gradient, bound)
    return cache[comparison_key]


def measure_repair(assumption, case, oracle=None, cache=None) -> tuple[Comparison, Record]:
    """Textbook + repair against ``oracle``'s gradient on one case: (the comparison, the repairs)."""
    assumption = ASSUMPTIONS[assumption] if isinstance(assumption, str) else assumption
    oracle = oracle or default_oracle()
    _, (gradient, bound, net) = _judged(case, oracle, {} if cache is None else cache)
    repaired, record = assumption.repaired(case, net)
    return compare(repaired, gradient, bound), record


def breaks(assumption, case, oracle=None) -> bool:
    """Whether the shortcut of ``assumption`` is wrong on ``case`` (beyond the rounding bound)."""
    return not measure(assumption, case, oracle).agrees


def with_l2(archs):
    """``archs`` with a weight decay drawn from the strategies' range, never 0 (``l2=True`` may draw 0)."""
    return st.tuples(archs, st.floats(*L2_RANGE)).map(lambda pair: dataclasses.replace(pair[0], l2=pair[1]))


def column_strategy(activation, cost, feature, *, max_batch=MAX_BATCH):
    """Cases for one column: ``activation`` in every layer, ``cost``, and ``feature`` present."""
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}: choose one of {', '.join(FEATURES)}")
    drawn = {"activations": (activation,), "costs": (cost,), "l2": False}
    if feature != "none":
        drawn[feature] = True
    archs = architectures(**drawn)
    if feature != "none":
        # Drawn present at least a third of the time (a component needing two layers, such as
        # tying, is absent at depth 1): the filter keeps the column's cases, the shrinker too.
        archs = archs.filter(lambda arch: feature in arch.features)
    return cases(architectures=archs, max_batch=max_batch)


def columns() -> list[tuple[str, str, str]]:
    """Every (activation, cost, feature) the strategies can draw, simplest activation first,
    grouped by feature."""
    pairs = []
    for activation in SIMPLEST_FIRST:
        for cost in COSTS:
            try:
                architectures(activations=(activation,), costs=(cost,))
            except InvalidArgument:  # the strategies' own rule: this cost cannot follow this activation
                continue
            pairs.append((activation, cost))
    return [(a, c, f) for f in FEATURES for a, c in pairs]


@dataclass
class Finding:
    """What the search found for one assumption in one column."""

    assumption: str
    holds: bool
    max_rel_error: float  # over the sampling pass
    examples: int  # cases in the sampling pass
    broken: int  # of which the shortcut was wrong
    counterexample: Case | None = None  # shrunk by hypothesis.find
    comparison: Comparison | None = None
    # The repair, checked on every case of the sampling pass that broke the assumption and on
    # the counterexample: how many disagreed with the oracle, the worst relative error, and
    # the counterexample's repair terms.
    repair_failures: int = 0
    repair_max_rel_error: float = 0.0
    repair_record: Record | None = None
    repair_comparison: Comparison | None = None
    repair_cases: int = 0
    notes: list = field(default_factory=list)


def _search_settings(examples, phases):
    return settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                    print_blob=False, suppress_health_check=list(HealthCheck), phases=phases)


SAMPLE_PHASES = (Phase.generate,)
# Shrinking, without the explain phase: it re-runs the minimal case many more
# times to say which parts of it matter, which the map does not print.
FIND_PHASES = (Phase.generate, Phase.shrink)


def discover(assumptions, strategy, *, examples=200, seed=0, oracle=None, cache=None) -> dict[str, Finding]:
    """Search ``strategy`` for cases where each of ``assumptions`` (names) breaks.

    First a sampling pass: ``examples`` drawn cases, every assumption measured
    on each, which gives the largest relative error and whether any case broke
    it; on every case that broke one, its repair is checked too.  Then, for each
    assumption that broke, ``hypothesis.find`` with the same strategy and seed
    (so it meets the same cases first) shrinks a failing case to a minimal one.
    Where nothing broke, running ``find`` would only repeat the sampling pass,
    so it is not run.
    """
    names = [assumptions] if isinstance(assumptions, str) else list(assumptions)
    oracle = oracle or default_oracle()
    cache = {} if cache is None else cache
    hypothesis_seed = Random(seed).getrandbits(64)  # what find(random=Random(seed)) seeds itself with
    findings = {name: Finding(name, True, 0.0, 0, 0) for name in names}
    first = {}

    def check_repair(finding, case):
        comparison, record = measure_repair(finding.assumption, case, oracle, cache)
        finding.repair_cases += 1
        finding.repair_failures += not comparison.agrees
        finding.repair_max_rel_error = max(finding.repair_max_rel_error, comparison.max_rel_error)
        return comparison, record

    @given_seed(hypothesis_seed)
    @_search_settings(examples, SAMPLE_PHASES)
    @given(strategy)
    def sample(case):
        for name in names:
            comparison = measure(name, case, oracle, cache)
            finding = findings[name]
            finding.examples += 1
            finding.max_rel_error = max(finding.max_rel_error, comparison.max_rel_error)
            if not comparison.agrees:
                finding.holds = False
                finding.broken += 1
                first.setdefault(name, case)
                check_repair(finding, case)

    sample()
    for name in names:
        finding = findings[name]
        if finding.holds:
            continue
        try:
            finding.counterexample = find(
                strategy, lambda case, name=name: not measure(name, case, oracle, cache).agrees,
                settings=_search_settings(examples, FIND_PHASES), random=Random(seed))
        except NoSuchExample:  # a break too rare for find's own search: keep the sampled case, unshrunk
            finding.counterexample = first[name]
            finding.notes.append("not shrunk: find met no failing case")
        finding.comparison = measure(name, finding.counterexample, oracle, cache)
        finding.repair_comparison, finding.repair_record = check_repair(finding, finding.counterexample)
    return findings
