"""Every optional component's facts, in one place: its definition in each oracle's framework.

The components of ``Architecture`` after the activations (layer normalisation,
maxout, dropout's fixed mask, residual connections, tied weights, the activity
penalty, and the weight penalties l2 and l1), each written from the plain
description, independently of the reference, as ``oracles.activations`` writes
the activations:

* ``numpy(arch, layer, ...)`` -- ``oracles.numpy_cost``'s form: examples are rows
  (z and a are (..., m, n), any leading axes probes), and it runs in complex128
  for the complex step.  Where a component is not analytic (|w| of l1, the max of
  maxout) its branch is chosen by the real part: the same function on real
  arguments; the kinks that choice hides are declared (``kinked``);
* ``torch(torch, arch, layer, ...)`` and ``jax(jax, arch, layer, ...)`` -- the
  same function in each framework, examples as columns (z is (n, m)).

Ties and zeros, where the derivative does not exist, take the subgradient torch
and jax take: maxout's tied pieces share the gradient equally (``amax``, ``max``),
|0| has slope 0 (``abs``).
"""

from __future__ import annotations

import numpy as np


def _real_sign(v):
    """sign(Re v), for |v| = v sign(Re v): the branch of |.| chosen by the real part."""
    return np.sign(v.real) if np.iscomplexobj(v) else np.sign(v)


