"""The seeds' claims about backpropagation, as Hypothesis properties (issue 3).

One group of tests per claim; each docstring names the seed document in
../shared/seeds/ the claim comes from:

  000  qa-backprop-assumptions   (the two assumptions on the cost)
  001  qa-cost-and-xj-factor     (the x_j factor; cross-entropy against saturation)
  002  notes-backprop-algorithm  (BP1-BP4, linear neurons, mini-batch SGD)
  003  post-gd-and-backprop      (gradient descent; BP1/BP2 need elementwise activations)

Settings come from the profile in conftest.py (``ci``: 50 examples, derandomized).
Discovery claims run ``hypothesis.find`` and assert that the shrunk
counterexample is the minimal one the claim names.

Tolerances.  Wherever two float64 gradients are compared, the tolerance is the
rounding bound of ``oracles.rounding`` (gamma_N times the magnitude of the
terms, once per implementation), plus the oracle's own error, through
``properties.compare``.  Where a test computes something else (a closed form,
a rank, a step of SGD, a cost difference), the comment next to it derives its
bound from the same ingredients.

Oracles.  Claim 1 asks every installed oracle.  Elsewhere one oracle is enough
to stand for the exact derivative, and it is torch where installed: its
autograd is exact but for rounding, so the tolerance stays the tight rounding
bound, and it costs ~1 ms a case, while jax compiles every new architecture
(~0.2 s, 50 architectures a test) and finite differences carry their own
truncation error.  Without torch, finite differences stand in (their error
bound enters every comparison).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from gradcert.oracles import numpy_cost
from gradcert.oracles.finite_diff import cost_rounding_bound, measured_noise
from gradcert.oracles.rounding import gamma, rounding_bound
from gradcert.properties.assumptions import map as assumptions
from gradcert.properties.certify import assert_gradient, oracle_gradients
from gradcert.properties.compare import compare_tensor
from gradcert.properties.strategies import SIMPLEST_FIRST, architectures, case_from_seed, cases
from hypothesis import Phase, assume, find, given, settings
from hypothesis import strategies as st

from gradcert import oracles

INSTALLED = oracles.installed()
ORACLE = "torch" if "torch" in INSTALLED else "finite-diff"  # see the module docstring
U = np.finfo(np.float64).eps / 2  # unit roundoff of float64

ELEMENTWISE_FIRST = tuple(name for name in SIMPLEST_FIRST if name != "softmax")
# Differentiable everywhere: relu and leaky_relu have a kink at 0, where Taylor's theorem (seed 003's
# "any differentiable function") does not apply.
SMOOTH = ("linear", "sigmoid", "tanh", "softplus", "softmax")

# hypothesis.find for the discovery claims: no example database (the tests leave no files
# behind), the profile's derandomisation, and no "explain" phase (it re-runs the minimal case
# to annotate a report that find does not print).
FIND = settings(database=None, max_examples=300, phases=(Phase.generate, Phase.shrink))


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    # torch's intra-op thread pool costs ~10 ms per softmax on a tiny tensor on a busy
    # 2-core machine; these networks are tiny.  Restored after the module.
    with assumptions.torch_threads(ORACLE):
        yield


def gradient_of(case, name=ORACLE):
    """An oracle's gradient of the case's batch cost."""
    return oracle_gradients(case, [name])[0]


def bound_of(case):
    return rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)


def forward(case):
    """[a^0 = x, a^1, ..., a^L] as columns, by the oracles' own NumPy forward pass."""
    rows, out = np.asarray(case.x).T, [np.asarray(case.x)]
    for layer in range(case.arch.depth):
        rows = numpy_cost.layer_forward(case.arch, layer, rows, case.weights[layer], case.biases[layer])
        out.append(rows.T)
    return out


def assert_tensor_agrees(name, layer, candidate, case, oracle_gradient, rounding):
    """One tensor against the oracle, with the rounding bound of ``properties.compare``."""
    kind = name[:7]  # "nabla_b" or "nabla_w"
    oracle_value = getattr(oracle_gradient, kind)[layer]
    error = (oracle_gradient.error_b if kind == "nabla_b" else oracle_gradient.error_w)[layer]
    magnitude = (rounding.magnitude_b if kind == "nabla_b" else rounding.magnitude_w)[layer]
    t = compare_tensor(name, layer, candidate, oracle_value, error, magnitude, rounding.gamma)
    assert t.agrees, (f"{name} on {case.describe()}: at {t.worst_index} {t.candidate_value!r} vs "
                      f"{oracle_gradient.name} {t.oracle_value!r}, |difference| {t.max_abs_error:.3e} "
                      f"> tolerance {t.tolerance:.3e}")


