"""Certificates as text for people and as JSON for machines."""

from __future__ import annotations

import shlex


def _case_record(case):
    return {"architecture": case.arch.to_dict(), "batch": case.m}


def _comparison_record(comparison):
    return {
        "oracle": comparison.oracle,
        "agrees": comparison.agrees,
        "max_abs_error": comparison.max_abs_error,
        "max_rel_error": comparison.max_rel_error,
        "tensors": [
            {"tensor": t.name, "agrees": t.agrees, "max_abs_error": t.max_abs_error,
             "max_rel_error": t.max_rel_error, "worst_index": list(t.worst_index),
             "candidate": t.candidate_value, "oracle": t.oracle_value, "tolerance": t.tolerance}
            for t in comparison.tensors
        ],
    }


def to_json(cert) -> dict:
    record = {
        "candidate": cert.candidate,
        "certified": cert.certified,
        "examples": cert.examples,
        "seed": cert.seed,
        "seconds": round(cert.seconds, 3),
        "oracles": {name: {"cases": t.cases, "worst_rel_error": t.worst_rel_error, "worst_case": t.worst_case}
                    for name, t in cert.tallies.items()},
        "failure": None,
    }
    if cert.failure is not None:
        record["failure"] = {
            "case": _case_record(cert.failure.case),
            "comparisons": [_comparison_record(c) for c in cert.failure.comparisons],
        }
    return record


def to_text(cert, argv=None) -> str:
    lines = [f"gradcert: {cert.candidate}",
             f"{cert.examples} drawn cases (seed {cert.seed}), oracles: {', '.join(cert.oracles)}, "
             f"{cert.seconds:.1f} s", ""]
    lines.append(f"{'oracle':<12} {'cases':>6}  {'worst rel. error':>16}  worst case")
    for t in cert.tallies.values():
        lines.append(f"{t.oracle:<12} {t.cases:>6}  {t.worst_rel_error:>16.2e}  {t.worst_case}")
    lines.append("")
    if cert.certified:
        lines.append("CERTIFIED: the gradient agrees with every oracle on every case.")
        return "\n".join(lines)
    failure = cert.failure
    lines.append(f"BUG: minimal failing case: {failure.case.describe()}")
    for comparison in failure.comparisons:
        verdict = "agrees" if comparison.agrees else "DISAGREES"
        lines.append(f"  {comparison.oracle}: {verdict}")
        for t in comparison.tensors:
            if not t.agrees:
                lines.append(
                    f"    {t.name}: max abs error {t.max_abs_error:.3e}, rel {t.max_rel_error:.3e}, "
                    f"worst at {t.worst_index}: candidate {t.candidate_value:.17g} vs oracle "
                    f"{t.oracle_value:.17g} (tolerance {t.tolerance:.2e})")
    if argv is not None:
        lines.append(f"reproduce: gradcert {shlex.join(argv)}")
    return "\n".join(lines)