class Maxout:
    """Unit j of a layer with k pieces per unit is the largest of pieces k j .. k j + k - 1."""

    @staticmethod
    def numpy(arch, layer, z):
        k = arch.maxout[layer]
        if k == 1:
            return z
        grouped = z.reshape(*z.shape[:-1], z.shape[-1] // k, k)
        winner = np.argmax(grouped.real, axis=-1)[..., None]  # the largest Re z: the same max
        return np.take_along_axis(grouped, winner, axis=-1)[..., 0]

    @staticmethod
    def torch(torch, arch, layer, z):
        k = arch.maxout[layer]
        return z if k == 1 else z.reshape(z.shape[0] // k, k, z.shape[1]).amax(dim=1)

    @staticmethod
    def jax(jax, arch, layer, z):
        k = arch.maxout[layer]
        return z if k == 1 else z.reshape(z.shape[0] // k, k, z.shape[1]).max(axis=1)


class LayerNorm:
    """(z - mean) / sqrt(var + epsilon) over the units of each example, written without abs."""

    @staticmethod
    def numpy(arch, layer, z):
        if not arch.layer_norm[layer]:
            return z
        # Centred on the first unit before the mean, as numpy_cost.normalise centres a batch:
        # equal values then centre to exactly 0, not to an ulp either side.
        shifted = z - z[..., :1]
        centred = shifted - shifted.mean(axis=-1, keepdims=True)
        return centred / np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True) + arch.ln_epsilon)

    @staticmethod
    def torch(torch, arch, layer, z):
        if not arch.layer_norm[layer]:
            return z
        centred = z - z.mean(dim=0, keepdim=True)
        return centred / torch.sqrt((centred * centred).mean(dim=0, keepdim=True) + arch.ln_epsilon)

    @staticmethod
    def jax(jax, arch, layer, z):
        if not arch.layer_norm[layer]:
            return z
        centred = z - z.mean(axis=0, keepdims=True)
        return centred / jax.numpy.sqrt((centred * centred).mean(axis=0, keepdims=True) + arch.ln_epsilon)


class Dropout:
    """The layer's output times its fixed multipliers, one per unit."""

    @staticmethod
    def numpy(arch, layer, out, units=None):
        """``units``: out holds those units alone, one per probe (out (P, m))."""
        if not arch.dropout or not arch.dropout[layer]:
            return out
        mask = np.asarray(arch.dropout[layer])
        return out * (mask if units is None else mask[units][:, None])

    @staticmethod
    def torch(torch, arch, layer, out):
        if not arch.dropout or not arch.dropout[layer]:
            return out
        return out * torch.tensor(arch.dropout[layer], dtype=out.dtype).reshape(-1, 1)

    @staticmethod
    def jax(jax, arch, layer, out):
        if not arch.dropout or not arch.dropout[layer]:
            return out
        return out * jax.numpy.asarray(arch.dropout[layer]).reshape(-1, 1)


class Residual:
    """The layer's input added to its output (the same expression in every framework)."""

    @staticmethod
    def add(arch, layer, out, a):
        return out + a if layer in arch.residual else out


class Activity:
    """(coefficient / 2) * sum a^2 over the units, per example, after one hidden layer (else 0)."""

    @staticmethod
    def numpy(arch, layer, a):
        if arch.activity is None or arch.activity[0] != layer:
            return 0.0
        return 0.5 * arch.activity[1] * np.einsum("...i,...i->...", a, a)

    @staticmethod
    def torch(torch, arch, layer, a):
        if arch.activity is None or arch.activity[0] != layer:
            return 0.0
        return 0.5 * arch.activity[1] * (a * a).sum(dim=0)

    @staticmethod
    def jax(jax, arch, layer, a):
        if arch.activity is None or arch.activity[0] != layer:
            return 0.0
        return 0.5 * arch.activity[1] * (a * a).sum(axis=0)


class WeightPenalty:
    """(l2 / 2) sum w^2 + l1 sum |w| over the matrices in use (a tied layer's idle slot is not)."""

    @staticmethod
    def numpy(arch, weights):
        """Weights may carry probe axes in front."""
        total = 0.0
        for w in used(arch, weights):
            if arch.l2:
                total = total + 0.5 * arch.l2 * np.sum(w * w, axis=(-2, -1))
            if arch.l1:
                total = total + arch.l1 * np.sum(w * _real_sign(w), axis=(-2, -1))
        return total

    @staticmethod
    def torch(torch, arch, weights):
        terms = [0.5 * arch.l2 * (w * w).sum() + arch.l1 * w.abs().sum() for w in used(arch, weights)]
        return torch.stack(terms).sum()

    @staticmethod
    def jax(jax, arch, weights):
        jnp = jax.numpy
        return sum(0.5 * arch.l2 * (w * w).sum() + arch.l1 * jnp.abs(w).sum() for w in used(arch, weights))

    @staticmethod
    def moved(arch, layer, theta, deltas):
        """How the penalties change when weights[layer]'s entries ``theta`` move by ``deltas``
        (NumPy, real or complex deltas)."""
        if idle(arch, layer) or not (arch.l2 or arch.l1):
            return 0.0
        change = 0.5 * arch.l2 * deltas * (2 * theta + deltas) if arch.l2 else 0.0
        if arch.l1:
            moved = theta + deltas
            change = change + arch.l1 * (moved * _real_sign(moved) - np.abs(theta))
        return change


def weights_of(arch, weights, layer):
    """The matrix layer ``layer`` computes with: its own, or a tied layer's source's."""
    return weights[arch.weight_of(layer)]


def idle(arch, layer):
    """Whether weights[layer] is a tied layer's own slot, which nothing computes with."""
    return arch.tied is not None and arch.tied[1] == layer


def used(arch, weights):
    """The weight matrices the network computes with."""
    return [w for layer, w in enumerate(weights) if not idle(arch, layer)]


def penalised(arch) -> bool:
    """Whether the cost has weight penalties (l2 or l1)."""
    return bool(arch.l2 or arch.l1)


def generic(arch) -> bool:
    """Whether a perturbation of one weight can move more than one layer's weighted input
    directly, or the cost reads hidden activations: tied weights, residual connections,
    an activity penalty.  ``numpy_cost.Trace``'s shortcut (one unit's z moved, the layers
    above rerun) does not apply, and the whole network is rerun."""
    return bool(arch.residual) or arch.tied is not None or arch.activity is not None


def couples_units(arch, layer) -> bool:
    """Whether one unit's weighted input (or piece) moves other units' outputs: layer norm and
    maxout do, as softmax does (``oracles.activations``)."""
    return bool(arch.layer_norm[layer]) or arch.maxout[layer] > 1


def kinked(arch) -> bool:
    """Whether the cost has kinks beyond the activations': |w| at w = 0 (l1), maxout's ties.
    Not analytic there."""
    return arch.l1 > 0 or any(k > 1 for k in arch.maxout)


__all__ = ["Activity", "Dropout", "LayerNorm", "Maxout", "Residual", "WeightPenalty", "couples_units",
           "generic", "idle", "kinked", "penalised", "used", "weights_of"]