# --- Claim 1 -------------------------------------------------------------------------------------

@given(cases(architectures=architectures(batch_norm=True, modified_neuron=True), max_batch=4))
def test_backprop_equals_every_installed_oracle(case):
    """Seeds 002 and 003: BP1-BP4 compute the gradient of the cost.  ``reference.backprop``
    equals every installed oracle on every drawn architecture: all activations (softmax
    included), all costs, L2, batch normalisation, Nielsen's modified neuron."""
    assert_gradient(case, case.network().backprop(case.x, case.y), INSTALLED)


# --- Claim 2 -------------------------------------------------------------------------------------

@given(cases(architectures=architectures(activations=ELEMENTWISE_FIRST, batch_norm=True,
                                         modified_neuron=True), max_batch=4))
def test_the_hadamard_form_is_the_gradient_for_elementwise_activations(case):
    """Seed 003 (BP1, BP2 and footnote 4), seed 002 (the algorithm as printed): when every
    z_j influences a_j only, delta = (upstream) * sigma'(z) elementwise is the gradient."""
    assert_gradient(case, case.network().backprop_elementwise(case.x, case.y), [ORACLE])


def test_hypothesis_finds_that_the_hadamard_form_breaks_for_softmax_and_shrinks_it():
    """Seed 003, footnote 4: "for softmax ... the first 2 equations of backpropagation ... are
    not correct".  Hypothesis finds a network where ``backprop_elementwise`` is wrong, and the
    shrunk counterexample is minimal: one softmax layer of two units, one input, one example."""
    case = find(cases(), lambda case: assumptions.breaks("elementwise", case, ORACLE), settings=FIND)
    arch = case.arch
    assert arch.activations.count("softmax") == 1, case.describe()
    softmax_layer = arch.activations.index("softmax")
    assert arch.sizes[softmax_layer + 1] == 2, case.describe()  # width 1 is the constant 1: no error
    # Nothing else is needed: one input, every other layer one wide, one example, no decay.
    assert arch.sizes[0] == 1 and all(n == 1 for i, n in enumerate(arch.sizes[1:]) if i != softmax_layer)
    assert case.m == 1 and arch.l2 == 0.0, case.describe()


@given(cases(architectures=architectures(costs=("log-likelihood",), modified_neuron=True), max_batch=4))
def test_softmax_with_log_likelihood_has_the_exact_shortcut_a_minus_y(case):
    """Seed 003 (footnote 4) with the log-likelihood cost: though the Hadamard form breaks for
    softmax, the combined output error delta^L = a^L - y is exact (BP3: dC/db^L = delta^L,
    summed over the batch with weight 1/m)."""
    a = forward(case)[-1]
    delta = (a - case.y) / case.m
    # "Exact" up to rounding: delta's own (a's forward error, the subtraction) is within the
    # rounding bound's output terms, so compare's 2 gamma_N M holds it as it holds any correct
    # implementation; N <= 8*5 + 8*4 + 2*4 = 80 for these networks, so that is <= 160 u, 80 ulps, of M.
    last = case.arch.depth - 1
    assert_tensor_agrees(f"nabla_b[{last}]", last, delta.sum(axis=1, keepdims=True), case, gradient_of(case),
                         bound_of(case))


# --- Claim 3 -------------------------------------------------------------------------------------

