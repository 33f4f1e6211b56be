"""Oracle: the complex-step derivative of the cost.

For a cost C analytic in theta_i (real on real arguments),

    C(theta + i h e_i) = C(theta) + i h dC/dtheta_i - h^2/2 C'' - i h^3/6 C''' + ...

so dC/dtheta_i = Im C(theta + i h e_i) / h + O(h^2) (Squire and Trapp, SIAM
Review 1998).  No difference of two nearly equal numbers is taken, so h can be
tiny: h = STEP = 2^-64 (a power of two, so that h d is exact) makes the
truncation h^2 C''' / 6 about 1e-39 of the derivative's scale, far below one
ulp, and h times a derivative as small as 1e-280 is still a normal number.
The cost is the oracles' own NumPy forward (``oracles.numpy_cost``) evaluated
in complex128, a black box as for finite differences: nothing here is a
derivative.  That forward computes a sigmoid or softmax output's log-based
cost from its weighted input, so a saturated output (1 - a lost to
cancellation) costs the complex step nothing.

``gradient`` (every entry) applies only where every function on the way is
analytic: the analytic activations of ``oracles.activations`` (sigmoid, tanh,
softplus, linear, softmax), batch normalisation (written without abs: var =
mean(centred * centred), sqrt of a number of positive real part), and the
three costs.  relu and leaky_relu are not analytic (the choice z > 0 looks at
the real part alone), so ``applies`` is False for a network that uses them
anywhere, a modified neuron included.

``slopes`` gives dC/dtheta . d = Im C(theta + i h d) / h along directions
(``oracles.tangents``), every direction in one batched pass
(``oracles.landscape``).  Along a direction a piecewise-linear unit is linear on
the side its Re z lies, so networks with relu units are fine there, except
where a unit sits exactly on its kink and d moves it: that direction is NaN.

An evaluation that leaves the analytic function (a logarithm of an output
rounded to 0 returns ln h instead of -inf) shows in Re C, which must equal
C(theta): where it does not (``astray``), the value is NaN, "not computed".

Error.  The imaginary part of the complex evaluation *is* a forward-mode
derivative: every path from theta_i to C contributes the same products as in
backpropagation, summed in another order, so its rounding obeys the same
bound gamma_N * M that ``properties.compare`` already allows for an oracle
(``oracles.rounding``).  Complex arithmetic rounds more often than real:
Im(a b) = a_r b_i + a_i b_r is two products and a sum, a complex division,
exp, log or sqrt costs a few ulps more than its real counterpart.  Counting
at most COMPLEX_EXTRA_ROUNDINGS per layer (batch normalisation's mean,
square, mean, sqrt and division; the activation's exp, sum and division) and
as many for the cost, the error beyond what the comparison already allows is

    gamma_K * M,  K = COMPLEX_EXTRA_ROUNDINGS * (depth + 1),

a few ulps of the magnitude M of the terms.  The truncation h^2 |C'''| / 6
would matter only for derivatives growing by 1e20 per unit of theta, that is
with an analytic singularity within ~1e-20 of the real axis (sigmoid's
nearest is at z = i pi); it is left out.

Every entry of ``gradient`` needs one complex evaluation, and, as for finite
differences, only what a perturbation changes is recomputed
(``numpy_cost.Trace.shifted_costs``).
"""

from __future__ import annotations

import numpy as np
from gradcert.oracles import activations, components, numpy_cost
from gradcert.oracles.base import OracleGradient, Slopes, as_float64, columns
from gradcert.oracles.landscape import Landscape
from gradcert.oracles.precision import gamma
from gradcert.oracles.rounding import rounding_bound
from gradcert.oracles.tangents import Parameters

NAME = "complex-step"
STEP = 2.0**-64
ANALYTIC = activations.ANALYTIC
# Re C(theta + i h e) must equal C(theta) to this fraction of 1 + |C|: far above the
# rounding of two evaluations of one cost (~1e-15 relative, ~1e-12 where batch
# normalisation divides by a small deviation), far below a jump to another function.
ASTRAY = 1e-8
COMPLEX_EXTRA_ROUNDINGS = 16  # per layer, and for the cost (see the module docstring)
PROBE_BUDGET = 2**17  # complex128 entries in one probe batch's largest array: 2 MiB


def available() -> bool:
    return True


