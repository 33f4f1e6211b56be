"""Comparisons that say what is true: relative errors of the values, kinks named, and an
oracle value that could not be computed is "cannot check", never agreement."""

from __future__ import annotations

import numpy as np
import pytest
from gradcert.oracles import finite_diff
from gradcert.oracles.base import OracleGradient
from gradcert.oracles.rounding import rounding_bound
from gradcert.properties.certify import assert_gradient, judge
from gradcert.properties.compare import Comparison, compare, compare_tensor
from gradcert.properties.errors import CannotCheck, GradientMismatch
from gradcert.properties.strategies import Case, case_from_seed
from gradcert.reference.architecture import Architecture

GAMMA = 1e-14  # any rounding scale: these tests read what compare reports, not its tolerance


def test_the_relative_error_is_relative_to_the_tensors_largest_value():
    oracle = np.array([[10.0, 0.2], [-4.0, 1.0]])
    candidate = oracle.copy()
    candidate[0, 1] *= 1.05  # 5 % off an entry fifty times smaller than the largest
    t = compare_tensor("nabla_w[0]", 0, candidate, oracle, np.zeros_like(oracle), np.abs(oracle) * 1e3, GAMMA)
    assert t.max_rel_error == pytest.approx(0.01 / 10.0)
    assert t.max_abs_error == pytest.approx(0.01)
    assert t.worst_index == (0, 1) and t.status == "bug" and not t.agrees
    # the terms' scale, max(|o|, M), is the other figure: 1e3 times smaller here
    assert t.max_terms_error == pytest.approx(0.01 / 1e4)


def test_a_tensor_that_is_zero_to_rounding_is_measured_against_its_terms():
    # batch normalisation's bias gradient: exactly 0, computed as a few ulps of M
    oracle, candidate, magnitude = np.array([0.0, 0.0]), np.array([3e-18, -1e-18]), np.array([1.0, 2.0])
    t = compare_tensor("nabla_b[0]", 0, candidate, oracle, np.zeros(2), magnitude, GAMMA)
    assert t.max_rel_error == pytest.approx(3e-18 / 2.0) and t.agrees
    exact_zero = compare_tensor("nabla_b[0]", 0, oracle, oracle, np.zeros(2), np.zeros(2), GAMMA)
    assert exact_zero.max_rel_error == 0.0 and exact_zero.agrees
    assert compare_tensor("b", 0, candidate, oracle, np.zeros(2), np.zeros(2), GAMMA).max_rel_error == np.inf


def _unit_at_kink():
    """[2, 1] relu with weighted input exactly 0 (dyadic numbers: no rounding anywhere)."""
    x = np.array([[0.5], [-0.25]])
    case = Case(Architecture.build([2, 1], "relu"), (np.array([[0.5, 1.0]]),), (np.array([[0.0]]),), x,
                np.array([[0.75]]))
    return case


def test_an_entry_at_a_kink_is_named_so():
    case = _unit_at_kink()
    fd = finite_diff.gradient(case.arch, case.weights, case.biases, case.x, case.y)
    assert all(np.all(k) for k in fd.kink_b + fd.kink_w)
    wrong = ([np.array([[5.0]])], [np.array([[5.0, 5.0]])])  # far outside both one-sided slopes
    comparison = compare(wrong, fd, rounding_bound(case.arch, case.weights, case.biases, case.x, case.y))
    bias = comparison.tensors[0]
    assert bias.kink_at_worst and bias.kinks == 1 and bias.status == "bug"
    right = ([np.array([[0.0]])], [np.array([[0.0, 0.0]])])  # relu'(0) = 0: one of the sides
    assert compare(right, fd, rounding_bound(case.arch, case.weights, case.biases, case.x,
                                             case.y)).status == "pass"


def _oracle_with(values, checked=None):
    """A one-layer OracleGradient whose weight tensor is ``values`` (bias exact)."""
    return OracleGradient("test", [np.zeros((1, 1))], [np.asarray(values)], [np.zeros((1, 1))],
                          [np.zeros((1, 2))], checked_b=None, checked_w=checked)


