"""A correct network that switches torch's autograd off, at import and in every backprop.

Its gradient is right: gradcert must certify it (torch's grad mode is
process-wide state of the candidate's process, not of the judge's).
"""

from . import _base

try:
    import torch
except ImportError:  # without torch there is no grad mode to disturb
    torch = None

if torch is not None:
    torch.set_grad_enabled(False)


class DisablesTorchGrad(_base.Network):
    def backprop(self, x, y):
        if torch is not None:
            torch.set_grad_enabled(False)
        return super().backprop(x, y)
