"""Models with a loss method, in both conventions of the field, and the guard a loss adds in its log.

Deep Learning from Scratch's networks (``loss(x, t)``, ``gradient(x, t)``, layers built around the
arrays of ``params``, sizes as constructor arguments, -log(y + 1e-7)) plug in as they are
(tests/zoo/styles/dlfs_models.py; their verdicts are in the zoo).  Here: the guard is found exactly
where one delta explains the loss, and finding it opens no door to a wrong gradient.
"""

import pathlib
import textwrap

import numpy as np
import pytest
from gradcert.oracles import guards
from gradcert.properties.frontends import cli

import gradcert

ZOO = pathlib.Path(__file__).parent / "zoo"
TWO_LAYER = f"{ZOO / 'styles' / 'dlfs_models.py'}:TwoLayerNet"
U = np.finfo(np.float64).eps / 2


def _batch(seed, n=5, c=3, guard=0.0, rest=0.0):
    rng = np.random.default_rng(seed)
    scores, labels = rng.standard_normal((n, c)), rng.integers(0, c, size=n)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e[np.arange(n), labels] / e.sum(axis=1)
    return float(np.mean(-np.log(p + guard)) + rest), scores, labels


@pytest.mark.parametrize("guard", [1e-7, 1e-8, 1e-12])
def test_a_guard_is_found(guard):
    found = guards.find([_batch(0, guard=guard), _batch(1, guard=guard)], U, 0)
    # solved by bisection from one batch's loss: to the loss's rounding relative to delta's effect
    # on it, ~u |C| / (delta mean(1/p)) < 1e-6 for delta >= 1e-12 at p ~ 1/3
    assert found == pytest.approx(guard, rel=1e-3)


def test_a_guard_is_found_beside_a_weight_decay():
    # the rest (0.5 lambda sum W^2) is the same on both batches: one of the field's guards fits
    assert guards.find([_batch(0, guard=1e-7, rest=0.37), _batch(1, guard=1e-7, rest=0.37)], U, 20) == 1e-7


def test_no_guard_is_found_in_a_plain_loss_or_another_loss():
    assert guards.find([_batch(0), _batch(1)], U, 0) is None
    assert guards.find([_batch(0, rest=0.37), _batch(1, rest=0.37)], U, 20) is None  # decay, no guard
    # a squared error of the softmax is no guarded log-likelihood: no single delta explains it
    batches = []
    for seed in (0, 1):
        _, scores, labels = _batch(seed)
        p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        batches.append((float(np.mean(np.sum((p - np.eye(3)[labels]) ** 2, axis=1))), scores, labels))
    assert guards.find(batches, U, 0) is None


def test_no_guard_is_found_where_the_batches_disagree():
    # the sharpness of the fit: a delta that explains one batch but not the other is refused
    assert guards.find([_batch(0, guard=1e-7), _batch(1, guard=2e-7)], U, 0) is None


def test_taking_the_guard_out_gives_the_plain_loss():
    loss, scores, labels = _batch(0, guard=1e-7)
    plain, _, _ = _batch(0)
    (value,) = guards.unguarded([loss], [scores], labels, 1e-7)
    assert abs(value - plain) <= 8 * U * 3  # a few roundings of terms of size |log p| < 3


def test_the_book_s_two_layer_net_is_certified_with_its_guard_named():
    cert = gradcert.check(TWO_LAYER, examples=20)
    assert cert.certified, cert.failure
    assert any("adds 1e-07 inside its log" in note for note in cert.notes), cert.notes
    assert {"grads['W1']", "grads['b1']", "grads['W2']", "grads['b2']"} <= set(cert.tensors)


WRONG = textwrap.dedent("""\
    import numpy as np
    from dlfs_models import TwoLayerNet


    class Scaled(TwoLayerNet):
        def gradient(self, x, t):
            grads = super().gradient(x, t)
            return {{k: v * (1 + {r}) for k, v in grads.items()}}
    """)
