"""gradcert check end to end: every target style, every exit code, every misbehaving candidate.

Most tests call ``cli.main`` in-process (the same code the console script runs; the candidate
runs in its worker process either way); a few run the installed command in a subprocess to prove
the exit codes, the quiet ends and the absence of tracebacks where it matters.
"""

import json
import subprocess
import sys

import pytest
from gradcert.properties.frontends import cli

BAD = "tests/candidates/misbehaving.py:"
ZOO = "tests/zoo/"
FAST = ["--examples", "15"]  # every misbehaviour shows on the first case drawn


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    return code, json.loads(out)


def test_the_bundled_reference_is_certified(capsys):
    code, record = run_json(capsys, "check", "--examples", "20")
    assert code == 0 and record["certified"] and record["kind"] == "reference"
    assert set(record["oracles"]) >= {"finite-diff"}
    assert all(o["cases"] > 0 for o in record["oracles"].values())


def test_the_bundled_reference_is_certified_in_directional_mode(capsys):
    code, record = run_json(capsys, "check", "--directional", "--examples", "10")
    assert code == 0 and record["certified"], record["failure"]
    checked = {name for name, o in record["oracles"].items() if o["cases"]}
    assert checked == {"complex-step (directional)"}


@pytest.mark.parametrize("target, extra", [
    (ZOO + "correct/nielsen_network.py:Network", []),
    (ZOO + "correct/network2_factories.py:Net2Quadratic", []),
    (ZOO + "correct/nielsen_network2.py:Network", []),  # its cost, CrossEntropyCost, inferred
    (ZOO + "correct/nielsen_network2.py:Network", ["--cost", "cross-entropy"]),
    (ZOO + "correct/layers_correct.py:SoftmaxJacobian", []),
    (ZOO + "correct/layers_correct.py:BatchNormLayer", []),
    (ZOO + "correct/functional_grad.py:grad", []),
    (BAD + "NestedLists", []),
    ("tests/candidates/affine.py:Affine", []),
    ("tests/candidates/affine.py:AffineDict", []),
])
def test_correct_targets_of_every_style_are_certified(capsys, target, extra):
    code, record = run_json(capsys, "check", target, *FAST, *extra)
    assert code == 0, record["failure"]
    assert record["certified"]


@pytest.mark.parametrize("mode", [[], ["--directional"]])
def test_a_float32_candidate_is_judged_at_float32_precision(capsys, mode):
    code, record = run_json(capsys, "check", BAD + "Float32", *FAST, *mode)
    assert code == 0, record["failure"]


@pytest.mark.parametrize("name, verdict, words", [
    ("Raises", "crashed", "raised KeyError: 'layer 3'"),
    ("Hangs", "timed out", "did not return within 0.5 s"),
    ("ReturnsNone", "invalid output", "returned None"),
    ("WrongShapes", "invalid output", "has shape"),
    ("ReturnsNaN", "invalid output", "has nan at"),
    ("ReturnsComplex", "invalid output", "is complex"),
    ("ReturnsIntegers", "invalid output", "integer dtype"),
    ("MutatesInput", "mutated inputs", "wrote into the x it was given"),
    ("MutatesWeights", "mutated weights", "changed the network's own weights"),
])
def test_misbehaving_candidates_get_a_verdict_not_a_traceback(capsys, name, verdict, words):
    code, out, err = run(capsys, "check", BAD + name, "--timeout", "0.5", *FAST)
    assert code == 1
    assert f"{verdict.upper()}: " in out and words in out
    assert sum(line.startswith(f"{verdict.upper()}: ") for line in out.splitlines()) == 1
    assert "Traceback" not in out + err
    assert "reproduce: gradcert check " in out


def test_gradients_in_the_wrong_order_are_named(capsys):
    # Told apart by their shapes where they differ, by their values where they coincide ([1, 1]).
    code, out, err = run(capsys, "check", BAD + "WrongOrder", *FAST)
    assert code == 1 and "returned (nabla_w, nabla_b)" in out and "Traceback" not in out + err


