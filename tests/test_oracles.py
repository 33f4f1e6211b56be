"""The oracles judged on their own: closed-form gradients, agreement with each
other, honest error estimates, kinks (ReLU at 0), the complex step's accuracy,
and that no oracle writes into what it is given.

Every comparison goes through ``properties.compare.compare``: an entry agrees
when |candidate - oracle| <= 2 E + oracle error, E the running rounding bound
(see that module), so no tolerance below is a free constant unless its comment
derives it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gradcert.oracles import activations, complex_step, finite_diff, numpy_cost, precision, rounding
from gradcert.oracles.rounding import rounding_bound
from gradcert.properties.compare import compare
from gradcert.properties.strategies import Case, architectures, case_from_seed, cases
from gradcert.reference.architecture import ACTIVATIONS, LEAKY_SLOPE, Architecture
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcert import oracles

INSTALLED = oracles.installed()
needs_torch = pytest.mark.skipif("torch" not in INSTALLED, reason="torch is not installed")
U = precision.UNIT_ROUNDOFF


def gradient_of(name, case, **kwargs):
    return oracles.load(name).gradient(case.arch, case.weights, case.biases, case.x, case.y, **kwargs)


def judge(case, nabla_b, nabla_w, oracle_gradient):
    """compare() of a candidate (nabla_b, nabla_w) with one oracle's gradient on ``case``."""
    bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
    return compare((nabla_b, nabla_w), oracle_gradient, bound)


def assert_agrees(case, nabla_b, nabla_w, oracle_gradient, what=""):
    result = judge(case, nabla_b, nabla_w, oracle_gradient)
    worst = result.first_disagreement
    assert result.agrees, (f"{what} {oracle_gradient.name}: {worst.name} at {worst.worst_index}: "
                           f"{worst.candidate_value!r} vs {worst.oracle_value!r}, "
                           f"tolerance {worst.tolerance:.3e}")


# ---------------------------------------------------------------- registry, applies


def test_the_registry_lists_the_complex_step_after_finite_differences():
    assert oracles.NAMES.index("complex-step") == oracles.NAMES.index("finite-diff") + 1
    # Both NumPy oracles always work, whatever else is installed.
    assert {"finite-diff", "complex-step"} <= set(INSTALLED)


@pytest.mark.parametrize("arch, expected", [
    (Architecture.build([3, 4, 2], ["sigmoid", "softmax"], "log-likelihood"), True),
    (Architecture.build([3, 4, 2], ["tanh", "softplus"], "quadratic", l2=0.5, batch_norm=True), True),
    (Architecture.build([3, 2], "linear"), True),
    (Architecture.build([3, 4, 2], ["relu", "sigmoid"], "cross-entropy"), False),
    (Architecture.build([3, 4, 2], ["tanh", "leaky_relu"]), False),
    (Architecture.build([3, 4, 2], "sigmoid", modified_neuron=(0, 1, "relu")), False),
    (Architecture.build([3, 4, 2], "relu", modified_neuron=(1, 0, "tanh")), False),
])
def test_the_complex_step_applies_only_to_analytic_networks(arch, expected):
    assert complex_step.applies(arch) is expected
    assert oracles.applies("complex-step", arch) is expected
    # The other oracles have no applies(): they judge every network.
    assert all(oracles.applies(name, arch) for name in ("torch", "jax", "finite-diff"))


def test_the_complex_step_refuses_a_network_it_does_not_apply_to():
    case = case_from_seed(Architecture.build([2, 3, 1], ["relu", "sigmoid"]), 2, 0)
    with pytest.raises(ValueError, match="analytic"):
        gradient_of("complex-step", case)


# ---------------------------------------------------------------- closed forms


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max(axis=0))
    return e / e.sum(axis=0)


