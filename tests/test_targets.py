"""Targets load the way pytest and uvicorn load user code, and the module that loads is the one named.

Each test builds a small user project in a temporary directory and runs ``gradcert check`` from
its root, as a user would.
"""

import json
import os
import pathlib
import textwrap

import pytest
from gradcert.properties.candidates.targets import dotted_name, parse
from gradcert.properties.errors import TargetError
from gradcert.properties.frontends import cli

import gradcert

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


@pytest.mark.parametrize("package", [True, False])
def test_code_that_runs_from_its_project_root_or_its_own_directory_loads_from_both(capsys, project, package):
    # Deep Learning from Scratch's layout: ch05/two_layer_net.py does sys.path.append(os.pardir) and
    # imports common/ (which has no __init__.py in the book's repository), so it runs from ch05/;
    # common/layers.py imports common.functions, so it runs from the root.  The current directory
    # is last on sys.path: both work from the root and from ch05/.  From anywhere else the import
    # fails: exit 2, and the message says where the module is and what to do.
    (project / "common").mkdir()
    if package:
        (project / "common" / "__init__.py").write_text("")
    (project / "common" / "helpers.py").write_text(HELPERS)
    (project / "common" / "net.py").write_text(NETWORK.format(sigmoid_from="common.helpers"))
    (project / "ch05").mkdir()
    source = NETWORK.format(sigmoid_from="common.helpers")
    (project / "ch05" / "net.py").write_text("import sys, os\nsys.path.append(os.pardir)\n" + source)
    for target in ("ch05/net.py:Network", "common/net.py:Network"):
        code, record, err = check(capsys, target)
        assert code == 0, (target, (record or {}).get("failure") or err)
    os.chdir(project / "ch05")
    code, record, err = check(capsys, "net.py:Network")
    assert code == 0, (record or {}).get("failure") or err
    os.chdir(project.parent)
    code, _, err = check(capsys, f"{project.name}/ch05/net.py:Network")
    assert code == 2 and "common is in" in err and str(project) in err and "PYTHONPATH" in err, err


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


PER_LAYER = textwrap.dedent("""\
    import numpy as np

    FUNCTIONS = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh}
    PRIMES = {"sigmoid": lambda z: FUNCTIONS["sigmoid"](z) * (1 - FUNCTIONS["sigmoid"](z)),
              "tanh": lambda z: 1 - np.tanh(z) ** 2}


    class Network:
        def __init__(self, sizes, activations=None):
            activations = activations or ["sigmoid"] * (len(sizes) - 1)
            self.f = [FUNCTIONS[a] for a in activations]  # one per layer: [i] fails at another depth
            self.fp = [PRIMES[a] for a in activations]
            self.f[len(sizes) - 2]
            self.weights = [np.zeros((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
            self.biases = [np.zeros((n, 1)) for n in sizes[1:]]

        def backprop(self, x, y):
            activations, zs = [x], []
            for f, w, b in zip(self.f, self.weights, self.biases):
                zs.append(w @ activations[-1] + b)
                activations.append(f(zs[-1]))
            delta = (activations[-1] - y) * self.fp[-1](zs[-1])
            nabla_b, nabla_w = [None] * len(zs), [None] * len(zs)
            for i in reversed(range(len(zs))):
                nabla_b[i], nabla_w[i] = delta, delta @ activations[i].T
                if i:
                    delta = (self.weights[i].T @ delta) * self.fp[i - 1](zs[i - 1])
            return nabla_b, nabla_w
    """)


def test_a_per_layer_init_list_needs_a_fixed_depth(tmp_path, capsys, monkeypatch):
    # A constructor's list of one activation per layer fits one depth: with the depth drawn, the
    # network would crash on every other depth, a crash verdict on correct code; exit 2 says how to
    # fix the depth, and with it fixed the network is certified (and its tanh checked as tanh).
    (tmp_path / "acts.py").write_text(PER_LAYER)
    monkeypatch.chdir(tmp_path)
    init = ["--init", '{"activations": ["tanh", "tanh"]}', "--activation", "tanh"]
    code, _, err = check(capsys, "acts.py:Network", *init)
    assert code == 2 and "--depth 2" in err and err.count("\n") == 1, err
    code, record, err = check(capsys, "acts.py:Network", *init, "--depth", "2")
    assert code == 0, (record or {}).get("failure") or err
    code, record, _ = check(capsys, "acts.py:Network", "--init", '{"activations": ["sigmoid", "tanh"]}',
                            "--activation", "tanh", "--depth", "2")
    assert code == 1 and record["failure"]["verdict"] == "gradient bug"


