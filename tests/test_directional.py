"""The directional mode: dot-product tests against forward-mode AD, and the Taylor test."""

import math
import warnings

import numpy as np
import pytest
from gradcert.oracles.rounding import rounding_bound
from gradcert.properties import strategies
from gradcert.properties.directional import directions
from gradcert.properties.directional.check import directional_check
from gradcert.reference import Architecture
from hypothesis import given

from gradcert import oracles

AD_ORACLES = [name for name in ("torch", "jax") if name in oracles.installed()]


def backprop(case):
    with warnings.catch_warnings():  # a saturated drawn case may warn; the gradient is still the gradient
        warnings.simplefilter("ignore")
        return case.network().backprop(case.x, case.y)


def nielsen_case(m=10, seed=0):
    return strategies.case_from_seed(Architecture.build([784, 30, 10]), m, seed)


def copy(gradient):
    nabla_b, nabla_w = gradient
    return [b.copy() for b in nabla_b], [w.copy() for w in nabla_w]


# ---- a right gradient passes -------------------------------------------------------------------

@given(strategies.cases(architectures=strategies.architectures(batch_norm=True, modified_neuron=True),
                        max_batch=5))
def test_the_reference_gradient_passes_on_drawn_cases(case):
    result = directional_check(case, backprop(case))
    # "cannot-check" is the specified answer where a ReLU sits on its kink along every
    # direction, and only then: a dead ReLU layer before batch normalisation makes all
    # examples equal, BN's zero variance scales their last-bit differences (BLAS rounds
    # rows differently) up to ~1e-14, and a ReLU after it sits there, on its kink in all
    # but name (found with --hypothesis-seed=11 under the thorough profile).
    on_kink = all(r.kink for r in result.records)
    assert result.verdict == "pass" or (result.verdict == "cannot-check" and on_kink), \
        f"{case!r}\n{result.describe()}"


@pytest.mark.parametrize("oracle", ["complex-step", *AD_ORACLES, "finite-diff"])
def test_every_oracle_route_passes_the_reference_and_catches_a_sign_flip(oracle):
    arch = Architecture.build([6, 5, 4], ["tanh", "softmax"], "log-likelihood", l2=0.1)
    case = strategies.case_from_seed(arch, 3, 11)
    gradient = backprop(case)
    result = directional_check(case, gradient, oracle=oracle)
    assert result.agrees, result.describe()
    assert result.oracle == oracle
    wrong = copy(gradient)
    sign_flip(wrong)
    assert directional_check(case, wrong, oracle=oracle).verdict == "bug"


def test_gaussian_directions_work_too():
    case = nielsen_case(m=2)
    assert directional_check(case, backprop(case), distribution="gaussian").agrees


def test_a_network_of_100k_parameters_is_checked_in_seconds():
    arch = Architecture.build([300, 300, 30])  # 99,330 parameters
    case = strategies.case_from_seed(arch, 10, 0)
    gradient = backprop(case)
    result = directional_check(case, gradient)
    assert result.agrees, result.describe()
    assert result.seconds < 10, f"{result.seconds:.1f} s"  # ~0.05 s here; the 1M timing is in benchmarks/
    wrong = copy(gradient)
    wrong[1][0] *= 1 + 1e-3
    assert directional_check(case, wrong).verdict == "bug"


# ---- a wrong gradient fails ---------------------------------------------------------------------

def sign_flip(g):
    g[1][0] = -g[1][0]


def missing_factor(g):  # forgot to divide by the batch size m = 10
    g[0][:] = [10 * b for b in g[0]]
    g[1][:] = [10 * w for w in g[1]]


def last_layer_zeroed(g):
    g[0][-1][:] = 0
    g[1][-1][:] = 0


def first_layer_zeroed(g):
    g[0][0][:] = 0
    g[1][0][:] = 0


# The complex step (the default), torch and finite differences; JAX's route is the same test on
# one mutant, in test_every_oracle_route_passes_the_reference_and_catches_a_sign_flip (each JAX
# compile costs ~0.5 s).
@pytest.mark.parametrize("oracle", ["complex-step", *[n for n in ("torch",) if n in oracles.installed()],
                                    "finite-diff"])
@pytest.mark.parametrize("mutate", [sign_flip, missing_factor, last_layer_zeroed, first_layer_zeroed])
def test_a_wrong_gradient_fails(mutate, oracle):
    case = nielsen_case()
    gradient = copy(backprop(case))
    mutate(gradient)
    result = directional_check(case, gradient, oracle=oracle)
    assert result.verdict == "bug", result.describe()