@given(cases(architectures=architectures(modified_neuron=True), max_batch=6))
def test_without_batch_norm_the_batch_gradient_is_the_mean_of_per_example_gradients(case):
    """Seed 000, first assumption: C = (1/n) sum_x C_x, so backpropagating each example alone
    and averaging gives the batch gradient."""
    # The mean of m per-example gradients sums the very terms the batch gradient sums (their
    # magnitude is the batch's rounding magnitude) with m more roundings, which the batch's
    # accumulation length N already counts: compare's bound holds it.
    net = case.network()
    per_example = [net.backprop(x, y) for x, y in case.columns()]
    mean = tuple([sum(g[k][i] for g in per_example) / case.m for i in range(case.arch.depth)] for k in (0, 1))
    assert_gradient(case, mean, [ORACLE])
    # The map's shortcut for this assumption: each example along its own path in the batch's
    # forward pass (batch normalisation's statistics, where there are any, held by the batch).
    assert_gradient(case, assumptions.ASSUMPTIONS["separable"].gradient(case), [ORACLE])


def test_hypothesis_finds_that_batch_norm_breaks_separability_with_two_examples():
    """Seed 000, answer: "Batch normalization ... the cost function can no longer be split up
    into individual costs for each input."  Hypothesis finds a batch where the mean of
    per-example gradients is not the gradient, and the shrunk counterexample has m = 2 (with
    m = 1 the batch is the example) and a normalised layer."""
    strategy = cases(architectures=architectures(batch_norm=True), max_batch=4)
    case = find(strategy, lambda case: assumptions.breaks("separable", case, ORACLE), settings=FIND)
    assert case.m == 2, case.describe()
    assert any(case.arch.batch_norm), case.describe()
    assert case.arch.sizes == (1, 1), case.describe()  # one normalised unit couples the two examples


# --- Claim 4 -------------------------------------------------------------------------------------

WITH_L2 = assumptions.with_l2(architectures(batch_norm=True, modified_neuron=True, l2=False))


@given(cases(architectures=WITH_L2, max_batch=4))
def test_backpropagating_the_output_cost_misses_exactly_l2_w(case):
    """Seed 000, second assumption: the cost is a function of the outputs alone.  Weight decay
    is not: backpropagating only the output cost misses exactly l2 * w in dC/dw, and nothing
    in dC/db."""
    nabla_b, nabla_w = assumptions.ASSUMPTIONS["outputs-alone"].gradient(case)
    completed = [nw + case.arch.l2 * w for nw, w in zip(nabla_w, case.weights)]
    # "Exactly" up to rounding: adding l2 * w is two more roundings of terms the rounding bound
    # already counts (its magnitude includes l2 |w|), so compare's 2 gamma_N M holds the sum
    # (<= 80 ulps of M, as in claim 2).  The biases are compared as they are.
    assert_gradient(case, (nabla_b, completed), [ORACLE])


def test_hypothesis_finds_that_weight_decay_is_not_a_cost_of_the_outputs():
    """Seed 000, answer: "Weight decay / regularization adds on to the cost function the L2
    norm of the weights, which I think can hardly be called an output."  The shrunk
    counterexample has l2 > 0 and disagrees in weight gradients only."""
    case = find(cases(), lambda case: assumptions.breaks("outputs-alone", case, ORACLE), settings=FIND)
    assert case.arch.l2 > 0, case.describe()
    comparison = assumptions.measure("outputs-alone", case, ORACLE)
    wrong = [t.name for t in comparison.tensors if not t.agrees]
    assert wrong and all(name.startswith("nabla_w") for name in wrong), wrong


# --- Claim 5 -------------------------------------------------------------------------------------

def _rank_one_excess(g, t):
    """max over 2x2 minors of |g_ij g_kl - g_il g_kj| / (its rounding bound), for g within t of
    a rank-1 matrix.

    If g = G + E with G rank 1 and |E| <= t entrywise, every minor of G is 0, so
    |minor of g| <= t_ij |g_kl| + |g_ij| t_kl + t_ij t_kl (+ the same for the other product),
    plus the rounding of the two products and their difference: 2u per product term.
    """
    a = np.abs(g)
    p = np.einsum("ij,kl->ijkl", g, g)  # g_ij g_kl
    q = p.transpose(0, 3, 2, 1)  # g_il g_kj
    first = np.einsum("ij,kl->ijkl", t, a) + np.einsum("ij,kl->ijkl", a, t) + np.einsum("ij,kl->ijkl", t, t)
    bound = first + first.transpose(0, 3, 2, 1) + 2 * U * (np.abs(p) + np.abs(q))
    minors = np.abs(p - q)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.max(np.where(minors == 0, 0.0, minors / bound)))


