"""The NumPy reference against every installed oracle, on fixed cases.

Hypothesis-drawn architectures are in test_properties.py; here every
activation and every valid cost appears at least once by construction.
"""

import numpy as np
import pytest
from gradcert.properties.certify import assert_gradient
from gradcert.properties.strategies import case_from_seed
from gradcert.reference import Architecture, ArchitectureError, Network
from gradcert.reference.architecture import ACTIVATIONS, ELEMENTWISE
from gradcert.reference.costs import SaturationWarning

from gradcert import oracles

INSTALLED = oracles.installed()

# Every (output activation, cost) pair the architecture accepts.
VALID_PAIRS = [(a, c) for a in ACTIVATIONS for c in ("quadratic", "cross-entropy", "log-likelihood")
               if not (c == "cross-entropy" and a not in ("sigmoid", "softmax"))
               and not (c == "log-likelihood" and a != "softmax")]


def backprop(case):
    return case.network().backprop(case.x, case.y)


def test_all_oracles_are_installed_in_ci():
    # CI installs the `dev` extra; a missing oracle there would silently shrink every test below.
    import os

    if os.environ.get("CI"):
        assert INSTALLED == list(oracles.NAMES)
    assert "finite-diff" in INSTALLED


@pytest.mark.parametrize("oracle", INSTALLED)
@pytest.mark.parametrize("m", [1, 10])
def test_nielsens_784_30_10_network(oracle, m):
    arch = Architecture.build([784, 30, 10])
    case = case_from_seed(arch, m, seed=784)
    assert_gradient(case, backprop(case), [oracle])


@pytest.mark.parametrize("oracle", INSTALLED)
@pytest.mark.parametrize("output, cost", VALID_PAIRS)
@pytest.mark.parametrize("m, l2", [(1, 0.0), (5, 0.0), (1, 0.3), (5, 0.3)])
def test_every_activation_and_cost(oracle, output, cost, m, l2):
    # The hidden layers run through all the elementwise activations across the pairs.
    hidden = ELEMENTWISE[VALID_PAIRS.index((output, cost)) % len(ELEMENTWISE)]
    arch = Architecture.build([3, 4, 5, 3], [hidden, "tanh", output], cost, l2)
    case = case_from_seed(arch, m, seed=m + 7)
    assert_gradient(case, backprop(case), [oracle])


@pytest.mark.parametrize("oracle", INSTALLED)
@pytest.mark.parametrize("m", [1, 2, 6])
def test_batch_norm_and_modified_neuron(oracle, m):
    arch = Architecture.build([4, 5, 3, 2], ["relu", "softmax", "sigmoid"], "cross-entropy", 0.1,
                              batch_norm=[True, False, True], modified_neuron=(0, 1, "tanh"))
    case = case_from_seed(arch, m, seed=11)
    assert_gradient(case, backprop(case), [oracle])


@pytest.mark.parametrize("activation", ELEMENTWISE)
def test_elementwise_form_equals_backprop_for_elementwise_activations(activation):
    from gradcert.oracles.rounding import rounding_bound

    arch = Architecture.build([3, 4, 2], activation, "quadratic", 0.2, batch_norm=[True, False])
    case = case_from_seed(arch, 4, seed=3)
    net = case.network()
    # Both are correct float64 computations of the same gradient when sigma is
    # elementwise, so they differ by at most the rounding bound of each: 2 gamma M.
    rounding = rounding_bound(arch, case.weights, case.biases, case.x, case.y)
    bounds = rounding.bound_b + rounding.bound_w
    for textbook, general, bound in zip(sum(net.backprop_elementwise(case.x, case.y), []),
                                        sum(net.backprop(case.x, case.y), []), bounds):
        assert np.all(np.abs(textbook - general) <= 2 * bound)


