"""The assumption map: where the textbook's assumptions about backpropagation hold, and where they break.

Three assumptions, each licensing a shortcut that is right only while it holds:

* ``elementwise`` (seed 003, footnotes 3-4; BP1/BP2 as seed 002 prints them):
  z_j influences a_j only, so delta = (upstream) * sigma'(z) elementwise.
  Shortcut: ``reference.Network.backprop_elementwise``.
* ``separable`` (seed 000): the cost is the mean of per-example costs C_x, so
  backpropagating each example alone and averaging gives the batch gradient.
  Shortcut: the mean of ``backprop`` over the columns of the batch, one by one.
* ``outputs-alone`` (seed 000): the cost is a function of the outputs a^L, so
  backpropagating the output cost is the whole gradient.  Shortcut:
  ``backprop`` of the same network with its L2 term left out.

Each shortcut is judged, case by case, against an independent oracle's gradient
of the true cost with ``properties.compare.compare`` and the rounding bound of
``oracles.rounding`` -- the comparison the tests use.  A *column* of the map is
(activation, cost, feature): networks drawn by ``properties.strategies`` with
that activation in every layer, that cost, and that feature (``none``,
``batch_norm`` in at least one layer, or ``l2`` > 0); the columns are every
(activation, cost) pair the strategies can draw, not a hand-picked table.  A
*cell* is one assumption in one column.

In each column a sampling pass draws ``examples`` cases and measures every
assumption on each (whether it broke, the largest relative error); for each
assumption that broke, ``hypothesis.find``, with the same strategy and seed,
shrinks a failing case to a minimal counterexample.

``add_arguments`` and ``run`` are the ``gradcert assumptions`` subcommand;
``assumption_map`` returns the records.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import json
import math
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from random import Random

import numpy as np
from gradcert.oracles.rounding import rounding_bound
from gradcert.properties.certify import oracle_gradients
from gradcert.properties.compare import Comparison, compare
from gradcert.properties.strategies import SIMPLEST_FIRST, Case, architectures, cases
from gradcert.reference.architecture import COSTS
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import seed as given_seed
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, NoSuchExample

from gradcert import oracles

__all__ = ["ASSUMPTIONS", "FEATURES", "Assumption", "Finding", "add_arguments", "assumption_map",
           "breaks", "columns", "discover", "measure", "run", "torch_threads", "with_l2"]

FEATURES = ("none", "batch_norm", "l2")
MAX_BATCH = 4  # m in 1..4: enough for batch normalisation to couple the examples (m >= 2)
L2_RANGE = (0.001, 1.0)  # the strategies' own range for a drawn coefficient
CACHE_ENTRIES = 50_000  # a column's cases and comparisons at --examples 200 are ~1000
EXIT_OK, EXIT_USAGE = 0, 2
PLOT_FIX = "pip install 'gradcert[plot]'"


def _elementwise(case, net):
    return net.backprop_elementwise(case.x, case.y)


def _separable(case, net):
    per_example = [net.backprop(x, y) for x, y in case.columns()]
    layers = range(case.arch.depth)
    return ([sum(g[0][i] for g in per_example) / case.m for i in layers],
            [sum(g[1][i] for g in per_example) / case.m for i in layers])


def _outputs_alone(case, net):
    if case.arch.l2:
        net = dataclasses.replace(case, arch=dataclasses.replace(case.arch, l2=0.0)).network()
    return net.backprop(case.x, case.y)


@dataclass(frozen=True)
class Assumption:
    """An assumption of the textbook derivation and the gradient it licenses.

    ``gradient(case)`` is ``(nabla_b, nabla_w)`` as one computes it when the
    assumption is taken for granted; it is the true gradient exactly when the
    assumption holds for that case.
    """

    name: str
    seed: str
    statement: str
    shortcut: Callable  # (case, its reference Network) -> (nabla_b, nabla_w)

    def gradient(self, case, net=None):
        return self.shortcut(case, case.network() if net is None else net)


ASSUMPTIONS = {a.name: a for a in (
    Assumption("elementwise", "003",
               "each z_j influences a_j only, so BP1/BP2's Hadamard product with sigma'(z) is the chain rule",
               _elementwise),
    Assumption("separable", "000",
               "C = (1/n) sum_x C_x, so the mean of per-example gradients is the batch gradient",
               _separable),
    Assumption("outputs-alone", "000",
               "C is a function of the outputs a^L alone, so backpropagating the output cost is the gradient",
               _outputs_alone),
)}


def default_oracle() -> str:
    """torch's autograd where installed (exact but for rounding, ~1 ms a case), else finite differences.

    jax is left out: it compiles each new architecture (~0.2 s), and a map draws hundreds.
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


