"""No misbehaving candidate can pass the gate, hang it or corrupt its output (issue 11).

Every entry of the hostile zoo (tests/hostile/expected.py) is checked through the Python API, as
the CLI and the plugin check it: the verdict, the words of its one verdict line, the exit code it
maps to, no traceback in the report, a wall-clock bound, and no process left behind.  A subset
runs through the ``gradcert`` command (exit codes, one verdict line, pure JSON on stdout
whatever the candidate prints) and through the pytest plugin (the user's own tests still run).
"""

import json
import os
import pathlib
import subprocess
import sys
import time
import uuid

import pytest
from gradcert.properties import runner
from gradcert.properties.errors import GradcertError
from gradcert.properties.frontends import report
from gradcert.properties.options import Options

pytest_plugins = ["pytester"]

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from hostile.expected import HOSTILE  # noqa: E402

sys.path.pop(0)

VERDICT_LINES = (
    "CERTIFIED:",
    "BUG in ",
    "CRASHED:",
    "EXITED:",
    "KILLED:",
    "TIMED OUT:",
    "INVALID OUTPUT:",
    "MUTATED INPUTS:",
    "MUTATED WEIGHTS:",
    "NON-DETERMINISTIC:",
    "CANNOT CHECK:",
)


def entry_id(entry):
    return entry["target"].split("/")[-1]


def leftovers(tag, workers_only=False):
    """Processes still running whose environment carries ``tag``: the run's workers and their children
    (``workers_only``: the worker processes alone, by their command line)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if workers_only:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    if b"gradcert.properties.candidates.worker" not in cmdline.read():
                        continue
            with open(f"/proc/{pid}/environ", "rb") as env:
                if tag.encode() in env.read():
                    with open(f"/proc/{pid}/stat") as stat:
                        if stat.read().split(")")[-1].split()[0] != "Z":
                            found.append(int(pid))
        except OSError:
            continue
    return found


@pytest.fixture
def tagged(monkeypatch):
    """An environment variable only this test's worker processes (and their children) inherit."""
    tag = f"gradcert-hostile-{uuid.uuid4().hex}"
    monkeypatch.setenv("GRADCERT_TEST_TAG", tag)
    return tag


@pytest.mark.parametrize("entry", HOSTILE, ids=entry_id)
def test_a_hostile_candidate_gets_its_verdict_in_time(entry, tagged, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # and nothing is left in the directory gradcert runs in
    start = time.perf_counter()
    try:
        cert = runner.run(str(ROOT / entry["target"]), Options.build(**entry["options"]))
    except GradcertError as error:
        assert entry["verdict"] == "usage error", f"{type(error).__name__}: {error}"
        assert all(w.lower() in str(error).lower() for w in entry["words"]), str(error)
        return
    seconds = time.perf_counter() - start
    assert cert.verdict == entry["verdict"], (cert.failure, report.to_text(cert))
    assert cert.exit_code == entry["exit"]
    assert seconds <= entry["seconds"], f"{seconds:.1f} s"
    text = report.to_text(cert)
    verdict_lines = [line for line in text.splitlines() if line.startswith(VERDICT_LINES)]
    assert len(verdict_lines) == 1, text
    assert all(w.lower() in verdict_lines[0].lower() for w in entry["words"]), verdict_lines[0]
    assert "Traceback" not in text
    json.dumps(report.to_record(cert), allow_nan=False)
    deadline = time.monotonic() + 3.0  # a killed process group takes a moment to be reaped
    while leftovers(tagged) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not leftovers(tagged), "processes of the candidate outlived its run"
    assert not list(tmp_path.iterdir()), "files left in the directory gradcert ran in"


def gradcert(*argv, cwd):
    return subprocess.run(
        [sys.executable, "-m", "gradcert", "check", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def flags(options):
    return Options.build(**options).to_argv()


COMMAND_LINE = [
    "exits.py:SysExitInBackprop",
    "exits.py:OsExitInBackprop",
    "exit_at_import.py:Network",
    "alarm_games.py:IgnoresAlarmAndHangs",
    "hanging_import.py:Network",
    "hard_crashes.py:Segfault",
    "threads.py:NonDaemonThread",
    "prints.py:PrintsALot",
    "forks.py:ForksInBackprop",
    "usage.py:NoInterface",
    "history.py:lrCostFunction",
    "history.py:svm_loss_vectorized",
]


@pytest.mark.parametrize("entry", [e for e in HOSTILE if entry_id(e) in COMMAND_LINE], ids=entry_id)
def test_the_command_gives_one_verdict_line_and_its_exit_code(entry, tmp_path):
    start = time.perf_counter()
    result = gradcert(str(ROOT / entry["target"]), *flags(entry["options"]), cwd=tmp_path)
    assert time.perf_counter() - start <= entry["seconds"] + 10  # + the interpreter's and torch's start-up
    assert result.returncode == entry["exit"], result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    if entry["exit"] == 2:
        assert result.stderr.startswith("gradcert: ") and result.stderr.count("\n") == 1 and not result.stdout
    else:
        lines = [line for line in result.stdout.splitlines() if line.startswith(VERDICT_LINES)]
        assert len(lines) == 1, result.stdout
    if (
        entry.get("json") or entry["exit"] == 0 and "forks" in entry["target"]
    ):  # the printing and forking ones
        json_run = gradcert(str(ROOT / entry["target"]), *flags(entry["options"]), "--json", cwd=tmp_path)
        record = json.loads(json_run.stdout)  # one JSON document, whatever the candidate printed
        assert record["verdict"] == entry["verdict"] and json_run.returncode == entry["exit"]
    assert not list(tmp_path.iterdir())


PLUGIN = ["exits.py:SysExitInBackprop", "skip.py:PytestSkipInBackprop", "alarm_games.py:CancelsAlarmAndHangs"]


@pytest.mark.parametrize("name", PLUGIN)
def test_under_the_plugin_the_users_tests_still_run(pytester, name):
    entry = next(e for e in HOSTILE if entry_id(e) == name)
    pytester.makepyfile(
        test_users_own="def test_one():\n    assert True\n\ndef test_two():\n    assert 1 + 1 == 2\n"
    )
    options = [
        f"--gradcert-{flag[2:]}" if flag.startswith("--") else flag for flag in flags(entry["options"])
    ]
    start = time.perf_counter()
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--gradcert-target={ROOT / entry['target']}", *options
    )
    assert time.perf_counter() - start <= entry["seconds"] + 15
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([f"*{entry['verdict'].upper()}:*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_worker_dies_with_a_killed_gradcert_even_while_its_candidate_hangs(tagged, tmp_path):
    # gradcert itself SIGKILLed (a cancelled CI job): nothing runs its clean-up, the kernel ends the worker.
    hang = ROOT / "tests/hostile/alarm_games.py:IgnoresAlarmAndHangs"
    process = subprocess.Popen(
        [sys.executable, "-m", "gradcert", "check", str(hang), "--timeout", "60"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not leftovers(tagged, workers_only=True) and time.monotonic() < deadline:  # its worker started
        time.sleep(0.1)
    assert leftovers(tagged, workers_only=True), "the worker never started"
    time.sleep(1.0)  # inside the candidate's hang
    process.kill()
    process.wait()
    deadline = time.monotonic() + 5
    while leftovers(tagged) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftovers(tagged)
