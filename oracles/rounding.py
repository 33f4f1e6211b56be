"""How far two correct float64 gradients may differ: a running rounding bound.

Two correct implementations of backprop differ by rounding, and the size of
that difference is not |gradient| * eps: a - y cancels when an output
saturates onto its target, sigma'(z) = a (1 - a) cancels when a is near 1,
and with batch normalisation the bias gradient is a sum of terms that cancel
to exactly zero.  The classical bound for a sum of n terms,

    |fl(sum t_k) - sum t_k| <= gamma_n * sum |t_k|,   gamma_n = n u / (1 - n u)

(Higham, *Accuracy and Stability of Numerical Algorithms*, section 3.1),
holds for any order of summation.  So we run backpropagation once more on the
*magnitudes* of its terms: every sum becomes a sum of absolute values, every
difference a sum, every derivative the magnitude of the terms it is computed
from.  The result M bounds, entry by entry, the terms whose rounding any
correct implementation suffers, and gamma_N * M bounds its rounding error,
N being the longest chain of accumulations from the input to the gradient.

This is the oracles' own code (no import of the reference's math).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oracles.base import as_float64, columns
from oracles.numpy_cost import activation

UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
ELEMENTARY_FUNCTION_OPS = 8  # an exp/log/tanh is within a few ulps, and each layer applies a few


def derivative_terms(name, z, a, slope):
    """The magnitude of the terms from which sigma'(z) is computed, elementwise.

    For sigmoid, sigma' = a (1 - a): its terms are a and a^2, so a candidate
    computing it that way is accurate to u * a (1 + a), not to u * sigma'.
    Likewise 1 - a^2 for tanh.  The others are computed without cancellation.
    """
    if name in ("sigmoid", "softmax"):  # softmax: the diagonal a (1 - a) and the a_j a_k terms
        return a * (1.0 + a)
    if name == "tanh":
        return 1.0 + a * a
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, slope)
    if name == "softplus":
        return np.exp(-np.logaddexp(0.0, -z))
    return np.ones_like(z)  # linear


def _layer_terms(arch, layer, z):
    """(activation, magnitude of sigma' terms) for one layer, modified neuron included."""
    names = [arch.unit_activation(layer, j) for j in range(z.shape[0])]
    a = activation(arch.activations[layer], z.T, arch.leaky_slope).T
    terms = derivative_terms(arch.activations[layer], z, a, arch.leaky_slope)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        unit = arch.modified_neuron[1]
        a[unit] = activation(names[unit], z[unit], arch.leaky_slope)
        terms[unit] = derivative_terms(names[unit], z[unit], a[unit], arch.leaky_slope)
    return a, terms


def accumulation_length(arch, m):
    """N: the longest chain of roundings from the data to one gradient entry."""
    return sum(arch.sizes) + arch.depth * ELEMENTARY_FUNCTION_OPS + 2 * m


def gamma(n):
    return n * UNIT_ROUNDOFF / (1.0 - n * UNIT_ROUNDOFF)


@dataclass(frozen=True)
class Rounding:
    """gamma_N and the magnitudes M: gamma * magnitude_w[l] bounds, entry by entry, the
    rounding error of one correct float64 implementation in nabla_w[l]."""

    gamma: float
    magnitude_b: list
    magnitude_w: list

    @property
    def bound_b(self):
        return [self.gamma * t for t in self.magnitude_b]

    @property
    def bound_w(self):
        return [self.gamma * t for t in self.magnitude_w]


def rounding_bound(arch, weights, biases, x, y) -> Rounding:
    """The rounding bound of the gradient of ``arch``'s cost at these parameters and data."""
    weights, biases = as_float64(weights), as_float64(biases)
    a, y = columns(x), columns(y)
    m = a.shape[1]
    magnitudes_a, terms, inv_stds, us, zs = [np.abs(a)], [], [], [], []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        z = w @ a + b
        zs.append(np.abs(w) @ np.abs(a) + np.abs(b))
        inv_std = None
        if arch.batch_norm[layer]:
            centred = z - z.mean(axis=1, keepdims=True)
            inv_std = 1.0 / np.sqrt(np.mean(centred**2, axis=1, keepdims=True) + arch.bn_epsilon)
            z = centred * inv_std
        a, t = _layer_terms(arch, layer, z)
        us.append(z)
        inv_stds.append(inv_std)
        terms.append(t)
        magnitudes_a.append(np.abs(a))

    a_out = magnitudes_a[-1]
    # The output error's terms: a and y (their difference), the forward error of a
    # (sigma' times the terms of z), and for log-based costs the division by a.
    seed = a_out + np.abs(y) + terms[-1] * zs[-1]
    if arch.cost == "cross-entropy":
        seed = seed / np.maximum(a_out * np.abs(1.0 - a_out), np.finfo(float).tiny)
    elif arch.cost == "log-likelihood":
        seed = seed / np.maximum(a_out, np.finfo(float).tiny)
    upstream = seed / m
    bound_b, bound_w = [None] * arch.depth, [None] * arch.depth
    for layer in reversed(range(arch.depth)):
        t = terms[layer]
        if arch.activations[layer] == "softmax":
            s = magnitudes_a[layer + 1]
            delta = s * (upstream + np.sum(s * upstream, axis=0, keepdims=True))
        else:
            delta = t * upstream
        if inv_stds[layer] is not None:
            u = np.abs(us[layer])
            delta = inv_stds[layer] * (delta + delta.mean(axis=1, keepdims=True)
                                       + u * np.mean(delta * u, axis=1, keepdims=True))
        bound_b[layer] = delta.sum(axis=1, keepdims=True)
        bound_w[layer] = delta @ magnitudes_a[layer].T + arch.l2 * np.abs(weights[layer])
        upstream = np.abs(weights[layer]).T @ delta
    return Rounding(gamma(accumulation_length(arch, m)), bound_b, bound_w)
