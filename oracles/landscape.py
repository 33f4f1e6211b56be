"""The oracles' NumPy cost around theta, along directions (``oracles.tangents``).

C(theta + h d) is evaluated for many directions and steps h at once, without
forming theta + h d.  The weighted input of the first layer any direction
touches is affine in h,

    z(h) = (a W^T + b^T) + h (a D^T + db^T),

so all steps together cost one product a D^T per direction there (z itself is
kept from theta, and a D^T from one call to the next); the layers after it take
every direction's and step's examples as rows of one product, plus h (a D^T +
db^T) where the direction reaches that layer.

A step may be complex: C(theta + i eps d) is the complex step, whose imaginary
part is eps dC/dtheta . d to rounding (Squire and Trapp 1998; ``oracles.complex_step``
takes its slopes from here): forward mode without a derivative formula, the
activations and costs being ``oracles.numpy_cost``'s own (a black box written
for complex arguments).  With
a complex layer input a = a_r + i a_i, a_i = O(eps), the step's term i eps a D^T
is i eps a_r D^T - eps a_i D^T; the second part is O(eps^2), 1e-38 relative,
below the rounding of a_r D^T, and is left out: the products stay real.

relu and leaky_relu are not analytic, but each is linear on either side of its
kink, and ``numpy_cost`` picks the branch by Re z: away from a kink the cost is
analytic along d.  A unit whose Re z is exactly 0 and which the step moves has
no derivative there (the complex step would take the side Im z points to); it
is reported like a unit that changes side.

The affine step is written here as ``numpy_cost``'s ``weighted_input`` has it, with
the tangent added; maxout, the normalisations, the activations and dropout are
``numpy_cost``'s own (``layer_values``), the residual connection and the activity
penalty ``oracles.components``'.  A tied layer takes its source's matrix, and a
direction's entries there move both uses (the idle slot's move nothing).  The
other kinks are found as ReLU's: maxout's winning pieces (by Re z) changing, or
tied pieces moved apart by a complex step; an l1 weight changing sign along d, or
sitting at 0 where d moves it.  The l1 term is linear in h between its kinks,
l1 (sum |W| + h <sign W, D>), and evaluated so.
Evaluations are kept (``survey``): the Taylor test, the kink probes and the central
differences of one check ask for many steps along the same directions, all computed
in one batched pass and read from there.
"""

from __future__ import annotations

import functools

import numpy as np
from gradcert.oracles import activations, components, finite_diff, numpy_cost, rounding
from gradcert.oracles.base import abs_times, columns
from gradcert.oracles.precision import UNIT_ROUNDOFF, gamma
from gradcert.oracles.tangents import Tangents, draw

NOISE_SPACING = 2.0**-30  # between the points that measure the cost's rounding noise
NOISE_STEPS = tuple(k * NOISE_SPACING for k in range(-4, 5))
NOISE_SEED = 2**31 - 1