@given(cases(architectures=architectures(l2=False, modified_neuron=True), max_batch=1))
def test_each_per_example_weight_gradient_is_the_outer_product_delta_a(case):
    """Seed 001, answer: "the derivative of the weighted input will always produce an
    additional x_j".  For one example, dC/dw^l = delta^l (a^{l-1})^T: at the input layer
    that is dC/db^1 x^T, and at every layer a matrix of rank at most one."""
    g = gradient_of(case)
    rounding = bound_of(case)
    # Layer 1: a^0 = x is exact, so delta x^T from the oracle's own delta (dC/db, BP3) is within
    # the same rounding bound as its dC/dw (whose magnitude is that of delta times |x|).
    assert_tensor_agrees("nabla_w[0]", 0, g.nabla_b[0] @ case.x.T, case, g, rounding)
    for layer in range(case.arch.depth):
        # Every layer: within its rounding bound (plus the oracle's own error) of a rank-1 matrix.
        t = rounding.gamma * rounding.magnitude_w[layer] + np.nan_to_num(g.error_w[layer])
        assert _rank_one_excess(g.nabla_w[layer], t) <= 1.0, f"nabla_w[{layer}] of {case.describe()}"


@given(cases(architectures=architectures(l2=False, modified_neuron=True), max_batch=1), st.data())
def test_a_zero_input_coordinate_gives_a_zero_gradient_column_whatever_the_cost(case, data):
    """Seed 001: dC/dw_j = x_j * (...) for every cost that is a function of the outputs, so no
    cost can remove the x_j factor; a zero input x_j gives a zero column j of dC/dw^1."""
    j = data.draw(st.integers(0, case.arch.sizes[0] - 1), label="zero input coordinate")
    x = np.array(case.x)
    x[j] = 0.0
    case = dataclasses.replace(case, x=x)
    # Exactly zero, 0 ulps: every term of the column is delta_i * x_j = delta_i * 0 = 0 in IEEE
    # arithmetic (delta is finite), and sums of zeros are zero.  By the reference and by the oracle.
    for name, (_, nabla_w) in (("reference", case.network().backprop(case.x, case.y)),
                               (ORACLE, (None, gradient_of(case).nabla_w))):
        assert np.all(nabla_w[0][:, j] == 0.0), f"{name}: column {j} of nabla_w[0] is {nabla_w[0][:, j]}"


# --- Claim 6 -------------------------------------------------------------------------------------

def sigmoid_output(archs):
    """The architectures of ``archs`` with a sigmoid output layer."""
    return archs.map(lambda arch: dataclasses.replace(arch, activations=arch.activations[:-1] + ("sigmoid",)))


@given(cases(architectures=sigmoid_output(architectures(activations=ELEMENTWISE_FIRST,
                                                        costs=("quadratic", "cross-entropy"))), max_batch=4))
def test_the_output_error_of_a_sigmoid_output(case):
    """Seed 001: with a sigmoid output, cross-entropy gives delta^L = a - y exactly, with no
    sigma'(z^L); the quadratic cost gives delta^L = (a - y) sigma'(z^L).  Checked through BP3,
    dC/db^L = (1/m) sum_x delta^{x,L}."""
    a = forward(case)[-1]
    if case.arch.cost == "cross-entropy":
        delta = a - case.y
    else:
        delta = (a - case.y) * a * (1.0 - a)  # sigma'(z) = sigma(z) (1 - sigma(z))
    # "Exactly" up to rounding: delta's (a's forward error, a (1 - a), the products) is counted by
    # the rounding bound's output terms, so compare's 2 gamma_N M holds it as it holds any correct
    # implementation: <= 80 ulps of M (N <= 80, as in claim 2).
    last = case.arch.depth - 1
    assert_tensor_agrees(f"nabla_b[{last}]", last, delta.sum(axis=1, keepdims=True) / case.m,
                         case, gradient_of(case), bound_of(case))


SATURATION = -40.0  # z = -40: a = sigma(z) ~ 4e-18 and sigma'(z) < e^-40 ~ 4e-18


@given(cases(architectures=architectures(max_depth=1, activations=("sigmoid",), costs=("quadratic",),
                                         l2=False), max_batch=1))
