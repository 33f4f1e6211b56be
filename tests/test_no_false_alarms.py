"""Oracles that never cry wolf: correct implementations are certified on hard cases.

Hard means ReLU kinks hit exactly (an example of all-zero inputs with zero
first-layer biases puts every unit of layer 1 at z = 0, where ReLU has no
derivative) and saturation (weights scaled up to 16x, so sigmoid and tanh
outputs sit within ~1e-7 of their bounds and gradients shrink by as much).

Every mode is drawn through: the default (entry by entry against every installed
oracle but jax, finite differences on a sample), the exhaustive (every entry, by
finite differences and the complex step), and the directional (every kind of
direction, unit directions on every layer, the Taylor test along every global
one).  Under ``HYPOTHESIS_PROFILE=thorough`` (2000 examples per test) the seven
tests below draw 14,000 cases; under ``ci`` they draw 50 each.  jax.grad is left out
here because it computes what torch.autograd computes and compiles each new
architecture (~0.2 s); it is cross-checked in test_reference and test_properties.
"""

import dataclasses
import pathlib

import numpy as np
import pytest
from gradcert.properties.certify import assert_gradient, judge
from gradcert.properties.directional.check import directional_check
from gradcert.properties.options import Options
from gradcert.properties.runner import checker_for
from gradcert.properties.strategies import architectures, cases
from hypothesis import given
from hypothesis import strategies as st

from gradcert import oracles

ORACLES = tuple(n for n in oracles.installed() if n != "jax")
ZOO = pathlib.Path(__file__).parent / "zoo" / "correct"


@st.composite
def hard_cases(draw, activations=("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax"),
               costs=("quadratic", "cross-entropy", "log-likelihood"), batch_norm=True, l2=True, max_batch=4):
    archs = architectures(activations=activations, costs=costs, batch_norm=batch_norm, l2=l2, max_width=6)
    arch = draw(archs, label="architecture")
    scales = [1.0, 4.0, 16.0]
    if arch.cost == "cross-entropy" and arch.activations[-1] == "softmax":
        # (a - y) / (a (1 - a)) has no finite float64 value once a softmax output rounds
        # to 1; the reference says so (SaturationWarning) rather than guess.
        scales = [1.0]
    scale = draw(st.sampled_from(scales), label="weight scale")
    case = draw(cases(architectures=st.just(arch), max_batch=max_batch, scale=scale), label="case")
    if draw(st.booleans(), label="kink: a zero example and zero first-layer biases"):
        x = np.array(case.x)
        x[:, 0] = 0.0
        biases = [np.zeros_like(case.biases[0]), *case.biases[1:]]
        case = dataclasses.replace(case, x=x, biases=biases)
    return case


@given(hard_cases())
def test_the_reference_on_kinks_and_saturation(case):
    assert_gradient(case, case.network().backprop(case.x, case.y), ORACLES)


@given(hard_cases(activations=("relu", "leaky_relu"), costs=("quadratic",), batch_norm=False))
def test_the_reference_on_relu_networks(case):
    assert_gradient(case, case.network().backprop(case.x, case.y), ORACLES)


@given(hard_cases())
def test_the_exhaustive_mode_on_kinks_and_saturation(case):
    # Every entry by finite differences, and by the complex step where it applies.
    names = ["finite-diff", "complex-step"]
    for comparison in judge(case, case.network().backprop(case.x, case.y), names, fd_max_entries=None):
        assert comparison.status != "bug", f"{case!r}\n{comparison}"


@given(hard_cases(), st.integers(0, 2**32 - 1))
def test_the_directional_mode_on_kinks_and_saturation(case, seed):
    # Every direction, unit directions on every layer, and the Taylor test along all the global
    # ones; the complex-step oracle (the default), which meets kinks and saturated logarithms here.
    gradient = case.network().backprop(case.x, case.y)
    result = directional_check(case, gradient, seed=seed, taylor=4, units="all")
    assert result.verdict != "bug", f"{case!r}\n{result.describe()}"


@pytest.fixture(scope="module")
def nielsen():
    with checker_for(f"{ZOO / 'nielsen_network.py'}:Network", Options.build(oracles=ORACLES)) as checker:
        yield checker


@pytest.fixture(scope="module")
def functional():
    with checker_for(f"{ZOO / 'functional_grad.py'}:grad", Options.build(oracles=ORACLES)) as checker:
        yield checker


@pytest.fixture(scope="module", params=["ReLULayerZero", "ReLULayerOne"])
def relu_layer(request):
    with checker_for(f"{ZOO / 'layers_correct.py'}:{request.param}") as checker:
        yield checker


@given(case=hard_cases(activations=("sigmoid",), costs=("quadratic",), batch_norm=False, l2=False))
def test_nielsens_network_py_on_saturated_sigmoids(nielsen, case):
    nielsen.check(case)  # raises on any disagreement or misbehaviour


@given(case=hard_cases(activations=("linear", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "softmax"),
                       batch_norm=False))
def test_a_functional_gradient_on_kinks_and_saturation(functional, case):
    functional.check(case)


@given(data=st.data())
def test_relu_layers_with_either_subgradient_at_zero(relu_layer, data):
    case = data.draw(relu_layer.strategy(), label="layer case")
    relu_layer.check(case)
