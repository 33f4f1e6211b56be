"""Oracle: central finite differences of the cost, a black box.

Only the cost's value is used (``oracles.numpy_cost``); no derivative of any
layer is written down, so this oracle shares nothing with backpropagation but
the definition of the cost.

For each parameter theta_i, with e_i its unit vector,

    D(h) = (C(theta + h e_i) - C(theta - h e_i)) / 2h,

and the returned value is Richardson's extrapolation (4 D(h) - D(2h)) / 3.
Error estimate, entry by entry:

  * truncation: D(h) is off by about c h^2 and D(2h) by about 4 c h^2, so
    |D(h) - D(2h)| = 3 |c| h^2 bounds D(h)'s own truncation error with a
    factor 3 to spare, and the extrapolated value's by far more;
  * rounding: if each cost value is off by at most e_C, the extrapolation is
    off by at most (4/3 + 1/3 * 1/2) e_C / h = 1.5 e_C / h.  e_C is the
    larger of the standard bound for n accumulations, n * u * |C| (u = 2^-53,
    n the longest chain of sums in one evaluation), and the noise *measured*
    on this very cost (Moré and Wild, "Estimating computational noise",
    SIAM J. Sci. Comput. 2011): the cost is evaluated at 9 points 1e-6 apart
    along a random direction, where the smooth part of its 6th differences is
    ~1e-36 and what remains is rounding noise of standard deviation
    sigma = sqrt(mean (Delta^6 C)^2 / C(12, 6)); e_C covers 4 sigma.  The
    measurement catches what the static bound cannot know, such as batch
    normalisation dividing rounding errors by a small standard deviation.

The step h = u^(1/3) * max(1, |theta_i|) balances the two (h^2 against u/h),
and is rounded so that theta + h is exactly representable.

Perturbed copies of the network are evaluated in vectorised batches, and the
layers before the perturbed one are computed once: they do not depend on it.
"""

from __future__ import annotations

import numpy as np

from oracles import numpy_cost
from oracles.base import OracleGradient, as_float64, columns

NAME = "finite-diff"
UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
PROBE_BUDGET_BYTES = 32 * 2**20  # memory for one batch of perturbed weight copies
NOISE_SPACING = 1e-6  # relative spacing of the noise-measuring points
NOISE_ORDER = 6  # the order of the differences that measure noise
NOISE_SIGMAS = 4.0  # e_C covers this many measured standard deviations


def available() -> bool:
    return True


def step_sizes(theta):
    h = np.cbrt(UNIT_ROUNDOFF) * np.maximum(1.0, np.abs(theta))
    return (theta + h) - theta  # exactly representable, so the stencil is symmetric


def gradient(arch, weights, biases, x, y, *, max_entries=None, seed=0) -> OracleGradient:
    """The finite-difference gradient of the batch cost.

    With ``max_entries`` set and more parameters than that, a random subset of
    that many entries (chosen by ``seed``) is estimated and the rest are NaN.
    """
    weights, biases = as_float64(weights), as_float64(biases)
    x_rows, y_rows = columns(x).T, columns(y).T
    chosen = _choose_entries(arch, max_entries, seed)

    noise = measured_noise(arch, weights, biases, x_rows, y_rows, seed)
    nabla_b, nabla_w, error_b, error_w = [], [], [], []
    a = x_rows
    for layer in range(arch.depth):
        for params, is_weight in ((weights, True), (biases, False)):
            value, error = _layer_derivatives(arch, layer, a, weights, biases, y_rows,
                                              is_weight, chosen[layer][is_weight], noise)
            (nabla_w if is_weight else nabla_b).append(value.reshape(params[layer].shape))
            (error_w if is_weight else error_b).append(error.reshape(params[layer].shape))
        a = numpy_cost.layer_forward(arch, layer, a, weights[layer], biases[layer])
    return OracleGradient(NAME, nabla_b, nabla_w, error_b, error_w)


def cost_rounding_bound(arch, cost_value, m, noise=0.0):
    """e_C: the rounding error of one cost evaluation (see the module docstring)."""
    chain = max(arch.sizes) * arch.depth + m
    return np.maximum(chain * UNIT_ROUNDOFF * np.abs(cost_value), NOISE_SIGMAS * noise)