def test_a_saturated_sigmoid_slows_the_quadratic_cost_and_not_cross_entropy(case):
    """Seed 001's setting (one sigmoid neuron, one example): with the quadratic cost
    dC/db = (a - y) sigma'(z) vanishes as the neuron saturates (the learning slowdown); with
    cross-entropy it is a - y, which does not.  The neuron is driven to z = -40, and the target
    taken >= 1/2 (y or 1 - y), so |a - y| >= 1/2: the neuron is badly wrong, and saturated."""
    # Saturated towards 0, not 1: sigma(+40) rounds to exactly 1.0 in float64, where the
    # cross-entropy is infinite and autograd's ln(1 - a) gives NaN; sigma(-40) ~ 4e-18 is exact.
    z0 = float((case.weights[0] @ case.x + case.biases[0])[0, 0])
    assume(z0 != 0.0)  # a zero weighted input cannot be scaled into saturation
    scale = SATURATION / z0
    y = np.maximum(case.y, 1.0 - case.y)  # exact: y = k / 2^53
    for cost in ("quadratic", "cross-entropy"):
        saturated = dataclasses.replace(case, arch=dataclasses.replace(case.arch, cost=cost), y=y,
                                        weights=[scale * case.weights[0]], biases=[scale * case.biases[0]])
        delta = float(gradient_of(saturated).nabla_b[0][0, 0])
        rounding = bound_of(saturated)
        tolerance = 2 * rounding.gamma * float(rounding.magnitude_b[0][0, 0])  # two implementations
        a = float(forward(saturated)[-1][0, 0])
        assert a <= 2 * np.exp(SATURATION) and abs(a - y[0, 0]) >= 0.5 - a
        if cost == "quadratic":
            # |a - y| < 1 and sigma'(-40) < e^-40: the slowdown, up to rounding.
            assert abs(delta) <= np.exp(SATURATION) + tolerance, (delta, saturated.describe())
        else:
            assert abs(delta - (a - y[0, 0])) <= tolerance, (delta, a - y[0, 0], saturated.describe())
            assert abs(delta) >= 0.5 - a - tolerance


# --- Claim 7 -------------------------------------------------------------------------------------

def affine_closed_form(weights, biases, x, y, l2, magnitudes=False):
    """The all-linear network as the affine map a^L = P x + c, and the gradient of its
    least-squares cost (1/2m) ||P x + c - y||^2 + (l2/2) sum ||W||^2 in closed form.

    With the residual R = (P x + c - y) / m, the least-squares gradient of the map is
    dC/dP = R x^T and dC/dc = R 1.  Layer l enters as P = A W B and c = A (W d + b) + ...,
    where A is the product of the layers after it, B of those before it and d the bias
    the layers before it add, so the chain rule gives
        dC/db = A^T R 1,    dC/dW = A^T R (B x + d 1^T)^T + l2 W.

    With ``magnitudes`` every input is replaced by its absolute value and every
    difference by a sum: the result bounds the terms whose rounding this computation suffers.
    """
    if magnitudes:
        weights, biases, x, y = ([np.abs(w) for w in weights], [np.abs(b) for b in biases],
                                 np.abs(x), -np.abs(y))
    depth, m = len(weights), x.shape[1]

    def product(ws, n):  # ws[-1] @ ... @ ws[0], the identity for none
        out = np.eye(n)
        for w in ws:
            out = w @ out
        return out

    befores, ds = [], []  # B and d of each layer: a^{l-1} = B x + d
    d = np.zeros((x.shape[0], 1))
    for layer in range(depth):
        befores.append(product(weights[:layer], x.shape[0]))
        ds.append(d)
        d = weights[layer] @ d + biases[layer]
    p, c = product(weights, x.shape[0]), d
    residual = (p @ x + c - y) / m
    nabla_b, nabla_w = [], []
    for layer in range(depth):
        after = product(weights[layer + 1:], weights[layer].shape[0])  # A
        upstream = after.T @ residual
        nabla_b.append(upstream.sum(axis=1, keepdims=True))
        nabla_w.append(upstream @ (befores[layer] @ x + ds[layer]).T + l2 * weights[layer])
    return p @ x + c, nabla_b, nabla_w