def _closed_form(kind):
    """A case and its gradient written by hand: (case, nabla_b, nabla_w)."""
    if kind == "linear-quadratic":
        # C = (1/m) sum 1/2 |W x + b - y|^2 + (l2/2) |W|^2: grad_W = (W x + b - y) x^T / m + l2 W.
        case = case_from_seed(Architecture.build([3, 2], "linear", "quadratic", l2=0.1), 4, 1)
        output = case.weights[0] @ case.x + case.biases[0]
        l2_term = case.arch.l2 * case.weights[0]
    elif kind == "sigmoid-cross-entropy":
        # One sigmoid unit and the cross-entropy: delta = a - y, no sigma' (Nielsen ch. 3).
        case = case_from_seed(Architecture.build([3, 1], "sigmoid", "cross-entropy"), 5, 2)
        output = _sigmoid(case.weights[0] @ case.x + case.biases[0])
        l2_term = 0.0
    else:  # softmax with the log-likelihood: delta = a - y again
        case = case_from_seed(Architecture.build([3, 4], "softmax", "log-likelihood"), 3, 3)
        output = _softmax(case.weights[0] @ case.x + case.biases[0])
        l2_term = 0.0
    residual = (output - case.y) / case.m
    return case, [residual.sum(axis=1, keepdims=True)], [residual @ case.x.T + l2_term]


@pytest.mark.parametrize("name", INSTALLED)
@pytest.mark.parametrize("kind", ["linear-quadratic", "sigmoid-cross-entropy", "softmax-log-likelihood"])
def test_each_oracle_gives_the_closed_form_gradient(name, kind):
    case, nabla_b, nabla_w = _closed_form(kind)
    assert_agrees(case, nabla_b, nabla_w, gradient_of(name, case), kind)


@pytest.mark.parametrize("name", ["finite-diff", "complex-step"])
def test_the_numpy_oracles_are_exact_on_a_saturated_softmax_with_the_cross_entropy(name):
    # Two softmax units, z = (-15, 15): a_0 = sigma(-30) ~ 9e-14, and 1 - a_1 computed
    # from a rounded a_1 keeps 3 digits.  C depends on z_0 - z_1 alone, and
    # C = -(1 + y_0 - y_1) ln a_0 - (1 - y_0 + y_1) ln a_1 gives
    # dC/dz_0 = 2 a_0 - (1 + y_0 - y_1) = -dC/dz_1, exact with a_0 = sigma(-30).
    x, y = np.array([[1.0]]), np.array([[0.3], [0.6]])
    case = Case(Architecture.build([1, 2], "softmax", "cross-entropy"), (np.array([[-15.0], [15.0]]),),
                (np.zeros((2, 1)),), x, y)
    d0 = 2 * _sigmoid(-30.0) - (1 + y[0, 0] - y[1, 0])
    nabla_b = [np.array([[d0], [-d0]])]
    assert_agrees(case, nabla_b, [nabla_b[0] @ x.T], gradient_of(name, case))


# ---------------------------------------------------------------- agreement on drawn cases

MIXED = architectures(max_depth=3, max_width=5, batch_norm=True, modified_neuron=True)
ANALYTIC = architectures(max_depth=3, max_width=5, activations=complex_step.ANALYTIC, batch_norm=True,
                         modified_neuron=True)


@needs_torch
@settings(max_examples=40)
@given(cases(architectures=MIXED, max_batch=4))
def test_the_numpy_oracles_agree_with_autodiff_on_drawn_cases(case):
    exact = gradient_of("torch", case)
    # finite differences' error estimate is honest: |fd - exact| <= error + 2 E.
    assert_agrees(case, exact.nabla_b, exact.nabla_w, gradient_of("finite-diff", case))
    if complex_step.applies(case.arch):
        assert_agrees(case, exact.nabla_b, exact.nabla_w, gradient_of("complex-step", case))


@pytest.mark.skipif(not {"torch", "jax"} <= set(INSTALLED), reason="needs torch and jax")
@settings(max_examples=5)  # jax compiles each new architecture (~0.3 s)
@given(cases(architectures=MIXED, max_batch=4))
def test_jax_agrees_with_torch(case):
    exact = gradient_of("torch", case)
    assert_agrees(case, exact.nabla_b, exact.nabla_w, gradient_of("jax", case))