@pytest.mark.parametrize("tensor", ["nabla_b[0]", "nabla_w[0]", "nabla_b[1]", "nabla_w[1]"])
def test_a_relative_error_of_1e_3_in_one_tensor_fails_on_that_tensors_direction(tensor):
    case = nielsen_case()
    nabla_b, nabla_w = copy(backprop(case))
    kind, layer = tensor[:7], int(tensor[8])
    target = (nabla_b if kind == "nabla_b" else nabla_w)[layer]
    target *= 1 + 1e-3
    result = directional_check(case, (nabla_b, nabla_w))
    statuses = {r.label: r.status for r in result.records}
    assert statuses[f"{tensor} along g"] == "bug", result.describe()
    assert all(s == "pass" for label, s in statuses.items()
               if label.startswith("nabla") and not label.startswith(tensor)), result.describe()


def test_a_single_wrong_entry_is_found_by_its_tensors_direction():
    # 1e-4 relative in the largest entry of nabla_w[1] (300 entries) of [784, 30, 10]:
    # the per-tensor direction sees it although the projection sums 300 rounding bounds.
    case = nielsen_case()
    nabla_b, nabla_w = copy(backprop(case))
    index = np.unravel_index(np.argmax(np.abs(nabla_w[1])), nabla_w[1].shape)
    nabla_w[1][index] *= 1 + 1e-4
    result = directional_check(case, (nabla_b, nabla_w))
    assert {r.label: r.status for r in result.records}["nabla_w[1]"] == "bug", result.describe()


def test_nan_in_the_candidate_is_a_bug():
    case = nielsen_case(m=1)
    nabla_b, nabla_w = copy(backprop(case))
    nabla_b[1][3, 0] = np.nan
    assert directional_check(case, (nabla_b, nabla_w), taylor=False).verdict == "bug"


# ---- the Taylor test ---------------------------------------------------------------------------

def test_taylor_rates_approach_2_for_the_right_gradient():
    case = nielsen_case()
    result = directional_check(case, backprop(case))
    for record in result.taylor:
        assert record.status == "pass", result.describe()
        assert abs(record.rate - 2) < 0.05, result.describe()


@pytest.mark.parametrize("mutate", [sign_flip, missing_factor])
def test_taylor_rates_approach_1_for_a_wrong_gradient(mutate):
    case = nielsen_case()
    gradient = copy(backprop(case))
    mutate(gradient)
    result = directional_check(case, gradient, per_tensor=False, along_g=False)
    for record in result.taylor:
        assert record.status == "bug", result.describe()
        assert abs(record.rate - 1) < 0.05, result.describe()


def test_the_odd_and_even_parts_confirm_a_wrong_slope():
    case = nielsen_case()
    gradient = copy(backprop(case))
    sign_flip(gradient)
    for record in directional_check(case, gradient, per_tensor=False, along_g=False).taylor:
        assert abs(record.odd_rates[-1] - 1) < 0.05 and abs(record.even_rates[-1] - 2) < 0.05


def test_a_cost_bending_faster_than_the_steps_is_cannot_check_not_a_bug():
    # Batch normalisation over two examples: the normalised z is nearly +-1, a smoothed
    # step, and at the Taylor steps the right gradient's residual shrinks like h.
    arch = Architecture.build([1, 3, 8, 1], ["linear", "sigmoid", "linear"], batch_norm=[True, True, False])
    case = strategies.case_from_seed(arch, 2, 7)  # one of many such seeds (7, 8, 12, 38, ...)
    result = directional_check(case, backprop(case), taylor=4)  # along every global direction
    assert result.verdict == "pass", result.describe()
    assert any(t.rate is not None and t.rate < 1.8 and t.status == "cannot-check" for t in result.taylor)


def test_the_taylor_test_alone_needs_no_oracle_and_no_tolerance():
    # The rates come from the cost alone: the same for every oracle.
    case = nielsen_case(m=2)
    gradient = backprop(case)
    only_global = {"per_tensor": False, "along_g": False}
    rates = {name: directional_check(case, gradient, oracle=name, **only_global).taylor_rates
             for name in ["complex-step", *AD_ORACLES, "finite-diff"]}
    assert len({repr(r) for r in rates.values()}) == 1


# ---- kinks, inputs, arguments ------------------------------------------------------------------

