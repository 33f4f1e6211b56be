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

import functools
from dataclasses import dataclass

import numpy as np
from gradcert.oracles import activations, components
from gradcert.oracles.base import abs_times, columns
from gradcert.oracles.numpy_cost import activation
from gradcert.oracles.precision import UNIT_ROUNDOFF, gamma

LARGEST = float(np.finfo(np.float64).max)
ELEMENTARY_FUNCTION_OPS = 8  # an exp/log/tanh is within a few ulps, and each layer applies a few

__all__ = ["CURVATURE", "Rounding", "UNIT_ROUNDOFF", "accumulation_length", "derivative_terms", "gamma",
           "rounding_bound"]


def derivative_terms(name, z, a, slope):
    """The magnitude of the terms from which sigma'(z) is computed, elementwise
    (``oracles.activations``: each activation's ``derivative_terms``)."""
    return activations.get(name).derivative_terms(z, a, slope)


# max |sigma''(z) / sigma'(z)| per activation (``oracles.activations``: each one's ``curvature``).
CURVATURE = {name: cls.curvature for name, cls in activations.TABLE.items()}


def accumulation_length(arch, m):
    """N: the longest chain of roundings from the data to one gradient entry."""
    return sum(arch.sizes) + arch.depth * ELEMENTARY_FUNCTION_OPS + 2 * m + _components_length(arch, m)


def _components_length(arch, m):
    """The roundings the optional components add to that chain: a tied matrix's gradient sums
    twice the examples; layer norm is another normalisation; each residual sum, dropout product
    and penalty term one more rounding per layer, forward and back.  (Maxout's max is exact.)"""
    return ((2 * m if arch.tied is not None else 0) + ELEMENTARY_FUNCTION_OPS * sum(arch.layer_norm)
            + 2 * (len(arch.residual) + bool(arch.dropout) * arch.depth + (arch.activity is not None)
                   + bool(arch.l1)))


@dataclass(frozen=True)
class Rounding:
    """gamma_N and the magnitudes M: gamma * magnitude_w[l] bounds, entry by entry, the
    rounding error of one correct float64 implementation in nabla_w[l].

    M_w is kept as its factors, ``magnitude_w[l] = delta_w[l] @ inputs_w[l].T +
    l2 |W_l|`` (a sum over the m examples, like the gradient itself), and formed
    only when asked for: the directional mode needs sums of M against a direction,
    which the factors give without the n_out x n_in matrix (``weighted_sum``).
    """

    gamma: float
    magnitude_b: list
    delta_w: list  # per layer (n_out, m): the magnitude of delta's terms and errors
    inputs_w: list  # per layer (n_in, m): the magnitude of the layer's input a
    abs_weights: list | None  # with l2: per layer |W|, the weight-decay term's share l2 |W|
    abs_products: list  # per layer |W| @ inputs_w: sum_ij M_ij |W_ij| without another product
    l2: float = 0.0
    l1: float = 0.0  # with l1: every entry's term l1 sign(w), of magnitude l1
    idle: int | None = None  # a tied layer's own slot: no term at all (abs_weights zero there)

    @functools.cached_property
    def magnitude_w(self):
        return [self._matrix(layer) for layer in range(len(self.delta_w))]

    def _l1(self, layer):
        return 0.0 if layer == self.idle else self.l1

    def _matrix(self, layer):
        m = self.delta_w[layer] @ self.inputs_w[layer].T
        if self.l2:
            m += self.l2 * self.abs_weights[layer]
        if self._l1(layer):
            m += self._l1(layer)
        return m

    @property
    def bound_b(self):
        return [self.gamma * t for t in self.magnitude_b]

    @property
    def bound_w(self):
        return [self.gamma * t for t in self.magnitude_w]

    def total_w(self, layer):
        """sum_ij M_ij of nabla_w[layer]'s magnitudes: (sum over rows of delta) . (sum over rows of a)."""
        total = float(self.delta_w[layer].sum(axis=0) @ self.inputs_w[layer].sum(axis=0))
        total += self._l1(layer) * self.delta_w[layer].shape[0] * self.inputs_w[layer].shape[0]
        return total + (self.l2 * float(self.abs_weights[layer].sum()) if self.l2 else 0.0)

    def held_w(self, layer):
        """sum_ij M_ij |W_ij|: how much M the weights themselves carry (a perturbation's rounding)."""
        total = float(np.einsum("ik,ik->", self.delta_w[layer], self.abs_products[layer]))
        if self._l1(layer):
            total += self._l1(layer) * float(self.abs_weights[layer].sum())
        if not self.l2:
            return total
        w = self.abs_weights[layer]
        return total + self.l2 * float(np.einsum("ij,ij->", w, w))

    def weighted_sum(self, layer, left, right, dense=None):
        """sum_ij c_ij M_ij of nabla_w[layer]'s magnitudes for a non-negative weight c,
        without forming M: c = left right^T (vectors: a rank-one weight, sum over
        (left^T delta)(right^T a) per example), or c = ``dense`` (left and right None)."""
        delta, inputs = self.delta_w[layer], self.inputs_w[layer]
        if dense is not None:
            total = float(np.einsum("ik,ik->", delta, dense @ inputs)) + self._l1(layer) * float(dense.sum())
            return total + (self.l2 * float(np.einsum("ij,ij->", dense, self.abs_weights[layer]))
                            if self.l2 else 0.0)
        total = float((left @ delta) @ (right @ inputs)) + self._l1(layer) * float(left.sum() * right.sum())
        return total + (self.l2 * float(left @ self.abs_weights[layer] @ right) if self.l2 else 0.0)


