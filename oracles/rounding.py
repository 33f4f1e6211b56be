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

The result for nabla_w[l] is kept as factors, like the gradient itself (a sum
over the m examples): E_w = (c |delta| + E(delta)) |a|^T + |delta| E(a)^T +
2 u l2 |W|, c = gamma_m + 3u (the sum over examples, the scaling by 1/m, the
decay's addition).  ``Rounding`` holds E / u as ``magnitude_b`` and the factors
``delta_w`` / ``inputs_w`` (2m columns each), with ``gamma`` = u, so that
gamma * magnitude is the bound, as every user of this module reads it.

This is the oracles' own code (no import of the reference's math).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from gradcert.oracles import activations
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
    return sum(arch.sizes) + arch.depth * ELEMENTARY_FUNCTION_OPS + 2 * m


@dataclass(frozen=True)
class Layer:
    """What the backward pass and the forward-mode error bound read of one layer (columns of
    examples): the activation's input u (z, normalised if the layer is) and its error, sigma'(u)
    (for softmax: the output a) and its error, the output a and its error, batch normalisation's
    1/std and its error (None without it), and, after the backward pass, the adjoints
    dC/du and dC/dz (the batch cost's, 1/m included) and dC/da."""

    u: np.ndarray
    error_u: np.ndarray
    error_z: np.ndarray
    slope: np.ndarray
    error_slope: np.ndarray
    a: np.ndarray
    error_a: np.ndarray
    inv_std: np.ndarray | None = None
    error_inv_std: np.ndarray | None = None
    adjoint: dict = field(default_factory=dict)  # "u", "z", "a": filled by the backward pass


@dataclass(frozen=True)
class Rounding:
    """The bound: gamma * magnitude_w[l] bounds, entry by entry, the rounding error of one
    correct float64 implementation in nabla_w[l] (gamma = u; see the module docstring).

    M_w is kept as its factors, ``magnitude_w[l] = delta_w[l] @ inputs_w[l].T + l2 |W_l|``
    (``l2`` here is the coefficient of |W| in M, twice the network's), formed only when
    asked for: the directional mode needs sums of M and M^2 against a direction, which
    the factors give without the n_out x n_in matrix (``weighted_sum``, ``squares_w``).
    ``layers`` keeps each layer's values, errors and adjoints (``Layer``); ``operations``
    counts the roundings of the longest chain (each may lose a smallest normal number).
    """

    gamma: float
    magnitude_b: list
    delta_w: list  # per layer (n_out, 2m)
    inputs_w: list  # per layer (n_in, 2m)
    abs_weights: list | None  # with l2: per layer |W|
    abs_products: list  # per layer |W| @ inputs_w: sum_ij M_ij |W_ij| without another product
    l2: float = 0.0
    layers: list = field(default_factory=list)
    operations: int = 1
    canonical: bool = False  # the output's delta is (a - y) / m itself (a canonical pair)
    seed_error: np.ndarray | None = None  # E(dC/da^L), or E(delta^L) when canonical; columns

    @functools.cached_property
    def magnitude_w(self):
        return [self._matrix(layer) for layer in range(len(self.delta_w))]

    def _matrix(self, layer):
        m = self.delta_w[layer] @ self.inputs_w[layer].T
        if self.l2:
            m += self.l2 * self.abs_weights[layer]
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
        return total + (self.l2 * float(self.abs_weights[layer].sum()) if self.l2 else 0.0)

    def held_w(self, layer):
        """sum_ij M_ij |W_ij|: how much M the weights themselves carry (a perturbation's rounding)."""
        total = float(np.einsum("ik,ik->", self.delta_w[layer], self.abs_products[layer]))
        if not self.l2:
            return total
        w = self.abs_weights[layer]
        return total + self.l2 * float(np.einsum("ij,ij->", w, w))

    def squares_w(self, layer):
        """sum_ij M_ij^2 of nabla_w[layer]'s magnitudes, from the factors: with F = D A^T,
        sum F^2 = sum (D^T D) * (A^T A), and the decay term expanded around it."""
        delta, inputs = self.delta_w[layer], self.inputs_w[layer]
        total = float(np.einsum("kl,kl->", delta.T @ delta, inputs.T @ inputs))
        if self.l2:
            w = self.abs_weights[layer]
            total += 2 * self.l2 * self.held_w_data(layer) + self.l2**2 * float(np.einsum("ij,ij->", w, w))
        return max(total, 0.0)

    def squares_b(self, layer):
        """sum_i M_i^2 of nabla_b[layer]'s magnitudes."""
        m = self.magnitude_b[layer]
        return float(np.einsum("ij,ij->", m, m))

    def row_squares_w(self, layer):
        """sum_j M_ij^2 for every row i of nabla_w[layer] (n_out,), from the factors."""
        delta, inputs = self.delta_w[layer], self.inputs_w[layer]
        rows = np.einsum("ik,kl,il->i", delta, inputs.T @ inputs, delta)
        if self.l2:
            w = self.abs_weights[layer]
            rows = rows + 2 * self.l2 * np.einsum("ik,ik->i", delta, self.abs_products[layer]) \
                + self.l2**2 * np.einsum("ij,ij->i", w, w)
        return np.maximum(rows, 0.0)

    def row_sums_w(self, layer):
        """sum_j M_ij for every row i of nabla_w[layer] (n_out,), from the factors."""
        total = self.delta_w[layer] @ self.inputs_w[layer].sum(axis=0)
        return total + (self.l2 * self.abs_weights[layer].sum(axis=1) if self.l2 else 0.0)

    def held_w_data(self, layer):
        """sum_ij F_ij |W_ij| of the data part F = delta_w inputs_w^T alone."""
        return float(np.einsum("ik,ik->", self.delta_w[layer], self.abs_products[layer]))

    def weighted_sum(self, layer, left, right, dense=None):
        """sum_ij c_ij M_ij of nabla_w[layer]'s magnitudes for a non-negative weight c,
        without forming M: c = left right^T (vectors: a rank-one weight, sum over
        (left^T delta)(right^T a) per example), or c = ``dense`` (left and right None)."""
        delta, inputs = self.delta_w[layer], self.inputs_w[layer]
        if dense is not None:
            total = float(np.einsum("ik,ik->", delta, dense @ inputs))
            return total + (self.l2 * float(np.einsum("ij,ij->", dense, self.abs_weights[layer]))
                            if self.l2 else 0.0)
        total = float((left @ delta) @ (right @ inputs))
        return total + (self.l2 * float(left @ self.abs_weights[layer] @ right) if self.l2 else 0.0)