def applies(arch) -> bool:
    """Whether ``gradient`` applies: every activation of ``arch`` analytic (no relu or leaky_relu),
    and no component with a kink (l1, an activity penalty, maxout: ``components.kinked``)."""
    return activations.is_analytic(arch) and not components.kinked(arch)


def astray(real_values, centre):
    """Where an evaluation left the analytic function: Re C is not C(theta) (see ASTRAY)."""
    if not np.isfinite(centre):
        return np.ones(np.shape(real_values), dtype=bool)
    return ~(np.abs(real_values - centre) <= ASTRAY * (1.0 + abs(centre)))


def extra_error_factor(arch):
    """gamma_K, K = COMPLEX_EXTRA_ROUNDINGS (depth + 1): complex arithmetic's share (docstring)."""
    return gamma(COMPLEX_EXTRA_ROUNDINGS * (arch.depth + 1))


def gradient(arch, weights, biases, x, y) -> OracleGradient:
    """The complex-step gradient of the batch cost, every entry."""
    if not applies(arch):
        raise ValueError(f"the complex-step oracle needs analytic activations ({', '.join(ANALYTIC)}), "
                         f"not {arch.describe()}: use the finite-difference oracle")
    weights, biases = as_float64(weights), as_float64(biases)
    x_cols, y_cols = columns(x), columns(y)
    y_rows = y_cols.T
    trace = numpy_cost.Trace(arch, weights, biases, x_cols.T)
    centre = float(trace.data_cost(y_rows))
    nabla_b, nabla_w = [], []
    for layer in range(arch.depth):
        nabla_w.append(_derivatives(trace, layer, True, y_rows, centre).reshape(weights[layer].shape))
        nabla_b.append(_derivatives(trace, layer, False, y_rows, centre).reshape(biases[layer].shape))
    bound = rounding_bound(arch, weights, biases, x_cols, y_cols)
    extra = extra_error_factor(arch)
    return OracleGradient(NAME, nabla_b, nabla_w, [extra * t for t in bound.magnitude_b],
                          [extra * t for t in bound.magnitude_w])


def _derivatives(trace, layer, is_weight, y_rows, centre):
    """Im C(theta + i h e_k) / h for every entry k of one layer's weights or biases; NaN where
    the evaluation left the analytic function (``astray``)."""
    arch = trace.arch
    flat = (trace.weights if is_weight else trace.biases)[layer].ravel()
    value = np.empty(flat.size)
    m = y_rows.shape[0]
    chunk = max(1, PROBE_BUDGET // (m * max(arch.sizes[layer + 1:])))
    for start in range(0, flat.size, chunk):
        idx = np.arange(start, min(start + chunk, flat.size))
        deltas = np.full(idx.size, 1j * STEP)
        c = trace.entry_costs(layer, is_weight, idx, deltas, y_rows)
        if is_weight:  # the moved weight's share of the weight penalties
            c = c + components.WeightPenalty.moved(arch, layer, flat[idx], deltas)
        value[idx] = np.where(astray(c.real, centre), np.nan, c.imag / STEP)
    return value


def slopes(arch, weights, biases, x, y, tangents, *, landscape=None, bound=None) -> Slopes:
    """dC/dtheta . d = Im C(theta + i h d) / h for every direction of ``tangents``, in one pass.

    NaN where a ReLU-type unit sits exactly on its kink and d moves it (no derivative),
    where the evaluation left the analytic function (``astray``), or where the slope is
    not finite.  ``errors``: complex arithmetic's few more roundings than a real forward
    mode, gamma_K sum_i |d_i| M_i (the module docstring).  ``landscape`` (an
    ``oracles.landscape.Landscape`` of this case) and ``bound`` are reused when given.
    """
    if landscape is None:
        theta = Parameters(as_float64(biases), as_float64(weights))
        bound = bound or rounding_bound(arch, theta.weights, theta.biases, x, y)
        landscape = Landscape(arch, theta, x, y, bound)
    values, on_kink = landscape.along(tangents, list(range(len(tangents))), [1j * STEP])
    values = values[:, 0]
    found = values.imag / STEP
    lost = astray(values.real, landscape.cost) | ~np.isfinite(found) | on_kink[:, 0]
    errors = extra_error_factor(arch) * tangents.spreads(landscape.bound)
    return Slopes(NAME, np.where(lost, np.nan, found), errors)
