"""Directional mode: certify a gradient by its projections, for networks too big to check entry by entry.

For a scalar cost the vector-Jacobian product of 1 *is* the gradient g, so the
dot-product test <v, VJP(u)> = <JVP(u), v> becomes

    <g_candidate, d>  =  dC/dtheta . d      for directions d,

the right side computed independently: by forward-mode automatic
differentiation of the network rebuilt in torch (``torch.func.jvp``, the
directions vmapped together) or JAX (``jax.jvp``), or, with neither
installed, by a central difference of the oracles' own NumPy cost along d.
A direction costs about one forward pass whatever the number of parameters:
a network of a million parameters is checked in well under a second.

Directions.  ``directions`` global random ones, on every tensor; then, with
``per_tensor``, two on each single tensor (nabla_b[0], nabla_w[0], ...): a
random one, and one along the signs of the candidate's own gradient there
("nabla_w[0] along g").  Random entries are mixed-sign Rademacher (+-1) or
Gaussian, never all of one sign; every direction is scaled per tensor by a
power of two near the size of that tensor's entries, so that a step along d
moves every layer's weighted inputs alike (and Rademacher products g_i d_i are
exact).

Then the Taylor test (as pyadjoint's ``taylor_test``) along each global direction:

    r(h) = |C(theta + h d) - C(theta) - h <g, d>|

is O(h^2) when g is the gradient and O(h) when it is not, so the observed rates
log2(r(h) / r(h/2)) settle at 2 or at 1.  It needs no oracle and no tolerance;
before it calls a rate near 1 a bug it checks, from C(theta - h d) as well, that
the steps resolve C's curvature (``TaylorRecord``), and says "cannot-check" where
they do not.

What it can and cannot see.  The tolerance of a projection is the rounding
bound summed along it, 2 gamma sum_i |d_i| M_i (see ``directional_check``):
about n times the per-entry tolerance of the exhaustive comparison, for a
direction over n entries.  So:

* one wrong entry is diluted.  Measured with today's rounding bound (whose
  magnitudes M run 10^4 times |g| and more on these networks): on [784, 30, 10],
  batch 10, an error in one entry of nabla_w[0] is seen only when it is ~10% of
  the largest entry; on [1000, 1000, 10], not even then.  The per-tensor
  directions shrink n to one tensor, so a small tensor (a bias, the output
  layer) is not swamped by a big one, but a single-entry guarantee needs the
  exhaustive comparison (``properties.compare``), on a network small enough;
* an error spread over a tensor is not.  Against random signs its projection
  grows like sqrt(n) while the tolerance grows like n; along sign(g) an error
  proportional to g (a lost 1/m, a factor, a 1e-3 slip in every entry) adds up
  to c sum |g_i|, growing like n as well.  Measured: a whole tensor off by a
  relative 1e-5 on [784, 30, 10] and 1e-3 on [1000, 1000, 10] fails; a sign
  flip, a missing factor or a zeroed layer fails every direction.

Where a ReLU-type unit's weighted input is at or crosses 0 within the smallest
step along d, the cost has a kink there: that direction is "cannot-check",
never a bug.

The oracle side imports nothing of the reference's math: the architecture
description, ``oracles.numpy_cost`` and the oracles' torch and JAX pieces.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from oracles import finite_diff, numpy_cost
from oracles.base import as_float64, columns
from oracles.rounding import gamma, rounding_bound

__all__ = ["DirectionRecord", "DirectionalResult", "TaylorRecord", "directional_check"]

UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
ORACLES = ("auto", "torch", "jax", "finite-diff")
DISTRIBUTIONS = ("rademacher", "gaussian")
PIECEWISE = ("relu", "leaky_relu")  # activations with a kink at z = 0

# Taylor test.  Steps h0, h0/2, h0/4, ... with d scaled to the parameters' size:
# h0 = 1/8 moves each weighted input by about an eighth of its own size, well
# inside the region where C is its quadratic Taylor polynomial plus a small cubic.
TAYLOR_FIRST_STEP = 2.0**-3
TAYLOR_MAX_HALVINGS = 12  # down to h0 / 4096: r has usually settled long before
TAYLOR_STEPS = tuple(TAYLOR_FIRST_STEP * 2.0**-k for k in range(TAYLOR_MAX_HALVINGS + 1))
# A ReLU-type unit changing side within this step of theta, either way, is a kink at theta.
KINK_STEP = TAYLOR_STEPS[-1]
# r(h) is used only while it exceeds NOISE_MARGIN times its own rounding error:
# then r is known to 1 part in NOISE_MARGIN at both ends of a rate, and the rate
# to log2((1 + 1/100) / (1 - 1/100)) = 0.029.
NOISE_MARGIN = 100.0
# The verdict reads the last two rates (the smallest usable steps), and only
# once they have settled: within TAYLOR_SETTLED of each other.  Why both numbers:
#   * a right gradient gives r(h) = c2 h^2 (1 + k h + ...), rates 2 + log2((1 + k h) / (1 + k h / 2)):
#     the deficit from 2 halves at every step, so two rates within 0.1 of each other are
#     within about 0.1 of 2 (or, when c2 vanishes, near 3 or above);
#   * a wrong one gives r(h) = |e| h (1 + rho), rho = c2 h / e halving at every step,
#     rates 1 + log2((1 + rho) / (1 + rho / 2)): settled means within about 0.1 of 1 --
#     unless rho > 10, where the rate is above 1.85 and the error e, under a tenth of
#     what curvature adds at that step, is too small for this test (the dot-product
#     test still sees it);
#   * rounding moves each rate by at most 0.03 (NOISE_MARGIN).
# Settled rates thus sit near 1, or at 1.85 and above: 1.8 splits them, with a
# margin of 0.07 left for a right gradient after rounding.  Unsettled rates (the
# cubic term still crossing the quadratic one, the error still crossing curvature)
# are "cannot-check", never a verdict; so is a rate near 1 that the odd and even
# parts of the residual do not confirm (see TaylorRecord): the same thresholds
# apply to them, the odd part being e h + O(h^3) and the even part c2 h^2 + O(h^4).
TAYLOR_PASS_RATE = 1.8
TAYLOR_SETTLED = 0.1

# Central difference along d (the oracle when no AD framework is installed):
# the step balancing h^2 truncation against u / h rounding, a power of two.
FD_STEP = 2.0 ** round(math.log2(np.cbrt(UNIT_ROUNDOFF)))

NOISE_SPACING = 2.0**-30  # between the points that measure the cost's rounding noise
NOISE_SEED = 2**31 - 1
TANGENT_BUDGET_BYTES = 256 * 2**20  # stacked tangents of the directions vmapped together


@dataclass(frozen=True)
class DirectionRecord:
    """One dot-product test: the candidate's <g, d> against an oracle's dC/dtheta . d."""

    label: str  # "global 0", ..., or the one tensor d lives on: "nabla_w[1]", "nabla_w[1] along g"
    candidate: float
    oracle: float
    tolerance: float
    kink: bool = False  # a ReLU-type unit at z = 0 along d: the derivative does not exist

    @property
    def difference(self) -> float:
        return abs(self.candidate - self.oracle)

    @property
    def excess(self) -> float:
        """|difference| / tolerance: above 1 is a disagreement."""
        if self.difference == 0:
            return 0.0
        if not math.isfinite(self.difference):
            return math.inf
        return self.difference / self.tolerance if self.tolerance > 0 else math.inf

    @property
    def status(self) -> str:
        if self.kink:
            return "cannot-check"
        return "pass" if self.excess <= 1.0 else "bug"


@dataclass(frozen=True)
class TaylorRecord:
    """The Taylor test along one direction: residuals r(h) and their rates of decrease.

    ``rates`` are pyadjoint's, of r(h) = |C(theta + h d) - C(theta) - h <g, d>|.  Before
    a rate near 1 is called a bug, the test checks its own premise, that C is smooth
    at the steps it took, by splitting the signed residual R(h) into its odd part
    (R(h) - R(-h)) / 2 = (C(theta + h d) - C(theta - h d)) / 2 - h <g, d>, which is
    e h + O(h^3) for an error e in <g, d>, and its even part (R(h) + R(-h)) / 2, which
    is c2 h^2 + O(h^4) where C is smooth at the scale of h.  "bug" needs both: the
    odd part's rates settled below TAYLOR_PASS_RATE (a wrong slope) and the even
    part's settled at or above it (the steps do resolve C's curvature).  Otherwise C
    bends faster than the steps can follow -- a batch normalised over two nearly
    equal examples, a deeply saturated unit: a kink in all but name -- and a rate
    near 1 proves nothing: "cannot-check".
    """

    label: str
    steps: tuple[float, ...]
    residuals: tuple[float, ...]  # r(h); NaN where the step crossed a kink
    rates: tuple[float, ...]  # log2(r(h) / r(h/2)) over the last run of usable steps
    odd_rates: tuple[float, ...]
    even_rates: tuple[float, ...]
    floor: float  # a residual is used only above NOISE_MARGIN * floor
    kink: bool = False  # a ReLU-type unit changes side within the smallest step of theta

    @property
    def rate(self) -> float | None:
        """The rate at the smallest usable step, the one the verdict reads; None if none."""
        return self.rates[-1] if self.rates else None

    @property
    def settled(self) -> bool:
        return _settled(self.rates)

    @property
    def status(self) -> str:
        if self.kink or not self.settled:
            return "cannot-check"
        if self.rate >= TAYLOR_PASS_RATE:
            return "pass"
        wrong_slope = _settled(self.odd_rates) and self.odd_rates[-1] < TAYLOR_PASS_RATE
        smooth = _settled(self.even_rates) and self.even_rates[-1] >= TAYLOR_PASS_RATE
        return "bug" if wrong_slope and smooth else "cannot-check"


def _listed(rates):
    return ", ".join(f"{x:.2f}" for x in rates)


def _settled(rates):
    return len(rates) >= 2 and abs(rates[-1] - rates[-2]) <= TAYLOR_SETTLED


@dataclass(frozen=True)
class DirectionalResult:
    """The outcome of ``directional_check``: every dot-product and Taylor test, and the time taken."""

    oracle: str
    records: tuple[DirectionRecord, ...]
    taylor: tuple[TaylorRecord, ...]
    seconds: float

    @property
    def verdict(self) -> str:
        """"bug" if any test fails, "cannot-check" if no dot-product test could decide, else "pass"."""
        statuses = [r.status for r in self.records] + [t.status for t in self.taylor]
        if "bug" in statuses:
            return "bug"
        if not any(r.status == "pass" for r in self.records):
            return "cannot-check"
        return "pass"

    @property
    def agrees(self) -> bool:
        return self.verdict == "pass"

    @property
    def taylor_rates(self) -> dict[str, tuple[float, ...]]:
        return {t.label: t.rates for t in self.taylor}

    @property
    def failures(self) -> list:
        return [r for r in (*self.records, *self.taylor) if r.status == "bug"]

    def describe(self) -> str:
        """One line per test, for an assertion message or a report."""
        lines = [f"directional check against {self.oracle}: {self.verdict} ({self.seconds:.2f} s)"]
        for r in self.records:
            lines.append(f"  {r.label:<20} <g,d> {r.candidate:+.12e}  oracle {r.oracle:+.12e}  "
                         f"|diff| {r.difference:.2e}  tol {r.tolerance:.2e}  {r.status}")
        for t in self.taylor:
            line = f"  taylor {t.label:<12} rates [{_listed(t.rates)}]"
            if t.rate is not None and t.rate < TAYLOR_PASS_RATE:
                line += f" (odd part [{_listed(t.odd_rates)}], even part [{_listed(t.even_rates)}])"
            lines.append(f"{line}  {t.status}" + ("  (kink)" if t.kink else ""))
        return "\n".join(lines)


def directional_check(case, gradient, *, directions: int = 4, seed: int = 0, oracle: str = "auto",
                      per_tensor: bool = True, distribution: str = "rademacher",
                      taylor: bool = True) -> DirectionalResult:
    """Check ``gradient = (nabla_b, nabla_w)`` for ``case`` along random directions.

    * ``case`` is a ``properties.strategies.Case``.
    * ``gradient`` is the candidate's ``(nabla_b, nabla_w)`` in Nielsen's layout.
    * ``directions`` is the number of global random directions (>= 1).
    * ``seed`` chooses the directions.
    * ``oracle``: ``"torch"`` or ``"jax"`` (forward-mode AD), ``"finite-diff"``
      (a central difference along d), or ``"auto"``: torch when installed, else
      finite differences.
    * ``per_tensor`` adds two directions on each single tensor: a random one
      and one along the signs of the candidate's gradient there.
    * ``distribution``: ``"rademacher"`` (+-1 entries) or ``"gaussian"``.
    * ``taylor`` runs the Taylor test along every global direction.

    Nothing passed in is modified.
    """
    start = time.perf_counter()
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions={directions!r} must be a whole number >= 1")
    if oracle not in ORACLES:
        raise ValueError(f"oracle={oracle!r}: choose from {', '.join(ORACLES)}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution={distribution!r}: choose from {', '.join(DISTRIBUTIONS)}")
    arch = case.arch
    theta = _Parameters(as_float64(case.biases), as_float64(case.weights))
    g = _Parameters(*_candidate_tensors(arch, gradient))
    g_norms = [float(np.sum(np.abs(t))) for _, _, t in g.tensors()]
    bound = rounding_bound(arch, case.weights, case.biases, case.x, case.y)
    magnitude = _Parameters(bound.magnitude_b, bound.magnitude_w)
    landscape = _Landscape(arch, theta, case.x, case.y, magnitude)
    oracle = _resolve(oracle)
    drawn = _Directions(theta, directions, seed, distribution, per_tensor, g)
    if oracle != "finite-diff":
        slopes = {"torch": _torch_slopes, "jax": _jax_slopes}[oracle]
        values = slopes(arch, theta, case.x, case.y, drawn)
    magnitude_sums = [float(np.sum(t)) for _, _, t in magnitude.tensors()]

    records, taylors = [], []
    for k, label in enumerate(drawn.labels):
        d = drawn.direction(k)
        with_taylor = taylor and label.startswith("global")
        spread = drawn.spread(k, magnitude, magnitude_sums)  # sum_i |d_i| M_i
        central = oracle == "finite-diff"
        # The first direction also measures the cost's rounding noise, which the Taylor
        # test and the central difference need, in the same evaluation.
        first = k == 0 and (with_taylor or central)
        survey = landscape.survey(d, taylor=with_taylor, central=central, noise=first)
        if first:
            landscape.measured_noise = landscape.noise_along(d, survey)
        if oracle == "finite-diff":
            value, oracle_error = landscape.central_difference(d, survey, spread)
        else:
            value, oracle_error = values[k], 0.0
        candidate, dot_error = _dot(g, d, g_norms, drawn.largest[k])
        # The tolerance.  A correct candidate's entry g_i is within gamma M_i of the
        # exact derivative (oracles/rounding.py: M bounds the terms every correct
        # float64 backprop sums, gamma_N their rounding, in any order).  The AD
        # oracle's dC/dtheta . d sums the same chain-rule products, each times
        # d_i and bracketed from the input side instead of the output side;
        # Higham's bound holds for any bracketing, so its error is at most
        # gamma sum_i |d_i| M_i too.  Hence |<g_c - g, d>| <= sum_i |d_i| (2 gamma M_i),
        # plus the rounding of the candidate's own dot product (dot_error) and,
        # for finite differences, that oracle's truncation and rounding estimate.
        tolerance = 2 * bound.gamma * spread + dot_error + oracle_error
        kink = survey.get(KINK_STEP, (0.0, False))[1] or survey.get(-KINK_STEP, (0.0, False))[1]
        if with_taylor:
            taylors.append(landscape.taylor(label, d, survey, candidate, spread, kink))
        records.append(DirectionRecord(label, candidate, value, tolerance, kink))
    return DirectionalResult(oracle, tuple(records), tuple(taylors), time.perf_counter() - start)


@dataclass(frozen=True)
class _Parameters:
    """biases and weights as two lists of arrays; a direction has the same shape, None off its support."""

    biases: list
    weights: list

    def tensors(self):
        """(name, layer, array or None) for nabla_b[0], nabla_w[0], nabla_b[1], ..."""
        for layer, (b, w) in enumerate(zip(self.biases, self.weights)):
            yield f"nabla_b[{layer}]", layer, b
            yield f"nabla_w[{layer}]", layer, w


def _candidate_tensors(arch, gradient):
    try:
        nabla_b, nabla_w = gradient
        nabla_b, nabla_w = list(nabla_b), list(nabla_w)
    except (TypeError, ValueError):
        raise ValueError("gradient must be (nabla_b, nabla_w): two lists of arrays, one per layer") from None
    if len(nabla_b) != arch.depth or len(nabla_w) != arch.depth:
        raise ValueError(f"gradient has {len(nabla_b)} bias and {len(nabla_w)} weight tensors "
                         f"for {arch.depth} layers")
    biases, weights = [], []
    for layer, (w_shape, b_shape) in enumerate(arch.shapes):
        for name, given, shape, out in (("nabla_b", nabla_b, b_shape, biases),
                                        ("nabla_w", nabla_w, w_shape, weights)):
            t = np.asarray(given[layer], dtype=np.float64)
            if t.shape != shape:
                raise ValueError(f"{name}[{layer}] has shape {t.shape}; expected {shape} (Nielsen's layout)")
            out.append(t)
    return biases, weights


def _resolve(oracle):
    if oracle == "auto":
        from oracles import torch_grad

        return "torch" if torch_grad.available() else "finite-diff"
    return oracle


def _rates(residuals, usable_above):
    """log2(r(h) / r(h/2)) over the last run of consecutive usable residuals (NaN never is)."""
    run, current = [], []
    for r in residuals:
        if r >= usable_above:
            current.append(r)
            run = current
        else:
            current = []
    return tuple(math.log2(r0 / r1) for r0, r1 in zip(run, run[1:]))


class _Directions:
    """The directions: ``count`` random global ones, then (``per_tensor``) two per tensor:
    a random one, and one along the signs of the candidate's own gradient there.

    Why the second: the commonest bugs scale a whole tensor (a lost 1/m, a factor, an
    error of 1e-3 in every entry), an error e = c g.  Against random signs its
    projection grows like sqrt(n) times one entry while the rounding tolerance grows
    like n; along sign(g) it is c sum |g_i|, which grows like n too, so a small
    relative error in a big tensor stays visible.

    Stored per tensor as one array of shape (number of directions, *tensor shape),
    zero where a direction does not reach, so that the AD oracle takes them as one
    batch of tangents without a copy; ``direction(k)`` views one of them.
    """

    def __init__(self, theta, count, seed, distribution, per_tensor, candidate):
        tensors = list(theta.tensors())
        own = range(len(tensors)) if per_tensor else range(0)
        self.labels = [f"global {k}" for k in range(count)]
        self.supports = [range(len(tensors))] * count
        for i in own:
            self.labels += [tensors[i][0], f"{tensors[i][0]} along g"]
            self.supports += [[i], [i]]
        scales = [_scale(t, theta.weights[layer].shape[1]) for _, layer, t in tensors]
        self.stacked = [np.zeros((len(self.labels), *t.shape)) for _, _, t in tensors]
        # largest[k][i] bounds |d_i| on tensor i (None off the support); `uniform[k]` says
        # that every |d_i| is that bound or 0 (Rademacher entries, signs of g).
        self.largest = [[None] * len(tensors) for _ in self.labels]
        rademacher = distribution == "rademacher"
        self.uniform = [rademacher] * count + [rademacher, True] * len(own)
        # A NaN in the candidate gets sign 0 here: the random directions, which it makes fail, report it.
        signs = [np.sign(np.where(np.isfinite(t), t, 0.0)) for _, _, t in candidate.tensors()] if own else []
        for k, (label, support) in enumerate(zip(self.labels, self.supports)):
            rows = [self.stacked[i][k] for i in support]
            if label.endswith(" along g"):
                np.multiply(signs[support[0]], scales[support[0]], out=rows[0])
            else:
                # global k from stream (seed, 0, k), tensor i's own from (seed, 1, i)
                rng = np.random.default_rng((seed, 0, k) if k < count else (seed, 1, support[0]))
                for i, row in zip(support, rows):
                    _draw(rng, distribution, scales[i], out=row)
                _mix_signs(rng, rows)
            for i, row in zip(support, rows):
                self.largest[k][i] = scales[i] if self.uniform[k] else float(np.max(np.abs(row)))

    def direction(self, k):
        parts = [None] * len(self.stacked)
        for i in self.supports[k]:
            parts[i] = self.stacked[i][k]
        return _Parameters(parts[0::2], parts[1::2])

    def tangents(self, start, stop):
        """Directions start..stop-1 as (weights, biases) tangent stacks (views)."""
        rows = [t[start:stop] for t in self.stacked]
        return rows[1::2], rows[0::2]

    def spread(self, k, magnitude, magnitude_sums):
        """sum_i |d_i| M_i over direction k (a bound's size: its own rounding is immaterial)."""
        if self.uniform[k]:
            return sum(self.largest[k][i] * magnitude_sums[i] for i in self.supports[k])
        tensors = list(magnitude.tensors())
        return float(sum(np.einsum("ij,ij->", np.abs(self.stacked[i][k]), tensors[i][2])
                         for i in self.supports[k]))


def _draw(rng, distribution, scale, out):
    """Fill ``out`` with scale * (+-1, one random bit per entry) or scale * N(0, 1)."""
    if distribution == "gaussian":
        np.multiply(rng.standard_normal(out.shape), scale, out=out)
        return out
    bits = np.unpackbits(np.frombuffer(rng.bytes((out.size + 7) // 8), dtype=np.uint8), count=out.size)
    np.multiply(bits.reshape(out.shape), -2.0 * scale, out=out)  # 0 or -2 scale ...
    out += scale  # ... then +-scale, without a temporary the size of out
    return out


def _scale(tensor, fan_in):
    """A power of two near the root-mean-square of a tensor's entries (at least 1/sqrt(fan_in),
    the size a weight needs to move a weighted input by order one)."""
    rms = math.sqrt(float(np.mean(tensor * tensor))) if tensor.size else 0.0
    return 2.0 ** round(math.log2(max(rms, 1.0 / math.sqrt(fan_in))))


def _mix_signs(rng, parts):
    """Flip one entry if a direction of more than one entry came out all of one sign."""
    flat = [p.reshape(-1) for p in parts]
    if sum(f.size for f in flat) < 2:
        return
    if all(np.all(f > 0) for f in flat) or all(np.all(f < 0) for f in flat):
        i = int(rng.integers(len(flat)))
        flat[i][int(rng.integers(flat[i].size))] *= -1.0


def _dot(g, d, g_norms, largest):
    """<g, d> over d's support, and a bound on its rounding error.

    Each tensor's products are summed row by row (at most n_in terms, in any order:
    gamma_{n_in + 1} times sum |g_i d_i| <= ||g||_1 max |d_i|, the +1 for the product
    itself) and the row sums exactly by fsum, so the bound does not grow with the
    number of parameters.  ``g_norms`` are the tensors' ||g||_1, ``largest`` their max |d_i|.
    """
    rows, error = [], 0.0
    for (_, _, gt), (_, _, dt), norm, top in zip(g.tensors(), d.tensors(), g_norms, largest):
        if dt is None:
            continue
        rows.append(np.einsum("...j,...j->...", gt, dt))
        error += gamma(dt.shape[-1] + 1) * norm * top
    value = math.fsum(np.concatenate([r.ravel() for r in rows]))
    return value, error + UNIT_ROUNDOFF * abs(value)


class _Landscape:
    """The oracles' NumPy cost around theta: values along directions, kinks, its rounding noise.

    C(theta + h d) is evaluated for many steps h at once, without forming theta + h d.
    The weighted input of the first layer d touches is affine in h,

        z(h) = (a W^T + b^T) + h (a D^T + db^T),

    so all steps together cost one matrix product there (a D^T; z itself is kept from
    theta); the layers after it take every step's examples as rows of one product.
    The affine step and batch normalisation are written here as ``oracles.numpy_cost``'s
    ``layer_forward`` has them; activations and costs are ``numpy_cost``'s own.
    """

    def __init__(self, arch, theta, x, y, magnitude):
        self.arch, self.theta, self.magnitude = arch, theta, magnitude
        self.x_rows, self.y_rows = columns(x).T, columns(y).T
        self.m = self.x_rows.shape[0]
        self.units = [np.array([j for j in range(n) if arch.unit_activation(layer, j) in PIECEWISE],
                               dtype=int) for layer, n in enumerate(arch.sizes[1:])]
        self.inputs, self.zs, self.signs = [self.x_rows], [], []
        for layer in range(arch.depth):
            w, b = theta.weights[layer], theta.biases[layer]
            z = self.inputs[-1] @ w.T + b.T
            a, u = self._activate(layer, z)
            self.zs.append(z)
            self.inputs.append(a)
            self.signs.append(u[..., self.units[layer]] > 0)
        self.squares = [float(np.sum(w * w)) for w in theta.weights] if arch.l2 else None
        self.held = [float(np.einsum("ij,ij->", np.abs(t), mt))  # sum_i M_i |theta_i|, per tensor
                     for (_, _, t), (_, _, mt) in zip(theta.tensors(), magnitude.tensors())]
        self.measured_noise = None
        nowhere = _Parameters([None] * arch.depth, [None] * arch.depth)
        self.cost = float(numpy_cost.data_cost(arch, self.inputs[-1], self.y_rows, z_out=u)
                          + self._decay(np.zeros(1), nowhere)[0])

    @functools.cached_property
    def cost_error(self):
        """e_C: how far one value of C may be off by rounding (finite_diff's bound, with the
        noise measured here); only the Taylor test and the central difference need it."""
        noise = self._noise()
        return float(finite_diff.cost_rounding_bound(self.arch, abs(self.cost), self.m, noise))

    def _activate(self, layer, z):
        """A layer's output from its weighted input z (..., m, n_out), as numpy_cost.layer_forward
        computes it, and the input of its activation (z, normalised if the layer is)."""
        arch = self.arch
        if arch.batch_norm[layer]:  # over the examples of each step
            centred = z - z.mean(axis=-2, keepdims=True)
            z = centred / np.sqrt(np.mean(centred * centred, axis=-2, keepdims=True) + arch.bn_epsilon)
        out = numpy_cost.activation(arch.activations[layer], z, arch.leaky_slope)
        if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
            _, unit, name = arch.modified_neuron
            out = np.array(out, copy=True)
            out[..., unit] = numpy_cost.activation(name, z[..., unit], arch.leaky_slope)
        return out, z

    def _noise(self):
        """The standard deviation of the rounding noise of C near theta, measured as
        ``finite_diff.measured_noise`` does (6th differences of 9 values along a random
        direction), but 2^-30 apart instead of 1e-6: small enough that no ReLU-type unit
        changes side between the points, whose kink would pass for noise.  If one still
        does, the static bound alone is used (the Taylor test then sees that kink too).
        ``directional_check`` measures it along its first direction (``noise_along``);
        this draws a direction of its own only when that did not happen."""
        if self.measured_noise is not None:
            return self.measured_noise
        rng = np.random.default_rng(NOISE_SEED)
        parts = [_draw(rng, "rademacher", 1.0, np.empty(t.shape)) * np.maximum(1.0, np.abs(t))
                 for _, _, t in self.theta.tensors()]
        return self.noise_along(_Parameters(parts[0::2], parts[1::2]))

    def noise_along(self, d, survey=None):
        """The noise measured from C at theta + k NOISE_SPACING d, k = -4..4 (in ``survey``
        if it has them), or 0.0 if a kink lies between those points."""
        if survey is None:
            survey = self.survey(d, taylor=False, central=False, noise=True)
        points = [survey[k * NOISE_SPACING] for k in range(-4, 5)]
        if any(crossed for _, crossed in points):
            return 0.0
        differences = np.diff([value for value, _ in points], n=6)
        return float(np.sqrt(np.mean(differences**2) / math.comb(12, 6)))

    def _decay(self, steps, d):
        """(l2 / 2) sum ||W + h D||^2 for every step h, expanded so that no W + h D is formed."""
        if not self.arch.l2:
            return np.zeros_like(steps)
        total = np.full_like(steps, sum(self.squares))
        for w, dw in zip(self.theta.weights, d.weights):
            if dw is not None:
                total = total + 2 * steps * float(np.sum(w * dw)) + steps**2 * float(np.sum(dw * dw))
        return 0.5 * self.arch.l2 * total

    def along(self, d, steps):
        """C(theta + h d) for every h in ``steps``, and whether a ReLU-type unit changed side."""
        steps = np.asarray(steps, dtype=np.float64)
        h = steps.reshape(-1, 1, 1)
        first = next(layer for layer, (b, w) in enumerate(zip(d.biases, d.weights))
                     if b is not None or w is not None)
        a = None  # the perturbed layers' inputs, one (m, n) block per step
        crossed = np.zeros(steps.size, dtype=bool)
        for layer in range(first, self.arch.depth):
            w, b = self.theta.weights[layer], self.theta.biases[layer]
            dw, db = d.weights[layer], d.biases[layer]
            if a is None:  # the first layer d touches: z(h) is affine in h
                a_in = self.inputs[layer]
                dz = (0.0 if dw is None else a_in @ dw.T) + (0.0 if db is None else db.T)
                z = self.zs[layer] + h * dz
            else:  # all steps' examples as the rows of one matrix product
                rows = a.reshape(-1, a.shape[-1])
                z = (rows @ w.T).reshape(*a.shape[:-1], -1) + b.T
                if dw is not None or db is not None:
                    dz = 0.0 if dw is None else (rows @ dw.T).reshape(z.shape)
                    z = z + h * (dz + (0.0 if db is None else db.T))
            a, u = self._activate(layer, z)
            crossed |= np.any((u[..., self.units[layer]] > 0) != self.signs[layer], axis=(-2, -1))
        # The output's weighted input too: with a sigmoid or softmax output the log-based
        # costs are computed from it, not from a, where 1 - a has lost its digits.
        values = numpy_cost.data_cost(self.arch, a, self.y_rows, z_out=u) + self._decay(steps, d)
        return values, crossed

    def point_error(self, d, h, spread):
        """How much C(theta + h d) can be off: the cost's own rounding, and that of the
        perturbed weighted inputs z + h dz, whose terms are each rounded by a relative u:
        as if every theta_i on d's support moved by u (|theta_i| + h |d_i|), which moves
        C by at most M_i times that.  ``spread`` is sum_i |d_i| M_i."""
        moved = sum(held for held, (_, _, dt) in zip(self.held, d.tensors()) if dt is not None)
        return self.cost_error + UNIT_ROUNDOFF * (moved + h * spread)

    def survey(self, d, *, taylor, central, noise=False):
        """{h: (C(theta + h d), crossed a kink)} for the steps the checks along d need:
        +-KINK_STEP where some unit has a kink; the Taylor steps, the central-difference
        steps and the noise-measuring steps if asked."""
        steps = [KINK_STEP, -KINK_STEP] if any(u.size for u in self.units) else []
        if taylor:
            steps += [s * h for h in TAYLOR_STEPS for s in (1, -1)]
        if central:
            steps += [FD_STEP, -FD_STEP, 2 * FD_STEP, -2 * FD_STEP]
        if noise:
            steps += [k * NOISE_SPACING for k in range(-4, 5)]
        if not steps:
            return {}
        values, crossed = self.along(d, steps)
        return {h: (float(v), bool(c)) for h, v, c in zip(steps, values, crossed)}

    def taylor(self, label, d, survey, slope, spread, kink):
        """The Taylor test along d for the candidate's slope <g, d> (see TaylorRecord)."""
        # Each residual is off by the errors of two or three values of C and by the
        # rounding of h <g, d> (fsum: half an ulp); none of them grows as h falls.
        floor = 2 * self.point_error(d, TAYLOR_FIRST_STEP, spread) + UNIT_ROUNDOFF * abs(slope)
        series = {"one-sided": [], "odd": [], "even": []}
        steps = []
        for h in TAYLOR_STEPS:
            (ahead, crossed_ahead), (behind, crossed_behind) = survey[h], survey[-h]
            forward, backward = ahead - self.cost - h * slope, behind - self.cost + h * slope
            crossed = crossed_ahead or crossed_behind
            steps.append(h)
            for name, value in (("one-sided", forward), ("odd", (forward - backward) / 2),
                                ("even", (forward + backward) / 2)):
                series[name].append(math.nan if crossed else abs(value))
            if abs(forward) < NOISE_MARGIN * floor:  # sunk to the noise: no smaller step is worth reading
                break
        rates = {name: _rates(values, NOISE_MARGIN * floor) for name, values in series.items()}
        return TaylorRecord(label, tuple(steps), tuple(series["one-sided"]), rates["one-sided"],
                            rates["odd"], rates["even"], floor, kink)

    def central_difference(self, d, survey, spread):
        """dC/dtheta . d by Richardson-extrapolated central differences, with finite_diff's error estimate."""
        h = FD_STEP
        d1 = (survey[h][0] - survey[-h][0]) / (2 * h)
        d2 = (survey[2 * h][0] - survey[-2 * h][0]) / (4 * h)
        # Truncation: |d1 - d2| (see oracles/finite_diff.py).  Rounding: 1.5 e / h, e the error
        # of one cost value here (its own rounding and that of the perturbation).
        error = abs(d1 - d2) + 1.5 * self.point_error(d, 2 * h, spread) / h
        return (4 * d1 - d2) / 3, error


def _torch():
    import torch

    # Forward mode loads torch's own decompositions on first use and scripts them with
    # torch.jit.script, which torch 2.10+ deprecates: a warning by torch about torch,
    # silenced for that one import (a test run makes every warning an error).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`torch.jit.script` is deprecated",
                                category=DeprecationWarning)
        import torch._decomp.decompositions_for_jvp  # noqa: F401
    return torch


def _tangent_chunks(drawn):
    """The directions in groups whose stacked tangents fit TANGENT_BUDGET_BYTES (views, no copies)."""
    n = sum(t[0].size for t in drawn.stacked)
    size = max(1, TANGENT_BUDGET_BYTES // (8 * n))
    for start in range(0, len(drawn.labels), size):
        yield drawn.tangents(start, min(start + size, len(drawn.labels)))


def _torch_slopes(arch, theta, x, y, drawn):
    """dC/dtheta . d for every d, by torch forward-mode AD (``torch.func.jvp``, vmapped over
    the directions) on a torch rebuild of the cost."""
    torch = _torch()
    cost, constants = _torch_cost(arch, x, y)
    primals = ([torch.from_numpy(w) for w in theta.weights], [torch.from_numpy(b) for b in theta.biases],
               constants)
    still = [torch.zeros_like(c) for c in constants]
    slopes = torch.func.vmap(lambda tw, tb: torch.func.jvp(cost, primals, (tw, tb, still))[1])
    values = []
    # One thread: these are small products, whose threads spend more time waiting for
    # each other than computing -- ten times more on a busy two-core machine (measured
    # for [784, 30, 10]: 8.6 ms with one thread, 86 ms with two).  Restored afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for tangent_w, tangent_b in _tangent_chunks(drawn):
            out = slopes([torch.from_numpy(t) for t in tangent_w], [torch.from_numpy(t) for t in tangent_b])
            values.extend(float(v) for v in out)
    finally:
        torch.set_num_threads(threads)
    return values


def _torch_cost(arch, x, y):
    """C(weights, biases, constants) in torch, from the architecture, and the constants:
    the batch, and every number the cost multiplies or adds, as tensors.

    Written for torch's forward mode, which is slow in two ways the reverse-mode
    oracle (``oracles.torch_grad``, whose formulas these follow) never meets:

    * an operation between a tensor with a tangent and one without (or a Python
      number) takes a slow path that imports torch._dynamo on first use -- 1.5 s,
      then ~0.5 ms per operation: so the constants are arguments, given zero tangents;
    * softmax, logsigmoid and softplus have slow forward rules (8-11 ms a call on
      a 10 x 10 input): so exp(log_softmax), and logaddexp with 0 instead.

    As in the torch oracle, the log-based costs are taken from z where the output
    allows it: ln(1 - a) is -inf once a rounds to 1, though cost and gradient are finite.
    """
    import torch

    number = functools.partial(torch.tensor, dtype=torch.float64)
    constants = [torch.from_numpy(columns(x)), torch.from_numpy(columns(y)), number(0.5), number(0.0),
                 number(arch.bn_epsilon), number(0.5 * arch.l2)]
    plain_output = arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1

    def activation(name, z, zero):
        if name == "sigmoid":
            return torch.sigmoid(z)
        if name == "tanh":
            return torch.tanh(z)
        if name == "relu":
            return torch.relu(z)
        if name == "leaky_relu":
            return torch.nn.functional.leaky_relu(z, arch.leaky_slope)
        if name == "softplus":
            return torch.logaddexp(z, zero)
        if name == "softmax":
            return torch.exp(torch.log_softmax(z, dim=0))  # over the units of each column
        return z  # linear

    def cost(weights, biases, constants):
        x, y, half, zero, epsilon, decay = constants
        a = x
        for layer, (w, b) in enumerate(zip(weights, biases)):
            z = w @ a + b
            if arch.batch_norm[layer]:
                centred = z - z.mean(dim=1, keepdim=True)
                z = centred / torch.sqrt((centred * centred).mean(dim=1, keepdim=True) + epsilon)
            a = activation(arch.activations[layer], z, zero)
            if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
                _, unit, name = arch.modified_neuron
                a = torch.stack([activation(name, z[j], zero) if j == unit else a[j]
                                 for j in range(a.shape[0])])
        output = arch.activations[-1]
        if arch.cost == "quadratic":
            per_example = ((a - y) * (a - y)).sum(dim=0) * half
        elif arch.cost == "cross-entropy" and plain_output and output == "sigmoid":
            # -ln a = ln(1 + e^-z), -ln(1 - a) = ln(1 + e^z)
            per_example = (y * torch.logaddexp(zero, -z) + (1 - y) * torch.logaddexp(zero, z)).sum(dim=0)
        elif arch.cost == "cross-entropy":
            per_example = -(torch.xlogy(y, a) + torch.xlogy(1 - y, 1 - a)).sum(dim=0)
        elif plain_output and output == "softmax":  # log-likelihood
            per_example = -(y * torch.log_softmax(z, dim=0)).sum(dim=0)
        else:
            per_example = -torch.xlogy(y, a).sum(dim=0)
        total = per_example.mean()
        if arch.l2:
            total = total + decay * torch.stack([(w * w).sum() for w in weights]).sum()
        return total

    return cost, constants


@functools.lru_cache(maxsize=64)
def _jax_jvp(arch):
    """jit(vmap(jvp)) of the JAX oracle's cost, compiled once per architecture and shapes."""
    from oracles import jax_grad

    jax = jax_grad._jax()
    cost = jax_grad.cost_function(arch)

    def slope(params, tangent, x, y):
        return jax.jvp(lambda p: cost(p, x, y), (params,), (tangent,))[1]

    return jax.jit(jax.vmap(slope, in_axes=(None, 0, None, None)))


def _jax_slopes(arch, theta, x, y, drawn):
    """dC/dtheta . d for every d, by JAX forward-mode AD (``jax.jvp``) on the JAX oracle's cost."""
    from oracles import jax_grad

    jnp = jax_grad._jax().numpy
    params = ([jnp.asarray(w) for w in theta.weights], [jnp.asarray(b) for b in theta.biases])
    x, y = jnp.asarray(columns(x)), jnp.asarray(columns(y))
    values = []
    for tangent_w, tangent_b in _tangent_chunks(drawn):
        tangent = ([jnp.asarray(t) for t in tangent_w], [jnp.asarray(t) for t in tangent_b])
        values.extend(float(v) for v in _jax_jvp(arch)(params, tangent, x, y))
    return values
