"""The oracles' own NumPy forward pass: the batch cost, and nothing else.

Written independently of the reference, and differently on purpose: examples
are *rows* here, and every weight may carry a leading "probe" axis so that
many perturbed copies of the network are evaluated in one vectorised call.
The finite-difference and complex-step oracles use it as a black box: no
derivative appears in this file.

Every formula is an analytic function of its argument (relu and leaky_relu
excepted, whose branch is chosen by ``Re z``), so the same code runs in
complex128 for the complex-step oracle; the activations are the oracles'
table's (``oracles.activations``).  Where the output's logarithm has a closed
form in its weighted input (sigmoid and softmax outputs with the log-based
costs), the cost is computed from that input, not from the rounded output.

``Trace.shifted_costs`` evaluates the cost for many copies of the network
that differ from a kept forward pass in one unit's weighted input only,
which is what a perturbation of one weight or bias does.
"""

from __future__ import annotations

import functools

import numpy as np
from gradcert.oracles import activations, components

GENERIC_BUDGET = 2**16  # entries of the moved tensor's copies in one rerun of the whole network


def activation(name, z, slope):
    """An activation of the oracles' table (``oracles.activations``), over the last axis."""
    return activations.get(name).numpy(z, slope)


def _xlogy(x, y):
    # x is a target (real data); the choice is made on it, never on y.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def example_costs(name, a, y):
    """C_x summed over the units (last axis) of each example row."""
    if name == "quadratic":
        d = a - y
        return 0.5 * np.einsum("...i,...i->...", d, d)  # sum of squares: one pass
    if name == "cross-entropy":
        return -np.sum(_xlogy(y, a) + _xlogy(1.0 - y, 1.0 - a), axis=-1)
    if name == "log-likelihood":
        return -np.sum(_xlogy(y, a), axis=-1)
    raise ValueError(f"unknown cost {name!r}")


def canonical_output(arch) -> bool:
    """Whether the cost is computed from the output's weighted input: a sigmoid or
    softmax output with the cross-entropy, a softmax output with the log-likelihood
    (an output layer without a modified neuron)."""
    outputs = {"cross-entropy": ("sigmoid", "softmax"), "log-likelihood": ("softmax",)}.get(arch.cost, ())
    plain = arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1
    return arch.activations[-1] in outputs and plain


def example_costs_from_z(name, output, z, y):
    """C_x of a canonical output (``canonical_output``) from its weighted input z.

    ln sigma(z) = -softplus(-z), ln(1 - sigma(z)) = -softplus(z);
    ln softmax(z)_j = z_j - ln sum_k e^z_k and ln(1 - softmax(z)_j) =
    ln sum_{k != j} e^z_k - ln sum_k e^z_k.  Computed from a, ln(1 - a) is -inf
    once a rounds to 1 (z > 37), and long before that 1 - a has lost most of its
    digits: the cost becomes a staircase that finite differences see as flat,
    and a complex step loses Re(1 - a) to cancellation.
    """
    if output == "sigmoid":  # cross-entropy
        return np.sum(y * activations.softplus(-z) + (1.0 - y) * activations.softplus(z), axis=-1)
    shift = np.max(z.real, axis=-1, keepdims=True)
    e = np.exp(z - shift)
    log_total = np.log(np.sum(e, axis=-1, keepdims=True))
    costs = y * (log_total - (z - shift))
    if name == "cross-entropy":  # the others' sum, without the cancellation of total - e_j
        n = z.shape[-1]
        others = (e.reshape(-1, n) @ (1.0 - np.eye(n))).reshape(e.shape)
        with np.errstate(divide="ignore"):  # every other e_k underflowed: an infinite cost
            costs = costs + (1.0 - y) * (log_total - np.log(others))
    return np.sum(costs, axis=-1)


def normalise(z, epsilon):
    """Batch normalisation over the examples (axis -2), without abs: analytic.

    The mean is taken of z less its first example, so that a batch of equal values is
    centred to exactly 0: a plain mean of three equal numbers can be off by an ulp,
    which divided by sqrt(epsilon) would put a ReLU behind it on one side of its kink
    or the other, and a complex step's tangent on it likewise.
    """
    shifted = z - z[..., :1, :]
    centred = shifted - shifted.mean(axis=-2, keepdims=True)
    return centred / np.sqrt(np.mean(centred * centred, axis=-2, keepdims=True) + epsilon)


