"""Targets load the way pytest and uvicorn load user code, and the module that loads is the one named.

Each test builds a small user project in a temporary directory and runs ``gradcert check`` from
its root, as a user would.
"""

import json
import os
import textwrap

import pytest
from gradcert.properties.candidates.targets import dotted_name, parse
from gradcert.properties.errors import TargetError
from gradcert.properties.frontends import cli

NETWORK = textwrap.dedent("""\
    import numpy as np
    from {sigmoid_from} import sigmoid


    class Network:
        def __init__(self, sizes):
            self.weights = [np.zeros((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
            self.biases = [np.zeros((n, 1)) for n in sizes[1:]]

        def backprop(self, x, y):
            activations, zs = [x], []
            for w, b in zip(self.weights, self.biases):
                zs.append(w @ activations[-1] + b)
                activations.append(sigmoid(zs[-1]))
            s = sigmoid(zs[-1])
            delta = (activations[-1] - y) * s * (1 - s)
            nabla_b, nabla_w = [None] * len(zs), [None] * len(zs)
            for i in reversed(range(len(zs))):
                nabla_b[i], nabla_w[i] = delta, delta @ activations[i].T
                if i:
                    s = sigmoid(zs[i - 1])
                    delta = (self.weights[i].T @ delta) * s * (1 - s)
            return nabla_b, nabla_w
    """)