def test_verbose_shows_the_candidates_traceback(capsys):
    code, out, _ = run(capsys, "check", BAD + "Raises", "--verbose", *FAST)
    assert code == 1 and "Traceback" in out and "KeyError" in out


@pytest.mark.parametrize("target, signature, equation", [
    (ZOO + "mutants/sigma_prime_dropped.py:Network", "sigma_prime_missing", "BP1"),
    (ZOO + "mutants/sigma_prime_at_a.py:Network", "sigma_prime_at_a", "BP1"),
    (ZOO + "mutants/transposed_nabla_w.py:Network", "transposed", "BP4"),
    (ZOO + "mutants/bias_grad_not_delta.py:Network", None, "BP3"),
    (ZOO + "mutants/update_sum_not_mean.py:Network", "factor_m", None),
    (BAD + "FlippedSign", "sign_flipped", "BP1"),
])
def test_bugs_are_diagnosed(capsys, target, signature, equation):
    code, record = run_json(capsys, "check", target)
    assert code == 1
    failure = record["failure"]
    assert failure["verdict"] == "gradient bug"
    assert failure["signature"] == signature and failure["equation"] == equation
    assert record["reproduce"].startswith("gradcert check " + target)


@pytest.mark.parametrize("declared, words", [
    (["--activation", "tanh"],
     "exactly that of sigmoid in every layer: if that is what the network computes, "
     "rerun with --activation sigmoid"),
    (["--cost", "cross-entropy"], "exactly that of the quadratic cost"),
])
def test_a_correct_network_declared_wrongly_is_told_what_it_computes(capsys, declared, words):
    # network.py is sigmoid and quadratic: declared otherwise it fails (exit 1), and the report says
    # which declaration its gradient fits exactly.
    code, record = run_json(capsys, "check", ZOO + "correct/nielsen_network.py:Network", *declared, *FAST)
    assert code == 1 and words in (record["failure"].get("suggestion") or ""), record["failure"]


def test_a_real_bug_is_not_explained_away_by_another_activation(capsys):
    # sigma' missing from BP1 is no activation's gradient: no activation is suggested.
    code, record = run_json(capsys, "check", ZOO + "mutants/sigma_prime_doubled.py:Network", *FAST)
    assert code == 1 and "activation" not in (record["failure"].get("suggestion") or "")


def test_the_reproduce_command_reproduces_the_minimal_case(capsys):
    _, record = run_json(capsys, "check", ZOO + "mutants/sigma_prime_doubled.py:Network")
    argv = record["reproduce"].split()[1:]
    code, again = run_json(capsys, *argv)
    assert code == 1 and again["failure"]["case"] == record["failure"]["case"]
    assert again["failure"]["first_disagreement"] == record["failure"]["first_disagreement"]


def test_a_layer_bug_is_found_with_a_minimal_case(capsys):
    # The zoo's layers take Nielsen's columns (D, N); a softmax over one unit is constant: D = 2 is minimal.
    target = ZOO + "mutants/softmax_elementwise.py:SoftmaxShortcut"
    code, record = run_json(capsys, "check", target, "--columns")
    assert code == 1
    assert record["failure"]["case"]["dims"] == {"D": 2, "N": 1}
    assert record["failure"]["signature"] == "elementwise_jacobian"


@pytest.mark.parametrize("name, tensor", [("AffineBiasBug", "db"), ("AffineTransposedW", "grads['W']")])
def test_a_layers_parameter_gradients_are_checked(capsys, name, tensor):
    # W/dW attributes, or params/grads dicts: both conventions are read.
    code, record = run_json(capsys, "check", f"tests/candidates/affine.py:{name}")
    assert code == 1 and record["failure"]["first_disagreement"]["tensor"] == tensor
    assert {"dx", tensor} <= {t.split(" ")[0] for t in record["tensors_checked"]}


