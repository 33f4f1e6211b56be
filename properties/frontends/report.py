"""Certificates as text for people, JSON for machines and JUnit XML for CI dashboards."""

from __future__ import annotations

import shlex
from xml.sax.saxutils import escape, quoteattr

# Options that pin a case; a reproduce command replaces them with the failing case's own.
_PINNING = {"--sizes": 1, "--batch": 1, "--case-seed": 1, "--activation": 1, "--cost": 1, "--l2": 1,
            "--batch-norm": 1, "--examples": 1, "--seed": 1, "--json": 0, "--junit": 1, "--verbose": 0}


def reproduce_command(cert, argv):
    """One command that checks exactly the failing case again."""
    case = cert.failing_case
    if case is None or getattr(case, "seed", None) is None:
        return "gradcert " + shlex.join(argv or ["check"])
    kept, skip = [], 0
    for word in argv or ["check"]:
        if skip:
            skip -= 1
            continue
        flag = word.split("=", 1)[0]
        if flag in _PINNING:
            skip = _PINNING[flag] if "=" not in word else 0
            if flag == "--batch-norm":  # an optional value: skip it only if it is one
                skip = 0
            continue
        kept.append(word)
    if cert.kind == "layer":
        pinned = ["--sizes", str(case.n), "--batch", str(case.m), "--case-seed", str(case.seed)]
    else:
        arch = case.arch
        pinned = ["--sizes", ",".join(map(str, arch.sizes)), "--activation", ",".join(arch.activations),
                  "--cost", arch.cost, "--batch", str(case.m), "--case-seed", str(case.seed)]
        if arch.l2:
            pinned += ["--l2", repr(arch.l2)]
        if any(arch.batch_norm):
            pinned += ["--batch-norm", ",".join(str(int(f)) for f in arch.batch_norm)]
    if cert.kind == "reference":
        kept = [w for w in kept if w != "check"]
        return "gradcert check " + shlex.join(kept + pinned)
    return "gradcert " + shlex.join(kept + pinned)


def _tensor_record(t):
    return {"tensor": t.name, "agrees": t.agrees, "max_abs_error": t.max_abs_error,
            "max_rel_error": t.max_rel_error, "worst_index": list(t.worst_index),
            "candidate": t.candidate_value, "oracle": t.oracle_value, "tolerance": t.tolerance}


def _case_record(case):
    if case is None:
        return None
    if hasattr(case, "arch"):
        return {"architecture": case.arch.to_dict(), "batch": case.m, "seed": case.seed}
    return {"width": case.n, "batch": case.m, "seed": case.seed}


def _failure_record(cert):
    from gradcert.properties.candidates.calls import CandidateFailure

    failure = cert.failure
    if isinstance(failure, CandidateFailure):
        return {"verdict": failure.verdict, "message": failure.message,
                "case": _case_record(cert.failing_case)}
    record = {
        "verdict": "gradient bug",
        "part": failure.part,
        "case": _case_record(failure.outer),
        "dtype": str(failure.dtype),
        "comparisons": [{"oracle": c.oracle, "agrees": c.agrees, "max_abs_error": c.max_abs_error,
                         "max_rel_error": c.max_rel_error,
                         "tensors": [_tensor_record(t) for t in c.tensors]} for c in failure.comparisons],
    }
    first = [c for c in failure.comparisons if not c.agrees][0].first_disagreement
    record["first_disagreement"] = _tensor_record(first)
    record["agreeing_oracles"] = [c.oracle for c in failure.comparisons if not c.agrees]
    if cert.kind in ("network", "function", "reference") and not failure.directional:
        from gradcert.properties.diagnose import diagnose

        d = diagnose(failure)
        record["equation"], record["signature"] = d.equation, d.signature
        record["diagnosis"] = d.explanation or None
    return record


