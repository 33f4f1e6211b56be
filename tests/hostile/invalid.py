"""Candidates that return something that is not a gradient, or a layer forward that is not a number.

Each starts from the correct code of _base.py and changes only what it returns.
"""

import numpy as np

from . import _base


class ZeroDObjectArray(_base.Network):
    """Each tensor wrapped in a 0-d object array."""

    def backprop(self, x, y):
        def wrap(a):
            box = np.empty((), dtype=object)
            box[()] = a
            return box

        nabla_b, nabla_w = super().backprop(x, y)
        return [wrap(b) for b in nabla_b], [wrap(w) for w in nabla_w]


class ReturnsNone(_base.Network):
    def backprop(self, x, y):
        super().backprop(x, y)


class WrongShapes(_base.Network):
    """nabla_w transposed: the wrong shape wherever a layer is not square."""

    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return nabla_b, [w.T for w in nabla_w]


class NaNGradient(_base.Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        nabla_w[0] = nabla_w[0].copy()
        nabla_w[0][0, 0] = np.nan
        return nabla_b, nabla_w


class InfGradient(_base.Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        nabla_b[-1] = nabla_b[-1] + np.inf
        return nabla_b, nabla_w


class ComplexGradient(_base.Network):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return nabla_b, [w + 1e-3j for w in nabla_w]


class LayerForwardNaN(_base.TanhLayer):
    """A correct backward behind a forward that puts NaN in its first entry."""

    def forward(self, x):
        out = super().forward(x).copy()
        out.flat[0] = np.nan
        return out


class LayerForwardInf(_base.TanhLayer):
    def forward(self, x):
        out = super().forward(x).copy()
        out.flat[-1] = np.inf
        return out


class LayerForwardComplex(_base.TanhLayer):
    """tanh with a small imaginary part added to every output."""

    def forward(self, x):
        return super().forward(x) + 1e-3j
