"""The pytest plugin, end to end with pytester: the same certification inside a user's suite."""

import pathlib

import pytest

pytest_plugins = ["pytester"]

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORRECT = ROOT / "tests/zoo/correct/nielsen_network2.py"
MUTANT = ROOT / "tests/zoo/mutants/sigma_prime_doubled.py"


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(test_users_own="def test_something_of_theirs():\n    assert 1 + 1 == 2\n")
    return pytester


def test_without_a_target_the_plugin_adds_nothing(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*gradcert[[]*")  # no gradcert item (the plugin line names it)


def test_a_correct_target_is_certified_beside_the_users_tests(suite):
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--gradcert-target={CORRECT}:Network2CrossEntropy",
        "--gradcert-cost=cross-entropy", "--gradcert-examples=20", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*gradcert*Network2CrossEntropy*PASSED*"])


def test_a_bug_fails_with_the_same_report_as_the_command(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", f"--gradcert-target={MUTANT}:Network",
                                        "--gradcert-oracles=finite-diff")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*BUG in backprop: minimal failing case*",
                                 "*diagnosis: sigma'(z) is applied once too often*",
                                 "*reproduce: gradcert check *sigma_prime_doubled.py:Network*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_bad_target_fails_with_one_line(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--gradcert-target=nowhere_xyz:Net")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*gradcert could not check: target 'nowhere_xyz:Net': cannot import*"])


def test_the_plugin_module_loads_without_numpy_torch_or_jax(pytester):
    # What pytest imports for every run of every user, with gradcert installed.
    pytester.makepyfile(test_probe=(
        "import sys\n"
        "def test_lean():\n"
        "    assert 'gradcert.properties.frontends.plugin' in sys.modules\n"
        "    assert not {'torch', 'jax', 'hypothesis.extra.numpy'} & set(sys.modules)\n"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