def test_a_step_gradcert_cannot_call_qualifies_the_certificate(tmp_path, capsys, monkeypatch):
    # update_mini_batch(mini_batch, eta, momentum) is no signature gradcert knows: backprop is
    # certified, and the verdict line itself says that something (named in a note) was not checked.
    source = NETWORK.format(sigmoid_from="helpers") + (
        "\n    def update_mini_batch(self, mini_batch, eta, momentum):\n        pass\n")
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "net.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["check", "net.py:Network", "--oracles", "finite-diff", "--examples", "5"])
    out = capsys.readouterr().out
    assert code == 0 and "the update step was not checked" in out, out
    assert "CERTIFIED: the gradient agrees with every oracle on every case (but for what the notes say " \
           "was not checked)." in out, out


# -- layers built as their authors build them (the field test's Deep Learning from Scratch layers)

ZOO = pathlib.Path(__file__).parent / "zoo"
BOOK = textwrap.dedent("""\
    from book_layers import *  # noqa: F403


    class Checked(Affine):  # noqa: F405
        def __init__(self, W, b, sizes, names):
            assert isinstance(sizes, list) and isinstance(names, list), (sizes, names)  # JSON stays JSON
            super().__init__(W, b)
""")


@pytest.fixture
def book(tmp_path, monkeypatch):
    (tmp_path / "book_layers.py").write_text((ZOO / "styles" / "dlfs_book_layers.py").read_text())
    (tmp_path / "book_buggy.py").write_text(
        (ZOO / "mutants" / "dlfs_book_buggy.py").read_text().replace(
            "from ..styles import dlfs_book_layers", "import book_layers as dlfs_book_layers"
        )
    )
    (tmp_path / "checked.py").write_text(BOOK)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_arrays_given_as_json_reach_the_layer_as_float_arrays_and_fix_its_widths(book):
    # Affine(W, b) with W, b as JSON: float64 arrays (no 'list' object has no attribute 'T'), the input
    # drawn 2 wide to match W (any other width crashes its forward); a list of sizes and a list of
    # names stay lists (Checked asserts it).
    init = {"W": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]], "b": [0.1, 0.2, 0.3]}
    cert = gradcert.check("checked.py:Checked", init={**init, "sizes": [3, 3], "names": ["a"]}, examples=10)
    assert cert.certified, cert.failure
    assert {"dW (of W)", "db (of b)"} <= set(cert.tensors)
    wrong = gradcert.check("book_buggy.py:AffineDWAveraged", init=init, examples=20)
    assert wrong.exit_code == 1 and wrong.failure.first_disagreement["tensor"] == "dW"


@pytest.mark.parametrize("name", ["Affine", "BatchNormalization", "SoftmaxWithLoss"])
def test_the_book_s_layers_are_built_and_called_as_the_book_does(book, name):
    # Affine(W, b) and BatchNormalization(gamma, beta) get drawn arrays (their dW, db, dgamma, dbeta
    # judged); SoftmaxWithLoss.forward(x, t) gets drawn labels and its backward() is judged against
    # the loss without its 1e-7 guard, with a note
    cert = gradcert.check(f"book_layers.py:{name}", examples=10)
    assert cert.certified, cert.failure
    expected = {"Affine": 3, "BatchNormalization": 3, "SoftmaxWithLoss": 1}[name]
    assert len(cert.tensors) == expected, cert.tensors
    assert (name == "SoftmaxWithLoss") == any("adds 1e-07 inside its log" in n for n in cert.notes)


SCALED_LOSS = textwrap.dedent("""\
    from book_layers import SoftmaxWithLoss


    class Scaled(SoftmaxWithLoss):
        def backward(self, dout=1):
            return super().backward(dout) * (1 + {r})
""")


def test_a_small_error_in_a_guarded_loss_layer_is_still_caught(book):
    # dx scaled by 1 + 1e-5: ~30x the guard's own effect at y_t ~ 1/3, far above what the finite
    # differences resolve (~1e-9 relative here): rejected; r = 0 is certified, so the check is not loose.
    for r, certified in ((0.0, True), (1e-5, False)):
        (book / "scaled.py").write_text(SCALED_LOSS.format(r=r))
        cert = gradcert.check("scaled.py:Scaled", examples=20)
        assert cert.certified is certified, (r, cert.failure)


def test_labels_given_as_json_reach_the_loss_layer_as_an_array(book):
    cert = gradcert.check("book_layers.py:SoftmaxWithLoss", kwargs={"t": [0, 2, 1]}, examples=5)
    assert cert.certified, cert.failure
    cert = gradcert.check("book_layers.py:SoftmaxWithLoss", kwargs={"t": [[0, 1], [1, 0]]}, examples=5)
    assert cert.certified, cert.failure