def weighted_input(a, w, b):
    """z = a w^T + b^T, row-major; one matrix product when w carries no probe axis."""
    if w.ndim == 2 and a.ndim > 2:
        z = a.reshape(-1, a.shape[-1]) @ w.T
        return z.reshape(a.shape[:-1] + (w.shape[0],)) + b.T
    return a @ np.swapaxes(w, -1, -2) + np.swapaxes(b, -1, -2)


def layer_values(arch, layer, z):
    """Layer ``layer`` from its weighted input z (..., m, n_out), step by step: (maxout's max of
    its pieces, that normalised -- the activation's input --, the output after dropout's mask)
    (``oracles.components``).  A residual connection is the caller's: it needs the layer's input."""
    top = components.Maxout.numpy(arch, layer, z)
    u = normalise(top, arch.bn_epsilon) if arch.batch_norm[layer] else top
    u = components.LayerNorm.numpy(arch, layer, u)
    out = activation(arch.activations[layer], u, arch.leaky_slope)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, name = arch.modified_neuron
        out = np.array(out, copy=True)
        out[..., unit] = activation(name, u[..., unit], arch.leaky_slope)
    return top, u, components.Dropout.numpy(arch, layer, out)


def normalise_and_activate(arch, layer, z):
    """(normalised z, output) of layer ``layer`` from its weighted input z (..., m, n_out):
    maxout's pooling, normalisation, the activation, dropout (``layer_values``).
    A residual connection is the caller's: it needs the layer's input."""
    _, u, out = layer_values(arch, layer, z)
    return u, out


def activate(arch, layer, z):
    """Layer ``layer``'s output from its weighted input z (..., m, n_out)."""
    return normalise_and_activate(arch, layer, z)[1]


def activate_units(arch, layer, units, z):
    """(normalised z, output) of single units of an elementwise layer: unit
    ``units[p]`` has weighted inputs ``z[p]`` (one per example).  Batch
    normalisation acts on each unit alone."""
    if arch.batch_norm[layer]:
        z = normalise(z[..., None], arch.bn_epsilon)[..., 0]
    out = activation(arch.activations[layer], z, arch.leaky_slope)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, name = arch.modified_neuron
        own = units == unit
        if np.any(own):
            out = np.array(out, copy=True)
            out[own] = activation(name, z[own], arch.leaky_slope)
    return z, components.Dropout.numpy(arch, layer, out, units)


def layer_forward(arch, layer, a, w, b):
    """One layer, row-major: a (..., m, n_in), w (..., n_out, n_in), b (..., n_out, 1)."""
    return activate(arch, layer, weighted_input(a, w, b))


@functools.lru_cache(maxsize=64)
def piecewise_units(arch):
    """Per layer, the units whose activation has a kink at z = 0 (relu, leaky_relu)."""
    return tuple(np.array([j for j in range(n) if activations.get(arch.unit_activation(layer, j)).piecewise],
                          dtype=int) for layer, n in enumerate(arch.sizes[1:]))


def on_kink(z, units):
    """Per leading index, whether one of ``units`` (last axis) of a complex z (..., m, n) sits
    exactly on its kink, Re z = 0, and is moved off it, Im z != 0: a one-sided slope there."""
    watched = z[..., units]
    return np.any((watched.real == 0) & (watched.imag != 0), axis=(-2, -1))