def rounding_bound(arch, weights, biases, x, y) -> Rounding:
    """The rounding bound of the gradient of ``arch``'s cost at these parameters and data.

    Each step of a layer is one function, forward (``_affine``, ``_batch_norm``,
    ``_activation``) and backward (``_output_seed``, ``_activation_back``,
    ``_batch_norm_back``, ``_affine_back``): a new component of a layer adds its pair
    beside them.
    """
    # float64 views, not copies: nothing here writes into them or keeps them (the bound's
    # arrays are all computed anew).
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    a, y = columns(x), columns(y)
    m = a.shape[1]
    error_a = np.zeros_like(a)
    inputs, input_errors, abs_products, layers = [], [], [], []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        inputs.append(a)
        input_errors.append(error_a)
        z, error_z, products = _affine(w, b, a, error_a)
        abs_products.append(products)
        u, error_u, inv_std, error_inv = _batch_norm(arch, layer, z, error_z)
        a, error_a, slope, error_slope = _activation(arch, layer, u, error_u)
        layers.append(Layer(u, error_u, error_z, slope, error_slope, a, error_a, inv_std, error_inv))

    up, error_up, is_delta = _output_seed(arch, layers[-1], y, m)
    seed_error = error_up
    bound_b, delta_w = [None] * arch.depth, [None] * arch.depth
    for layer in reversed(range(arch.depth)):
        here = layers[layer]
        here.adjoint["a"] = up
        if layer == arch.depth - 1 and is_delta:
            delta, error_delta = up, error_up
        else:
            delta, error_delta = _activation_back(arch, layer, here, up, error_up)
        here.adjoint["u"] = delta
        if here.inv_std is not None:
            delta, error_delta = _batch_norm_back(here, delta, error_delta, m)
        here.adjoint["z"] = delta
        here.adjoint["error_z"] = error_delta
        # nabla_b = sum over examples of delta; nabla_w = delta a^T: the sum, the scaling by
        # 1/m and the decay's addition round three more times (c below), and delta's and
        # a's own errors are carried: E_w = (c |delta| + E(delta)) |a|^T + |delta| E(a)^T.
        c = gamma(m) + 3 * U
        magnitude_delta = np.abs(delta)
        bound_b[layer] = (c * magnitude_delta + error_delta).sum(axis=1, keepdims=True) / U
        delta_w[layer] = np.concatenate([(c * magnitude_delta + error_delta) / U, magnitude_delta], axis=1)
        if layer:
            up, error_up = _affine_back(weights[layer], delta, error_delta)
    factors_a = [np.concatenate([np.abs(a_in), e_in / U], axis=1) for a_in, e_in in zip(inputs, input_errors)]
    kept = [np.abs(w) for w in weights] if arch.l2 else None  # |W| anew: the caller's W may change later
    return Rounding(U, bound_b, delta_w, factors_a, kept, abs_products, 2.0 * float(arch.l2), layers,
                    accumulation_length(arch, m), is_delta, seed_error)


# ---------------------------------------------------------------- forward steps