@needs_torch
@settings(max_examples=40)
@given(cases(architectures=ANALYTIC, max_batch=4))
def test_the_complex_step_is_within_its_stated_error(case):
    exact = gradient_of("torch", case)
    cs = gradient_of("complex-step", case)
    assert judge(case, exact.nabla_b, exact.nabla_w, cs).agrees
    # Entry by entry: torch within the running bound E of the exact gradient, the complex
    # step within COMPLEX_ROUNDINGS E (complex arithmetic's extra roundings), its stated error
    # (COMPLEX_ROUNDINGS - 1) E beyond the one E the comparison allows every oracle, and its
    # imaginary part's underflow (complex_step.underflow, ~1e-287: nothing at these scales).
    bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
    floor = complex_step.underflow(bound.operations)
    assert 0 < floor < 1e-280
    for ours, theirs, error, e in zip(cs.nabla_b + cs.nabla_w, exact.nabla_b + exact.nabla_w,
                                      cs.error_b + cs.error_w, bound.bound_b + bound.bound_w):
        assert np.array_equal(error, (complex_step.COMPLEX_ROUNDINGS - 1) * e + floor)
        assert np.all(np.abs(ours - theirs) <= (complex_step.COMPLEX_ROUNDINGS + 1) * e + 2 * precision.TINY)


@needs_torch
@settings(max_examples=30)
@given(cases(architectures=architectures(max_depth=3, max_width=5, modified_neuron=True), max_batch=4))
def test_finite_difference_errors_are_not_absurdly_loose(case):
    # Against the plain central difference D(h) computed here from whole forward
    # passes: its error |D(h) - exact| is about c h^2, which the estimate's truncation
    # part |D(h) - D(2h)| = 3 |c| h^2 overstates 3 times.  The rounding part is at most
    # (1.5 + 4 + 1 + 4) e_C / h with e_C = n u (|C| + T), n = max(sizes) * depth + m <= 19,
    # T the magnitude of the terms whose rounding enters C (finite_diff.cost_terms: |C|
    # alone is 0 for a one-unit softmax, whose ln a = ln 1 is still computed): 200 floors,
    # the floor u (|C| + T) / h being one ulp of the cost's terms over the step.  So
    # 1000 (D's error + floor) leaves room; batch normalisation is left out, as its
    # measured noise can be ~300 times larger (1 / sqrt(bn_epsilon)).
    exact = gradient_of("torch", case)
    fd = gradient_of("finite-diff", case)
    arch, weights, biases = case.arch, list(case.weights), list(case.biases)
    cost = abs(numpy_cost.cost(arch, weights, biases, case.x, case.y))
    cost += finite_diff.cost_terms(arch, weights, biases, np.asarray(case.x).T, np.asarray(case.y).T)
    groups = ((weights, exact.nabla_w, fd.error_w), (biases, exact.nabla_b, fd.error_b))
    for params, exact_values, errors in groups:
        for layer, own in enumerate(list(params)):
            for k in range(own.size):
                h = finite_diff.step_sizes(own.flat[k])
                costs = []
                for sign in (1, -1):
                    moved = own.copy()
                    moved.flat[k] += sign * h
                    params[layer] = moved
                    costs.append(numpy_cost.cost(arch, weights, biases, case.x, case.y))
                params[layer] = own
                central_error = abs((costs[0] - costs[1]) / (2 * h) - exact_values[layer].flat[k])
                assert errors[layer].flat[k] <= 1000 * (central_error + U * cost / h)


# ---------------------------------------------------------------- exhaustive mode


def test_exhaustive_finite_differences_estimate_every_entry_as_a_subset_does():
    arch = Architecture.build([12, 9, 4], ["tanh", "softmax"], "log-likelihood", l2=0.01,
                              batch_norm=[True, False])
    case = case_from_seed(arch, 5, 7)
    every = gradient_of("finite-diff", case)
    some = gradient_of("finite-diff", case, max_entries=40, seed=3)
    chosen = 0
    for full, part, full_error, part_error in zip(every.nabla_w + every.nabla_b, some.nabla_w + some.nabla_b,
                                                  every.error_w + every.error_b, some.error_w + some.error_b):
        assert np.all(np.isfinite(full)) and np.all(np.isfinite(full_error))
        known = ~np.isnan(part)
        chosen += known.sum()
        # Two estimates of the same derivative, each within its own error of it.
        assert np.all(np.abs(full[known] - part[known]) <= full_error[known] + part_error[known])
    assert chosen == 40


