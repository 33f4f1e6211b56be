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
backpropagation, summed in another order, each carrying the errors of the
forward pass's values it is taken at, so its rounding obeys the running bound
E of ``oracles.rounding`` that ``properties.compare`` already allows for an
oracle -- but for the count of roundings.  Complex arithmetic rounds more often
than real on the imaginary part: Im(a b) = a_r b_i + a_i b_r is two products
and a sum where the real product is one rounding, and a complex division, exp,
log or sqrt costs a few ulps more than its real counterpart.  So each rounding
of E counts at most COMPLEX_ROUNDINGS times, and the error beyond what the
comparison already allows is (COMPLEX_ROUNDINGS - 1) E.  The truncation h^2 |C'''| / 6
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
from gradcert.oracles.base import OracleGradient, Slopes, UnitSlopes, as_float64, columns
from gradcert.oracles.landscape import Landscape
from gradcert.oracles.precision import TINY, gamma
from gradcert.oracles.precision import UNIT_ROUNDOFF as U
from gradcert.oracles.rounding import rounding_bound
from gradcert.oracles.tangents import Parameters, split

NAME = "complex-step"
STEP = 2.0**-64
ANALYTIC = activations.ANALYTIC
# Re C(theta + i h e) must equal C(theta) to this fraction of 1 + |C|: far above the
# rounding of two evaluations of one cost (~1e-15 relative, ~1e-12 where batch
# normalisation divides by a small deviation), far below a jump to another function.
ASTRAY = 1e-8
COMPLEX_ROUNDINGS = 4  # roundings of a complex operation per rounding of its real counterpart (docstring)
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


def underflow(operations):
    """What gradual underflow may cost a complex-step derivative absolutely: the imaginary part is
    h times the derivative, h = 2^-64, so a derivative below ~1e-289 has a subnormal imaginary
    part; each of the ``operations`` roundings of its chain may lose a smallest normal number
    there (properties.compare's convention, which holds even where denormals are flushed),
    TINY / h in the derivative.  ~4e-289 a rounding: nothing for any derivative the oracle can
    resolve, the whole of one it cannot."""
    return operations * TINY / STEP


def extra_error_factor(arch):
    """The complex step's error beyond one correct real implementation's, as a multiple of that
    implementation's bound (the module docstring)."""
    return COMPLEX_ROUNDINGS - 1.0


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
    extra, floor = extra_error_factor(arch), underflow(bound.operations)
    return OracleGradient(NAME, nabla_b, nabla_w, [extra * t + floor for t in bound.bound_b],
                          [extra * t + floor for t in bound.bound_w])


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
    not finite.  ``errors``: the whole rounding error of each slope, bounded along the
    evaluation itself (``oracles.landscape._Tracker``: the tangents' own magnitudes, the
    injection exact for +-s directions).  ``landscape`` (an ``oracles.landscape.Landscape``
    of this case) and ``bound`` are reused when given.
    """
    if landscape is None:
        theta = Parameters(as_float64(biases), as_float64(weights))
        bound = bound or rounding_bound(arch, theta.weights, theta.biases, x, y)
        landscape = Landscape(arch, theta, x, y, bound)
    values, on_kink, errors = landscape.along(tangents, list(range(len(tangents))), [1j * STEP], track=True)
    values = values[:, 0]
    found = values.imag / STEP
    lost = astray(values.real, landscape.cost) | ~np.isfinite(found) | on_kink[:, 0]
    errors = errors + underflow(landscape.bound.operations)
    return Slopes(NAME, np.where(lost, np.nan, found), np.where(lost, np.nan, errors))


def unit_slopes(arch, weights, biases, x, y, layer, signs_w, signs_b, *, bound=None, trace=None,
                margin=1.0) -> UnitSlopes:
    """dC/dtheta . d along each unit's own direction on ``layer``: for unit i, d is ``signs_w[i]`` on
    row i of the weights and ``signs_b[i]`` on bias i, zero elsewhere -- one direction per unit
    (a maxout layer's row is one piece), all of them in one batched pass of the probe engine
    (``numpy_cost.Trace.shifted_costs``).  Not for a tied layer, whose row moves two layers.

    The entries must be +-s, s a power of two per tensor: then the unit's tangent
    z_i' = v_i . a + beta_i is formed exactly but for one rounding and the split's
    remainder (``oracles.tangents.split``) and returned as ``Slopes.injected`` (n_out, m).
    NaN where the evaluation left the analytic function, where the slope is not finite, or
    where a kink on the way is within ``margin`` times a correct implementation's forward error
    (``_near_kinks``), or an l1 weight of the row sits at 0: a correct implementation may put it
    on the other side, and the slope has no one value there.  ``errors``: the tangent's rounding
    carried by |dC/dz_i|, and COMPLEX_ROUNDINGS times the running bound E(dC/dz_i) carried by
    |z_i'| (the derivative at the forward pass's values, in complex arithmetic), the mean over
    the examples, and the penalties' l2 <W_i, v_i> and l1 <sign W_i, v_i> (n_in terms each).
    """
    if arch.tied is not None and layer in arch.tied:
        raise ValueError(f"layer {layer} is tied: a row of its matrix moves two layers, not one unit")
    weights, biases = as_float64(weights), as_float64(biases)
    x_cols, y_cols = columns(x), columns(y)
    y_rows = y_cols.T
    if trace is None:
        trace = numpy_cost.Trace(arch, weights, biases, x_cols.T)
    if bound is None:
        bound = rounding_bound(arch, weights, biases, x_cols, y_cols)
    signs_w = np.asarray(signs_w, dtype=np.float64)
    signs_b = np.asarray(signs_b, dtype=np.float64).reshape(-1)
    a = trace.inputs[layer]  # (m, n_in)
    n_out, n_in = signs_w.shape
    scale_w = float(np.max(np.abs(signs_w)))
    hi, lo = split(a, n_in)
    if hi is None:  # cannot split safely: the plain product and its usual bound
        tangent = (a @ signs_w.T).T + signs_b[:, None]
        lost = gamma(n_in + 2) * (np.abs(signs_w) @ np.abs(a).T + np.abs(signs_b)[:, None])
    else:
        both = np.concatenate([hi, lo]) @ signs_w.T  # hi and lo in one product
        tangent = (both[:hi.shape[0]] + both[hi.shape[0]:]).T + signs_b[:, None]
        lost = 2 * U * np.abs(tangent) + gamma(n_in + 1) * scale_w * np.abs(lo).sum(axis=1)[None, :]
    if layer > 0:  # the input is the forward pass's value, off by E(a): it moves each unit's tangent by
        lost = lost + scale_w * bound.layers[layer - 1].error_a.sum(axis=0)[None, :]  # |v_i| . E(a_k)
    costs, kinked = trace.shifted_costs(layer, np.arange(n_out), 1j * STEP * tangent, y_rows, kinks=True)
    found = costs.imag / STEP
    w = weights[layer]
    if arch.l2:  # the decay's slope along row i: l2 <W_i, v_i>
        found = found + arch.l2 * np.einsum("ij,ij->i", w, signs_w)
    if arch.l1:  # l1's along row i: l1 <sign W_i, v_i>; a zero entry is its kink
        found = found + arch.l1 * np.einsum("ij,ij->i", np.sign(w), signs_w)
        kinked = kinked | np.any(w == 0, axis=1)
    centre = float(trace.data_cost(y_rows))
    lost_values = astray(costs.real, centre) | ~np.isfinite(found) | kinked | _near_kinks(arch, bound, layer,
                                                                                           margin)
    here = bound.layers[layer]
    delta, error_delta = here.adjoint["z"], here.adjoint["error_z"]
    m = tangent.shape[1]
    magnitude = np.abs(tangent)
    errors = (COMPLEX_ROUNDINGS * np.einsum("ik,ik->i", error_delta, magnitude)
              + np.einsum("ik,ik->i", np.abs(delta), lost)
              + gamma(m + 1) * np.einsum("ik,ik->i", np.abs(delta), magnitude))
    if arch.l2:
        errors = errors + gamma(n_in + 1) * arch.l2 * scale_w * np.abs(w).sum(axis=1)
    if arch.l1:
        errors = errors + gamma(n_in + 1) * arch.l1 * scale_w * n_in
    errors = errors + underflow(bound.operations)
    return UnitSlopes(NAME, np.where(lost_values, np.nan, found), np.where(lost_values, np.nan, errors),
                      tangent)


def _near_kinks(arch, bound, layer, margin):
    """Per row of ``layer``'s weights (a unit, or one of maxout's pieces): whether a kink lies within
    ``margin`` times a correct implementation's forward error on the way -- a piecewise unit with
    |u| <= margin E(u), or maxout's pieces within margin (E + E) of their group's max -- at the
    row's own unit, at any unit of the layer if layer norm couples them, or anywhere after."""
    units = numpy_cost.piecewise_units(arch)
    near = np.zeros(arch.sizes[layer + 1], dtype=bool)  # per unit of the layer
    for later in range(layer, arch.depth):
        here = bound.layers[later]
        close = np.zeros(arch.sizes[later + 1], dtype=bool)
        if units[later].size:
            close[units[later]] = np.any(np.abs(here.u[units[later]]) <= margin * here.error_u[units[later]],
                                         axis=1)
        if here.winners is not None:
            close |= _near_ties(here, margin)
        if later == layer and not arch.layer_norm[layer]:
            near |= close
        elif np.any(close):
            near[:] = True
    return np.repeat(near, arch.maxout[layer])  # a maxout unit's k pieces share its verdict


def _near_ties(here, margin):
    """Per maxout unit: whether a piece other than the max comes within margin (E + E) of it in
    some example (an exact tie included), E the group's largest forward error."""
    k = here.winners.shape[1]
    pieces = here.pieces.reshape(-1, k, here.pieces.shape[1])
    largest = here.error_z.reshape(pieces.shape).max(axis=1, keepdims=True)
    gap = pieces.max(axis=1, keepdims=True) - pieces
    rivals = (gap <= 2 * margin * largest) & (gap > 0)
    return np.any(rivals, axis=(1, 2)) | np.any(here.winners.sum(axis=1) > 1, axis=1)