def _affine(w, b, a, error_a):
    """z = W a + b and its error: n_in + 1 terms, gamma_{max(n_in, n_out)+1} (|W| |a| + |b|) (the
    larger dimension: see the module docstring), plus a's error carried by |W|.  Also
    |W| [|a|, E(a)/u], what the bound's factors need of |W|."""
    products = abs_times(w, np.concatenate([np.abs(a), error_a / U], axis=1))
    m = a.shape[1]
    error_z = gamma(max(w.shape) + 1) * (products[:, :m] + np.abs(b)) + U * products[:, m:]
    return w @ a + b, error_z, products


def _batch_norm(arch, layer, z, error_z):
    """Normalise z over the batch if the layer does: (u, E(u), 1/std, E(1/std)), else (z, E(z), None, None).

    mean: m terms; centred c = z - mean: one rounding; var = mean(c^2) + eps: m + 1 terms
    of c^2, each carrying 2 |c| E(c); std = sqrt(var) and 1/std: a rounding each, with
    d sqrt = d var / (2 std) and d(1/s) = ds / s^2; u = c / std: one rounding.
    """
    if not arch.batch_norm[layer]:
        return z, error_z, None, None
    m = z.shape[1]
    mean = z.mean(axis=1, keepdims=True)
    error_mean = gamma(m) * np.abs(z).mean(axis=1, keepdims=True) + error_z.mean(axis=1, keepdims=True)
    centred = z - mean
    error_c = U * np.abs(centred) + error_z + error_mean
    var = np.mean(centred * centred, axis=1, keepdims=True) + arch.bn_epsilon
    error_var = gamma(m + 1) * var + 2 * np.mean(np.abs(centred) * error_c, axis=1, keepdims=True)
    std = np.sqrt(var)
    error_std = U * std + error_var / (2 * std)
    inv_std = 1.0 / std
    error_inv = U * inv_std + error_std * inv_std**2
    u = centred * inv_std
    return u, U * np.abs(u) + inv_std * error_c + np.abs(centred) * error_inv, inv_std, error_inv


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
    return a, k * np.abs(a) + np.abs(slope) * error_u, slope, error_slope


def _slope(name, u, a, slope):
    """sigma'(u) of an elementwise activation, from the activations' own complex step:
    Im sigma(u + i h) / h is sigma'(u) to rounding (no derivative formula written here)."""
    if activations.get(name).piecewise:
        return np.where(u > 0, 1.0, 0.0 if name == "relu" else slope)
    step = 2.0**-64
    return activation(name, u + 1j * step, slope).imag / step


# ---------------------------------------------------------------- backward steps


def _output_seed(arch, last, y, m):
    """dC/da^L of the batch cost (1/m included) and its error; or, for the canonical pairs
    (sigmoid / cross-entropy, softmax / log-likelihood), delta^L = (a - y) / m itself:
    an implementation that divides by a (1 - a) and multiplies by sigma' again overflows
    once the output saturates, so the bound follows the exact form.

    a - y rounds once and carries a's error; the log-based costs divide by a (and 1 - a),
    each a rounding carrying the divisor's error relative to it; 1/m rounds once more.
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


def _activation_back(arch, layer, here, up, error_up):
    """delta = sigma'(u) (.) up, or softmax's J^T up = a (.) (up - sum_k a_k up_k), and its error."""
    if activations.get(arch.activations[layer]).coupled:
        a, error_a = here.a, here.error_a
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


def _batch_norm_back(here, delta_u, error_u, m):
    """delta_z = (1/std) (delta_u - mean(delta_u) - u mean(delta_u u)) and its error: the two
    means' m terms and the three-term combination (gamma_{m+2}), delta_u's error carried by the
    same map on magnitudes, and the errors of 1/std and of u carried by the values."""
    u, inv_std = here.u, here.inv_std
    mean_du = delta_u.mean(axis=1, keepdims=True)
    mean_duu = np.mean(delta_u * u, axis=1, keepdims=True)
    delta_z = inv_std * (delta_u - mean_du - u * mean_duu)

    def carried(g):
        return inv_std * (g + g.mean(axis=1, keepdims=True) + np.abs(u) * np.mean(g * np.abs(u), axis=1,
                                                                                   keepdims=True))

    moved_u = here.error_u * np.abs(mean_duu) + np.abs(u) * np.mean(np.abs(delta_u) * here.error_u, axis=1,
                                                                     keepdims=True)
    error = (carried(error_u) + gamma(m + 2) * carried(np.abs(delta_u))
             + here.error_inv_std / inv_std * np.abs(delta_z) + inv_std * moved_u)
    return delta_z, error


def _affine_back(w, delta, error_delta):
    """dC/da of the layer below, W^T delta: n_out terms, gamma_{max(n_out, n_in)+1} |W|^T |delta| (the
    larger dimension: see the module docstring), plus delta's error carried by |W|^T (both in
    one pass over |W|)."""
    m = delta.shape[1]
    up = abs_times(w, np.concatenate([np.abs(delta), error_delta], axis=1), transposed=True)
    return w.T @ delta, gamma(max(w.shape) + 1) * up[:, :m] + up[:, m:]