@settings(max_examples=40)
@given(cases(architectures=MIXED, max_batch=4), st.data())
def test_a_shifted_unit_costs_what_the_whole_forward_pass_says(case, data):
    # The probe engine recomputes only what a perturbation changes; the network run
    # from scratch with the perturbed parameter must give the same cost, up to
    # rounding.  e_C (finite_diff.cost_rounding_bound) models one evaluation's
    # rounding; the two routes also round the perturbation differently ((w + d) a
    # against w a + d a), which batch normalisation can magnify: 64 e_C, still
    # ~1e-13 |C|, far below what a wrong unit, example or layer changes (~|d| |dC|).
    arch, m = case.arch, case.m
    weights, biases = [np.array(w) for w in case.weights], [np.array(b) for b in case.biases]
    trace = numpy_cost.Trace(arch, weights, biases, case.x.T)
    layer = data.draw(st.integers(0, arch.depth - 1), label="layer")
    is_weight = data.draw(st.booleans(), label="is_weight")
    params = weights if is_weight else biases
    k = data.draw(st.integers(0, params[layer].size - 1), label="entry")
    delta = data.draw(st.sampled_from([1e-5, -2e-5, 0.25, -1.0]), label="delta")
    units, shifts = trace.unit_shifts(layer, is_weight, np.array([k]), np.array([delta]))
    shifted = trace.shifted_costs(layer, units, shifts, case.y.T)[0]
    moved = params[layer].copy()
    moved.flat[k] += delta
    params[layer] = moved
    a_out = numpy_cost.forward_from(arch, 0, case.x.T, weights, biases)
    direct = numpy_cost.data_cost(arch, a_out, case.y.T)
    noise = finite_diff.measured_noise(arch, weights, biases, case.x.T, case.y.T)
    e_c = finite_diff.cost_rounding_bound(arch, max(abs(direct), abs(shifted)), m, noise)
    assert abs(shifted - direct) <= 64 * e_c


# ---------------------------------------------------------------- kinks: the estimator alone

H = 2.0**-10  # any step: the estimator is scale-free; this one keeps h^2 truncation visible


def _stencil(f, noise):
    """f at 0 and at (+h, -h, +2h, -2h), each moved by one sign pattern of noise."""
    k = np.array([0.0, 1.0, -1.0, 2.0, -2.0])
    samples = np.array([f(k * H) + noise * np.array(signs) for signs in itertools.product((-1, 1), repeat=5)])
    return samples[:, 0], samples[:, 1:]


@pytest.mark.parametrize("noise", [0.0, 1e-7, 1e-5])  # from none to a kink's own size, g h ~ 1e-3
@pytest.mark.parametrize("gap", [1.0, -0.3])
def test_the_estimate_is_honest_wherever_one_kink_sits(noise, gap):
    # f = smooth + gap * max(x - t, 0): slope jumps by gap at t.  Every position of
    # the kink across and beyond the stencil, every worst-case sign of the rounding:
    # the truth must lie within the error of the value (both one-sided slopes at t = 0).
    slope = 2 * np.cos(0.3)
    for t in np.append(np.linspace(-3 * H, 3 * H, 97), [0.0, 1e-12, -1e-12]):
        centre, costs = _stencil(lambda x, t=t: 2 * np.sin(x + 0.3) + gap * np.maximum(x - t, 0.0), noise)
        value, error, _ = finite_diff.estimate(centre, costs, H, noise)
        truths = [slope, slope + gap] if t == 0 else [slope + (gap if t < 0 else 0.0)]
        for truth in truths:
            assert np.all(np.abs(value - truth) <= error), (t / H, truth)