def measured_noise(arch, weights, biases, x_rows, y_rows, seed=0):
    """The standard deviation of the rounding noise in the cost near these parameters."""
    rng = np.random.default_rng(seed)
    k = np.arange(NOISE_ORDER + 3) - (NOISE_ORDER + 2) // 2  # 9 points, centred
    stacks = []
    for params in (weights, biases):
        stack = []
        for p in params:
            direction = rng.choice([-1.0, 1.0], size=p.shape) * NOISE_SPACING * np.maximum(1.0, np.abs(p))
            stack.append(p[None] + k.reshape((-1,) + (1,) * p.ndim) * direction[None])
        stacks.append(stack)
    a_out = numpy_cost.forward_from(arch, 0, x_rows[None], *stacks)
    c = numpy_cost.data_cost(arch, a_out, y_rows)
    c = c + 0.5 * arch.l2 * sum(np.sum(np.square(w), axis=(-2, -1)) for w in stacks[0])
    differences = np.diff(c, n=NOISE_ORDER)
    if not np.all(np.isfinite(differences)):
        return 0.0
    return float(np.sqrt(np.mean(differences**2) / 924.0))  # 924 = C(12, 6)


def _choose_entries(arch, max_entries, seed):
    """Per layer, per (bias, weight): flat indices to estimate, or None for all."""
    shapes = arch.shapes
    if max_entries is None or arch.n_parameters <= max_entries:
        return [{True: None, False: None} for _ in shapes]
    picked = np.sort(np.random.default_rng(seed).choice(arch.n_parameters, max_entries, replace=False))
    chosen, offset = [], 0
    for w_shape, b_shape in shapes:
        layer = {}
        for is_weight, shape in ((True, w_shape), (False, b_shape)):
            size = int(np.prod(shape))
            layer[is_weight] = picked[(picked >= offset) & (picked < offset + size)] - offset
            offset += size
        chosen.append(layer)
    return chosen


def _layer_derivatives(arch, layer, a_in, weights, biases, y_rows, is_weight, indices, noise):
    """Finite differences for every chosen entry of one layer's weights or biases."""
    own = weights[layer] if is_weight else biases[layer]
    flat = own.ravel()
    indices = np.arange(flat.size) if indices is None else indices
    value = np.full(flat.size, np.nan)
    error = np.full(flat.size, np.nan)
    if indices.size == 0:
        return value, error
    other_decay = 0.5 * arch.l2 * sum(np.sum(np.square(w)) for i, w in enumerate(weights) if i != layer)
    signs = np.array([1.0, -1.0, 2.0, -2.0])  # theta + h, - h, + 2h, - 2h
    per_probe = max(own.size, 1) * 8 + a_in.shape[0] * max(arch.sizes) * 8 * 4
    chunk = max(1, PROBE_BUDGET_BYTES // (per_probe * len(signs)))
    for start in range(0, indices.size, chunk):
        idx = indices[start:start + chunk]
        h = step_sizes(flat[idx])
        probes = np.repeat(flat[None, :], len(idx) * len(signs), axis=0)
        rows = np.arange(probes.shape[0])
        cols = np.repeat(idx, len(signs))
        probes[rows, cols] += np.tile(signs, len(idx)) * np.repeat(h, len(signs))
        probes = probes.reshape((-1,) + own.shape)
        w_stack = [weights[i] for i in range(arch.depth)]
        b_stack = [biases[i] for i in range(arch.depth)]
        (w_stack if is_weight else b_stack)[layer] = probes
        a_out = numpy_cost.forward_from(arch, layer, a_in[None], w_stack, b_stack)
        c = numpy_cost.data_cost(arch, a_out, y_rows)
        c = c + other_decay + 0.5 * arch.l2 * np.sum(np.square(w_stack[layer]), axis=(-2, -1))
        c = c.reshape(len(idx), len(signs))
        d1 = (c[:, 0] - c[:, 1]) / (2 * h)
        d2 = (c[:, 2] - c[:, 3]) / (4 * h)
        value[idx] = (4 * d1 - d2) / 3
        e_c = cost_rounding_bound(arch, np.max(np.abs(c), axis=1), y_rows.shape[0], noise)
        error[idx] = np.abs(d1 - d2) + 1.5 * e_c / h
    return value, error