def measure(assumption, case, oracle=None, cache=None) -> Comparison:
    """Compare the assumption's shortcut with ``oracle``'s gradient of the true cost on one case.

    ``cache`` (a dict) keeps the oracle's gradient and the rounding bound of
    cases already met, and the comparison of every shortcut gradient already
    judged: the three assumptions of a column meet the same cases, and often
    compute the very same gradient (without L2 the outputs-alone shortcut *is*
    ``backprop``).
    """
    assumption = ASSUMPTIONS[assumption] if isinstance(assumption, str) else assumption
    oracle = oracle or default_oracle()
    cache = {} if cache is None else cache
    if len(cache) > CACHE_ENTRIES:
        cache.clear()
    case_key = (case.arch, oracle) + _key(*case.weights, *case.biases, case.x, case.y)
    if case_key not in cache:
        bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
        cache[case_key] = oracle_gradients(case, [oracle])[0], bound, case.network()
    gradient, bound, net = cache[case_key]
    nabla_b, nabla_w = assumption.gradient(case, net)
    comparison_key = case_key + _key(*nabla_b, *nabla_w)
    if comparison_key not in cache:
        cache[comparison_key] = compare((nabla_b, nabla_w), gradient, bound)
    return cache[comparison_key]


def breaks(assumption, case, oracle=None) -> bool:
    """Whether the shortcut of ``assumption`` is wrong on ``case`` (beyond the rounding bound)."""
    return not measure(assumption, case, oracle).agrees


def with_l2(archs):
    """``archs`` with a weight decay drawn from the strategies' range, never 0 (``l2=True`` may draw 0)."""
    return st.tuples(archs, st.floats(*L2_RANGE)).map(lambda pair: dataclasses.replace(pair[0], l2=pair[1]))


def column_strategy(activation, cost, feature, *, max_batch=MAX_BATCH):
    """Cases for one column: ``activation`` in every layer, ``cost``, and ``feature``."""
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}: choose one of {', '.join(FEATURES)}")
    archs = architectures(activations=(activation,), costs=(cost,), l2=False,
                          batch_norm=feature == "batch_norm")
    if feature == "l2":
        archs = with_l2(archs)
    if feature == "batch_norm":
        archs = archs.filter(lambda arch: any(arch.batch_norm))  # passes at least half the draws
    return cases(architectures=archs, max_batch=max_batch)


