"""Independent gradient oracles: torch autograd, jax.grad, finite differences, complex step.

Each oracle is one module with ``NAME``, ``available()``,
``gradient(arch, weights, biases, x, y) -> OracleGradient`` (every entry) and
``slopes(arch, weights, biases, x, y, tangents) -> Slopes`` (dC/dtheta . d along
directions, ``oracles.tangents``).  An oracle whose ``gradient`` handles only
some networks also has ``applies(arch) -> bool`` (the complex step needs
analytic activations); one without it applies to every network.  torch and jax
are imported only when their oracle is used; the finite-difference and
complex-step oracles need nothing but NumPy.

What they share, and nothing outside this package computes: the NumPy cost
(``numpy_cost``), each activation's facts (``activations``), the precisions
(``precision``), the rounding bound (``rounding``), the cost along directions
(``landscape``), and the finite-difference estimator for black boxes
(``finite_diff.derivative`` and ``vjp``).
"""

from __future__ import annotations

import importlib

from gradcert.oracles.base import OracleGradient

# name -> module; the order is the order of preference in reports.
MODULES = {"torch": "gradcert.oracles.torch_grad", "jax": "gradcert.oracles.jax_grad",
           "finite-diff": "gradcert.oracles.finite_diff", "complex-step": "gradcert.oracles.complex_step"}
NAMES = tuple(MODULES)


def load(name):
    """The oracle module called ``name``."""
    if name not in MODULES:
        raise ValueError(f"unknown oracle {name!r}: choose from {', '.join(NAMES)}")
    return importlib.import_module(MODULES[name])


def applies(name, arch):
    """Whether the oracle called ``name`` can judge a network of architecture ``arch``."""
    return getattr(load(name), "applies", lambda arch: True)(arch)


def installed(names=NAMES):
    """The oracles in ``names`` whose framework can be imported here."""
    return [name for name in names if load(name).available()]


__all__ = ["NAMES", "OracleGradient", "applies", "installed", "load"]