LIST_GAMMA = textwrap.dedent("""\
    import numpy as np
    from book_layers import BatchNormalization


    class ListGamma(BatchNormalization):
        def __init__(self, input_size):
            super().__init__([1.0] * input_size, np.zeros(input_size))  # gamma a Python list
""")


def test_a_parameter_held_as_a_list_is_exit_2_naming_it_never_certified_on_dx(book, capsys):
    # gamma * xn works with a list, so forward and backward run: without the refusal dgamma would go
    # unchecked and the run be certified on dx and dbeta alone
    (book / "list_gamma.py").write_text(LIST_GAMMA)
    code, record, err = check(capsys, "list_gamma.py:ListGamma")
    assert code == 2 and "gamma as a list" in err and "dgamma" in err, (code, record, err)


def test_an_array_shape_that_disagrees_with_dims_is_exit_2(book, capsys):
    init = json.dumps({"W": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]})
    code, _, err = check(capsys, "book_layers.py:Affine", "--init", init, "--dims", "D=2")
    assert code == 2 and "--init W" in err and "D = 3" in err, err


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


POSITIVE = textwrap.dedent("""\
    import numpy as np


    class Scale:  # y = x / sqrt(var): its var must stay positive, and it says so
        def __init__(self, var):
            self.var = np.asarray(var, dtype=float)

        def forward(self, x):
            if np.any(self.var <= 0):
                raise ValueError("var must be positive")
            self.x = x
            return x / np.sqrt(self.var)

        def backward(self, dout):
            self.dvar = np.sum(dout * self.x, axis=0) * -0.5 * self.var ** -1.5
            return dout / np.sqrt(self.var)


    class ScaleDvarHalved(Scale):
        def backward(self, dout):
            dx = super().backward(dout)
            self.dvar = self.dvar / 2
            return dx


    class MulLayer:  # Deep Learning from Scratch, chapter 5: two inputs, not a loss layer
        def forward(self, x, y):
            self.x, self.y = x, y
            return x * y

        def backward(self, dout):
            return dout * self.y, dout * self.x


    class StepDense:  # Neural Networks from Scratch's names, a layer that applies its own step
        def __init__(self, n_inputs, n_neurons):
            self.weights = 0.1 * np.random.randn(n_inputs, n_neurons)

        def forward(self, inputs):
            self.inputs = inputs
            return inputs @ self.weights

        def backward(self, dvalues, learning_rate):
            dinputs = dvalues @ self.weights.T
            self.weights = self.weights - learning_rate * self.inputs.T @ dvalues
            return dinputs
    """)


def test_a_parameter_that_must_stay_positive_is_not_mirrored_into_a_verdict(tmp_path, capsys, monkeypatch):
    # The history check's far point is first the mirror image of a parameter: -var here, where the
    # layer raises. That is no verdict: the far point is tried at 2 var instead. The wrong dvar is caught.
    (tmp_path / "positive.py").write_text(POSITIVE)
    monkeypatch.chdir(tmp_path)
    init = ["--init", '{"var": [0.5, 1.5, 2.0]}', "--dims", "D=3"]
    code, record, err = check(capsys, "positive.py:Scale", *init)
    assert code == 0, (record or {}).get("failure") or err
    code, record, err = check(capsys, "positive.py:ScaleDvarHalved", *init)
    assert code == 1 and record["failure"]["verdict"] == "gradient bug", (record or {}).get("failure") or err


def test_a_layer_of_two_inputs_is_exit_2_not_a_loss_layer(tmp_path, capsys, monkeypatch):
    # forward(x, y) with a backward that needs its dout: y is an input, not labels (drawn as labels it
    # crashed the layer, a crash verdict on the book's correct MulLayer).
    (tmp_path / "positive.py").write_text(POSITIVE)
    monkeypatch.chdir(tmp_path)
    code, _, err = check(capsys, "positive.py:MulLayer")
    assert code == 2 and "two inputs" in err and err.count("\n") == 1, err


def test_nnfs_dvalues_beside_a_learning_rate_is_the_upstream_gradient(tmp_path, capsys, monkeypatch):
    (tmp_path / "positive.py").write_text(POSITIVE)
    monkeypatch.chdir(tmp_path)
    code, record, err = check(capsys, "positive.py:StepDense", "--lr", "0.1")
    assert code == 0, (record or {}).get("failure") or err


def swapped_network(directory, monkeypatch, methods):
    """net.py:Swapped, NETWORK's subclass with ``methods`` (source at class level), in ``directory``."""
    source = NETWORK.format(sigmoid_from="helpers") + "\n\nBase = Network\n\n\nclass Swapped(Base):" + \
        textwrap.indent(methods, "    ")
    (directory / "helpers.py").write_text(HELPERS)
    (directory / "net.py").write_text(source)
    monkeypatch.chdir(directory)


