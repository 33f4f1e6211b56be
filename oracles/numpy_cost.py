"""The oracles' own NumPy forward pass: the batch cost, and nothing else.

Written independently of the reference, and differently on purpose: examples
are *rows* here, activations use other formulas (logaddexp, logsumexp), and
every weight may carry a leading "probe" axis so that many perturbed copies of
the network are evaluated in one vectorised call.  The finite-difference
oracle uses it as a black box: no derivative appears in this file.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -z))


def _softmax_rows(z):
    return np.exp(z - np.logaddexp.reduce(z, axis=-1, keepdims=True))


def activation(name, z, slope):
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if name == "softplus":
        return np.logaddexp(0.0, z)
    if name == "linear":
        return z
    if name == "softmax":
        return _softmax_rows(z)
    raise ValueError(f"unknown activation {name!r}")


def _xlogy(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, x * np.log(np.where(x == 0, 1.0, y)))


def example_costs(name, a, y):
    """C_x summed over the units (last axis) of each example row."""
    if name == "quadratic":
        return 0.5 * np.sum((a - y) ** 2, axis=-1)
    if name == "cross-entropy":
        return -np.sum(_xlogy(y, a) + _xlogy(1.0 - y, 1.0 - a), axis=-1)
    if name == "log-likelihood":
        return -np.sum(_xlogy(y, a), axis=-1)
    raise ValueError(f"unknown cost {name!r}")


def layer_forward(arch, layer, a, w, b):
    """One layer, row-major: a (..., m, n_in), w (..., n_out, n_in), b (..., n_out, 1)."""
    z = a @ np.swapaxes(w, -1, -2) + np.swapaxes(b, -1, -2)
    if arch.batch_norm[layer]:
        centred = z - z.mean(axis=-2, keepdims=True)
        z = centred / np.sqrt(np.mean(centred * centred, axis=-2, keepdims=True) + arch.bn_epsilon)
    out = activation(arch.activations[layer], z, arch.leaky_slope)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, name = arch.modified_neuron
        out = np.array(out, copy=True)
        out[..., unit] = activation(name, z[..., unit], arch.leaky_slope)
    return out


def forward_from(arch, layer, a, weights, biases):
    """Run layers ``layer``, ``layer + 1``, ... on row-major activations ``a``."""
    for i in range(layer, arch.depth):
        a = layer_forward(arch, i, a, weights[i], biases[i])
    return a


def data_cost(arch, a_out, y_rows):
    """The mean over examples of C_x: shape (...,) for a probe axis, else a scalar."""
    return np.mean(example_costs(arch.cost, a_out, y_rows), axis=-1)


def cost(arch, weights, biases, x, y):
    """The batch cost of ``reference.Network.cost``'s definition, for columns x and y."""
    a_out = forward_from(arch, 0, np.asarray(x, float).T, weights, biases)
    decay = 0.5 * arch.l2 * sum(np.sum(np.square(w)) for w in weights)
    return float(data_cost(arch, a_out, np.asarray(y, float).T) + decay)
