"""A Certificate as text for people, strict JSON for machines, JUnit XML for CI dashboards."""

from __future__ import annotations

import json
import math
from xml.sax.saxutils import escape, quoteattr

from gradcert.properties.certificate import finite_or_note

MAX_OUTPUT_LINES = 15


def tensor_record(t):
    record = {
        "tensor": t.name,
        "agrees": t.agrees,
        "max_abs_error": t.max_abs_error,
        "max_rel_error": t.max_rel_error,
        "worst_index": list(t.worst_index),
        "candidate": t.candidate_value,
        "oracle": t.oracle_value,
        "tolerance": t.tolerance,
    }
    for extra in ("status", "unchecked", "kinks", "kink_at_worst"):
        if hasattr(t, extra):
            record[extra] = getattr(t, extra)
    return record


def comparison_record(c):
    return {
        "oracle": c.oracle,
        "agrees": c.agrees,
        "max_abs_error": c.max_abs_error,
        "max_rel_error": c.max_rel_error,
        "tensors": [tensor_record(t) for t in c.tensors],
    }


def to_record(cert) -> dict:
    """The certificate as strict-JSON data (no Infinity or NaN: None beside a ``*_note``)."""
    record = {
        "candidate": cert.target,
        "style": cert.style,
        "kind": cert.style,  # the name of this key before interface styles: kept for old readers
        "certified": cert.certified,
        "verdict": cert.verdict,
        "exit_code": cert.exit_code,
        "examples": cert.examples,
        "examples_run": cert.examples_run,
        "declined": cert.declined,
        "unchecked": cert.unchecked,
        "seed": cert.seed,
        "seconds": round(cert.seconds, 3),
        "isolated": cert.isolated,
        "tensors_checked": list(cert.tensors),
        "notes": list(cert.notes),
        "oracles": {
            name: {"cases": o.cases, "worst_rel_error": o.worst_rel_error, "worst_case": o.worst_case}
            for name, o in cert.oracles.items()
        },
        "failure": None,
        "reproduce": cert.reproduce,
    }
    f = cert.failure
    if f is not None:
        record["failure"] = {key: value for key, value in vars(f).items()}
    return finite_or_note(record)


def to_json(cert) -> str:
    return json.dumps(to_record(cert), indent=2, allow_nan=False)


def _number(x, spec=".3e"):
    return "inf" if x is not None and isinstance(x, float) and math.isinf(x) else format(x, spec)


def _style_shown(style):
    return style if style != "?" else "not loaded: its import did not finish"  # runner's "?"


def to_text(cert, verbose=False) -> str:
    lines = [
        f"gradcert: {cert.target} ({_style_shown(cert.style)})",
        f"{cert.examples_run} cases checked (seed {cert.seed}), oracles: {', '.join(cert.oracles) or '-'}, "
        f"{cert.seconds:.1f} s",
    ]
    if cert.tensors:
        lines.append(f"tensors checked: {', '.join(cert.tensors)}")
    lines += [f"note: {note}" for note in cert.notes]
    lines.append("")
    rows = [o for o in cert.oracles.values() if o.cases]
    if rows:
        lines.append(f"{'oracle':<28} {'checks':>6}  {'worst rel. error':>16}  worst case")
        lines += [f"{o.oracle:<28} {o.cases:>6}  {o.worst_rel_error:>16.2e}  {o.worst_case}" for o in rows]
        lines.append("")
    if cert.certified:
        unchecked = [note for note in cert.notes if "not checked" in note]
        lines.append("CERTIFIED: the gradient agrees with every oracle on every case"
                     + (" (but for what the notes say was not checked)." if unchecked else "."))
        return "\n".join(lines)
    f = cert.failure
    if f.verdict == "gradient bug":
        lines += _bug_lines(f)
    else:
        lines.append(f"{f.verdict.upper()}: {f.message}")
        if f.case_text:
            lines.append(f"  on the case {f.case_text}")
        if verbose and f.detail:
            lines.append(f.detail.rstrip())
    if f.output:
        shown = f.output.splitlines()[-MAX_OUTPUT_LINES:]
        lines.append("  the candidate's last output:")
        lines += [f"    | {line}" for line in shown]
    if cert.reproduce:
        lines.append(f"reproduce: {cert.reproduce}")
    return "\n".join(lines)


def _bug_lines(f):
    first = f.first_disagreement
    lines = [f"BUG in {f.part}: minimal failing case: {f.case_text}"]
    if f.context:
        lines.append(f"  the call: {f.context}")
    if f.dtype and f.dtype != "float64":
        lines.append(f"  (the candidate returned {f.dtype}: judged at its precision)")
    lines.append(
        f"  first disagreement: {first['tensor']}"
        + (f", where {f.equation} is violated" if f.equation else "")
    )
    where = f"worst at {tuple(first['worst_index'])}: " if first["worst_index"] else ""
    kink = " (at a kink of the cost)" if first.get("kink_at_worst") else ""
    lines.append(
        f"  max abs error {_number(first['max_abs_error'])} (tolerance {first['tolerance']:.2e}), "
        f"relative error {_number(first['max_rel_error'], '.2e')}; {where}candidate "
        f"{first['candidate']:.17g}, oracle {first['oracle']:.17g}{kink}"
    )
    lines.append(f"  oracles against the candidate: {', '.join(f.oracles_against)}")
    if f.diagnosis:
        lines.append(f"  diagnosis: {f.diagnosis}")
    if f.suggestion:
        lines.append(f"  {f.suggestion}")
    for c in f.comparisons:
        bad = [t for t in c["tensors"] if not t["agrees"]]
        lines.append(
            f"  {c['oracle']}: "
            + (
                "agrees"
                if not bad
                else "disagrees on "
                + ", ".join(f"{t['tensor']} (rel {_number(t['max_rel_error'], '.1e')})" for t in bad)
            )
        )
    return lines


def write_junit(cert, path):
    """One test case per certification; a failure carries the verdict and the reproduce command."""
    name = quoteattr(cert.target)
    failed = not cert.certified
    body = ""
    if failed:
        f = cert.failure
        message = quoteattr(f"{f.verdict}: {f.diagnosis or f.message}")
        body = f"<failure message={message}>{escape(to_text(cert))}</failure>"
    seconds = f"{cert.seconds:.3f}"
    xml = (
        f'<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuite name="gradcert" tests="1" failures="{int(failed)}" time="{seconds}">'
        f'<testcase classname="gradcert.{cert.style}" name={name} time="{seconds}">{body}</testcase>'
        f"</testsuite>\n"
    )
    with open(path, "w", encoding="utf-8") as out:
        out.write(xml)