def test_elementwise_form_is_wrong_for_softmax_by_exactly_the_off_diagonal_terms():
    # One softmax output of two units, quadratic cost.  The true delta_i is
    # a_i ((a_i - y_i) - sum_j a_j (a_j - y_j)); the textbook's is (a_i - y_i) a_i (1 - a_i).
    # They differ by exactly a_i sum_{j != i} a_j (a_j - y_j): the off-diagonal -a_i a_j
    # of the Jacobian that the Hadamard form drops.
    net = Network([1, 2], "softmax")
    net.weights, net.biases = [np.array([[1.0], [-1.0]])], [np.zeros((2, 1))]
    x, y = np.array([[1.0]]), np.array([[1.0], [0.0]])
    a = net.feedforward(x)
    off_diagonal = a * (np.sum(a * (a - y)) - a * (a - y))
    nabla_b, _ = net.backprop(x, y)
    textbook_b, _ = net.backprop_elementwise(x, y)
    # Every quantity here is a handful (< 8) of roundings of terms no larger than 1,
    # each side of the identity: 16 eps covers both.
    tolerance = 16 * np.finfo(float).eps
    assert np.all(np.abs((textbook_b[0] - nabla_b[0]) - off_diagonal) <= tolerance)
    assert np.all(np.abs(off_diagonal) > 1e3 * tolerance)  # the break is real, not rounding


@pytest.mark.parametrize("oracle", INSTALLED)
@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_update_mini_batch_is_a_gradient_step(oracle, l2):
    arch = Architecture.build([3, 4, 2], ["tanh", "sigmoid"], "cross-entropy", l2)
    case = case_from_seed(arch, 5, seed=5)
    eta = 0.7
    net = case.network()
    net.update_mini_batch(case.columns(), eta)
    g = oracles.load(oracle).gradient(arch, case.weights, case.biases, case.x, case.y)
    # The oracle's mean-cost gradient is (1/m) sum_x nabla C_x (+ l2 w), so the step is
    # w - eta * g.  Tolerance: one gradient's rounding bound times eta, plus the
    # oracle's own error (finite differences) times eta, plus one rounding of the subtraction.
    from gradcert.oracles.rounding import rounding_bound

    rounding = rounding_bound(arch, case.weights, case.biases, case.x, case.y)
    bound_b, bound_w = rounding.bound_b, rounding.bound_w
    for new, old, grad, err, bound in zip(net.weights + net.biases, case.weights + case.biases,
                                          g.nabla_w + g.nabla_b, g.error_w + g.error_b, bound_w + bound_b):
        expected = old - eta * grad
        tolerance = eta * (2 * bound + err) + np.finfo(float).eps * np.abs(expected)
        assert np.all(np.abs(new - expected) <= tolerance)


def test_network_py_defaults_and_layout():
    net = Network([2, 3, 1])
    assert net.arch.activations == ("sigmoid", "sigmoid") and net.arch.cost == "quadratic"
    assert [w.shape for w in net.weights] == [(3, 2), (1, 3)]
    assert [b.shape for b in net.biases] == [(3, 1), (1, 1)]


def test_quadratic_cost_by_hand():
    net = Network([1, 1], "linear", l2=2.0)
    net.weights, net.biases = [np.array([[3.0]])], [np.array([[1.0]])]
    x, y = np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])
    # outputs 4 and 7: mean of 16/2 and 49/2, plus (2/2) * 3^2.  Every intermediate is a
    # small dyadic number, exactly representable: the float64 result is exact.
    assert net.cost(x, y) == (8 + 24.5) / 2 + 9


def test_the_reference_does_not_mutate_its_inputs():
    net = Network([3, 4, 2], ["tanh", "softmax"], "log-likelihood", 0.1, batch_norm=True)
    weights = [np.ones((4, 3)), np.ones((2, 4))]
    net.weights = weights
    x, y = np.linspace(-1, 1, 6).reshape(3, 2), np.eye(2)
    copies = [a.copy() for a in (x, y, *weights)]
    net.backprop(x, y)
    net.update_mini_batch([(x[:, :1], y[:, :1]), (x[:, 1:], y[:, 1:])], 0.5)
    for before, after in zip(copies, (x, y, *weights)):
        np.testing.assert_array_equal(before, after)


