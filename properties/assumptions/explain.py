"""``gradcert assumptions --explain FEATURE``: one feature's minimal counterexamples, as numbers.

For the feature's simplest column (every layer linear, the quadratic cost, and
the feature; softmax's own column is softmax with no feature) the search runs
as for the map, and for each assumption the feature breaks, the shrunk case is
printed with everything needed to follow the break by hand: its parameters and
batch, each layer's delta (dC/dz) as the textbook computes it beside the true
one and their difference, the repair terms the textbook leaves out (where each
enters and its value), and the check that textbook + repair is the oracle's
gradient, within the rounding bound.
"""

from __future__ import annotations

import numpy as np
from gradcert.oracles.rounding import rounding_bound
from gradcert.properties.assumptions.search import (
    ASSUMPTIONS,
    FEATURES,
    column_strategy,
    default_oracle,
    discover,
    torch_threads,
)
from gradcert.properties.certify import oracle_gradients
from gradcert.properties.compare import compare
from gradcert.reference.textbook import Record

EXPLAINABLE = ("softmax", *[f for f in FEATURES if f != "none"])

__all__ = ["EXPLAINABLE", "column_of", "explain_feature"]


def column_of(feature):
    """The simplest column that has ``feature``: linear layers and the quadratic cost (softmax: its own)."""
    return ("softmax", "quadratic", "none") if feature == "softmax" else ("linear", "quadratic", feature)


def _numbers(a):
    """An array as nested lists on one line, six significant digits (+ 0.0: no "-0")."""
    def nested(v):
        return f"[{', '.join(nested(x) for x in v)}]" if isinstance(v, list) else f"{v + 0.0:.6g}"

    return nested(np.asarray(a, dtype=float).tolist())


def explain_feature(feature, *, examples=200, seed=0, oracle=None) -> str:
    """The text ``--explain FEATURE`` prints (see the module docstring)."""
    if feature not in EXPLAINABLE:
        raise ValueError(f"unknown feature {feature!r}: choose one of {', '.join(EXPLAINABLE)}")
    oracle = oracle or default_oracle()
    column = column_of(feature)
    with torch_threads(oracle):
        findings = discover(list(ASSUMPTIONS), column_strategy(*column), examples=examples, seed=seed,
                            oracle=oracle)
        lines = [f"gradcert assumptions --explain {feature}: column {'/'.join(column)}, up to {examples} "
                 f"drawn cases (seed {seed}), oracle {oracle}", ""]
        for name, finding in findings.items():
            assumption = ASSUMPTIONS[name]
            if finding.holds:
                lines.append(f"{name} (seed {assumption.seed}) holds on all {finding.examples} cases "
                             f"(largest relative error {finding.max_rel_error:.1e})")
                continue
            lines += _broken(name, finding, oracle)
    return "\n".join(lines).rstrip()


def _broken(name, finding, oracle):
    case = finding.counterexample
    assumption = ASSUMPTIONS[name]
    net = case.network()
    textbook, true, repaired = Record(), Record(), Record(repair=True)
    textbook_gradient = net.backprop_assuming(case.x, case.y, [name], textbook)
    true_gradient = net.backprop_assuming(case.x, case.y, (), true)
    repaired_gradient = net.backprop_assuming(case.x, case.y, [name], repaired)
    got = oracle_gradients(case, [oracle])[0]
    bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
    comparison = compare(repaired_gradient, got, bound)
    lines = [f"{name} (seed {assumption.seed}) BREAKS on {finding.broken} of {finding.examples} cases: "
             f"{assumption.statement}",
             f"  minimal counterexample: {case!r}",
             f"  rebuilt by case_from_seed(Architecture.from_dict({case.arch.to_dict()!r}), {case.m}, "
             f"{case.seed})"]
    for layer in reversed(range(case.arch.depth)):
        difference = textbook.deltas[layer] - true.deltas[layer]
        lines += [f"  layer {layer}: delta = dC/dz",
                  f"    textbook   {_numbers(textbook.deltas[layer])}",
                  f"    true       {_numbers(true.deltas[layer])}",
                  f"    difference {_numbers(difference)}"]
    for kind, index in (("nabla_b", 0), ("nabla_w", 1)):
        for layer in range(case.arch.depth):
            text, exact = textbook_gradient[index][layer], true_gradient[index][layer]
            if np.array_equal(text, exact):
                continue
            lines += [f"  {kind}[{layer}]: textbook {_numbers(text)}",
                      f"  {' ' * len(kind)}    true     {_numbers(exact)}",
                      f"  {' ' * len(kind)}    {oracle:<8} {_numbers(getattr(got, kind)[layer])}"]
    for repair in repaired.repairs:
        lines += [f"  repair at layer {repair.layer}, added to {repair.where}: {repair.formula}",
                  f"    = {_numbers(repair.term)}"]
    worst = comparison.tensors and max(comparison.tensors, key=lambda t: t.excess)
    verdict = "agrees" if comparison.agrees else "DISAGREES"
    lines += [f"  textbook + repair {verdict} with the {oracle} gradient: largest relative error "
              f"{comparison.max_rel_error:.1e}, {worst.excess:.2g} of the rounding bound at worst "
              f"({worst.name}); checked on {finding.repair_cases - finding.repair_failures} of "
              f"{finding.repair_cases} breaking cases", ""]
    return lines
