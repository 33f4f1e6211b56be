"""How far a correct candidate's projection <g, d> may be from the exact one: the candidate's share
of each directional tolerance, with a stated false-alarm probability.

A correct candidate's entry g_i is within E_i of the exact derivative (``oracles.rounding``:
the running rounding bound, scaled to the candidate's precision), and within E_i + x_i when
it carries a known extra error x (a gradient implied by an update step).  Its error
e = g_candidate - g is fixed before the directions are drawn, so along a random direction
the projection <e, d> is a sum of independent terms of random sign:

* dense, entries d_i = s_i eps_i with independent random signs (Rademacher, or a Gaussian's
  sign, given its magnitude): Hoeffding's inequality gives
  P(|<e, d>| > lambda sqrt(sum d_i^2 v_i^2)) <= 2 exp(-lambda^2 / 2), v_i = E_i + x_i >= |e_i|;
* rank-one, D = u v^T on a matrix, u_i = +-s and v_j = +-1: given v, every row sum
  w_i = sum_j v_j e_ij is within lambda ||v_i||_2 (Hoeffding again, rows at once by the
  union bound) and within ||v_i||_1 always; then <e, D> = sum_i u_i w_i is within
  lambda s sqrt(sum_i w_i^2);
* a direction over several tensors adds their independent parts' variances.

lambda = sqrt(2 ln(2 n / FALSE_ALARM)), n the number of such events in one check (one per
direction, one per row of each rank-one part), so that a check of a correct candidate
raises a false alarm with probability at most FALSE_ALARM = 1e-12 (a run of a million
checks: 1e-6), whatever the candidate's rounding; the probability is over the directions'
random signs, which the candidate cannot see (the seed is gradcert's).

Along one unit's direction (``directions.UnitDirections``: signs v_i on row i of W, beta_i
on b_i) the structure of the gradient does better (``unit_shares``).  nabla_w = delta a^T
summed over the m examples, so a correct candidate's error in row i is, to first order,
sum_k err(delta_ik) a_k^T + delta_ik err(a_k)^T + the sum's own rounding; along (v_i, beta_i)
the first part is sum_k err(delta_ik) z'_ik with z'_ik = v_i . a_k + beta_i, the unit's own
tangent, which the oracle forms exactly: within sum_k E(delta_ik) |z'_ik|, deterministic,
a few E(delta) times sqrt(n_in) |a| where a Hoeffding bound over the row pays
lambda sqrt(n_in) m E(delta) |a|.  The second, the input's error projected on random signs,
takes the smaller of s sum_j E(a_jk) and lambda s ||E(a_k)||_2 (Hoeffding over v_i, an
event per unit and example); the own rounding, c of sum_k |delta_ik| |a_k| (c = gamma_m +
3u, one u more with both penalties: ``Rounding.sum_factors``), and the penalties' u (L2 |W_i|
+ L1) (``rounding._penalty_shares``: 2 l2 |W_i| with decay alone), deterministic.  (Not for
a tied layer, whose gradient sums two uses: ``UnitDirections`` leaves those out.)

The deterministic bound sum_i |d_i| v_i holds always, and is kept where the probabilistic
one is no smaller or its premise fails: along sign(g) (the signs are the candidate's own,
not random), Gaussian rank-one directions, and supports of fewer than MIN_ENTRIES entries
(where the draw's one flipped sign, which keeps a direction from being all of one sign,
would matter).  Kinks are the oracles' business (a direction meeting one is "cannot-check").
"""

from __future__ import annotations

import math

import numpy as np
from gradcert.oracles.precision import TINY, dtype_of_roundoff, gamma, smallest_normal
from gradcert.oracles.rounding import roundoff_factor

FALSE_ALARM = 1e-12  # per check: the probability that a correct candidate fails any projection
MIN_ENTRIES = 64  # below this many entries on a direction's support: the deterministic bound only


def events(drawn, units=None, m=0):
    """How many probabilistic events one check bounds: a direction each, a row per rank-one part,
    and (with unit directions) one per unit and example for the input's error."""
    rows = sum(drawn.shapes[group.tensor][0] * len(group.owners)
               for groups in drawn.groups for group in groups if group.rank_one)
    per_unit = sum(units.signs_w[layer].shape[0] * (m + 1) for layer in units.layers) if units else 0
    return len(drawn.labels) + rows + per_unit


def confidence(count):
    """lambda with 2 count exp(-lambda^2 / 2) = FALSE_ALARM: every one of ``count`` events holds
    at once with probability at least 1 - FALSE_ALARM (the union bound)."""
    return math.sqrt(2.0 * math.log(2.0 * max(count, 1) / FALSE_ALARM))