def rounding_bound(arch, weights, biases, x, y) -> Rounding:
    """The rounding bound of the gradient of ``arch``'s cost at these parameters and data.

    Forward, ``Mz`` is the magnitude of the terms of z (its rounding error is
    gamma * Mz) and ``Ma`` that of a: its own rounding plus z's error carried by
    sigma'.  z's error also moves sigma'(z) itself, by |sigma''(z)| gamma Mz <=
    CURVATURE * |sigma'(z)| * gamma Mz: deep in a sigmoid's tail, where
    sigma'(z) ~ e^z, an absolute error of 45u in z = -45 is a relative error of
    45u in every gradient behind it.

    Each step of a layer is one function, forward (``_affine``, ``_batch_norm``,
    ``_activation``) and backward (``_activation_back``, ``_batch_norm_back``, and
    ``abs_times`` through |W|): a new component of a layer adds its pair beside them.
    """
    # float64 views, not copies: nothing here writes into them or keeps them (the bound's
    # arrays are all computed anew).
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    a, y = columns(x), columns(y)
    m = a.shape[1]
    layers = []  # per layer: (u, inv_std, spread, terms): what the backward pass reads
    magnitudes_a, abs_products, steps = [np.abs(a)], [], []
    for layer, b in enumerate(biases):
        w = weights[arch.weight_of(layer)]
        z, abs_product, spread = _affine(w, b, a, magnitudes_a[-1])
        z, spread, winners = _maxout(arch, layer, z, spread)
        z, spread, inv_std = _batch_norm(arch, layer, z, spread)
        z, spread, ln_inv_std = _layer_norm(arch, layer, z, spread)
        a_below, a, terms, magnitude = a, *_activation(arch, layer, z, spread)
        a, magnitude = _dropout_and_residual(arch, layer, a, magnitude, a_below, magnitudes_a[-1])
        abs_products.append(abs_product)
        magnitudes_a.append(magnitude)
        layers.append((z, inv_std, spread, terms))
        steps.append((winners, ln_inv_std))

    seed, seed_is_delta = _output_seed(arch, a, magnitudes_a[-1], y)
    # Backward, two magnitudes per quantity: V, the terms it is computed from (what
    # its own roundings scale with), and E, the errors it inherits: rounding from
    # the layers above, and sigma'(z) moved by z's error, c |sigma'| Mz times V.
    # The inherited errors add up layer by layer; they do not multiply.
    up_terms, up_errors = seed / m, np.zeros_like(seed)
    bound_b, delta_w = [None] * arch.depth, [None] * arch.depth
    for layer in reversed(range(arch.depth)):
        u, inv_std, spread, terms = layers[layer]
        winners, ln_inv_std = steps[layer]
        above_terms, above_errors = up_terms, up_errors  # dC/da^{l+1}: also the skip's, if any
        up_terms, up_errors = _dropout_back(arch, layer, up_terms, up_errors)
        if layer == arch.depth - 1 and seed_is_delta:
            d_terms, d_errors = up_terms, up_errors
        else:
            d_terms, d_errors = _activation_back(arch, layer, u, spread, terms, up_terms, up_errors)
        if ln_inv_std is not None:
            d_terms, d_errors = _layer_norm_back(ln_inv_std, u, d_terms, d_errors)
        if inv_std is not None:
            d_terms, d_errors = _batch_norm_back(inv_std, u, d_terms, d_errors)
        if winners is not None:
            d_terms, d_errors = _maxout_back(winners, d_terms, d_errors)
        delta = d_terms + d_errors
        bound_b[layer] = delta.sum(axis=1, keepdims=True)
        delta_w[layer] = delta  # M_w = delta @ magnitudes_a[layer].T + l2 |W|, formed when asked for
        if layer:  # terms and errors carried down together: one pass over |W|
            w = weights[arch.weight_of(layer)]
            up = abs_times(w, np.concatenate([d_terms, d_errors], axis=1), transposed=True)
            up_terms, up_errors = up[:, :m], up[:, m:]
            up_terms, up_errors = _skip_and_activity_back(arch, layer - 1, up_terms, up_errors, above_terms,
                                                          above_errors, magnitudes_a[layer], m)
    inputs_w = magnitudes_a[:-1]
    if arch.tied is not None:
        delta_w, inputs_w, abs_products = _tied_uses(arch, delta_w, inputs_w, abs_products)
    kept = None
    if arch.l2 or arch.l1:  # |W| anew: the caller's W may change later; none for an idle tied slot
        kept = [np.zeros_like(w) if components.idle(arch, i) else np.abs(w) for i, w in enumerate(weights)]
    idle = arch.tied[1] if arch.tied is not None else None
    return Rounding(gamma(accumulation_length(arch, m)), bound_b, delta_w, inputs_w, kept,
                    abs_products, float(arch.l2), float(arch.l1), idle)


