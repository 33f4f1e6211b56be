"""Wall time of the project's own test suite, and cases per second of ``gradcert check``.

    python benchmarks/bench_suite.py [--examples N] [--skip-suite]

* ``pytest -q -p no:cacheprovider`` serially and with ``-n 2`` (pytest-xdist), from
  the repository root, each in a fresh process: the whole command's wall time, and
  pytest's own summary line;
* ``gradcert check --examples N --json``: the "seconds" it reports (drawing, the
  candidate and every installed oracle), and N / seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import ROOT, print_header, table


def run(command):
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - start, done


def pytest_line(output):
    """pytest's closing summary, e.g. '240 passed in 31.20s'."""
    lines = [line.strip("= ") for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return lines[-1] if lines else "(no summary line)"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50, help="cases for gradcert check (default 50)")
    parser.add_argument("--skip-suite", action="store_true", help="only time gradcert check")
    args = parser.parse_args(argv)
    print_header("the test suite and gradcert check", ["benchmarks/bench_suite.py", *argv])

    python = sys.executable
    rows = []
    if not args.skip_suite:
        for extra in ([], ["-n", "2"]):
            command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
            seconds, done = run(command)
            rows.append([f"pytest -q {' '.join(extra)}".strip(), f"{seconds:.1f}", pytest_line(done.stdout)])
            print(f"  {rows[-1][0]}: {seconds:.1f} s ({rows[-1][2]})", flush=True)
            for line in done.stdout.splitlines():
                if line.startswith(("FAILED", "ERROR")):
                    print(f"    {line}")
        print()
        print(table(rows, ["command (from the repository root)", "wall s", "pytest says"]))
        serial, parallel = float(rows[0][1]), float(rows[1][1])
        print(f"\n-n 2 / serial = {parallel / serial:.2f}\n")

    gradcert = shutil.which("gradcert", path=str(Path(python).parent)) or "gradcert"
    command = [gradcert, "check", "--examples", str(args.examples), "--json"]
    seconds, done = run(command)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        print(f"gradcert check did not print JSON (exit {done.returncode}):\n{done.stdout[-2000:]}"
              f"{done.stderr[-2000:]}")
        return 1
    reported = report["seconds"]
    cases = report.get("examples_run", report["examples"])
    oracles = ", ".join(f"{name} ({tally['cases']})" for name, tally in report["oracles"].items())
    print(f"gradcert check --examples {args.examples} --json: {cases} cases in {reported:.1f} s "
          f"(its 'seconds'; the whole command {seconds:.1f} s) = {cases / reported:.2f} cases/s; "
          f"exit {done.returncode}, verdict {report.get('verdict', report.get('certified'))}; "
          f"oracles (cases each): {oracles}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