def test_a_kink_at_the_point_is_detected_and_its_interval_holds_both_slopes():
    centre, costs = _stencil(lambda x: 0.5 * x + 1.5 * np.maximum(x, 0.0) + x * x, 1e-9)
    value, error, kink = finite_diff.estimate(centre, costs, H, 1e-9)
    assert np.all(kink)
    assert np.all((value - error <= 0.5) & (2.0 <= value + error))


def test_rounding_alone_never_looks_like_a_kink():
    # A cubic has no fourth difference: |Q| is the rounding alone, at most
    # 16 * 0.99 e_C < 16 e_C, the detection threshold.
    e_c = 1e-6
    centre, costs = _stencil(lambda x: 1.0 + 0.7 * x - 3 * x**2 + 5 * x**3, 0.99 * e_c)
    value, error, kink = finite_diff.estimate(centre, costs, H, e_c)
    assert not np.any(kink)
    assert np.all(np.abs(value - 0.7) <= error)
    # Where the architecture rules kinks out, nothing is tested and no margin added.
    value, smooth_error, kink = finite_diff.estimate(centre, costs, H, e_c, kinks=False)
    assert not np.any(kink) and np.all(smooth_error < error)
    assert np.all(np.abs(value - 0.7) <= smooth_error)


# ---------------------------------------------------------------- kinks in networks


def _one_relu_unit(z, activation="relu"):
    """[2, 1] with weighted input exactly z (dyadic numbers: no rounding anywhere),
    the quadratic cost, y = 0.75; with the one-sided gradients (left, right)."""
    x = np.array([[0.5], [-0.25]])
    w = np.array([[0.5, 1.0]])
    case = Case(Architecture.build([2, 1], activation), (w,), (np.array([[z]]),), x, np.array([[0.75]]))
    slope = 0.01 if activation == "leaky_relu" else 0.0  # Architecture.leaky_slope
    a = z if z > 0 else slope * z
    sides = []
    for derivative in (slope, 1.0):  # sigma' left and right of 0
        delta = (a - 0.75) * derivative
        sides.append(([np.array([[delta]])], [delta * x.T]))
    return case, sides


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_relu_exactly_at_zero_accepts_either_one_sided_derivative(activation):
    case, (left, right) = _one_relu_unit(0.0, activation)
    fd = gradient_of("finite-diff", case)
    for candidate in (left, right):  # relu'(0) = 0 as torch, or 1 as another implementation
        assert_agrees(case, *candidate, fd)
        # ... because the interval itself holds both slopes, beyond any rounding allowance.
        for value, error, slope in zip(fd.nabla_b + fd.nabla_w, fd.error_b + fd.error_w, [*candidate[0],
                                                                                          *candidate[1]]):
            assert np.all(np.abs(value - slope) <= error)
    # And no wider than that: half the gap plus the one-sided truncation |C''| h / 2,
    # |C''| <= 1 here (C = (relu(z) - y)^2 / 2, dz/dtheta = 1, 0.5 or -0.25): 1e-5 covers it.
    for error, one, other in zip(fd.error_b + fd.error_w, [*left[0], *left[1]], [*right[0], *right[1]]):
        assert np.all(error <= np.abs(one - other) / 2 + 1e-5)
    for name in INSTALLED:
        if oracles.applies(name, case.arch) and name != "finite-diff":
            g = gradient_of(name, case)  # an autodiff oracle picks one side: FD accepts it
            assert_agrees(case, g.nabla_b, g.nabla_w, fd, name)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("z", [-1.0, -0.3, -1e-4, 1e-4, 0.3, 1.0])
def test_a_wrong_relu_derivative_away_from_zero_is_a_bug(activation, z):
    # |z| >= 1e-4 is far outside the stencil (2 h |x| <= 2 * 6.1e-6), so no kink widens
    # the interval: the right side is accepted, the wrong one rejected.
    case, (left, right) = _one_relu_unit(z, activation)
    correct, wrong = (right, left) if z > 0 else (left, right)
    fd = gradient_of("finite-diff", case)
    assert_agrees(case, *correct, fd)
    assert not judge(case, *wrong, fd).agrees


