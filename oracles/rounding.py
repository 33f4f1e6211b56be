"""How far a correct float64 gradient may be from the exact one: a running rounding-error bound.

Two correct implementations of backprop differ by rounding, and the size of
that difference is not |gradient| * eps: a - y cancels when an output
saturates onto its target, sigma'(z) = a (1 - a) cancels when a is near 1,
batch normalisation's bias gradient is a sum of terms that cancel to exactly
zero, and an error in z moves sigma'(z) itself.  So we follow one backprop
step by step, with the values and, beside each value q, a bound E(q) on the
absolute error any correct implementation may have in it (Wilkinson's running
error analysis; Higham, *Accuracy and Stability of Numerical Algorithms*,
sections 3.1 and 3.3):

* a sum of n terms t_k, in any order: E = gamma_n sum |t_k| + sum E(t_k),
  gamma_n = n u / (1 - n u);
* a product p = q r: E = u |p| + |q| E(r) + |r| E(q); a difference likewise;
* a function f(q) (exp, log, tanh, sqrt: within a few ulps):
  E = ELEMENTARY_FUNCTION_OPS u |f(q)| + |f'(q)| E(q);
* sigma'(z) is computed from terms of magnitude T (``oracles.activations``:
  a (1 + a) for sigmoid's a (1 - a)) and moved by z's error through sigma'':
  E(sigma') = ELEMENTARY_FUNCTION_OPS u T + curvature |sigma'| E(z).

The n of each sum is the sum's own, not one length for the whole chain: m for
the sums over examples, and for a product with W (n_out x n_in) the larger of
its two dimensions, in the forward pass (W a, n_in terms) and the backward pass
(W^T delta, n_out terms) alike, so that the bound holds for forward-mode
evaluations too (a tangent W a' sums over n_in where W^T delta sums over n_out:
``oracles.complex_step`` and ``oracles.landscape`` rely on it).

The bound is first-order (products of two errors are left out, each ~u^2
relative) and holds for any order of every sum and for the forms correct
implementations use (sigma' from a or from z, the mean over the batch taken
first or last, the softmax backward through its Jacobian or the shortcut,
batch normalisation's variance in two passes).

The optional components (``oracles.components``) are steps of the same walk, each
derived where it is computed: maxout's max (exact: it picks a piece), layer
normalisation (batch normalisation's steps over the units instead of the
examples), dropout's fixed mask (one product), a residual connection (one sum,
forward; its skip's adjoint added going back), a tied matrix (both uses' terms
summed into its gradient, the idle slot's gradient exactly 0), the activity
penalty's derivative c a / m added to dC/da at its layer, and the weight
penalties' l2 w and l1 sign(w).

The result for nabla_w[l] is kept as factors, like the gradient itself (a sum
over the m examples): E_w = (c |delta| + E(delta)) |a|^T + |delta| E(a)^T +
u (L2 |W| + L1), c = gamma_m + 3u (the sum over examples, the scaling by 1/m, the
decay's addition; one u more for each further penalty term added, gamma_2m for a
tied matrix's two uses), L2 and L1 the penalties' shares (``_penalty_shares``).
``Rounding`` holds E / u as ``magnitude_b`` and the factors ``delta_w`` /
``inputs_w`` (2m columns each, 4m for a tied matrix: one block per use), with
``gamma`` = u, so that gamma * magnitude is the bound, as every user of this
module reads it.

This is the oracles' own code (no import of the reference's math).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from gradcert.oracles import activations, components
from gradcert.oracles.base import abs_times, columns
from gradcert.oracles.numpy_cost import activation
from gradcert.oracles.precision import UNIT_ROUNDOFF, gamma

LARGEST = float(np.finfo(np.float64).max)
ELEMENTARY_FUNCTION_OPS = 8  # an exp/log/tanh/sqrt is within a few ulps; a layer applies a few
U = UNIT_ROUNDOFF

__all__ = ["CURVATURE", "Rounding", "UNIT_ROUNDOFF", "accumulation_length", "derivative_terms", "gamma",
           "rounding_bound", "roundoff_factor"]


def derivative_terms(name, z, a, slope):
    """The magnitude of the terms from which sigma'(z) is computed, elementwise
    (``oracles.activations``: each activation's ``derivative_terms``)."""
    return activations.get(name).derivative_terms(z, a, slope)


# max |sigma''(z) / sigma'(z)| per activation (``oracles.activations``: each one's ``curvature``).
CURVATURE = {name: cls.curvature for name, cls in activations.TABLE.items()}


def roundoff_factor(u, operations):
    """The multiple of a float64 bound that bounds the same computation in a precision of unit
    roundoff u: each gamma_n(u) / gamma_n(2^-53) <= (u / 2^-53) (1 - N 2^-53) / (1 - N u) for
    n <= N, the longest chain (``operations``), and no first-order bound where N u >= 1/2."""
    if operations * u >= 0.5:
        return np.inf
    return (u / U) * (1.0 - operations * U) / (1.0 - operations * u)


def accumulation_length(arch, m):
    """The longest chain of roundings from the data to one gradient entry: how many times a
    result may lose a smallest normal number to underflow on the way."""
    return sum(arch.sizes) + arch.depth * ELEMENTARY_FUNCTION_OPS + 2 * m + _components_length(arch, m)


def _components_length(arch, m):
    """The roundings the optional components add to that chain: a tied matrix's gradient sums
    twice the examples; layer norm is another normalisation; each residual sum, dropout product
    and penalty term one more rounding per layer, forward and back.  (Maxout's max is exact.)"""
    return ((2 * m if arch.tied is not None else 0) + ELEMENTARY_FUNCTION_OPS * sum(arch.layer_norm)
            + 2 * (len(arch.residual) + bool(arch.dropout) * arch.depth + (arch.activity is not None)
                   + bool(arch.l1)))


@dataclass(frozen=True)
class Layer:
    """What the backward pass and the forward-mode error bound read of one layer (columns of
    examples): the activation's input u (z -- maxout's max of its pieces -- normalised if the
    layer is) and its error, the pieces' E(z), sigma'(u) (for softmax: its output) and its
    error, the layer's output a (after dropout's mask and a residual's skip: what the next
    layer and the cost read) and its error, the normalisation's 1/std and its error (None
    without it) and its axis (1: batch norm, 0: layer norm); the activation's own output
    sigma(u) and its error (``activated``: a but for the mask and the skip), maxout's winning
    pieces (units, k, m) and its pieces' z, and dropout's mask (n, 1), None without them.  After the backward
    pass, the adjoints of the batch cost (1/m included): "z" (per piece) and its error
    "error_z", "z_magnitude" (|dC/dz|, but a tied piece's the unit's whole), "u", "a"
    (dC/dsigma(u)) and "output" (dC/da, the layer's output) with its error "error_output"."""

    u: np.ndarray
    error_u: np.ndarray
    error_z: np.ndarray
    slope: np.ndarray
    error_slope: np.ndarray
    a: np.ndarray
    error_a: np.ndarray
    inv_std: np.ndarray | None = None
    error_inv_std: np.ndarray | None = None
    adjoint: dict = field(default_factory=dict)  # filled by the backward pass
    axis: int | None = None
    activated: np.ndarray | None = None
    error_activated: np.ndarray | None = None
    winners: np.ndarray | None = None
    mask: np.ndarray | None = None
    pieces: np.ndarray | None = None  # with maxout: z, its pieces


@dataclass(frozen=True)
class Rounding:
    """The bound: gamma * magnitude_w[l] bounds, entry by entry, the rounding error of one
    correct float64 implementation in nabla_w[l] (gamma = u; see the module docstring).

    M_w is kept as its factors, ``magnitude_w[l] = delta_w[l] @ inputs_w[l].T + l2 |W_l| + l1``
    (``l2`` and ``l1`` here are the penalties' shares in M, ``_penalty_shares``: 2 l2 with
    weight decay alone), formed only when asked for: the directional mode needs sums of M
    and M^2 against a direction, which the factors give without the n_out x n_in matrix
    (``weighted_sum``, ``squares_w``).  ``layers`` keeps each layer's values, errors and
    adjoints (``Layer``); ``operations`` counts the roundings of the longest chain (each may
    lose a smallest normal number); ``sum_factors[l]`` is c of nabla_w[l]'s sum over the
    examples (the module docstring); ``idle`` a tied layer's own slot, whose gradient is
    exactly 0 (its factors and |W| are zeros, and no l1 share).
    """

    gamma: float
    magnitude_b: list
    delta_w: list  # per layer (n_out, 2m); a tied matrix (n_out, 4m)
    inputs_w: list  # per layer (n_in, 2m); a tied matrix (n_in, 4m)
    abs_weights: list | None  # with l2 or l1: per layer |W| (zeros for the idle slot)
    abs_products: list  # per layer |W| @ inputs_w: sum_ij M_ij |W_ij| without another product
    l2: float = 0.0
    layers: list = field(default_factory=list)
    operations: int = 1
    canonical: bool = False  # the output's delta is (a - y) / m itself (a canonical pair)
    seed_error: np.ndarray | None = None  # E(dC/da^L), or E(delta^L) when canonical; columns
    l1: float = 0.0
    idle: int | None = None
    sum_factors: list = field(default_factory=list)

    def _l1(self, layer):
        return 0.0 if layer == self.idle else self.l1

    @functools.cached_property
    def magnitude_w(self):
        return [self._matrix(layer) for layer in range(len(self.delta_w))]

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

    def _entries(self, layer):
        return self.delta_w[layer].shape[0] * self.inputs_w[layer].shape[0]

    def total_w(self, layer):
        """sum_ij M_ij of nabla_w[layer]'s magnitudes: (sum over rows of delta) . (sum over rows of a)."""
        total = float(self.delta_w[layer].sum(axis=0) @ self.inputs_w[layer].sum(axis=0))
        total += self._l1(layer) * self._entries(layer)
        return total + (self.l2 * float(self.abs_weights[layer].sum()) if self.l2 else 0.0)

    def held_w(self, layer):
        """sum_ij M_ij |W_ij|: how much M the weights themselves carry (a perturbation's rounding)."""
        total = self.held_w_data(layer)
        if self._l1(layer):
            total += self._l1(layer) * float(self.abs_weights[layer].sum())
        if not self.l2:
            return total
        w = self.abs_weights[layer]
        return total + self.l2 * float(np.einsum("ij,ij->", w, w))

    def squares_w(self, layer):
        """sum_ij M_ij^2 of nabla_w[layer]'s magnitudes, from the factors: with F = D A^T,
        sum F^2 = sum (D^T D) * (A^T A), and the penalties' terms L2 |W| + L1 expanded around it."""
        delta, inputs = self.delta_w[layer], self.inputs_w[layer]
        total = float(np.einsum("kl,kl->", delta.T @ delta, inputs.T @ inputs))
        l1 = self._l1(layer)
        if self.l2:
            w = self.abs_weights[layer]
            total += 2 * self.l2 * self.held_w_data(layer) + self.l2**2 * float(np.einsum("ij,ij->", w, w))
        if l1:
            total += 2 * l1 * float(delta.sum(axis=0) @ inputs.sum(axis=0)) + l1**2 * self._entries(layer)
            if self.l2:
                total += 2 * l1 * self.l2 * float(self.abs_weights[layer].sum())
        return max(total, 0.0)

    def squares_b(self, layer):
        """sum_i M_i^2 of nabla_b[layer]'s magnitudes."""
        m = self.magnitude_b[layer]
        return float(np.einsum("ij,ij->", m, m))

    def row_squares_w(self, layer):
        """sum_j M_ij^2 for every row i of nabla_w[layer] (n_out,), from the factors."""
        delta, inputs = self.delta_w[layer], self.inputs_w[layer]
        rows = np.einsum("ik,ik->i", delta @ (inputs.T @ inputs), delta)  # two products, not a triple loop
        l1 = self._l1(layer)
        if self.l2:
            w = self.abs_weights[layer]
            rows = rows + 2 * self.l2 * np.einsum("ik,ik->i", delta, self.abs_products[layer]) \
                + self.l2**2 * np.einsum("ij,ij->i", w, w)
        if l1:
            rows = rows + 2 * l1 * (delta @ inputs.sum(axis=0)) + l1**2 * inputs.shape[0]
            if self.l2:
                rows = rows + 2 * l1 * self.l2 * self.abs_weights[layer].sum(axis=1)
        return np.maximum(rows, 0.0)

    def row_sums_w(self, layer):
        """sum_j M_ij for every row i of nabla_w[layer] (n_out,), from the factors."""
        total = self.delta_w[layer] @ self.inputs_w[layer].sum(axis=0)
        total = total + self._l1(layer) * self.inputs_w[layer].shape[0]
        return total + (self.l2 * self.abs_weights[layer].sum(axis=1) if self.l2 else 0.0)

    def held_w_data(self, layer):
        """sum_ij F_ij |W_ij| of the data part F = delta_w inputs_w^T alone."""
        return float(np.einsum("ik,ik->", self.delta_w[layer], self.abs_products[layer]))

    def weighted_sum(self, layer, left, right, dense=None):
        """sum_ij c_ij M_ij of nabla_w[layer]'s magnitudes for a non-negative weight c,
        without forming M: c = left right^T (vectors: a rank-one weight, sum over
        (left^T delta)(right^T a) per example), or c = ``dense`` (left and right None)."""
        delta, inputs = self.delta_w[layer], self.inputs_w[layer]
        l1 = self._l1(layer)
        if dense is not None:
            total = float(np.einsum("ik,ik->", delta, dense @ inputs))
            total += l1 * float(dense.sum()) if l1 else 0.0
            return total + (self.l2 * float(np.einsum("ij,ij->", dense, self.abs_weights[layer]))
                            if self.l2 else 0.0)
        total = float((left @ delta) @ (right @ inputs))
        total += l1 * float(left.sum() * right.sum()) if l1 else 0.0
        return total + (self.l2 * float(left @ self.abs_weights[layer] @ right) if self.l2 else 0.0)


def rounding_bound(arch, weights, biases, x, y) -> Rounding:
    """The rounding bound of the gradient of ``arch``'s cost at these parameters and data.

    Each step of a layer is one function, forward (``_affine``, ``_maxout``,
    ``_normalisation``, ``_activation``, ``_dropout``, ``_residual``) and backward
    (``_output_seed``, ``_dropout_back``, ``_activation_back``, ``_normalisation_back``,
    ``_maxout_back``, ``_affine_back``, ``_below``): a new component of a layer adds its
    pair beside them.
    """
    # float64 views, not copies: nothing here writes into them or keeps them (the bound's
    # arrays are all computed anew).
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    a, y = columns(x), columns(y)
    m = a.shape[1]
    error_a = np.zeros_like(a)
    inputs, input_errors, abs_products, layers = [], [], [], []
    for layer, b in enumerate(biases):
        w = components.weights_of(arch, weights, layer)  # a tied layer computes with its source's
        inputs.append(a)
        input_errors.append(error_a)
        z, error_z, products = _affine(w, b, a, error_a)
        abs_products.append(products)
        top, error_top, winners = _maxout(arch, layer, z, error_z)
        u, error_u, inv_std, error_inv, axis = _normalisation(arch, layer, top, error_top)
        s, error_s, slope, error_slope = _activation(arch, layer, u, error_u)
        out, error_out, mask = _dropout(arch, layer, s, error_s)
        a, error_a = _residual(arch, layer, out, error_out, inputs[-1], input_errors[-1])
        layers.append(Layer(u, error_u, error_z, slope, error_slope, a, error_a, inv_std, error_inv,
                            axis=axis, activated=s, error_activated=error_s, winners=winners, mask=mask,
                            pieces=None if winners is None else z))

    up, error_up, is_delta = _output_seed(arch, layers[-1], y, m)
    seed_error = error_up
    bound_b = [None] * arch.depth
    uses = [[] for _ in range(arch.depth)]  # per matrix: (delta, E(delta), the layer that used it)
    for layer in reversed(range(arch.depth)):
        here = layers[layer]
        here.adjoint["output"], here.adjoint["error_output"] = up, error_up
        up, error_up = _dropout_back(here, up, error_up)
        here.adjoint["a"] = up
        if layer == arch.depth - 1 and is_delta:
            delta, error_delta = up, error_up
        else:
            delta, error_delta = _activation_back(arch, layer, here, up, error_up)
        here.adjoint["u"] = delta
        if here.inv_std is not None:
            delta, error_delta = _normalisation_back(here, delta, error_delta)
        unit_delta = delta
        delta, error_delta = _maxout_back(here, delta, error_delta)
        here.adjoint["z"] = delta
        # |dC/dz| per piece with a tie's whole share on each tied piece (for ``oracles.landscape``)
        here.adjoint["z_magnitude"] = np.abs(delta) if here.winners is None else (
            here.winners * np.abs(unit_delta)[:, None, :]).reshape(delta.shape)
        here.adjoint["error_z"] = error_delta
        # nabla_b = sum over examples of delta: the sum, and the scaling by 1/m, round (c_b),
        # and delta's own errors are carried.
        c_b = gamma(m) + 3 * U
        bound_b[layer] = (c_b * np.abs(delta) + error_delta).sum(axis=1, keepdims=True) / U
        uses[arch.weight_of(layer)].append((delta, error_delta, layer))
        if layer:
            up, error_up = _affine_back(components.weights_of(arch, weights, layer), delta, error_delta)
            up, error_up = _below(arch, layer - 1, layers, up, error_up, m)
    l2, l1, additions = _penalty_shares(arch)
    delta_w, inputs_w, sum_factors = [], [], []
    for matrix, used in enumerate(uses):
        # nabla_w = the sum over its uses and examples of delta a^T (delta has 1/m in it): the sum
        # over len(used) m terms, the scaling by 1/m and the first penalty's addition (c), one u
        # more for each further penalty term; each use's delta's and a's errors carried:
        # E_w = sum over uses of (c |delta| + E(delta)) |a|^T + |delta| E(a)^T.
        c = gamma(m * max(len(used), 1)) + (3 + max(additions - 1, 0)) * U
        sum_factors.append(c)
        if not used:  # a tied layer's idle slot: its gradient is exactly 0
            n_out, n_in = weights[matrix].shape
            delta_w.append(np.zeros((n_out, 2 * m)))
            inputs_w.append(np.zeros((n_in, 2 * m)))
            abs_products[matrix] = np.zeros((n_out, 2 * m))
            continue
        delta_w.append(np.concatenate([np.concatenate([(c * np.abs(d) + e) / U, np.abs(d)], axis=1)
                                       for d, e, _ in used], axis=1))
        inputs_w.append(np.concatenate([np.concatenate([np.abs(inputs[i]), input_errors[i] / U], axis=1)
                                        for _, _, i in used], axis=1))
        if len(used) > 1:  # |W| [|a|, E(a)/u] of every use, in the factors' order
            abs_products[matrix] = np.concatenate([abs_products[i] for _, _, i in used], axis=1)
    kept = None
    if l2 or l1:  # |W| anew: the caller's W may change later; zeros for an idle tied slot
        kept = [np.zeros_like(w) if components.idle(arch, i) else np.abs(w) for i, w in enumerate(weights)]
    idle = arch.tied[1] if arch.tied is not None else None
    return Rounding(U, bound_b, delta_w, inputs_w, kept, abs_products, l2, layers,
                    accumulation_length(arch, m), is_delta, seed_error, l1, idle, sum_factors)


def _penalty_shares(arch):
    """(L2, L1, the number of penalty terms): the weight penalties' shares of E_w / u.

    nabla_w = data + l2 w + l1 sign(w).  l2 w rounds once (u l2 |w|); l1 sign(w) = +-l1 is
    exact; each of the k = [l2 > 0] + [l1 > 0] additions rounds by at most u times the sum of
    the magnitudes (gamma_k in any order), of which data's share is counted in c (the module
    docstring) and the rest here: L2 = (1 + k) l2, L1 = k l1.  An idle tied slot has none.
    """
    k = int(arch.l2 > 0) + int(arch.l1 > 0)
    return (1 + k) * float(arch.l2), k * float(arch.l1), k


# ---------------------------------------------------------------- forward steps


def _affine(w, b, a, error_a):
    """z = W a + b and its error: n_in + 1 terms, gamma_{max(n_in, n_out)+1} (|W| |a| + |b|) (the
    larger dimension: see the module docstring), plus a's error carried by |W|.  Also
    |W| [|a|, E(a)/u], what the bound's factors need of |W|.  (A maxout layer's W has a row
    per piece: z is then its pieces.)"""
    m = a.shape[1]
    if error_a.any():
        products = abs_times(w, np.concatenate([np.abs(a), error_a / U], axis=1))
    else:  # the data's layer: E(a) = 0, and |W| 0 = 0 needs no product
        products = np.concatenate([abs_times(w, np.abs(a)), np.zeros((w.shape[0], m))], axis=1)
    error_z = gamma(max(w.shape) + 1) * (products[:, :m] + np.abs(b)) + U * products[:, m:]
    return w @ a + b, error_z, products


def _maxout(arch, layer, z, error_z):
    """Maxout's max of each unit's k pieces: (max, its error, the winning pieces (units, k, m)),
    or (z, E(z), None) without maxout.

    The max picks one piece and rounds nothing.  Every piece is within its E of the exact
    one, and max is 1-Lipschitz in the largest coordinate: a computed max is within the
    largest E of its group of the exact max, whichever piece a correct implementation picks
    (near a tie rounding may pick another).
    """
    k = arch.maxout[layer]
    if k == 1:
        return z, error_z, None
    grouped = z.reshape(z.shape[0] // k, k, z.shape[1])
    top = grouped.max(axis=1)
    winners = grouped == top[:, None, :]
    return top, error_z.reshape(grouped.shape).max(axis=1), winners


def _normalisation(arch, layer, z, error_z):
    """Normalise z if the layer does -- over the batch (batch norm, axis 1) or over each
    example's units (layer norm, axis 0): (u, E(u), 1/std, E(1/std), axis); else (z, E(z),
    None, None, None).

    Along the axis, n entries: mean: n terms; centred c = z - mean: one rounding; var =
    mean(c^2) + eps: n + 1 terms of c^2, each carrying 2 |c| E(c); std = sqrt(var) and
    1/std: a rounding each, with d sqrt = d var / (2 std) and d(1/s) = ds / s^2; u = c / std:
    one rounding.  Layer norm is the same computation over the other axis.
    """
    if arch.batch_norm[layer]:
        axis, epsilon = 1, arch.bn_epsilon
    elif arch.layer_norm[layer]:
        axis, epsilon = 0, arch.ln_epsilon
    else:
        return z, error_z, None, None, None
    n = z.shape[axis]
    mean = z.mean(axis=axis, keepdims=True)
    error_mean = gamma(n) * np.abs(z).mean(axis=axis, keepdims=True) + error_z.mean(axis=axis, keepdims=True)
    centred = z - mean
    error_c = U * np.abs(centred) + error_z + error_mean
    var = np.mean(centred * centred, axis=axis, keepdims=True) + epsilon
    error_var = gamma(n + 1) * var + 2 * np.mean(np.abs(centred) * error_c, axis=axis, keepdims=True)
    std = np.sqrt(var)
    error_std = U * std + error_var / (2 * std)
    inv_std = 1.0 / std
    error_inv = U * inv_std + error_std * inv_std**2
    u = centred * inv_std
    return u, U * np.abs(u) + inv_std * error_c + np.abs(centred) * error_inv, inv_std, error_inv, axis


def _activation(arch, layer, u, error_u):
    """a = sigma(u) and E(a); sigma'(u) and E(sigma') (softmax: a itself), modified neuron included.

    Elementwise: E(a) = k u |a| + |sigma'| E(u); E(sigma') = k u T + c |sigma'| E(u) (T the
    terms sigma' is computed from, c the curvature).  softmax: a_j = e_j / sum e_k, so
    E(a_j) = a_j ((k + n) u + E(u_j) + sum_k a_k E(u_k)).
    """
    name = arch.activations[layer]
    k = ELEMENTARY_FUNCTION_OPS * U
    a = activation(name, u.T, arch.leaky_slope).T
    if activations.get(name).coupled:
        spread = np.sum(a * error_u, axis=0, keepdims=True)
        error_a = a * ((ELEMENTARY_FUNCTION_OPS + a.shape[0]) * U + error_u + spread)
        return a, error_a, a, error_a
    slope = _slope(name, u, a, arch.leaky_slope)
    error_slope = (k * derivative_terms(name, u, a, arch.leaky_slope)
                   + CURVATURE[name] * np.abs(slope) * error_u)
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, other = arch.modified_neuron
        a[unit] = activation(other, u[unit], arch.leaky_slope)
        slope[unit] = _slope(other, u[unit], a[unit], arch.leaky_slope)
        error_slope[unit] = (k * derivative_terms(other, u[unit], a[unit], arch.leaky_slope)
                             + CURVATURE[other] * np.abs(slope[unit]) * error_u[unit])
    error_a = k * np.abs(a) + np.abs(slope) * error_u
    jump = _kink_jump(arch, layer, u.shape[0])  # (n, 1): 0 for an analytic unit
    if np.any(jump):
        # A piecewise unit within its own forward error of the kink (|u| <= E(u), E(u) > 0: a
        # batch normalised over equal examples, whose u is 0 in exact arithmetic and +-ulps in a
        # correct implementation) may be put on either side: its slope is uncertain by the jump,
        # its output by the steeper side's slope times E(u).  An exact 0 (E(u) = 0) is one side
        # for every implementation, and no allowance.
        uncertain = (np.abs(u) <= error_u) & (error_u > 0) & (jump > 0)
        error_slope = error_slope + np.where(uncertain, jump, 0.0)
        error_a = error_a + np.where(uncertain, (np.abs(slope) + jump) * error_u, 0.0)
    return a, error_a, slope, error_slope


@functools.lru_cache(maxsize=64)
def _kink_jump_table(arch, layer, width):
    jump = np.zeros((width, 1))
    for j in range(width):
        name = arch.unit_activation(layer, j)
        if activations.get(name).piecewise:
            jump[j] = abs(1.0 - (0.0 if name == "relu" else arch.leaky_slope))
    jump.flags.writeable = False
    return jump


def _kink_jump(arch, layer, width):
    """|sigma'(0+) - sigma'(0-)| per unit of a layer: 1 for relu, 1 - slope for leaky_relu."""
    return _kink_jump_table(arch, layer, width)


def _slope(name, u, a, slope):
    """sigma'(u) of an elementwise activation, from the activations' own complex step:
    Im sigma(u + i h) / h is sigma'(u) to rounding (no derivative formula written here)."""
    if activations.get(name).piecewise:
        return np.where(u > 0, 1.0, 0.0 if name == "relu" else slope)
    step = 2.0**-64
    return activation(name, u + 1j * step, slope).imag / step


def _dropout(arch, layer, s, error_s):
    """The activation's output times the layer's fixed mask, if it has one: (out, E(out), mask
    (n, 1) or None).  One product: u |out|, and s's error carried by the mask (>= 0)."""
    if not arch.dropout or not arch.dropout[layer]:
        return s, error_s, None
    mask = np.asarray(arch.dropout[layer], dtype=np.float64).reshape(-1, 1)
    out = s * mask
    return out, U * np.abs(out) + mask * error_s, mask


def _residual(arch, layer, out, error_out, a_in, error_in):
    """The layer's output plus its input, if it has a residual connection: one sum, u |a|, and
    both terms' errors carried."""
    if layer not in arch.residual:
        return out, error_out
    a = out + a_in
    return a, U * np.abs(a) + error_out + error_in


# ---------------------------------------------------------------- backward steps


def _output_seed(arch, last, y, m):
    """dC/da^L of the batch cost (1/m included) and its error; or, for the canonical pairs
    (sigmoid / cross-entropy, softmax / log-likelihood), delta^L = (a - y) / m itself:
    an implementation that divides by a (1 - a) and multiplies by sigma' again overflows
    once the output saturates, so the bound follows the exact form.

    a - y rounds once and carries a's error; the log-based costs divide by a (and 1 - a),
    each a rounding carrying the divisor's error relative to it; 1/m rounds once more.
    (a is the output layer's output: its residual's sum included, which only the quadratic
    cost allows.)
    """
    a, error_a = last.a, last.error_a
    canonical = {"cross-entropy": "sigmoid", "log-likelihood": "softmax"}.get(arch.cost)
    output_plain = arch.modified_neuron is None or arch.modified_neuron[0] != arch.depth - 1
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if arch.cost == "quadratic" or (canonical == arch.activations[-1] and output_plain):
            difference = a - y
            value, error = difference, U * np.abs(difference) + error_a
        elif arch.cost == "cross-entropy":  # (a - y) / (a (1 - a))
            difference, one_minus = a - y, 1.0 - a
            error_difference = U * np.abs(difference) + error_a
            denominator = a * one_minus
            error_denominator = (U * np.abs(denominator) + np.abs(a) * (U * np.abs(one_minus) + error_a)
                                 + np.abs(one_minus) * error_a)
            value = difference / denominator
            error = (U * np.abs(value) + error_difference / np.abs(denominator)
                     + np.abs(value) * error_denominator / np.abs(denominator))
        else:  # log-likelihood: -y / a
            value = -y / a
            error = U * np.abs(value) + np.abs(value) * error_a / np.abs(a)
    cap = LARGEST / (4 * max(arch.sizes) * m)  # a saturated 0 / 0: no finite bound
    value = np.where(np.isfinite(value), value, 0.0)
    error = np.minimum(np.where(np.isnan(error), np.inf, error), cap)
    is_delta = arch.cost != "quadratic" and canonical == arch.activations[-1] and output_plain
    return value / m, (error + U * np.abs(value)) / m, is_delta


def _dropout_back(here, up, error_up):
    """dC/dsigma(u) = mask * dC/da: one product, u |value|, and dC/da's error carried by the mask."""
    if here.mask is None:
        return up, error_up
    value = here.mask * up
    return value, U * np.abs(value) + here.mask * error_up


def _activation_back(arch, layer, here, up, error_up):
    """delta = sigma'(u) (.) up, or softmax's J^T up = a (.) (up - sum_k a_k up_k), and its error."""
    if activations.get(arch.activations[layer]).coupled:
        a, error_a = here.activated, here.error_activated
        n = a.shape[0]
        total = np.sum(a * up, axis=0, keepdims=True)
        error_total = (gamma(n) * np.sum(np.abs(a * up), axis=0, keepdims=True)
                       + np.sum(a * error_up + np.abs(up) * error_a, axis=0, keepdims=True))
        difference = up - total
        error_difference = U * np.abs(difference) + error_up + error_total
        delta = a * difference
        return delta, U * np.abs(delta) + a * error_difference + np.abs(difference) * error_a
    delta = here.slope * up
    return delta, U * np.abs(delta) + np.abs(here.slope) * error_up + np.abs(up) * here.error_slope


def _normalisation_back(here, delta_u, error_u):
    """delta_z = (1/std) (delta_u - mean(delta_u) - u mean(delta_u u)), the means along the
    normalisation's axis (n entries), and its error: the two means' n terms and the three-term
    combination (gamma_{n+2}), delta_u's error carried by the same map on magnitudes, and the
    errors of 1/std and of u carried by the values.  Batch and layer norm alike."""
    u, inv_std, axis = here.u, here.inv_std, here.axis
    n = u.shape[axis]
    mean_du = delta_u.mean(axis=axis, keepdims=True)
    mean_duu = np.mean(delta_u * u, axis=axis, keepdims=True)
    delta_z = inv_std * (delta_u - mean_du - u * mean_duu)

    def carried(g):
        return inv_std * (g + g.mean(axis=axis, keepdims=True)
                          + np.abs(u) * np.mean(g * np.abs(u), axis=axis, keepdims=True))

    moved_u = here.error_u * np.abs(mean_duu) + np.abs(u) * np.mean(np.abs(delta_u) * here.error_u, axis=axis,
                                                                     keepdims=True)
    error = (carried(error_u) + gamma(n + 2) * carried(np.abs(delta_u))
             + here.error_inv_std / inv_std * np.abs(delta_z) + inv_std * moved_u)
    return delta_z, error


def _maxout_back(here, delta, error):
    """dC/dz of each piece: its unit's delta times the piece's share -- 1 for the winner, 1/t
    each for t tied pieces (as the reference, torch and jax share it), a division that rounds
    once -- and its error: the unit's error carried in full to every winning piece (at a
    tie, whichever share a correct implementation takes), plus that rounding.  Losing pieces:
    exactly 0."""
    if here.winners is None:
        return delta, error
    winners = here.winners
    share = winners / winners.sum(axis=1, keepdims=True)
    m = delta.shape[1]
    value = (share * delta[:, None, :]).reshape(-1, m)
    rounded = (share < 1).reshape(-1, m) & winners.reshape(-1, m)
    return value, (winners * error[:, None, :]).reshape(-1, m) + U * np.abs(value) * rounded


def _affine_back(w, delta, error_delta):
    """dC/da of the layer below, W^T delta: n_out terms, gamma_{max(n_out, n_in)+1} |W|^T |delta| (the
    larger dimension: see the module docstring), plus delta's error carried by |W|^T (both in
    one pass over |W|).  A tied layer's W is its source's."""
    m = delta.shape[1]
    up = abs_times(w, np.concatenate([np.abs(delta), error_delta], axis=1), transposed=True)
    return w.T @ delta, gamma(max(w.shape) + 1) * up[:, :m] + up[:, m:]


def _below(arch, layer, layers, up, error_up, m):
    """dC/da of layer ``layer``'s output, all of it: W^T delta from the layer above (``up``), plus
    the skip's share if the layer above has a residual connection (its own dC/da, carried down
    unchanged), plus the activity penalty's derivative c a / m if the penalty sits here (c a / m:
    two roundings, and a's forward error carried by c / m).  k terms added in any order:
    gamma_{k-1} times their magnitudes, and every term's error carried."""
    terms = [(up, error_up)]
    above = layers[layer + 1]
    if layer + 1 in arch.residual:
        terms.append((above.adjoint["output"], above.adjoint["error_output"]))
    if arch.activity is not None and arch.activity[0] == layer:
        coefficient, a = arch.activity[1], layers[layer].a
        value = coefficient * a / m
        terms.append((value, gamma(2) * np.abs(value) + coefficient * layers[layer].error_a / m))
    if len(terms) == 1:
        return up, error_up
    value = sum(t for t, _ in terms)
    return value, gamma(len(terms) - 1) * sum(np.abs(t) for t, _ in terms) + sum(e for _, e in terms)