def _affine(w, b, a, magnitude_a):
    """z = W a + b, its terms' magnitude Mz = |W| Ma + |b|, and |W| Ma itself."""
    abs_product = abs_times(w, magnitude_a)
    return w @ a + b, abs_product, abs_product + np.abs(b)


def _batch_norm(arch, layer, z, spread):
    """Normalise z over the batch if the layer does: (u, Mu, 1/std or None).

    Centring adds the mean's terms; scaling by 1/std carries them, and the std's own
    error moves u by |u| times its relative error.
    """
    if not arch.batch_norm[layer]:
        return z, spread, None
    return _normalise(z, spread, arch.bn_epsilon, axis=1)


def _normalise(z, spread, epsilon, axis):
    """(u, Mu, 1/std) of a normalisation along ``axis`` (1: batch norm, 0: layer norm)."""
    centred = z - z.mean(axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.mean(centred**2, axis=axis, keepdims=True) + epsilon)
    u = centred * inv_std
    return u, inv_std * (spread + spread.mean(axis=axis, keepdims=True)) * (1.0 + np.abs(u)), inv_std


def _activation(arch, layer, z, spread):
    """(a, magnitude of sigma' terms, Ma = |a| + terms Mz) for one layer, modified neuron included."""
    a = activation(arch.activations[layer], z.T, arch.leaky_slope).T
    terms = derivative_terms(arch.activations[layer], z, a, arch.leaky_slope)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, name = arch.modified_neuron
        a[unit] = activation(name, z[unit], arch.leaky_slope)
        terms[unit] = derivative_terms(name, z[unit], a[unit], arch.leaky_slope)
    return a, terms, np.abs(a) + terms * spread


def _output_seed(arch, a, magnitude_a, y):
    """The magnitude of the output error's terms, and whether it is delta^L itself.

    Its terms are a (with its forward error) and y.  With the canonical pairs
    (sigmoid/cross-entropy, softmax/log-likelihood) dC/dz^L is a - y itself: an
    implementation that divides by a (1 - a) and multiplies by sigma' again
    overflows once the output saturates, so the bound follows the exact form.
    Otherwise the log-based costs divide by a.
    """
    seed = magnitude_a + np.abs(y)
    canonical = {"cross-entropy": "sigmoid", "log-likelihood": "softmax"}.get(arch.cost)
    output_plain = arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1
    if canonical == arch.activations[-1] and output_plain:
        return seed, True
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if arch.cost == "cross-entropy":
            # (a - y) / (a (1 - a)): 1 - a has the terms 1 and a, so when a nears 1 its
            # relative error is u (1 + a) / (1 - a), carried into the quotient.
            one_minus = np.abs(1.0 - a)
            seed = seed / (np.abs(a) * one_minus) + np.abs(a - y) * (1.0 + np.abs(a)) / (
                np.abs(a) * one_minus**2)
            seed = np.where(np.isnan(seed), np.inf, seed)
        elif arch.cost == "log-likelihood":
            seed = seed / np.abs(a)
    return np.minimum(seed, LARGEST / (4 * max(arch.sizes))), False  # a saturated 0/0


def _activation_back(arch, layer, u, spread, terms, up_terms, up_errors):
    """delta's terms and inherited errors through the activation (its Jacobian's magnitudes)."""
    curvature = _curvature(arch, layer, u.shape[0]) * spread
    if activations.get(arch.activations[layer]).coupled:  # softmax
        s = np.abs(activation(arch.activations[layer], u.T, arch.leaky_slope).T)
        d_terms = s * (up_terms + np.sum(s * up_terms, axis=0, keepdims=True))
        d_errors = s * (up_errors + np.sum(s * up_errors, axis=0, keepdims=True)) + curvature * d_terms
        return d_terms, d_errors
    d_terms = terms * up_terms
    return d_terms, terms * up_errors + curvature * d_terms