def _two_layer_gradient(case, relu_prime):
    """Backprop by hand for [n0, n1, n2] with relu then linear, quadratic cost."""
    (w1, w2), (b1, b2) = case.weights, case.biases
    z1 = w1 @ case.x + b1
    a1 = np.maximum(z1, 0.0)
    delta2 = (w2 @ a1 + b2 - case.y) / case.m
    delta1 = (w2.T @ delta2) * relu_prime(z1)
    return ([delta1.sum(axis=1, keepdims=True), delta2.sum(axis=1, keepdims=True)],
            [delta1 @ case.x.T, delta2 @ a1.T])


@settings(max_examples=40)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_a_relu_derivative_on_the_wrong_side_is_always_caught(n0, n1, n2, m, seed):
    case = case_from_seed(Architecture.build([n0, n1, n2], ["relu", "linear"]), m, seed)
    correct = _two_layer_gradient(case, lambda z: (z > 0).astype(float))
    wrong = _two_layer_gradient(case, lambda z: (z < 0).astype(float))
    fd = gradient_of("finite-diff", case)
    assert_agrees(case, *correct, fd)
    # The wrong side changes nabla by whole terms of order one; 1e-6 is far above the
    # finite differences' error (~1e-9, see finite_diff) and far below such a term.
    moved = max(np.max(np.abs(c - w)) for c, w in zip(correct[0] + correct[1], wrong[0] + wrong[1]))
    if moved > 1e-6:
        assert not judge(case, *wrong, fd).agrees


@needs_torch
@settings(max_examples=25)
@given(cases(architectures=architectures(max_depth=3, max_width=5, activations=("relu", "leaky_relu", "tanh"),
                                         modified_neuron=True), max_batch=4), st.data())
def test_a_drawn_network_with_a_unit_exactly_at_zero_is_never_a_bug(case, data):
    # A first-layer unit whose weighted input is exactly 0 for the first example:
    # x[:, 0] = 0 and that unit's bias 0 make z = 0 whatever the summation order.
    unit = data.draw(st.integers(0, case.arch.sizes[1] - 1), label="unit")
    x = np.array(case.x)
    x[:, 0] = 0.0
    biases = [np.array(b) for b in case.biases]
    biases[0][unit] = 0.0
    at_kink = Case(case.arch, case.weights, biases, x, case.y)
    fd = gradient_of("finite-diff", at_kink)
    torch_side = gradient_of("torch", at_kink)  # torch's choice of relu'(0) (0 for relu)
    assert_agrees(at_kink, torch_side.nabla_b, torch_side.nabla_w, fd, "torch's side")
    # The other side: torch a hair to the right, z = 2^-60 > 0, where the cost is smooth:
    # off from the right-sided derivative by ~2^-60 |C''|, below any rounding allowance.
    biases[0][unit] = 2.0**-60
    other = gradient_of("torch", Case(case.arch, case.weights, biases, x, case.y))
    assert_agrees(at_kink, other.nabla_b, other.nabla_w, fd, "the other side")
    # Only b[0][unit] moves that z (x[:, 0] = 0 stills the weights'); every other entry
    # keeps its usual error, n u |C| / h * 10.5 ~ 5e-9 (1 + |C|) (n <= 19): the kink
    # must not pass for noise and loosen them all.  1e-6 is far above, far below a bug.
    cost = abs(numpy_cost.cost(at_kink.arch, at_kink.weights, at_kink.biases, at_kink.x, at_kink.y))
    fd.error_b[0][unit] = 0.0
    assert max(np.max(e) for e in fd.error_b + fd.error_w) <= 1e-6 * (1 + cost)


# ---------------------------------------------------------------- inputs are never written