def test_a_relu_unit_exactly_at_its_kink_is_cannot_check_not_a_bug():
    arch = Architecture.build([2, 3, 1], ["relu", "linear"])
    case = strategies.case_from_seed(arch, 1, 0)
    weights, biases = [np.array(w) for w in case.weights], [np.array(b) for b in case.biases]
    biases[0][1, 0] = -(weights[0][1] @ case.x[:, 0])  # unit 1 of layer 0: z = 0 exactly
    at_kink = strategies.Case(arch, weights, biases, case.x, case.y)
    result = directional_check(at_kink, backprop(at_kink))
    assert result.verdict != "bug", result.describe()
    assert any(r.status == "cannot-check" for r in result.records)


def test_nothing_passed_in_is_modified():
    case = nielsen_case(m=2)
    gradient = backprop(case)
    before = copy(gradient)
    directional_check(case, gradient)
    for now, then in zip([*gradient[0], *gradient[1]], [*before[0], *before[1]]):
        assert np.array_equal(now, then)


@pytest.mark.parametrize("kwargs, message", [
    ({"directions": 0}, "directions"),
    ({"oracle": "sympy"}, "oracle"),
    ({"distribution": "uniform"}, "distribution"),
    ({"taylor": -1}, "taylor"),
    ({"taylor": 0.5}, "taylor"),
])
def test_bad_arguments_are_refused(kwargs, message):
    case = nielsen_case(m=1)
    with pytest.raises(ValueError, match=message):
        directional_check(case, backprop(case), **kwargs)


def test_a_gradient_of_the_wrong_shape_is_refused():
    case = nielsen_case(m=1)
    nabla_b, nabla_w = backprop(case)
    with pytest.raises(ValueError, match=r"nabla_w\[0\] has shape \(784, 30\)"):
        directional_check(case, (nabla_b, [nabla_w[0].T, nabla_w[1]]))


def test_directions_are_mixed_sign_and_per_tensor():
    case = nielsen_case(m=1)
    theta = directions.Parameters(list(case.biases), list(case.weights))
    nabla_b, nabla_w = backprop(case)
    candidate = directions.Parameters(nabla_b, nabla_w)
    drawn = directions.Directions(theta, 3, 0, "rademacher", True, candidate)
    tensors = ["nabla_b[0]", "nabla_w[0]", "nabla_b[1]", "nabla_w[1]"]
    assert drawn.labels == ["global 0", "global 1", "global 2",
                            *[label for t in tensors for label in (t, f"{t} along g")]]
    for k, label in enumerate(drawn.labels):
        d = drawn.direction(k)
        entries = np.concatenate([t.ravel() for _, _, t in d.tensors() if t is not None])
        assert (entries > 0).any() and (entries < 0).any(), label
        support = [name for name, _, t in d.tensors() if t is not None]
        assert support == ([label.split()[0]] if label.startswith("nabla") else tensors)
        if label.endswith("along g"):
            own = dict(zip(tensors, [t for _, _, t in candidate.tensors()]))[support[0]]
            assert np.array_equal(np.sign(entries), np.sign(own.ravel()))
    tiny = directions.Parameters([np.ones((1, 1))], [np.ones((1, 1))])
    drawn = directions.Directions(tiny, 20, 0, "rademacher", False, None, along_g=False)
    for k in range(20):
        assert sorted(t[0, 0] > 0 for _, _, t in drawn.direction(k).tensors()) == [False, True]


# ---- the complex-step oracle, rank-one directions, the factored rounding bound --------------------

@pytest.mark.skipif("torch" not in AD_ORACLES, reason="compares against torch's forward mode")
@given(strategies.cases(max_batch=4, architectures=strategies.architectures(
    batch_norm=True, modified_neuron=True, l2=True)))
def test_the_complex_step_agrees_with_torch_forward_mode(case):
    # Same seed, same directions.  Each oracle is within its share of the record's
    # tolerance of the exact projection (gamma sum |d_i| M_i, plus the complex step's
    # extra roundings), so the two are within the tolerance of each other.
    gradient = backprop(case)
    complex_step = directional_check(case, gradient, oracle="complex-step", taylor=0)
    forward_mode = directional_check(case, gradient, oracle="torch", taylor=0)
    for ours, theirs in zip(complex_step.records, forward_mode.records):
        if ours.status == "cannot-check" or theirs.kink:
            continue
        assert abs(ours.oracle - theirs.oracle) <= ours.tolerance, f"{case!r}\n{complex_step.describe()}"


def big_case(m=3):
    return strategies.case_from_seed(Architecture.build([300, 300, 30]), m, 5)  # nabla_w[0]: 90,000 entries