def test_saturated_cross_entropy_says_so():
    net = Network([1, 1], "sigmoid", "cross-entropy")
    net.weights, net.biases = [np.array([[100.0]])], [np.zeros((1, 1))]
    x, y = np.array([[1.0]]), np.array([[0.0]])
    with pytest.warns(SaturationWarning, match="not finite"):
        assert net.cost(x, y) == np.inf
    # The canonical delta^L = a - y needs no division and stays finite and exact.
    nabla_b, _ = net.backprop(x, y)
    assert nabla_b[0][0, 0] == 1.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=[3]), "at least two layers"),
    (dict(sizes=[3, 2], activation="swish"), "unknown activation 'swish'"),
    (dict(sizes=[3, 2], activation="tanh", cost="cross-entropy"), "needs outputs in \\(0, 1\\)"),
    (dict(sizes=[3, 2], cost="log-likelihood"), "needs a softmax output"),
    (dict(sizes=[3, 2, 2], activation=["tanh"]), "1 activations for 2 weight layers"),
    (dict(sizes=[3, 2], l2=-1), "l2=-1"),
    (dict(sizes=[3, 2], modified_neuron=(0, 5, "tanh")), "no such neuron"),
])
def test_bad_architectures_say_what_to_fix(kwargs, message):
    with pytest.raises(ArchitectureError, match=message):
        Network(**kwargs)


def test_bad_shapes_say_what_to_fix():
    net = Network([3, 2])
    with pytest.raises(ValueError, match=r"weights\[0\] has shape \(3, 2\); expected \(2, 3\)"):
        net.weights = [np.zeros((3, 2))]
    with pytest.raises(ValueError, match=r"x has shape \(2, 1\); expected \(3, m\)"):
        net.backprop(np.zeros((2, 1)), np.zeros((2, 1)))


# --- The components' steps: textbook + repair is the true backward step -----------------------

U = np.finfo(float).eps / 2  # float64's unit roundoff


def _gamma(n):
    return n * U / (1 - n * U)


def _coupled_steps():
    from gradcert.reference.activations import ActivationStep, Softmax
    from gradcert.reference.batchnorm import BatchNorm
    from gradcert.reference.layernorm import LayerNorm
    from gradcert.reference.maxout import Maxout

    return {"softmax": ActivationStep(Softmax, "softmax"), "batch_norm": BatchNorm(),
            "layer_norm": LayerNorm(), "maxout": Maxout(3)}


@pytest.mark.parametrize("name", ["softmax", "batch_norm", "layer_norm", "maxout"])
@pytest.mark.parametrize("n, m", [(1, 1), (2, 1), (1, 2), (4, 3), (7, 5)])
def test_each_textbook_step_plus_its_repair_is_the_true_step(name, n, m):
    step = _coupled_steps()[name]
    rng = np.random.default_rng(n * 10 + m)
    rows = 3 * n if name == "maxout" else n
    z = rng.standard_normal((rows, m))
    if name == "maxout":
        z[1::3] = z[0::3]  # ties: every unit's first two pieces are equal, a kink of the max
    out, cache = step.forward(z)
    g = rng.standard_normal(out.shape)
    true, textbook, repair = step.vjp(cache, g), step.textbook(cache, g), step.repair(cache, g)
    # Each side sums at most n + m products of the step's terms (|g|, its means, u and the
    # activation), each with a handful of roundings, so each is within gamma_{n+m+8} of the exact
    # value times the sum of those terms' magnitudes, bounded by 4 * max|g| * max(1, inv_std):
    # twice that separates two correct computations.
    scale = 4 * np.max(np.abs(g)) * max(1.0, float(np.max(cache[1])) if name.endswith("norm") else 1.0)
    tolerance = 2 * _gamma(n + m + 8) * scale
    assert np.max(np.abs(textbook + repair - true)) <= tolerance
    # The repair is not empty whenever the step couples what it normalises or pools.
    coupled = {"softmax": n > 1, "batch_norm": m > 1, "layer_norm": n > 1, "maxout": True}[name]
    if coupled:
        assert np.max(np.abs(repair)) > 1e3 * tolerance


def test_maxout_ties_share_the_gradient_equally():
    from gradcert.reference.maxout import Maxout

    step = Maxout(2)
    out, share = step.forward(np.array([[1.0], [1.0], [0.0], [2.0]]))
    np.testing.assert_array_equal(out, [[1.0], [2.0]])
    # Halves and whole numbers: exact.
    np.testing.assert_array_equal(step.vjp(share, np.array([[4.0], [6.0]])), [[2.0], [2.0], [0.0], [6.0]])


FEATURES_BY_ASSUMPTION = {"elementwise": dict(layer_norm=[True, False]),
                          "separable": dict(batch_norm=[True, False]),
                          "outputs-alone": dict(l1=0.25),
                          "layered-chain": dict(residual=[1]),
                          "single-use": dict(tied=(0, 1))}