@given(cases(architectures=architectures(activations=("linear",), costs=("quadratic",)), max_batch=6))
def test_a_network_of_linear_neurons_is_an_affine_map_with_the_least_squares_gradient(case):
    """Seed 002, exercise "Backpropagation with linear neurons": with sigma(z) = z everywhere
    the network is an affine map x -> P x + c, and backpropagation's gradient is the closed
    form of that map's least-squares gradient."""
    args = (list(case.weights), list(case.biases), np.asarray(case.x), np.asarray(case.y), case.arch.l2)
    output, nabla_b, nabla_w = affine_closed_form(*args)
    mag_output, mag_b, mag_w = affine_closed_form(*args, magnitudes=True)
    # Higham's bound: a computation made of sums of products is within gamma_K times the same
    # computation on magnitudes, K the longest chain of roundings in it.  Here each matrix
    # product of inner dimension n adds n to the chain, and the closed form multiplies through
    # every layer at most twice (forward to the residual, back to each layer), then adds the
    # residual's subtraction and 1/m, the sum over m examples, and the decay term.
    chain = 2 * sum(case.arch.sizes) + 2 * case.m + 8
    closed_error_b = [gamma(chain) * t for t in mag_b]
    closed_error_w = [gamma(chain) * t for t in mag_w]
    # The network's own forward pass is one more correct computation of P x + c.
    forward_output = forward(case)[-1]
    assert np.all(np.abs(forward_output - output) <= 2 * gamma(chain) * mag_output), case.describe()
    # backprop: within its rounding bound of the exact gradient; the closed form within its own.
    got_b, got_w = case.network().backprop(case.x, case.y)
    rounding = bound_of(case)
    for name, got, closed, mine, theirs in (("nabla_b", got_b, nabla_b, closed_error_b, rounding.bound_b),
                                            ("nabla_w", got_w, nabla_w, closed_error_w, rounding.bound_w)):
        for layer in range(case.arch.depth):
            excess = np.abs(got[layer] - closed[layer]) - (mine[layer] + theirs[layer])
            assert np.all(excess <= 0), f"{name}[{layer}] of {case.describe()}: exceeds by {excess.max():.2e}"


# --- Claim 8 -------------------------------------------------------------------------------------

@given(cases(architectures=architectures(l2=False, modified_neuron=True), max_batch=6),
       st.floats(0.001, 3.0))
def test_update_mini_batch_is_the_sum_of_outer_products_step(case, eta):
    """Seed 002, mini-batch SGD: w -> w - (eta/m) sum_x delta^{x,l} (a^{x,l-1})^T and
    b -> b - (eta/m) sum_x delta^{x,l}, each delta^{x,l} (a^{x,l-1})^T being one example's
    gradient (computed here by the oracle, example by example)."""
    per_example = [gradient_of(dataclasses.replace(case, x=x, y=y)) for x, y in case.columns()]
    net = case.network()
    net.update_mini_batch(case.columns(), eta)
    rounding = bound_of(case)
    for kind, new, old, bound in (("nabla_w", net.weights, case.weights, rounding.bound_w),
                                  ("nabla_b", net.biases, case.biases, rounding.bound_b)):
        for layer in range(case.arch.depth):
            total = sum(getattr(g, kind)[layer] for g in per_example)
            expected = old[layer] - (eta / case.m) * total
            # Both sides step by eta times a gradient within its rounding bound of the exact one
            # (the per-example sum counts the batch's terms with m more roundings, within the
            # batch's N); then each rounds eta/m or eta, the product and the subtraction: 3u of
            # |w| + eta |g| per side, 2 eps for both, with room to spare.
            error = sum(np.nan_to_num(getattr(g, "error_" + kind[-1])[layer]) for g in per_example) / case.m
            step = eta * np.abs(total) / case.m
            rounding_of_step = 2 * np.finfo(float).eps * (np.abs(old[layer]) + step)
            tolerance = eta * (2 * bound[layer] + error) + rounding_of_step
            assert np.all(np.abs(new[layer] - expected) <= tolerance), f"{kind}[{layer}] of {case.describe()}"


