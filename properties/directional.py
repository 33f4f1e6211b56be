"""Directional mode: certify a gradient by its projections, for networks too big to check entry by entry.

For a scalar cost the vector-Jacobian product of 1 *is* the gradient g, so the
dot-product test <v, VJP(u)> = <JVP(u), v> becomes

    <g_candidate, d>  =  dC/dtheta . d      for directions d,

the right side computed independently, in forward mode, by default as a
complex step: C(theta + i eps d) evaluated by the oracles' own NumPy cost
(``oracles.numpy_cost``, a black box with no derivative in it) gives
dC/dtheta . d = Im C / eps to rounding (Squire and Trapp 1998), every direction
in one batched pass.  Or by forward-mode automatic differentiation of the
network rebuilt in torch (``torch.func.jvp``, the directions vmapped together)
or JAX (``jax.jvp``); or by a central difference of the NumPy cost along d.
A direction costs about one forward pass whatever the number of parameters:
a network of a million parameters is checked in a fraction of a second.

The complex step needs the cost analytic along d near theta.  relu and leaky_relu
are not analytic, but each is linear on either side of its kink, and the
branch is chosen by Re z: away from the kink the cost is analytic along d,
and where a unit's z is within the smallest step of its kink the direction is
"cannot-check" anyway (below).  An evaluation that leaves the analytic function
(a logarithm of an output rounded to 0) shows in Re C, which must equal C(theta):
where it does not, the oracle says it cannot compute that projection.

Directions.  ``directions`` global random ones, on every tensor; then, with
``per_tensor``, two on each single tensor (nabla_b[0], nabla_w[0], ...): a
random one, and one along the signs of the candidate's own gradient there
("nabla_w[0] along g").  Random entries are mixed-sign Rademacher (+-1) or
Gaussian, never all of one sign; every direction is scaled per tensor by a
power of two near the size of that tensor's entries, so that a step along d
moves every layer's weighted inputs alike (and Rademacher products g_i d_i are
exact).  On a weight matrix of more than RANK_ONE_ABOVE entries a random
direction is rank-one, D = u v^T with u and v random: its entries are still
+-scale, its projection of an error E has the same mean square, E (u^T E v)^2 =
||E||_F^2, as a dense direction's, and it costs O(n_out + n_in) where a dense
one costs O(n_out n_in): D a = u (v^T a), <G, D> = u^T G v (all of a tensor's
directions in one product G V).  On smaller tensors directions stay dense: there
the few random bits of u v^T would miss more structured errors, and dense
directions cost next to nothing.

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

The tolerances' magnitudes M come from ``oracles.rounding`` in factored form
(M_w = delta a^T summed over examples): every sum of M against a direction is
taken from the factors, never forming an n_out x n_in matrix of M.

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

from oracles import complex_step, finite_diff, numpy_cost
from oracles.base import as_float64, columns
from oracles.rounding import gamma, rounding_bound

__all__ = ["DirectionRecord", "DirectionalResult", "TaylorRecord", "directional_check"]

UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
ORACLES = ("auto", "complex-step", "torch", "jax", "finite-diff")
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
# The complex step: a power of two, so that eps d is exact; small enough that the
# truncation (eps^2 / 6) times the third derivative is ~1e-39 of the derivative's
# scale, large enough that eps times a derivative as small as 1e-280 is still normal.
COMPLEX_STEP = 2.0**-64
# A weight matrix of more entries than this gets rank-one random directions (see above).
RANK_ONE_ABOVE = 2**16
# The random directions of the last few shapes and seeds are kept for the next check
# (``_random_parts``) when they have at most this many entries (8 MiB).
CACHED_ENTRIES = 2**20


@dataclass(frozen=True)
class DirectionRecord:
    """One dot-product test: the candidate's <g, d> against an oracle's dC/dtheta . d."""

    label: str  # "global 0", ..., or the one tensor d lives on: "nabla_w[1]", "nabla_w[1] along g"
    candidate: float
    oracle: float
    tolerance: float
    kink: bool = False  # a ReLU-type unit at z = 0 along d: the derivative does not exist
    # The oracle's value is NaN where it could not compute the projection (a complex
    # step that left the analytic function): "cannot-check", as at a kink.

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
        if self.kink or math.isnan(self.oracle):
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
                      taylor: int = 1) -> DirectionalResult:
    """Check ``gradient = (nabla_b, nabla_w)`` for ``case`` along random directions.

    * ``case`` is a ``properties.strategies.Case``.
    * ``gradient`` is the candidate's ``(nabla_b, nabla_w)`` in Nielsen's layout.
    * ``directions`` is the number of global random directions (>= 1).
    * ``seed`` chooses the directions.
    * ``oracle``: ``"complex-step"`` (NumPy, the default: ``"auto"``), ``"torch"`` or
      ``"jax"`` (forward-mode AD), or ``"finite-diff"`` (a central difference along d).
    * ``per_tensor`` adds two directions on each single tensor: a random one
      and one along the signs of the candidate's gradient there.
    * ``distribution``: ``"rademacher"`` (+-1 entries) or ``"gaussian"``.
    * ``taylor``: the Taylor test along that many global directions, from the first
      (True is 1; 0 or False: none).  It needs ~30 evaluations of the cost per
      direction and no oracle; one direction is its confirmation, the dot-product
      tests carry the precision.

    Nothing passed in is modified.
    """
    start = time.perf_counter()
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions={directions!r} must be a whole number >= 1")
    if not isinstance(taylor, int) or taylor < 0:  # True and False are 1 and 0
        raise ValueError(f"taylor={taylor!r} must be a whole number >= 0 (or True/False)")
    if oracle not in ORACLES:
        raise ValueError(f"oracle={oracle!r}: choose from {', '.join(ORACLES)}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution={distribution!r}: choose from {', '.join(DISTRIBUTIONS)}")
    arch = case.arch
    theta = _Parameters(as_float64(case.biases), as_float64(case.weights))
    g = _Parameters(*_candidate_tensors(arch, gradient))
    oracle = "complex-step" if oracle == "auto" else oracle
    bound = rounding_bound(arch, case.weights, case.biases, case.x, case.y)
    landscape = _Landscape(arch, theta, case.x, case.y, bound)
    drawn = _Directions(theta, directions, seed, distribution, per_tensor, g)
    candidates = drawn.candidate_dots(g)  # (<g, d>, its rounding bound) for every d
    spreads = drawn.spreads(bound)  # sum_i |d_i| M_i for every d
    central = oracle == "finite-diff"

    # Every evaluation of the cost along the directions, batched: the Taylor steps and
    # the points that measure the cost's rounding noise along the first direction(s), the
    # kink steps along every direction, and (finite differences) the central-difference steps.
    kinks = [KINK_STEP, -KINK_STEP] if landscape.piecewise else []
    differences = [FD_STEP, -FD_STEP, 2 * FD_STEP, -2 * FD_STEP] if central else []
    taylor_steps = [s * h for h in TAYLOR_STEPS for s in (1, -1)]
    noise_steps = [k * NOISE_SPACING for k in range(-4, 5)]
    everyone = range(len(drawn.labels))
    tested = list(range(min(taylor, directions)))  # the global directions with a Taylor test
    first = tested or ([0] if central else [])  # where the noise is measured, if it is needed
    rest = [k for k in everyone if k not in tested and k not in first]
    surveys = [{} for _ in everyone]
    groups = ((tested, kinks + taylor_steps + differences + (noise_steps if tested else [])),
              ([k for k in first if k not in tested], kinks + differences + noise_steps),
              (rest, kinks + differences))
    for group, steps in groups:
        if group and steps:
            for k, survey in zip(group, landscape.survey([drawn.parts[k] for k in group], steps)):
                surveys[k] = survey
    if first:
        landscape.measured_noise = landscape.noise_along(surveys[first[0]])

    if oracle == "complex-step":
        values = landscape.complex_slopes(drawn.parts)
        extra = gamma(complex_step.COMPLEX_EXTRA_ROUNDINGS * (arch.depth + 1))
        oracle_errors = [extra * s for s in spreads]  # complex arithmetic's few more roundings
    elif oracle in ("torch", "jax"):
        slopes = {"torch": _torch_slopes, "jax": _jax_slopes}[oracle]
        values, oracle_errors = slopes(arch, theta, case.x, case.y, drawn), [0.0] * len(spreads)
    else:
        pairs = [landscape.central_difference(drawn.parts[k], surveys[k], spreads[k]) for k in everyone]
        values, oracle_errors = [v for v, _ in pairs], [e for _, e in pairs]

    records, taylors = [], []
    for k, label in enumerate(drawn.labels):
        candidate, dot_error = candidates[k]
        # The tolerance.  A correct candidate's entry g_i is within gamma M_i of the
        # exact derivative (oracles/rounding.py: M bounds the terms every correct
        # float64 backprop sums, gamma_N their rounding, in any order).  A forward-mode
        # oracle's dC/dtheta . d sums the same chain-rule products, each times d_i and
        # bracketed from the input side instead of the output side; Higham's bound
        # holds for any bracketing, so its error is at most gamma sum_i |d_i| M_i too.
        # Hence |<g_c - g, d>| <= sum_i |d_i| (2 gamma M_i), plus the rounding of the
        # candidate's own dot product (dot_error) and the oracle's own extra error:
        # the complex step's extra roundings, or finite differences' truncation and rounding.
        tolerance = 2 * bound.gamma * spreads[k] + dot_error + oracle_errors[k]
        survey = surveys[k]
        kink = survey.get(KINK_STEP, (0.0, False))[1] or survey.get(-KINK_STEP, (0.0, False))[1]
        if k in tested:
            taylors.append(landscape.taylor(label, drawn.parts[k], survey, candidate, spreads[k], kink))
        records.append(DirectionRecord(label, candidate, float(values[k]), tolerance, kink))
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


    @property
    def tensors_list(self):
        """The arrays of ``tensors()`` in the same order."""
        return [t for _, _, t in self.tensors()]

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


class _Part:
    """One direction's entries on one tensor: a dense array, or the rank-one u v^T.

    ``top`` bounds |d_i| over the tensor; ``uniform`` says that every |d_i| is ``top``
    (Rademacher entries, signs of g), so that sums of |d_i| against M need only sum M.
    """

    __slots__ = ("array", "u", "v", "top", "uniform", "block", "row")

    def __init__(self, array=None, u=None, v=None, uniform=False, top=None, block=None, row=None):
        self.array, self.u, self.v, self.uniform = array, u, v, uniform
        # A dense random part is row ``row`` of ``block``, every random direction's
        # entries on that tensor stacked, so that they are used in one product.
        self.block, self.row = block, row
        if top is not None:
            self.top = top
        elif array is not None:
            self.top = float(np.max(np.abs(array))) if array.size else 0.0
        else:
            self.top = float(np.max(np.abs(u)) * np.max(np.abs(v)))

    @property
    def rank_one(self):
        return self.array is None

    def dense(self):
        return self.array if self.array is not None else np.multiply.outer(self.u, self.v)

    def times(self, rows):
        """rows @ D^T for row-major activations (..., n_in) of the layer D acts on."""
        if self.array is not None:
            return rows @ self.array.T
        return (rows @ self.v)[..., None] * self.u

    def frobenius(self, w):
        """<W, D>, entry by entry."""
        if self.array is not None:
            return float(np.einsum("ij,ij->", w, self.array))
        return float(self.u @ w @ self.v)

    def square_sum(self):
        if self.array is not None:
            return float(np.einsum("ij,ij->", self.array, self.array))
        return float(self.u @ self.u) * float(self.v @ self.v)


def _rank_one(shape):
    """Whether random directions on a tensor of this shape are rank-one (see the module docstring)."""
    return len(shape) == 2 and min(shape) > 1 and shape[0] * shape[1] > RANK_ONE_ABOVE


class _Directions:
    """The directions: ``count`` random global ones, then (``per_tensor``) two per tensor:
    a random one, and one along the signs of the candidate's own gradient there.

    Why the second: the commonest bugs scale a whole tensor (a lost 1/m, a factor, an
    error of 1e-3 in every entry), an error e = c g.  Against random signs its
    projection grows like sqrt(n) times one entry while the rounding tolerance grows
    like n; along sign(g) it is c sum |g_i|, which grows like n too, so a small
    relative error in a big tensor stays visible.

    ``parts[k]`` lists direction k's ``_Part`` per tensor (nabla_b[0], nabla_w[0],
    nabla_b[1], ...), None off its support.
    """

    def __init__(self, theta, count, seed, distribution, per_tensor, candidate):
        tensors = list(theta.tensors())
        own = range(len(tensors)) if per_tensor else range(0)
        self.shapes = [t.shape for _, _, t in tensors]
        self.labels = [f"global {k}" for k in range(count)]
        supports = [range(len(tensors))] * count
        for i in own:
            self.labels += [tensors[i][0], f"{tensors[i][0]} along g"]
            supports += [[i], [i]]
        self.scales = [_scale(t, theta.weights[layer].shape[1]) for _, layer, t in tensors]
        self.parts = [[None] * len(tensors) for _ in self.labels]
        randomised = [k for k, label in enumerate(self.labels) if not label.endswith(" along g")]
        on = tuple(tuple(k for k in randomised if i in supports[k]) for i in range(len(tensors)))
        key = (seed, distribution, tuple(self.shapes), tuple(self.scales), on)
        entries = sum(len(ks) * (sum(shape) if _rank_one(shape) else math.prod(shape))
                      for ks, shape in zip(on, self.shapes))
        drawn = _random_parts(*key) if entries <= CACHED_ENTRIES else _random_parts.__wrapped__(*key)
        for k, i, part in drawn:
            self.parts[k][i] = part
        for k, (label, support) in enumerate(zip(self.labels, supports)):
            if label.endswith(" along g"):
                i = support[0]
                # scale with the sign of each g_i (a zero's sign bit: +-0 are both the
                # right derivative there); a NaN's sign bit too: the random directions,
                # which a NaN makes fail, report it.
                t = candidate.tensors_list[i]
                self.parts[k][i] = _Part(np.copysign(self.scales[i], t), uniform=True, top=self.scales[i])

    def direction(self, k):
        """Direction k as dense arrays (None off its support)."""
        dense = [None if p is None else p.dense() for p in self.parts[k]]
        return _Parameters(dense[0::2], dense[1::2])

    def candidate_dots(self, g):
        """(<g, d>, a bound on its rounding) for every direction d.

        Each tensor's products are summed row by row (at most n_in terms, in any order:
        gamma_{n_in + 1} times sum |g_i d_i| <= ||g||_1 max |d_i|, the +1 for the product
        itself) and the row sums exactly by fsum, so the bound does not grow with the
        number of parameters.  A tensor's rank-one directions take one product G V; along
        sign(g), g_i d_i = |g_i| scale, the row sums of |g| that ||g||_1 needs anyway.
        """
        rows = [[] for _ in self.labels]
        errors = [0.0] * len(self.labels)
        for i, gt in enumerate(g.tensors_list):
            on = [k for k in range(len(self.labels)) if self.parts[k][i] is not None]
            if not on:
                continue
            matrix = gt.reshape(gt.shape[0], -1)
            absolute_rows = np.abs(matrix).sum(axis=1)
            norm = float(np.sum(absolute_rows))
            rank_one = [k for k in on if self.parts[k][i].rank_one]
            if rank_one:
                gv = matrix @ np.stack([self.parts[k][i].v for k in rank_one], axis=1)  # (n_out, count)
                for column, k in enumerate(rank_one):
                    rows[k].append(gv[:, column] * self.parts[k][i].u)
            stacked = [k for k in on if self.parts[k][i].block is not None]
            if stacked:  # every random direction on this tensor in one product
                block = self.parts[stacked[0]][i].block
                products = np.einsum("kij,ij->ki", block.reshape(len(block), *matrix.shape), matrix)
                for k in stacked:
                    rows[k].append(products[self.parts[k][i].row])
            for k in on:
                part = self.parts[k][i]
                if self.labels[k].endswith(" along g"):
                    rows[k].append(absolute_rows * part.top)
                elif not part.rank_one and part.block is None:
                    rows[k].append(np.einsum("ij,ij->i", matrix, part.array.reshape(matrix.shape)))
                errors[k] += gamma(gt.shape[-1] + 1) * norm * part.top
        dots = []
        for k in range(len(self.labels)):
            value = math.fsum(np.concatenate(rows[k]))
            dots.append((value, errors[k] + UNIT_ROUNDOFF * abs(value)))
        return dots

    def spreads(self, bound):
        """sum_i |d_i| M_i for every direction (a bound's size: its own rounding is immaterial)."""
        sums = {}  # sum of M over tensor i, for the uniform parts

        def total_m(i):
            if i not in sums:
                layer = i // 2
                if i % 2 == 0:
                    sums[i] = float(np.sum(bound.magnitude_b[layer]))
                else:
                    n_out, n_in = self.shapes[i]
                    sums[i] = bound.weighted_sum(layer, np.ones(n_out), np.ones(n_in))
            return sums[i]

        out = []
        for parts in self.parts:
            total = 0.0
            for i, part in enumerate(parts):
                if part is None:
                    continue
                layer = i // 2
                if part.uniform:
                    total += part.top * total_m(i)
                elif i % 2 == 0:  # a bias: M is a column
                    total += float(np.einsum("ij,ij->", np.abs(part.array), bound.magnitude_b[layer]))
                elif part.rank_one:
                    total += bound.weighted_sum(layer, np.abs(part.u), np.abs(part.v))
                else:
                    total += bound.weighted_sum(layer, None, None, dense=np.abs(part.array))
            out.append(total)
        return out


@functools.lru_cache(maxsize=4)
def _random_parts(seed, distribution, shapes, scales, on):
    """The random directions' parts, as (direction, tensor, ``_Part``): every entry in one
    draw, tensor after tensor, each tensor's directions stacked (a block of shape
    (directions, *shape), or for a rank-one tensor, blocks of u's and v's); ``on[i]``
    lists the directions on tensor i.  A function of its arguments alone, so kept for
    the next check of the same shapes (read-only: nothing may change a kept direction)."""
    rng = np.random.default_rng(seed)
    sizes = [len(on[i]) * (sum(shape) if _rank_one(shape) else math.prod(shape))
             for i, shape in enumerate(shapes)]
    values = _draw(rng, distribution, sum(sizes))
    signs = {k: [] for ks in on for k in ks}  # k -> [(tensor, sign of its entries)]
    blocks, start = {}, 0
    for i, shape in enumerate(shapes):
        run, count, start = values[start:start + sizes[i]], len(on[i]), start + sizes[i]
        if not count:
            continue
        if _rank_one(shape):
            us = run[:count * shape[0]].reshape(count, shape[0])
            vs = run[count * shape[0]:].reshape(count, shape[1])
            us *= scales[i]  # a power of two: exact
            blocks[i] = (us, vs)
            row_signs = _row_signs(us) * _row_signs(vs)
        else:
            block = run.reshape(count, *shape)
            block *= scales[i]
            blocks[i] = (block, None)
            row_signs = _row_signs(block)
        for k, sign in zip(on[i], row_signs):
            signs[k].append((i, sign))
    for k, tensor_signs in signs.items():  # a direction all of one sign gets one entry flipped
        entries = sum(math.prod(shapes[i]) for i, _ in tensor_signs)
        kinds = {sign for _, sign in tensor_signs}
        if entries >= 2 and len(kinds) == 1 and 0 not in kinds:
            i = tensor_signs[int(rng.integers(len(tensor_signs)))][0]
            row = blocks[i][0][on[i].index(k)].reshape(-1)  # a dense part, or u: a row of u v^T
            row[int(rng.integers(row.size))] *= -1.0
    values.flags.writeable = False
    rademacher = distribution == "rademacher"
    parts = []
    for i, (first, second) in blocks.items():
        top = scales[i] if rademacher else None
        for r, k in enumerate(on[i]):
            part = (_Part(first[r], uniform=rademacher, top=top, block=first, row=r) if second is None
                    else _Part(None, first[r], second[r], uniform=rademacher, top=top))
            parts.append((k, i, part))
    return tuple(parts)


def _draw(rng, distribution, size):
    """``size`` random entries: +-1 (one random bit each) or N(0, 1)."""
    if distribution == "gaussian":
        return rng.standard_normal(size)
    random_bytes = np.frombuffer(rng.bytes((size + 7) // 8), dtype=np.uint8)
    return np.take(_SIGNS_OF_BYTE, random_bytes, axis=0).reshape(-1)[:size]


# Row b: the 8 entries +-1 that byte b stands for (bit 0 -> +1, bit 1 -> -1), so that a
# Rademacher draw is one lookup per random byte.
_SIGNS_OF_BYTE = 1.0 - 2.0 * np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)


def _scale(tensor, fan_in):
    """A power of two near the root-mean-square of a tensor's entries (at least 1/sqrt(fan_in),
    the size a weight needs to move a weighted input by order one)."""
    rms = math.sqrt(float(np.mean(tensor * tensor))) if tensor.size else 0.0
    return 2.0 ** round(math.log2(max(rms, 1.0 / math.sqrt(fan_in))))


def _row_signs(block):
    """Per row of ``block``: +1 if every entry is positive, -1 if every entry is negative, else 0."""
    flat = block.reshape(block.shape[0], -1)
    return np.where(flat.min(axis=1) > 0, 1, np.where(flat.max(axis=1) < 0, -1, 0))


class _Landscape:
    """The oracles' NumPy cost around theta: values along directions, kinks, its rounding noise.

    C(theta + h d) is evaluated for many directions and steps h at once, without
    forming theta + h d.  The weighted input of the first layer any direction touches
    is affine in h,

        z(h) = (a W^T + b^T) + h (a D^T + db^T),

    so all steps together cost one product a D^T per direction there (z itself is kept
    from theta); the layers after it take every direction's and step's examples as rows
    of one product, plus h (a D^T + db^T) where the direction reaches that layer.  A step
    may be complex: C(theta + i eps d) is the complex step (``complex_slopes``).
    The affine step and batch normalisation are written here as ``oracles.numpy_cost``'s
    ``layer_forward`` has them; activations and costs are ``numpy_cost``'s own.
    """

    def __init__(self, arch, theta, x, y, bound):
        self.arch, self.theta, self.bound = arch, theta, bound
        self.x_rows, self.y_rows = columns(x).T, columns(y).T
        self.m = self.x_rows.shape[0]
        self.units = [np.array([j for j in range(n) if arch.unit_activation(layer, j) in PIECEWISE],
                               dtype=int) for layer, n in enumerate(arch.sizes[1:])]
        self.piecewise = any(u.size for u in self.units)
        self.inputs, self.zs, self.signs = [self.x_rows], [], []
        for layer in range(arch.depth):
            w, b = theta.weights[layer], theta.biases[layer]
            z = self.inputs[-1] @ w.T + b.T
            a, u = self._activate(layer, z)
            self.zs.append(z)
            self.inputs.append(a)
            self.signs.append(u[..., self.units[layer]] > 0)
        self.squares = float(sum(np.einsum("ij,ij->", w, w) for w in theta.weights)) if arch.l2 else 0.0
        self.measured_noise = None
        self.cost = float(numpy_cost.data_cost(arch, self.inputs[-1], self.y_rows, z_out=u)
                          + 0.5 * arch.l2 * self.squares)

    @functools.cached_property
    def held(self):
        """sum_i M_i |theta_i| per tensor (nabla_b[0], nabla_w[0], ...), from M's factors."""
        bound, held = self.bound, []
        for layer, (b, w) in enumerate(zip(self.theta.biases, self.theta.weights)):
            held.append(float(np.einsum("ij,ij->", np.abs(b), bound.magnitude_b[layer])))
            held.append(bound.weighted_sum(layer, None, None, dense=np.abs(w)))
        return held

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
        parts = [_Part(_draw(rng, "rademacher", t.size).reshape(t.shape) * np.maximum(1.0, np.abs(t)))
                 for t in self.theta.tensors_list]
        steps = [k * NOISE_SPACING for k in range(-4, 5)]
        return self.noise_along(self.survey([parts], steps)[0])

    @staticmethod
    def noise_along(survey):
        """The noise measured from C at theta + k NOISE_SPACING d, k = -4..4, in ``survey``,
        or 0.0 if a kink lies between those points."""
        points = [survey[k * NOISE_SPACING] for k in range(-4, 5)]
        if any(crossed for _, crossed in points):
            return 0.0
        differences = np.diff([value for value, _ in points], n=6)
        return float(np.sqrt(np.mean(differences**2) / math.comb(12, 6)))

    def _decay(self, steps, directions):
        """(l2 / 2) sum ||W + h D||^2 for every direction and step, expanded so that no
        W + h D is formed: shape (directions, steps)."""
        if not self.arch.l2:
            return 0.0
        across, squares = [], []
        for parts in directions:
            pairs = [(p.frobenius(w), p.square_sum()) for p, w in zip(parts[1::2], self.theta.weights)
                     if p is not None]
            across.append(sum(c for c, _ in pairs))
            squares.append(sum(s for _, s in pairs))
        across, squares = np.array(across)[:, None], np.array(squares)[:, None]
        return 0.5 * self.arch.l2 * (self.squares + 2 * steps * across + steps**2 * squares)

    def _tangent(self, directions, layer, a):
        """h's coefficient in layer ``layer``'s weighted input, a D^T + db^T, for every
        direction: shape (directions, ..., m, n_out), or None if no direction reaches the
        layer.  ``a`` is the layer's input: (m, n_in) from theta, or one block per direction."""
        reach = [(k, parts[2 * layer], parts[2 * layer + 1]) for k, parts in enumerate(directions)
                 if parts[2 * layer] is not None or parts[2 * layer + 1] is not None]
        if not reach:
            return None
        shape = (a.shape[:-1] if a.ndim == 2 else a.shape[1:-1]) + (self.arch.sizes[layer + 1],)
        out = np.zeros((len(directions), *shape), dtype=a.dtype)
        # The random parts stacked in a block (``_Directions``) go in one product per block;
        # the others one by one.
        blocks = {}
        for k, db, dw in reach:
            for part, weight in ((dw, True), (db, False)):
                if part is None:
                    continue
                if part.block is not None:
                    blocks.setdefault(id(part.block), (part.block, weight, [], []))
                    blocks[id(part.block)][2].append(k)
                    blocks[id(part.block)][3].append(part.row)
                elif weight:
                    out[k] += part.times(a if a.ndim == 2 else a[k])
                else:
                    out[k] += part.array.T
        for block, weight, ks, rows in blocks.values():
            block = block if rows == list(range(len(block))) else block[rows]
            if weight and a.ndim == 2:  # theta's input, the same for every direction
                count, n_out, n_in = block.shape
                products = (block.reshape(count * n_out, n_in) @ a.T).reshape(count, n_out, -1)
                out[ks] += np.swapaxes(products, 1, 2)
            elif weight:  # each direction's own inputs (directions, steps, m, n_in)
                out[ks] += a[ks] @ np.swapaxes(block, 1, 2)[:, None]
            else:  # (count, n_out, 1) biases: the same shift for every step and example
                out[ks] += block[:, :, 0].reshape(len(rows), *[1] * (out.ndim - 2), -1)
        return out

    def along(self, directions, steps):
        """C(theta + h d) for every direction d (a list of parts) and every h in ``steps``
        (real or complex), shape (directions, steps); and whether a ReLU-type unit changed
        side, judged by Re z, or (a complex step) sits on its kink, Re z = 0, and is moved
        off it: the complex step then takes the side Im z points to, a one-sided derivative."""
        steps = np.asarray(steps)
        h = steps.reshape(1, -1, 1, 1)
        first = min(i // 2 for parts in directions for i, p in enumerate(parts) if p is not None)
        a = None  # every direction's and step's layer inputs: (directions, steps, m, n)
        crossed = np.zeros((len(directions), steps.size), dtype=bool)
        for layer in range(first, self.arch.depth):
            w, b = self.theta.weights[layer], self.theta.biases[layer]
            if a is None:  # the first layer any direction touches: z(h) is affine in h
                dz = self._tangent(directions, layer, self.inputs[layer])
                z = self.zs[layer] + h * dz[:, None]
            else:  # all directions' and steps' examples as the rows of one matrix product
                z = numpy_cost.weighted_input(a, w, b)
                dz = self._tangent(directions, layer, a)
                if dz is not None:
                    z = z + h * dz
            a, u = self._activate(layer, z)
            on_units = u[..., self.units[layer]]
            crossed |= np.any((on_units.real > 0) != self.signs[layer], axis=(-2, -1))
            if np.iscomplexobj(on_units):  # a unit on its kink that the step moves: one-sided
                crossed |= np.any((on_units.real == 0) & (on_units.imag != 0), axis=(-2, -1))
        # The output's weighted input too: with a sigmoid or softmax output the log-based
        # costs are computed from it, not from a, where 1 - a has lost its digits.
        values = numpy_cost.data_cost(self.arch, a, self.y_rows, z_out=u) + self._decay(steps, directions)
        return values, crossed

    def survey(self, directions, steps):
        """For each direction, {h: (C(theta + h d), crossed a kink)} at the real ``steps``."""
        values, crossed = self.along(directions, steps)
        return [{h: (float(v), bool(c)) for h, v, c in zip(steps, vs, cs)} for vs, cs in zip(values, crossed)]

    def complex_slopes(self, directions):
        """dC/dtheta . d = Im C(theta + i eps d) / eps for every direction, all in one pass;
        NaN where a ReLU-type unit sits exactly on its kink and d moves it (the derivative
        does not exist), or where the evaluation left the analytic function: Re C is not C(theta) (as in
        ``oracles.complex_step``, to 1e-8: far above the rounding of two evaluations of
        one cost, far below a jump to another function), or the slope is not finite."""
        values, on_kink = self.along(directions, [1j * COMPLEX_STEP])
        values = values[:, 0]
        slopes = values.imag / COMPLEX_STEP
        if not math.isfinite(self.cost):
            return np.full(len(directions), np.nan)
        astray = ~np.isclose(values.real, self.cost, rtol=1e-8, atol=1e-8) | ~np.isfinite(slopes)
        astray |= on_kink[:, 0]  # a ReLU-type unit exactly at its kink, moved by d: no derivative
        return np.where(astray, np.nan, slopes)

    def point_error(self, parts, h, spread):
        """How much C(theta + h d) can be off: the cost's own rounding, and that of the
        perturbed weighted inputs z + h dz, whose terms are each rounded by a relative u:
        as if every theta_i on d's support moved by u (|theta_i| + h |d_i|), which moves
        C by at most M_i times that.  ``spread`` is sum_i |d_i| M_i."""
        moved = sum(held for held, p in zip(self.held, parts) if p is not None)
        return self.cost_error + UNIT_ROUNDOFF * (moved + h * spread)

    def taylor(self, label, parts, survey, slope, spread, kink):
        """The Taylor test along d for the candidate's slope <g, d> (see TaylorRecord)."""
        # Each residual is off by the errors of two or three values of C and by the
        # rounding of h <g, d> (fsum: half an ulp); none of them grows as h falls.
        floor = 2 * self.point_error(parts, TAYLOR_FIRST_STEP, spread) + UNIT_ROUNDOFF * abs(slope)
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

    def central_difference(self, parts, survey, spread):
        """dC/dtheta . d by Richardson-extrapolated central differences, with finite_diff's error estimate."""
        h = FD_STEP
        d1 = (survey[h][0] - survey[-h][0]) / (2 * h)
        d2 = (survey[2 * h][0] - survey[-2 * h][0]) / (4 * h)
        # Truncation: |d1 - d2| (see oracles/finite_diff.py).  Rounding: 1.5 e / h, e the error
        # of one cost value here (its own rounding and that of the perturbation).
        error = abs(d1 - d2) + 1.5 * self.point_error(parts, 2 * h, spread) / h
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
    """The directions, densely, in groups whose stacked tangents fit TANGENT_BUDGET_BYTES:
    per group, (weight tangents, bias tangents), each of shape (directions, *tensor shape)."""
    n = sum(math.prod(shape) for shape in drawn.shapes)
    size = max(1, TANGENT_BUDGET_BYTES // (8 * n))
    for start in range(0, len(drawn.labels), size):
        ks = range(start, min(start + size, len(drawn.labels)))
        stacked = [np.zeros((len(ks), *shape)) for shape in drawn.shapes]
        for row, k in enumerate(ks):
            for i, part in enumerate(drawn.parts[k]):
                if part is not None:
                    stacked[i][row] = part.dense()
        yield stacked[1::2], stacked[0::2]


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