UNGUARDED = textwrap.dedent("""\
    import numpy as np
    import dlfs_models
    from dlfs_models import TwoLayerNet

    dlfs_models.cross_entropy_error = lambda y, t: -np.sum(np.log(y[np.arange(y.shape[0]), t])) / y.shape[0]


    class Scaled(TwoLayerNet):
        def gradient(self, x, t):
            grads = super().gradient(x, t)
            return {{k: v * (1 + {r}) for k, v in grads.items()}}
    """)


@pytest.mark.parametrize("source", [WRONG, UNGUARDED], ids=["guarded", "unguarded"])
def test_a_small_error_is_still_caught_with_or_without_a_guard(tmp_path, monkeypatch, source):
    # Every gradient scaled by 1 + 1e-5: 30x the guard's own effect, and far above what finite
    # differences resolve on these drawn parameters (~1e-8 relative, the zoo's runs): rejected.
    # Without a guard a correct gradient is certified (r = 0), so the check is not merely loose.
    (tmp_path / "dlfs_models.py").write_text((ZOO / "styles" / "dlfs_models.py").read_text())
    monkeypatch.chdir(tmp_path)
    for r, certified in ((0.0, True), (1e-5, False)):
        (tmp_path / "scaled.py").write_text(source.format(r=r))
        cert = gradcert.check("scaled.py:Scaled", examples=20)
        assert cert.certified is certified, (r, cert.failure)


def test_a_constructor_argument_gradcert_cannot_tell_is_exit_2(tmp_path, monkeypatch, capsys):
    source = (ZOO / "styles" / "dlfs_models.py").read_text().replace(
        "    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):\n",
        "    def __init__(self, config, input_size=3, hidden_size=4, output_size=2, weight_init_std=0.01):\n",
    )
    assert "def __init__(self, config" in source
    (tmp_path / "model.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "model.py:TwoLayerNet"]) == 2
    err = capsys.readouterr().err
    assert "config" in err and "--init" in err, err
    assert "Traceback" not in err


def test_kwargs_no_method_takes_are_exit_2(capsys):
    assert cli.main(["check", TWO_LAYER, "--kwargs", '{"temperature": 2}']) == 2
    err = capsys.readouterr().err
    assert "temperature" in err and "Traceback" not in err


L_MODEL = f"{ZOO / 'styles' / 'dlai_model.py'}:L_model"


def test_deeplearning_ai_s_whole_network_is_certified_as_written():
    # L_model_forward / L_model_backward of the course, 1/m inside linear_backward: grads['dW1'] ...
    # are the gradient of J, the mean cost; its mutants (a flipped dAL, sigmoid's derivative on the
    # ReLU layers) are in the zoo, killed.
    cert = gradcert.check(L_MODEL, examples=20)
    assert cert.certified and cert.style == "model", cert.failure
    assert "grads['dW3']" in cert.tensors and not any("dA" in t for t in cert.tensors)


@pytest.mark.parametrize("flag", [["--init", '{"layer_dims": [3, 2, 1]}'], ["--shape", "N,3"],
                                  ["--kwargs", '{"keep_prob": 0.5}']])
def test_options_the_whole_network_pair_cannot_use_are_exit_2(capsys, flag):
    assert cli.main(["check", L_MODEL, *flag]) == 2
    err = capsys.readouterr().err
    assert flag[0] in err and "Traceback" not in err, err


def test_a_loss_function_with_an_argument_gradcert_cannot_tell_is_exit_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "losses.py").write_text(
        "import numpy as np\n\n\ndef hinge_loss(W, X, y, margin_table):\n    return 0.0, np.zeros_like(W)\n"
    )
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "losses.py:hinge_loss"]) == 2
    err = capsys.readouterr().err
    assert "margin_table" in err and "--inputs" in err and "Traceback" not in err, err


