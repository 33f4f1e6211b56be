"""gradcert certifies backpropagation.

    import gradcert
    cert = gradcert.check("mynn/network.py:Network", cost="cross-entropy")
    cert.raise_for_verdict()

The repository's folders are the subpackages: ``reference/`` is ``gradcert.reference`` (the NumPy
reference of BP1-BP4), ``oracles/`` is ``gradcert.oracles`` (torch, JAX, finite differences, the
complex step) and ``properties/`` is ``gradcert.properties`` (strategies, comparison, candidates
and their worker process, the front ends).  Importing ``gradcert`` is cheap: each public name
below is imported on first use, so the pytest plugin costs a project nothing when it is unused.
"""

from __future__ import annotations

import importlib

__version__ = "0.2.0"

# public name -> the module that defines it
_EXPORTS = {
    "check": "gradcert.properties.api",
    "assert_certified": "gradcert.properties.api",
    "Certificate": "gradcert.properties.certificate",
    "Failure": "gradcert.properties.certificate",
    "Options": "gradcert.properties.options",
    "assert_gradient": "gradcert.properties.certify",
    "judge": "gradcert.properties.certify",
    "cases": "gradcert.properties.strategies",
    "architectures": "gradcert.properties.strategies",
    "case_from_seed": "gradcert.properties.strategies",
    "Case": "gradcert.properties.strategies",
    "directional_check": "gradcert.properties.directional.check",
    "Network": "gradcert.reference",
    "Architecture": "gradcert.reference",
    "GradcertError": "gradcert.properties.errors",
    "UsageError": "gradcert.properties.errors",
    "TargetError": "gradcert.properties.errors",
    "ArchitectureError": "gradcert.properties.errors",
    "CannotCheck": "gradcert.properties.errors",
    "CertificationError": "gradcert.properties.errors",
    "GradientMismatch": "gradcert.properties.errors",
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
