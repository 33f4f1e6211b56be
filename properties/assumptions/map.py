"""The assumption map: where the textbook's assumptions about backpropagation hold, and where they break.

The search (``search.py``) draws every column (activation, cost, feature) with
the strategies the tests use and judges, case by case, each assumption's
shortcut and its repair against an oracle; this module turns its findings into
records, text and a picture (``plot.py``), and ``--explain FEATURE`` prints one
feature's minimal counterexamples as numbers (``explain.py``).

``add_arguments`` and ``run`` are the ``gradcert assumptions`` subcommand;
``assumption_map`` returns the records.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import os
import sys
import time

import numpy as np
from gradcert.properties.assumptions.search import (
    ASSUMPTIONS,
    FEATURES,
    Assumption,
    Finding,
    breaks,
    column_strategy,
    columns,
    default_oracle,
    discover,
    measure,
    measure_repair,
    torch_threads,
    with_l2,
)

__all__ = ["ASSUMPTIONS", "FEATURES", "Assumption", "Finding", "add_arguments", "assumption_map", "breaks",
           "column_strategy", "columns", "discover", "explain", "measure", "measure_repair", "run", "to_text",
           "torch_threads", "with_l2"]

EXIT_OK, EXIT_USAGE = 0, 2
PLOT_FIX = "pip install 'gradcert[plot]'"
ATTRIBUTES = ("activation", "cost", "feature")


def _finite_or_none(value):
    return float(value) if math.isfinite(value) else None  # JSON has no inf


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
        "seed": case.seed,  # case_from_seed(Architecture.from_dict(arch), m, seed) rebuilds it
        "tensor": worst.name,
        "rel_error": _finite_or_none(comparison.max_rel_error),
        "describe": case.describe(),
        "arch": arch.to_dict(),
    }


def _repair_record(finding):
    """The repair of a break: the terms added on the counterexample, and the check of
    textbook + repair against the oracle on every breaking case met."""
    terms = [{"layer": r.layer, "where": r.where, "formula": r.formula,
              "max_abs": float(np.max(np.abs(r.term), initial=0.0))} for r in finding.repair_record.repairs]
    return {
        "formulas": list(dict.fromkeys(r.formula for r in finding.repair_record.repairs)),
        "terms": terms,
        "verified": finding.repair_failures == 0,
        "cases": finding.repair_cases,
        "failures": finding.repair_failures,
        "max_rel_error": _finite_or_none(finding.repair_max_rel_error),
    }


def assumption_map(examples=200, seed=0, *, oracle=None, cells=None, jobs=1) -> list[dict]:
    """The map as records, one per (assumption, activation, cost, feature) cell.

    * ``examples``: cases drawn per column (activation, cost, feature).
    * ``seed``: the search's seed; the same seed gives the same map, whatever ``jobs``.
    * ``oracle``: the oracle that gives the true gradient (default: ``default_oracle()``).
    * ``cells``: restrict to these ``(assumption, activation, cost, feature)`` tuples.
    * ``jobs``: columns searched at once, each in its own process (1: in this one).

    Each record has ``assumption``, ``seed_document``, ``activation`` (every
    layer's), ``cost``, ``feature``, ``holds``, ``max_rel_error`` (None when
    unbounded: the shortcut is nonzero where the true gradient and all its terms
    are exactly zero), ``examples``, ``broken`` (how many of them broke it),
    ``oracle``, ``counterexample`` (None, or the shrunk case as plain data: sizes,
    activations, cost, l2, batch_norm, m, the seed that rebuilds it and the whole
    ``arch``), and ``repair`` (None, or the terms the textbook leaves out and
    whether textbook + repair matched the oracle on every breaking case).
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
        "repair": None if finding.holds else _repair_record(finding),
    } for name, finding in findings.items()]


def explain(records) -> dict[str, str]:
    """Per assumption, one line: where it breaks, as the fewest attribute values whose cells are
    exactly the broken ones (activation=softmax or feature=layer_norm ...) when there are such."""
    lines = {}
    for name in dict.fromkeys(r["assumption"] for r in records):
        mine = [r for r in records if r["assumption"] == name]
        broken = {id(r) for r in mine if not r["holds"]}
        if not broken:
            lines[name] = f"holds in all {len(mine)} cells"
            continue
        # Values all of whose cells break, the widest first; each kept only if it adds cells.
        cells_of = {(a, v): {id(r) for r in mine if r[a] == v}
                    for a in ATTRIBUTES for v in dict.fromkeys(r[a] for r in mine)}
        sufficient = sorted((key for key, ids in cells_of.items() if ids <= broken),
                            key=lambda key: (-len(cells_of[key]), ATTRIBUTES.index(key[0])))
        chosen, covered = [], set()
        for key in sufficient:
            if not cells_of[key] <= covered:
                chosen.append(key)
                covered |= cells_of[key]
        if covered == broken:
            chosen.sort(key=lambda key: (ATTRIBUTES.index(key[0]), FEATURES.index(key[1])
                                         if key[0] == "feature" else 0))
            lines[name] = "breaks exactly where " + " or ".join(f"{a}={v}" for a, v in chosen)
        else:
            lines[name] = f"breaks in {len(broken)} of {len(mine)} cells"
    return lines


