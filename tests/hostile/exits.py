"""Candidates that end their process on purpose: sys.exit, SystemExit, os._exit, closed pipes.

Each is the correct code of _base.py with one exit added; none of them returns
a gradient from the call that exits, so none can be certified.
"""

import os
import sys

from . import _base


class SysExitInBackprop(_base.Network):
    def backprop(self, x, y):
        sys.exit(0)


class SystemExitInUpdate(_base.Network):
    def update_mini_batch(self, mini_batch, eta):
        raise SystemExit


class OsExitInBackprop(_base.Network):
    def backprop(self, x, y):
        os._exit(0)


class OsExitInLayerForward(_base.TanhLayer):
    def forward(self, x):
        os._exit(0)


class SysExitInLayerBackward(_base.TanhLayer):
    def backward(self, dout):
        sys.exit(0)


def system_exit_in_grad(arch, weights, biases, x, y):
    raise SystemExit(0)


class ClosesItsPipes(_base.Network):
    """Closes every file descriptor of its process (whatever carries the results), then
    returns a correct gradient it can no longer send."""

    def backprop(self, x, y):
        result = super().backprop(x, y)
        os.closerange(0, 1024)
        return result


class _Unprintable:
    def __str__(self):
        raise RuntimeError("no text")

    __repr__ = __str__


class SysExitUnprintable(_base.Network):
    """``sys.exit`` of an object whose str() and repr() raise: the worker must still say so."""

    def backprop(self, x, y):
        sys.exit(_Unprintable())
