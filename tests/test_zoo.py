"""Detection power, measured: every mutant rejected, every correct implementation certified.

Each entry of the zoo (tests/zoo/catalogue.py) is checked exactly as ``gradcert check`` checks it
with the options its entry declares (``gradcert selftest`` prints the same run as a table); where
the catalogue names the bug's signature, the certificate's diagnosis must name it too, and the
report's ``reproduce:`` command must re-run to the same verdict on the same case.
"""

import json
import os
import pathlib
import shlex

import pytest
from gradcert.properties import runner
from gradcert.properties.frontends import cli
from gradcert.properties.frontends.selftest import entry_options, entry_style, entry_target, load_catalogue

CATALOGUE, ROOT = load_catalogue(pathlib.Path(__file__).parent / "zoo" / "catalogue.py")


def entry_id(entry):
    return entry["target"].split("/")[-1]


# Drawn cases per check of a correct entry: gradcert's default (100, what `gradcert selftest` measures)
# under the thorough profile, fewer in the default run, where a correct entry's time is all its cases.
# A mutant keeps the default: its run ends at the first failure (after at most 17 cases in the selftest).
EXAMPLES = None if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 15


def certify(entry, directional=False):
    options = entry_options(entry, directional=directional)
    if EXAMPLES is not None and not entry.get("bug") and "examples" not in (entry.get("options") or {}):
        options = options.replace(examples=EXAMPLES)
    return runner.run(entry_target(entry, ROOT), options)


def test_the_zoos_ground_truth_holds_without_gradcert():
    # The zoo's labels are checked by a script that shares no code with gradcert
    # (tests/zoo/_selfcheck.py): every correct entry agrees with derivatives it computes itself,
    # every mutant differs from them -- in its gradient, not by raising: a mutant that only crashes
    # the script would be "caught" without its bug ever being seen.
    import subprocess
    import sys

    script = pathlib.Path(__file__).parent / "zoo" / "_selfcheck.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all as expected" in done.stdout
    crashed = [line for line in done.stdout.splitlines() if "[raised " in line]  # nothing but a crash
    assert not crashed, "\n".join(crashed)
    counted = sum(line.startswith(("ok ", "caught ")) for line in done.stdout.splitlines())
    assert counted == len(CATALOGUE.CORRECT) + len(CATALOGUE.MUTANTS) + len(CATALOGUE.REFUSED)


def test_the_zoo_is_big_enough():
    # Issue 5: at least 20 mutants and 6 correct implementations along different code paths.
    assert len(CATALOGUE.MUTANTS) >= 20 and len(CATALOGUE.CORRECT) >= 6


@pytest.mark.parametrize("entry", CATALOGUE.CORRECT, ids=entry_id)
def test_correct_implementations_are_certified(entry):
    cert = certify(entry)
    assert cert.certified, cert.failure


@pytest.mark.parametrize("entry", CATALOGUE.MUTANTS, ids=entry_id)
def test_every_mutant_is_killed_diagnosed_and_reproduced(entry, capsys):
    cert = certify(entry)
    assert not cert.certified, f"{entry['target']} ({entry['bug']}) was certified"
    failure = cert.failure
    if entry["shows_via"] == "mutation":
        assert failure.verdict.replace(" ", "_") == entry["signature"]
    else:
        assert failure.verdict == "gradient bug", failure
        # what exposed the bug: a gradient gradcert reads (backprop, backward, a loss's grads, a
        # model's gradient()), an update_mini_batch step, or the step of code that applies its own gradient
        parts = {
            "backprop": ("backprop", "backward", "loss", "gradient"),
            "update_mini_batch": ("update_mini_batch",),
            "step": ("step",),
            "forward": ("forward",),  # an engine's values: the function itself is wrong
        }[entry["shows_via"]]
        assert failure.part in parts, failure
        if entry.get("signature") is not None or entry_style(entry) in ("network", "function"):
            assert failure.signature == entry["signature"], failure
    # The printed command re-runs, and finds the same verdict on the same case.
    argv = shlex.split(cert.reproduce)
    assert argv[:2] == ["gradcert", "check"]
    argv[2] = entry_target(entry, ROOT) if argv[2] == entry["target"] else argv[2]
    code = cli.main(argv[1:] + ["--json"])
    again = json.loads(capsys.readouterr().out)
    assert code == 1 and again["verdict"] == cert.verdict
    assert again["failure"]["case"] == failure.case
    if failure.first_disagreement is not None:
        assert again["failure"]["first_disagreement"]["tensor"] == failure.first_disagreement["tensor"]


# The directional mode on part of the zoo (`gradcert selftest --directional` runs all of
# it): the update-step mutants, the subtlest backprop ones, two correct ones.
DIRECTIONAL = (
    "update_sum_not_mean.py",
    "update_mean_twice.py",
    "batch_one_only.py",
    "tiny_single_entry.py",
    "missing_transpose_bp2.py",
    "functional_softmax_hadamard.py",
)


@pytest.mark.parametrize(
    "entry", [e for e in CATALOGUE.MUTANTS if entry_id(e).split(":")[0] in DIRECTIONAL], ids=entry_id
)
def test_the_directional_mode_kills_mutants_too(entry):
    cert = certify(entry, directional=True)
    assert not cert.certified, f"{entry['target']} ({entry['bug']}) was certified in directional mode"
    assert cert.failure.part == entry["shows_via"]
    assert any("(directional)" in c["oracle"] for c in cert.failure.comparisons), cert.failure


@pytest.mark.parametrize(
    "entry", [e for e in CATALOGUE.CORRECT if entry_style(e) in ("network", "function")][:2], ids=entry_id
)
def test_the_directional_mode_certifies_correct_implementations(entry):
    cert = certify(entry, directional=True)
    assert cert.certified, cert.failure


def test_selftest_prints_the_kill_table(capsys, tmp_path):
    zoo = pathlib.Path(__file__).parent / "zoo"
    catalogue = tmp_path / "catalogue.py"
    catalogue.write_text(
        f"ROOT = {str(zoo.parents[1])!r}\n"
        "MUTANTS = [{'target': 'tests/zoo/mutants/sign_error_bias.py:Network', 'style': 'network', "
        "'options': {}, 'bug': 'nabla_b = -delta'}]\n"
        "CORRECT = [{'target': 'tests/zoo/correct/matrix_form.py:Network', 'style': 'network', "
        "'options': {}, 'bug': None}]\n"
    )
    assert cli.main(["selftest", "--zoo", str(catalogue)]) == 0
    out = capsys.readouterr().out
    assert "kill rate 1/1 = 100%; false alarms 0/1" in out
    assert "network" in out and "certified" in out and "gradient bug" in out
    assert cli.main(["selftest", "--zoo", str(tmp_path / "nowhere.py")]) == 2