# -- the Coursera exercises' cost functions: an unrolled parameter vector, (J, grad) returned

COURSERA = "tests/zoo/styles/coursera_costs.py"


def test_a_cost_function_without_its_gradient_is_exit_2(capsys):
    code = cli.main(["check", f"{COURSERA}:computeCost"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "not (cost, grad)" in err, err


def test_a_strength_that_defaults_to_zero_is_set_so_its_gradient_is_checked():
    # linearRegCostFunction(X, y, theta, lambda_=0.0): at the default the penalty's gradient would
    # never be looked at, and nnCostFunctionRegGradMissing would be certified.
    cert = gradcert.check(f"{COURSERA}:linearRegCostFunction", examples=10)
    assert cert.certified and any("lambda_=0.1" in n for n in cert.notes), cert.notes
    cert = gradcert.check("tests/zoo/mutants/coursera_costs_buggy.py:nnCostFunctionRegGradMissing")
    assert cert.verdict == "gradient bug", cert.failure


def test_nn_cost_function_is_called_with_its_layer_sizes_and_labels_either_convention_takes():
    # A port that counts classes from 1, as MATLAB does (y - 1 indexes the identity), is as right as
    # one that counts from 0: labels are drawn between 1 and K - 1, valid either way.
    cert = gradcert.check(f"{COURSERA}:nnCostFunctionOneBased", examples=15)
    assert cert.certified, cert.failure
    assert any("Lambda=0.1" in n for n in cert.notes)


@pytest.mark.parametrize("resolution, shown", [(0.0023, "0.23%"), (0.012, "1.2%"), (0.25, "25%")])
def test_a_coarse_resolution_is_said_with_its_digits(resolution, shown):
    # {:.0%} printed a 0.1-0.5 % resolution as "0%", which reads as perfect
    from types import SimpleNamespace

    from gradcert.properties.candidates.layer import LayerChecker
    from gradcert.properties.options import Options

    box = LayerChecker.__new__(LayerChecker)
    box.options, box.name, box.notes, box.part = Options.build(), "layernorm", [], "backward"
    box.interface, box.resolution = SimpleNamespace(description={}), resolution
    box.close()
    assert any(f"resolved its gradients only to {shown} of their size" in n for n in box.notes), box.notes


# A strength the model takes with a default of 0 (cs231n's reg=0.0, DLFS's weight_decay_lambda=0) is
# drawn, 0.1 or 0.35 by the case: before, the penalty's gradient was never checked, and these mutants,
# caught with --init giving the strength, passed without it.
STRENGTH_MUTANTS = [
    (f"{ZOO / 'mutants' / 'cs231n_models_buggy.py'}:TwoLayerNetNoRegGradient",
     {"init": {"input_dim": 5, "hidden_dim": 4, "num_classes": 3}, "shape": "N,5"}),
    (f"{ZOO / 'mutants' / 'dlfs_models_buggy.py'}:MultiLayerNetDecayForgotten", {}),
]


@pytest.mark.parametrize("target, options", STRENGTH_MUTANTS, ids=["reg", "weight_decay_lambda"])
def test_a_penalty_left_out_of_the_gradient_is_caught_at_the_default_strength(target, options):
    cert = gradcert.check(target, examples=20, **options)
    assert cert.exit_code == 1 and cert.verdict == "gradient bug", (cert.verdict, cert.failure)
    assert any("one per case, so that its penalty is checked too" in note for note in cert.notes), cert.notes


def test_a_correct_model_is_certified_at_the_drawn_strengths():
    cert = gradcert.check(f"{ZOO / 'styles' / 'cs231n_models.py'}:TwoLayerNet", examples=20,
                          init={"input_dim": 5, "hidden_dim": 4, "num_classes": 3}, shape="N,5")
    assert cert.certified, cert.failure
    assert any("reg=0.1 or 0.35" in note for note in cert.notes), cert.notes
