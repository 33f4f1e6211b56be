"""gradcert certifies backpropagation.

    import gradcert
    cert = gradcert.check("mynn/network.py:Network", cost="cross-entropy")

The folders of the repository are the subpackages: ``reference/`` is
``gradcert.reference`` (the NumPy reference of BP1-BP4), ``oracles/`` is
``gradcert.oracles`` (torch, JAX, finite differences, complex step) and
``properties/`` is ``gradcert.properties`` (strategies, comparison, candidates,
front ends).  Importing ``gradcert`` is cheap: each public name is imported on
first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

# public name -> the module that defines it
_EXPORTS = {
    "Network": "gradcert.reference",
    "Architecture": "gradcert.reference",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gradcert' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
