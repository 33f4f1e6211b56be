"""No false alarms on the seven new components (issue 14), kinks hit exactly and saturation included.

Hard cases draw networks with every optional component (layer norm, l1, fixed-mask
dropout, residual connections, a tied matrix, maxout, an activity penalty, and
batch norm, l2 and a modified neuron besides), weights scaled up to 16x into
saturation, and the kinks hit exactly:

* ReLU's, as in test_no_false_alarms.py: an all-zero example with zero first-layer
  biases puts every unit of layer 1 at z = 0 (and a layer norm there at u = 0);
* maxout's: the zero example with each unit's first two pieces given one bias, so
  that they tie exactly there, in every implementation (W 0 + b is b to the last bit);
* l1's: weight entries set to exactly 0, where |w| has no derivative.

Every oracle but jax judges the reference there (jax computes what torch computes,
compiles each new architecture in ~0.2 s, and is cross-checked on every component
in test_reference.py), and the assumption map's judgements are checked where they
must agree: each textbook form on networks without the components that break it,
and each repaired form everywhere; and the directional mode (complex step, kinks
and all) certifies it.  Under ``HYPOTHESIS_PROFILE=thorough`` (2000 examples per
test) the six tests draw 12,000 cases; under ``ci`` 50 each.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from gradcert.properties.assumptions import search
from gradcert.properties.certify import assert_gradient
from gradcert.properties.directional.check import directional_check
from gradcert.properties.strategies import SIMPLEST_FIRST, architectures, cases
from gradcert.reference.architecture import COSTS
from hypothesis import given
from hypothesis import strategies as st

from gradcert import oracles

ORACLES = tuple(n for n in oracles.installed() if n != "jax")
ORACLE = "torch" if "torch" in ORACLES else "finite-diff"
EVERY = dict(batch_norm=True, layer_norm=True, l1=True, dropout=True, residual=True, tied=True, maxout=True,
             activity=True, modified_neuron=True)
# The components that break each assumption (the expected map; test_assumptions.py finds it).
BREAKERS = {"elementwise": ("layer_norm", "maxout"), "separable": ("batch_norm",),
            "outputs-alone": ("l2", "l1", "activity"), "layered-chain": ("residual",),
            "single-use": ("tied",)}


@st.composite
def hard_cases(draw, activations=SIMPLEST_FIRST, costs=COSTS, max_batch=4, l2=True, **components):
    arch = draw(architectures(activations=activations, costs=costs, max_width=5, l2=l2, **components),
                label="architecture")
    scales = [1.0, 4.0, 16.0]
    if arch.cost == "cross-entropy" and arch.activations[-1] == "softmax":
        # (a - y) / (a (1 - a)) has no finite float64 value once a softmax output rounds
        # to 1; the reference says so (SaturationWarning) rather than guess.
        scales = [1.0]
    scale = draw(st.sampled_from(scales), label="weight scale")
    case = draw(cases(architectures=st.just(arch), max_batch=max_batch, scale=scale), label="case")
    weights, biases = [np.array(w) for w in case.weights], [np.array(b) for b in case.biases]
    x = np.array(case.x)
    # One kink per parameter, as in test_no_false_alarms.py: a zero example, for which the first
    # layer's z is its bias.  Several kinks met by one parameter at once are not covered: there
    # the chain rule's subgradient (torch's and the reference's, relu'(0) = sign(0) = 0) need
    # not lie between the cost's one-sided derivatives along that parameter, which is all the
    # finite-difference oracle can see.  Hence no zero biases under a layer norm (it would put
    # every unit of the layer on its kink, moved together by any one bias), no l1 zeros with
    # them (a zero weight with a zero bias puts its unit on a ReLU kink too), and none in a
    # normalised network, with a nonzero weight kept in every row (zeros can make a unit's z the
    # same for every example, dropped or dead inputs helping, which batch norm centres to
    # exactly 0: every example on a ReLU kink, all moved by one zero weight).
    zero_biases = False
    if draw(st.booleans(), label="a zero example"):
        x[:, 0] = 0.0
        if not arch.layer_norm[0] and draw(st.booleans(), label="relu kink: zero first-layer biases"):
            biases[0][:] = 0.0
            zero_biases = True
        k = arch.maxout[0]
        if k > 1 and draw(st.booleans(), label="maxout kink: each unit's first two pieces tie"):
            biases[0][1::k] = biases[0][0::k]
    normalised = any(arch.batch_norm) or any(arch.layer_norm)
    if arch.l1 and not (zero_biases or normalised) and draw(st.booleans(), label="l1 kink: weights at 0"):
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="zeros"))
        for w in weights:
            zeros = rng.random(w.shape) < 0.5
            zeros[np.arange(w.shape[0]), rng.integers(0, w.shape[1], w.shape[0])] = False
            w[zeros] = 0.0
    if arch.tied is not None:  # the idle slot keeps a copy of the matrix the layer uses
        weights[arch.tied[1]] = weights[arch.tied[0]].copy()
    return dataclasses.replace(case, weights=weights, biases=biases, x=x)


@given(hard_cases(**EVERY))
def test_the_reference_with_every_component_on_kinks_and_saturation(case):
    assert_gradient(case, case.network().backprop(case.x, case.y), ORACLES)


@given(hard_cases(activations=("relu", "leaky_relu", "linear"), costs=("quadratic",), l1=True, maxout=True,
                  residual=True, tied=True))
def test_the_reference_on_piecewise_linear_networks_with_l1_and_maxout(case):
    # Every kink at once: ReLU units, |w| and the max, where the complex step does not apply.
    assert_gradient(case, case.network().backprop(case.x, case.y), ORACLES)


@given(st.data())
def test_each_textbook_form_holds_without_the_components_that_break_it(data):
    name = data.draw(st.sampled_from(list(BREAKERS)), label="assumption")
    components = {k: v for k, v in EVERY.items() if k not in BREAKERS[name]}
    activations, costs = SIMPLEST_FIRST, COSTS
    if name == "elementwise":  # softmax breaks it too
        activations = tuple(a for a in SIMPLEST_FIRST if a != "softmax")
        costs = ("quadratic", "cross-entropy")
    case = data.draw(hard_cases(activations=activations, costs=costs, l2=name != "outputs-alone",
                                **components), label="case")
    comparison = search.measure(name, case, ORACLE)
    assert comparison.agrees, f"{name} on {case!r}: {comparison.first_disagreement}"


@given(hard_cases(**EVERY), st.sampled_from(list(BREAKERS)))
def test_each_repaired_form_is_the_gradient_with_every_component(case, name):
    comparison, _ = search.measure_repair(name, case, ORACLE)
    assert comparison.agrees, f"{name} repaired on {case!r}: {comparison.first_disagreement}"


@given(hard_cases(activations=("sigmoid", "tanh", "softplus", "linear", "softmax"), layer_norm=True,
                  dropout=True, residual=True, tied=True, activity=True, batch_norm=True))
def test_the_complex_step_on_the_analytic_components(case):
    # The complex-step oracle wherever it applies (no relu, l1 or maxout), saturation included.
    assert_gradient(case, case.network().backprop(case.x, case.y), ["complex-step"])


@given(hard_cases(**EVERY), st.integers(0, 2**32 - 1))
def test_the_directional_mode_with_every_component_on_kinks_and_saturation(case, seed):
    # Every direction and the Taylor test along all of them, against the complex step (the
    # default), which meets every kink above and reports it as "cannot-check", never "bug".
    result = directional_check(case, case.network().backprop(case.x, case.y), seed=seed, taylor=4)
    assert result.verdict != "bug", f"{case!r}\n{result.describe()}"


# --- Sharpness beside the silence: each component's textbook form is caught -------------------

TEXTBOOK_BUGS = {  # a network with one component, and the assumption it breaks
    "layer_norm": (dict(sizes=[2, 3, 2], activation="tanh", layer_norm=[True, False]), "elementwise"),
    "maxout": (dict(sizes=[2, 3, 2], activation="tanh", maxout=[2, 1]), "elementwise"),
    "l1": (dict(sizes=[2, 3, 2], activation="relu", l1=0.1), "outputs-alone"),
    "activity": (dict(sizes=[2, 3, 2], activation="tanh", activity=(0, 0.5)), "outputs-alone"),
    "residual": (dict(sizes=[2, 2, 2], activation="sigmoid", residual=[1]), "layered-chain"),
    "tied": (dict(sizes=[2, 2, 2], activation="tanh", tied=(0, 1)), "single-use"),
}


def _textbook_case(name):
    from gradcert.properties.strategies import case_from_seed
    from gradcert.reference import Architecture

    kwargs, assumption = TEXTBOOK_BUGS[name]
    return case_from_seed(Architecture.build(**kwargs), 3, 5), assumption


def test_each_components_textbook_form_is_rejected_by_every_oracle_that_applies():
    for name in TEXTBOOK_BUGS:
        case, assumption = _textbook_case(name)
        textbook = search.ASSUMPTIONS[assumption].gradient(case)
        for oracle in ORACLES:
            if not oracles.applies(oracle, case.arch):
                continue
            try:
                assert_gradient(case, textbook, [oracle])
            except AssertionError:
                continue
            raise AssertionError(f"{oracle} certified the {assumption} textbook form on {name}")


def test_each_components_textbook_form_is_rejected_by_the_directional_mode():
    for name in TEXTBOOK_BUGS:
        case, assumption = _textbook_case(name)
        result = directional_check(case, search.ASSUMPTIONS[assumption].gradient(case), seed=1)
        assert result.verdict == "bug", f"{name}: {result.describe()}"
