"""Detection power, measured: every mutant rejected, every correct implementation certified.

Each entry of the zoo (tests/zoo/catalogue.py) is checked exactly as
``gradcert check`` checks it by default (``gradcert selftest`` prints the same
run as a table), and where the catalogue names the bug's signature, the
report's diagnosis must name it too.
"""

import pathlib

import pytest
from gradcert.properties.frontends import report
from gradcert.properties.frontends.selftest import check_argv, load_catalogue

CATALOGUE, ROOT = load_catalogue(pathlib.Path(__file__).parent / "zoo" / "catalogue.py")


def certify(entry, directional=False):
    from gradcert.properties.frontends import cli

    argv = check_argv(entry, directional=directional)
    argv[1] = str(ROOT / entry["target"])
    cert = cli.run_check(cli._parser().parse_args(argv))
    return cert, report.to_json(cert, argv)


def test_the_zoo_is_big_enough():
    # Issue 5: at least 20 mutants and 6 correct implementations along different code paths.
    assert len(CATALOGUE.MUTANTS) >= 20 and len(CATALOGUE.CORRECT) >= 6


@pytest.mark.parametrize("entry", CATALOGUE.CORRECT, ids=lambda e: e["target"].split("/")[-1])
def test_correct_implementations_are_certified(entry):
    cert, record = certify(entry)
    assert cert.certified, record["failure"]


@pytest.mark.parametrize("entry", CATALOGUE.MUTANTS, ids=lambda e: e["target"].split("/")[-1])
def test_every_mutant_is_killed_and_diagnosed(entry):
    cert, record = certify(entry)
    assert not cert.certified, f"{entry['target']} ({entry['bug']}) was certified"
    failure = record["failure"]
    if entry["shows_via"] == "mutation":
        assert failure["verdict"].replace(" ", "_") == entry["signature"]
    elif entry["kind"] != "layer":
        assert failure["verdict"] == "gradient bug"
        assert failure["part"] == entry["shows_via"]
        assert failure["signature"] == entry["signature"]


# The directional mode on part of the zoo (`gradcert selftest --directional` runs all of
# it: 26/26, 0/15): the update-step mutants, the subtlest backprop ones, two correct ones.
DIRECTIONAL = ("update_sum_not_mean.py", "update_mean_twice.py", "batch_one_only.py", "tiny_single_entry.py",
               "missing_transpose_bp2.py", "functional_softmax_hadamard.py")


@pytest.mark.parametrize("entry", [e for e in CATALOGUE.MUTANTS if e["target"].split("/")[-1].split(":")[0]
                                   in DIRECTIONAL], ids=lambda e: e["target"].split("/")[-1])
def test_the_directional_mode_kills_mutants_too(entry):
    cert, record = certify(entry, directional=True)
    assert not cert.certified, f"{entry['target']} ({entry['bug']}) was certified in directional mode"
    assert record["failure"]["part"] == entry["shows_via"]
    assert any("(directional)" in c["oracle"] for c in record["failure"]["comparisons"]), record["failure"]


@pytest.mark.parametrize("entry", [e for e in CATALOGUE.CORRECT if e["kind"] != "layer"][:2],
                         ids=lambda e: e["target"].split("/")[-1])
def test_the_directional_mode_certifies_correct_implementations(entry):
    cert, record = certify(entry, directional=True)
    assert cert.certified, record["failure"]


def test_selftest_prints_the_kill_table(capsys, tmp_path):
    from gradcert.properties.frontends import cli

    zoo = pathlib.Path(__file__).parent / "zoo"
    catalogue = tmp_path / "tests" / "zoo" / "catalogue.py"
    catalogue.parent.mkdir(parents=True)
    catalogue.write_text(
        f"MUTANTS = [{{'target': '{zoo}/mutants/sign_error_bias.py:Network', 'kind': 'network', "
        "'cost': 'quadratic', 'activation': 'sigmoid', 'bug': 'nabla_b = -delta'}]\n"
        f"CORRECT = [{{'target': '{zoo}/correct/matrix_form.py:Network', 'kind': 'network', "
        "'cost': 'quadratic', 'activation': 'sigmoid', 'bug': None}]\n")
    assert cli.main(["selftest", "--zoo", str(catalogue)]) == 0
    out = capsys.readouterr().out
    assert "kill rate 1/1 = 100%; false alarms 0/1" in out
    assert "rejected" in out and "certified" in out
    assert cli.main(["selftest", "--zoo", str(tmp_path / "nowhere.py")]) == 2