def test_a_nan_asked_for_is_cannot_check_and_one_not_asked_for_is_not_counted():
    case = case_from_seed(Architecture.build([2, 1], "linear"), 1, 0)
    bound = rounding_bound(case.arch, case.weights, case.biases, case.x, case.y)
    candidate = ([np.zeros((1, 1))], [np.array([[1.0, 2.0]])])
    partial = compare(candidate, _oracle_with([[1.0, np.nan]]), bound)
    assert partial.tensors[1].unchecked == 1 and partial.tensors[1].checked == 1
    assert partial.status == "pass"  # the entry that was computed agrees; the other is counted
    nothing = compare(candidate, _oracle_with([[np.nan, np.nan]]), bound)
    assert nothing.tensors[1].status == "cannot-check" and nothing.status == "cannot-check"
    assert not nothing.agrees and nothing.first_disagreement is None
    sampled = compare(candidate, _oracle_with([[1.0, np.nan]], checked=[np.array([[True, False]])]), bound)
    assert sampled.tensors[1].unchecked == 0 and sampled.status == "pass"
    wrong = compare(([np.zeros((1, 1))], [np.array([[9.0, 2.0]])]), _oracle_with([[1.0, np.nan]]), bound)
    assert wrong.status == "bug" and wrong.first_disagreement.name == "nabla_w[0]"


def test_finite_differences_on_a_sample_mark_what_they_were_asked():
    case = case_from_seed(Architecture.build([6, 5, 3], "tanh"), 2, 1)
    fd = finite_diff.gradient(case.arch, case.weights, case.biases, case.x, case.y, max_entries=10)
    asked = sum(int(np.sum(c)) for c in fd.checked_b + fd.checked_w)
    assert asked == 10
    gradient = case.network().backprop(case.x, case.y)
    [comparison] = judge(case, gradient, ["finite-diff"], fd_max_entries=10)
    assert comparison.status == "pass" and comparison.unchecked == 0
    assert sum(t.checked for t in comparison.tensors) == 10


def test_assert_gradient_raises_a_mismatch_and_says_when_nothing_could_be_checked(monkeypatch):
    case = case_from_seed(Architecture.build([3, 2], "sigmoid"), 2, 0)
    nabla_b, nabla_w = case.network().backprop(case.x, case.y)
    assert all(c.agrees for c in assert_gradient(case, (nabla_b, nabla_w), ["finite-diff"]))
    with pytest.raises(GradientMismatch, match="nabla_w"):
        assert_gradient(case, (nabla_b, [2 * w for w in nabla_w]), ["finite-diff"])
    blind = Comparison("blind", [compare_tensor("nabla_b[0]", 0, [1.0], [np.nan], [np.nan], [1.0], GAMMA)])
    monkeypatch.setattr("gradcert.properties.certify.judge", lambda *args, **kwargs: [blind])
    with pytest.raises(CannotCheck, match="blind: cannot-check"):
        assert_gradient(case, (nabla_b, nabla_w))


def test_an_agreeing_kink_entry_leaves_the_figures_and_a_disagreeing_one_stays():
    # At a kink the oracle's error spans the one-sided slopes (here 0 and 1, error 1): a candidate
    # anywhere between agrees and is no error in the figures; one outside the span is a bug and
    # its error is reported whole.
    oracle, error, kink = np.array([1.0, 2.0]), np.array([1.0, 0.0]), np.array([True, False])
    inside = compare_tensor("dx", 0, np.array([0.0, 2.0]), oracle, error, np.ones(2), GAMMA, kink=kink)
    assert inside.status == "pass" and inside.max_abs_error == 0.0 and inside.kinks == 1
    outside = compare_tensor("dx", 0, np.array([-2.5, 2.0]), oracle, error, np.ones(2), GAMMA, kink=kink)
    assert outside.status == "bug" and outside.max_abs_error == 3.5
