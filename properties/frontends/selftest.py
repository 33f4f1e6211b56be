"""``gradcert selftest``: gradcert's own detection power, measured on the mutant zoo.

Every mutant (one classic gradient bug each) must be rejected and every
correct implementation certified under the default ``gradcert check``
settings.  The table says, per entry, the verdict, which oracle and which
part (backprop, the update step, a mutation check) caught it, after how many
drawn cases, and in how long; then the kill rate and the false alarms.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

DEFAULT_ZOO = Path("tests/zoo/catalogue.py")


def add_arguments(parser):
    parser.add_argument("--zoo", type=Path, default=DEFAULT_ZOO,
                        help="the zoo's catalogue.py (default: tests/zoo/catalogue.py of a clone)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    parser.add_argument("--seed", type=int, default=0, help="seed of every check (default 0)")
    parser.add_argument("--directional", action="store_true",
                        help="check the network and function targets in directional mode (layer targets "
                             "as always): the directional mode's own detection power")


def load_catalogue(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--zoo: no catalogue at {path}; run selftest from a clone of gradcert "
                                "or give --zoo path/to/catalogue.py")
    spec = importlib.util.spec_from_file_location("_gradcert_zoo_catalogue", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path.resolve().parents[2]


def check_argv(entry, seed=0, directional=False):
    """The default ``gradcert check`` command for one zoo entry (``--directional`` added
    for a network or function target if asked)."""
    argv = ["check", entry["target"], "--seed", str(seed)]
    if entry["kind"] == "network":
        argv += ["--cost", entry["cost"], "--activation", entry["activation"]]
    if directional and entry["kind"] in ("network", "function"):
        argv.append("--directional")
    return argv


def run_entry(entry, root, seed=0, directional=False):
    """Check one entry as ``gradcert check`` would; return its row of the table."""
    from gradcert.properties.candidates.calls import CandidateFailure
    from gradcert.properties.frontends import cli

    argv = check_argv(entry, seed, directional)
    argv[1] = str(root / entry["target"].split(":")[0]) + ":" + entry["target"].split(":")[1]
    start = time.perf_counter()
    cert = cli.run_check(cli._parser().parse_args(argv))
    seconds = time.perf_counter() - start
    row = {"target": entry["target"], "kind": entry["kind"], "bug": entry["bug"],
           "expected": "rejected" if entry["bug"] else "certified",
           "verdict": "certified" if cert.certified else "rejected",
           "caught_by": None, "part": None, "after_examples": cert.first_failure_at, "seconds": seconds}
    failure = cert.failure
    if isinstance(failure, CandidateFailure):
        row["caught_by"], row["part"] = "harness", failure.verdict
    elif failure is not None:
        row["caught_by"] = ", ".join(c.oracle for c in failure.comparisons if not c.agrees)
        row["part"] = failure.part
    row["correct"] = row["verdict"] == row["expected"]
    return row


def run(args) -> int:
    from gradcert.properties.frontends.cli import UsageError

    try:
        catalogue, root = load_catalogue(args.zoo)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    rows = [run_entry(entry, root, args.seed, args.directional)
            for entry in catalogue.MUTANTS + catalogue.CORRECT]
    mutants = [r for r in rows if r["expected"] == "rejected"]
    correct = [r for r in rows if r["expected"] == "certified"]
    killed = sum(r["verdict"] == "rejected" for r in mutants)
    false_alarms = sum(r["verdict"] == "rejected" for r in correct)
    summary = {"mutants": len(mutants), "killed": killed, "kill_rate": killed / len(mutants),
               "correct": len(correct), "false_alarms": false_alarms,
               "seconds": round(sum(r["seconds"] for r in rows), 2)}
    if args.json:
        print(json.dumps({"rows": rows, "summary": summary}, indent=2))
    else:
        caught = [f"{r['caught_by']} ({r['part']})" if r["caught_by"] else "" for r in rows]
        wt, wc = max(len(r["target"]) for r in rows), max(len(c) for c in caught + ["caught by"])
        print(f"{'target':<{wt}}  {'verdict':<9}  {'caught by':<{wc}}  {'after':>5}  {'time':>7}")
        for r, c in zip(rows, caught):
            mark = "" if r["correct"] else "   <-- WRONG"
            after = "" if r["after_examples"] is None else str(r["after_examples"])
            print(f"{r['target']:<{wt}}  {r['verdict']:<9}  {c:<{wc}}  {after:>5}  "
                  f"{r['seconds']:>6.2f}s{mark}")
        print(f"\nkill rate {killed}/{len(mutants)} = {summary['kill_rate']:.0%}; "
              f"false alarms {false_alarms}/{len(correct)}; {summary['seconds']:.1f} s in all")
    return 0 if killed == len(mutants) and false_alarms == 0 else 1
