"""Every activation's facts, in one place: its definition in each oracle's framework and what
the error bounds need to know of it.

One class per activation, all of one shape:

* ``numpy(z, slope)`` -- the oracles' NumPy definition, over the *last* axis for the
  coupled softmax (``oracles.numpy_cost`` keeps examples as rows).  Analytic where
  the function is, and written for complex arguments too (the complex-step oracle):
  to keep ``exp`` from overflowing it may choose between two expressions of the
  *same* function by the sign of ``Re z`` -- the choice changes the rounding, never
  the function;
* ``torch(torch, z, slope, zero)`` and ``jax(jax, z, slope)`` -- the same function in
  each framework, over axis 0 for softmax (those oracles keep examples as columns).
  ``zero`` is a torch tensor 0: torch's forward mode takes a slow path for an
  operation between a tensor and a Python number;
* ``piecewise`` -- a kink at z = 0 (relu, leaky_relu), where the derivative does not
  exist; every other activation is analytic;
* ``coupled`` -- a_j depends on every z_k of its layer (softmax alone);
* ``curvature`` -- max |sigma''(z) / sigma'(z)| (for softmax, how fast its Jacobian's
  entries a_j (delta_jk - a_k) change per unit of z, relative to their size): how
  far an error in z moves sigma'(z), relative to sigma'(z) itself;
* ``derivative_terms(z, a, slope)`` -- the magnitude of the terms from which
  sigma'(z) is computed, elementwise (``oracles.rounding``): sigmoid's
  sigma' = a (1 - a) has the terms a and a^2, so an implementation computing it
  that way is accurate to u a (1 + a), not to u sigma'.

Adding an activation is adding one class here and its name to
``gradcert.reference.architecture.ACTIVATIONS``; every oracle reads this table
(``tests/test_oracles.py`` checks that it covers every name, in every framework).
"""

from __future__ import annotations

import numpy as np


class Activation:
    """The shape every activation shares (see the module docstring)."""

    name: str
    piecewise = False
    coupled = False
    curvature: float

    @classmethod
    def analytic(cls):
        return not cls.piecewise


class Sigmoid(Activation):
    name = "sigmoid"
    curvature = 1.0  # sigma'' = sigma' (1 - 2 sigma)

    @staticmethod
    def numpy(z, slope):
        if not np.iscomplexobj(z):
            with np.errstate(over="ignore"):  # e^-z = inf gives 1 / inf = 0, the right limit
                return 1.0 / (1.0 + np.exp(-z))
        # 1 / (1 + e^-z) for Re z >= 0, e^z / (1 + e^z) otherwise: exp sees a
        # non-positive real part (a complex inf would make NaNs), same function.
        positive = z.real >= 0
        e = np.exp(np.where(positive, -z, z))
        return np.where(positive, 1.0, e) / (1.0 + e)

    @staticmethod
    def torch(torch, z, slope, zero):
        return torch.sigmoid(z)

    @staticmethod
    def jax(jax, z, slope):
        return jax.nn.sigmoid(z)

    @staticmethod
    def derivative_terms(z, a, slope):
        return a * (1.0 + a)  # a (1 - a): the terms a and a^2


class Tanh(Activation):
    name = "tanh"
    curvature = 2.0  # sigma'' = -2 tanh sigma'

    @staticmethod
    def numpy(z, slope):
        return np.tanh(z)

    @staticmethod
    def torch(torch, z, slope, zero):
        return torch.tanh(z)

    @staticmethod
    def jax(jax, z, slope):
        return jax.numpy.tanh(z)

    @staticmethod
    def derivative_terms(z, a, slope):
        return 1.0 + a * a  # 1 - a^2


class ReLU(Activation):
    name = "relu"
    piecewise = True
    curvature = 0.0

    @staticmethod
    def numpy(z, slope):
        return np.where(z > 0, z, 0.0)  # the branch by Re z for a complex z

    @staticmethod
    def torch(torch, z, slope, zero):
        return torch.relu(z)

    @staticmethod
    def jax(jax, z, slope):
        return jax.nn.relu(z)

    @staticmethod
    def derivative_terms(z, a, slope):
        return (z > 0).astype(float)