class Landscape:
    """C around theta: values along directions (``along``, ``survey``), kinks, the cost's
    rounding noise, and how far a value of C may be off (``point_error``).  ``theta`` is a
    ``tangents.Parameters``; ``bound`` the case's ``oracles.rounding.Rounding``."""

    def __init__(self, arch, theta, x, y, bound):
        self.arch, self.theta, self.bound = arch, theta, bound
        self.x_rows, self.y_rows = columns(x).T, columns(y).T
        self.m = self.x_rows.shape[0]
        self.units = numpy_cost.piecewise_units(arch)
        # relu units, and the components' kinks: l1's zeros, maxout's ties
        self.piecewise = any(u.size for u in self.units) or components.kinked(arch)
        self.inputs, self.zs, self.signs, self.winners, self.penalties = [self.x_rows], [], [], [], []
        for layer in range(arch.depth):
            w, b = components.weights_of(arch, theta.weights, layer), theta.biases[layer]
            z = self.inputs[-1] @ w.T + b.T
            _, u, out = numpy_cost.layer_values(arch, layer, z)
            self.zs.append(z)
            self.inputs.append(components.Residual.add(arch, layer, out, self.inputs[-1]))
            self.signs.append(u[..., self.units[layer]] > 0)
            self.winners.append(numpy_cost.winners(arch, layer, z))
            self.penalties.append(components.Activity.numpy(arch, layer, self.inputs[-1]))
        used = components.used(arch, theta.weights)
        self.squares = float(sum(np.einsum("ij,ij->", w, w) for w in used)) if arch.l2 else 0.0
        self.absolute = float(sum(np.sum(np.abs(w)) for w in used)) if arch.l1 else 0.0
        self.measured_noise = None
        # kept for the check: see _group_products, _decay, _l1_terms, survey, _tangent
        self._products, self._decays, self._l1s, self._surveys, self._tangents = {}, {}, {}, {}, {}
        data = numpy_cost.data_cost(arch, self.inputs[-1], self.y_rows, z_out=u)
        if arch.activity is not None:
            data = data + np.mean(sum(self.penalties))
        self.cost = float(data + components.WeightPenalty.numpy(arch, theta.weights))

    @functools.cached_property
    def trace(self):
        """The forward pass as the probe engine keeps it (``numpy_cost.Trace``)."""
        return numpy_cost.Trace(self.arch, self.theta.weights, self.theta.biases, self.x_rows)

    @functools.cached_property
    def held(self):
        """sum_i M_i |theta_i| per tensor (nabla_b[0], nabla_w[0], ...), from M's factors."""
        bound, held = self.bound, []
        for layer, b in enumerate(self.theta.biases):
            held.append(float(np.einsum("ij,ij->", np.abs(b), bound.magnitude_b[layer])))
            held.append(bound.held_w(layer))
        return held

    @functools.cached_property
    def cost_error(self):
        """e_C: how far one value of C may be off by rounding (finite_diff's bound, with the
        noise measured here); only the Taylor test and the central difference need it."""
        noise = self._noise()
        return float(finite_diff.cost_rounding_bound(self.arch, abs(self.cost), self.m, noise))

    def _penalty_before(self, layer):
        """The activity penalty per example of the layers before ``layer`` at theta (0 if none)."""
        return sum(self.penalties[:layer], 0.0)

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
        tensors = self.theta.tensors_list
        probe = Tangents.dense([t.shape for t in tensors],
                               [draw(rng, "rademacher", t.size).reshape(t.shape) * np.maximum(1.0, np.abs(t))
                                for t in tensors])
        self.measured_noise = self.noise_along(self.survey(probe, [0], NOISE_STEPS)[0])
        return self.measured_noise

    @staticmethod
    def noise_along(survey):
        """The noise measured from C at theta + k NOISE_SPACING d, k = -4..4, in ``survey``,
        or 0.0 if a kink lies between those points."""
        points = [survey[h] for h in NOISE_STEPS]
        if any(crossed for _, crossed in points):
            return 0.0
        return finite_diff.noise_level(np.array([value for value, _ in points]))

    def _decay(self, steps, directions, ks):
        """(l2 / 2) sum ||W + h D||^2 for directions ``ks`` and every step, expanded so that
        no W + h D is formed: shape (len(ks), steps)."""
        if not self.arch.l2:
            return 0.0
        if id(directions) not in self._decays:
            count = len(directions.labels)
            across, squares = np.zeros(count), np.zeros(count)
            for i in range(1, len(directions.groups), 2):
                if components.idle(self.arch, i // 2):
                    continue  # a tied layer's own slot: no penalty counts it
                for group in directions.groups[i]:
                    inner, square = group.decay_terms(self.theta.weights[i // 2])
                    across[list(group.owners)] += inner
                    squares[list(group.owners)] += square
            self._decays[id(directions)] = (directions, across, squares)
        _, across, squares = self._decays[id(directions)]
        across, squares = across[ks][:, None], squares[ks][:, None]
        return 0.5 * self.arch.l2 * (self.squares + 2 * steps * across + steps**2 * squares)

    def _l1_terms(self, directions):
        """Per direction, what l1 sum |W + h D| needs (over the matrices in use): <sign W, D>, sum
        |D| where W != 0 (the magnitude of that sum's terms), the smallest h > 0 and the
        smallest -h > 0 at which an entry of W + h D changes sign (inf: none), and whether d
        moves an entry sitting at 0 (a kink at h = 0 whichever way it goes).  Once per check."""
        if id(directions) not in self._l1s:
            count = len(directions.labels)
            signed, spread, on_zero = np.zeros(count), np.zeros(count), np.zeros(count, dtype=bool)
            ahead, behind = np.full(count, np.inf), np.full(count, np.inf)
            for i in range(1, len(directions.groups), 2):
                if components.idle(self.arch, i // 2):
                    continue
                w = self.theta.weights[i // 2]
                sign = np.sign(w)
                for group in directions.groups[i]:
                    signed[list(group.owners)] += group.decay_terms(sign)[0]
                    spread[list(group.owners)] += group.abs_decay(np.abs(sign))
                    for r, k in enumerate(group.owners):
                        d = group.entries(r)
                        moved = d != 0
                        on_zero[k] |= bool(np.any(moved & (w == 0)))
                        with np.errstate(divide="ignore", invalid="ignore"):
                            flips = np.where(moved & (w != 0), -w / d, np.nan)  # w + h d = 0 at h = flips
                        ahead[k] = min(ahead[k], float(np.min(flips[flips > 0], initial=np.inf)))
                        behind[k] = min(behind[k], float(np.min(-flips[flips < 0], initial=np.inf)))
            self._l1s[id(directions)] = (directions, signed, spread, ahead, behind, on_zero)
        return self._l1s[id(directions)][1:]

    def _l1(self, steps, directions, ks):
        """l1 sum |W + h D| for directions ``ks`` and every step, (len(ks), steps), linear in h
        between the kinks, and where a kink lies within a step: an entry changing sign (the
        threshold less 4u, so that the rounding of w + h d cannot hide one) or one at 0 moved.
        A complex step's real part is theta's: only the moved zeros are its kinks."""
        if not self.arch.l1:
            return 0.0, False
        signed, _, ahead, behind, on_zero = (t[ks][:, None] for t in self._l1_terms(directions))
        values = self.arch.l1 * (self.absolute + steps * signed)
        real = np.real(steps)[None, :]
        margin = 1.0 - 4 * UNIT_ROUNDOFF
        crossed = on_zero | ((real > 0) & (real >= margin * ahead))
        crossed = crossed | ((real < 0) & (-real >= margin * behind))
        return values, crossed

    def _group_products(self, layer, group, exact=True):
        """(a D^T, its rounding bound) for every row of a group on layer ``layer``'s weights, a
        being theta's input to that layer: (rows, m, n_out), computed once per check."""
        key = (id(group), layer, exact)  # a tied matrix's group meets two inputs
        if key not in self._products:
            self._products[key] = (group, group.times(self.inputs[layer], exact))
        return self._products[key][1]

    def _tangent(self, directions, ks, layer, a, exact=True, track=True):
        """h's coefficient in layer ``layer``'s weighted input, a D^T + db^T, for directions
        ``ks``: shape (len(ks), ..., m, n_out), and a bound on its rounding error (the products'
        errors, ``oracles.tangents``: the bias shifts are exact); (None, None) if none reaches
        the layer.  ``a`` is the layer's input: (m, n_in) from theta, or one block (steps, m,
        n_in) per direction.  ``exact``: the products split (``oracles.tangents``); without
        ``track`` no error is wanted, and the products are plain.  From theta's input, every
        direction's tangent is formed once per check, tracked (split, with its error), and kept:
        the real steps of a survey and the complex step's slopes share it (a survey's values
        are then only more accurate than ``point_error`` allows for)."""
        if a.ndim == 2:
            key = (id(directions), layer, exact)
            everyone = list(range(len(directions.labels)))
            if key not in self._tangents:
                self._tangents[key] = (directions, self._tangent_of(directions, everyone, layer, a, exact,
                                                                    True))
            out, error = self._tangents[key][1]
            error = error if track else None
            if out is None or list(ks) == everyone:
                return out, error
            return out[ks], None if error is None else error[ks]
        return self._tangent_of(directions, ks, layer, a, exact, track)

    def _tangent_of(self, directions, ks, layer, a, exact, track):
        position = {k: p for p, k in enumerate(ks)}
        out = error = None
        real = a.real if np.iscomplexobj(a) else a  # the O(eps^2) part left out (module docstring)
        # The layer's input is the forward pass's own value, off by up to E(a) (the running bound's)
        # after the first layer: that moves the injection by |D| E(a), a first-order error of the
        # tangent beside the product's rounding (the data, the first layer's input, is exact).
        moved_input = self.bound.layers[layer - 1].error_a.T if track and layer > 0 else None
        # the layer's matrix (its source's, if tied: an idle slot's entries move nothing), its biases
        for i in (2 * self.arch.weight_of(layer) + 1, 2 * layer):
            for group in directions.groups[i]:
                pairs = [(r, position[k]) for r, k in enumerate(group.owners) if k in position]
                if not pairs:
                    continue
                rows, places = [r for r, _ in pairs], [p for _, p in pairs]
                every_row = len(rows) == len(group.owners)
                if out is None:
                    lead = a.shape[:-1] if a.ndim == 2 else a.shape[1:-1]
                    out = np.zeros((len(ks), *lead, self.theta.biases[layer].shape[0]))  # maxout: pieces
                    error = np.zeros_like(out) if track else None
                if i % 2 == 0:  # biases (rows, n_out, 1): the same shift for every step and example
                    shift = (group.stack() if every_row else group.stack()[rows])[:, :, 0]
                    term, lost = shift.reshape(len(rows), *[1] * (out.ndim - 2), -1), 0.0
                elif a.ndim == 2:
                    products, errors = self._group_products(layer, group, exact and track)
                    term, lost = (products, errors) if every_row else (products[rows], errors[rows])
                else:
                    term, lost = group.times_each(rows, real[places], exact and track, track)
                if moved_input is not None and i % 2 == 1:
                    carried = group.abs_times(moved_input)
                    carried = carried if every_row else carried[rows]
                    lost = lost + (carried if a.ndim == 2 else carried[:, None])
                if len(places) == len(ks) and places == list(range(len(ks))):
                    out += term
                    if track:
                        error += lost
                else:
                    out[places] += term
                    if track:
                        error[places] += lost
        return out, error

    def along(self, directions, ks, steps, track=False, exact=True):
        """C(theta + h d) for the directions ``ks`` and every h in ``steps`` (real or complex),
        shape (len(ks), steps); and whether a kink lies within the step: a ReLU-type unit
        changed side (judged by Re z), maxout's winners changed or an l1 weight its sign, or,
        with a complex step, one sits on its kink and is moved off it.

        With ``track`` (one imaginary step i eps), also a bound per direction on the rounding
        error of Im C / eps as dC/dtheta . d (``_Tracker``): returns (values, crossed, errors);
        ``exact=False`` bounds a forward mode that forms the injection D a plainly (torch's, JAX's).
        """
        arch = self.arch
        steps = np.asarray(steps)
        h = steps.reshape(1, -1, 1, 1)
        first = min(directions.first_layer[k] for k in ks)
        a = None  # every direction's and step's layer inputs: (directions, steps, m, n)
        crossed = np.zeros((len(ks), steps.size), dtype=bool)
        tracker = _Tracker(self, abs(complex(steps[0])), len(ks)) if track else None
        penalty = self._penalty_before(first)
        for layer in range(first, arch.depth):
            w, b = components.weights_of(arch, self.theta.weights, layer), self.theta.biases[layer]
            if a is None:  # the first layer any direction touches: z(h) is affine in h
                before = self.inputs[layer]
                tangent, lost = self._tangent(directions, ks, layer, before, exact, track)
                if tangent is None:  # only an idle tied slot: nothing moves here
                    tangent, lost = np.zeros((len(ks), *self.zs[layer].shape)), np.zeros(1)
                z = self.zs[layer] + h * tangent[:, None]
                if tracker:
                    tracker.injected(layer, lost[:, None], None, z)
            else:  # all directions' and steps' examples as the rows of one matrix product
                before = a
                z = numpy_cost.weighted_input(a, w, b)
                tangent, lost = self._tangent(directions, ks, layer, a, exact, track)
                if tangent is not None:
                    z = z + h * tangent
                if tracker:
                    tracker.injected(layer, 0.0 if lost is None else lost, before, z)
            top, u, out = numpy_cost.layer_values(arch, layer, z)
            a = components.Residual.add(arch, layer, out, before)
            if tracker:
                tracker.activated(layer, top, u, out, a)
            if arch.activity is not None and arch.activity[0] == layer:
                penalty = penalty + components.Activity.numpy(arch, layer, a)
                if tracker:
                    tracker.activity(layer, a)
            crossed |= self._crossed(layer, z, u)
        # The output's weighted input too: with a sigmoid or softmax output the log-based
        # costs are computed from it, not from a, where 1 - a has lost its digits.
        values = numpy_cost.data_cost(arch, a, self.y_rows, z_out=u) + self._decay(steps, directions, ks)
        if arch.activity is not None:
            values = values + np.mean(penalty, axis=-1)
        if arch.l1:
            l1, kinks = self._l1(steps, directions, ks)
            values, crossed = values + l1, crossed | kinks
        if not tracker:
            return values, crossed
        tracker.cost(a, u)
        tracker.decay(directions, ks)
        tracker.l1(directions, ks)
        return values, crossed, tracker.total

    def _crossed(self, layer, z, u):
        """Per direction and step: a ReLU-type unit of ``layer`` on the other side of its kink
        from theta (or, complex, on it and moved), or maxout's winners not theta's (or, complex,
        tied pieces moved apart)."""
        crossed = False
        if self.units[layer].size:
            on_units = u[..., self.units[layer]]
            crossed = np.any((on_units.real > 0) != self.signs[layer], axis=(-2, -1))
            if np.iscomplexobj(on_units):  # on its kink and moved off it: one-sided
                crossed = crossed | np.any((on_units.real == 0) & (on_units.imag != 0), axis=(-2, -1))
        if self.winners[layer] is not None:
            changed = numpy_cost.winners(self.arch, layer, z) != self.winners[layer]
            crossed = crossed | np.any(changed, axis=(-3, -2, -1))
            if np.iscomplexobj(z):
                crossed = crossed | np.any(numpy_cost.tie_moved(self.arch, layer, z), axis=(-2, -1))
        return crossed

    def forward_mode_errors(self, directions):
        """A bound on the rounding error of a plain forward-mode slope along every direction (the
        injection D a formed as a product, not split): for torch's and JAX's ``slopes``."""
        ks = list(range(len(directions)))
        return self.along(directions, ks, [1j * 2.0**-64], track=True, exact=False)[2]

    def survey(self, directions, ks, steps):
        """For each direction of ``ks``, {h: (C(theta + h d), crossed a kink)} at the real ``steps``
        (and at every step asked for before): the values not yet known computed in one pass."""
        known = [self._surveys.setdefault((id(directions), k), (directions, {}))[1] for k in ks]
        missing = sorted({h for h in steps for survey in known if h not in survey})
        if missing:
            values, crossed = self.along(directions, ks, missing)
            for survey, vs, cs in zip(known, values.tolist(), crossed.tolist()):
                survey.update(zip(missing, zip(vs, cs)))
        return known

    def point_error(self, directions, k, h, spread):
        """How much C(theta + h d) can be off: the cost's own rounding, and that of the
        perturbed weighted inputs z + h dz, whose terms are each rounded by a relative u:
        as if every theta_i on d's support moved by u (|theta_i| + h |d_i|), which moves
        C by at most M_i times that.  ``spread`` is sum_i |d_i| M_i."""
        moved = sum(self.held[i] for i in directions.support[k])
        return self.cost_error + UNIT_ROUNDOFF * (moved + h * spread)


# The forward-mode error bound's counts of roundings (each a few ulps, see ``_Tracker``).
COMPLEX_FUNCTION_OPS = 4 * rounding.ELEMENTARY_FUNCTION_OPS  # a complex exp / log / division on Im
BATCH_NORM_OPS = 16  # centring, the variance, its root and the division, in complex arithmetic
FIRST_ORDER_MARGIN = 1.01  # the bound is first-order; its own inputs are float64 values


class _Tracker:
    """A running bound on the rounding error of a complex-step (forward-mode) slope Im C / eps.

    Forward mode computes tangents -- z' = W a' + D a + d_b (maxout: per piece), the max's
    (the winning piece's, copied exactly), u' (batch or layer normalisation's), sigma'(u) u',
    its mask's product and a residual's sum a' = out' + a_in' -- and C' from them.  Each step
    rounds (its *local* error), and each local error reaches C' multiplied by the exact
    adjoint there (dC/dz, dC/du, dC/dsigma, dC/da of the batch cost: ``oracles.rounding``'s
    own backward pass, ``Layer.adjoint``), so to first order

        |error of C'| <= sum over steps of <|adjoint|, local error>.

    The local errors, in units of the tangent (Im / eps): the injection D a + d_b, exact but
    for one rounding and the split's remainder (``oracles.tangents``) for +-s directions,
    gamma_{n+1} |D| |a| otherwise, and after the first layer |D| E(a), the forward pass's own
    error in the input a it is formed from (``_tangent_of``); the product W a' of the layers after,
    gamma_{n_in + 1} |W| |a'| and one rounding of the sum (a tied layer's W its source's, whose direction
    enters both uses' injections); maxout's max, none (at a tie the pieces' adjoint is the
    unit's whole |dC/du|, ``rounding._maxout_back``'s magnitude, whichever piece the
    evaluation copies); batch or layer normalisation, BATCH_NORM_OPS roundings of its terms
    and the errors of the forward pass's 1/std and u it is taken at, along its axis; the
    activation, COMPLEX_FUNCTION_OPS roundings of sigma'(u) u' and sigma' moved by the
    forward pass's error in u (its curvature, as in the running bound); dropout's product
    and the residual's sum, one rounding each of their result, u |out'| and u |a'|; the
    activity penalty's c sum a a' per example, its products and sums (gamma_{n+3}) and
    the mean over the batch (gamma_{m+2}) of the magnitudes c |a| |a'|, and c E(a) |a'|, its
    derivative taken at the forward pass's a; the cost, its output error's derivative taken
    at a (or z) with the forward pass's error there, and its rounding; the decay, gamma_n l2
    sum |W| |D| of <W, D>; l1's l1 <sign W, D>, gamma_{n+2} l1 sum |D| where W != 0.  Every
    tangent is read from the complex evaluation itself (|Im q| / eps), so the bound follows
    the direction: a projection with random signs is bounded by its own size, not by
    sum |d_i| M_i.
    """

    def __init__(self, landscape, eps, count):
        self.landscape, self.eps = landscape, eps
        self.bound = landscape.bound
        self.total = np.zeros(count)

    def _add(self, adjoint_columns, local):
        """sum over examples and units of |adjoint| local, per direction; local (K, 1, m, n)."""
        self.total += np.einsum("kij,ij->k", local[:, 0], np.abs(adjoint_columns).T)

    def injected(self, layer, lost, before, z):
        """z' of ``layer``: the injection's error ``lost`` and, after the first layer, W a'."""
        here = self.bound.layers[layer]
        local = np.abs(z.imag) / self.eps * rounding.U + lost
        if before is not None and np.iscomplexobj(before):
            w = components.weights_of(self.landscape.arch, self.landscape.theta.weights, layer)
            tangent = np.abs(before.imag) / self.eps
            flat = tangent.reshape(-1, tangent.shape[-1])
            carried = abs_times(w, flat.T).T.reshape(*tangent.shape[:-1], w.shape[0])
            local = local + gamma(w.shape[1] + 1) * carried
        self._add(here.adjoint["z_magnitude"], np.broadcast_to(local, z.shape))

    def activated(self, layer, top, u, out, a):
        """The normalisation's, the activation's, the mask's and the residual's local errors in
        u', sigma'(u) u', out' and a' (``top`` is the normalisation's input: maxout's max)."""
        arch, here = self.landscape.arch, self.bound.layers[layer]
        t_z = np.abs(np.imag(top)) / self.eps
        t_u = np.abs(np.imag(u)) / self.eps
        if here.inv_std is not None:
            axis = -2 if here.axis == 1 else -1  # rows are examples: batch norm over them, layer norm across
            inv, error_inv = here.inv_std.T, here.error_inv_std.T  # (1, n) or (m, 1)
            magnitude_u, error_u = np.abs(here.u.T), here.error_u.T  # (m, n)
            spread = np.mean(magnitude_u * t_z, axis=axis, keepdims=True)
            local = (BATCH_NORM_OPS * rounding.U * inv * (t_z + t_z.mean(axis=axis, keepdims=True)
                                                          + magnitude_u * spread)
                     + error_inv / inv * t_u
                     + inv * (error_u * spread
                              + magnitude_u * np.mean(error_u * t_z, axis=axis, keepdims=True)))
            self._add(here.adjoint["u"], local)
        if not (layer == arch.depth - 1 and self.bound.canonical):  # else the cost reads u itself
            if activations.get(arch.activations[layer]).coupled:  # softmax: a' = a (u' - sum a u')
                s, error_s = here.activated.T, here.error_activated.T
                pulled = np.sum(s * t_u, axis=-1, keepdims=True)
                local = (COMPLEX_FUNCTION_OPS * rounding.U * s * (t_u + pulled) + error_s * (t_u + pulled)
                         + s * np.sum(error_s * t_u, axis=-1, keepdims=True))
            else:
                curvature = _curvatures(arch, layer, here.u.shape[0])  # (n,)
                moved = COMPLEX_FUNCTION_OPS * rounding.U + curvature * here.error_u.T
                local = moved * np.abs(here.slope.T) * t_u
            self._add(here.adjoint["a"], local)
        if here.mask is not None:  # out' = mask sigma'(u) u': one product
            self._add(here.adjoint["output"], rounding.U * np.abs(np.imag(out)) / self.eps)
        if layer in arch.residual:  # a' = out' + a_in': one sum
            self._add(here.adjoint["output"], rounding.U * np.abs(np.imag(a)) / self.eps)

    def activity(self, layer, a):
        """The activity penalty's local error (the class docstring); each example's penalty
        enters the batch cost with weight 1/m."""
        arch, here = self.landscape.arch, self.bound.layers[layer]
        coefficient, (m, n) = arch.activity[1], here.a.T.shape
        tangent = np.abs(np.imag(a)) / self.eps
        per_unit = coefficient * ((gamma(n + 3) + gamma(m + 2)) * np.abs(here.a.T) + here.error_a.T) / m
        self.total += np.einsum("kij,ij->k", tangent[:, 0], per_unit)

    def cost(self, a, u):
        """The cost's local error: its derivative at the output taken with the forward pass's
        error there (``Rounding.seed_error``) and rounded, times the output's tangent."""
        bound = self.bound
        tangent = np.abs((u if bound.canonical else a).imag) / self.eps
        seed = bound.layers[-1].adjoint["u" if bound.canonical else "output"]
        local_weight = bound.seed_error + COMPLEX_FUNCTION_OPS * rounding.U * np.abs(seed)
        self.total += np.einsum("kij,ij->k", tangent[:, 0], local_weight.T)
        self.total *= FIRST_ORDER_MARGIN

    def decay(self, directions, ks):
        """(l2 / 2) ||W + i eps D||^2's slope l2 <W, D>: gamma_n l2 sum |W| |D| and one rounding."""
        arch = self.landscape.arch
        if not arch.l2:
            return
        position = {k: p for p, k in enumerate(ks)}
        for i in range(1, len(directions.groups), 2):
            if components.idle(arch, i // 2):
                continue
            w = self.landscape.theta.weights[i // 2]
            for group in directions.groups[i]:
                sums = group.abs_decay(np.abs(w))
                for r, k in enumerate(group.owners):
                    if k in position:
                        self.total[position[k]] += FIRST_ORDER_MARGIN * gamma(w.size + 1) * arch.l2 * sums[r]

    def l1(self, directions, ks):
        """l1 (sum |W| + i eps <sign W, D>)'s slope: <sign W, D> sums n terms +-|d_i| (gamma_n of
        sum |d_i| where W != 0), times i eps and l1, two roundings more: gamma_{n+2}."""
        arch = self.landscape.arch
        if not arch.l1:
            return
        _, spread, _, _, _ = (t[ks] for t in self.landscape._l1_terms(directions))
        n = sum(w.size for w in components.used(arch, self.landscape.theta.weights))
        self.total += FIRST_ORDER_MARGIN * gamma(n + 2) * arch.l1 * spread


@functools.lru_cache(maxsize=64)
def _curvature_table(arch, layer, width):
    c = np.full(width, rounding.CURVATURE[arch.activations[layer]])
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        c[arch.modified_neuron[1]] = rounding.CURVATURE[arch.modified_neuron[2]]
    c.flags.writeable = False
    return c


def _curvatures(arch, layer, width):
    """max |sigma''/sigma'| per unit of a layer (a modified neuron may differ)."""
    return _curvature_table(arch, layer, width)


def forward_mode_errors(arch, weights, biases, x, y, tangents, landscape=None, bound=None):
    """``Landscape.forward_mode_errors`` for a case, building its landscape if not given."""
    if landscape is None:
        from gradcert.oracles.base import as_float64
        from gradcert.oracles.tangents import Parameters

        theta = Parameters(as_float64(biases), as_float64(weights))
        bound = bound or rounding.rounding_bound(arch, theta.weights, theta.biases, x, y)
        landscape = Landscape(arch, theta, x, y, bound)
    return landscape.forward_mode_errors(tangents)