@st.composite
def partitioned_cases(draw):
    """A case whose batch splits into ``parts`` sub-batches of ``size`` examples each."""
    arch = draw(architectures(modified_neuron=True), label="arch")
    parts = draw(st.integers(1, 3), label="parts")
    size = draw(st.integers(1, 3), label="examples per part")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    return case_from_seed(arch, parts * size, seed), parts


@given(partitioned_cases())
def test_averaging_the_gradients_of_an_equal_size_partition_gives_the_full_batch_gradient(drawn):
    """Seed 002 (mini-batches of m examples) with seed 003's estimate
    (1/m) sum_i grad C_{x_i}: for an equal-size partition of the data the mean of the parts'
    gradients is exactly the full-batch gradient, not an estimate."""
    case, parts = drawn
    size = case.m // parts
    net = case.network()
    grads = [net.backprop(case.x[:, k * size:(k + 1) * size], case.y[:, k * size:(k + 1) * size])
             for k in range(parts)]
    mean = ([sum(g[0][i] for g in grads) / parts for i in range(case.arch.depth)],
            [sum(g[1][i] for g in grads) / parts for i in range(case.arch.depth)])
    # Each part's gradient sums the batch's terms for its columns; the mean adds `parts`
    # roundings, within the full batch's accumulation length: compare's bound holds it.
    assert_gradient(case, mean, [ORACLE])


# --- Claim 9 -------------------------------------------------------------------------------------

def _flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def _cost_at(case, flat):
    """The batch cost (the oracles' own NumPy forward pass) at flattened parameters [w..., b...]."""
    shapes = [w.shape for w in case.weights] + [b.shape for b in case.biases]
    arrays, start = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        arrays.append(flat[start:start + size].reshape(shape))
        start += size
    depth = case.arch.depth
    return numpy_cost.cost(case.arch, arrays[:depth], arrays[depth:], case.x, case.y)


def _cost_error(case, cost):
    """e_C: the rounding error of one evaluation of the cost, as the finite-difference oracle
    bounds it (a static n u |C| bound, or 4 standard deviations of the noise measured there)."""
    noise = measured_noise(case.arch, list(case.weights), list(case.biases), case.x.T, case.y.T)
    return float(cost_rounding_bound(case.arch, abs(cost), case.m, noise))


SMOOTH_CASES = cases(architectures=architectures(activations=SMOOTH, batch_norm=True), max_batch=4)
MARGIN = 100.0  # a measured change must exceed its rounding error this many times over


def _gradient_and_rounding(case):
    """backprop's gradient and its rounding bound (one implementation), flattened as [w..., b...]."""
    nabla_b, nabla_w = case.network().backprop(case.x, case.y)
    rounding = bound_of(case)
    return _flat(nabla_w + nabla_b), _flat(rounding.bound_w + rounding.bound_b)


@given(SMOOTH_CASES)
def test_a_small_enough_step_along_minus_the_gradient_lowers_the_cost(case):
    """Seed 003: Delta C ~ -eta ||grad C||^2 < 0 for Delta v = -eta grad C, "eta > 0 the
    learning rate", small enough.  Checked on ten step sizes, doubling from the smallest at
    which the predicted decrease is MARGIN times the rounding error of the measured one."""
    v = _flat(case.weights + case.biases)
    g, g_error = _gradient_and_rounding(case)
    squared = float(g @ g)
    # A gradient within its own rounding error of zero (a stationary point, or a cost that no
    # parameter moves: a width-1 softmax outputs the constant 1) points nowhere: nothing to test.
    assume(np.linalg.norm(g_error) * MARGIN <= np.sqrt(squared))
    cost = _cost_at(case, v)
    # Error of a measured decrease C(v) - C(v - eta g): two cost evaluations (2 e_C), and the
    # rounding of the step itself (v - eta g is off by u |v - eta g| per entry, which moves the
    # cost by at most u sum |g| (|v| + eta |g|)).
    e_cost = _cost_error(case, cost)

    def noise(eta):
        return 2 * e_cost + U * float(np.abs(g) @ (np.abs(v) + eta * np.abs(g)))

    eta = MARGIN * noise(0.0) / squared
    eta = MARGIN * noise(eta) / squared  # the step's own rounding grows with eta: once more
    for k in range(10):
        step = eta * 2.0**k
        decrease = cost - _cost_at(case, v - step * g)
        assert decrease > 0, f"eta={step:.3e}: C went up by {-decrease:.3e} on {case.describe()}"
    # And the first-order prediction itself, Delta C = -eta grad C . g: at the smallest step the
    # noise is at most 1/MARGIN of the predicted decrease, g's own rounding error moves grad C . g
    # by at most 1/MARGIN of ||g||^2 (assumed above), and the second-order term
    # eta g^T H g / 2 adds eta |lambda|max / 2 relative, < 1% unless the curvature exceeds
    # ~2e-2 / eta (~1e10 here): 3% in all.
    ratio = (cost - _cost_at(case, v - eta * g)) / (eta * squared)
    assert abs(ratio - 1.0) <= 2 / MARGIN + 0.01, f"Delta C / (-eta ||g||^2) = {ratio} on {case.describe()}"


