"""Activation functions, one small class each, all of one shape.

Every activation has
  * ``fn(z)``     -- the activation a = sigma(z), applied to a batch of
                     columns z of shape (n, m);
  * ``prime(z)``  -- sigma'(z) as the textbook uses it in BP1/BP2: the
                     elementwise derivative (for softmax, only the diagonal
                     of its Jacobian, which is exactly why the textbook form
                     breaks there);
  * ``vjp(z, g)`` -- the vector-Jacobian product J(z)^T g, the correct
                     backward step.  For an elementwise activation J(z) is
                     diagonal and this is the Hadamard product sigma'(z) * g;
  * ``off_diagonal(z, g)`` -- what the Hadamard form leaves out of J(z)^T g:
                     the off-diagonal terms (zero for an elementwise activation).

Adding an activation means adding one class here and its name to
``ACTIVATION_CLASSES``; nothing else changes.
"""

import numpy as np
from gradcert.reference.architecture import LEAKY_SLOPE
from gradcert.reference.textbook import ELEMENTWISE, Step


class Elementwise:
    """The shared backward step of every activation whose Jacobian is diagonal."""

    elementwise = True

    @classmethod
    def vjp(cls, z, g):
        return cls.prime(z) * g

    @staticmethod
    def off_diagonal(z, g):
        return np.zeros_like(g, dtype=float)


class Sigmoid(Elementwise):
    @staticmethod
    def fn(z):
        # exp of a non-positive number only, so neither branch can overflow.
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    @staticmethod
    def prime(z):
        # sigma(z) * (1 - sigma(z)), written as e / (1 + e)^2 with e = exp(-|z|)
        # so that it stays accurate (not 0 * something) deep in saturation.
        e = np.exp(-np.abs(z))
        return e / (1.0 + e) ** 2


class Tanh(Elementwise):
    @staticmethod
    def fn(z):
        return np.tanh(z)

    @staticmethod
    def prime(z):
        return 1.0 / np.cosh(np.clip(z, -350, 350)) ** 2  # cosh overflows past |z| ~ 710


class ReLU(Elementwise):
    @staticmethod
    def fn(z):
        return np.maximum(z, 0.0)

    @staticmethod
    def prime(z):
        # ReLU has no derivative at 0; we take the subgradient 0 there, as torch and jax do.
        return (z > 0).astype(float)


class LeakyReLU(Elementwise):
    @staticmethod
    def fn(z):
        return np.where(z > 0, z, LEAKY_SLOPE * z)

    @staticmethod
    def prime(z):
        return np.where(z > 0, 1.0, LEAKY_SLOPE)


class Softplus(Elementwise):
    @staticmethod
    def fn(z):
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|), which never overflows.
        return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))

    @staticmethod
    def prime(z):
        return Sigmoid.fn(z)


class Linear(Elementwise):
    @staticmethod
    def fn(z):
        return np.array(z, dtype=float, copy=True)

    @staticmethod
    def prime(z):
        return np.ones_like(z, dtype=float)


class Softmax:
    """a_j = e^{z_j} / sum_k e^{z_k} over each column: the coupled activation."""

    elementwise = False

    @staticmethod
    def fn(z):
        e = np.exp(z - z.max(axis=0, keepdims=True))  # shifting by the max cannot overflow
        return e / e.sum(axis=0, keepdims=True)

    @staticmethod
    def prime(z):
        # The diagonal of the Jacobian only: da_j/dz_j = a_j (1 - a_j).
        # The off-diagonal terms -a_j a_k are what the textbook's Hadamard form drops.
        a = Softmax.fn(z)
        return a * (1.0 - a)

    @staticmethod
    def vjp(z, g):
        # J = diag(a) - a a^T is symmetric, so J^T g = a * (g - a . g), column by column.
        a = Softmax.fn(z)
        return a * (g - np.sum(a * g, axis=0, keepdims=True))

    @staticmethod
    def off_diagonal(z, g):
        # sum over k != j of J_jk g_k = -a_j sum_{k != j} a_k g_k, written as that sum.
        a = Softmax.fn(z)
        return -a * (np.sum(a * g, axis=0, keepdims=True) - a * g)


class ModifiedNeuron:
    """A layer in which one neuron (row ``unit``) uses another activation."""

    elementwise = True

    def __init__(self, layer_activation, unit, neuron_activation):
        self.layer, self.unit, self.neuron = layer_activation, unit, neuron_activation

    def _split(self, method, z):
        out = getattr(self.layer, method)(z)
        out[self.unit] = getattr(self.neuron, method)(z[self.unit])
        return out

    def fn(self, z):
        return self._split("fn", z)

    def prime(self, z):
        return self._split("prime", z)

    def vjp(self, z, g):
        return self.prime(z) * g

    off_diagonal = Elementwise.off_diagonal


ACTIVATION_CLASSES = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softplus": Softplus,
    "linear": Linear,
    "softmax": Softmax,
}


class ActivationStep(Step):
    """The activation as a step of its layer: the textbook takes sigma'(z) * g
    (the Jacobian's diagonal) for J(z)^T g, and misses the off-diagonal terms."""

    assumption = ELEMENTWISE

    formula = "J(z)^T g - sigma'(z) * g, the off-diagonal terms: -a_j sum_{k != j} a_k g_k"

    def __init__(self, sigma, name):
        self.sigma, self.name, self.coupled = sigma, name, not sigma.elementwise

    def forward(self, z):
        return self.sigma.fn(z), z

    def vjp(self, z, g):
        return self.sigma.vjp(z, g)

    def textbook(self, z, g):
        return self.sigma.prime(z) * g

    def repair(self, z, g):
        return self.sigma.off_diagonal(z, g)


def activation_of_layer(arch, layer):
    """The activation object for weight layer ``layer`` of an Architecture."""
    activation = ACTIVATION_CLASSES[arch.activations[layer]]
    if arch.modified_neuron is not None and arch.modified_neuron[0] == layer:
        _, unit, name = arch.modified_neuron
        return ModifiedNeuron(activation, unit, ACTIVATION_CLASSES[name])
    return activation
