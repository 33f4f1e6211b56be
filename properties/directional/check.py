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

Directions (``properties.directional.directions``).  ``directions`` global random
ones, on every tensor; then, with ``per_tensor``, a random one on each single
tensor, and with ``along_g`` one along the signs of the candidate's own gradient
there; and with ``units``, one per unit of each big layer (its row of W and its
bias).  Mixed-sign Rademacher (or Gaussian) entries scaled per tensor by powers
of two; rank-one u v^T on a weight matrix of more than 4,096 entries.  Every
oracle value is the oracles': each oracle's ``slopes`` (``oracles.complex_step``,
``oracles.torch_grad``, ``oracles.jax_grad``, ``oracles.finite_diff``, and
``complex_step.unit_slopes``), and the evaluations of C along the directions, its
kinks and its noise (``oracles.landscape``).  This module keeps the tolerances
and the verdicts.

Then the Taylor test (as pyadjoint's ``taylor_test``) along the first global direction
(``taylor=N``: the first N):

    r(h) = |C(theta + h d) - C(theta) - h <g, d>|

is O(h^2) when g is the gradient and O(h) when it is not, so the observed rates
log2(r(h) / r(h/2)) settle at 2 or at 1.  It needs no oracle and no tolerance;
before it calls a rate near 1 a bug it checks, from C(theta - h d) as well, that
the steps resolve C's curvature (``TaylorRecord``), and says "cannot-check" where
they do not.  Residuals are read only above what C's rounding and the candidate's
own rounding of <g, d> (its precision's) can leave.

The tolerance of a projection is the sum of three bounds, each derived where it is
computed: the candidate's own error projected on d (``tolerances``: a correct
candidate's running rounding bound E, projected by Hoeffding's inequality over
gradcert's random signs with a false-alarm probability of 1e-12 per check, or
through each unit's exact tangent, the deterministic sum |d| E where that is
smaller or the premise fails); the rounding of the candidate's dot product; and
the oracle's own error (the complex step's bounded along its evaluation).  What
that sees, measured by ``benchmarks/bench_power.py`` (2026-12-01): on [784, 30, 10]
and [1000, 1000, 10], batch 10, one weight off by 1e-8 of its tensor's largest
entry, in the first or the last layer, and a whole tensor scaled by 1 + 1e-9; a
sign flip, a missing factor or a zeroed layer fails every direction.

Where a ReLU-type unit's weighted input is at or crosses 0 within the smallest
step along d (or, for a unit direction, is within a correct implementation's
rounding of 0), the cost has a kink there: that direction is "cannot-check",
never a bug.

The bound's magnitudes come from ``oracles.rounding`` in factored form (M_w =
delta a^T summed over examples): every sum of M against a direction is taken
from the factors, never forming an n_out x n_in matrix of M.

Nothing here computes an oracle value or imports the reference's math
(``tests/test_oracle_independence.py`` checks the imports).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from gradcert.oracles import complex_step, finite_diff
from gradcert.oracles.landscape import NOISE_STEPS, Landscape
from gradcert.oracles.precision import UNIT_ROUNDOFF
from gradcert.oracles.rounding import rounding_bound, roundoff_factor
from gradcert.properties.directional.directions import DISTRIBUTIONS, Directions, Parameters, UnitDirections
from gradcert.properties.directional.tolerances import (
    candidate_shares,
    confidence,
    events,
    underflow,
    unit_shares,
)

from gradcert import oracles as registry

__all__ = ["DirectionRecord", "DirectionalResult", "TaylorRecord", "directional_check"]

ORACLES = ("auto", "complex-step", "torch", "jax", "finite-diff")

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


