"""Oracle: the complex-step derivative of the cost, for analytic networks.

For a cost C analytic in theta_i (real on real arguments),

    C(theta + i h e_i) = C(theta) + i h dC/dtheta_i - h^2/2 C'' - i h^3/6 C''' + ...

so dC/dtheta_i = Im C(theta + i h e_i) / h + O(h^2) (Squire and Trapp, SIAM
Review 1998).  No difference of two nearly equal numbers is taken, so h can be
tiny: h = 1e-20 makes the truncation h^2 C''' / 6 about 1e-40 of the
derivative's scale, far below one ulp.  The cost is the oracles' own NumPy
forward (``oracles.numpy_cost``) evaluated in complex128, a black box as for
finite differences: nothing here is a derivative.  That forward computes a
sigmoid or softmax output's log-based cost from its weighted input, so a
saturated output (1 - a lost to cancellation) costs the complex step nothing.

It applies only where every function on the way is analytic: activations
sigmoid, tanh, softplus, linear and softmax, batch normalisation (written
without abs: var = mean(centred * centred), sqrt of a number of positive real
part), and the three costs.  relu and leaky_relu are not analytic (the
choice z > 0 looks at the real part alone), so ``applies`` is False for a
network that uses them anywhere, a modified neuron included.

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

Every entry needs one complex evaluation, and, as for finite differences,
only what a perturbation changes is recomputed
(``numpy_cost.Trace.shifted_costs``).
"""

from __future__ import annotations

import numpy as np
from gradcert.oracles import numpy_cost
from gradcert.oracles.base import OracleGradient, as_float64, columns
from gradcert.oracles.rounding import gamma, rounding_bound

NAME = "complex-step"
STEP = 1e-20
ANALYTIC = ("sigmoid", "tanh", "softplus", "linear", "softmax")
COMPLEX_EXTRA_ROUNDINGS = 16  # per layer, and for the cost (see the module docstring)
PROBE_BUDGET = 2**17  # complex128 entries in one probe batch's largest array: 2 MiB


def available() -> bool:
    return True


def applies(arch) -> bool:
    """Whether every activation of ``arch`` is analytic (no relu or leaky_relu anywhere)."""
    names = set(arch.activations)
    if arch.modified_neuron is not None:
        names.add(arch.modified_neuron[2])
    return names <= set(ANALYTIC)


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
    extra = gamma(COMPLEX_EXTRA_ROUNDINGS * (arch.depth + 1))
    return OracleGradient(NAME, nabla_b, nabla_w, [extra * t for t in bound.magnitude_b],
                          [extra * t for t in bound.magnitude_w])


def _derivatives(trace, layer, is_weight, y_rows, centre):
    """Im C(theta + i h e_k) / h for every entry k of one layer's weights or biases.

    Re C(theta + i h e_k) is C(theta) up to h^2 and rounding; where it is not (a
    log of an output rounded to 0 or 1 returns ln h instead of -inf), the
    evaluation left the analytic function and the entry is NaN, "not computed".
    """
    arch = trace.arch
    flat = (trace.weights if is_weight else trace.biases)[layer].ravel()
    value = np.empty(flat.size)
    m = y_rows.shape[0]
    chunk = max(1, PROBE_BUDGET // (m * max(arch.sizes[layer + 1:])))
    for start in range(0, flat.size, chunk):
        idx = np.arange(start, min(start + chunk, flat.size))
        deltas = np.full(idx.size, 1j * STEP)
        units, shifts = trace.unit_shifts(layer, is_weight, idx, deltas)
        c = trace.shifted_costs(layer, units, shifts, y_rows)
        if is_weight and arch.l2:  # the moved weight's share of (l2 / 2) sum w^2
            c = c + 0.5 * arch.l2 * deltas * (2 * flat[idx] + deltas)
        value[idx] = c.imag / STEP
        # 1e-8: far above the rounding of two evaluations of one cost (~1e-15 relative,
        # ~1e-12 where batch normalisation divides by a small deviation), far below
        # a jump to another function.
        astray = ~np.isclose(c.real, centre, rtol=1e-8, atol=1e-8) if np.isfinite(centre) else True
        value[idx] = np.where(astray, np.nan, value[idx])
    return value