@pytest.mark.parametrize("name", INSTALLED)
def test_no_oracle_writes_into_its_inputs(name):
    arch = Architecture.build([3, 4, 2], ["tanh", "softmax"], "cross-entropy", l2=0.1,
                              batch_norm=[True, False])
    case = case_from_seed(arch, 3, 11)
    arrays = (list(case.weights), list(case.biases), case.x, case.y)
    # Read-only arrays: a write raises.  Writable copies: a write would show.
    gradient_of(name, case)
    writable = ([w.copy() for w in case.weights], [b.copy() for b in case.biases],
                case.x.copy(), case.y.copy())
    oracles.load(name).gradient(arch, *writable)
    for original, copy in zip(arrays, writable):
        for a, b in zip(original if isinstance(original, list) else [original],
                        copy if isinstance(copy, list) else [copy]):
            assert not a.flags.writeable
            assert np.array_equal(a, b)


@pytest.mark.parametrize("shape", [(3, 5), (40, 1000), (9000, 1)])  # one block, many, one column
def test_abs_products_in_blocks_equal_the_whole_abs_matrix(shape):
    # Each result is a sum of n non-negative terms (n = n_in, or n_out for the transposed
    # product), which any order of summation gets to within gamma_n ~ n u relative of the
    # exact sum (Higham 3.1): the blocked and the whole computations within 2 n u.
    from gradcert.oracles.base import abs_row_sums, abs_times

    rng = np.random.default_rng(1)
    w = rng.standard_normal(shape)
    right, left = rng.random((shape[1], 3)), rng.random((shape[0], 3))
    n_out, n_in = shape
    assert np.allclose(abs_times(w, right), np.abs(w) @ right, rtol=2 * n_in * U, atol=0)
    assert np.allclose(abs_times(w, left, transposed=True), np.abs(w).T @ left, rtol=2 * n_out * U, atol=0)
    assert np.allclose(abs_row_sums(w), np.abs(w).sum(axis=1), rtol=2 * n_in * U, atol=0)


# ---------------------------------------------------------------- the precision table


def test_the_precision_table_is_each_dtypes_own():
    for t in (np.float16, np.float32, np.float64, np.longdouble):
        assert precision.unit_roundoff(t) == float(np.finfo(t).eps) / 2
        assert precision.dtype_of_roundoff(precision.unit_roundoff(t)) == np.dtype(t)
    assert precision.unit_roundoff(np.float64) == 2.0**-53 == precision.UNIT_ROUNDOFF
    assert precision.smallest_normal(np.float32) == 2.0**-126
    assert precision.unit_roundoff(np.int64) == precision.UNIT_ROUNDOFF  # not a float: float64's
    assert precision.gamma(10) == 10 * U / (1 - 10 * U)


# ---------------------------------------------------------------- the activation table

GRID = np.concatenate([np.linspace(-30.0, 30.0, 241), [-1e-3, 1e-3]])


def test_the_activation_table_covers_every_activation_in_every_framework():
    assert set(activations.TABLE) == set(ACTIVATIONS)
    assert set(activations.PIECEWISE) | set(activations.ANALYTIC) == set(ACTIVATIONS)
    assert set(rounding.CURVATURE) == set(ACTIVATIONS)
    for name, cls in activations.TABLE.items():
        assert cls.name == name and cls.curvature >= 0
        for fact in ("numpy", "torch", "jax", "derivative_terms"):
            assert callable(getattr(cls, fact)), (name, fact)
    assert [n for n, c in activations.TABLE.items() if c.coupled] == ["softmax"]
    assert set(activations.PIECEWISE) == {"relu", "leaky_relu"}


def _columns(rng):
    """z of 4 units x 5 examples, columns of examples, with a zero and large entries."""
    z = 4 * rng.standard_normal((4, 5))
    z[0, 0], z[1, 1], z[2, 2] = 0.0, 25.0, -25.0
    return z


@pytest.mark.parametrize("framework", [n for n in ("torch", "jax") if n in INSTALLED])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_framework_defines_every_activation_alike(framework, name):
    # Each definition is a few correctly rounded elementary operations on z (exp, log1p,
    # a division, a sum over at most 4 units): 32 u relative to |a| + 1 is far above the
    # rounding of any of them, and far below a different function.
    z = _columns(np.random.default_rng(0))
    cls = activations.get(name)
    expected = cls.numpy(z.T, LEAKY_SLOPE).T  # the NumPy form works on rows
    if framework == "torch":
        import torch

        got = cls.torch(torch, torch.tensor(z), LEAKY_SLOPE, torch.tensor(0.0, dtype=torch.float64)).numpy()
    else:
        from gradcert.oracles import jax_grad

        got = np.asarray(cls.jax(jax_grad._jax(), jax_grad._jax().numpy.asarray(z), LEAKY_SLOPE))
    assert np.all(np.abs(got - expected) <= 32 * U * (np.abs(expected) + 1)), (got, expected)


