"""The NumPy reference: Nielsen's backpropagation (BP1-BP4) and mini-batch SGD."""

from reference.architecture import Architecture, ArchitectureError
from reference.network import Network

__all__ = ["Architecture", "ArchitectureError", "Network"]
