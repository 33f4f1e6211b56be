"""Every snippet of the README runs as written (issue 10).

* each ```python block runs, from the repository's root, in a fresh namespace (the own-properties
  example under Hypothesis' default settings, as a user would paste it);
* each example command of the interface-styles table certifies its target (with ``--examples 10``
  added, the same flags parsed either way);
* the failure report shown is what that command prints today, line for line.
"""

import linecache
import pathlib
import re
import shlex

import pytest
from gradcert.properties.frontends import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PYTHON = re.findall(r"```python\n(.*?)```", README, flags=re.S)
TABLE = [  # every command in the last column of a table row
    command
    for row in re.findall(r"^\|.*\|$", README, flags=re.M)
    for command in re.findall(r"`(gradcert check [^`]*)`", row.rsplit("|", 2)[-2])
]
REPORT = re.search(r"```\n(BUG in .*?)```", README, flags=re.S).group(1)


def test_the_readme_has_what_these_tests_read():
    assert len(PYTHON) >= 3 and len(TABLE) == 12 and REPORT.startswith("BUG in backprop")


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_every_python_snippet_runs(code, monkeypatch):
    monkeypatch.chdir(ROOT)
    # The snippet's own lines under its name: Hypothesis reads a test's source (inspect), which under
    # "README.md" would be the README's first lines, and fail to parse as the README's text changes.
    name = f"<README.md snippet {PYTHON.index(code)}>"
    monkeypatch.setitem(linecache.cache, name, (len(code), None, code.splitlines(True), name))
    exec(compile(code, name, "exec"), {"__name__": "readme"})


@pytest.mark.parametrize("command", TABLE, ids=[c.split()[2].split("/")[-1] for c in TABLE])
def test_every_example_command_of_the_styles_table_certifies_its_target(command, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code = cli.main(shlex.split(command)[1:] + ["--examples", "10"])
    out = capsys.readouterr().out
    assert code == 0, out


def test_the_failure_report_is_what_the_command_prints(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    command = REPORT.strip().splitlines()[-1].removeprefix("reproduce: ")
    cli.main(shlex.split(command)[1:])
    printed = capsys.readouterr().out
    assert REPORT.strip() in printed, printed


WRITES = """\
import numpy as np


def lrCostFunction(theta, X, y, lambda_):
    m = len(y)
    h = 1 / (1 + np.exp(-X @ theta))
    grad = X.T @ (h - y) / m
    temp = theta  # the field's habit: an alias, then theta[0] zeroed in place
    temp[0] = 0
    return (-np.sum(y * np.log(h) + (1 - y) * np.log(1 - h)) / m + lambda_ / (2 * m) * temp @ temp,
            grad + lambda_ / m * temp)


def grad(arch, weights, biases, x, y):
    x *= 1.0001  # writes into the batch it is given
    return [np.zeros_like(b) for b in biases], [np.zeros_like(w) for w in weights]
"""


def test_the_readme_says_which_arguments_may_be_written_into_and_gradcert_holds_to_it(
    tmp_path, monkeypatch, capsys
):
    # README: a cost function may write into any argument (noted); a grad function into none (exit 1)
    prose = " ".join(README.split())
    assert "Which arguments your code may write into, per style." in prose
    assert "a loss or cost function into any argument" in prose
    assert "a `grad` function into any array" in prose
    (tmp_path / "writes.py").write_text(WRITES)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["check", "writes.py:lrCostFunction", "--examples", "5", "--json"])
    record = __import__("json").loads(capsys.readouterr().out)
    # its gradient is that of its cost at the theta it was given; the write is in a note, as the README says
    assert code == 0 and any("writes into the arrays it is given" in note for note in record["notes"]), record
    code = cli.main(["check", "writes.py:grad", "--examples", "5", "--json", "--activation", "sigmoid",
                     "--cost", "quadratic"])
    record = __import__("json").loads(capsys.readouterr().out)
    assert code == 1 and record["verdict"] == "mutated inputs", record