def columns() -> list[tuple[str, str, str]]:
    """Every (activation, cost, feature) the strategies can draw, simplest activation first."""
    pairs = []
    for activation in SIMPLEST_FIRST:
        for cost in COSTS:
            try:
                architectures(activations=(activation,), costs=(cost,))
            except InvalidArgument:  # the strategies' own rule: this cost cannot follow this activation
                continue
            pairs.append((activation, cost))
    return [(a, c, f) for a, c in pairs for f in FEATURES]


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
    it.  Then, for each assumption that broke, ``hypothesis.find`` with the same
    strategy and seed (so it meets the same cases first) shrinks a failing case
    to a minimal one.  Where nothing broke, running ``find`` would only repeat
    the sampling pass, so it is not run.
    """
    names = [assumptions] if isinstance(assumptions, str) else list(assumptions)
    oracle = oracle or default_oracle()
    cache = {} if cache is None else cache
    hypothesis_seed = Random(seed).getrandbits(64)  # what find(random=Random(seed)) seeds itself with
    stats = {name: {"worst": 0.0, "broken": 0, "count": 0, "first": None} for name in names}

    @given_seed(hypothesis_seed)
    @_search_settings(examples, SAMPLE_PHASES)
    @given(strategy)
    def sample(case):
        for name in names:
            comparison = measure(name, case, oracle, cache)
            tally = stats[name]
            tally["count"] += 1
            tally["worst"] = max(tally["worst"], comparison.max_rel_error)
            if not comparison.agrees:
                tally["broken"] += 1
                tally["first"] = tally["first"] or case

    sample()
    findings = {}
    for name in names:
        tally = stats[name]
        finding = Finding(name, tally["broken"] == 0, tally["worst"], tally["count"], tally["broken"])
        if not finding.holds:
            try:
                finding.counterexample = find(
                    strategy, lambda case, name=name: not measure(name, case, oracle, cache).agrees,
                    settings=_search_settings(examples, FIND_PHASES), random=Random(seed))
            except NoSuchExample:  # a break too rare for find's own search: keep the sampled case, unshrunk
                finding.counterexample = tally["first"]
            finding.comparison = measure(name, finding.counterexample, oracle, cache)
        findings[name] = finding
    return findings


def _counterexample_record(case, comparison):
    arch = case.arch
    worst = comparison.first_disagreement
    return {
        "sizes": list(arch.sizes),
        "activations": list(arch.activations),
        "cost": arch.cost,
        "l2": arch.l2,
        "batch_norm": list(arch.batch_norm),
        "m": case.m,
        "seed": case.seed,  # case_from_seed(Architecture(...), m, seed) rebuilds it
        "tensor": worst.name,
        "rel_error": _finite_or_none(comparison.max_rel_error),
        "describe": case.describe(),
    }


def _finite_or_none(value):
    return float(value) if math.isfinite(value) else None  # JSON has no inf


def assumption_map(examples=200, seed=0, *, oracle=None, cells=None, jobs=1) -> list[dict]:
    """The map as records, one per (assumption, activation, cost, feature) cell.

    * ``examples``: cases drawn per column (activation, cost, feature).
    * ``seed``: the search's seed; the same seed gives the same map, whatever ``jobs``.
    * ``oracle``: the oracle that gives the true gradient (default: ``default_oracle()``).
    * ``cells``: restrict to these ``(assumption, activation, cost, feature)`` tuples.
    * ``jobs``: columns searched at once, each in its own process (1: in this one).

    Each record has ``assumption``, ``activation`` (every layer's), ``cost``,
    ``feature``, ``holds``, ``max_rel_error`` (None when unbounded: the shortcut
    is nonzero where the true gradient and all its terms are exactly zero),
    ``examples``, ``broken`` (how many of them broke it), ``oracle``, and
    ``counterexample``: None, or the shrunk case as plain data (sizes,
    activations, cost, l2, batch_norm, m, and the seed that rebuilds it).
    """
    oracle = oracle or default_oracle()
    wanted = [(column, names) for column in columns()
              if (names := [n for n in ASSUMPTIONS if cells is None or (n, *column) in cells])]
    tasks = [(column, names, examples, seed, oracle) for column, names in wanted]
    if jobs <= 1 or len(tasks) <= 1:
        with torch_threads(oracle):
            results = [_column_records(*task) for task in tasks]
    else:
        # Separate processes, started afresh ("spawn"): a forked copy of a process that has
        # already run torch can hang, and the columns share nothing but their arguments.
        context = multiprocessing.get_context("spawn")
        try:
            with concurrent.futures.ProcessPoolExecutor(min(jobs, len(tasks)), mp_context=context) as pool:
                results = list(pool.map(_column_records_in_worker, *zip(*tasks)))
        except concurrent.futures.process.BrokenProcessPool:
            # A new process imports the caller's main script again; one without an
            # `if __name__ == "__main__":` guard cannot start workers.  Search here instead.
            print("gradcert: worker processes could not start (a main script without an "
                  "`if __name__ == \"__main__\":` guard?); searching in this process", file=sys.stderr)
            return assumption_map(examples, seed, oracle=oracle, cells=cells, jobs=1)
    return [record for column_records in results for record in column_records]


def _column_records_in_worker(*task):
    with torch_threads(task[-1]):
        return _column_records(*task)


def _column_records(column, names, examples, seed, oracle):
    activation, cost, feature = column
    findings = discover(names, column_strategy(*column), examples=examples, seed=seed, oracle=oracle)
    return [{
        "assumption": name,
        "seed_document": ASSUMPTIONS[name].seed,
        "activation": activation,
        "cost": cost,
        "feature": feature,
        "holds": finding.holds,
        "max_rel_error": _finite_or_none(finding.max_rel_error),
        "examples": finding.examples,
        "broken": finding.broken,
        "oracle": oracle,
        "counterexample": (None if finding.holds
                           else _counterexample_record(finding.counterexample, finding.comparison)),
    } for name, finding in findings.items()]


def explain(records) -> dict[str, str]:
    """Per assumption, one line: where it breaks, as a single attribute when one explains it exactly."""
    lines = {}
    for name in dict.fromkeys(r["assumption"] for r in records):
        mine = [r for r in records if r["assumption"] == name]
        broken = [r for r in mine if not r["holds"]]
        if not broken:
            lines[name] = f"holds in all {len(mine)} cells"
            continue
        exact = [f"{attribute}={value}" for attribute in ("activation", "cost", "feature")
                 for value in dict.fromkeys(r[attribute] for r in mine)
                 if all((r[attribute] == value) == (not r["holds"]) for r in mine)]
        where = " or ".join(exact) if exact else f"{len(broken)} of {len(mine)} cells"
        lines[name] = f"breaks exactly where {where}" if exact else f"breaks in {where}"
    return lines


def to_text(records, *, examples, seed, seconds) -> str:
    oracle = records[0]["oracle"] if records else default_oracle()
    lines = [f"gradcert assumptions: up to {examples} drawn cases per cell (seed {seed}), "
             f"oracle {oracle}, {seconds:.1f} s", ""]
    for name, line in explain(records).items():
        assumption = ASSUMPTIONS[name]
        lines.append(f"{name} (seed {assumption.seed}): {assumption.statement}")
        lines.append(f"  {line}")
    lines.append("")
    header = f"{'assumption':<14} {'activation':<11} {'cost':<15} {'feature':<11} {'holds':<6} " \
             f"{'max rel err':>11}  minimal counterexample"
    lines.append(header)
    for r in records:
        error = "inf" if r["max_rel_error"] is None else f"{r['max_rel_error']:.1e}"
        c = r["counterexample"]
        shown = "" if c is None else f"{c['describe']} seed={c['seed']} ({c['tensor']} wrong)"
        lines.append(f"{r['assumption']:<14} {r['activation']:<11} {r['cost']:<15} {r['feature']:<11} "
                     f"{'yes' if r['holds'] else 'BREAKS':<6} {error:>11}  {shown}".rstrip())
    return "\n".join(lines)


def _figure_class():
    """matplotlib's Figure (no pyplot, so no global backend state), or None when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def plot(records, path):
    """Draw the map as a heatmap: rows are assumptions, columns (activation, cost, feature) cells;
    colour is log10 of the largest relative error, and an X marks every break."""
    Figure = _figure_class()
    names = list(dict.fromkeys(r["assumption"] for r in records))
    cols = list(dict.fromkeys((r["activation"], r["cost"], r["feature"]) for r in records))
    floor = math.log10(np.finfo(float).eps / 2)  # the unit roundoff: nothing smaller is meaningful
    grid = np.full((len(names), len(cols)), np.nan)
    for r in records:
        i, j = names.index(r["assumption"]), cols.index((r["activation"], r["cost"], r["feature"]))
        error = r["max_rel_error"]
        grid[i, j] = 0.0 if error is None else math.log10(max(error, 10.0**floor))
    fig = Figure(figsize=(max(6.0, 0.32 * len(cols) + 2.5), 1.0 + 0.55 * len(names) + 1.8))
    ax = fig.add_subplot()
    image = ax.imshow(grid, cmap="viridis", vmin=floor, vmax=0.0, aspect="auto")
    for r in records:
        if not r["holds"]:
            i, j = names.index(r["assumption"]), cols.index((r["activation"], r["cost"], r["feature"]))
            ax.text(j, i, "X", ha="center", va="center", color="red", fontweight="bold")
    ax.set_yticks(range(len(names)), labels=names)
    ax.set_xticks(range(len(cols)), labels=["/".join(c) for c in cols], rotation=90, fontsize=7)
    ax.set_title("Where backpropagation's assumptions hold (X: a counterexample was found)")
    fig.colorbar(image, ax=ax, label="log10 largest relative error")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def add_arguments(parser):
    """Add the options of ``gradcert assumptions`` to an argparse parser."""
    parser.add_argument("--json", action="store_true", help="print the map as a JSON list of records")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help=f"also draw the map as a heatmap in FILE, e.g. map.png (needs {PLOT_FIX})")
    parser.add_argument("--examples", type=_positive_int, default=200,
                        help="drawn cases searched per cell (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search (default 0)")
    parser.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1,
                        help="columns searched at once, in separate processes (default: one per CPU)")
    return parser