def to_json(cert, argv=None) -> dict:
    record = {
        "candidate": cert.candidate,
        "kind": cert.kind,
        "certified": cert.certified,
        "verdict": "certified" if cert.certified else None,
        "examples": cert.examples,
        "examples_run": cert.examples_run,
        "seed": cert.seed,
        "seconds": round(cert.seconds, 3),
        "oracles": {name: {"cases": t.cases, "worst_rel_error": t.worst_rel_error, "worst_case": t.worst_case}
                    for name, t in cert.tallies.items()},
        "failure": None,
    }
    if cert.failure is not None:
        record["failure"] = _failure_record(cert)
        record["verdict"] = record["failure"]["verdict"]
        record["reproduce"] = reproduce_command(cert, argv)
    return record


def to_text(cert, argv=None, verbose=False) -> str:
    record = to_json(cert, argv)
    lines = [f"gradcert: {cert.candidate} ({cert.kind})",
             f"{cert.examples_run} cases checked (seed {cert.seed}), oracles: {', '.join(cert.oracles)}, "
             f"{cert.seconds:.1f} s", ""]
    if any(t.cases for t in cert.tallies.values()):
        lines.append(f"{'oracle':<13} {'checks':>6}  {'worst rel. error':>16}  worst case")
    for t in cert.tallies.values():
        if t.cases:
            lines.append(f"{t.oracle:<13} {t.cases:>6}  {t.worst_rel_error:>16.2e}  {t.worst_case}")
    lines.append("")
    if cert.certified:
        lines.append("CERTIFIED: the gradient agrees with every oracle on every case.")
        return "\n".join(lines)
    failure = record["failure"]
    if failure["verdict"] != "gradient bug":
        lines.append(f"{failure['verdict'].upper()}: {failure['message']}")
        if verbose and getattr(cert.failure, "detail", ""):
            lines.append(cert.failure.detail.rstrip())
    else:
        lines += _bug_lines(cert, failure)
    lines.append(f"reproduce: {record['reproduce']}")
    return "\n".join(lines)


def _bug_lines(cert, failure):
    case = cert.failure.outer
    first = failure["first_disagreement"]
    lines = [f"BUG in {failure['part']}: minimal failing case: {case.describe()}"]
    if cert.failure.dtype.name != "float64":
        lines.append(f"  (the candidate returned {cert.failure.dtype.name}: judged at its precision)")
    lines.append(f"  first disagreement: {first['tensor']}"
                 + (f", where {failure['equation']} is violated" if failure.get("equation") else ""))
    lines.append(f"  max abs error {first['max_abs_error']:.3e}, max rel error {first['max_rel_error']:.3e}, "
                 f"worst at {tuple(first['worst_index'])}: candidate {first['candidate']:.17g}, "
                 f"oracle {first['oracle']:.17g} (tolerance {first['tolerance']:.2e})")
    lines.append(f"  oracles against the candidate: {', '.join(failure['agreeing_oracles'])}")
    if failure.get("diagnosis"):
        lines.append(f"  diagnosis: {failure['diagnosis']}")
    for c in cert.failure.comparisons:
        bad = [t for t in c.tensors if not t.agrees]
        lines.append(f"  {c.oracle}: " + ("agrees" if not bad else
                     "disagrees on " + ", ".join(f"{t.name} (rel {t.max_rel_error:.1e})" for t in bad)))
    return lines


def write_junit(record, path):
    """One test case per certification; a failure carries the report's verdict and reproduce command."""
    name = quoteattr(record["candidate"])
    failed = record["failure"] is not None
    body = ""
    if failed:
        f = record["failure"]
        message = quoteattr(f"{f['verdict']}: {f.get('message') or f.get('diagnosis') or ''}".strip(": "))
        body = f"<failure message={message}>{escape(record.get('reproduce', ''))}</failure>"
    xml = (f'<?xml version="1.0" encoding="utf-8"?>\n'
           f'<testsuite name="gradcert" tests="1" failures="{int(failed)}" time="{record["seconds"]}">'
           f'<testcase classname="gradcert" name={name} time="{record["seconds"]}">{body}</testcase>'
           f"</testsuite>\n")
    with open(path, "w", encoding="utf-8") as out:
        out.write(xml)
