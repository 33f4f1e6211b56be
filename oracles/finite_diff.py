"""Oracle: central finite differences of the cost, a black box.

Only the cost's value is used (``oracles.numpy_cost``); no derivative of any
layer is written down, so this oracle shares nothing with backpropagation but
the definition of the cost.

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

import numpy as np
from gradcert.oracles import numpy_cost
from gradcert.oracles.base import OracleGradient, as_float64, columns

NAME = "finite-diff"
UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
PROBE_BUDGET = 2**18  # float64 entries in one probe batch's largest array: 2 MiB, cache-sized
STENCIL = np.array([1.0, -1.0, 2.0, -2.0])  # theta + h, - h, + 2h, - 2h
NOISE_SPACING = 1e-6  # relative spacing of the noise-measuring points
NOISE_ORDER = 6  # the order of the differences that measure noise
NOISE_POINTS = 12  # points on each side of theta: 6 sixth differences per side
NOISE_SIGMAS = 4.0  # e_C covers this many measured standard deviations
FOURTH_DIFFERENCE_ROUNDING = 16.0  # |1| + |-4| + |6| + |-4| + |1|: Q's rounding in units of e_C
PIECEWISE = ("relu", "leaky_relu")  # the activations with a kink; all else is analytic


def available() -> bool:
    return True


def step_sizes(theta):
    h = np.cbrt(UNIT_ROUNDOFF) * np.maximum(1.0, np.abs(theta))
    return (theta + h) - theta  # exactly representable, so the stencil is symmetric


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
    decay = 0.5 * arch.l2 * sum(np.sum(np.square(w)) for w in weights)
    nabla_b, nabla_w, error_b, error_w = [], [], [], []
    for layer in range(arch.depth):
        for params, is_weight in ((weights, True), (biases, False)):
            value, error = _layer_derivatives(trace, layer, is_weight, chosen[layer][is_weight],
                                              y_rows, decay, noise, terms)
            (nabla_w if is_weight else nabla_b).append(value.reshape(params[layer].shape))
            (error_w if is_weight else error_b).append(error.reshape(params[layer].shape))
    return OracleGradient(NAME, nabla_b, nabla_w, error_b, error_w)


def has_kinks(arch) -> bool:
    """Whether some unit of ``arch`` is piecewise linear (relu or leaky_relu)."""
    names = set(arch.activations)
    if arch.modified_neuron is not None:
        names.add(arch.modified_neuron[2])
    return bool(names & set(PIECEWISE))


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
    c = c + 0.5 * arch.l2 * sum(np.sum(np.square(w), axis=(-2, -1)) for w in stacks[0])
    if not np.all(np.isfinite(c)):
        return 0.0
    differences = np.diff(c.reshape(2, NOISE_POINTS), n=NOISE_ORDER, axis=1)
    return float(np.sqrt(np.min(np.mean(differences**2, axis=1)) / 924.0))  # 924 = C(12, 6)


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
    """Finite differences for every chosen entry of one layer's weights or biases."""
    arch = trace.arch
    n_units = trace.zs[layer].shape[1]
    # f(0) per unit: a zero shift of each unit, the way its entries' probes go.
    centres = trace.shifted_costs(layer, np.arange(n_units), np.zeros((n_units, y_rows.shape[0])),
                                  y_rows) + decay
    flat = (trace.weights if is_weight else trace.biases)[layer].ravel()
    indices = np.arange(flat.size) if indices is None else indices
    value = np.full(flat.size, np.nan)
    error = np.full(flat.size, np.nan)
    m = y_rows.shape[0]
    chunk = probes_per_batch(arch, layer, m, len(STENCIL))
    kinks = has_kinks(arch)
    for start in range(0, indices.size, chunk):
        idx = indices[start:start + chunk]
        theta = flat[idx]
        h = step_sizes(theta)
        deltas = (h[:, None] * STENCIL).ravel()
        units, shifts = trace.unit_shifts(layer, is_weight, np.repeat(idx, len(STENCIL)), deltas)
        c = trace.shifted_costs(layer, units, shifts, y_rows) + decay
        if is_weight and arch.l2:  # (theta + delta)^2 - theta^2 of the one moved weight
            c = c + 0.5 * arch.l2 * deltas * (2 * np.repeat(theta, len(STENCIL)) + deltas)
        c = c.reshape(len(idx), len(STENCIL))
        centre = centres[units[::len(STENCIL)]]
        # A stencil that meets a non-finite cost (a log of an output rounded to 0 or
        # 1) gives no estimate: that entry stays NaN, "not computed".
        finite = np.all(np.isfinite(c), axis=1) & np.isfinite(centre)
        idx, c, h, centre = idx[finite], c[finite], h[finite], centre[finite]
        e_c = cost_rounding_bound(arch, np.maximum(np.max(np.abs(c), axis=1), np.abs(centre)), m, noise,
                                  terms)
        value[idx], error[idx], _ = estimate(centre, c, h, e_c, kinks)
    return value, error


# --- Black boxes: a layer's forward, a model's loss (one estimator for every kind of target)