HELPERS = "import numpy as np\n\n\ndef sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-z))\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """mynn/ a package (with a relative import), and loose files beside it."""
    (tmp_path / "mynn").mkdir()
    (tmp_path / "mynn" / "__init__.py").write_text("")
    (tmp_path / "mynn" / "helpers.py").write_text(HELPERS)
    (tmp_path / "mynn" / "network.py").write_text(NETWORK.format(sigmoid_from=".helpers"))
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "my-net.py").write_text(NETWORK.format(sigmoid_from="helpers"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(capsys, *argv):
    code = cli.main(["check", *argv, "--oracles", "finite-diff", "--examples", "5", "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else None), err


def files(directory):
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.parametrize("target", ["mynn/network.py:Network", "mynn.network:Network", "my-net.py:Network"])
def test_a_target_loads_as_pytest_would_load_it(capsys, project, target):
    before = files(project)
    code, record, err = check(capsys, target)
    assert code == 0, (record or {}).get("failure") or err
    assert files(project) == before  # no __pycache__ left behind


def test_the_dotted_name_of_a_file_inside_a_package(project):
    assert dotted_name(project / "mynn" / "network.py") == ("mynn.network", project)
    assert dotted_name(project / "my-net.py") == ("my-net", project)
    spec = parse("mynn/network.py:Network")
    assert (spec.module, spec.sys_path, spec.by_location) == ("mynn.network", str(project), False)
    assert parse("my-net.py:Network").by_location


def test_a_file_shadowed_by_another_module_of_its_name_is_refused(capsys, project):
    (project / "numpy.py").write_text("class Network:\n    pass\n")  # numpy is imported before it could load
    code, _, err = check(capsys, "numpy.py:Network")
    assert code == 2 and "resolves to" in err and err.count("\n") == 1


def test_a_python_2_file_gets_one_line_saying_so(capsys, project):
    (project / "old.py").write_text("class Network:\n    def backprop(self, x, y):\n        print 'hello'\n")
    code, _, err = check(capsys, "old.py:Network")
    assert code == 2 and "Python 2 code" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "source, code_, words",
    [
        ("import a_module_nobody_has\n", 2, "No module named 'a_module_nobody_has'"),
        # an ordinary exception while the module runs: gradcert could not load it, one line naming
        # the exception, its message and the module's line, and the __main__ guard
        ("raise ValueError('broken at import')\n", 2, "raised ValueError: broken at import at bad.py:1"),
        ("import numpy as np\n\ndata = open('ex4data1.mat', 'rb')\n", 2,
         "FileNotFoundError: [Errno 2] No such file or directory: 'ex4data1.mat' at bad.py:3 "
         "(data = open('ex4data1.mat', 'rb')); code that runs at import (training, reading data) "
         'belongs under `if __name__ == "__main__":`'),
        # leaving the process is a verdict, whatever it raises: KeyboardInterrupt is no ordinary error
        ("raise KeyboardInterrupt\n", 1, "importing"),
        ("x = 1\n", 2, "has no attribute 'Network' (it defines x)"),
    ],
)
def test_imports_that_fail(capsys, project, source, code_, words):
    (project / "bad.py").write_text(source)
    code, record, err = check(capsys, "bad.py:Network")
    assert code == code_, err
    shown = err if code == 2 else record["failure"]["message"]
    assert words in shown, shown


@pytest.mark.parametrize(
    "text, words",
    [
        ("justaname", "package.module:Name"),
        ("mynn/nowhere.py:Network", "no file"),
        ("mynn.network:not-a-name", "not a Python name"),
        ("1bad.module:Name", "neither a module name nor a path"),
    ],
)
def test_malformed_targets_say_how_to_write_them(project, text, words):
    with pytest.raises(TargetError, match=words):
        parse(text)


PAIR_WITH_ALT = textwrap.dedent("""\
    import numpy as np


    def scale_forward(x, w):
        return x * w, (x, w)


    def scale_backward(dout, cache):
        x, w = cache
        return dout * w, (dout * x).sum(axis=0)


    def scale_backward_alt(dout, cache):
        x, w = cache
        return w * dout, np.einsum("nd,nd->d", dout, x)


    def scale_backward_wrong(dout, cache):
        x, w = cache
        return dout * w, (dout * x).mean(axis=0)


    def conv_forward_naive(x):
        return 2 * x, None


    def conv_backward_naive(dout, cache):
        return 2 * dout
    """)


@pytest.mark.parametrize("name, code_", [("scale_backward_alt", 0), ("scale_backward_wrong", 1)])
def test_a_backward_with_a_suffix_pairs_with_the_forward_without_it(capsys, project, name, code_):
    # cs231n's batchnorm_backward_alt(dout, cache) beside batchnorm_forward: checked, and a wrong one caught
    (project / "layers.py").write_text(PAIR_WITH_ALT)
    code, record, err = check(capsys, f"layers.py:{name}", "--inputs", "x=N,D w=D")
    assert code == code_ and record["style"] == "pair", (record or {}).get("failure") or err
    assert any("checked against scale_forward" in note for note in record["notes"])


@pytest.mark.parametrize(
    "name, meant", [("conv_naive", "layers.py:conv_forward_naive"), ("scal", "layers.py:scale")]
)
def test_a_name_not_found_suggests_the_closest_defined_name(capsys, project, name, meant):
    (project / "layers.py").write_text(PAIR_WITH_ALT)
    code, _, err = check(capsys, f"layers.py:{name}")
    assert code == 2 and f"did you mean {meant}?" in err and err.count("\n") == 1, err


@pytest.mark.parametrize("name", ["relu", "relu_forward", "relu_backward"])
def test_a_function_pair_is_named_by_its_stem_or_either_function(capsys, project, name):
    (project / "layers.py").write_text(
        textwrap.dedent("""\
        import numpy as np


        def relu_forward(x):
            return np.maximum(0, x), x


        def relu_backward(dout, cache):
            return dout * (cache > 0)
        """)
    )
    code, record, err = check(capsys, f"layers.py:{name}")
    assert code == 0 and record["style"] == "pair", (record or {}).get("failure") or err


def test_code_that_runs_from_its_own_directory_is_pointed_there(capsys, project):
    # Deep Learning from Scratch's layout: ch05/two_layer_net.py does sys.path.append(os.pardir) and
    # imports common/, so it runs from ch05/; from the root its import fails: exit 2, and the
    # message says where the module is and what to do.
    (project / "common").mkdir()
    (project / "common" / "__init__.py").write_text("")
    (project / "common" / "helpers.py").write_text(HELPERS)
    (project / "ch05").mkdir()
    source = NETWORK.format(sigmoid_from="common.helpers")
    (project / "ch05" / "net.py").write_text("import sys, os\nsys.path.append(os.pardir)\n" + source)
    code, _, err = check(capsys, "ch05/net.py:Network")
    assert code == 2 and "common is in" in err and str(project) in err and "PYTHONPATH" in err, err
    os.chdir(project / "ch05")
    code, record, err = check(capsys, "net.py:Network")
    assert code == 0, (record or {}).get("failure") or err


FRAMEWORK_FUNCTION = """\
import torch


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad_output
"""


def test_a_torch_autograd_function_is_sent_to_gradcheck(capsys, project):
    (project / "cube.py").write_text(FRAMEWORK_FUNCTION)
    code, _, err = check(capsys, "cube.py:Cube")
    assert code == 2 and "torch.autograd.gradcheck(Cube.apply" in err and "Traceback" not in err, err


def test_a_network_built_around_its_training_data_is_exit_2_saying_why(tmp_path, capsys):
    # The "neural network from scratch" tutorials' NeuralNetwork(x, y), whose backprop() takes no
    # data and steps its weights by a cost it never names: no style can drive it; say so, exactly.
    (tmp_path / "scratch.py").write_text(
        "import numpy as np\n\n\n"
        "class NeuralNetwork:\n"
        "    def __init__(self, x, y):\n"
        "        self.input, self.y = x, y\n"
        "        self.weights1 = np.random.rand(x.shape[1], 4)\n\n"
        "    def feedforward(self):\n"
        "        self.output = 1 / (1 + np.exp(-self.input @ self.weights1))\n\n"
        "    def backprop(self):\n"
        "        self.weights1 += 0.0\n"
    )
    code = cli.main(["check", str(tmp_path / "scratch.py") + ":NeuralNetwork"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "training data (x, y)" in err and "grad(arch" in err, err


IGNORES_B = textwrap.dedent("""\
    import numpy as np


    def affine_forward(x, w, b):
        return x @ w, (x, w)  # the bias forgotten


    def affine_backward(dout, cache):
        x, w = cache
        return dout @ w.T, x.T @ dout, np.zeros(w.shape[1])
    """)


def test_an_input_the_output_never_depends_on_is_said_to_be_checked_only_to_be_zero(capsys, project):
    (project / "layers.py").write_text(IGNORES_B)
    code, record, err = check(capsys, "layers.py:affine", "--inputs", "x=N,D w=D,M b=M")
    assert code == 0, (record or {}).get("failure") or err
    unmoved = [n for n in record["notes"] if "never changed with" in n]
    assert unmoved == [
        "the output of affine_forward never changed with b on any case: db was checked only to be zero"
    ]
