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
from gradcert.oracles import activations


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


def normalise_and_activate(arch, layer, z):
    """(normalised z, output) of layer ``layer`` from its weighted input z (..., m, n_out)."""
    if arch.batch_norm[layer]:
        z = normalise(z, arch.bn_epsilon)
    out = activation(arch.activations[layer], z, arch.leaky_slope)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, name = arch.modified_neuron
        out = np.array(out, copy=True)
        out[..., unit] = activation(name, z[..., unit], arch.leaky_slope)
    return z, out


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
    return z, out


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


def run_from(arch, layer, z, weights, biases, kinks=None):
    """From layer ``layer``'s weighted input z, run to the output: (normalised z^L, a^L).
    ``kinks`` (a boolean array over the leading axis), if given, gathers ``on_kink`` of every
    layer's piecewise units."""
    while True:
        z, a = normalise_and_activate(arch, layer, z)
        if kinks is not None and piecewise_units(arch)[layer].size:
            kinks |= on_kink(z, piecewise_units(arch)[layer])
        if layer == arch.depth - 1:
            return z, a
        layer += 1
        z = weighted_input(a, weights[layer], biases[layer])


def forward_from(arch, layer, a, weights, biases):
    """Run layers ``layer``, ``layer + 1``, ... on row-major activations ``a``."""
    for i in range(layer, arch.depth):
        a = layer_forward(arch, i, a, weights[i], biases[i])
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
    """The data cost for row-major x and y; weights and biases may carry a probe axis."""
    z_out, a_out = run_from(arch, 0, weighted_input(x_rows, weights[0], biases[0]), weights, biases)
    return data_cost(arch, a_out, y_rows, z_out)


def cost(arch, weights, biases, x, y):
    """The batch cost of ``reference.Network.cost``'s definition, for columns x and y."""
    x_rows, y_rows = np.asarray(x, float).T, np.asarray(y, float).T
    decay = 0.5 * arch.l2 * sum(np.sum(np.square(w)) for w in weights)
    return float(parameters_cost(arch, weights, biases, x_rows, y_rows) + decay)


class Trace:
    """One forward pass, kept: ``inputs[l]`` is layer l's input a (m, n_l) (the
    network's output last), ``zs[l]`` its weighted input before normalisation,
    ``z_out`` the output layer's after."""

    def __init__(self, arch, weights, biases, x_rows):
        self.arch, self.weights, self.biases = arch, weights, biases
        self.inputs, self.zs = [x_rows], []
        for layer in range(arch.depth):
            self.zs.append(weighted_input(self.inputs[-1], weights[layer], biases[layer]))
            self.z_out, a = normalise_and_activate(arch, layer, self.zs[-1])
            self.inputs.append(a)

    def data_cost(self, y_rows):
        return data_cost(self.arch, self.inputs[-1], y_rows, self.z_out)

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
        if activations.get(arch.activations[layer]).coupled:  # softmax: the whole layer moves
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