class Estimate:
    """Finite-difference derivatives of a black box: ``value``, ``error`` (a bound on how far the
    value may be from the derivative), ``kink`` (where the function has a kink) and, for ``vjp``
    when input and output have one shape, ``diagonal``: the estimated d out_i / d base_i."""

    def __init__(self, value, error, kink, diagonal=None):
        self.value, self.error, self.kink, self.diagonal = value, error, kink, diagonal


def _stencil_points(base):
    """f(0) and f(+h), f(-h), f(+2h), f(-2h) along every entry: points (1 + 4 n, *shape) and h."""
    flat = base.reshape(-1)
    h = step_sizes(flat)
    points = np.repeat(base[None], 1 + 4 * flat.size, axis=0).reshape(1 + 4 * flat.size, -1)
    for k, s in enumerate(STENCIL):
        rows = 1 + k * flat.size + np.arange(flat.size)
        points[rows, np.arange(flat.size)] += s * h
    return points.reshape((-1, *base.shape)), h


def _from_values(f, n, h, noise, kinks, shape):
    centre = np.full(n, f[0])
    costs = np.stack([f[1 + k * n:1 + (k + 1) * n] for k in range(len(STENCIL))], axis=1)
    finite = np.all(np.isfinite(costs), axis=1) & np.isfinite(centre)
    value, error, kink = estimate(centre, costs, h, np.full(n, noise), kinks)
    value = np.where(finite, value, np.nan)
    return value.reshape(shape), error.reshape(shape), kink.reshape(shape)


def _noise_points(base):
    """Points along a random direction, 1e-6 apart, on each side of base (base itself left out):
    their sixth differences measure the rounding noise of a value (Moré and Wild)."""
    rng = np.random.default_rng(0)
    direction = rng.choice([-1.0, 1.0], size=base.shape) * NOISE_SPACING * np.maximum(1.0, np.abs(base))
    side = np.arange(1, NOISE_POINTS + 1)
    offsets = np.concatenate([-side[::-1], side])
    return base[None] + offsets.reshape((-1,) + (1,) * base.ndim) * direction[None]


def _measured_noise(values):
    if not np.all(np.isfinite(values)):
        return 0.0
    differences = np.diff(values.reshape(2, NOISE_POINTS), n=NOISE_ORDER, axis=1)
    return float(np.sqrt(np.min(np.mean(differences**2, axis=1)) / 924.0))  # 924 = C(12, 6)


def derivative(values, base, *, kinks=True):
    """The gradient at ``base`` of a scalar black box, entry by entry (see ``estimate``).

    ``values(points)`` takes an array (P, *base.shape) and returns the function's P values.  The
    rounding of one value is bounded by the larger of 2^6 u |f| and 4 standard deviations of the
    noise measured along a random direction (Moré and Wild), as ``measured_noise`` does for the
    network's cost.
    """
    base = np.array(base, dtype=np.float64)
    points, h = _stencil_points(base)
    probe = _noise_points(base)
    f = np.asarray(values(np.concatenate([points, probe])), dtype=np.float64).reshape(-1)
    f, noise_values = f[:len(points)], f[len(points):]
    # 2^6 u |f|: a few dozen roundings of numbers of f's size, the least a loss of a few operations has.
    noise = max(64 * UNIT_ROUNDOFF * abs(float(f[0])), NOISE_SIGMAS * _measured_noise(noise_values))
    return Estimate(*_from_values(f, base.size, h, noise, kinks, base.shape))


def vjp(outputs, base, dout, *, kinks=True):
    """d/dbase of sum(forward(base) * dout), entry by entry; ``outputs(points)`` returns the forward
    outputs (P, *out_shape) at P points (P, *base.shape).  Each value's rounding is bounded by the
    larger of (size + 1) u sum |out * dout| (an n-term sum of the outputs) and the noise measured
    along a random direction, which also sees the forward's own rounding (out = x w + b cancelling)."""
    base = np.array(base, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    points, h = _stencil_points(base)
    probe = _noise_points(base)
    out = np.asarray(outputs(np.concatenate([points, probe])), dtype=np.float64)
    out = out.reshape(len(points) + len(probe), *dout.shape)
    flat_out, flat_dout = out.reshape(len(out), -1), dout.reshape(-1)
    values = flat_out @ flat_dout
    f, noise_values = values[:len(points)], values[len(points):]
    static = (dout.size + 1) * UNIT_ROUNDOFF * float(np.max(np.abs(flat_out[:len(points)]) @ np.abs(flat_dout)))
    noise = max(static, NOISE_SIGMAS * _measured_noise(noise_values))
    value, error, kink = _from_values(f, base.size, h, noise, kinks, base.shape)
    diagonal = None
    if out.shape[1:] == base.shape:
        n = base.size
        flat = flat_out[:len(points)]
        index = np.arange(n)
        up, down = flat[1 + index, index], flat[1 + n + index, index]
        diagonal = ((up - down) / (2 * h)).reshape(base.shape)
    return Estimate(value, error, kink, diagonal)
