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
from gradcert.oracles import activations, finite_diff, numpy_cost, rounding
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
        # kept for the check: see _group_products, _decay, survey, _tangent
        self._products, self._decays, self._surveys, self._tangents = {}, {}, {}, {}
        self.cost = float(numpy_cost.data_cost(arch, self.inputs[-1], self.y_rows, z_out=u)
                          + 0.5 * arch.l2 * self.squares)

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

    def _group_products(self, layer, group, exact=True):
        """(a D^T, its rounding bound) for every row of a group on layer ``layer``'s weights, a
        being theta's input to that layer: (rows, m, n_out), computed once per check."""
        key = (id(group), exact)
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
        direction's tangent is formed once per check and kept."""
        if a.ndim == 2:
            key = (id(directions), layer, exact, track)
            everyone = list(range(len(directions.labels)))
            if key not in self._tangents:
                self._tangents[key] = (directions, self._tangent_of(directions, everyone, layer, a, exact,
                                                                    track))
            out, error = self._tangents[key][1]
            if out is None or list(ks) == everyone:
                return out, error
            return out[ks], None if error is None else error[ks]
        return self._tangent_of(directions, ks, layer, a, exact, track)

    def _tangent_of(self, directions, ks, layer, a, exact, track):
        position = {k: p for p, k in enumerate(ks)}
        out = error = None
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
                    error = np.zeros_like(out) if track else None
                if i % 2 == 0:  # biases (rows, n_out, 1): the same shift for every step and example
                    shift = (group.stack() if every_row else group.stack()[rows])[:, :, 0]
                    term, lost = shift.reshape(len(rows), *[1] * (out.ndim - 2), -1), 0.0
                elif a.ndim == 2:
                    products, errors = self._group_products(layer, group, exact and track)
                    term, lost = (products, errors) if every_row else (products[rows], errors[rows])
                else:
                    term, lost = group.times_each(rows, real[places], exact and track, track)
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
        shape (len(ks), steps); and whether a ReLU-type unit changed side (judged by Re z) or,
        with a complex step, sits on its kink, Re z = 0, and is moved off it.

        With ``track`` (one imaginary step i eps), also a bound per direction on the rounding
        error of Im C / eps as dC/dtheta . d (``_Tracker``): returns (values, crossed, errors);
        ``exact=False`` bounds a forward mode that forms the injection D a plainly (torch's, JAX's).
        """
        steps = np.asarray(steps)
        h = steps.reshape(1, -1, 1, 1)
        first = min(directions.first_layer[k] for k in ks)
        a = None  # every direction's and step's layer inputs: (directions, steps, m, n)
        crossed = np.zeros((len(ks), steps.size), dtype=bool)
        tracker = _Tracker(self, abs(complex(steps[0])), len(ks)) if track else None
        for layer in range(first, self.arch.depth):
            w, b = self.theta.weights[layer], self.theta.biases[layer]
            if a is None:  # the first layer any direction touches: z(h) is affine in h
                tangent, lost = self._tangent(directions, ks, layer, self.inputs[layer], exact, track)
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
            a, u = self._activate(layer, z)
            if tracker:
                tracker.activated(layer, z, u)
            if self.units[layer].size:
                on_units = u[..., self.units[layer]]
                crossed |= np.any((on_units.real > 0) != self.signs[layer], axis=(-2, -1))
                if np.iscomplexobj(on_units):  # on its kink and moved off it: one-sided
                    crossed |= np.any((on_units.real == 0) & (on_units.imag != 0), axis=(-2, -1))
        # The output's weighted input too: with a sigmoid or softmax output the log-based
        # costs are computed from it, not from a, where 1 - a has lost its digits.
        values = numpy_cost.data_cost(self.arch, a, self.y_rows, z_out=u) + self._decay(steps, directions, ks)
        if not tracker:
            return values, crossed
        tracker.cost(a, u)
        tracker.decay(directions, ks)
        return values, crossed, tracker.total

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

    Forward mode computes tangents -- z' = W a' + D a + d_b, u' (batch normalisation's),
    a' = sigma'(u) u' -- and C' from them.  Each step rounds (its *local* error), and each
    local error reaches C' multiplied by the exact adjoint there (dC/dz, dC/du, dC/da of the
    batch cost: ``oracles.rounding``'s own backward pass, ``Layer.adjoint``), so to first order

        |error of C'| <= sum over steps of <|adjoint|, local error>.

    The local errors, in units of the tangent (Im / eps): the injection D a + d_b, exact but
    for one rounding and the split's remainder (``oracles.tangents``) for +-s directions,
    gamma_{n+1} |D| |a| otherwise; the product W a' of the layers after, gamma_{n_in + 1}
    |W| |a'| and one rounding of the sum; batch normalisation, BATCH_NORM_OPS roundings of
    its terms and the errors of the forward pass's 1/std and u it is taken at; the
    activation, COMPLEX_FUNCTION_OPS roundings of sigma'(u) u' and sigma' moved by the
    forward pass's error in u (its curvature, as in the running bound); the cost, its
    output error's derivative taken at a (or z) with the forward pass's error there, and
    its rounding; the decay, gamma_n l2 sum |W| |D| of <W, D>.  Every tangent is read from
    the complex evaluation itself (|Im q| / eps), so the bound follows the direction: a
    projection with random signs is bounded by its own size, not by sum |d_i| M_i.
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
            w = self.landscape.theta.weights[layer]
            tangent = np.abs(before.imag) / self.eps
            flat = tangent.reshape(-1, tangent.shape[-1])
            carried = abs_times(w, flat.T).T.reshape(*tangent.shape[:-1], w.shape[0])
            local = local + gamma(w.shape[1] + 1) * carried
        self._add(here.adjoint["z"], np.broadcast_to(local, z.shape))

    def activated(self, layer, z, u):
        """Batch normalisation's and the activation's local errors in u' and a'."""
        arch, here = self.landscape.arch, self.bound.layers[layer]
        t_z = np.abs(z.imag) / self.eps
        t_u = np.abs(u.imag) / self.eps
        if here.inv_std is not None:
            inv, error_inv = here.inv_std.T, here.error_inv_std.T  # (1, n)
            magnitude_u, error_u = np.abs(here.u.T), here.error_u.T  # (m, n)
            spread = np.mean(magnitude_u * t_z, axis=-2, keepdims=True)
            local = (BATCH_NORM_OPS * rounding.U * inv * (t_z + t_z.mean(axis=-2, keepdims=True)
                                                          + magnitude_u * spread)
                     + error_inv / inv * t_u
                     + inv * (error_u * spread
                              + magnitude_u * np.mean(error_u * t_z, axis=-2, keepdims=True)))
            self._add(here.adjoint["u"], local)
        if layer == arch.depth - 1 and self.bound.canonical:
            return  # the cost is computed from u itself (``cost``)
        if activations.get(arch.activations[layer]).coupled:  # softmax: a' = a (u' - sum a u')
            a, error_a = here.a.T, here.error_a.T
            pulled = np.sum(a * t_u, axis=-1, keepdims=True)
            local = (COMPLEX_FUNCTION_OPS * rounding.U * a * (t_u + pulled) + error_a * (t_u + pulled)
                     + a * np.sum(error_a * t_u, axis=-1, keepdims=True))
        else:
            curvature = _curvatures(arch, layer, here.u.shape[0])  # (n,)
            moved = COMPLEX_FUNCTION_OPS * rounding.U + curvature * here.error_u.T
            local = moved * np.abs(here.slope.T) * t_u
        self._add(here.adjoint["a"], local)

    def cost(self, a, u):
        """The cost's local error: its derivative at the output taken with the forward pass's
        error there (``Rounding.seed_error``) and rounded, times the output's tangent."""
        bound = self.bound
        tangent = np.abs((u if bound.canonical else a).imag) / self.eps
        seed = bound.layers[-1].adjoint["u" if bound.canonical else "a"]
        local_weight = bound.seed_error + COMPLEX_FUNCTION_OPS * rounding.U * np.abs(seed)
        self.total += np.einsum("kij,ij->k", tangent[:, 0], local_weight.T)
        self.total *= FIRST_ORDER_MARGIN

    def decay(self, directions, ks):
        """(l2 / 2) ||W + i eps D||^2's slope l2 <W, D>: gamma_n l2 sum |W| |D| and one rounding."""
        l2 = self.landscape.arch.l2
        if not l2:
            return
        position = {k: p for p, k in enumerate(ks)}
        for i in range(1, len(directions.groups), 2):
            w = self.landscape.theta.weights[i // 2]
            for group in directions.groups[i]:
                sums = group.abs_decay(np.abs(w))
                for r, k in enumerate(group.owners):
                    if k in position:
                        self.total[position[k]] += FIRST_ORDER_MARGIN * gamma(w.size + 1) * l2 * sums[r]


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