def test_row_major_layers(capsys, tmp_path):
    layer = tmp_path / "rows.py"
    layer.write_text(
        "import numpy as np\n"
        "class Tanh:\n"
        "    def forward(self, x):\n"
        "        self.out = np.tanh(x)\n"
        "        return self.out\n"
        "    def backward(self, dout):\n"
        "        return dout * (1 - self.out ** 2)\n"
        "class Softmax:\n"
        "    def __init__(self, n):\n"
        "        self.n = n\n"
        "    def forward(self, x):\n"
        "        assert x.shape[1] == self.n, 'examples are rows'\n"
        "        e = np.exp(x - x.max(axis=1, keepdims=True))\n"
        "        self.s = e / e.sum(axis=1, keepdims=True)\n"
        "        return self.s\n"
        "    def backward(self, dout):\n"
        "        return self.s * (dout - (self.s * dout).sum(axis=1, keepdims=True))\n")
    assert run(capsys, "check", f"{layer}:Tanh", "--rows", *FAST)[0] == 0
    assert run(capsys, "check", f"{layer}:Softmax", "--rows", *FAST)[0] == 0
    code, out, _ = run(capsys, "check", f"{layer}:Softmax", *FAST)  # inferred: rows
    assert code == 0 and "batches as rows" in out
    # Declared as columns (D, N), the batch arrives in the shape this layer refuses.
    code, out, _ = run(capsys, "check", f"{layer}:Softmax", "--columns", *FAST)
    assert code == 1 and "examples are rows" in out


def test_a_networks_examples_are_rows_where_its_biases_are_or_where_it_is_told(capsys):
    # hao-wang/bfalgo's port (W (n_in, n_out), b (1, n)): rows read from its biases, or declared;
    # declared as columns, x (n_in, 1) arrives in the shape its a W + b cannot take (exit 1).
    rows, few = ZOO + "styles/nielsen_rows.py:Network", ["--examples", "3", "--oracles", "finite-diff"]
    code, out, _ = run(capsys, "check", rows, *few)
    assert code == 0 and "its examples are taken as rows" in out
    assert run(capsys, "check", rows, "--rows", *few)[0] == 0
    code, out, _ = run(capsys, "check", rows, "--columns", *few)
    assert code == 1 and "CRASHED" in out


@pytest.mark.parametrize("argv, words", [
    (["check", "no_such_module_xyz:Net"], "cannot import no_such_module_xyz"),
    (["check", "tests/nowhere.py:Net"], "no file tests/nowhere.py"),
    (["check", BAD + "Missing"], "has no attribute 'Missing'"),
    (["check", BAD + "NotACandidate"], "gradcert checks a network class"),
    (["check", "justaname"], "package.module:Name"),
    (["check", "--cost", "hinge"], "unknown cost 'hinge'"),
    (["check", "--oracles", "tensorflow"], "unknown oracle 'tensorflow'"),
    (["check", "--examples", "0"], "not a positive whole number"),
    (["check", "--case-seed", "-1", "--sizes", "2,2"], "must be at least 0"),
    (["check", "--timeout", "inf"], "not a finite number"),
    (["check", "--sizes", "100000,100000,100000"], "GiB to check"),
    (["check", "--sizes", "3,x"], "whole numbers separated by commas"),
    (["check", "--no-such-flag"], "unrecognized arguments"),
    (["check", BAD + "grad_not_implemented"], "declined all"),
    (["check", ZOO + "correct/nielsen_network.py:Network", "--cost", "quadratic,cross-entropy"], "one cost"),
])
def test_cannot_check_exits_2_with_one_line(capsys, argv, words):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert words in err and err.startswith("gradcert: ") and err.count("\n") == 1
    assert "Traceback" not in out + err


def test_junit_report(capsys, tmp_path):
    path = tmp_path / "reports" / "deeper" / "gradcert.xml"  # directories made, as pytest's --junitxml
    code, _, _ = run(capsys, "check", ZOO + "mutants/sign_error_bias.py:Network", "--junit", str(path))
    assert code == 1
    xml = path.read_text()
    assert 'failures="1"' in xml and "gradient bug" in xml and "reproduce" not in xml.split("<failure")[0]
    assert 'classname="gradcert.network"' in xml


@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_a_junit_path_that_cannot_be_written_is_exit_2(capsys, tmp_path, where):
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = tmp_path if where == "a directory" else blocker / "gradcert.xml"
    code, out, err = run(capsys, "check", "--examples", "2", "--oracles", "finite-diff", "--junit", str(path))
    assert code == 2 and err.startswith("gradcert: --junit") and err.count("\n") == 1 and not out


