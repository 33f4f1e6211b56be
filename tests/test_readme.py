"""Every snippet of the README runs as written (issue 10).

* each ```python block runs, from the repository's root, in a fresh namespace (the own-properties
  example under Hypothesis' default settings, as a user would paste it);
* each example command of the interface-styles table certifies its target (with ``--examples 10``
  added, the same flags parsed either way);
* the failure report shown is what that command prints today, line for line.
"""

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
    assert len(PYTHON) >= 3 and len(TABLE) == 11 and REPORT.startswith("BUG in backprop")


@pytest.mark.parametrize("code", PYTHON, ids=[f"python-{i}" for i in range(len(PYTHON))])
def test_every_python_snippet_runs(code, monkeypatch):
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


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
