"""Oracle: central finite differences of the cost, a black box; and the one finite-difference
estimator every kind of check uses.

Only the cost's value is used (``oracles.numpy_cost``); no derivative of any
layer is written down, so this oracle shares nothing with backpropagation but
the definition of the cost.

Three entry points share one estimator (``estimate``: the stencil, Richardson's
extrapolation, the error and the kink test below) and one noise measurement
(``noise_level``):

* ``gradient`` -- every entry (or a sample) of a network's cost gradient, the
  perturbed forward passes recomputing only what a perturbation changes;
* ``slopes`` -- dC/dtheta . d along directions (``oracles.tangents``), by the same
  stencil along each direction (``oracles.landscape`` evaluates C there);
* ``derivative`` and ``vjp`` -- the gradient of any scalar black-box function of an
  array, or the vector-Jacobian product of an array-valued one, for checks of
  layers, function pairs and models (see "Black boxes" at the end).

For each parameter theta_i, with e_i its unit vector, write f(k) for
C(theta + k h e_i), k in {-2, -1, 0, 1, 2}.  f(0) is computed once per unit
(it is C(theta), but evaluated the way the unit's probes are, below, so that
the five values share one rounding pattern).  The central differences

    D(h) = (f(1) - f(-1)) / 2h,    D(2h) = (f(2) - f(-2)) / 4h

give the value by Richardson's extrapolation (4 D(h) - D(2h)) / 3.

Error estimate where the cost is smooth, entry by entry:

  * truncation: D(h) is off by about c h^2 and D(2h) by about 4 c h^2, so
    |D(h) - D(2h)| = 3 |c| h^2 bounds D(h)'s own truncation error with a
    factor 3 to spare, and the extrapolated value's by far more;
  * rounding: if each cost value is off by at most e_C, the extrapolation is
    off by at most (4/3 + 1/3 * 1/2) e_C / h = 1.5 e_C / h.  e_C is the
    larger of the standard bound for n accumulations, n * u * |C| (u = 2^-53,
    n the longest chain of sums in one evaluation), and the noise *measured*
    on this very cost (Moré and Wild, "Estimating computational noise",
    SIAM J. Sci. Comput. 2011): along a random direction the cost is
    evaluated at 12 points 1e-6 apart on each side of theta (theta itself
    left out), where the smooth part of the 6th differences is ~1e-36 and
    what remains is rounding noise of standard deviation
    sigma = sqrt(mean (Delta^6 C)^2 / C(12, 6)); e_C covers 4 sigma.  The
    measurement catches what the static bound cannot know, such as batch
    normalisation dividing rounding errors by a small standard deviation.
    A kink inside a window would pass for enormous noise (and inflate every
    entry's error), so each side is measured alone and the smaller kept: a
    kink at theta lies in neither window, any other in at most one;
  * a kink too small to be detected (below): see "Kinks".

Kinks.  ReLU and leaky ReLU make the cost piecewise smooth: along e_i its
slope may jump by g at some point t of the stencil.  At t = 0 exactly (a unit
whose weighted input is exactly 0) the derivative does not exist, and any
value between the one-sided derivatives is a right answer (torch says 0 for
relu'(0), another implementation 1); the central difference returns about the
midpoint, far from both.  In the spirit of Chainer's ``numerical_grad(...,
detect_nondifferentiable=True)``, which checks that the sampled values fit
one low-degree polynomial, the five values are tested for belonging to one
smooth function, here with the fourth difference

    Q = f(2) - 4 f(1) + 6 f(0) - 4 f(-1) + f(-2)

which is h^4 f'''' (~1e-21 |C|) for a smooth cost, and at most 16 e_C more
from rounding (the coefficients' magnitudes sum to 16): the threshold.  A
kink at t adds Q_k = g (3|t| - 2h) for |t| <= h and g (2h - |t|) for
h <= |t| <= 2h.  When |Q| > 16 e_C the entry is treated as a kink: with the
one-sided Richardson estimates

    R = 2 (f(1) - f(0)) / h - (f(2) - f(0)) / 2h,   L likewise on the left,

the value is (L + R) / 2 and the error |R - L| / 2 plus the larger of the two
sides' own estimates (truncation |one-sided(h) - one-sided(2h)|, rounding
(3/2 + 2 + 1/2) e_C / h = 4 e_C / h), so every number between L and R is
accepted.  A kink at t > 0 leaves the left side clean, so L (or R, for
t < 0) is the derivative at theta and lies inside; for a smooth cost L and R
are both right, and wrongly detecting a kink only loosens the error.

An undetected kink (|Q| <= 16 e_C) must still be covered.  The central value
minus L is, as linear combinations of the five values,

    value - L = -Q / 4h - (2/3) (D(h) - D(2h)),

an identity; applied to the kink's part alone (L's kink part is 0) it bounds
the kink's effect on the value by |Q_k| / 4h + (2/3) |D(h) - D(2h)|_k.  With
|Q_k| <= |Q| + 16 e_C and the rounding in D(h) - D(2h) at most 1.5 e_C / h,
the smooth-branch error adds |Q| / 4h + (4 + 1) e_C / h: the estimate stays
honest wherever a single kink sits.  (Two kinks on opposite sides of theta,
within 2h, could both contaminate L and R; with h ~ 6e-6 |theta| that needs
two coincidences, and is not covered.)

Only relu and leaky_relu units make kinks (every other activation and cost
is analytic), so the test and the margin apply only when the architecture
has one (``has_kinks``).  For a smooth network the margin would loosen every
estimate about four times for nothing, and the test would only make false
detections where the rounding exceeds e_C, which the cancellation in a - y
sometimes makes it do (about 1 entry in 2000 of drawn relu networks).

The step h = u^(1/3) * max(1, |theta_i|) balances the two (h^2 against u/h).

Black boxes (``derivative``, ``vjp``).  The function is known only by its
values, asked for in as few calls as memory allows (every stencil of every
entry, f(0) and the noise probe at once; chunks of at most BUDGET_BYTES of
points and values): the caller may evaluate them in another process, one
round trip per call.  Nothing is known of its rounding, so e_C is *measured*:
sixth differences of f at NOISE_POINTS points on each side of the base along
NOISE_DIRECTIONS random directions, one sigma per window, and the median of
those 2 * NOISE_DIRECTIONS sigmas kept (a kink inside a window inflates that
window alone; the median of eight also varies far less than one window's
sigma does); e_C covers NOISE_SIGMAS of it, and at least half an ulp of every
value, or the bound ``value_error`` the caller knows, whichever is larger.
For ``vjp`` the value is f = sum(out * dout), our own sum, whose rounding
gamma_n sum |out * dout| is part of that bound.  Kinks are detected and
widened as above (``kinks=False`` where the function is known to be smooth).

Speed: a weight W[l][i, j] moved by delta moves layer l's weighted input
z[:, i] by delta * a[:, j] and nothing else (z = a W^T + b is linear), so the
forward pass is kept once (``numpy_cost.Trace``) and each probe recomputes
only what it changes: one unit of layer l, one rank-one update of layer
l + 1's weighted input, and the rest of the network run as it is, on batches
of probes at once (``numpy_cost.Trace.shifted_costs``).  A batch's largest
array holds PROBE_BUDGET numbers (2 MiB): memory stays at a few MiB whatever
the network's size, and the arrays stay in cache.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from gradcert.oracles import activations, components, numpy_cost
from gradcert.oracles.base import OracleGradient, Slopes, as_float64, columns
from gradcert.oracles.precision import UNIT_ROUNDOFF, gamma
from gradcert.oracles.tangents import Parameters
from gradcert.properties.errors import UsageError

NAME = "finite-diff"
PROBE_BUDGET = 2**18  # float64 entries in one probe batch's largest array: 2 MiB, cache-sized
STENCIL = np.array([1.0, -1.0, 2.0, -2.0])  # theta + h, - h, + 2h, - 2h
NOISE_SPACING = 1e-6  # relative spacing of the noise-measuring points
NOISE_ORDER = 6  # the order of the differences that measure noise
NOISE_POINTS = 12  # points on each side of theta: 6 sixth differences per side
NOISE_SIGMAS = 4.0  # e_C covers this many measured standard deviations
FOURTH_DIFFERENCE_ROUNDING = 16.0  # |1| + |-4| + |6| + |-4| + |1|: Q's rounding in units of e_C
PIECEWISE = activations.PIECEWISE  # the activations with a kink; all else is analytic
NOISE_DIRECTIONS = 4  # black boxes: random directions of the noise probe (two windows each)
BUDGET_BYTES = 64 * 2**20  # black boxes: points and values of one call
# Along a direction (``slopes``): the step balancing h^2 truncation against u / h, a power of
# two so that theta + h d is as exact as theta + d; the stencil is +h, -h, +2h, -2h.
SLOPE_STEP = 2.0 ** round(math.log2(np.cbrt(UNIT_ROUNDOFF)))
SLOPE_STEPS = tuple(float(k) * SLOPE_STEP for k in STENCIL)


def available() -> bool:
    return True


def step_sizes(theta, dtype=np.float64):
    """h = u^(1/3) max(1, |theta|) for the unit roundoff u of ``dtype`` (the precision the function
    computes in), rounded so that theta + h is exactly representable in that dtype."""
    theta = np.asarray(theta, dtype=np.float64)
    d = np.dtype(dtype)
    h = np.cbrt(np.finfo(d).eps / 2) * np.maximum(1.0, np.abs(theta))
    low = theta.astype(d)
    return ((low + h.astype(d)) - low).astype(np.float64)


def gradient(arch, weights, biases, x, y, *, max_entries=None, seed=0) -> OracleGradient:
    """The finite-difference gradient of the batch cost.

    With ``max_entries`` set and more parameters than that, a random subset of
    that many entries (chosen by ``seed``) is estimated and the rest are NaN;
    ``max_entries=None`` estimates every entry.  An entry whose stencil meets
    a non-finite cost is NaN too.
    """
    weights, biases = as_float64(weights), as_float64(biases)
    x_rows, y_rows = columns(x).T, columns(y).T
    chosen = _choose_entries(arch, max_entries, seed)

    noise = measured_noise(arch, weights, biases, x_rows, y_rows, seed)
    terms = cost_terms(arch, weights, biases, x_rows, y_rows)
    trace = numpy_cost.Trace(arch, weights, biases, x_rows)
    decay = components.WeightPenalty.numpy(arch, weights)
    found = {"nabla_b": [], "nabla_w": [], "error_b": [], "error_w": [], "checked_b": [], "checked_w": [],
             "kink_b": [], "kink_w": []}
    for layer in range(arch.depth):
        for params, is_weight in ((weights, True), (biases, False)):
            shape, kind = params[layer].shape, "w" if is_weight else "b"
            indices = chosen[layer][is_weight]
            value, error, kink = _layer_derivatives(trace, layer, is_weight, indices, y_rows, decay, noise,
                                                    terms)
            checked = np.ones(value.size, dtype=bool)
            if indices is not None:
                checked = np.isin(np.arange(value.size), indices)
            for name, array in (("nabla_", value), ("error_", error), ("checked_", checked), ("kink_", kink)):
                found[name + kind].append(array.reshape(shape))
    return OracleGradient(NAME, **found)


def has_kinks(arch) -> bool:
    """Whether the cost of ``arch`` may have kinks: a piecewise-linear unit (relu, leaky_relu),
    or a component with one (|w| of l1, |a| of the activity penalty, maxout's ties)."""
    return activations.has_kinks(arch) or components.kinked(arch)


def estimate(centre, costs, h, cost_error, kinks=True):
    """Value, error and kink flag from f(0) and the costs at (+h, -h, +2h, -2h).

    ``costs`` has shape (n, 4); ``centre`` is f(0) (n,); ``cost_error`` is e_C;
    ``kinks`` says whether the cost may have kinks at all (``has_kinks``): if
    not, nothing is tested and no margin is added.
    See the module docstring for the derivation of every term.
    """
    up1, down1, up2, down2 = costs.T
    d1 = (up1 - down1) / (2 * h)
    d2 = (up2 - down2) / (4 * h)
    fourth = up2 - 4 * up1 + 6 * centre - 4 * down1 + down2
    rounding = cost_error / h
    smooth_value = (4 * d1 - d2) / 3
    smooth_error = np.abs(d1 - d2) + 1.5 * rounding
    if kinks:  # an undetected kink's effect: |Q_k| / 4h <= (|Q| + 16 e_C) / 4h, and (2/3) 1.5 e_C / h
        smooth_error = smooth_error + np.abs(fourth) / (4 * h) + (4.0 + 1.0) * rounding

    right1, right2 = (up1 - centre) / h, (up2 - centre) / (2 * h)
    left1, left2 = (centre - down1) / h, (centre - down2) / (2 * h)
    right, left = 2 * right1 - right2, 2 * left1 - left2
    side_error = np.maximum(np.abs(right1 - right2), np.abs(left1 - left2)) + 4.0 * rounding
    kink = kinks & (np.abs(fourth) > FOURTH_DIFFERENCE_ROUNDING * cost_error)
    value = np.where(kink, (left + right) / 2, smooth_value)
    error = np.where(kink, np.abs(right - left) / 2 + side_error, smooth_error)
    return value, error, kink


def cost_rounding_bound(arch, cost_value, m, noise=0.0, terms=0.0):
    """e_C: the rounding error of one cost evaluation (see the module docstring).

    ``terms`` is ``cost_terms``: |C| alone would miss the cancellation in a - y,
    whose rounding is u (|a| + |y|), not u |a - y|.
    """
    chain = max(arch.sizes) * arch.depth + m
    return np.maximum(chain * UNIT_ROUNDOFF * (np.abs(cost_value) + terms), NOISE_SIGMAS * noise)


def cost_terms(arch, weights, biases, x_rows, y_rows):
    """The magnitude by which rounding errors of the outputs a enter the mean cost.

    Quadratic: d(a - y)^2 / 2 = (a - y) d(a - y), with |d(a - y)| <= u (|a| + |y|) per
    rounding.  Logarithmic: y ln a moves by |y| da / a (a relative error of a) plus
    |y ln a| u for the logarithm itself; ln(1 - a) by a / (1 - a) times a's relative
    error.
    """
    a = numpy_cost.forward_from(arch, 0, x_rows, weights, biases)
    y = y_rows
    with np.errstate(divide="ignore", invalid="ignore"):
        if arch.cost == "quadratic":
            t = np.abs(a - y) * (np.abs(a) + np.abs(y))
        elif arch.cost == "cross-entropy":
            t = np.abs(y) * (1 + np.abs(np.log(a))) + np.abs(1 - y) * (
                np.abs(a) / np.abs(1 - a) + np.abs(np.log1p(-a)))
        else:
            t = np.abs(y) * (1 + np.abs(np.log(a)))
    t = np.where(np.isfinite(t), t, 0.0)  # an infinite log: that stencil is not computed anyway
    return float(np.mean(np.sum(t, axis=-1)))


def measured_noise(arch, weights, biases, x_rows, y_rows, seed=0):
    """The standard deviation of the rounding noise in the cost near these parameters."""
    rng = np.random.default_rng(seed)
    side = np.arange(1, NOISE_POINTS + 1)
    k = np.concatenate([-side[::-1], side])  # two windows, theta itself left out
    stacks = []
    for params in (weights, biases):
        stack = []
        for p in params:
            direction = rng.choice([-1.0, 1.0], size=p.shape) * NOISE_SPACING * np.maximum(1.0, np.abs(p))
            stack.append(p[None] + k.reshape((-1,) + (1,) * p.ndim) * direction[None])
        stacks.append(stack)
    c = numpy_cost.parameters_cost(arch, *stacks, x_rows[None], y_rows)
    c = c + components.WeightPenalty.numpy(arch, stacks[0])
    if not np.all(np.isfinite(c)):
        return 0.0
    return float(np.min(noise_level(c.reshape(2, NOISE_POINTS))))


def noise_level(values):
    """The standard deviation of the rounding noise in values of a smooth function taken at
    equally spaced points along the last axis (More and Wild 2011): the sixth differences
    of its smooth part are negligible at the spacings used here, and those of independent
    noise of standard deviation sigma have variance C(12, 6) sigma^2 = 924 sigma^2."""
    differences = np.diff(np.asarray(values, dtype=np.float64), n=NOISE_ORDER, axis=-1)
    return np.sqrt(np.mean(differences**2, axis=-1) / math.comb(2 * NOISE_ORDER, NOISE_ORDER))


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


def probes_per_batch(arch, layer, m, per_entry):
    """How many entries' probes fit in one batch: every array of a batch is at
    most (probes, m, widest layer from ``layer`` on) float64s."""
    return max(1, PROBE_BUDGET // (per_entry * m * max(arch.sizes[layer + 1:])))


def _layer_derivatives(trace, layer, is_weight, indices, y_rows, decay, noise, terms):
    """Finite differences for every chosen entry of one layer's weights or biases: value, error
    and kink flag per entry (NaN, NaN, False where not computed)."""
    arch = trace.arch
    # f(0) per unit: a zero shift of each unit, the way its entries' probes go.
    centres = trace.unit_centres(layer, y_rows) + decay
    flat = (trace.weights if is_weight else trace.biases)[layer].ravel()
    indices = np.arange(flat.size) if indices is None else indices
    value = np.full(flat.size, np.nan)
    error = np.full(flat.size, np.nan)
    kink = np.zeros(flat.size, dtype=bool)
    m = y_rows.shape[0]
    chunk = probes_per_batch(arch, layer, m, len(STENCIL))
    kinks = has_kinks(arch)
    for start in range(0, indices.size, chunk):
        idx = indices[start:start + chunk]
        theta = flat[idx]
        h = step_sizes(theta)
        deltas = (h[:, None] * STENCIL).ravel()
        c = trace.entry_costs(layer, is_weight, np.repeat(idx, len(STENCIL)), deltas, y_rows) + decay
        if is_weight:  # the one moved weight's change of the penalties
            c = c + components.WeightPenalty.moved(arch, layer, np.repeat(theta, len(STENCIL)), deltas)
        c = c.reshape(len(idx), len(STENCIL))
        centre = centres[trace.unit_of(layer, is_weight, idx)]
        # A stencil that meets a non-finite cost (a log of an output rounded to 0 or
        # 1) gives no estimate: that entry stays NaN, "not computed".
        finite = np.all(np.isfinite(c), axis=1) & np.isfinite(centre)
        idx, c, h, centre = idx[finite], c[finite], h[finite], centre[finite]
        e_c = cost_rounding_bound(arch, np.maximum(np.max(np.abs(c), axis=1), np.abs(centre)), m, noise,
                                  terms)
        value[idx], error[idx], kink[idx] = estimate(centre, c, h, e_c, kinks)
    return value, error, kink


def slopes(arch, weights, biases, x, y, tangents, *, landscape=None, bound=None) -> Slopes:
    """dC/dtheta . d along every direction of ``tangents`` by the stencil of ``estimate`` along d.

    The steps are SLOPE_STEPS; each value of C is off by at most the landscape's
    ``point_error`` (the cost's rounding and that of the perturbed weighted inputs).
    A kink is not tested for here: ``oracles.landscape`` reports a piecewise-linear
    unit changing side along d, and a direction whose stencil crosses one is NaN.
    """
    from gradcert.oracles.landscape import Landscape  # it uses this module's noise_level

    if landscape is None:
        from gradcert.oracles.rounding import rounding_bound

        theta = Parameters(as_float64(biases), as_float64(weights))
        bound = bound or rounding_bound(arch, theta.weights, theta.biases, x, y)
        landscape = Landscape(arch, theta, x, y, bound)
    ks = list(range(len(tangents)))
    spreads = tangents.spreads(landscape.bound)
    surveys = landscape.survey(tangents, ks, SLOPE_STEPS)
    costs = np.array([[survey[h][0] for h in SLOPE_STEPS] for survey in surveys])
    crossed = np.array([any(survey[h][1] for h in SLOPE_STEPS) for survey in surveys])
    errors = np.array([landscape.point_error(tangents, k, 2 * SLOPE_STEP, spreads[k]) for k in ks])
    value, error, _ = estimate(np.full(len(ks), landscape.cost), costs.reshape(len(ks), 4), SLOPE_STEP,
                               errors, kinks=False)
    lost = crossed | ~np.isfinite(value)
    return Slopes(NAME, np.where(lost, np.nan, value), np.where(lost, np.nan, error))


# ---------------------------------------------------------------- black boxes


@dataclass(frozen=True)
class Estimate:
    """A finite-difference derivative, entry by entry (arrays of the base's shape).

    ``value`` and ``error``: the exact derivative lies within ``error`` of ``value``
    (NaN: not computed, a stencil met a non-finite value); ``kink``: the entry sits at
    a kink, where the error spans both one-sided derivatives.  ``diagonal`` (``vjp``, when
    the output has the base's shape): the estimated Jacobian diagonal d out_i / d base_i.
    """

    value: np.ndarray
    error: np.ndarray
    kink: np.ndarray
    diagonal: Estimate | None = None


def derivative(values, base, *, kinks=True, value_error=None, seed=0, budget_bytes=BUDGET_BYTES,
               dtype=np.float64) -> Estimate:
    """The gradient at ``base`` of a scalar black-box function f, entry by entry.

    * ``values(points)`` gets an ndarray (P, *base.shape) of perturbed copies of
      ``base`` (float64) and returns an ndarray (P,) of f's values there; it is
      called as few times as ``budget_bytes`` of points allow.
    * ``kinks``: whether f may have kinks (piecewise-linear parts); False skips the
      test and its margin (see the module docstring).
    * ``value_error``: a bound on the rounding error of one value of f, if known;
      the measured noise is used where it is larger.
    * ``seed`` chooses the noise probe's directions.
    * ``dtype``: the precision f computes in (float32 for a float32 model); the steps are taken
      at its scale, and the rounding of each perturbed point to it is counted (``_estimates``).
    """
    base = np.array(base, dtype=np.float64)
    flat = base.ravel()
    h = step_sizes(flat, dtype)
    centre, noise, stencil = _evaluate(values, base, h, (), seed, budget_bytes, "values(points)")
    magnitude = np.maximum(np.abs(centre), np.max(np.abs(stencil), axis=1))
    e_c = _noise_bound(noise, magnitude, value_error, dtype)
    return _estimates(centre, stencil, h, e_c, kinks, base.shape, flat, dtype)


def vjp(outputs, base, dout, *, kinks=True, value_error=None, seed=0, budget_bytes=BUDGET_BYTES,
        dtype=np.float64) -> Estimate:
    """d/d(base) of f = sum(forward(base) * dout) at ``base``, entry by entry.

    * ``outputs(points)`` gets an ndarray (P, *base.shape) of perturbed copies of
      ``base`` and returns an ndarray (P, *dout.shape): forward at each.
    * ``dout`` is the upstream gradient; ``kinks``, ``value_error`` (a bound on the
      rounding of one value of f beyond our own sum's), ``seed`` and ``dtype`` as for
      ``derivative``.

    Where the output has the base's shape, ``diagonal`` estimates d out_i / d base_i
    from the same evaluations.
    """
    base = np.array(base, dtype=np.float64)
    dout = np.array(dout, dtype=np.float64)
    flat = base.ravel()
    h = step_sizes(flat, dtype)
    centre, noise, stencil = _evaluate(outputs, base, h, dout.shape, seed, budget_bytes, "outputs(points)")
    weights = dout.ravel()

    def scalar(out):  # f = sum(out * dout) for every point, and gamma_n sum |out * dout|, our own rounding
        out = out.reshape(*out.shape[:out.ndim - dout.ndim], -1)
        return out @ weights, gamma(weights.size) * (np.abs(out) @ np.abs(weights))

    (f0, r0), (fn, _), (fs, rs) = scalar(centre), scalar(noise), scalar(stencil)
    own = np.maximum(r0, np.max(rs, axis=1))
    bound = own if value_error is None else own + value_error
    magnitude = np.maximum(np.abs(f0), np.max(np.abs(fs), axis=1))
    result = _estimates(f0, fs, h, _noise_bound(fn, magnitude, bound, dtype), kinks, base.shape, flat, dtype)
    if dout.shape != base.shape:
        return result
    n = flat.size
    entries = np.arange(n)
    own_centre = centre.reshape(n)
    own_stencil = stencil.reshape(n, len(STENCIL), n)[entries, :, entries]  # out_i at entry i's stencil
    own_noise = noise.reshape(*noise.shape[:2], n)
    magnitude = np.maximum(np.abs(own_centre), np.max(np.abs(own_stencil), axis=1))
    e_out = _noise_bound(own_noise, magnitude, None, dtype)
    diagonal = _estimates(own_centre, own_stencil, h, e_out, kinks, base.shape, flat, dtype)
    return Estimate(result.value, result.error, result.kink, diagonal)


def _evaluate(function, base, h, out_shape, seed, budget_bytes, what):
    """Evaluate ``function`` at f(0), the noise probe and every stencil, chunked by memory.

    Returns (value at base, values at the noise probe's points (2 NOISE_DIRECTIONS,
    NOISE_POINTS, *out_shape) in windows, values at the stencils (n, 4, *out_shape)).
    """
    flat = base.ravel()
    n = flat.size
    rng = np.random.default_rng(seed)
    side = np.arange(1, NOISE_POINTS + 1, dtype=np.float64)
    offsets = np.concatenate([-side[::-1], side]) * NOISE_SPACING  # two windows, base itself left out
    directions = rng.choice([-1.0, 1.0], size=(NOISE_DIRECTIONS, n)) * np.maximum(1.0, np.abs(flat))
    probe = (offsets[None, :, None] * directions[:, None, :]).reshape(-1, n)
    n_probe = probe.shape[0]
    total = 1 + n_probe + len(STENCIL) * n
    out_size = math.prod(out_shape)
    per_call = max(1, budget_bytes // (8 * (n + out_size)))
    results = []
    for start in range(0, total, per_call):
        index = np.arange(start, min(start + per_call, total))
        points = np.broadcast_to(flat, (index.size, n)).copy()
        noisy = (index >= 1) & (index < 1 + n_probe)
        points[noisy] += probe[index[noisy] - 1]
        stencils = index >= 1 + n_probe
        entry, k = np.divmod(index[stencils] - 1 - n_probe, len(STENCIL))
        points[np.flatnonzero(stencils), entry] += STENCIL[k] * h[entry]
        got = np.asarray(function(points.reshape(index.size, *base.shape)))
        if got.shape != (index.size, *out_shape):
            raise UsageError(f"{what} returned shape {got.shape} for {index.size} points; expected "
                             f"{(index.size, *out_shape)}")
        results.append(np.array(got, dtype=np.float64).reshape(index.size, -1))
    every = np.concatenate(results).reshape(total, *out_shape)
    noise = every[1:1 + n_probe].reshape(2 * NOISE_DIRECTIONS, NOISE_POINTS, *out_shape)
    return every[0], noise, every[1 + n_probe:].reshape(n, len(STENCIL), *out_shape)


def _noise_bound(noise, magnitude, bound, dtype=np.float64):
    """e_C per entry: NOISE_SIGMAS times the median of the windows' measured noise (of every
    window whose values are all finite), half an ulp (of ``dtype``) of the magnitude of the
    values, or ``bound``, whichever is largest."""
    windows = np.moveaxis(noise, 1, -1)  # (windows, *out_shape, points)
    finite = np.all(np.isfinite(windows), axis=-1)
    sigmas = np.where(finite, noise_level(np.where(finite[..., None], windows, 0.0)), np.nan)
    with warnings.catch_warnings():  # an entry none of whose windows is finite: no measurement, 0
        warnings.simplefilter("ignore", RuntimeWarning)
        sigma = np.nan_to_num(np.nanmedian(sigmas, axis=0), nan=0.0)
    u = np.finfo(np.dtype(dtype)).eps / 2
    e_c = np.maximum(NOISE_SIGMAS * sigma, u * np.nan_to_num(magnitude, nan=0.0, posinf=0.0))
    return e_c if bound is None else np.maximum(e_c, bound)


def _estimates(centre, stencil, h, e_c, kinks, shape, theta=None, dtype=np.float64):
    """``estimate`` for every entry; NaN where a value is not finite.

    A function computing in a lower precision than float64 rounds each perturbed point theta + k h
    to it: theta + h is exact (``step_sizes``), theta + 2h may move by u |theta + 2h|, a step off by
    that much relative to 2h, which moves the slope by |value| u (|theta| + 2h) / 2h: added.
    """
    centre = np.broadcast_to(centre, h.shape)
    finite = np.all(np.isfinite(stencil), axis=1) & np.isfinite(centre)
    with np.errstate(invalid="ignore", over="ignore"):
        value, error, kink = estimate(centre, stencil, h, np.broadcast_to(e_c, h.shape), kinks)
        if theta is not None and np.dtype(dtype) != np.float64:
            u = np.finfo(np.dtype(dtype)).eps / 2
            error = error + np.abs(value) * u * (np.abs(theta) + 2 * np.abs(h)) / (2 * np.abs(h))
    value, error = np.where(finite, value, np.nan), np.where(finite, error, np.nan)
    return Estimate(value.reshape(shape), error.reshape(shape), (kink & finite).reshape(shape))