@dataclass(frozen=True)
class DirectionRecord:
    """One dot-product test: the candidate's <g, d> against an oracle's dC/dtheta . d."""

    label: str  # "global 0", ..., the one tensor d lives on: "nabla_w[1]", "nabla_w[1] along g", or
    # "units of layer[1] (worst: unit 3 of 10, ...)": the worst of that layer's unit directions
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
                      per_tensor: bool = True, along_g: bool = True, distribution: str = "rademacher",
                      taylor: int = 1, roundoff: float = UNIT_ROUNDOFF,
                      extra_error=None, units: bool | str = True) -> DirectionalResult:
    """Check ``gradient = (nabla_b, nabla_w)`` for ``case`` along random directions.

    * ``case`` is a ``properties.strategies.Case``.
    * ``gradient`` is the candidate's ``(nabla_b, nabla_w)`` in Nielsen's layout.
    * ``directions`` is the number of global random directions (>= 1).
    * ``seed`` chooses the directions.
    * ``oracle``: ``"complex-step"`` (NumPy, the default: ``"auto"``), ``"torch"`` or
      ``"jax"`` (forward-mode AD), or ``"finite-diff"`` (a central difference along d).
    * ``per_tensor`` adds a random direction on each single tensor, ``along_g`` one
      along the signs of the candidate's gradient on each tensor.
    * ``distribution``: ``"rademacher"`` (+-1 entries) or ``"gaussian"``.
    * ``taylor``: the Taylor test along that many global directions, from the first
      (True is 1; 0 or False: none).  It needs ~30 evaluations of the cost per
      direction and no oracle; one direction is its confirmation, the dot-product
      tests carry the precision.
    * ``roundoff``: the unit roundoff of the candidate's arithmetic (float32's for a
      float32 implementation): its share of the tolerance scales with it.
    * ``extra_error``: ``(error_b, error_w)``, per-entry bounds on an error the candidate
      carries beyond its own rounding (a gradient implied by an update step); summed
      along each direction into its tolerance.
    * ``units``: with the complex-step oracle, one more direction per unit of each layer
      whose weight matrix has more than 4,096 entries (``"all"``: of every layer; False:
      none; never a tied pair's layers), reported as one record per layer, its worst unit
      (``directions.UnitDirections``): what sees a single wrong entry of a big tensor.

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
    # float64 views of theta, not copies: nothing here writes into them or keeps them.
    theta = Parameters(*([np.asarray(t, dtype=np.float64) for t in ts] for ts in (case.biases, case.weights)))
    g = Parameters(*_candidate_tensors(arch, gradient))
    oracle = "complex-step" if oracle == "auto" else oracle
    bound = rounding_bound(arch, theta.weights, theta.biases, case.x, case.y)
    landscape = Landscape(arch, theta, case.x, case.y, bound)
    drawn = Directions(theta, directions, seed, distribution, per_tensor, g, along_g)
    candidates = drawn.candidate_dots(g)  # (<g, d>, its rounding bound) for every d
    spreads = drawn.spreads(bound)  # sum_i |d_i| M_i for every d
    # extra_error in the directions' order of tensors: nabla_b[0], nabla_w[0], nabla_b[1], ...
    extra = [t for pair in zip(*extra_error) for t in pair] if extra_error else None
    by_unit = None
    if units and oracle == "complex-step":
        by_unit = UnitDirections(theta, seed, drawn.scales, every=units == "all", skip=arch.tied or ())
    lam = confidence(events(drawn, by_unit, np.shape(landscape.x_rows)[0]))
    shares, _ = candidate_shares(drawn, bound, roundoff, extra, lam)
    # The underflow allowance: sum |d_i| (bounded by each tensor's top |d_i| times its size) and the
    # support's size, per direction.
    sizes = [math.prod(shape) for shape in drawn.shapes]
    spread = np.zeros(len(drawn.labels))
    for i, groups in enumerate(drawn.groups):
        for group in groups:
            spread[list(group.owners)] += group.tops * sizes[i]
    floors = underflow(roundoff, bound.operations, spread,
                       np.array([sum(sizes[i] for i in support) for support in drawn.support]))
    central = oracle == "finite-diff"

    # Every evaluation of the cost along the directions, batched: the Taylor steps and
    # the points that measure the cost's rounding noise along the first direction(s), the
    # kink steps along every direction, and (finite differences) the central-difference steps.
    kinks = [KINK_STEP, -KINK_STEP] if landscape.piecewise else []
    differences = list(finite_diff.SLOPE_STEPS) if central else []
    taylor_steps = [s * h for h in TAYLOR_STEPS for s in (1, -1)]
    noise_steps = list(NOISE_STEPS)
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
            for k, survey in zip(group, landscape.survey(drawn, group, steps)):
                surveys[k] = survey
    if first:
        landscape.measured_noise = landscape.noise_along(surveys[first[0]])

    # The oracle's projections and a bound on each one's error: the complex step's and the
    # forward modes' rounding, bounded along the evaluation (oracles.landscape), or finite
    # differences' truncation and rounding.
    slopes = registry.load(oracle).slopes(arch, theta.weights, theta.biases, case.x, case.y, drawn,
                                          landscape=landscape, bound=bound)
    values, oracle_errors = slopes.values, slopes.errors

    records, taylors = [], []
    for k, label in enumerate(drawn.labels):
        candidate, dot_error = candidates[k]
        # The tolerance: |<g_candidate, d> - oracle| is at most the candidate's own error
        # projected on d (its share, ``tolerances``: a correct candidate's rounding, scaled to
        # its precision, and any extra error it carries, with the stated false-alarm
        # probability), the rounding of the candidate's dot product (dot_error) and the
        # oracle's own error.
        tolerance = shares[k] + dot_error + oracle_errors[k] + floors[k]
        survey = surveys[k]
        kink = survey.get(KINK_STEP, (0.0, False))[1] or survey.get(-KINK_STEP, (0.0, False))[1]
        if k in tested:
            taylors.append(_taylor(landscape, drawn, k, survey, candidate, spreads[k], kink,
                                   shares[k] + dot_error))
        records.append(DirectionRecord(label, candidate, float(values[k]), tolerance, kink))
    if by_unit is not None:
        records += _unit_records(case, theta, bound, landscape, by_unit, g, roundoff, extra_error, lam)
    return DirectionalResult(oracle, tuple(records), tuple(taylors), time.perf_counter() - start)


def _unit_records(case, theta, bound, landscape, by_unit, g, roundoff, extra_error, lam):
    """One record per layer for its unit directions: the worst unit (largest excess) of those the
    oracle could check, or a "cannot-check" record if it could check none."""
    records = []
    # A correct candidate's z is within its own and the oracle's forward error of the oracle's.
    margin = 1.0 + roundoff_factor(roundoff, bound.operations)
    for layer, (values, dot_errors) in zip(by_unit.layers, by_unit.candidate_dots(g)):
        slopes = complex_step.unit_slopes(case.arch, theta.weights, theta.biases, case.x, case.y, layer,
                                          by_unit.signs_w[layer], by_unit.signs_b[layer], bound=bound,
                                          trace=landscape.trace, margin=margin)
        extra = None if extra_error is None else (extra_error[1][layer], extra_error[0][layer])
        shares = unit_shares(by_unit, bound, layer, slopes.injected, roundoff, extra, lam)
        n_in = by_unit.signs_w[layer].shape[1]
        spread = by_unit.scales[2 * layer + 1] * n_in + by_unit.scales[2 * layer]  # sum |d_i| of a unit's
        tolerances = shares + slopes.errors + dot_errors + underflow(roundoff, bound.operations, spread,
                                                                     n_in + 1)
        checked = np.isfinite(slopes.values)
        name, n = f"units of layer[{layer}]", len(values)
        if not np.any(checked):
            records.append(DirectionRecord(f"{name} (none of {n} checkable)", float(values[0]),
                                           math.nan, float(tolerances[0]), kink=True))
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            excess = np.where(checked, np.abs(values - slopes.values) / tolerances, -1.0)
        excess = np.where(checked & np.isnan(excess), np.inf, excess)  # a NaN candidate
        worst = int(np.argmax(excess))
        records.append(DirectionRecord(f"{name} (worst: unit {worst} of {n}, {int(checked.sum())} checked)",
                                       float(values[worst]), float(slopes.values[worst]),
                                       float(tolerances[worst])))
    return records


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
    """log2(r(h) / r(h/2)) over the last run of consecutive usable residuals (NaN never is):
    residual j is usable above ``usable_above[j]``."""
    run, current = [], []
    for r, floor in zip(residuals, usable_above):
        if r >= floor:
            current.append(r)
            run = current
        else:
            current = []
    return tuple(math.log2(r0 / r1) for r0, r1 in zip(run, run[1:]))


def _taylor(landscape, drawn, k, survey, slope, spread, kink, slope_error):
    """The Taylor test along direction k for the candidate's slope <g, d> (see TaylorRecord).

    ``slope_error`` bounds how far a correct candidate's <g, d> may be from the exact one
    (its rounding, in its own precision): h times it is a residual the right gradient may
    leave, so a residual is read only above NOISE_MARGIN times that as well.
    """
    # Each residual is off by the errors of two or three values of C and by the
    # rounding of h <g, d> (fsum: half an ulp); none of them grows as h falls.
    floor = 2 * landscape.point_error(drawn, k, TAYLOR_FIRST_STEP, spread) + UNIT_ROUNDOFF * abs(slope)
    series = {"one-sided": [], "odd": [], "even": []}
    steps, floors = [], []
    for h in TAYLOR_STEPS:
        (ahead, crossed_ahead), (behind, crossed_behind) = survey[h], survey[-h]
        forward, backward = ahead - landscape.cost - h * slope, behind - landscape.cost + h * slope
        crossed = crossed_ahead or crossed_behind
        steps.append(h)
        floors.append(NOISE_MARGIN * (floor + h * slope_error))
        for name, value in (("one-sided", forward), ("odd", (forward - backward) / 2),
                            ("even", (forward + backward) / 2)):
            series[name].append(math.nan if crossed else abs(value))
        if abs(forward) < floors[-1]:  # sunk to the noise: no smaller step is worth reading
            break
    rates = {name: _rates(values, floors) for name, values in series.items()}
    return TaylorRecord(drawn.labels[k], tuple(steps), tuple(series["one-sided"]), rates["one-sided"],
                        rates["odd"], rates["even"], floor, kink)
