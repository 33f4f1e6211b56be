"""Independent gradient oracles: torch autograd, jax.grad, finite differences.

Each oracle is a module with ``NAME``, ``available()`` and
``gradient(arch, weights, biases, x, y) -> OracleGradient``.  torch and jax are
imported only when their oracle is used; the finite-difference oracle needs
nothing but NumPy and always works.
"""

from __future__ import annotations

import importlib

from oracles.base import OracleGradient

# name -> module; the order is the order of preference in reports.
MODULES = {"torch": "oracles.torch_grad", "jax": "oracles.jax_grad", "finite-diff": "oracles.finite_diff"}
NAMES = tuple(MODULES)


def load(name):
    """The oracle module called ``name``."""
    if name not in MODULES:
        raise ValueError(f"unknown oracle {name!r}: choose from {', '.join(NAMES)}")
    return importlib.import_module(MODULES[name])


def installed(names=NAMES):
    """The oracles in ``names`` whose framework can be imported here."""
    return [name for name in names if load(name).available()]


__all__ = ["NAMES", "OracleGradient", "installed", "load"]