def _usage_error(args):
    """A one-line message for arguments that cannot work, checked before the search starts."""
    if getattr(args, "examples", 1) < 1:
        return f"--examples {args.examples}: give a positive whole number"
    if getattr(args, "plot", None):
        Figure = _figure_class()
        if Figure is None:
            return f"--plot needs matplotlib, which is not installed: {PLOT_FIX}"
        directory = os.path.dirname(os.path.abspath(args.plot))
        if not os.path.isdir(directory):
            return f"--plot {args.plot}: the directory {directory} does not exist"
        extension = os.path.splitext(args.plot)[1].lstrip(".").lower()
        supported = Figure().canvas.get_supported_filetypes()
        if extension not in supported:
            return f"--plot {args.plot}: give a file name ending in one of .{', .'.join(sorted(supported))}"
    return None


def run(args) -> int:
    """``gradcert assumptions``: 0 when the map was made, 2 on bad arguments."""
    error = _usage_error(args)
    if error:
        print(f"gradcert: {error}", file=sys.stderr)
        return EXIT_USAGE
    start = time.perf_counter()
    records = assumption_map(examples=args.examples, seed=args.seed, jobs=getattr(args, "jobs", 1))
    seconds = time.perf_counter() - start
    if getattr(args, "json", False):
        print(json.dumps(records, indent=2))
    else:
        print(to_text(records, examples=args.examples, seed=args.seed, seconds=seconds))
    if getattr(args, "plot", None):
        plot(records, args.plot)
        print(f"gradcert: wrote the map to {args.plot}", file=sys.stderr)
    return EXIT_OK