@pytest.mark.parametrize("assumption", list(FEATURES_BY_ASSUMPTION))
def test_without_its_components_each_textbook_form_is_the_backprop_of_before(assumption):
    # Without the component that breaks it, the textbook form computes backprop's own numbers
    # (the same operations, in the same order): equal to the last bit, canonical output aside.
    from gradcert.reference.textbook import ASSUMPTIONS

    assert set(FEATURES_BY_ASSUMPTION) == set(ASSUMPTIONS)
    net = Network([2, 2, 2], ["tanh", "sigmoid"], "cross-entropy", seed=4, dropout=[[2.0, 0.0], []])
    x, y = np.linspace(-1, 1, 6).reshape(2, 3), np.full((2, 3), 0.25)
    expected = net.backprop(x, y) if assumption != "elementwise" else net.backprop_elementwise(x, y)
    got = net.backprop_assuming(x, y, [assumption])
    for a, b in zip(sum(expected, []), sum(got, [])):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("assumption, components", FEATURES_BY_ASSUMPTION.items())
def test_with_its_component_each_textbook_form_differs_and_its_repairs_restore_backprop(assumption,
                                                                                         components):
    from gradcert.reference.textbook import Record

    net = Network([2, 2, 2], "tanh", seed=5, **components)
    x, y = np.linspace(-1, 1, 6).reshape(2, 3), np.full((2, 3), 0.25)
    true = sum(net.backprop(x, y), [])
    textbook = sum(net.backprop_assuming(x, y, [assumption]), [])
    record = Record(repair=True)
    repaired = sum(net.backprop_assuming(x, y, [assumption], record), [])
    assert record.repairs and all(np.any(r.term != 0) for r in record.repairs)
    # Terms of order one, summed over 3 examples and 2 units through two layers: gamma_32 of
    # the magnitudes (<= 8) bounds either computation; the textbook misses by far more.
    tolerance = 2 * _gamma(32) * 8
    assert max(np.max(np.abs(a - b)) for a, b in zip(textbook, true)) > 1e3 * tolerance
    assert max(np.max(np.abs(a - b)) for a, b in zip(repaired, true)) <= tolerance


def test_an_idle_tied_slot_has_a_zero_gradient_and_no_penalty():
    net = Network([2, 2, 2], "tanh", l2=0.5, l1=0.5, tied=(0, 1), seed=2)
    x, y = np.ones((2, 1)), np.zeros((2, 1))
    before = net.cost(x, y)
    net.weights = [net.weights[0], 100 * np.ones((2, 2))]  # the idle slot: changes nothing
    assert net.cost(x, y) == before
    assert np.all(net.backprop(x, y)[1][1] == 0.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=[3, 2], layer_norm=True, batch_norm=True), "both batch_norm and layer_norm"),
    (dict(sizes=[3, 2], l1=-0.5), "l1=-0.5"),
    (dict(sizes=[3, 2, 2], dropout=[[1.0, 1.0, 1.0], []]), "3 multipliers for 2 units"),
    (dict(sizes=[3, 2], dropout=[[1.0, 0.0]]), "dropout on the output layer"),
    (dict(sizes=[3, 2, 2], residual=[0]), "equal width"),
    (dict(sizes=[2, 2], activation="sigmoid", cost="cross-entropy", residual=[0]), "leaves \\(0, 1\\)"),
    (dict(sizes=[2, 3, 2], tied=(0, 1)), "same shape"),
    (dict(sizes=[2, 2], maxout=0), "at least 1 piece"),
    (dict(sizes=[2, 2, 2], activity=(1, 0.1)), "hidden layer"),
])
def test_bad_components_say_what_to_fix(kwargs, message):
    with pytest.raises(ArchitectureError, match=message):
        Network(**kwargs)


def test_a_description_round_trips_through_its_dict():
    arch = Architecture.build([2, 2, 2], "tanh", l2=0.1, layer_norm=[True, False], l1=0.2,
                              dropout=[[2.0, 0.0], []], residual=[1], tied=(0, 1), maxout=[1, 1],
                              activity=(0, 0.3))
    assert Architecture.from_dict(arch.to_dict()) == arch
    assert arch.features == ("l2", "layer_norm", "l1", "dropout", "residual", "tied", "activity")
    assert Architecture.build([2, 2]).features == ()