def candidate_shares(drawn, bound, roundoff, extra=None, lam=None):
    """Per direction of ``drawn`` (a ``Directions``), a bound on |<e, d>| for a correct candidate
    of unit roundoff ``roundoff`` carrying ``extra`` (per-tensor arrays, in ``Parameters.tensors``
    order, or None): the smaller of the deterministic and the probabilistic bound where both
    hold (see the module docstring); ``lam`` is ``confidence(events(...))`` for the whole check.
    Also returns which directions used the probabilistic one."""
    factor = roundoff_factor(roundoff, bound.operations) * bound.gamma  # E_i = factor * M_i
    count = len(drawn.labels)
    deterministic = factor * drawn.spreads(bound) + drawn.weighted(extra)
    if not np.isfinite(factor):
        return deterministic, np.zeros(count, dtype=bool)
    lam = confidence(events(drawn)) if lam is None else lam
    variance, eligible, entries = np.zeros(count), np.ones(count, dtype=bool), np.zeros(count)
    for i, groups in enumerate(drawn.groups):
        layer, is_weight = i // 2, i % 2 == 1
        x = None if extra is None else np.asarray(extra[i], dtype=np.float64)
        for group in groups:
            owners = list(group.owners)
            entries[owners] += math.prod(drawn.shapes[i])
            if group.along_g or not group.uniform:
                eligible[owners] = False
                continue
            if group.rank_one:
                l2_rows = factor * np.sqrt(bound.row_squares_w(layer))
                l1_rows = factor * bound.row_sums_w(layer)
                if x is not None:
                    l2_rows = l2_rows + np.sqrt(np.einsum("ij,ij->i", x, x))
                    l1_rows = l1_rows + x.sum(axis=1)
                part = float(np.sum(np.minimum(lam * l2_rows, l1_rows) ** 2))
            else:
                squares = bound.squares_w(layer) if is_weight else bound.squares_b(layer)
                norm = factor * math.sqrt(squares) + (0.0 if x is None else math.sqrt(float(np.sum(x * x))))
                part = norm**2
            variance[owners] += group.tops**2 * part
    probabilistic = lam * np.sqrt(variance)
    use = eligible & (entries >= MIN_ENTRIES) & (probabilistic < deterministic)
    return np.where(use, probabilistic, deterministic), use


def unit_shares(units, bound, layer, injected, roundoff, extra=None, lam=None):
    """Per unit of ``layer``: a bound on |<e, d_i>| for a correct candidate along its own direction
    (``UnitDirections``), from the unit's exact tangents ``injected`` (n_out, m; the oracle's
    ``UnitSlopes.injected``): see the module docstring.  ``extra``: (extra error of W_l, of b_l)."""
    factor = roundoff_factor(roundoff, bound.operations)
    here = bound.layers[layer]
    delta, error_delta = np.abs(here.adjoint["z"]), here.adjoint["error_z"]
    m = delta.shape[1]
    n_out, n_in = units.signs_w[layer].shape
    scale_w, scale_b = units.scales[2 * layer + 1], units.scales[2 * layer]
    inputs = bound.inputs_w[layer]  # (n_in, 2m): |a| then E(a) / u
    magnitude_a, error_a = inputs[:, :m], bound.gamma * inputs[:, m:]
    # the sums over examples: c of nabla_w's (``Rounding.sum_factors``), and the bias's gamma_m + 3u
    c_w, c_b = bound.sum_factors[layer], gamma(m) + 3 * bound.gamma
    own = delta @ (c_w * scale_w * magnitude_a.sum(axis=0) + c_b * scale_b)
    share = np.einsum("ik,ik->i", error_delta, np.abs(injected)) + own
    if np.any(error_a):
        lam = confidence(n_out * (m + 1)) if lam is None else lam
        plain = scale_w * error_a.sum(axis=0)  # (m,)
        hoeffding = lam * scale_w * np.sqrt(np.einsum("jk,jk->k", error_a, error_a))
        share = share + delta @ (np.minimum(plain, hoeffding) if n_in >= MIN_ENTRIES else plain)
    if bound.l2:
        share = share + bound.gamma * bound.l2 * scale_w * bound.abs_weights[layer].sum(axis=1)
    if bound.l1:  # the l1 share of every entry's E, u L1, along the row's n_in signs
        share = share + bound.gamma * bound.l1 * scale_w * n_in
    share = factor * share
    if extra is not None:
        x_w, x_b = (np.asarray(t, dtype=np.float64) for t in extra)
        plain = scale_w * x_w.sum(axis=1) + scale_b * x_b.reshape(-1)
        hoeffding = (confidence(n_out) if lam is None else lam) * np.sqrt(
            scale_w**2 * np.einsum("ij,ij->i", x_w, x_w) + scale_b**2 * x_b.reshape(-1) ** 2)
        share = share + (np.minimum(plain, hoeffding) if n_in >= MIN_ENTRIES else plain)
    return share


def underflow(roundoff, operations, spread, terms):
    """What gradual underflow may add to |<g_candidate, d> - oracle|, beyond every relative bound:
    each of the ``operations`` roundings on a chain may lose a smallest normal number absolutely
    (as ``properties.compare``'s underflow term), in the candidate's entries (its precision's) and
    in the oracle's (float64's), carried along d by ``spread`` = sum |d_i|; and each of the dot
    product's ``terms`` products and sums one more.  Far below any other share (~1e-300), it
    matters only where a gradient itself underflows -- a saturated output's derivative of ~1e-315
    against an oracle's 0."""
    normal = smallest_normal(dtype_of_roundoff(roundoff))
    return operations * (normal + 2 * TINY) * spread + terms * (normal + TINY)


__all__ = ["FALSE_ALARM", "MIN_ENTRIES", "candidate_shares", "confidence", "events", "underflow",
           "unit_shares"]
