"""The cost's terms that are not functions of the outputs: penalties.

* weight decay, ``(l2 / 2) sum w^2``, whose gradient is l2 * w;
* an L1 penalty, ``l1 sum |w|``, whose gradient is l1 * sign(w): |w| has no
  derivative at w = 0 (a kink, like ReLU's), where sign(0) = 0, the
  subgradient torch and jax also take;
* an activity penalty, ``(coefficient / 2) * sum a^2`` over the activations
  after one hidden layer, per example (so averaged over the batch like C_x):
  its gradient enters backpropagation at that layer, dC/da += coefficient *
  a / m.

The weight penalties count the matrices in use only (a tied layer's own
slot is not one).  Backpropagating the output cost alone misses all three:
they are the repairs of the assumption that C is a function of a^L alone.
"""

import numpy as np

ACTIVITY_REPAIR = "the activity penalty's derivative at the hidden layer: coefficient * a / m"


def weight_repair(arch):
    """The weight penalties' gradient, in words: the outputs-alone repair in nabla_w."""
    return " + ".join((["l2 * w"] if arch.l2 else []) + (["l1 * sign(w)"] if arch.l1 else []))


def used(arch, layer):
    """Whether ``weights[layer]`` is used (not the idle slot of a tied layer)."""
    return arch.tied is None or arch.tied[1] != layer


def cost(arch, weights, activations):
    """The penalties' share of the batch cost; ``activations`` are a^1 = x, a^2, ... (columns)."""
    total = 0.0
    for layer, w in enumerate(weights):
        if used(arch, layer):
            total += 0.5 * arch.l2 * np.sum(w * w) + arch.l1 * np.sum(np.abs(w))
    if arch.activity is not None:
        layer, coefficient = arch.activity
        a = activations[layer + 1]
        total += 0.5 * coefficient * np.sum(a * a) / a.shape[1]
    return total


def weight_gradient(arch, weights, layer):
    """d/dw of the weight penalties for ``weights[layer]``, or None when there are none."""
    if not (arch.l2 or arch.l1) or not used(arch, layer):
        return None
    w = weights[layer]
    return arch.l2 * w + arch.l1 * np.sign(w)


def activity_gradient(arch, layer, a):
    """d/da of the activity penalty for the activations ``a`` after layer ``layer``, or None."""
    if arch.activity is None or arch.activity[0] != layer:
        return None
    return arch.activity[1] * a / a.shape[1]