# --- Every component against every installed oracle ------------------------------------------

COMPONENT_ARCHS = {
    "layer_norm": dict(sizes=[3, 4, 2], activation="tanh", layer_norm=[True, True]),
    "l1": dict(sizes=[3, 4, 2], activation=["relu", "sigmoid"], cost="cross-entropy", l1=0.3),
    "dropout": dict(sizes=[3, 4, 3, 2], activation="softplus",
                    dropout=[[2.0, 0.0, 2.0, 2.0], [0.0, 2.0, 2.0], []]),
    "residual": dict(sizes=[3, 3, 3, 2], activation=["tanh", "sigmoid", "linear"], residual=[0, 1]),
    "residual_relu": dict(sizes=[3, 3, 3, 2], activation=["relu", "leaky_relu", "linear"], residual=[1]),
    "tied": dict(sizes=[2, 3, 3, 3], activation=["tanh", "sigmoid", "softmax"], cost="log-likelihood",
                 l2=0.2, tied=(1, 2)),
    "maxout": dict(sizes=[3, 4, 2], activation=["linear", "softmax"], cost="cross-entropy", maxout=[3, 2]),
    "activity": dict(sizes=[3, 4, 3, 2], activation="tanh", activity=(1, 0.4)),
    "all": dict(sizes=[3, 3, 3, 2], activation=["relu", "softmax", "sigmoid"], cost="cross-entropy", l2=0.1,
                batch_norm=[True, False, False], layer_norm=[False, True, False], l1=0.2,
                dropout=[[2.0, 0.0, 2.0], [], []], residual=[1], maxout=[2, 1, 1], activity=(0, 0.3)),
}


def _applies(oracle, name):
    return oracles.applies(oracle, Architecture.build(**COMPONENT_ARCHS[name]))


# Each oracle where it applies (the complex step declines what is not analytic: tested below).
@pytest.mark.parametrize("oracle, name", [(oracle, name) for oracle in INSTALLED for name in COMPONENT_ARCHS
                                          if _applies(oracle, name)])
@pytest.mark.parametrize("m", [1, 3])
def test_every_component_against_every_oracle(oracle, name, m):
    arch = Architecture.build(**COMPONENT_ARCHS[name])
    case = case_from_seed(arch, m, seed=m + 3)
    assert_gradient(case, backprop(case), [oracle])


def test_the_complex_step_declines_exactly_the_components_with_kinks():
    applies = {name: oracles.applies("complex-step", Architecture.build(**kwargs))
               for name, kwargs in COMPONENT_ARCHS.items()}
    assert applies == {"layer_norm": True, "l1": False, "dropout": True, "residual": True,
                       "residual_relu": False, "tied": True, "maxout": False, "activity": True, "all": False}


@pytest.mark.parametrize("name", list(COMPONENT_ARCHS))
def test_each_components_tolerance_is_sharp(name):
    # The rounding bound with the component: backprop passes, and an error of 4x the tolerance
    # (2 gamma_N M, torch being exact but for rounding) in one tensor is rejected, while 1/4 of it
    # is accepted on top of backprop's own (measured below half the tolerance).
    from gradcert.oracles.rounding import rounding_bound
    from gradcert.properties.compare import compare

    oracle = "torch" if "torch" in INSTALLED else "finite-diff"
    arch = Architecture.build(**COMPONENT_ARCHS[name])
    case = case_from_seed(arch, 3, seed=6)
    g = oracles.load(oracle).gradient(arch, case.weights, case.biases, case.x, case.y)
    bound = rounding_bound(arch, case.weights, case.biases, case.x, case.y)
    nabla_b, nabla_w = backprop(case)
    baseline = compare((nabla_b, nabla_w), g, bound)
    assert max(t.excess for t in baseline.tensors) < 0.5, name
    tolerance = 2 * bound.gamma * bound.magnitude_w[0] + g.error_w[0]
    for factor, agrees in ((4.0, False), (0.25, True)):
        shifted = [nabla_w[0] + factor * tolerance, *nabla_w[1:]]
        assert compare((nabla_b, shifted), g, bound).agrees == agrees, (name, factor)
    # ... and the tolerance is the rounding of float64, not a loose allowance.
    assert np.max(tolerance) <= 1e-12 * max(np.max(np.abs(g.nabla_w[0])), np.max(bound.magnitude_w[0]))
