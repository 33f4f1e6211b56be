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
the tangent added; batch normalisation and the activations are ``numpy_cost``'s own.
Evaluations are kept (``survey``): the Taylor test, the kink probes and the central
differences of one check ask for many steps along the same directions, all computed
in one batched pass and read from there.
"""

from __future__ import annotations

import functools

import numpy as np
from gradcert.oracles import activations, components, finite_diff, numpy_cost
from gradcert.oracles.base import columns
from gradcert.oracles.precision import UNIT_ROUNDOFF
from gradcert.oracles.tangents import Tangents, draw

NOISE_SPACING = 2.0**-30  # between the points that measure the cost's rounding noise
NOISE_STEPS = tuple(k * NOISE_SPACING for k in range(-4, 5))
NOISE_SEED = 2**31 - 1
EACH_BUDGET = 2**22  # parameters of the copies of theta one evaluation of ``_along_each`` holds


@functools.lru_cache(maxsize=64)
def _piecewise_units(arch):
    """Per layer, the units whose activation has a kink at z = 0 (relu, leaky_relu)."""
    return [np.array([j for j in range(n) if activations.get(arch.unit_activation(layer, j)).piecewise],
                     dtype=int)
            for layer, n in enumerate(arch.sizes[1:])]


class Landscape:
    """C around theta: values along directions (``along``, ``survey``), kinks, the cost's
    rounding noise, and how far a value of C may be off (``point_error``).  ``theta`` is a
    ``tangents.Parameters``; ``bound`` the case's ``oracles.rounding.Rounding``."""

    def __init__(self, arch, theta, x, y, bound):
        self.arch, self.theta, self.bound = arch, theta, bound
        self.x_rows, self.y_rows = columns(x).T, columns(y).T
        self.m = self.x_rows.shape[0]
        self.units = _piecewise_units(arch)
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
        self._products, self._decays, self._surveys = {}, {}, {}  # see _group_products, _decay, survey
        self.cost = float(numpy_cost.data_cost(arch, self.inputs[-1], self.y_rows, z_out=u)
                          + 0.5 * arch.l2 * self.squares)
        # Tied weights, residual connections, an activity penalty, l1 and maxout: the whole
        # network is run for each point (``_along_each``), the kinks read off ``numpy_cost.branches``.
        self.generic = components.generic(arch) or components.kinked(arch)
        if self.generic:
            self.piecewise = self.piecewise or components.kinked(arch)
            data = numpy_cost.parameters_cost(arch, theta.weights, theta.biases, self.x_rows, self.y_rows)
            self.cost = float(data + components.WeightPenalty.numpy(arch, theta.weights))
            self.sides = numpy_cost.branches(arch, theta.weights, theta.biases, self.x_rows)[0]

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

    def _activate(self, layer, z):
        """A layer's output from its weighted input z (..., m, n_out) and the input of its
        activation (z, normalised if the layer is): ``numpy_cost``'s own, over the examples
        of each direction and step."""
        z, out = numpy_cost.normalise_and_activate(self.arch, layer, z)
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
                for group in directions.groups[i]:
                    inner, square = group.decay_terms(self.theta.weights[i // 2])
                    across[list(group.owners)] += inner
                    squares[list(group.owners)] += square
            self._decays[id(directions)] = (directions, across, squares)
        _, across, squares = self._decays[id(directions)]
        across, squares = across[ks][:, None], squares[ks][:, None]
        return 0.5 * self.arch.l2 * (self.squares + 2 * steps * across + steps**2 * squares)

    def _group_products(self, layer, group):
        """a D^T for every row of a group on layer ``layer``'s weights, a being theta's input
        to that layer: (rows, m, n_out), computed once per check."""
        if id(group) not in self._products:
            self._products[id(group)] = (group, group.times(self.inputs[layer]))
        return self._products[id(group)][1]

    def _tangent(self, directions, ks, layer, a):
        """h's coefficient in layer ``layer``'s weighted input, a D^T + db^T, for directions
        ``ks``: shape (len(ks), ..., m, n_out), or None if none reaches the layer.  ``a`` is
        the layer's input: (m, n_in) from theta, or one block (steps, m, n_in) per direction."""
        position = {k: p for p, k in enumerate(ks)}
        out = None
        real = a.real if np.iscomplexobj(a) else a  # the O(eps^2) part left out (module docstring)
        for i in (2 * layer + 1, 2 * layer):
            for group in directions.groups[i]:
                pairs = [(r, position[k]) for r, k in enumerate(group.owners) if k in position]
                if not pairs:
                    continue
                rows, places = [r for r, _ in pairs], [p for _, p in pairs]
                every_row = len(rows) == len(group.owners)
                if out is None:
                    lead = a.shape[:-1] if a.ndim == 2 else a.shape[1:-1]
                    out = np.zeros((len(ks), *lead, self.arch.sizes[layer + 1]))
                if i % 2 == 0:  # biases (rows, n_out, 1): the same shift for every step and example
                    shift = (group.stack() if every_row else group.stack()[rows])[:, :, 0]
                    term = shift.reshape(len(rows), *[1] * (out.ndim - 2), -1)
                elif a.ndim == 2:
                    products = self._group_products(layer, group)
                    term = products if every_row else products[rows]
                else:
                    term = group.times_each(rows, real[places])
                if len(places) == len(ks) and places == list(range(len(ks))):
                    out += term
                else:
                    out[places] += term
        return out

    def along(self, directions, ks, steps):
        """C(theta + h d) for the directions ``ks`` and every h in ``steps`` (real or complex),
        shape (len(ks), steps); and whether a ReLU-type unit changed side (judged by Re z) or,
        with a complex step, sits on its kink, Re z = 0, and is moved off it."""
        steps = np.asarray(steps)
        if self.generic:
            return self._along_each(directions, ks, steps)
        h = steps.reshape(1, -1, 1, 1)
        first = min(directions.first_layer[k] for k in ks)
        a = None  # every direction's and step's layer inputs: (directions, steps, m, n)
        crossed = np.zeros((len(ks), steps.size), dtype=bool)
        for layer in range(first, self.arch.depth):
            w, b = self.theta.weights[layer], self.theta.biases[layer]
            if a is None:  # the first layer any direction touches: z(h) is affine in h
                z = self.zs[layer] + h * self._tangent(directions, ks, layer, self.inputs[layer])[:, None]
            else:  # all directions' and steps' examples as the rows of one matrix product
                z = numpy_cost.weighted_input(a, w, b)
                dz = self._tangent(directions, ks, layer, a)
                if dz is not None:
                    z = z + h * dz
            a, u = self._activate(layer, z)
            if self.units[layer].size:
                on_units = u[..., self.units[layer]]
                crossed |= np.any((on_units.real > 0) != self.signs[layer], axis=(-2, -1))
                if np.iscomplexobj(on_units):  # on its kink and moved off it: one-sided
                    crossed |= np.any((on_units.real == 0) & (on_units.imag != 0), axis=(-2, -1))
        # The output's weighted input too: with a sigmoid or softmax output the log-based
        # costs are computed from it, not from a, where 1 - a has lost its digits.
        values = numpy_cost.data_cost(self.arch, a, self.y_rows, z_out=u) + self._decay(steps, directions, ks)
        return values, crossed

    def _along_each(self, directions, ks, steps):
        """``along`` for the networks ``numpy_cost.Trace`` cannot shortcut: theta + h d formed for
        every step (a few steps at a time: EACH_BUDGET entries) and the whole cost evaluated; a
        kink crossed where a side of ``numpy_cost.branches`` changes, or a complex step moves a
        point that sits on one."""
        arch, theta = self.arch, self.theta
        values = np.zeros((len(ks), steps.size), dtype=np.result_type(steps, np.float64))
        crossed = np.zeros((len(ks), steps.size), dtype=bool)
        n = sum(t.size for t in theta.tensors_list)
        per_call = max(1, EACH_BUDGET // n)
        for row, k in enumerate(ks):
            d = directions.direction(k)
            for start in range(0, steps.size, per_call):
                h = steps[start:start + per_call]
                moved = [[t if dt is None else t + h[:, None, None] * dt for t, dt in zip(ts, dts)]
                         for ts, dts in ((theta.weights, d.weights), (theta.biases, d.biases))]
                weights, biases = ([t if t.ndim == 3 else np.broadcast_to(t, (h.size, *t.shape)) for t in ts]
                                   for ts in moved)
                cost = numpy_cost.parameters_cost(arch, weights, biases, self.x_rows[None], self.y_rows)
                values[row, start:start + h.size] = cost + components.WeightPenalty.numpy(arch, weights)
                sides, on = numpy_cost.branches(arch, weights, biases, self.x_rows[None])
                for side, base, kink in zip(sides, self.sides, on):
                    changed = np.any(side != base, axis=tuple(range(1, side.ndim)))
                    moved = np.any(kink, axis=tuple(range(1, kink.ndim)))
                    crossed[row, start:start + h.size] |= changed | moved
        return values, crossed

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