def winners(arch, layer, pieces):
    """Maxout's winning pieces by Re z, (..., m, units, k), or None for a layer without maxout."""
    k = arch.maxout[layer]
    if k == 1:
        return None
    grouped = pieces.reshape(*pieces.shape[:-1], pieces.shape[-1] // k, k).real
    return grouped == grouped.max(axis=-1, keepdims=True)


def tie_moved(arch, layer, pieces):
    """(..., m, units): where maxout's pieces tie exactly (by Re z) and an imaginary step moves the
    tied pieces apart (their Im z differ): a complex step there takes one side only.  None
    without maxout."""
    wins = winners(arch, layer, pieces)
    if wins is None:
        return None
    k = arch.maxout[layer]
    moved = np.imag(pieces).reshape(*pieces.shape[:-1], pieces.shape[-1] // k, k)
    spread = np.where(wins, moved, -np.inf).max(axis=-1) - np.where(wins, moved, np.inf).min(axis=-1)
    return (wins.sum(axis=-1) > 1) & (spread != 0)


def run_from(arch, layer, z, weights, biases, kinks=None):
    """From layer ``layer``'s weighted input z, run to the output: (normalised z^L, a^L).
    For a network without residual connections, tied weights or an activity penalty
    (``components.generic``: ``run_on`` runs those).  ``kinks`` (a boolean array over the
    leading axis), if given, gathers ``on_kink`` of every layer's piecewise units and
    maxout's moved ties (``tie_moved``)."""
    while True:
        pieces = z
        z, a = normalise_and_activate(arch, layer, z)
        if kinks is not None:
            kinks |= _kinks_of(arch, layer, pieces, z)
        if layer == arch.depth - 1:
            return z, a
        layer += 1
        z = weighted_input(a, weights[layer], biases[layer])


def _kinks_of(arch, layer, pieces, u):
    """Per leading index of a complex evaluation of one layer: a piecewise unit on its kink and
    moved off it, or maxout's tied pieces moved apart."""
    units = piecewise_units(arch)[layer]
    seen = on_kink(u, units) if units.size else np.zeros(u.shape[:-2], dtype=bool)
    ties = tie_moved(arch, layer, pieces)
    return seen if ties is None else seen | np.any(ties, axis=(-2, -1))


def run_on(arch, layer, z, a, weights, biases, observe=None, kinks=None):
    """From layer ``layer``'s weighted input z (maxout's pieces) and its input a (row-major, any
    leading probe axes), every component included, to the output: (normalised z^L, a^L, the
    activity penalty of each example (..., m) of the layers from ``layer`` on, or 0).
    ``observe(layer, z, u)``, if given, sees each layer's weighted input z and the input u of
    its activation; ``kinks`` as for ``run_from``."""
    penalty = 0.0
    while True:
        u, out = normalise_and_activate(arch, layer, z)
        if observe is not None:
            observe(layer, z, u)
        if kinks is not None:
            kinks |= _kinks_of(arch, layer, z, u)
        a = components.Residual.add(arch, layer, out, a)
        penalty = penalty + components.Activity.numpy(arch, layer, a)
        if layer == arch.depth - 1:
            return u, a, penalty
        layer += 1
        z = weighted_input(a, components.weights_of(arch, weights, layer), biases[layer])


def forward(arch, weights, biases, x_rows, observe=None):
    """The whole network on row-major x, every component included: (normalised z^L, a^L, the
    activity penalty of each example (..., m) or 0).  Weights and biases may carry probe axes.
    ``observe(layer, z, u)``, if given, sees each layer's weighted input z (maxout's pieces)
    and the input u of its activation."""
    pieces = weighted_input(x_rows, components.weights_of(arch, weights, 0), biases[0])
    return run_on(arch, 0, pieces, x_rows, weights, biases, observe)


def branches(arch, weights, biases, x_rows):
    """Where the cost's kinks put the network: (sides, on) lists of boolean arrays with the
    parameters' probe axes in front.  ``sides``: which side of each kink it is on (a ReLU-type
    unit's Re u > 0, each of maxout's pieces winning by Re z, an l1 weight's sign of Re w);
    ``on``: where it sits exactly on a kink that an imaginary step moves (Re at the kink, Im
    not 0: a complex step there takes one side only)."""
    sides, on = [], []

    def observe(layer, pieces, u):
        units = piecewise_units(arch)[layer]
        if units.size:
            sides.append(u.real[..., units] > 0)
            on.append((u.real[..., units] == 0) & (np.imag(u[..., units]) != 0))
        if arch.maxout[layer] > 1:
            sides.append(winners(arch, layer, pieces))
            on.append(tie_moved(arch, layer, pieces))

    forward(arch, weights, biases, x_rows, observe)
    if arch.l1:  # sign(0) = 0 is neither side's slope: leaving 0 either way crosses the kink
        for w in components.used(arch, weights):
            sides.append(np.sign(w.real))
            on.append((w.real == 0) & (np.imag(w) != 0))
    return sides, on


def forward_from(arch, layer, a, weights, biases):
    """Run layers ``layer``, ``layer + 1``, ... on row-major activations ``a``."""
    for i in range(layer, arch.depth):
        out = layer_forward(arch, i, a, components.weights_of(arch, weights, i), biases[i])
        a = components.Residual.add(arch, i, out, a)
    return a


def data_cost(arch, a_out, y_rows, z_out=None):
    """The mean over examples of C_x: shape (...,) for a probe axis, else a scalar.

    Given the output's (normalised) weighted input ``z_out``, a canonical output's
    cost is computed from it (``example_costs_from_z``), as it should be.
    """
    if z_out is not None and canonical_output(arch):
        return np.mean(example_costs_from_z(arch.cost, arch.activations[-1], z_out, y_rows), axis=-1)
    return np.mean(example_costs(arch.cost, a_out, y_rows), axis=-1)


def parameters_cost(arch, weights, biases, x_rows, y_rows):
    """The data cost (the activity penalty included, the weight penalties not) for row-major
    x and y; weights and biases may carry a probe axis."""
    if components.generic(arch):
        z_out, a_out, penalty = forward(arch, weights, biases, x_rows)
        return data_cost(arch, a_out, y_rows, z_out) + (np.mean(penalty, axis=-1) if arch.activity else 0.0)
    z_out, a_out = run_from(arch, 0, weighted_input(x_rows, weights[0], biases[0]), weights, biases)
    return data_cost(arch, a_out, y_rows, z_out)


def cost(arch, weights, biases, x, y):
    """The batch cost of ``reference.Network.cost``'s definition, for columns x and y."""
    x_rows, y_rows = np.asarray(x, float).T, np.asarray(y, float).T
    decay = components.WeightPenalty.numpy(arch, weights)
    return float(parameters_cost(arch, weights, biases, x_rows, y_rows) + decay)


class Trace:
    """One forward pass, kept: ``inputs[l]`` is layer l's input a (m, n_l) (the
    network's output last), ``zs[l]`` its weighted input before normalisation,
    ``z_out`` the output layer's after."""

    def __init__(self, arch, weights, biases, x_rows):
        self.arch, self.weights, self.biases = arch, weights, biases
        self.inputs, self.zs, self.penalty, self.penalties = [x_rows], [], 0.0, []
        for layer in range(arch.depth):
            w = components.weights_of(arch, weights, layer)
            self.zs.append(weighted_input(self.inputs[-1], w, biases[layer]))
            self.z_out, a = normalise_and_activate(arch, layer, self.zs[-1])
            self.inputs.append(components.Residual.add(arch, layer, a, self.inputs[-1]))
            self.penalties.append(components.Activity.numpy(arch, layer, self.inputs[-1]))
            self.penalty = self.penalty + self.penalties[-1]

    def penalty_before(self, layer):
        """The activity penalty per example of the layers before ``layer`` (0 if none)."""
        return sum(self.penalties[:layer], 0.0)

    def data_cost(self, y_rows):
        """The data cost of the kept pass, the activity penalty included (no weight penalties)."""
        return data_cost(self.arch, self.inputs[-1], y_rows, self.z_out) + np.mean(self.penalty)

    def unit_of(self, layer, is_weight, flat_indices):
        """The unit (row) whose weighted input weights[layer].flat[k] (biases[layer].flat[k]) moves."""
        return flat_indices // self.weights[layer].shape[1] if is_weight else flat_indices

    def unit_centres(self, layer, y_rows):
        """The data cost per unit of ``layer``, evaluated the way ``entry_costs`` evaluates that
        unit's entries (one rounding pattern for a stencil and its centre)."""
        n_units = self.zs[layer].shape[1]
        if components.generic(self.arch):
            return np.full(n_units, float(self.data_cost(y_rows)))
        return self.shifted_costs(layer, np.arange(n_units), np.zeros((n_units, y_rows.shape[0])), y_rows)

    def entry_costs(self, layer, is_weight, flat_indices, deltas, y_rows):
        """The data cost (activity penalty included, weight penalties not) when
        weights[layer].flat[k] (biases[layer].flat[k]) moves by delta, for every probe
        (k, delta) of ``flat_indices`` and ``deltas`` (real or complex): shape (P,).

        Where a move changes one unit's weighted input only, through ``unit_shifts`` and
        ``shifted_costs``; where it can change more (``components.generic``: a tied matrix
        is used twice, a residual or a penalty reads hidden activations), the whole network
        is run again on copies of the moved tensor.
        """
        if not components.generic(self.arch):
            units, shifts = self.unit_shifts(layer, is_weight, flat_indices, deltas)
            return self.shifted_costs(layer, units, shifts, y_rows)
        params = self.weights if is_weight else self.biases
        tensor = params[layer]
        per_call = max(1, GENERIC_BUDGET // tensor.size)  # copies of the moved tensor at a time
        costs = []
        for start in range(0, len(flat_indices), per_call):
            flat, moves = flat_indices[start:start + per_call], deltas[start:start + per_call]
            stack = np.array(np.broadcast_to(tensor, (len(flat),) + tensor.shape),
                             dtype=np.result_type(tensor, moves))
            stack.reshape(len(flat), -1)[np.arange(len(flat)), flat] += moves
            moved = [*params[:layer], stack, *params[layer + 1:]]
            weights, biases = (moved, self.biases) if is_weight else (self.weights, moved)
            # An idle tied slot moves nothing: one value for all its probes, broadcast.
            costs.append(np.broadcast_to(parameters_cost(self.arch, weights, biases, self.inputs[0], y_rows),
                                         (len(flat),)))
        return np.concatenate(costs)

    def unit_shifts(self, layer, is_weight, flat_indices, deltas):
        """Moving weights[layer].flat[k] (or biases[layer].flat[k]) by delta moves
        z[:, i] of that layer, and nothing else, by delta * a[:, j] (by delta):
        z = a W^T + b is linear.  Returns (units i, shifts (P, m))."""
        if not is_weight:
            return flat_indices, np.multiply.outer(deltas, np.ones(self.inputs[0].shape[0]))
        units, inputs = np.divmod(flat_indices, self.weights[layer].shape[1])
        return units, deltas[:, None] * self.inputs[layer][:, inputs].T

    def shifted_costs(self, layer, units, shifts, y_rows, kinks=False):
        """The data cost (no weight decay) when z[:, units[p]] of ``layer`` is moved by
        ``shifts[p]`` (real or complex), for every probe p: shape (P,); with ``kinks`` (complex
        shifts), also whether a piecewise unit on the way sits on its kink (``on_kink``).

        Only what the shift changes is recomputed.  In an elementwise layer only the
        shifted unit's output changes, so the next layer's weighted input moves by
        that change times one column of its weights (z = a W^T + b is linear again);
        from there on the network is run as it is, on every probe at once.
        """
        arch, n_probes = self.arch, len(units)
        probes = np.arange(n_probes)
        z = self.zs[layer]
        z_unit = z[:, units].T + shifts
        seen = np.zeros(n_probes, dtype=bool) if kinks else None
        if components.generic(arch):  # a residual or the activity penalty: every layer from here on
            if arch.tied is not None and layer in arch.tied:
                raise ValueError(f"layer {layer} is tied: moving one use's z is not moving its weights")
            z_all = np.array(np.broadcast_to(z, (n_probes,) + z.shape), dtype=z_unit.dtype)
            z_all[probes, :, units] = z_unit
            z_out, a, penalty = run_on(arch, layer, z_all, self.inputs[layer], self.weights, self.biases,
                                       kinks=seen)
            costs = data_cost(arch, a, y_rows, z_out)
            if arch.activity is not None:
                costs = costs + np.mean(self.penalty_before(layer) + penalty, axis=-1)
            return (costs, seen) if kinks else costs
        if activations.get(arch.activations[layer]).coupled or components.couples_units(arch, layer):
            # softmax, layer norm, maxout: the whole layer moves
            z_all = np.array(np.broadcast_to(z, (n_probes,) + z.shape), dtype=z_unit.dtype)
            z_all[probes, :, units] = z_unit
            z_out, a = run_from(arch, layer, z_all, self.weights, self.biases, seen)
            return (data_cost(arch, a, y_rows, z_out), seen) if kinks else data_cost(arch, a, y_rows, z_out)
        moved_z, moved_a = activate_units(arch, layer, units, z_unit)
        if kinks:
            piecewise = np.isin(units, piecewise_units(arch)[layer])
            seen |= piecewise & np.any((moved_z.real == 0) & (moved_z.imag != 0), axis=-1)
        if layer == arch.depth - 1:  # the output: one unit of a and of z^L moves
            z_unit, a_unit = moved_z, moved_a
            z_out, a = (np.array(np.broadcast_to(t, (n_probes,) + t.shape), dtype=a_unit.dtype)
                        for t in (self.z_out, self.inputs[-1]))
            z_out[probes, :, units] = z_unit
            a[probes, :, units] = a_unit
        else:
            change = moved_a - self.inputs[layer + 1][:, units].T
            column = self.weights[layer + 1][:, units].T
            z_next = np.multiply(change[:, :, None], column[:, None, :])
            z_next += self.zs[layer + 1]
            z_out, a = run_from(arch, layer + 1, z_next, self.weights, self.biases, seen)
        costs = data_cost(arch, a, y_rows, z_out)
        return (costs, seen) if kinks else costs