def _batch_norm_back(inv_std, u, d_terms, d_errors):
    """Terms and errors carried back through batch normalisation's Jacobian (magnitudes)."""
    u = np.abs(u)

    def carried(g):
        mean = g.mean(axis=1, keepdims=True)
        return inv_std * (g + mean + u * np.mean(g * u, axis=1, keepdims=True))

    return carried(d_terms), carried(d_errors)


def _maxout(arch, layer, z, spread):
    """Maxout's max of each unit's pieces (exact: it picks one): (z, Mz, the winning pieces or
    None).  Mz is the largest of the group's, so a tie that rounding could break either way
    is covered too."""
    k = arch.maxout[layer]
    if k == 1:
        return z, spread, None
    grouped = z.reshape(z.shape[0] // k, k, z.shape[1])
    top = grouped.max(axis=1)
    winners = grouped == top[:, None, :]
    return top, spread.reshape(grouped.shape).max(axis=1), winners


def _maxout_back(winners, d_terms, d_errors):
    """A unit's terms and errors back to its winning pieces (the full share: ties included)."""
    def back(g):
        return (winners * g[:, None, :]).reshape(-1, g.shape[1])

    return back(d_terms), back(d_errors)


def _layer_norm(arch, layer, z, spread):
    """Normalise z over the units of each example if the layer does: (u, Mu, 1/std or None),
    as ``_batch_norm`` over the batch."""
    if not arch.layer_norm[layer]:
        return z, spread, None
    return _normalise(z, spread, arch.ln_epsilon, axis=0)


def _layer_norm_back(inv_std, u, d_terms, d_errors):
    """Terms and errors carried back through layer normalisation's Jacobian (magnitudes)."""
    u = np.abs(u)

    def carried(g):
        return inv_std * (g + g.mean(axis=0, keepdims=True) + u * np.mean(g * u, axis=0, keepdims=True))

    return carried(d_terms), carried(d_errors)


def _dropout_and_residual(arch, layer, a, magnitude, a_below, magnitude_below):
    """The layer's output times its mask (a product: the mask's magnitude carries Ma), plus its
    input if it has a residual connection (a sum: the magnitudes add)."""
    if arch.dropout and arch.dropout[layer]:
        mask = np.abs(np.asarray(arch.dropout[layer])).reshape(-1, 1)
        a, magnitude = a * mask, magnitude * mask
    if layer in arch.residual:
        a, magnitude = a + a_below, magnitude + magnitude_below
    return a, magnitude


def _dropout_back(arch, layer, up_terms, up_errors):
    """dC/da back through the mask: each magnitude times |mask|."""
    if not arch.dropout or not arch.dropout[layer]:
        return up_terms, up_errors
    mask = np.abs(np.asarray(arch.dropout[layer])).reshape(-1, 1)
    return up_terms * mask, up_errors * mask


def _skip_and_activity_back(arch, layer, up_terms, up_errors, above_terms, above_errors, magnitude_a, m):
    """dC/da of layer ``layer``'s output: (w)^T delta from above, plus the skip's share (the
    layer above's own dC/da, if that layer has a residual connection), plus the activity
    penalty's coefficient a / m (its terms' magnitude: coefficient Ma / m)."""
    if layer + 1 in arch.residual:
        up_terms, up_errors = up_terms + above_terms, up_errors + above_errors
    if arch.activity is not None and arch.activity[0] == layer:
        up_terms = up_terms + arch.activity[1] * magnitude_a / m
    return up_terms, up_errors


def _tied_uses(arch, delta_w, inputs_w, abs_products):
    """A tied matrix's M sums both uses, delta_s a_s^T + delta_u a_u^T: its factors side by side
    (as columns of more examples); the idle slot's are zero (its gradient is exactly 0)."""
    source, user = arch.tied
    delta_w, inputs_w, abs_products = list(delta_w), list(inputs_w), list(abs_products)
    delta_w[source] = np.concatenate([delta_w[source], delta_w[user]], axis=1)
    inputs_w[source] = np.concatenate([inputs_w[source], inputs_w[user]], axis=1)
    abs_products[source] = np.concatenate([abs_products[source], abs_products[user]], axis=1)
    delta_w[user], inputs_w[user] = np.zeros_like(delta_w[user]), np.zeros_like(inputs_w[user])
    abs_products[user] = np.zeros_like(abs_products[user])
    return delta_w, inputs_w, abs_products


def _curvature(arch, layer, width):
    """Per unit of the layer (a modified neuron may differ): a number when all are alike."""
    if arch.modified_neuron is None or arch.modified_neuron[0] != layer:
        return CURVATURE[arch.activations[layer]]
    c = np.full((width, 1), CURVATURE[arch.activations[layer]])
    c[arch.modified_neuron[1]] = CURVATURE[arch.modified_neuron[2]]
    return c