def test_a_pair_in_the_other_order_is_taken_only_where_the_networks_own_step_reads_it_so(
        tmp_path, capsys, monkeypatch):
    # backprop returning (nabla_w, nabla_b) beside network.py's update_mini_batch, which unpacks
    # (nabla_b, nabla_w): the swap is a bug there, and the step shows it (exit 1); the zoo's
    # OwnConventions, whose step reads its pair as it returns it, is certified (tests/test_zoo.py).
    step = textwrap.dedent("""
        def backprop(self, x, y):
            nabla_b, nabla_w = Base.backprop(self, x, y)
            return nabla_w, nabla_b

        def update_mini_batch(self, mini_batch, eta):
            sums_b = [np.zeros(b.shape) for b in self.biases]
            sums_w = [np.zeros(w.shape) for w in self.weights]
            for x, y in mini_batch:
                delta_b, delta_w = self.backprop(x, y)
                sums_b = [s + d for s, d in zip(sums_b, delta_b)]
                sums_w = [s + d for s, d in zip(sums_w, delta_w)]
            self.weights = [w - eta / len(mini_batch) * s for w, s in zip(self.weights, sums_w)]
            self.biases = [b - eta / len(mini_batch) * s for b, s in zip(self.biases, sums_b)]
    """)
    swapped_network(tmp_path, monkeypatch, step)
    code, record, err = check(capsys, "net.py:Swapped")
    assert code == 1 and "after update_mini_batch" in record["failure"]["message"], record["failure"]
    assert "returns (nabla_w, nabla_b)" in " ".join(record["notes"])


@pytest.mark.parametrize("unpacked, code", [("delta_w, delta_b", 0), ("delta_b, delta_w", 1)])
def test_a_pair_in_the_other_order_is_taken_where_the_networks_own_loop_unpacks_it_so(
        tmp_path, capsys, monkeypatch, unpacked, code):
    # No step gradcert can call (a training loop over whole data sets, as hao-wang/bfalgo's SGD):
    # the order is the one the network's own code unpacks backprop's pair in.  Read as (w, b), a
    # (nabla_w, nabla_b) is certified; read as (b, w), the same pair is the classic swap (exit 1).
    loop = textwrap.dedent(f"""
        def backprop(self, x, y):
            nabla_b, nabla_w = Base.backprop(self, x, y)
            return nabla_w, nabla_b

        def train(self, X, Y, eta):
            for x, y in zip(X, Y):
                {unpacked} = self.backprop(x, y)
                self.weights = [w - eta * d for w, d in zip(self.weights, delta_w)]
                self.biases = [b - eta * d for b, d in zip(self.biases, delta_b)]
    """)
    swapped_network(tmp_path, monkeypatch, loop)
    found, record, err = check(capsys, "net.py:Swapped")
    assert found == code, record["failure"]
    assert ("unpacks backprop(x, y) as delta_w, delta_b" in " ".join(record["notes"])) == (code == 0)


FLAT_ROWS = textwrap.dedent("""\
    import numpy as np


    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))


    class FlatRows:
        def __init__(self, sizes):
            self.weights = [np.random.randn(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
            self.biases = [np.zeros(n) for n in sizes[1:]]

        def backprop(self, x, y):
            acts = [x]
            for w, b in zip(self.weights, self.biases):
                acts.append(sigmoid(acts[-1] @ w + b))
            delta = (acts[-1] - y) * acts[-1] * (1 - acts[-1])
            nabla_b, nabla_w = [None] * len(self.weights), [None] * len(self.weights)
            for i in reversed(range(len(self.weights))):
                nabla_b[i], nabla_w[i] = delta.sum(axis=0), acts[i].T @ delta
                delta = (delta @ self.weights[i].T) * {factor}
            return nabla_b, nabla_w
    """)


@pytest.mark.parametrize("factor, code", [("acts[i] * (1 - acts[i])", 0), ("1", 1)])
def test_a_network_of_flat_biases_that_raises_on_a_column_is_called_on_rows(
        tmp_path, capsys, monkeypatch, factor, code):
    # W (n_in, n_out), b (n,): a W + b takes a row alone (a column raises in its matmul); b's shape
    # cannot tell, one backprop on a column does. Its hidden layers without sigma': exit 1.
    (tmp_path / "net.py").write_text(FLAT_ROWS.format(factor=factor))
    monkeypatch.chdir(tmp_path)
    found, record, err = check(capsys, "net.py:FlatRows")
    assert found == code, record["failure"]
    assert any("raises on a column x" in n for n in record["notes"]), record["notes"]
    if code:
        assert record["verdict"] == "gradient bug", record["failure"]