def _error_text(value):
    return "inf" if value is None else f"{value:.1e}"


def to_text(records, *, examples, seed, seconds) -> str:
    oracle = records[0]["oracle"] if records else default_oracle()
    names = list(dict.fromkeys(r["assumption"] for r in records))
    cols = list(dict.fromkeys((r["feature"], r["activation"], r["cost"]) for r in records))
    by_cell = {(r["assumption"], r["feature"], r["activation"], r["cost"]): r for r in records}
    lines = [f"gradcert assumptions: up to {examples} drawn cases per column (seed {seed}), "
             f"{len(cols)} columns, oracle {oracle}, {seconds:.1f} s", ""]
    for name, line in explain(records).items():
        assumption = ASSUMPTIONS[name]
        lines.append(f"{name} (seed {assumption.seed}): {assumption.statement}")
        lines.append(f"  {line}")
        repairs = [r["repair"] for r in records if r["assumption"] == name and r["repair"]]
        for formula in dict.fromkeys(f for repair in repairs for f in repair["formulas"]):
            lines.append(f"  repair: {formula}")
        if repairs:
            checked, failed = sum(r["cases"] for r in repairs), sum(r["failures"] for r in repairs)
            worst = max((r["max_rel_error"] for r in repairs if r["max_rel_error"] is not None), default=0.0)
            lines.append(f"  textbook + repair = the {oracle} gradient on {checked - failed} of {checked} "
                         f"breaking cases (largest relative error {worst:.1e})")
    lines += ["", f"{'feature':<11} {'activation/cost':<24}"
              + "".join(f" {name:>14}" for name in names)]
    for feature, activation, cost in cols:
        cells = [by_cell[(name, feature, activation, cost)] for name in names]
        shown = "".join(f" {('ok ' if r['holds'] else 'BREAKS ') + _error_text(r['max_rel_error']):>14}"
                        for r in cells)
        lines.append(f"{feature:<11} {activation + '/' + cost:<24}{shown}")
    lines += ["", "each break's minimal counterexample (the first tensor it gets wrong), its repair checked:"]
    for r in records:
        c, repair = r["counterexample"], r["repair"]
        if c is None:
            continue
        verdict = "repair ok" if repair["verified"] else "REPAIR FAILS"
        lines.append(f"{r['assumption']:<14} {r['activation']}/{r['cost']}/{r['feature']}: {c['describe']} "
                     f"seed={c['seed']} ({c['tensor']}); {verdict} on {repair['cases'] - repair['failures']}/"
                     f"{repair['cases']}")
    return "\n".join(lines)


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _figure_class():
    """matplotlib's Figure (no pyplot, so no global backend state), or None when it is missing."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure


def add_arguments(parser):
    """Add the options of ``gradcert assumptions`` to an argparse parser."""
    parser.add_argument("--json", action="store_true", help="print the map as a JSON list of records")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help=f"also draw the map as a heatmap in FILE, e.g. map.png (needs {PLOT_FIX})")
    parser.add_argument("--examples", type=_positive_int, default=200,
                        help="drawn cases searched per column (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search (default 0)")
    parser.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1,
                        help="columns searched at once, in separate processes (default: one per CPU)")
    from gradcert.properties.assumptions.explain import EXPLAINABLE

    parser.add_argument("--explain", metavar="FEATURE", default=None,
                        help=f"print one feature's minimal counterexamples as numbers: the textbook delta "
                             f"beside the true one, the difference and the repair ({', '.join(EXPLAINABLE)})")
    return parser


def _usage_error(args):
    """A one-line message for arguments that cannot work, checked before the search starts."""
    from gradcert.properties.assumptions.explain import EXPLAINABLE

    if getattr(args, "examples", 1) < 1:
        return f"--examples {args.examples}: give a positive whole number"
    explained = getattr(args, "explain", None)
    if explained is not None and explained not in EXPLAINABLE:
        return f"--explain {explained}: choose one of {', '.join(EXPLAINABLE)}"
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
    if getattr(args, "explain", None) is not None:
        from gradcert.properties.assumptions.explain import explain_feature

        print(explain_feature(args.explain, examples=args.examples, seed=args.seed))
        return EXIT_OK
    start = time.perf_counter()
    records = assumption_map(examples=args.examples, seed=args.seed, jobs=getattr(args, "jobs", 1))
    seconds = time.perf_counter() - start
    if getattr(args, "json", False):
        print(json.dumps(records, indent=2))
    else:
        print(to_text(records, examples=args.examples, seed=args.seed, seconds=seconds))
    if getattr(args, "plot", None):
        from gradcert.properties.assumptions.plot import plot

        plot(records, args.plot)
        print(f"gradcert: wrote the map to {args.plot}", file=sys.stderr)
    return EXIT_OK