@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n != "softmax"])
def test_each_elementwise_activations_facts_hold(name):
    cls = activations.get(name)
    h = 2.0**-20
    ahead, behind, here = (cls.numpy(GRID + s, LEAKY_SLOPE) for s in (h, -h, 0.0))
    slope = (ahead - behind) / (2 * h)
    # piecewise: the one-sided slopes at 0 differ (by the kink's jump, ~1); analytic: they agree
    # to the central difference's own error (~h |sigma''| + u / h ~ 1e-6).
    right = (cls.numpy(h, LEAKY_SLOPE) - cls.numpy(0.0, LEAKY_SLOPE)) / h
    left = (cls.numpy(0.0, LEAKY_SLOPE) - cls.numpy(-h, LEAKY_SLOPE)) / h
    assert (abs(right - left) > 0.5) == cls.piecewise
    if cls.analytic():  # written for complex arguments too: the complex step is its derivative
        exact = (cls.numpy(GRID + 1j * 2.0**-64, LEAKY_SLOPE)).imag / 2.0**-64
        assert np.allclose(exact, slope, rtol=1e-6, atol=1e-9)
        # curvature: |sigma''| <= curvature |sigma'|, sigma'' by a central difference of the
        # exact slope (its error ~1e-9 |sigma'| here: a 1e-6 relative allowance covers it)
        step = 2.0**-16
        second = ((cls.numpy(GRID + step + 1j * 2.0**-64, LEAKY_SLOPE)).imag
                  - (cls.numpy(GRID - step + 1j * 2.0**-64, LEAKY_SLOPE)).imag) / (2.0**-64 * 2 * step)
        assert np.all(np.abs(second) <= (cls.curvature + 1e-6) * np.abs(exact) + 1e-300), name
        assert cls.curvature == 0 or np.max(np.abs(second) / np.maximum(np.abs(exact), 1e-300)) > 0.3 * \
            cls.curvature  # and not loose beyond a small factor
    else:
        assert cls.curvature == 0.0  # linear on either side of its kink
    # the terms sigma' is computed from are at least as large as sigma' itself
    away = np.abs(GRID) > 2 * h
    assert np.all(cls.derivative_terms(GRID, here, LEAKY_SLOPE)[away] >= np.abs(slope[away]) * (1 - 1e-6))


def test_softmaxs_facts_hold():
    cls = activations.get("softmax")
    rng = np.random.default_rng(3)
    z = 3 * rng.standard_normal((6, 5))  # rows: 6 examples of 5 units
    a = cls.numpy(z, LEAKY_SLOPE)
    assert np.allclose(a.sum(axis=-1), 1.0, rtol=0, atol=8 * U)
    # complex-capable: the complex step of one unit's input is the Jacobian's column a (e_k - a_k)
    dz = np.zeros_like(z, dtype=complex)
    dz[:, 2] = 1j * 2.0**-64
    column = cls.numpy(z + dz, LEAKY_SLOPE).imag / 2.0**-64
    expected = -a * a[:, 2:3]
    expected[:, 2] += a[:, 2]
    assert np.allclose(column, expected, rtol=1e-12, atol=1e-300)
    # derivative_terms bounds the Jacobian's diagonal a (1 - a)
    assert np.all(cls.derivative_terms(z, a, LEAKY_SLOPE) >= a * (1 - a))


@pytest.mark.parametrize("name", oracles.NAMES)
def test_every_oracle_offers_the_gradient_and_slopes(name):
    module = oracles.load(name)
    assert module.NAME == name
    for function in ("available", "gradient", "slopes"):
        assert callable(getattr(module, function)), (name, function)