def test_json_is_strict_even_for_an_infinite_error(capsys):
    # A batch-norm mutant on a batch of one: the true gradient is exactly 0, so its relative error is inf.
    target = ZOO + "mutants/batchnorm_missing_mean_terms.py:BatchNormLayer"
    code, out, _ = run(capsys, "check", target, "--json")
    record = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in gradcert's JSON"))
    assert code == 1 and record["failure"]["first_disagreement"]["max_rel_error"] is None
    assert record["failure"]["first_disagreement"]["max_rel_error_note"] == "infinite"


def test_version(capsys):
    import gradcert

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"gradcert {gradcert.__version__}"


def gradcert(*argv, **kwargs):
    return subprocess.run([sys.executable, "-m", "gradcert", *argv], capture_output=True, text=True,
                          timeout=300, **kwargs)


def test_exit_codes_from_the_command_line():
    assert gradcert("check", "--examples", "5", "--oracles", "finite-diff").returncode == 0
    bug = gradcert("check", ZOO + "mutants/wrong_cost_derivative.py:Network", "--oracles", "finite-diff")
    assert bug.returncode == 1 and "BUG in backprop" in bug.stdout
    bad = gradcert("check", "--batch", "-3")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_help_and_a_finite_difference_check_import_neither_torch_nor_jax():
    probe = ("import contextlib, sys\nfrom gradcert.properties.frontends import cli\n"
             "with contextlib.suppress(SystemExit):\n    cli.main({argv})\n"
             "print(sorted(m for m in ('torch', 'jax') if m in sys.modules))")
    for argv in (["--help"], ["check", "--examples", "3", "--oracles", "finite-diff"]):
        result = subprocess.run([sys.executable, "-c", probe.format(argv=argv)], capture_output=True,
                                text=True, timeout=300)
        assert result.stdout.strip().endswith("[]"), result.stdout + result.stderr


def test_a_closed_pipe_ends_quietly_with_the_verdicts_code(tmp_path):
    # `gradcert check ... | head -1`: the reader goes away; no traceback, the verdict's exit code.
    script = (f"{sys.executable} -m gradcert check {ZOO}mutants/wrong_cost_derivative.py:Network "
              "--oracles finite-diff --verbose | head -1; echo \"code ${PIPESTATUS[0]}\"")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300)
    assert result.stdout.splitlines()[-1] == "code 1" and "Traceback" not in result.stderr, result.stderr


def test_ctrl_c_ends_quietly_with_130(tmp_path):
    import signal
    import time

    # A pytest-xdist worker ignores SIGINT, and a child inherits that: a small launcher gives the command
    # the default disposition back (exec keeps a default, as it keeps an ignored one).
    launcher = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                "os.execv(sys.executable, [sys.executable, '-m', 'gradcert', *sys.argv[1:]])")
    process = subprocess.Popen([sys.executable, "-c", launcher, "check", BAD + "Hangs", "--timeout", "60"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # long enough to be inside the candidate's hang
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "Traceback" not in err and "interrupted" in err, err


def test_a_layer_forward_that_needs_more_than_x_is_refused_before_any_call(capsys, tmp_path):
    layer = tmp_path / "needs.py"
    layer.write_text("class NeedsMask:\n    def forward(self, x, mask):\n        raise AssertionError\n"
                     "    def backward(self, dout):\n        return dout\n")
    code, out, err = run(capsys, "check", f"{layer}:NeedsMask")
    assert code == 2 and "give mask with --kwargs" in err and not out


def test_progress_goes_to_a_terminal_only_after_two_seconds():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen, pipe = Terminal(), io.StringIO()
    for stream in (screen, pipe):
        progress = cli.Progress(stream)
        progress(1, 100, 0.5, "torch")
        progress(40, 100, 2.5, "torch")
        progress.clear()
    assert "40/100 cases (torch)" in screen.getvalue() and "1/100" not in screen.getvalue()
    assert pipe.getvalue() == ""
