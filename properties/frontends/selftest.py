"""``gradcert selftest``: gradcert's own detection power, measured on the zoo.

Every mutant (one classic gradient bug each) must be rejected and every correct implementation
certified, each checked as ``gradcert check`` checks it with only the options its catalogue entry
declares.  The table says, per entry, the verdict, which oracle and which part caught it, after
how many drawn cases and in how long; then the kill rate and the false alarms, per interface
style and in all.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

from gradcert.properties.errors import GradcertError, UsageError

DEFAULT_ZOO = Path("tests/zoo/catalogue.py")


def add_arguments(parser):
    parser.add_argument(
        "--zoo",
        type=Path,
        default=DEFAULT_ZOO,
        help="the zoo's catalogue.py (default: tests/zoo/catalogue.py of a clone)",
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--seed", type=int, default=0, help="seed of every check (default 0)")
    parser.add_argument(
        "--directional",
        action="store_true",
        help="check the network and function targets in directional mode: that mode's own power",
    )
    parser.add_argument("--style", default=None, help="only the entries of this interface style")


def load_catalogue(path):
    path = Path(path)
    if not path.is_file():
        raise UsageError(
            f"--zoo: no catalogue at {path}; run selftest from a clone of gradcert or give "
            "--zoo path/to/catalogue.py"
        )
    spec = importlib.util.spec_from_file_location("_gradcert_zoo_catalogue", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = getattr(module, "ROOT", None)
    return module, Path(root) if root is not None else path.resolve().parents[2]


def entry_style(entry):
    return entry.get("style") or entry.get("kind")


def entry_options(entry, seed=0, directional=False):
    """The Options of ``gradcert check`` for one catalogue entry: what the entry declares, the seed."""
    from gradcert.properties.options import Options

    given = dict(entry.get("options") or {})
    if "options" not in entry and entry.get("kind") == "network":  # the catalogue's first format
        given.update(cost=entry.get("cost"), activation=entry.get("activation"))
    given["seed"] = seed
    if directional and entry_style(entry) in ("network", "function", "step") and "mode" not in given:
        given["mode"] = "directional"
    return Options.build(**given)


def entry_target(entry, root):
    target = entry["target"]
    module, _, name = target.rpartition(":")
    if module.endswith(".py") or "/" in module:
        return f"{root / module}:{name}"
    return target


def run_entry(entry, root, seed=0, directional=False):
    """Check one entry as ``gradcert check`` would; return its row of the table."""
    from gradcert.properties import runner

    start = time.perf_counter()
    try:
        cert = runner.run(entry_target(entry, root), entry_options(entry, seed, directional))
        verdict, failure = cert.verdict, cert.failure
    except GradcertError as error:
        cert, verdict, failure = None, "usage error", None
        message = str(error)
    seconds = time.perf_counter() - start
    expected = entry.get("expected") or ("rejected" if entry.get("bug") else "certified")
    row = {
        "target": entry["target"],
        "style": entry_style(entry),
        "bug": entry.get("bug"),
        "expected": expected,
        "verdict": verdict,
        "outcome": "certified" if verdict == "certified" else "rejected",
        "caught_by": None,
        "part": None,
        "signature": None,
        "after_examples": cert.first_failure_at if cert else None,
        "seconds": round(seconds, 3),
    }
    if failure is not None and verdict == "gradient bug":
        row["caught_by"] = ", ".join(failure.oracles_against)
        row["part"], row["signature"] = failure.part, failure.signature
    elif failure is not None:
        row["caught_by"], row["part"] = "harness", verdict
    elif cert is None:
        row["caught_by"], row["part"] = "harness", message
    row["correct"] = row["outcome"] == expected
    return row


def run(args) -> int:
    catalogue, root = load_catalogue(args.zoo)
    entries = [
        e for e in catalogue.MUTANTS + catalogue.CORRECT if args.style is None or entry_style(e) == args.style
    ]
    if not entries:
        raise UsageError(f"--style {args.style}: no entry of that style in {args.zoo}")
    rows = [run_entry(entry, root, args.seed, args.directional) for entry in entries]
    summary = summarise(rows)
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=2))
    else:
        print(table(rows, summary))
    return 0 if summary["killed"] == summary["mutants"] and summary["false_alarms"] == 0 else 1


def summarise(rows):
    def counts(subset):
        mutants = [r for r in subset if r["expected"] == "rejected"]
        correct = [r for r in subset if r["expected"] == "certified"]
        killed = sum(r["outcome"] == "rejected" for r in mutants)
        return {
            "mutants": len(mutants),
            "killed": killed,
            "kill_rate": killed / len(mutants) if mutants else None,
            "correct": len(correct),
            "false_alarms": sum(r["outcome"] == "rejected" for r in correct),
        }

    summary = counts(rows)
    summary["styles"] = {
        style: counts([r for r in rows if r["style"] == style])
        for style in dict.fromkeys(r["style"] for r in rows)
    }
    summary["seconds"] = round(sum(r["seconds"] for r in rows), 2)
    return summary


def table(rows, summary):
    caught = [f"{r['caught_by']} ({r['part']})" if r["caught_by"] else "" for r in rows]
    wt = max(len(r["target"]) for r in rows)
    wc = max(len(c) for c in caught + ["caught by"])
    lines = [
        f"{'target':<{wt}}  {'style':<8}  {'verdict':<15}  {'caught by':<{wc}}  {'after':>5}  {'time':>7}"
    ]
    for r, c in zip(rows, caught):
        mark = "" if r["correct"] else "   <-- WRONG"
        after = "" if r["after_examples"] is None else str(r["after_examples"])
        lines.append(
            f"{r['target']:<{wt}}  {r['style']:<8}  {r['verdict']:<15}  {c:<{wc}}  {after:>5}  "
            f"{r['seconds']:>6.2f}s{mark}"
        )
    lines.append("")
    lines.append(f"{'style':<10} {'mutants killed':>15} {'false alarms':>13}")
    for style, s in summary["styles"].items():
        lines.append(
            f"{style:<10} {s['killed']:>7}/{s['mutants']:<7} {s['false_alarms']:>6}/{s['correct']:<6}"
        )
    rate = summary["kill_rate"]
    lines.append(
        f"\nkill rate {summary['killed']}/{summary['mutants']} = {rate:.0%}; " if rate is not None else "\n"
    )
    lines[-1] += (
        f"false alarms {summary['false_alarms']}/{summary['correct']}; {summary['seconds']:.1f} s in all"
    )
    return "\n".join(lines)