def test_big_weight_matrices_get_rank_one_mixed_sign_directions():
    case = big_case()
    theta = directions.Parameters(list(case.biases), list(case.weights))
    nabla_b, nabla_w = backprop(case)
    candidate = directions.Parameters(nabla_b, nabla_w)
    drawn = directions.Directions(theta, 3, 0, "rademacher", True, candidate)
    random, along_g = drawn.groups[1]  # on nabla_w[0]: the random directions, then the one along g
    assert along_g.along_g and not along_g.rank_one and along_g.owners == (drawn.labels.index(
        "nabla_w[0] along g"),)
    assert random.rank_one and len(random.owners) == 4  # 3 global and nabla_w[0]'s own
    for r, k in enumerate(random.owners):
        d = drawn.direction(k).weights[0]
        assert np.array_equal(d, np.outer(random.us[r], random.vs[r]))
        assert set(np.unique(np.abs(d))) == {drawn.scales[1]}, drawn.labels[k]  # every entry +-scale
        assert (d > 0).any() and (d < 0).any(), drawn.labels[k]
    # <g, d> from the factors is <g, d> of the formed matrix, within the bound it reports
    for k, (value, error) in enumerate(drawn.candidate_dots(candidate)):
        dense = drawn.direction(k)
        exact = math.fsum(float(x) for g, d in zip(candidate.tensors_list, [t for _, _, t in dense.tensors()])
                          if d is not None for x in (g * d).ravel())
        assert abs(value - exact) <= error, drawn.labels[k]


def test_a_rank_one_direction_still_sees_an_error_in_one_tensor():
    case = big_case()
    nabla_b, nabla_w = copy(backprop(case))
    nabla_w[0] *= 1 + 1e-3
    result = directional_check(case, (nabla_b, nabla_w))
    statuses = {r.label: r.status for r in result.records}
    assert statuses["nabla_w[0] along g"] == "bug", result.describe()  # ~1000x its tolerance
    # the random rank-one directions too: 3 of the 5 here (at 1.1-3.2x their tolerance)
    assert any(statuses[label] == "bug" for label in ("global 0", "global 1", "global 2", "global 3",
                                                       "nabla_w[0]")), result.describe()


def test_the_factored_rounding_bound_sums_as_the_formed_matrix():
    arch = Architecture.build([5, 4, 3], ["tanh", "sigmoid"], "cross-entropy", l2=0.3)
    case = strategies.case_from_seed(arch, 3, 2)
    bound = rounding_bound(arch, case.weights, case.biases, case.x, case.y)
    rng = np.random.default_rng(0)
    for layer, matrix in enumerate(bound.magnitude_w):
        left, right = rng.random(matrix.shape[0]), rng.random(matrix.shape[1])
        dense = rng.random(matrix.shape)
        # Both sides sum the same non-negative terms in another order: a relative 1e-12
        # is 4,500 ulps, far above the rounding of a few dozen terms.
        assert bound.weighted_sum(layer, left, right) == pytest.approx(left @ matrix @ right, rel=1e-12)
        assert bound.weighted_sum(layer, None, None, dense=dense) == pytest.approx(
            float(np.sum(dense * matrix)), rel=1e-12)


def test_a_gradient_that_underflows_is_no_false_alarm_and_the_allowance_is_tiny():
    # Found by the thorough soak (2026-12-02): at x16 saturation a softplus output's unit
    # direction projected a correct gradient of -1.03e-315 (subnormal) against the complex
    # step's 0.0, with a tolerance of exactly 0 -- a false alarm.  Gradual underflow gets the
    # allowance properties.compare already gives entry by entry (tolerances.underflow), and the
    # complex step its own (complex_step.underflow: a subnormal imaginary part, ~4e-289 a rounding)...
    from gradcert.properties.strategies import case_from_seed
    from gradcert.reference import Architecture

    arch = Architecture.build([2, 6, 6, 4], ["softplus", "relu", "softplus"], "quadratic")
    case = case_from_seed(arch, 1, 143, scale=16.0)
    nabla_b, nabla_w = case.network().backprop(case.x, case.y)
    result = directional_check(case, (nabla_b, nabla_w), seed=0, taylor=4, units="all")
    assert result.verdict == "pass", result.describe()
    # ... and no more: an error of 1e-280 in one output weight is still caught.
    nabla_w = [w.copy() for w in nabla_w]
    nabla_w[2][3, 0] += 1e-280
    assert directional_check(case, (nabla_b, nabla_w), seed=0, taylor=4, units="all").verdict == "bug"
