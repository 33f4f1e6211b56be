"""The NumPy reference: Nielsen's backpropagation (BP1-BP4) and mini-batch SGD."""

from gradcert.reference.architecture import Architecture, ArchitectureError
from gradcert.reference.network import Network

__all__ = ["Architecture", "ArchitectureError", "Network"]
