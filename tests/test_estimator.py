"""The one finite-difference estimator on black boxes: ``oracles.finite_diff.derivative`` and ``vjp``.

Each is judged as an oracle is: silent (the exact derivative lies within ``value +- error``
on smooth functions, noisy ones and kinks) and sharp (the error is not absurdly loose, so
a derivative wrong by a little more than the error is rejected by it).
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcert.oracles import finite_diff
from gradcert.oracles.precision import UNIT_ROUNDOFF as U
from gradcert.properties.errors import UsageError
from hypothesis import given, settings
from hypothesis import strategies as st


class Counted:
    """A vectorised black box that counts its calls and checks what it is given."""

    def __init__(self, function, shape):
        self.function, self.shape, self.calls, self.points = function, shape, 0, 0

    def __call__(self, points):
        assert points.dtype == np.float64 and points.shape[1:] == self.shape
        self.calls += 1
        self.points += points.shape[0]
        result = self.function(points)
        points[...] = np.nan  # the estimator must not read the points back after the call
        return result


def assert_holds(estimate, exact):
    inside = np.abs(estimate.value - exact) <= estimate.error
    assert np.all(inside), (estimate.value[~inside], exact[~inside], estimate.error[~inside])


# ---- derivative: smooth, noisy, kinks -------------------------------------------------------------

def test_a_smooth_function_in_one_call_exact_within_a_tight_error():
    rng = np.random.default_rng(0)
    base, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    box = Counted(lambda p: np.sum(c * np.sin(p), axis=(1, 2)) + np.sum(p * p, axis=(1, 2)) ** 2, (3, 4))
    estimate = finite_diff.derivative(box, base, kinks=False)
    exact = c * np.cos(base) + 4 * np.sum(base * base) * base
    assert box.calls == 1  # every stencil, f(0) and the noise probe together
    assert box.points == 1 + 2 * finite_diff.NOISE_DIRECTIONS * finite_diff.NOISE_POINTS + 4 * base.size
    assert_holds(estimate, exact)
    assert not np.any(estimate.kink)
    # Sharp: Richardson's O(h^4) truncation plus rounding ~ u |f| / h with h ~ 6e-6 and
    # |f| ~ 100: ~1e-9; the error stays below 1e-7, so a derivative wrong by 1e-7 fails.
    assert np.all(estimate.error < 1e-7)
    assert np.all(np.abs((exact + 1e-7) - estimate.value) > estimate.error)


def test_the_estimate_with_the_kink_test_is_still_honest_on_a_smooth_function():
    rng = np.random.default_rng(1)
    base = rng.standard_normal(6)
    estimate = finite_diff.derivative(lambda p: np.sum(np.exp(p), axis=1), base)
    assert_holds(estimate, np.exp(base))
    assert not np.any(estimate.kink)
    assert np.all(estimate.error < 1e-7 * np.exp(base).max())


def test_relu_at_exact_zeros_is_a_kink_holding_both_one_sided_slopes():
    w = np.array([0.5, -2.0, 1.5, 3.0, -1.0])
    base = np.array([0.0, 0.0, 0.7, -0.4, 0.0])
    estimate = finite_diff.derivative(lambda p: np.maximum(p, 0.0) @ w + 0.25 * np.sum(p * p, axis=1), base)
    at_zero = base == 0
    assert np.array_equal(estimate.kink, at_zero)
    for side in (0.0, 1.0):  # relu'(0) taken as 0 or as 1: both right
        assert_holds(estimate, np.where(at_zero, side * w, (base > 0) * w) + 0.5 * base)
    # away from the kinks the error is as tight as on any smooth function
    assert np.all(estimate.error[~at_zero] < 1e-7)
    # ... and at a kink no wider than half the jump plus the one-sided truncation
    assert np.all(estimate.error[at_zero] <= np.abs(w[at_zero]) / 2 + 1e-5)


def test_measured_noise_keeps_a_noisy_function_honest():
    # f plus deterministic "rounding noise" of 1e-9 per value (a hash of the point): the
    # noise probe measures it, and the error covers what it does to the differences,
    # ~1e-9 / h ~ 2e-4; a function this noisy gets no tight claims.
    rng = np.random.default_rng(2)
    base = rng.standard_normal(8)

    def noisy(points):
        jitter = np.sin(1e6 * points @ np.arange(1.0, 9.0)) * 1e-9
        return np.sum(np.sin(points), axis=1) + jitter

    estimate = finite_diff.derivative(noisy, base, kinks=False)
    assert_holds(estimate, np.cos(base))
    assert np.all(estimate.error > 1e-5) and np.all(estimate.error < 1e-2)


def test_a_stated_value_error_is_honoured():
    base = np.ones(3)
    plain = finite_diff.derivative(lambda p: np.sum(p, axis=1), base, kinks=False)
    wider = finite_diff.derivative(lambda p: np.sum(p, axis=1), base, kinks=False, value_error=1e-9)
    assert np.all(wider.error >= 1.5 * 1e-9 / finite_diff.step_sizes(base))
    assert np.all(plain.error < wider.error)


def test_chunked_calls_give_the_same_estimate_and_nothing_is_written():
    rng = np.random.default_rng(4)
    base = rng.standard_normal((5, 2))
    kept = base.copy()
    box = Counted(lambda p: np.sum(np.tanh(p) ** 3, axis=(1, 2)), (5, 2))
    small = finite_diff.derivative(box, base, budget_bytes=8 * 11 * 7)  # 7 points (10 entries, 1 value)
    assert box.calls == -(-box.points // 7) > 1
    whole = finite_diff.derivative(lambda p: np.sum(np.tanh(p) ** 3, axis=(1, 2)), base)
    assert np.array_equal(small.value, whole.value) and np.array_equal(small.error, whole.error)
    assert np.array_equal(base, kept)


def test_a_non_finite_value_leaves_that_entry_not_computed():
    base = np.array([1.0, 0.0, 2.0])
    # f is infinite wherever the middle entry is positive: its stencil meets that, the others' not
    estimate = finite_diff.derivative(lambda p: np.sum(p, axis=1) + np.where(p[:, 1] > 0, np.inf, 0.0), base)
    assert np.isnan(estimate.value[1]) and np.isnan(estimate.error[1])
    assert np.all(np.isfinite(estimate.value[[0, 2]]))


def test_a_wrong_shape_is_a_usage_error():
    with pytest.raises(UsageError, match=r"values\(points\) returned shape"):
        finite_diff.derivative(lambda p: p.sum(axis=1)[:, None], np.ones(2))
    with pytest.raises(UsageError, match=r"outputs\(points\) returned shape"):
        finite_diff.vjp(lambda p: p[:, :1], np.ones(2), np.ones(2))


# ---- vjp and the Jacobian diagonal ----------------------------------------------------------------

def _softmax_columns(points):
    e = np.exp(points - points.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_the_vjp_of_softmax_and_its_diagonal():
    rng = np.random.default_rng(5)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))  # 4 units, 3 examples (columns)
    s = _softmax_columns(x[None])[0]
    exact = s * (dout - np.sum(s * dout, axis=0, keepdims=True))  # J^T dout, column by column
    estimate = finite_diff.vjp(_softmax_columns, x, dout)
    assert_holds(estimate, exact)
    assert np.all(estimate.error < 1e-8)
    # the diagonal is s (1 - s): what a softmax backward taken elementwise would use
    assert_holds(estimate.diagonal, s * (1 - s))
    assert np.all(estimate.diagonal.error < 1e-8)
    elementwise = s * (1 - s) * dout
    assert np.any(np.abs(elementwise - estimate.value) > 100 * estimate.error)  # that bug is far outside


def test_a_dense_layer_changes_the_shape_and_has_no_diagonal():
    rng = np.random.default_rng(6)
    w, x, dout = rng.standard_normal((3, 5)), rng.standard_normal((5, 2)), rng.standard_normal((3, 2))
    estimate = finite_diff.vjp(lambda p: np.tanh(w @ p), x, dout)
    z = np.tanh(w @ x)
    assert_holds(estimate, w.T @ ((1 - z * z) * dout))
    assert estimate.diagonal is None


def test_a_relu_layer_at_exact_zeros():
    x = np.array([[0.0, 1.5], [-0.5, 0.0], [0.0, 0.0]])
    dout = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 2.0]])
    estimate = finite_diff.vjp(lambda p: np.maximum(p, 0.0), x, dout)
    assert np.array_equal(estimate.kink, x == 0)
    for side in (0.0, 1.0):
        assert_holds(estimate, np.where(x == 0, side, x > 0) * dout)
        assert_holds(estimate.diagonal, np.where(x == 0, side, x > 0).astype(float))


@settings(max_examples=30)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.sampled_from(["tanh", "sigmoid", "relu"]))
def test_drawn_dense_layers_are_estimated_honestly_and_sharply(n_in, n_out, m, seed, name):
    # forward(W) = sigma(W x) for the weights W: the parameter gradient a layer checker needs.
    rng = np.random.default_rng(seed)
    w, x, dout = rng.standard_normal((n_out, n_in)), rng.standard_normal((n_in, m)), \
        rng.standard_normal((n_out, m))
    functions = {"tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
                 "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
                 "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float))}
    sigma, prime = functions[name]
    estimate = finite_diff.vjp(lambda p: sigma(p @ x), w, dout, kinks=name == "relu")
    exact = (prime(w @ x) * dout) @ x.T
    assert_holds(estimate, exact)
    # Sharp: away from kinks the error is within 1e-6 of the terms' size (FD's own
    # accuracy is ~1e-10 here: h^4 truncation and u / h rounding), far below a bug.
    scale = np.abs(dout).sum() * np.abs(x).max() + 1.0
    assert np.all(estimate.error[~estimate.kink] <= 1e-6 * scale)
    assert np.all(np.isfinite(estimate.value)) and U > 0