class LeakyReLU(Activation):
    name = "leaky_relu"
    piecewise = True
    curvature = 0.0

    @staticmethod
    def numpy(z, slope):
        return np.where(z > 0, z, slope * z)

    @staticmethod
    def torch(torch, z, slope, zero):
        return torch.nn.functional.leaky_relu(z, slope)

    @staticmethod
    def jax(jax, z, slope):
        return jax.nn.leaky_relu(z, slope)

    @staticmethod
    def derivative_terms(z, a, slope):
        return np.where(z > 0, 1.0, slope)


def softplus(z):
    """ln(1 + e^z) = max(z, 0) + ln(1 + e^-|z|): the same function, without overflow; for a
    complex z the branch is chosen by Re z.  (Also the log-based costs' ln sigma(z) = -softplus(-z).)"""
    if not np.iscomplexobj(z):
        return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    positive = z.real > 0
    e = np.exp(np.where(positive, -z, z))  # |e| <= 1
    # ln(1 + e) by its real and imaginary parts: NumPy's complex log1p is ln(1 + e),
    # which loses the real part of a small e (ln(1 + 4e-18) = 0).
    modulus = 0.5 * np.log1p(2 * e.real + e.real * e.real + e.imag * e.imag)  # ln |1 + e|
    return np.where(positive, z, 0.0) + modulus + 1j * np.arctan2(e.imag, 1 + e.real)


class Softplus(Activation):
    name = "softplus"
    curvature = 1.0  # sigma'' = sigma' (1 - sigmoid)

    @staticmethod
    def numpy(z, slope):
        return softplus(z)

    @staticmethod
    def torch(torch, z, slope, zero):
        # not torch.nn.functional.softplus: past its threshold (20) it returns z itself,
        # off by log1p(e^-z) ~ 2e-9 and with slope exactly 1 instead of sigmoid(z).
        return torch.logaddexp(z, zero)

    @staticmethod
    def jax(jax, z, slope):
        return jax.nn.softplus(z)

    @staticmethod
    def derivative_terms(z, a, slope):
        return np.exp(-np.logaddexp(0.0, -z))  # sigmoid(z), computed without cancellation


class Linear(Activation):
    name = "linear"
    curvature = 0.0

    @staticmethod
    def numpy(z, slope):
        return z

    @staticmethod
    def torch(torch, z, slope, zero):
        return z

    @staticmethod
    def jax(jax, z, slope):
        return z

    @staticmethod
    def derivative_terms(z, a, slope):
        return np.ones_like(z)


class Softmax(Activation):
    name = "softmax"
    coupled = True
    curvature = 2.0  # the Jacobian's entries a_j (delta_jk - a_k) change by <= 2x their size per unit of z

    @staticmethod
    def numpy(z, slope):
        # softmax(z - c) = softmax(z) for any c constant over the row, even one chosen
        # from Re z: the shift only keeps exp from overflowing.
        e = np.exp(z - np.max(z.real, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)

    @staticmethod
    def torch(torch, z, slope, zero):
        # By its definition, not torch.softmax, whose forward-mode rule costs ~10 ms a call; the
        # shift is constant (detached): softmax(z - c) = softmax(z), it only keeps exp finite.
        e = torch.exp(z - z.max(dim=0, keepdim=True).values.detach())
        return e / e.sum(dim=0, keepdim=True)

    @staticmethod
    def jax(jax, z, slope):
        return jax.nn.softmax(z, axis=0)

    @staticmethod
    def derivative_terms(z, a, slope):
        return a * (1.0 + a)  # the diagonal a (1 - a) and the a_j a_k terms


TABLE = {cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Linear, Softmax)}
PIECEWISE = tuple(name for name, cls in TABLE.items() if cls.piecewise)
ANALYTIC = tuple(name for name, cls in TABLE.items() if not cls.piecewise)


def get(name) -> type[Activation]:
    try:
        return TABLE[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}: choose from {', '.join(TABLE)}") from None


def names_in(arch):
    """Every activation name a network uses, its modified neuron's included."""
    names = set(arch.activations)
    if arch.modified_neuron is not None:
        names.add(arch.modified_neuron[2])
    return names


def has_kinks(arch) -> bool:
    """Whether some unit of ``arch`` is piecewise linear, with a kink at z = 0."""
    return any(TABLE[name].piecewise for name in names_in(arch))


def is_analytic(arch) -> bool:
    """Whether every unit of ``arch`` is analytic (the complex step needs it)."""
    return not has_kinks(arch)


__all__ = ["ANALYTIC", "PIECEWISE", "TABLE", "Activation", "get", "has_kinks", "is_analytic", "names_in",
           "softplus"]
