"""A correct network that empties sys.path in every backprop."""

import sys

from . import _base


class ClearsSysPath(_base.Network):
    def backprop(self, x, y):
        sys.path.clear()
        return super().backprop(x, y)
