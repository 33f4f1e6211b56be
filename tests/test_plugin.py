"""The pytest plugin, end to end with pytester: the same certification inside a user's suite."""

import pathlib

import pytest

pytest_plugins = ["pytester"]

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORRECT = ROOT / "tests/zoo/correct/nielsen_network2.py"
FACTORY = ROOT / "tests/zoo/correct/network2_factories.py"
MUTANT = ROOT / "tests/zoo/mutants/sigma_prime_doubled.py"
LAYER = ROOT / "tests/zoo/correct/layers_correct.py"


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(test_users_own="def test_something_of_theirs():\n    assert 1 + 1 == 2\n")
    return pytester


def test_without_a_target_the_plugin_adds_nothing(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*gradcert::*")


def test_a_correct_target_is_certified_beside_the_users_tests(suite):
    result = suite.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--gradcert-target={CORRECT}:Network",
        "--gradcert-cost=cross-entropy",
        "--gradcert-examples=20",
        "-v",
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*gradcert::*nielsen_network2.py:Network PASSED*"])


def test_a_bug_fails_with_the_same_report_as_the_command(suite):
    result = suite.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--gradcert-target={MUTANT}:Network", "--gradcert-oracles=finite-diff"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*BUG in backprop: minimal failing case*",
            "*diagnosis: sigma'(z) is applied once too often*",
            "*reproduce: gradcert check *sigma_prime_doubled.py:Network*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_several_targets_from_the_ini_file_one_item_each(pytester):
    pytester.makepyfile(test_users_own="def test_theirs():\n    assert True\n")
    pytester.makepyprojecttoml(
        "[tool.pytest.ini_options]\n"
        f'gradcert_target = ["{FACTORY}:Net2Quadratic", "{LAYER}:TanhLayer"]\n'
        'gradcert_examples = "10"\n'
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "--junitxml=report.xml")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*gradcert::*Net2Quadratic PASSED*", "*gradcert::*TanhLayer PASSED*"])
    junit = (pytester.path / "report.xml").read_text()
    assert 'classname="gradcert"' in junit  # not the empty classname of an item without a parent


def test_the_command_line_wins_over_the_ini_file(pytester):
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ngradcert_examples = "0"\n')  # bad: 0
    target = f"--gradcert-target={FACTORY}:Net2Quadratic"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", target, "--gradcert-examples=5")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    "flag, words",
    [
        ("--gradcert-examples=0", "--examples: '0' is not a positive whole number"),
        ("--gradcert-cost=hinge", "unknown cost 'hinge'"),
        ("--gradcert-mode=sideways", "--mode: 'sideways'"),
        ("--gradcert-timeout=inf", "not a finite number"),
    ],
)
def test_bad_option_values_are_a_usage_error_at_start_up(suite, flag, words):
    target = f"--gradcert-target={FACTORY}:Net2Quadratic"
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", target, flag)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*gradcert: *{words}*"])
    result.stdout.no_fnmatch_line("*test_something_of_theirs*PASSED*")


def test_every_check_option_has_a_plugin_flag():
    from gradcert.properties.frontends import plugin
    from gradcert.properties.options import SPECS

    class Recorder:
        def __init__(self):
            self.flags, self.ini = set(), set()

        def getgroup(self, *args):
            return self

        def addoption(self, flag, **kwargs):
            self.flags.add(flag)

        def addini(self, name, *args, **kwargs):
            self.ini.add(name)

    recorder = Recorder()
    plugin.pytest_addoption(recorder)
    for spec in SPECS:
        assert f"--gradcert-{spec.flag[2:]}" in recorder.flags and f"gradcert_{spec.name}" in recorder.ini
    assert {"--gradcert-exhaustive", "--gradcert-directional", "--gradcert-rows"} <= recorder.flags


def test_a_bad_target_fails_with_one_line(suite):
    result = suite.runpytest_subprocess("-p", "no:cacheprovider", "--gradcert-target=nowhere_xyz:Net")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*gradcert could not check: target 'nowhere_xyz:Net': cannot import*"])


def test_the_plugin_module_loads_without_numpy_torch_or_jax(pytester):
    # What pytest imports for every run of every user, with gradcert installed.
    pytester.makepyfile(
        test_probe=(
            "import sys\n"
            "def test_lean():\n"
            "    assert 'gradcert.properties.frontends.plugin' in sys.modules\n"
            "    assert not {'numpy', 'torch', 'jax', 'hypothesis.extra.numpy'} & set(sys.modules)\n"
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)