@given(SMOOTH_CASES)
def test_the_taylor_remainder_shrinks_at_rate_two(case):
    """Seed 003: Delta C ~ grad C . Delta v, to first order: the remainder
    r(h) = C(v + h d) - C(v) - h grad C . d is O(h^2), so halving h divides it by 4 (rate 2),
    along a random unit direction d.  A wrong gradient leaves an O(h) remainder: rate 1."""
    v = _flat(case.weights + case.biases)
    g, g_error = _gradient_and_rounding(case)
    # A gradient within its own rounding error of zero (a cost that no parameter moves: a width-1
    # softmax outputs the constant 1) makes h grad C . d pure rounding: nothing to test.
    assume(np.linalg.norm(g_error) * MARGIN <= np.linalg.norm(g))
    d = np.random.default_rng(case.seed).standard_normal(v.size)
    d /= np.linalg.norm(d)
    slope = float(g @ d)
    cost = _cost_at(case, v)
    e_cost = _cost_error(case, cost)
    hs = 2.0 ** -np.arange(0, 41)
    r = np.array([_cost_at(case, v + h * d) - cost - h * slope for h in hs])
    # Error of r(h): two cost evaluations (2 e_C), the rounding of v + h d (moves C by at most
    # u sum |g| (|v| + h |d|)), and of h slope and the sums (a few u of the terms).  The slope's
    # own rounding error e adds h |e|, a rate-1 term: it is left out, as it can only pull the
    # measured rate towards 1 (a failure, never a false pass), and its worst-case bound (the
    # gradient's rounding bound along d) is orders of magnitude above the real ~u |g| |d|.
    noise = 2 * e_cost + U * (float(np.abs(g) @ np.abs(v)) + hs * float(np.abs(g) @ np.abs(d))) \
        + 4 * U * (abs(cost) + hs * abs(slope))
    # r = c2 h^2 + c3 h^3 + ...: where c2 is small next to c3 h, the plain ratio r(h) / r(h/2)
    # is still far from 4 at the smallest h that rounding lets us measure.  Richardson's
    # s(h) = 8 r(h/2) - r(h) = 2 c2 h^2 - c4 h^4 / 2 + ... cancels the h^3 term; a linear term
    # e h (a wrong gradient) survives as 3 e h.  Its error is at most 8 noise(h/2) + noise(h).
    s = 8 * r[1:] - r[:-1]
    s_noise = 8 * noise[1:] + noise[:-1]
    measurable = (np.abs(s) > 0) & (np.abs(s) >= MARGIN * s_noise)
    pairs = [k for k in range(len(s) - 1)
             if measurable[k] and measurable[k + 1] and np.sign(s[k]) == np.sign(s[k + 1])]
    assume(pairs)  # C is linear along d to within rounding at every h <= 1: no rate to measure
    k = pairs[-1]  # the smallest h at which s(h) and s(h/2) stand MARGIN above their noise
    rate = np.log2(s[k] / s[k + 1])
    # Noise moves each s by <= 1/MARGIN relative, the rate by <= log2(1.01/0.99) = 0.03; the
    # h^4 term moves it by ~ (c4 h^2 / 4 c2) / ln 2, small at the smallest such h: 0.1 in all.
    assert abs(rate - 2.0) <= 0.1, (f"rate {rate:.3f} at h = {hs[k]:.2e} (s = {s[k]:.3e}, "
                                    f"{s[k + 1]:.3e}) on {case.describe()}")
